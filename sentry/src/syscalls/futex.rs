//! Futexes: the wait queues live in `kernel::futex`.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use std::time::{Duration, Instant};
use syscalls::{structs::Timespec, Errno, Pod};

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_WAKE_OP: i32 = 5;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

fn deadline(task: &Task, addr: u64, absolute: bool, realtime: bool) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: Timespec = task.mm.read_obj(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    let d = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    if !absolute {
        return Ok(Some(Instant::now() + d));
    }
    let mut now = Timespec::zeroed();
    let clock = if realtime {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    // SAFETY: clock_gettime writes one timespec into `now`.
    unsafe { libc::clock_gettime(clock, &mut now) };
    let now = Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec as u32);
    Ok(Some(Instant::now() + d.saturating_sub(now)))
}

/// `futex`.
pub fn sys_futex(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (uaddr, op, val) = (args.u64(0), args.i32(1), args.u32(2));
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if uaddr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let futexes = &task.kernel.futexes;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT { u32::MAX } else { args.u32(5) };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let when = deadline(
                task,
                args.u64(3),
                cmd == FUTEX_WAIT_BITSET,
                op & FUTEX_CLOCK_REALTIME != 0,
            )?;
            futexes.wait(&task.mm, uaddr, private, val, bitset, when)?;
            Ok(0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE { u32::MAX } else { args.u32(5) };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(futexes.wake(&task.mm, uaddr, private, val, bitset) as u64)
        }
        FUTEX_REQUEUE => futexes.requeue(&task.mm, (uaddr, args.u64(4), private), val, args.u32(3), None),
        FUTEX_CMP_REQUEUE => futexes.requeue(
            &task.mm,
            (uaddr, args.u64(4), private),
            val,
            args.u32(3),
            Some(args.u32(5)),
        ),
        FUTEX_WAKE_OP => futexes.wake_op(&task.mm, (uaddr, args.u64(4), private), val, args.u32(3), args.u32(5)),
        _ => Err(Errno::ENOSYS),
    }
}
