//! Futexes. With one thread per sandbox for now there is never another
//! waiter: WAKE wakes nobody, WAIT returns EAGAIN on a value mismatch and
//! otherwise sleeps until its timeout (forever without one, as Linux would
//! for a waiter nobody wakes). Real wait queues come with threads.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use std::time::Duration;
use syscalls::{structs::Timespec, Errno};

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_CMD_MASK: i32 = !(128 | 256); // ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)

/// `futex`.
pub fn sys_futex(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (uaddr, op, val) = (args.u64(0), args.i32(1), args.u32(2));
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    match op & FUTEX_CMD_MASK {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if op & FUTEX_CMD_MASK == FUTEX_WAIT_BITSET && args.u32(5) == 0 {
                return Err(Errno::EINVAL);
            }
            let current: u32 = task.mm.read_obj(uaddr)?;
            if current != val {
                return Err(Errno::EAGAIN);
            }
            let timeout = if args.u64(3) != 0 {
                Some(task.mm.read_obj::<Timespec>(args.u64(3))?)
            } else {
                None
            };
            match timeout {
                Some(ts) => {
                    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
                        return Err(Errno::EINVAL);
                    }
                    // FUTEX_WAIT's timeout is relative; WAIT_BITSET's absolute.
                    let relative = if op & FUTEX_CMD_MASK == FUTEX_WAIT {
                        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
                    } else {
                        let clock = if op & 256 != 0 {
                            libc::CLOCK_REALTIME
                        } else {
                            libc::CLOCK_MONOTONIC
                        };
                        let mut now = syscalls::Pod::zeroed();
                        // SAFETY: clock_gettime writes one timespec into `now`.
                        unsafe { libc::clock_gettime(clock, &mut now) };
                        let target = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                        let now: Timespec = now;
                        target.saturating_sub(Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec as u32))
                    };
                    std::thread::sleep(relative);
                    Err(Errno::ETIMEDOUT)
                }
                None => loop {
                    // Nobody can ever wake this waiter.
                    std::thread::sleep(Duration::from_secs(3600));
                },
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if op & FUTEX_CMD_MASK == FUTEX_WAKE_BITSET && args.u32(5) == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        FUTEX_REQUEUE => Ok(0),
        FUTEX_CMP_REQUEUE => {
            let current: u32 = task.mm.read_obj(uaddr)?;
            if current != args.u32(5) {
                return Err(Errno::EAGAIN);
            }
            Ok(0)
        }
        FUTEX_WAKE_OP => Err(Errno::ENOSYS),
        _ => Err(Errno::ENOSYS),
    }
}
