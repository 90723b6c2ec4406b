//! Ending tasks and thread groups, zombies, reparenting, and wait.

use super::signal::{self, SigInfo, SIG_IGN};
use super::task::{ExitStatus, Task};
use super::thread_group::{ChildReport, ThreadGroup};
use super::wait::block_until;
use super::Kernel;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use syscalls::Errno;

/// `SA_NOCLDSTOP`.
const SA_NOCLDSTOP: u64 = 1;
/// `SA_NOCLDWAIT`.
const SA_NOCLDWAIT: u64 = 2;

/// Starts a group exit with `status` (exit_group, a fatal signal): every
/// thread is told to stop and the stub process is killed. The last thread
/// to leave turns the group into a zombie.
pub fn kill_group(tg: &Arc<ThreadGroup>, status: ExitStatus) {
    let threads = {
        let Ok(mut state) = tg.state.lock() else { return };
        if state.exiting.is_some() || state.zombie.is_some() {
            return;
        }
        state.exiting = Some(status);
        state.stopped = false;
        state.threads.clone()
    };
    tg.stop_events.notify_all();
    if let Some(kernel) = super::global() {
        for tid in &threads {
            if let Some(t) = kernel.task(*tid) {
                // The memory is still there: free the robust locks first.
                let mm = t.mm.lock().ok().and_then(|m| m.clone());
                if let Some(mm) = mm {
                    release_robust_list(&kernel, &mm, t.robust_list.load(Ordering::SeqCst), *tid);
                }
            }
        }
        for tid in threads {
            if let Some(t) = kernel.task(tid) {
                t.kill();
            }
        }
    }
    kill_host_process(tg);
}

/// Kills the stub process of `tg` on the host (its threads' tracers then
/// see them gone).
pub fn kill_host_process(tg: &ThreadGroup) {
    let host = tg.host_pid.load(Ordering::SeqCst);
    if host > 0 {
        // SAFETY: SIGKILL to our own stub process; no memory involved.
        unsafe { libc::kill(host, libc::SIGKILL) };
    }
}

/// Tells the parent of `tgid` that it stopped or continued.
pub fn notify_parent_of_change(tgid: i32, parent: i32, code: i32, sig: i32) {
    let Some(kernel) = super::global() else { return };
    let Some(ptg) = kernel.group(parent) else { return };
    // Signal first, then wake waiters (as in `finalize_group`).
    if ptg.action(libc::SIGCHLD).flags & SA_NOCLDSTOP == 0 {
        let info = SigInfo {
            signo: libc::SIGCHLD,
            code,
            pid: tgid,
            status: sig,
            ..SigInfo::default()
        };
        signal::send_to_group(&kernel, &ptg, info);
    }
    ptg.child_events.notify_all();
}

/// Called by a task's sentry thread when its run loop ends: the thread
/// leaves its group; the last one out makes the group a zombie.
pub fn task_exited(task: &mut Task) {
    let kernel = task.kernel.clone();
    let tg = task.shared.tg.clone();
    let group_exit = tg.state.lock().map(|s| s.exiting.is_some()).unwrap_or(true);
    if !group_exit && task.clear_child_tid != 0 {
        // CLONE_CHILD_CLEARTID: zero the tid word and wake one futex waiter
        // (how pthread_join learns the thread is gone).
        if task.mm.write_obj(task.clear_child_tid, &0u32).is_ok() {
            kernel.futexes.wake(&task.mm, task.clear_child_tid, false, 1, u32::MAX);
        }
    }
    if !group_exit {
        release_robust_list(&kernel, &task.mm, task.robust_list.0, task.tid);
    }
    if !group_exit && !task.shared.is_killed() {
        // A thread leaving on its own: its host thread must go too.
        let _ = task.thread.inject(libc::SYS_exit, [0; 6]);
    }
    // Close the files before the parent can see the exit (Linux's
    // exit_files before exit_notify): a parent that waited for its child
    // must find the child's pipe and FIFO ends closed.
    task.fds = Arc::new(crate::vfs::FdTable::new());
    if thread_gone(&kernel, &task.shared, task.tid, task.exit_status) {
        task.thread.kill_process();
    }
}

