//! Clocks and sleeps. Most clock reads never trap: the stub keeps the host
//! vDSO. These handlers serve the calls that do trap.

use super::{SysResult, SyscallArgs};
use crate::kernel::timers::{self, RestartBlock, TimerClock};
use crate::kernel::Task;
use syscalls::{
    structs::{Timespec, Timeval},
    Errno, Pod,
};

/// Clocks the guest may name.
pub fn host_clock(task: &Task, clock: i32) -> Result<libc::clockid_t, Errno> {
    match clock {
        libc::CLOCK_REALTIME
        | libc::CLOCK_MONOTONIC
        | libc::CLOCK_MONOTONIC_RAW
        | libc::CLOCK_REALTIME_COARSE
        | libc::CLOCK_MONOTONIC_COARSE
        | libc::CLOCK_BOOTTIME
        | libc::CLOCK_TAI
        | libc::CLOCK_REALTIME_ALARM
        | libc::CLOCK_BOOTTIME_ALARM => Ok(clock),
        // The guest's CPU clocks are the stub process's CPU clock
        // (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)).
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => Ok((!task.mm.stub_pid << 3) | 2),
        _ => Err(Errno::EINVAL),
    }
}

fn now(clock: libc::clockid_t) -> Result<Timespec, Errno> {
    let mut ts = Timespec::zeroed();
    // SAFETY: clock_gettime writes one timespec into `ts`.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    Ok(ts)
}

/// `clock_gettime`.
pub fn sys_clock_gettime(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let ts = now(host_clock(task, args.i32(0))?)?;
    task.mm.write_obj(args.u64(1), &ts)?;
    Ok(0)
}

/// `clock_getres`.
pub fn sys_clock_getres(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let clock = host_clock(task, args.i32(0))?;
    let mut ts = Timespec::zeroed();
    // SAFETY: clock_getres writes one timespec into `ts`.
    if unsafe { libc::clock_getres(clock, &mut ts) } != 0 {
        return Err(Errno::last());
    }
    if args.u64(1) != 0 {
        task.mm.write_obj(args.u64(1), &ts)?;
    }
    Ok(0)
}

/// `gettimeofday` (the timezone, if asked for, is UTC).
pub fn sys_gettimeofday(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(0) != 0 {
        let ts = now(libc::CLOCK_REALTIME)?;
        let tv = Timeval {
            tv_sec: ts.tv_sec,
            tv_usec: ts.tv_nsec / 1000,
        };
        task.mm.write_obj(args.u64(0), &tv)?;
    }
    if args.u64(1) != 0 {
        task.mm.write(args.u64(1), &[0u8; 8])?;
    }
    Ok(0)
}

/// `time`.
pub fn sys_time(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let secs = now(libc::CLOCK_REALTIME)?.tv_sec;
    if args.u64(0) != 0 {
        task.mm.write_obj(args.u64(0), &secs)?;
    }
    Ok(secs as u64)
}

/// Reads and validates a guest timespec (EFAULT, then EINVAL).
fn read_timespec(task: &Task, addr: u64) -> Result<Timespec, Errno> {
    let ts: Timespec = task.mm.read_obj(addr)?;
    if !timers::timespec_valid(&ts) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

/// Sleeps until `block.deadline`. When a signal interrupts the sleep, the
/// time left goes to `rem` and the restart block is recorded for
/// restart_syscall (`ERESTART_RESTARTBLOCK`); a sleep that is over by then
/// succeeds, as on Linux.
pub fn sleep_restartable(task: &mut Task, block: RestartBlock) -> SysResult {
    match timers::sleep_until_clock(block.clock, block.deadline) {
        Ok(()) => Ok(0),
        Err(e) if e == Errno::ERESTARTSYS => {
            let left = block.deadline.saturating_sub(block.clock.now_ns()?);
            if left == 0 {
                return Ok(0);
            }
            if block.rem_addr != 0 {
                task.mm.write_obj(block.rem_addr, &timers::ns_to_timespec(left))?;
            }
            timers::set_restart_block(block);
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
        Err(e) => Err(e),
    }
}

/// `nanosleep` (CLOCK_MONOTONIC; interruptible, restartable).
pub fn sys_nanosleep(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let ts = read_timespec(task, args.u64(0))?;
    let clock = TimerClock::Monotonic;
    let deadline = clock.now_ns()?.saturating_add(timers::timespec_to_ns(&ts));
    sleep_restartable(
        task,
        RestartBlock {
            clock,
            deadline,
            rem_addr: args.u64(1),
        },
    )
}

/// The clock a clock_nanosleep names (EINVAL for unknown clocks and the
/// thread CPU clock, EOPNOTSUPP for clocks that cannot sleep).
fn sleep_clock(task: &Task, clock: i32) -> Result<TimerClock, Errno> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_ALARM => Ok(TimerClock::Realtime),
        libc::CLOCK_MONOTONIC => Ok(TimerClock::Monotonic),
        libc::CLOCK_BOOTTIME | libc::CLOCK_BOOTTIME_ALARM => Ok(TimerClock::Boottime),
        libc::CLOCK_TAI => Ok(TimerClock::Tai),
        libc::CLOCK_PROCESS_CPUTIME_ID => Ok(TimerClock::Cpu(host_clock(task, clock)?)),
        libc::CLOCK_MONOTONIC_RAW | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => Err(Errno::ENOTSUP),
        _ => Err(Errno::EINVAL),
    }
}

/// `clock_nanosleep`: relative sleeps restart through restart_syscall with
/// the time left in `rem`; TIMER_ABSTIME sleeps restart with the same
/// arguments unless a handler ran (`ERESTARTNOHAND`).
pub fn sys_clock_nanosleep(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let clock = sleep_clock(task, args.i32(0))?;
    let flags = args.i32(1);
    let ts = read_timespec(task, args.u64(2))?;
    if flags & libc::TIMER_ABSTIME != 0 {
        return match timers::sleep_until_clock(clock, timers::timespec_to_ns(&ts)) {
            Err(e) if e == Errno::ERESTARTSYS => Err(Errno::ERESTARTNOHAND),
            other => other.map(|()| 0),
        };
    }
    let deadline = clock.now_ns()?.saturating_add(timers::timespec_to_ns(&ts));
    sleep_restartable(
        task,
        RestartBlock {
            clock,
            deadline,
            rem_addr: args.u64(3),
        },
    )
}
