//! One module per `runsc` command.

pub mod boot;
pub mod create;
pub mod delete;
pub mod do_cmd;
pub mod events;
pub mod exec;
pub mod features;
pub mod gofer;
pub mod help;
pub mod install;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;
pub mod wait;

use crate::error::CliError;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Takes ownership of an fd number handed to us on the command line by the
/// parent runsc (`--gofer-fd`, `--config-fd`, `--io-fd`), after checking
/// that it is open, and marks it close-on-exec so it never reaches a
/// process we start in turn.
pub fn take_fd(flag: &'static str, fd: RawFd) -> Result<OwnedFd, CliError> {
    if fd < 0 {
        return Err(CliError::BadFd { flag, fd });
    }
    // SAFETY: F_GETFD only queries the fd table; an invalid fd gives EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(CliError::BadFd { flag, fd });
    }
    // SAFETY: as above, on an fd we now know is open.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(CliError::BadFd { flag, fd });
    }
    // SAFETY: the fd is open and was given to this process for exactly this
    // purpose; nothing else in the process owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::fd::{AsRawFd, IntoRawFd};

    #[test]
    fn take_fd_rejects_closed_and_negative_fds() {
        assert!(matches!(take_fd("io-fd", -1), Err(CliError::BadFd { fd: -1, .. })));
        // An fd number far above anything open.
        assert!(matches!(take_fd("io-fd", 100_000), Err(CliError::BadFd { .. })));
    }

    #[test]
    fn take_fd_owns_an_open_fd_and_sets_cloexec() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let raw = file.into_raw_fd();
        // SAFETY: clearing CLOEXEC on our own fd.
        unsafe { libc::fcntl(raw, libc::F_SETFD, 0) };
        let owned = take_fd("config-fd", raw).unwrap();
        assert_eq!(owned.as_raw_fd(), raw);
        // SAFETY: querying our own fd.
        let flags = unsafe { libc::fcntl(raw, libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }
}
