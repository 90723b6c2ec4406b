//! A task: one application thread, served by one sentry OS thread.

use super::{limits::Limits, signal::SignalState, Credentials, Kernel};
use crate::{mm::MemoryManager, platform::ptrace::StubThread, vfs};
use std::sync::Arc;

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
}

/// One application thread and everything it references.
pub struct Task {
    /// Sandbox-wide state.
    pub kernel: Arc<Kernel>,
    /// Thread id in the sandbox's PID namespace.
    pub tid: i32,
    /// Thread-group (process) id in the sandbox's PID namespace.
    pub tgid: i32,
    /// Parent process id as seen in the sandbox (0 for the init).
    pub ppid: i32,
    /// The address space.
    pub mm: MemoryManager,
    /// The host thread running this task's code, traced by this sentry thread.
    pub thread: StubThread,
    /// Root, working directory and umask.
    pub fs: vfs::FsContext,
    /// The file descriptor table.
    pub fds: Arc<vfs::FdTable>,
    /// Credentials.
    pub creds: Credentials,
    /// Resource limits.
    pub limits: Limits,
    /// Signal dispositions, mask and pending set.
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
}
