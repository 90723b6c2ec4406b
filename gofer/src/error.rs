//! Errors of the gofer process itself (setup and transport), as opposed to
//! per-request failures, which travel to the sentry as errnos.

use syscalls::Errno;

/// Why the gofer could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum GoferError {
    /// A host syscall failed during setup or on the socket.
    #[error("{what}: {errno}")]
    Sys {
        /// The operation that failed (for the log).
        what: &'static str,
        /// The host error.
        errno: Errno,
    },
    /// The seccomp filter could not be built or installed.
    #[error("seccomp: {0}")]
    Seccomp(String),
    /// A path given by the caller cannot be used (e.g. contains NUL).
    #[error("invalid path: {0}")]
    InvalidPath(String),
}

impl GoferError {
    /// Wraps a nix error with a description of the failed step.
    pub(crate) fn nix(what: &'static str, e: nix::Error) -> GoferError {
        GoferError::Sys {
            what,
            errno: Errno(e as i32),
        }
    }
}
