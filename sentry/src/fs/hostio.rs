//! Small host-call helpers shared by the in-memory filesystems (the
//! /dev/shm tmpfs, the overlay's upper layer, memfd_create): their file
//! data lives in host memfds that the sentry creates itself.

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd};
use syscalls::Errno;

/// Wall-clock time as (seconds, nanoseconds), for file timestamps.
pub fn now() -> (i64, i64) {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `ts`, which we own.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec)
}

/// Retries a host call interrupted by a signal; a negative result is the
/// host errno.
pub fn retry(mut f: impl FnMut() -> isize) -> Result<usize, Errno> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r as usize);
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// A new close-on-exec host memfd named `name` (the name shows only in the
/// sentry's own /proc, never to the guest).
pub fn new_memfd(name: &CStr) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is NUL-terminated; memfd_create only reads it.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
