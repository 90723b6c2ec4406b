//! The virtual filesystem: mounts, path walk, open file descriptions and
//! the fd table. (Skeleton: being written.)

/// Root, working directory and umask of a task.
pub struct FsContext {
    /// File mode creation mask.
    pub umask: u32,
}

/// A file descriptor table.
#[derive(Default)]
pub struct FdTable {}
