//! A task: one application thread, served by one sentry OS thread.
//!
//! [`Task`] is owned by the sentry thread that runs it (registers, address
//! space handle, fd table, credentials). [`TaskShared`] is the part other
//! tasks may touch: its pending signals, its signal mask as senders see it,
//! its waker, and whether it is running application code right now.

use super::signal::SigPending;
use super::{limits::Limits, signal::SignalState, thread_group::ThreadGroup, wait::Waker, Credentials, Kernel};
use crate::{mm::MemoryManager, platform::ptrace::StubThread, vfs};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How a thread group ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit`/`exit_group` with this code (low 8 bits are significant).
    Exited(i32),
    /// Killed by this signal (`core` set when the default action dumps core).
    Signaled {
        /// The signal number.
        signal: i32,
        /// Whether the default action was "core".
        core: bool,
    },
}

impl ExitStatus {
    /// The status the sentry process exits with: the code, or 128+signal.
    pub fn host_exit_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code & 0xff,
            ExitStatus::Signaled { signal, .. } => 128 + signal,
        }
    }

    /// The `wait` status word (`WIFEXITED`/`WIFSIGNALED` encoding). The
    /// sandbox never writes core files, so the core bit (WCOREDUMP) is never
    /// set, as on a Linux host whose core limit is 0.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => (code & 0xff) << 8,
            ExitStatus::Signaled { signal, .. } => signal,
        }
    }
}

/// The part of a task other tasks may reach.
pub struct TaskShared {
    /// Thread id in the sandbox's PID namespace.
    pub tid: i32,
    /// The thread group (process).
    pub tg: Arc<ThreadGroup>,
    /// Wakes the task from a sentry-side sleep; carries "signal pending".
    pub waker: Arc<Waker>,
    /// Signals directed at this thread.
    pub pending: Mutex<SigPending>,
    /// The blocked mask as senders see it (bit n-1 for signal n).
    pub mask: AtomicU64,
    /// Host tid of the stub thread running this task's code.
    pub host_tid: AtomicI32,
    /// True while the task runs application code (a sender must kick it).
    pub in_guest: AtomicBool,
    /// Set when the task must stop running (group exit, exec by a sibling).
    pub killed: AtomicBool,
    /// `set_robust_list` head, for releasing robust locks at group exit.
    pub robust_list: AtomicU64,
    /// A handle to the task's address space (for group exit bookkeeping).
    pub mm: Mutex<Option<MemoryManager>>,
    /// What /proc shows of the task's private state (published by the run loop).
    pub proc: crate::fs::proc::TaskView,
}

impl TaskShared {
    /// A new task of `tg`.
    pub fn new(tid: i32, tg: Arc<ThreadGroup>, mask: u64) -> Arc<TaskShared> {
        Arc::new(TaskShared {
            tid,
            tg,
            waker: Waker::new(),
            pending: Mutex::new(SigPending::default()),
            mask: AtomicU64::new(mask),
            host_tid: AtomicI32::new(0),
            in_guest: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            robust_list: AtomicU64::new(0),
            mm: Mutex::new(None),
            proc: crate::fs::proc::TaskView::new(),
        })
    }

    /// Interrupts the task: wakes a sentry-side sleep and, if it is running
    /// application code, stops it with the platform's kick signal.
    pub fn kick(&self) {
        self.waker.set_interrupted(true);
        if self.in_guest.load(Ordering::SeqCst) {
            let host = self.host_tid.load(Ordering::SeqCst);
            if host > 0 {
                // SAFETY: tkill to our own traced stub thread; no memory involved.
                unsafe { libc::syscall(libc::SYS_tkill, host, KICK_SIGNAL) };
            }
        }
    }

    /// Marks the task for termination and kicks it.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.kick();
    }

    /// True once the task has been told to stop running.
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// The host signal used to stop a stub thread that runs application code so
/// that its sentry thread can deliver a guest signal. The tracer swallows it.
pub const KICK_SIGNAL: i32 = libc::SIGSTKFLT;

/// One application thread and everything it references.
pub struct Task {
    /// Sandbox-wide state.
    pub kernel: Arc<Kernel>,
    /// What other tasks may reach.
    pub shared: Arc<TaskShared>,
    /// Thread id in the sandbox's PID namespace.
    pub tid: i32,
    /// Thread-group (process) id in the sandbox's PID namespace.
    pub tgid: i32,
    /// The address space.
    pub mm: MemoryManager,
    /// The host thread running this task's code, traced by this sentry thread.
    pub thread: StubThread,
    /// Root, working directory and umask (copied, not shared, by CLONE_FS).
    pub fs: vfs::FsContext,
    /// The file descriptor table.
    pub fds: Arc<vfs::FdTable>,
    /// Credentials.
    pub creds: Credentials,
    /// Resource limits.
    pub limits: Limits,
    /// Signal dispositions, mask and alternate stack.
    pub signals: SignalState,
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID` pointer.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
    /// Thread name (`PR_SET_NAME`, `/proc/pid/comm`).
    pub comm: Vec<u8>,
    /// Set when the task has exited; the run loop stops.
    pub exit_status: Option<ExitStatus>,
    /// When the task started (for getrusage/times).
    pub start_time: std::time::Instant,
    /// `PR_SET_NO_NEW_PRIVS` was set.
    pub no_new_privs: bool,
    /// The syscall to restart after a signal interrupted it (restart_syscall).
    pub restart: Option<crate::syscalls::SyscallArgs>,
    /// A mask to restore after the next signal delivery (sigsuspend, ppoll).
    pub saved_mask: Option<u64>,
}

impl Task {
    /// The parent's process id as this process sees it (0 for the init).
    pub fn ppid(&self) -> i32 {
        self.shared.tg.state.lock().map(|s| s.parent).unwrap_or(0)
    }

    /// The blocked signal mask.
    pub fn sigmask(&self) -> u64 {
        self.signals.mask
    }

    /// Sets the blocked mask (SIGKILL and SIGSTOP are never blocked) and
    /// re-evaluates whether a signal is now deliverable.
    pub fn set_sigmask(&mut self, mask: u64) {
        let mask = mask & !super::signal::UNBLOCKABLE;
        self.signals.mask = mask;
        self.shared.mask.store(mask, Ordering::SeqCst);
        super::signal::recalc_pending(&self.shared);
    }
}