/// Removes a thread from the PID namespace and its group; the last one out
/// turns the group into a zombie. Returns true for the last thread. Also
/// used when a new thread dies before its sentry thread could seize it.
pub fn thread_gone(
    kernel: &Arc<Kernel>,
    shared: &Arc<super::task::TaskShared>,
    tid: i32,
    status: Option<ExitStatus>,
) -> bool {
    let tg = shared.tg.clone();
    let (last, group_status) = {
        let Ok(mut table) = kernel.table.lock() else {
            return false;
        };
        table.tasks.remove(&tid);
        let Ok(mut state) = tg.state.lock() else { return false };
        state.threads.retain(|t| *t != tid);
        state.live_sentry_threads = state.live_sentry_threads.saturating_sub(1);
        (state.live_sentry_threads == 0, state.exiting)
    };
    tg.stop_events.notify_all();
    if last {
        // A group exit (exit_group, a fatal signal) decides the status, as
        // Linux's group_exit_code does: a thread failing on its way out
        // (a signal frame written into a killed stub) does not change it.
        let status = group_status.or(status).unwrap_or(ExitStatus::Exited(0));
        finalize_group(kernel, &tg, status);
    }
    last
}

/// Releases the robust futexes a dying thread still holds (set_robust_list):
/// each lock word owned by `tid` gets FUTEX_OWNER_DIED and one waiter is
/// woken, so the next locker sees EOWNERDEAD.
pub fn release_robust_list(kernel: &Kernel, mm: &crate::mm::MemoryManager, head: u64, tid: i32) {
    const FUTEX_WAITERS: u32 = 0x8000_0000;
    const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    const ROBUST_LIST_LIMIT: usize = 2048;
    if head == 0 {
        return;
    }
    let (Ok(first), Ok(offset), Ok(pending)) = (
        mm.read_obj::<u64>(head),
        mm.read_obj::<i64>(head + 8),
        mm.read_obj::<u64>(head + 16),
    ) else {
        return;
    };
    let release = |entry: u64| {
        // The low bit of an entry marks a PI futex; the address is without it.
        let word_addr = (entry & !1).wrapping_add(offset as u64);
        let Ok(word) = mm.read_obj::<u32>(word_addr) else {
            return;
        };
        if word & FUTEX_TID_MASK != tid as u32 {
            return;
        }
        let new = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        if mm.write_obj(word_addr, &new).is_ok() && word & FUTEX_WAITERS != 0 {
            kernel.futexes.wake(mm, word_addr, false, 1, u32::MAX);
        }
    };
    let mut entry = first;
    for _ in 0..ROBUST_LIST_LIMIT {
        if entry == head || entry == 0 {
            break;
        }
        let next = mm.read_obj::<u64>(entry & !1).unwrap_or(0);
        if entry != pending {
            release(entry);
        }
        entry = next;
    }
    if pending != 0 {
        release(pending);
    }
}

