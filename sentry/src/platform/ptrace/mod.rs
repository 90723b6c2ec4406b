//! The ptrace platform.
//!
//! Every application address space is a *stub* process forked from a
//! pristine [`zygote::Zygote`]: it holds nothing of the sentry, only a
//! two-page trampoline (`syscall; int3` plus a scratch page) and the host
//! vDSO. Each application thread is a host thread of its stub, traced by the
//! sentry thread that serves the task and resumed with `PTRACE_SYSEMU`, so
//! the host kernel stops it at every system call entry and never executes
//! the call. The sentry runs host system calls *in* the stub only by
//! injection ([`inject`]), and a seccomp filter ([`seccomp`]) kills the stub
//! if any system call runs from anywhere but the trampoline.

pub mod fpu;
pub mod inject;
pub mod layout;
pub mod seccomp;
pub mod thread;
pub mod zygote;

pub use thread::StubThread;
pub use zygote::Zygote;

use syscalls::Errno;
use thiserror::Error;

/// Failures of the platform itself (not of the guest).
#[derive(Debug, Error)]
pub enum PlatformError {
    /// A host system call the platform relies on failed.
    #[error("{op}: {errno}")]
    Host {
        /// What the platform was doing.
        op: &'static str,
        /// The host error.
        errno: Errno,
    },
    /// The traced process stopped in a way the platform did not expect.
    #[error("unexpected stop of {pid}: {what}")]
    UnexpectedStop {
        /// Host pid of the stub thread.
        pid: i32,
        /// Description of the stop.
        what: String,
    },
    /// The address-space layout of the sentry leaves no room for the trampoline.
    #[error("no room for the stub trampoline")]
    NoTrampolineSlot,
}

impl PlatformError {
    /// A host failure of `op` with the current errno.
    pub fn last(op: &'static str) -> Self {
        PlatformError::Host {
            op,
            errno: Errno::last(),
        }
    }
}

impl From<PlatformError> for Errno {
    fn from(e: PlatformError) -> Errno {
        match e {
            PlatformError::Host { errno, .. } if errno == Errno::ENOMEM => Errno::ENOMEM,
            _ => Errno::EFAULT,
        }
    }
}
