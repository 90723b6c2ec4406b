//! Signals: dispositions, pending sets, generation ([`post`]) and the
//! choice of what to do with a pending signal. Frames for handlers are
//! built by [`super::sigframe`]; delivery happens in the run loop.
//!
//! Lock order: kernel task table, then a thread group's state, then a
//! task's pending set; the handlers lock is never held with another.

use super::task::TaskShared;
use super::thread_group::ThreadGroup;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use syscalls::{Errno, Pod};

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

/// Per-task signal state owned by the task's sentry thread.
#[derive(Clone, Debug)]
pub struct SignalState {
    /// Blocked signals (bit n-1 for signal n); mirrored in `TaskShared::mask`.
    pub mask: u64,
    /// Alternate signal stack (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, i32, u64),
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            mask: 0,
            altstack: (0, libc::SS_DISABLE, 0),
        }
    }
}

/// Bits of SIGKILL and SIGSTOP, which can never be blocked or caught.
pub const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));
/// `SIG_DFL`.
pub const SIG_DFL: u64 = 0;
/// `SIG_IGN`.
pub const SIG_IGN: u64 = 1;
/// `SI_USER`.
pub const SI_USER: i32 = 0;
/// `SI_KERNEL`.
pub const SI_KERNEL: i32 = 0x80;
/// `SI_QUEUE`.
pub const SI_QUEUE: i32 = -1;
/// `SI_TIMER`.
pub const SI_TIMER: i32 = -2;
/// `SI_TKILL`.
pub const SI_TKILL: i32 = -6;

/// The bit of `sig` in a mask.
pub fn bit(sig: i32) -> u64 {
    if (1..=NSIG as i32).contains(&sig) {
        1 << (sig - 1)
    } else {
        0
    }
}

/// What the default action of a signal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// Nothing happens.
    Ignore,
    /// The process ends.
    Terminate,
    /// The process ends and the status carries the core bit.
    Core,
    /// The process stops (job control).
    Stop,
    /// A stopped process continues.
    Continue,
}

/// The default action of `sig` (signal(7)).
pub fn default_action(sig: i32) -> DefaultAction {
    match sig {
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => DefaultAction::Ignore,
        libc::SIGCONT => DefaultAction::Continue,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => DefaultAction::Stop,
        s if default_action_is_core(s) => DefaultAction::Core,
        _ => DefaultAction::Terminate,
    }
}

/// Signals pending for a thread or a thread group. Standard signals (1-31)
/// are pending at most once; real-time signals queue.
#[derive(Clone, Debug, Default)]
pub struct SigPending {
    /// Bit set of pending signals.
    pub set: u64,
    /// The queued siginfos, in arrival order.
    pub queue: VecDeque<SigInfo>,
}

/// Most real-time signals queued per task (RLIMIT_SIGPENDING-like bound).
const MAX_QUEUED: usize = 4096;

impl SigPending {
    /// Queues `info`; a standard signal already pending is dropped.
    pub fn enqueue(&mut self, info: SigInfo) -> bool {
        let b = bit(info.signo);
        if b == 0 {
            return false;
        }
        if info.signo < 32 && self.set & b != 0 {
            return false;
        }
        if self.queue.len() >= MAX_QUEUED {
            return false;
        }
        self.set |= b;
        self.queue.push_back(info);
        true
    }

    /// Removes and returns the lowest-numbered pending signal not in `blocked`.
    pub fn dequeue(&mut self, blocked: u64) -> Option<SigInfo> {
        let ready = self.set & !blocked;
        if ready == 0 {
            return None;
        }
        let sig = ready.trailing_zeros() as i32 + 1;
        self.take_one(sig)
    }

    /// Removes one instance of `sig`.
    pub fn take_one(&mut self, sig: i32) -> Option<SigInfo> {
        let pos = self.queue.iter().position(|i| i.signo == sig)?;
        let info = self.queue.remove(pos)?;
        if !self.queue.iter().any(|i| i.signo == sig) {
            self.set &= !bit(sig);
        }
        Some(info)
    }

    /// Drops every instance of the signals in `mask`.
    pub fn discard(&mut self, mask: u64) {
        self.queue.retain(|i| bit(i.signo) & mask == 0);
        self.set &= !mask;
    }
}