/// Turns a group whose threads are all gone into a zombie (or reaps it at
/// once when the parent ignores SIGCHLD), reparents its children and tells
/// the parent.
fn finalize_group(kernel: &Arc<Kernel>, tg: &Arc<ThreadGroup>, fallback: ExitStatus) {
    kill_host_process(tg);
    let (status, parent, children, exit_signal) = {
        let Ok(mut state) = tg.state.lock() else { return };
        let status = state.exiting.unwrap_or(fallback);
        state.exiting = Some(status);
        (
            status,
            state.parent,
            std::mem::take(&mut state.children),
            state.exit_signal,
        )
    };
    crate::kernel::timers_on_exit(tg.tgid);
    // POSIX record locks belong to the process and end with it.
    crate::vfs::locks::release_process(tg.tgid);
    // A session leader's exit hangs up its controlling terminal.
    super::session::on_group_exit(tg);
    if tg.tgid == 1 {
        // The init is gone: the sandbox ends with its status.
        for g in kernel.groups() {
            if g.tgid != 1 {
                kill_group(
                    &g,
                    ExitStatus::Signaled {
                        signal: libc::SIGKILL,
                        core: false,
                    },
                );
            }
        }
        if let Ok(mut s) = kernel.init_exit.lock() {
            *s = Some(status);
        }
        kernel.init_exited.notify_all();
    }
    reparent(kernel, tg.tgid, parent, children);
    // A vfork parent waits for this child to exec or exit.
    if let Ok(mut state) = tg.state.lock() {
        state.vfork_pending = false;
    }
    tg.stop_events.notify_all();

    let Some(ptg) = kernel.group(parent) else {
        reap(kernel, tg.tgid, parent);
        return;
    };
    let action = ptg.action(libc::SIGCHLD);
    let auto_reap = exit_signal == libc::SIGCHLD && (action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0);
    if auto_reap {
        reap(kernel, tg.tgid, parent);
    } else if let Ok(mut state) = tg.state.lock() {
        state.zombie = Some(status);
    }
    // The exit signal is queued before waiters are woken, as Linux's
    // do_notify_parent does: a parent that blocked SIGCHLD and sleeps in
    // wait finds the signal pending once wait returns.
    if exit_signal > 0 {
        let (code, st) = match status {
            ExitStatus::Exited(c) => (libc::CLD_EXITED, c),
            ExitStatus::Signaled { signal, .. } => (libc::CLD_KILLED, signal),
        };
        let info = SigInfo {
            signo: exit_signal,
            code,
            pid: tg.tgid,
            status: st,
            ..SigInfo::default()
        };
        signal::send_to_group(kernel, &ptg, info);
    }
    ptg.child_events.notify_all();
}

/// Gives the children of a dying group to the nearest subreaper among its
/// ancestors, or to the init; sends PR_SET_PDEATHSIG signals.
fn reparent(kernel: &Arc<Kernel>, dying: i32, parent: i32, children: Vec<i32>) {
    if children.is_empty() {
        return;
    }
    let mut reaper = 1;
    let mut cursor = parent;
    while cursor > 1 {
        let Some(g) = kernel.group(cursor) else { break };
        let Ok(s) = g.state.lock() else { break };
        if s.subreaper && s.exiting.is_none() {
            reaper = cursor;
            break;
        }
        cursor = s.parent;
    }
    if dying == 1 {
        return;
    }
    let Some(rtg) = kernel.group(reaper) else { return };
    for child in children {
        let Some(ctg) = kernel.group(child) else { continue };
        let pdeath = match ctg.state.lock() {
            Ok(mut s) => {
                s.parent = reaper;
                s.pdeath_signal
            }
            Err(_) => continue,
        };
        if let Ok(mut rs) = rtg.state.lock() {
            rs.children.push(child);
        }
        if pdeath > 0 {
            signal::send_to_group(
                kernel,
                &ctg,
                SigInfo {
                    signo: pdeath,
                    code: signal::SI_USER,
                    ..SigInfo::default()
                },
            );
        }
    }
    rtg.child_events.notify_all();
}

/// Removes a zombie from the PID namespace and from its parent's children.
fn reap(kernel: &Arc<Kernel>, tgid: i32, parent: i32) {
    if let Ok(mut table) = kernel.table.lock() {
        table.groups.remove(&tgid);
    }
    if let Some(ptg) = kernel.group(parent) {
        if let Ok(mut s) = ptg.state.lock() {
            s.children.retain(|c| *c != tgid);
        }
    }
}

/// Which children a wait call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(i32),
    /// Any child in this process group.
    Pgid(i32),
}

