//! Thread groups (processes): membership, parent/children, process groups
//! and sessions, group-directed signals, job-control stop, and the exit
//! status a parent collects with wait.

use super::signal::{KernelSigaction, SigPending, NSIG};
use super::task::ExitStatus;
use super::wait::WaitQueue;
use std::sync::atomic::AtomicI32;
use std::sync::{Arc, Mutex};

/// Signal dispositions, shared by the threads of a group (CLONE_SIGHAND).
pub type SigHandlers = Arc<Mutex<[KernelSigaction; NSIG]>>;

/// A thread group.
pub struct ThreadGroup {
    /// Process id (the leader's tid).
    pub tgid: i32,
    /// Dispositions.
    pub handlers: SigHandlers,
    /// Everything that changes.
    pub state: Mutex<TgState>,
    /// Notified when a child changes state (exit, stop, continue): the
    /// parent's wait4 sleeps here.
    pub child_events: WaitQueue,
    /// Notified when a job-control stop ends or the group is killed.
    pub stop_events: WaitQueue,
    /// Host pid of the stub process holding this group's address space.
    pub host_pid: AtomicI32,
}

/// A child state change not yet collected by wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildReport {
    /// Stopped by this signal (WUNTRACED).
    Stopped(i32),
    /// Continued (WCONTINUED).
    Continued,
}

/// The mutable state of a thread group.
pub struct TgState {
    /// Parent's tgid (0 for the sandbox's init).
    pub parent: i32,
    /// Child thread groups.
    pub children: Vec<i32>,
    /// Live threads (tids).
    pub threads: Vec<i32>,
    /// Sentry threads still running for this group.
    pub live_sentry_threads: usize,
    /// Process group id.
    pub pgid: i32,
    /// Session id.
    pub sid: i32,
    /// Group-directed pending signals.
    pub pending: SigPending,
    /// Set once a group exit (exit_group, fatal signal) has begun.
    pub exiting: Option<ExitStatus>,
    /// Set when every thread is gone: the zombie's status for the parent.
    pub zombie: Option<ExitStatus>,
    /// Job-control stop in effect.
    pub stopped: bool,
    /// Stop/continue not yet reported to the parent.
    pub report: Option<ChildReport>,
    /// PR_SET_CHILD_SUBREAPER.
    pub subreaper: bool,
    /// Signal sent to the parent at exit (SIGCHLD, or the clone exit signal).
    pub exit_signal: i32,
    /// PR_SET_PDEATHSIG of the leader.
    pub pdeath_signal: i32,
    /// Set once the group has called execve (setpgid on it is then EACCES).
    pub did_exec: bool,
    /// CPU time of reaped children (for RUSAGE_CHILDREN), microseconds.
    pub children_cpu_us: u64,
    /// While a vfork child runs: the parent waits until this is cleared.
    pub vfork_pending: bool,
}

impl ThreadGroup {
    /// A new group led by `tgid`.
    pub fn new(
        tgid: i32,
        parent: i32,
        pgid: i32,
        sid: i32,
        handlers: SigHandlers,
        exit_signal: i32,
    ) -> Arc<ThreadGroup> {
        Arc::new(ThreadGroup {
            tgid,
            handlers,
            state: Mutex::new(TgState {
                parent,
                children: Vec::new(),
                threads: vec![tgid],
                live_sentry_threads: 1,
                pgid,
                sid,
                pending: SigPending::default(),
                exiting: None,
                zombie: None,
                stopped: false,
                report: None,
                subreaper: false,
                exit_signal,
                pdeath_signal: 0,
                did_exec: false,
                children_cpu_us: 0,
                vfork_pending: false,
            }),
            child_events: WaitQueue::new(),
            stop_events: WaitQueue::new(),
            host_pid: AtomicI32::new(0),
        })
    }

    /// The disposition of `sig` (1-based).
    pub fn action(&self, sig: i32) -> KernelSigaction {
        self.handlers
            .lock()
            .ok()
            .and_then(|h| h.get((sig - 1) as usize).copied())
            .unwrap_or_default()
    }
}
