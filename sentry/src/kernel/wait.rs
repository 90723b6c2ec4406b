//! Sleeping and waking: wait queues and interruptible blocking.
//!
//! Every blocking syscall (pipe read, wait4, futex, poll, nanosleep, ...)
//! sleeps through [`block_until`]: it registers the current task's waker on
//! one or more [`WaitQueue`]s, re-checks its condition each time it is
//! woken, and gives up with `ERESTARTSYS` as soon as a signal is pending for
//! the task (the run loop turns that into EINTR or a restart, per
//! SA_RESTART), or with `ETIMEDOUT` at its deadline.
//!
//! The current task is a thread-local set by the run loop, so code deep in
//! a filesystem can block interruptibly without being handed the task.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Instant;
use syscalls::Errno;

/// Wakes one sleeping task. Notifications are counted, so a wake-up that
/// races with going to sleep is never lost.
#[derive(Default)]
pub struct Waker {
    generation: Mutex<u64>,
    cond: Condvar,
    /// Set while a signal is pending for the task that owns this waker.
    interrupted: AtomicBool,
}

impl Waker {
    /// A new waker.
    pub fn new() -> Arc<Waker> {
        Arc::new(Waker::default())
    }

    /// Wakes the owner (if it sleeps) so it re-checks its condition.
    pub fn notify(&self) {
        if let Ok(mut g) = self.generation.lock() {
            *g = g.wrapping_add(1);
        }
        self.cond.notify_all();
    }

    /// Marks a signal pending (or not) for the owner and wakes it.
    pub fn set_interrupted(&self, pending: bool) {
        self.interrupted.store(pending, Ordering::SeqCst);
        if pending {
            self.notify();
        }
    }

    /// True while a signal is pending for the owner.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    fn generation(&self) -> u64 {
        self.generation.lock().map(|g| *g).unwrap_or(0)
    }

    /// Sleeps until notified after `seen`, or until `deadline`.
    fn sleep(&self, seen: u64, deadline: Option<Instant>) {
        let Ok(mut g) = self.generation.lock() else { return };
        while *g == seen {
            match deadline {
                None => match self.cond.wait(g) {
                    Ok(next) => g = next,
                    Err(_) => return,
                },
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return;
                    }
                    match self.cond.wait_timeout(g, d - now) {
                        Ok((next, _)) => g = next,
                        Err(_) => return,
                    }
                }
            }
        }
    }
}

/// A set of tasks waiting for something (data in a pipe, a child's exit, a
/// futex word, ...). Whoever changes the condition calls [`notify_all`].
///
/// [`notify_all`]: WaitQueue::notify_all
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Weak<Waker>>>,
}

impl WaitQueue {
    /// An empty queue.
    pub fn new() -> WaitQueue {
        WaitQueue::default()
    }

    /// Wakes every waiter; each re-checks its own condition.
    pub fn notify_all(&self) {
        let waiters: Vec<Arc<Waker>> = match self.waiters.lock() {
            Ok(mut w) => {
                w.retain(|x| x.strong_count() > 0);
                w.iter().filter_map(Weak::upgrade).collect()
            }
            Err(_) => return,
        };
        for w in waiters {
            w.notify();
        }
    }

    fn add(&self, waker: &Arc<Waker>) {
        if let Ok(mut w) = self.waiters.lock() {
            w.push(Arc::downgrade(waker));
        }
    }

    fn remove(&self, waker: &Arc<Waker>) {
        if let Ok(mut w) = self.waiters.lock() {
            if let Some(pos) = w.iter().position(|x| x.as_ptr() == Arc::as_ptr(waker)) {
                w.swap_remove(pos);
            }
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Waker>>> = const { RefCell::new(None) };
}

/// Makes `waker` the current task's waker on this sentry thread.
pub fn set_current_waker(waker: Arc<Waker>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(waker));
}

/// The current task's waker (a private one outside any task, e.g. in tests).
pub fn current_waker() -> Arc<Waker> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        c.get_or_insert_with(Waker::new).clone()
    })
}

/// Blocks the current task until `ready` returns `Some`, a signal is
/// pending (`ERESTARTSYS`), or `deadline` passes (`ETIMEDOUT`).
///
/// `ready` is called with no queue lock held; it must take the locks that
/// protect its condition itself.
pub fn block_until<T>(
    queues: &[&WaitQueue],
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> Option<T>,
) -> Result<T, Errno> {
    let waker = current_waker();
    for q in queues {
        q.add(&waker);
    }
    let result = loop {
        let seen = waker.generation();
        if let Some(v) = ready() {
            break Ok(v);
        }
        if waker.is_interrupted() {
            break Err(Errno::ERESTARTSYS);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Err(Errno::ETIMEDOUT);
        }
        waker.sleep(seen, deadline);
    };
    for q in queues {
        q.remove(&waker);
    }
    result
}

/// Sleeps until `deadline` unless a signal arrives first (`ERESTARTSYS`).
pub fn sleep_until(deadline: Instant) -> Result<(), Errno> {
    match block_until::<()>(&[], Some(deadline), || None) {
        Err(e) if e == Errno::ETIMEDOUT => Ok(()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_notified_waiter_sees_its_condition() {
        let q = Arc::new(WaitQueue::new());
        let flag = Arc::new(Mutex::new(false));
        let (q2, f2) = (q.clone(), flag.clone());
        let t = std::thread::spawn(move || block_until(&[&q2], None, || f2.lock().unwrap().then_some(7)));
        std::thread::sleep(Duration::from_millis(20));
        *flag.lock().unwrap() = true;
        q.notify_all();
        assert_eq!(t.join().unwrap(), Ok(7));
    }

    #[test]
    fn deadline_gives_etimedout_and_signal_gives_erestartsys() {
        let start = Instant::now();
        let r = block_until::<()>(&[], Some(start + Duration::from_millis(30)), || None);
        assert_eq!(r, Err(Errno::ETIMEDOUT));
        assert!(start.elapsed() >= Duration::from_millis(30));

        let waker = current_waker();
        let w2 = waker.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            w2.set_interrupted(true);
        });
        assert_eq!(block_until::<()>(&[], None, || None), Err(Errno::ERESTARTSYS));
        t.join().unwrap();
        waker.set_interrupted(false);
    }
}