/// wait4/waitid options.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// Which children.
    pub who: WaitFor,
    /// Report exited children (WEXITED; implied by wait4).
    pub exited: bool,
    /// Report stopped children (WUNTRACED / WSTOPPED).
    pub stopped: bool,
    /// Report continued children (WCONTINUED).
    pub continued: bool,
    /// Do not block (WNOHANG).
    pub nohang: bool,
    /// Leave the child waitable (WNOWAIT).
    pub nowait: bool,
    /// `__WALL`: children of any exit signal.
    pub all_kinds: bool,
    /// `__WCLONE`: only "clone" children (exit signal other than SIGCHLD).
    pub clone_only: bool,
}

/// What wait found.
#[derive(Clone, Copy, Debug)]
pub struct WaitResult {
    /// The child's pid.
    pub pid: i32,
    /// wait4's status word.
    pub status: i32,
    /// waitid's si_code (CLD_*).
    pub code: i32,
    /// waitid's si_status.
    pub si_status: i32,
    /// The child's uid.
    pub uid: u32,
}

fn matches(who: WaitFor, child: &ThreadGroup) -> bool {
    match who {
        WaitFor::Any => true,
        WaitFor::Pid(p) => child.tgid == p,
        WaitFor::Pgid(g) => child.state.lock().map(|s| s.pgid == g).unwrap_or(false),
    }
}

/// Collects a child state change per `opts`; `Ok(None)` for WNOHANG with
/// nothing to report.
pub fn wait_child(task: &Task, opts: WaitOptions) -> Result<Option<WaitResult>, Errno> {
    let kernel = task.kernel.clone();
    let tg = task.shared.tg.clone();
    let uid = task.creds.ruid;
    let check = || -> Option<Result<Option<WaitResult>, Errno>> {
        let children: Vec<i32> = tg.state.lock().ok()?.children.clone();
        let mut any = false;
        for c in children {
            let Some(ctg) = kernel.group(c) else { continue };
            if !matches(opts.who, &ctg) {
                continue;
            }
            let clone_child = ctg
                .state
                .lock()
                .map(|s| s.exit_signal != libc::SIGCHLD)
                .unwrap_or(false);
            if !opts.all_kinds && clone_child != opts.clone_only {
                continue;
            }
            any = true;
            let Ok(mut s) = ctg.state.lock() else { continue };
            if let (Some(status), true) = (s.zombie, opts.exited) {
                drop(s);
                if !opts.nowait {
                    reap(&kernel, c, tg.tgid);
                }
                let (code, si_status) = match status {
                    ExitStatus::Exited(x) => (libc::CLD_EXITED, x),
                    ExitStatus::Signaled { signal, .. } => (libc::CLD_KILLED, signal),
                };
                return Some(Ok(Some(WaitResult {
                    pid: c,
                    status: status.wait_status(),
                    code,
                    si_status,
                    uid,
                })));
            }
            match s.report {
                Some(ChildReport::Stopped(sig)) if opts.stopped => {
                    if !opts.nowait {
                        s.report = None;
                    }
                    let status = (sig << 8) | 0x7f;
                    return Some(Ok(Some(WaitResult {
                        pid: c,
                        status,
                        code: libc::CLD_STOPPED,
                        si_status: sig,
                        uid,
                    })));
                }
                Some(ChildReport::Continued) if opts.continued => {
                    if !opts.nowait {
                        s.report = None;
                    }
                    let r = WaitResult {
                        pid: c,
                        status: 0xffff,
                        code: libc::CLD_CONTINUED,
                        si_status: libc::SIGCONT,
                        uid,
                    };
                    return Some(Ok(Some(r)));
                }
                _ => {}
            }
        }
        if !any {
            return Some(Err(Errno::ECHILD));
        }
        if opts.nohang {
            return Some(Ok(None));
        }
        None
    };
    block_until(&[&tg.child_events], None, check)?
}
