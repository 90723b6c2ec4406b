//! Readiness of host sockets as wait-queue notifications: one sentry
//! thread (`hostinet-poll`) waits in `epoll_wait` on every host socket of
//! the sandbox, registered edge-triggered, and notifies the socket's
//! [`WaitQueue`] on each event. Tasks blocked in a socket call, `poll`,
//! `select` or `epoll_wait` then re-check the fd like any other file, so
//! host sockets need no periodic re-check and a signal still interrupts
//! the wait (it wakes the task's waker, not the epoll thread).
//!
//! Edge-triggered is enough: Linux raises an event on every wake-up of a
//! socket (each arriving segment, each freed send buffer, a FIN, an error),
//! and a waiter registers on the queue before it first checks the fd, so a
//! change between its check and its sleep still wakes it.

use crate::kernel::wait::WaitQueue;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::Errno;

/// Events every host socket is registered for.
const EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
/// Events taken per `epoll_wait`.
const BATCH: usize = 64;

struct Poller {
    epfd: OwnedFd,
    /// Registration key -> the queue to notify.
    queues: Mutex<HashMap<u64, Weak<WaitQueue>>>,
}

impl Poller {
    fn queues(&self) -> MutexGuard<'_, HashMap<u64, Weak<WaitQueue>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The poller, created (with its thread) on first use.
fn poller() -> Result<&'static Poller, Errno> {
    static P: OnceLock<Result<Poller, Errno>> = OnceLock::new();
    P.get_or_init(|| {
        // SAFETY: epoll_create1 has no memory arguments.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` was just returned by epoll_create1 and is owned by nobody else.
        let epfd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Poller {
            epfd,
            queues: Mutex::new(HashMap::new()),
        })
    })
    .as_ref()
    .map_err(|e| *e)
    .and_then(|p| {
        static STARTED: OnceLock<bool> = OnceLock::new();
        let ok = *STARTED.get_or_init(|| {
            std::thread::Builder::new()
                .name("hostinet-poll".into())
                .spawn(move || serve(p))
                .is_ok()
        });
        if ok {
            Ok(p)
        } else {
            Err(Errno::EAGAIN)
        }
    })
}

/// The epoll thread: forwards every event to its socket's wait queue.
fn serve(p: &'static Poller) {
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
    loop {
        // SAFETY: `events` is valid for BATCH entries.
        let n = unsafe { libc::epoll_wait(p.epfd.as_raw_fd(), events.as_mut_ptr(), BATCH as i32, -1) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            tracing::warn!("hostinet: epoll_wait: {}", Errno::last());
            return;
        }
        let ready: Vec<Arc<WaitQueue>> = {
            let queues = p.queues();
            events[..n as usize]
                .iter()
                .filter_map(|e| queues.get(&{ e.u64 }).and_then(Weak::upgrade))
                .collect()
        };
        for q in ready {
            q.notify_all();
        }
    }
}

/// A host fd's registration; dropping it stops the notifications (before
/// the fd is closed: drop it first).
pub struct Registration {
    key: u64,
    fd: RawFd,
}

/// Has `queue` notified whenever `fd` may have changed readiness.
pub fn register(fd: RawFd, queue: &Arc<WaitQueue>) -> Result<Registration, Errno> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let p = poller()?;
    let key = NEXT.fetch_add(1, Ordering::Relaxed);
    p.queues().insert(key, Arc::downgrade(queue));
    let mut ev = libc::epoll_event {
        events: EVENTS,
        u64: key,
    };
    // SAFETY: `ev` is a valid epoll_event; `fd` is open (owned by the caller).
    if unsafe { libc::epoll_ctl(p.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        let e = Errno::last();
        p.queues().remove(&key);
        return Err(e);
    }
    Ok(Registration { key, fd })
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(p) = poller() {
            // SAFETY: EPOLL_CTL_DEL ignores the event argument; the fd is
            // still open (the owner drops the registration first).
            unsafe { libc::epoll_ctl(p.epfd.as_raw_fd(), libc::EPOLL_CTL_DEL, self.fd, std::ptr::null_mut()) };
            p.queues().remove(&self.key);
        }
    }
}
