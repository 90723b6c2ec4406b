//! timerfd: a file whose reads return how many times its timer expired.
//!
//! The timer itself is a [`Timer`] with [`Notify::Fd`]: the timer service
//! thread counts expirations and wakes the file's wait queue, so readers,
//! poll and epoll all sleep on that queue.
//!
//! `FileOps` has no downcast, so `timerfd_settime`/`timerfd_gettime` find
//! the timer behind a file through a registry keyed by the address of the
//! boxed [`TimerFd`] (stable while the file is open; removed on drop).

use crate::kernel::timers::{Notify, Timer, TimerClock};
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::inode::{next_ino, synthetic_stat};
use crate::vfs::{FileDescription, FileOps};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::structs::Stat;
use syscalls::Errno;

/// An open timerfd.
pub struct TimerFd {
    timer: Arc<Timer>,
    stat: Stat,
}

fn registry() -> MutexGuard<'static, HashMap<usize, Weak<Timer>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<usize, Weak<Timer>>>> = OnceLock::new();
    REGISTRY
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The clock a timerfd_create names (EINVAL for the others).
pub fn timerfd_clock(clock: i32) -> Result<TimerClock, Errno> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_ALARM => Ok(TimerClock::Realtime),
        libc::CLOCK_MONOTONIC => Ok(TimerClock::Monotonic),
        libc::CLOCK_BOOTTIME | libc::CLOCK_BOOTTIME_ALARM => Ok(TimerClock::Boottime),
        _ => Err(Errno::EINVAL),
    }
}

impl TimerFd {
    /// A new, disarmed timerfd on `clock` (boxed: its address is its key).
    pub fn new_boxed(clock: TimerClock) -> Box<TimerFd> {
        let fd = Box::new(TimerFd {
            timer: Timer::new(clock, Notify::Fd),
            stat: synthetic_stat(crate::fs::synthetic::anon_dev(), next_ino(), 0o600, 0),
        });
        let key = &*fd as *const TimerFd as usize;
        registry().insert(key, Arc::downgrade(&fd.timer));
        fd
    }

    /// The timer behind `file`, or EINVAL when it is not a timerfd.
    pub fn timer_of(file: &FileDescription) -> Result<Arc<Timer>, Errno> {
        let key = file.ops() as *const dyn FileOps as *const () as usize;
        registry().get(&key).and_then(Weak::upgrade).ok_or(Errno::EINVAL)
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        self.timer.disarm();
        registry().remove(&(self as *const TimerFd as usize));
    }
}

impl FileOps for TimerFd {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    /// Returns the expirations since the last read as a native-endian u64
    /// (EINVAL for buffers under 8 bytes; blocks or EAGAIN when there are none).
    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let ticks = if nonblock {
            self.timer.take_ticks().ok_or(Errno::EAGAIN)?
        } else {
            block_until(&[self.timer.queue()], None, || self.timer.take_ticks())?
        };
        buf[..8].copy_from_slice(&ticks.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, _buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.timer.has_ticks() {
            mask & (libc::POLLIN | libc::POLLRDNORM) as u32
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(self.timer.queue())
    }

    fn name(&self) -> Vec<u8> {
        b"anon_inode:[timerfd]".to_vec()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_count_expirations_and_registry_finds_the_timer() {
        let ops = TimerFd::new_boxed(TimerClock::Monotonic);
        let timer = ops.timer.clone();
        let file = FileDescription::new(ops, libc::O_RDWR, None);
        assert!(Arc::ptr_eq(&TimerFd::timer_of(&file).unwrap(), &timer));
        let mut buf = [0u8; 8];
        assert_eq!(file.ops().read(&mut buf, 0, true), Err(Errno::EAGAIN));
        assert_eq!(file.ops().read(&mut buf[..4], 0, true), Err(Errno::EINVAL));
        assert_eq!(file.ops().readiness(libc::POLLIN as u32), 0);
        timer.set(5_000_000, 0, false).unwrap();
        // Blocking read wakes at the expiry.
        assert_eq!(file.ops().read(&mut buf, 0, false), Ok(8));
        assert_eq!(u64::from_ne_bytes(buf), 1);
        assert_eq!(file.ops().read(&mut buf, 0, true), Err(Errno::EAGAIN));
        drop(file);
        assert!(registry()
            .values()
            .all(|w| !std::ptr::eq(w.as_ptr(), Arc::as_ptr(&timer))));
    }

    #[test]
    fn only_realtime_monotonic_boottime_clocks() {
        assert_eq!(timerfd_clock(libc::CLOCK_MONOTONIC), Ok(TimerClock::Monotonic));
        assert_eq!(timerfd_clock(libc::CLOCK_MONOTONIC_RAW), Err(Errno::EINVAL));
        assert_eq!(timerfd_clock(libc::CLOCK_PROCESS_CPUTIME_ID), Err(Errno::EINVAL));
    }
}
