//! `#[repr(C)]` structures exchanged with guest memory.
//!
//! Where the host C library's definition is byte-for-byte the kernel's
//! x86-64 ABI (the sentry itself runs on x86-64), it is re-used and marked
//! [`Pod`]; structures whose glibc and kernel layouts differ are defined here.

use crate::Pod;

/// `struct stat` (x86-64 kernel ABI, 144 bytes).
pub type Stat = libc::stat;
/// `struct statx`.
pub type Statx = libc::statx;
/// `struct statx_timestamp`.
pub type StatxTimestamp = libc::statx_timestamp;
/// `struct statfs`.
pub type Statfs = libc::statfs;
/// `struct timespec`.
pub type Timespec = libc::timespec;
/// `struct timeval`.
pub type Timeval = libc::timeval;
/// `struct timezone`.
pub type Timezone = libc::timezone;
/// `struct winsize`.
pub type Winsize = libc::winsize;
/// `struct new_utsname`.
pub type Utsname = libc::utsname;
/// `struct sysinfo`.
pub type Sysinfo = libc::sysinfo;
/// `struct rlimit` / `struct rlimit64`.
pub type Rlimit = libc::rlimit;
/// `struct rusage`.
pub type Rusage = libc::rusage;
/// `struct pollfd`.
pub type Pollfd = libc::pollfd;

macro_rules! pod_libc {
    ($($t:ty),* $(,)?) => { $(
        // SAFETY: a C struct of integers (and integer arrays/padding) with the
        // kernel's x86-64 layout; every bit pattern is a valid value.
        unsafe impl Pod for $t {}
    )* };
}
pod_libc!(
    libc::stat,
    libc::statx,
    libc::statx_timestamp,
    libc::statfs,
    libc::timespec,
    libc::timeval,
    libc::timezone,
    libc::winsize,
    libc::utsname,
    libc::sysinfo,
    libc::rlimit,
    libc::rusage,
    libc::pollfd,
);

/// The kernel's `struct termios` used by TCGETS/TCSETS (36 bytes; glibc's
/// user-space `struct termios` is larger and differs).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelTermios {
    /// Input modes.
    pub c_iflag: u32,
    /// Output modes.
    pub c_oflag: u32,
    /// Control modes.
    pub c_cflag: u32,
    /// Local modes.
    pub c_lflag: u32,
    /// Line discipline.
    pub c_line: u8,
    /// Control characters.
    pub c_cc: [u8; 19],
}
// SAFETY: repr(C) integers only, no padding-dependent invariants.
unsafe impl Pod for KernelTermios {}

/// The fixed header of `struct linux_dirent64`; the NUL-terminated name
/// follows, and the record is padded to 8 bytes.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Dirent64Header {
    /// Inode number.
    pub d_ino: u64,
    /// Offset cookie of the next entry.
    pub d_off: i64,
    /// Length of this record.
    pub d_reclen: u16,
    /// File type (DT_*).
    pub d_type: u8,
}
// SAFETY: packed repr(C) integers.
unsafe impl Pod for Dirent64Header {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn sizes_match_the_kernel_abi() {
        assert_eq!(size_of::<Stat>(), 144);
        assert_eq!(size_of::<Statx>(), 256);
        assert_eq!(size_of::<Statfs>(), 120);
        assert_eq!(size_of::<KernelTermios>(), 36);
        assert_eq!(size_of::<Dirent64Header>(), 19);
        assert_eq!(size_of::<Utsname>(), 390);
        assert_eq!(size_of::<Sysinfo>(), 112);
    }
}