/// True when `sig` would be ignored by `tg` right now (and so may be
/// discarded at generation unless blocked).
fn ignored(tg: &ThreadGroup, sig: i32) -> bool {
    let action = tg.action(sig);
    action.handler == SIG_IGN || (action.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
}

/// Recomputes whether `task` has a deliverable signal (its waker's
/// "interrupted" flag), e.g. after its mask changed.
pub fn recalc_pending(task: &TaskShared) {
    let mask = task.mask.load(Ordering::SeqCst);
    let own = task.pending.lock().map(|p| p.set).unwrap_or(0);
    let group = task.tg.state.lock().map(|s| s.pending.set).unwrap_or(0);
    let pending = (own | group) & !mask != 0 || task.is_killed();
    task.waker.set_interrupted(pending);
}

/// Sends `info` to one thread.
pub fn send_to_thread(task: &Arc<TaskShared>, info: SigInfo) {
    let sig = info.signo;
    let blocked = task.mask.load(Ordering::SeqCst) & bit(sig) != 0;
    if sig == libc::SIGKILL {
        super::exit::kill_group(&task.tg, killed_by(sig));
        return;
    }
    job_control_on_generation(&task.tg, sig);
    if !blocked && ignored(&task.tg, sig) {
        return;
    }
    let queued = task.pending.lock().map(|mut p| p.enqueue(info)).unwrap_or(false);
    if queued && !blocked {
        task.kick();
    } else if queued {
        // Blocked: no interruption, but a signalfd reader may be waiting.
        task.waker.notify();
    }
}

/// Sends `info` to a thread group: queued on the group, and one thread that
/// does not block it is kicked to take it.
pub fn send_to_group(kernel: &super::Kernel, tg: &Arc<ThreadGroup>, info: SigInfo) {
    let sig = info.signo;
    if sig == libc::SIGKILL {
        super::exit::kill_group(tg, killed_by(sig));
        return;
    }
    job_control_on_generation(tg, sig);
    let threads: Vec<Arc<TaskShared>> = {
        let Ok(state) = tg.state.lock() else { return };
        state.threads.iter().filter_map(|t| kernel.task(*t)).collect()
    };
    let all_block = threads.iter().all(|t| t.mask.load(Ordering::SeqCst) & bit(sig) != 0);
    if !all_block && ignored(tg, sig) {
        return;
    }
    let queued = tg.state.lock().map(|mut s| s.pending.enqueue(info)).unwrap_or(false);
    if !queued {
        return;
    }
    match threads.iter().find(|t| t.mask.load(Ordering::SeqCst) & bit(sig) == 0) {
        Some(t) => t.kick(),
        None => threads.iter().for_each(|t| t.waker.notify()),
    }
}

/// Job control at generation time (as Linux's prepare_signal): SIGCONT
/// resumes a stopped group and discards pending stop signals; a stop
/// signal discards a pending SIGCONT.
fn job_control_on_generation(tg: &Arc<ThreadGroup>, sig: i32) {
    const STOPS: u64 = (1 << (libc::SIGSTOP - 1))
        | (1 << (libc::SIGTSTP - 1))
        | (1 << (libc::SIGTTIN - 1))
        | (1 << (libc::SIGTTOU - 1));
    let Ok(mut state) = tg.state.lock() else { return };
    if sig == libc::SIGCONT {
        state.pending.discard(STOPS);
        if state.stopped {
            state.stopped = false;
            state.report = Some(super::thread_group::ChildReport::Continued);
            let parent = state.parent;
            drop(state);
            tg.stop_events.notify_all();
            super::exit::notify_parent_of_change(tg.tgid, parent, libc::CLD_CONTINUED, libc::SIGCONT);
        }
    } else if bit(sig) & STOPS != 0 {
        state.pending.discard(bit(libc::SIGCONT));
    }
}

/// The status of a process killed by `sig`.
pub fn killed_by(sig: i32) -> super::task::ExitStatus {
    super::task::ExitStatus::Signaled {
        signal: sig,
        core: default_action_is_core(sig),
    }
}

/// Bookkeeping when a signal leaves a pending set (delivery, sigtimedwait,
/// signalfd): a POSIX timer's signal carries the overruns counted while it
/// was pending.
pub fn on_dequeue(tgid: i32, info: &mut SigInfo) {
    if info.code == SI_TIMER {
        info.status = super::timers::on_timer_signal_delivered(tgid, info.timer_id);
    }
}

/// Sends a signal on behalf of the current task (or the kernel).
pub fn post(target: SignalTarget, info: SigInfo) -> Result<(), Errno> {
    let kernel = super::global().ok_or(Errno::ESRCH)?;
    match target {
        SignalTarget::CurrentThread => {
            let task = super::current_task().ok_or(Errno::ESRCH)?;
            send_to_thread(&task, info);
        }
        SignalTarget::Thread(tid) => {
            let task = kernel.task(tid).ok_or(Errno::ESRCH)?;
            send_to_thread(&task, info);
        }
        SignalTarget::Process(tgid) => {
            let tg = kernel.group(tgid).ok_or(Errno::ESRCH)?;
            send_to_group(&kernel, &tg, info);
        }
    }
    Ok(())
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
