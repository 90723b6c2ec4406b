//! Sessions and process groups as terminals see them: which terminal
//! controls a session, signals to a whole process group, orphaned process
//! groups, and the job-control check a terminal read or write makes.
//!
//! The controlling terminal is kept per session (sid -> terminal), not per
//! process: every process of a session shares it, `setsid` starts a session
//! without one, and the leader's exit or a hangup drops it for the whole
//! session. A process that gives it up alone (TIOCNOTTY by a non-leader) is
//! remembered in a set of detached processes.

use super::signal::{self, SigInfo, SIG_DFL, SIG_IGN};
use super::thread_group::ThreadGroup;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use syscalls::Errno;

/// A terminal that can control a session (implemented by the tty layer).
pub trait ControllingTerminal: Send + Sync {
    /// The leader of the session it controls has exited: SIGHUP its
    /// foreground process group and forget the session.
    fn leader_exited(&self, sid: i32);

    /// The terminal as `Any`, for the tty layer to get its own type back.
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

#[derive(Default)]
struct Registry {
    /// The controlling terminal of each session that has one.
    ctty: HashMap<i32, Arc<dyn ControllingTerminal>>,
    /// Processes that gave up their session's terminal (TIOCNOTTY).
    detached: HashSet<i32>,
}

fn registry() -> MutexGuard<'static, Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The controlling terminal of session `sid`.
pub fn session_terminal(sid: i32) -> Option<Arc<dyn ControllingTerminal>> {
    registry().ctty.get(&sid).cloned()
}

/// The controlling terminal of process `tgid` in session `sid`.
pub fn process_terminal(tgid: i32, sid: i32) -> Option<Arc<dyn ControllingTerminal>> {
    let r = registry();
    if r.detached.contains(&tgid) {
        return None;
    }
    r.ctty.get(&sid).cloned()
}

/// Makes `t` the controlling terminal of `sid`; false if the session has one.
pub fn set_session_terminal(sid: i32, t: Arc<dyn ControllingTerminal>) -> bool {
    let mut r = registry();
    if r.ctty.contains_key(&sid) {
        return false;
    }
    r.ctty.insert(sid, t);
    true
}

/// Drops the controlling terminal of `sid` (hangup, TIOCNOTTY by the leader).
pub fn clear_session_terminal(sid: i32) {
    registry().ctty.remove(&sid);
}

/// TIOCNOTTY by a process that does not lead its session.
pub fn detach_process(tgid: i32) {
    registry().detached.insert(tgid);
}

/// `setsid` made `tgid` the leader of a new session, which has no
/// controlling terminal (whatever an earlier session of that id had).
pub fn on_setsid(tgid: i32) {
    let mut r = registry();
    r.ctty.remove(&tgid);
    r.detached.remove(&tgid);
}

/// A process is gone: a session leader's exit hangs up its controlling
/// terminal for the session.
pub fn on_group_exit(tg: &ThreadGroup) {
    let sid = tg.state.lock().map(|s| s.sid).unwrap_or(0);
    let t = {
        let mut r = registry();
        r.detached.remove(&tg.tgid);
        if sid != tg.tgid {
            return;
        }
        r.ctty.remove(&sid)
    };
    if let Some(t) = t {
        t.leader_exited(sid);
    }
}

/// The (tgid, pgid, sid) of the calling task, if a task is current.
pub fn current_ids() -> Option<(i32, i32, i32)> {
    let task = super::current_task()?;
    let s = task.tg.state.lock().ok()?;
    Some((task.tg.tgid, s.pgid, s.sid))
}

/// Live (not zombie) processes matching `f` on their (pgid, sid).
fn live_groups(f: impl Fn(i32, i32) -> bool) -> Vec<Arc<ThreadGroup>> {
    let Some(kernel) = super::global() else {
        return Vec::new();
    };
    kernel
        .groups()
        .into_iter()
        .filter(|g| {
            g.state
                .lock()
                .map(|s| s.zombie.is_none() && s.exiting.is_none() && f(s.pgid, s.sid))
                .unwrap_or(false)
        })
        .collect()
}

/// Whether process group `pgid` has a live member in session `sid`.
pub fn pgrp_in_session(pgid: i32, sid: i32) -> bool {
    !live_groups(|p, s| p == pgid && s == sid).is_empty()
}

/// Sends `sig` from the kernel (terminal) to every process of group `pgid`.
/// As in Linux, the init ignores such a signal when it has no handler.
pub fn signal_pgrp(pgid: i32, sig: i32) {
    let Some(kernel) = super::global() else { return };
    for tg in live_groups(|p, _| p == pgid) {
        if tg.tgid == 1 && tg.action(sig).handler == SIG_DFL {
            continue;
        }
        signal::send_to_group(&kernel, &tg, kernel_info(sig));
    }
}

/// Sends `sig` from the kernel to process `tgid`.
pub fn signal_process(tgid: i32, sig: i32) {
    let Some(kernel) = super::global() else { return };
    let Some(tg) = kernel.group(tgid) else { return };
    if tg.tgid == 1 && tg.action(sig).handler == SIG_DFL {
        return;
    }
    signal::send_to_group(&kernel, &tg, kernel_info(sig));
}

fn kernel_info(sig: i32) -> SigInfo {
    SigInfo {
        signo: sig,
        code: signal::SI_KERNEL,
        ..SigInfo::default()
    }
}

/// Whether process group `pgid` is orphaned: no member has a parent in
/// another process group of the same session (POSIX; such a group gets EIO
/// instead of being stopped by SIGTTIN/SIGTTOU).
pub fn pgrp_orphaned(pgid: i32) -> bool {
    let Some(kernel) = super::global() else { return true };
    for member in live_groups(|p, _| p == pgid) {
        let (parent, sid) = match member.state.lock() {
            Ok(s) => (s.parent, s.sid),
            Err(_) => continue,
        };
        let Some(ptg) = kernel.group(parent) else { continue };
        let linked = ptg
            .state
            .lock()
            .map(|s| s.zombie.is_none() && s.pgid != pgid && s.sid == sid)
            .unwrap_or(false);
        if linked {
            return false;
        }
    }
    true
}

/// The job-control check of a terminal access by the calling task
/// (Linux's `__tty_check_change`). `fg` is the terminal's foreground
/// process group and `controls` whether it is the caller's controlling
/// terminal. A background caller gets `sig` (SIGTTIN for reads, SIGTTOU for
/// writes and mode changes) sent to its process group and ERESTARTSYS, so
/// it stops and retries when continued; EIO when it blocks or ignores
/// SIGTTIN or its group is orphaned; a blocked or ignored SIGTTOU lets the
/// access proceed.
pub fn job_control_check(controls: bool, fg: Option<i32>, sig: i32) -> Result<(), Errno> {
    if !controls {
        return Ok(());
    }
    let Some(task) = super::current_task() else {
        return Ok(());
    };
    let pgid = task.tg.state.lock().map_err(|_| Errno::EIO)?.pgid;
    let Some(fg) = fg else { return Ok(()) };
    if fg == pgid {
        return Ok(());
    }
    let blocked = task.mask.load(Ordering::SeqCst) & signal::bit(sig) != 0;
    if blocked || task.tg.action(sig).handler == SIG_IGN {
        return if sig == libc::SIGTTIN { Err(Errno::EIO) } else { Ok(()) };
    }
    if pgrp_orphaned(pgid) || (task.tg.tgid == 1 && task.tg.action(sig).handler == SIG_DFL) {
        // (The init would ignore the signal and retry forever.)
        return Err(Errno::EIO);
    }
    signal_pgrp(pgid, sig);
    Err(Errno::ERESTARTSYS)
}
