//! Plain-old-data: types that can be copied to and from guest memory as raw bytes.

/// A `#[repr(C)]` type with no padding-sensitive invariants: every bit pattern
/// is a valid value, so it can be built from arbitrary guest bytes.
///
/// # Safety
/// Implement only for `#[repr(C)]` (or primitive) types whose every bit
/// pattern is valid and which contain no pointers or references.
pub unsafe trait Pod: Copy + 'static {
    /// The value's bytes, as they are laid out in memory.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `Self: Pod` is plain data; reading its bytes is always valid
        // (padding bytes, if any, are read as whatever they hold).
        unsafe { std::slice::from_raw_parts(self as *const Self as *const u8, std::mem::size_of::<Self>()) }
    }

    /// Builds a value from the first `size_of::<Self>()` bytes, or `None` if too short.
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: the length was checked above and every bit pattern is a valid
        // `Self` (the `Pod` contract); `read_unaligned` tolerates any alignment.
        Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const Self) })
    }

    /// An all-zero value.
    fn zeroed() -> Self {
        // SAFETY: all-zero is a valid bit pattern for a `Pod` type.
        unsafe { std::mem::zeroed() }
    }
}

macro_rules! pod_primitives {
    ($($t:ty),*) => { $(
        // SAFETY: primitive integers accept every bit pattern.
        unsafe impl Pod for $t {}
    )* };
}
pod_primitives!(u8, u16, u32, u64, i8, i16, i32, i64, usize, isize);

// SAFETY: an array of Pod values is Pod.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}
