//! Clocks and sleeps. Most clock reads never trap: the stub keeps the host
//! vDSO. These handlers serve the calls that do trap.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use std::time::{Duration, Instant};
use syscalls::{
    structs::{Timespec, Timeval},
    Errno, Pod,
};

/// Clocks the guest may name.
fn host_clock(task: &Task, clock: i32) -> Result<libc::clockid_t, Errno> {
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

/// Reads and validates a guest timespec as a duration.
fn read_timespec(task: &Task, addr: u64) -> Result<Timespec, Errno> {
    let ts: Timespec = task.mm.read_obj(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

fn to_duration(ts: &Timespec) -> Duration {
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `nanosleep`.
pub fn sys_nanosleep(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let ts = read_timespec(task, args.u64(0))?;
    std::thread::sleep(to_duration(&ts));
    Ok(0)
}

/// `clock_nanosleep` (relative or TIMER_ABSTIME).
pub fn sys_clock_nanosleep(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let clock = args.i32(0);
    if matches!(clock, libc::CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EINVAL);
    }
    let host = host_clock(task, clock)?;
    let flags = args.i32(1);
    let ts = read_timespec(task, args.u64(2))?;
    if flags & libc::TIMER_ABSTIME != 0 {
        let start = Instant::now();
        let cur = now(host)?;
        let target = to_duration(&ts);
        let current = Duration::new(cur.tv_sec.max(0) as u64, cur.tv_nsec as u32);
        if let Some(left) = target.checked_sub(current) {
            std::thread::sleep(left.saturating_sub(start.elapsed()));
        }
    } else {
        std::thread::sleep(to_duration(&ts));
    }
    Ok(0)
}
