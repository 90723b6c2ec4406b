//! eventfd objects (eventfd(2)): a 64-bit counter that writes add to and
//! reads take (all of it, or one in semaphore mode), used as a wake-up
//! channel between threads and processes.

use super::epoll;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::inode::synthetic_stat;
use crate::vfs::{FileDescription, FileOps, FileRef};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls::structs::Stat;
use syscalls::Errno;

/// The largest value the counter may hold.
pub const EVENTFD_MAX: u64 = u64::MAX - 1;
/// The device of the anonymous-inode filesystem.
pub const ANON_INODE_DEV: u64 = crate::vfs::inode::makedev(0, 16);
/// The one inode all anonymous-inode files share (as on Linux).
pub const ANON_INODE_INO: u64 = 1;

/// The counter and its event counters.
#[derive(Debug, Default)]
struct Counter {
    value: u64,
    /// Bumped by every successful write (edge-triggered epoll).
    in_events: u64,
    /// Bumped by every successful read.
    out_events: u64,
}

impl Counter {
    /// A read: the value taken, or `None` when the counter is zero.
    fn take(&mut self, semaphore: bool) -> Option<u64> {
        if self.value == 0 {
            return None;
        }
        let v = if semaphore { 1 } else { self.value };
        self.value -= v;
        self.out_events += 1;
        Some(v)
    }

    /// A write of `v`: false when it would push the counter past the maximum.
    fn add(&mut self, v: u64) -> bool {
        if EVENTFD_MAX - self.value < v {
            return false;
        }
        self.value += v;
        self.in_events += 1;
        true
    }
}

/// The shared state of one eventfd.
pub struct EventFd {
    counter: Mutex<Counter>,
    semaphore: bool,
    queue: WaitQueue,
}

impl EventFd {
    fn lock(&self) -> MutexGuard<'_, Counter> {
        self.counter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// (data events, room events) counters for edge-triggered epoll.
    pub fn event_counts(&self) -> (u64, u64) {
        let c = self.lock();
        (c.in_events, c.out_events)
    }
}

/// The [`FileOps`] of an eventfd description.
pub struct EventFdFile {
    inner: Arc<EventFd>,
}

/// Creates an eventfd with `initval`; `flags` are `EFD_*` (checked by the caller).
pub fn new_eventfd(initval: u32, flags: i32) -> FileRef {
    let inner = Arc::new(EventFd {
        counter: Mutex::new(Counter {
            value: u64::from(initval),
            ..Counter::default()
        }),
        semaphore: flags & libc::EFD_SEMAPHORE != 0,
        queue: WaitQueue::new(),
    });
    let file = Box::new(EventFdFile { inner: inner.clone() });
    let weak: std::sync::Weak<dyn std::any::Any + Send + Sync> = Arc::downgrade(&inner) as _;
    epoll::register_special(file.as_ref(), weak);
    FileDescription::new(file, libc::O_RDWR | (flags & libc::O_NONBLOCK), None)
}

impl FileOps for EventFdFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(synthetic_stat(ANON_INODE_DEV, ANON_INODE_INO, 0o600, 0))
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let e = &self.inner;
        let taken = e.lock().take(e.semaphore);
        let v = match taken {
            Some(v) => v,
            None if nonblock => return Err(Errno::EAGAIN),
            None => block_until(&[&e.queue], None, || e.lock().take(e.semaphore))?,
        };
        buf[..8].copy_from_slice(&v.to_ne_bytes());
        e.queue.notify_all();
        Ok(8)
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(buf.get(..8).ok_or(Errno::EINVAL)?);
        let v = u64::from_ne_bytes(raw);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let e = &self.inner;
        if !e.lock().add(v) {
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            block_until(&[&e.queue], None, || e.lock().add(v).then_some(()))?;
        }
        e.queue.notify_all();
        Ok(8)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let c = self.inner.lock();
        let mut r = 0;
        if c.value > 0 {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
        if c.value < EVENTFD_MAX {
            r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
        }
        r & mask
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.inner.queue)
    }

    fn name(&self) -> Vec<u8> {
        b"anon_inode:[eventfd]".to_vec()
    }
}

impl Drop for EventFdFile {
    fn drop(&mut self) {
        epoll::unregister_special(self);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn read_u64(f: &FileRef) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        f.read(&mut b)?;
        Ok(u64::from_ne_bytes(b))
    }

    #[test]
    fn counter_adds_and_reads_all_or_one() {
        let f = new_eventfd(3, libc::O_NONBLOCK);
        f.write(&4u64.to_ne_bytes()).unwrap();
        assert_eq!(read_u64(&f), Ok(7));
        assert_eq!(read_u64(&f), Err(Errno::EAGAIN));

        let s = new_eventfd(2, libc::EFD_SEMAPHORE | libc::O_NONBLOCK);
        assert_eq!(read_u64(&s), Ok(1));
        assert_eq!(read_u64(&s), Ok(1));
        assert_eq!(read_u64(&s), Err(Errno::EAGAIN));
    }

    #[test]
    fn short_buffers_and_max_value_are_einval() {
        let f = new_eventfd(1, libc::O_NONBLOCK);
        let mut small = [0u8; 7];
        assert_eq!(f.read(&mut small), Err(Errno::EINVAL));
        assert_eq!(f.write(&[1u8; 7]), Err(Errno::EINVAL));
        assert_eq!(f.write(&u64::MAX.to_ne_bytes()), Err(Errno::EINVAL));
    }

    #[test]
    fn overflow_blocks_or_is_eagain() {
        let mut c = Counter {
            value: 1,
            ..Counter::default()
        };
        assert!(!c.add(EVENTFD_MAX));
        assert!(c.add(EVENTFD_MAX - 1));
        assert_eq!(c.value, EVENTFD_MAX);
        assert!(!c.add(1));
        assert!(c.add(0));

        let f = new_eventfd(0, libc::O_NONBLOCK);
        f.write(&EVENTFD_MAX.to_ne_bytes()).unwrap();
        assert_eq!(f.write(&1u64.to_ne_bytes()), Err(Errno::EAGAIN));
        assert_eq!(f.ops().readiness(u32::MAX) & libc::POLLOUT as u32, 0);
        assert_ne!(f.ops().readiness(u32::MAX) & libc::POLLIN as u32, 0);
    }

    #[test]
    fn blocked_reader_wakes_on_write() {
        let f = new_eventfd(0, 0);
        let f2 = f.clone();
        let t = std::thread::spawn(move || read_u64(&f2).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        f.write(&5u64.to_ne_bytes()).unwrap();
        assert_eq!(t.join().unwrap(), 5);
        assert_eq!(f.ops().readiness(u32::MAX) & libc::POLLIN as u32, 0);
    }
}
