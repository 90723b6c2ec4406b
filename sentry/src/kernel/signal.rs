//! Signal state. Dispositions and the mask are recorded here; delivery
//! comes with the processes-and-signals work.

use syscalls::Pod;

/// Number of signals (1..=64).
pub const NSIG: usize = 64;

/// The kernel's `struct sigaction` as passed to rt_sigaction on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelSigaction {
    /// Handler address, or SIG_DFL (0) / SIG_IGN (1).
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// Trampoline used when SA_RESTORER is set.
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

// SAFETY: repr(C), four u64 fields, every bit pattern valid.
unsafe impl Pod for KernelSigaction {}

/// Per-task signal state.
#[derive(Clone, Debug)]
pub struct SignalState {
    /// Dispositions, indexed by signal number - 1.
    pub actions: [KernelSigaction; NSIG],
    /// Blocked signals (bit n-1 for signal n).
    pub mask: u64,
    /// Alternate signal stack (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, i32, u64),
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            actions: [KernelSigaction::default(); NSIG],
            mask: 0,
            altstack: (0, libc::SS_DISABLE, 0),
        }
    }
}

/// True when the default action of `sig` dumps core (exit status carries 0x80).
pub fn default_action_is_core(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGQUIT
            | libc::SIGILL
            | libc::SIGTRAP
            | libc::SIGABRT
            | libc::SIGBUS
            | libc::SIGFPE
            | libc::SIGSEGV
            | libc::SIGXCPU
            | libc::SIGXFSZ
            | libc::SIGSYS
    )
}

/// The guest-visible description of one signal (`siginfo_t`'s fields that
/// the sentry fills). Encoded to the 128-byte `siginfo_t` when delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// Signal number.
    pub signo: i32,
    /// `si_code` (SI_USER, SI_KERNEL, SI_TKILL, SI_TIMER, SI_QUEUE, CLD_*, SEGV_*, ...).
    pub code: i32,
    /// `si_errno`.
    pub errno: i32,
    /// `si_pid` (sender, or child for SIGCHLD), in the sandbox's PID namespace.
    pub pid: i32,
    /// `si_uid`.
    pub uid: u32,
    /// `si_status` for SIGCHLD, `si_overrun` for timers.
    pub status: i32,
    /// `si_addr` for faults, `si_value` (sigval) for queued signals and timers.
    pub addr_or_value: u64,
    /// `si_timerid` for POSIX timers (`si_tid`).
    pub timer_id: i32,
    /// User and system time for SIGCHLD (clock ticks).
    pub utime: i64,
    /// System time for SIGCHLD (clock ticks).
    pub stime: i64,
}

/// Who a generated signal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalTarget {
    /// The calling thread (synchronous signals such as SIGPIPE).
    CurrentThread,
    /// One thread, by tid.
    Thread(i32),
    /// A whole thread group (process), by tgid.
    Process(i32),
}
