//! The VMA mirror. (Skeleton: being written.)

/// The set of mappings of one address space.
#[derive(Default, Debug)]
pub struct VmaSet {}
