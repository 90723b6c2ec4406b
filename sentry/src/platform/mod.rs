//! Platforms run application code and report its system calls and faults.
//!
//! The kernel above this module sees only [`Event`]s and the operations of
//! [`ptrace`]'s `StubThread` (registers on demand, syscall injection). A
//! faster platform (seccomp trap + shared memory) will provide the same
//! operations; the kernel must not need to change for it.

pub mod ptrace;

/// Why application code stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The thread made a system call (not executed by the host).
    Syscall {
        /// Syscall number.
        nr: u64,
        /// The six argument registers.
        args: [u64; 6],
    },
    /// A synchronous fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).
    Fault(FaultInfo),
    /// An asynchronous host signal arrived for the thread (suppressed on the
    /// host; the kernel decides what it means for the guest).
    HostSignal(i32),
    /// The host thread is gone (killed from outside the sentry).
    Gone,
}

/// A fault's guest-visible siginfo fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    /// The signal (SIGSEGV, ...).
    pub signal: i32,
    /// `si_code` (SEGV_MAPERR, ...).
    pub code: i32,
    /// `si_addr`: the faulting address.
    pub addr: u64,
}
