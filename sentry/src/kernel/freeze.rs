//! The sandbox freezer (`runsc pause` / `resume`): while frozen no task
//! runs application code. Tasks in the guest are interrupted with the
//! kick signal (without marking a signal pending, so no syscall is
//! interrupted); every task waits here before it would switch back into
//! its stub. Work already inside the sentry (a blocked syscall, a timer)
//! carries on and parks at that same point. SIGKILL still ends a frozen
//! task.

use super::task::KICK_SIGNAL;
use super::Kernel;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

static FROZEN: AtomicBool = AtomicBool::new(false);
static THAW: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

/// Whether the sandbox is frozen.
pub fn is_frozen() -> bool {
    FROZEN.load(Ordering::SeqCst)
}

/// Freezes the sandbox: sets the flag, then stops every task that runs
/// application code. A task publishes `in_guest` before it checks the
/// flag, so each task either sees the flag or is seen in the guest.
pub fn freeze(kernel: &Kernel) {
    FROZEN.store(true, Ordering::SeqCst);
    let tasks: Vec<_> = kernel
        .table
        .lock()
        .map(|t| t.tasks.values().cloned().collect())
        .unwrap_or_default();
    for t in tasks {
        if t.in_guest.load(Ordering::SeqCst) {
            let host = t.host_tid.load(Ordering::SeqCst);
            if host > 0 {
                // SAFETY: tkill to our own traced stub thread; the tracer
                // swallows the kick signal.
                unsafe { libc::syscall(libc::SYS_tkill, host, KICK_SIGNAL) };
            }
        }
    }
}

/// Lets every task run again.
pub fn thaw() {
    let _guard = THAW.0.lock().unwrap_or_else(|e| e.into_inner());
    FROZEN.store(false, Ordering::SeqCst);
    THAW.1.notify_all();
}

/// Waits while the sandbox is frozen, returning early once `killed` says
/// the task must end.
pub fn wait_while_frozen(killed: impl Fn() -> bool) {
    let mut guard = THAW.0.lock().unwrap_or_else(|e| e.into_inner());
    while is_frozen() && !killed() {
        // A kill does not notify the condvar: poll for it.
        guard = match THAW.1.wait_timeout(guard, Duration::from_millis(20)) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        };
    }
}
