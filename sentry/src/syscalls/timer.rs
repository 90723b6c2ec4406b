//! Timer syscalls: alarm, getitimer/setitimer, POSIX timers (timer_*),
//! timerfd_*, and restart_syscall for interrupted sleeps. The timers
//! themselves live in `kernel::timers`.

use super::time::{host_clock, sleep_restartable};
use super::{SysResult, SyscallArgs};
use crate::fs::timerfd::{timerfd_clock, TimerFd};
use crate::kernel::signal::{SigInfo, SignalTarget};
use crate::kernel::timers::{self, Notify, TimerClock, TimerSpec, NSEC_PER_SEC, SI_TIMER};
use crate::kernel::Task;
use crate::vfs::FileDescription;
use syscalls::structs::{Timespec, Timeval};
use syscalls::{Errno, Pod};

/// `struct itimerval`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Itimerval {
    interval: Timeval,
    value: Timeval,
}

// SAFETY: repr(C), two timevals (four i64), every bit pattern valid.
unsafe impl Pod for Itimerval {}

/// `struct itimerspec`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Itimerspec {
    interval: Timespec,
    value: Timespec,
}

// SAFETY: repr(C), two timespecs (four i64), every bit pattern valid.
unsafe impl Pod for Itimerspec {}

/// The part of `struct sigevent` (64 bytes on x86-64) the kernel reads.
#[repr(C)]
#[derive(Clone, Copy)]
struct Sigevent {
    value: u64,
    signo: i32,
    notify: i32,
    thread_id: i32,
    pad: [i32; 11],
}

// SAFETY: repr(C), integer fields only, 64 bytes without padding.
unsafe impl Pod for Sigevent {}

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
/// Highest signal number (SIGRTMAX).
const SIGRTMAX: i32 = 64;
/// `TFD_TIMER_ABSTIME`.
const TFD_TIMER_ABSTIME: i32 = 1;
/// `TFD_TIMER_CANCEL_ON_SET` (accepted; the sandbox's clock is never set).
const TFD_TIMER_CANCEL_ON_SET: i32 = 2;

fn ns_to_timeval(ns: u64) -> Timeval {
    Timeval {
        tv_sec: (ns / NSEC_PER_SEC) as i64,
        tv_usec: ((ns % NSEC_PER_SEC) / 1000) as i64,
    }
}

/// A timeval as nanoseconds; EINVAL unless `0 <= usec < 1e6` and `sec >= 0`.
fn timeval_to_ns(tv: &Timeval) -> Result<u64, Errno> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    let secs = tv.tv_sec as u64;
    Ok(secs
        .saturating_mul(NSEC_PER_SEC)
        .saturating_add(tv.tv_usec as u64 * 1000))
}

fn spec_to_itimerval(s: TimerSpec) -> Itimerval {
    Itimerval {
        interval: ns_to_timeval(s.interval),
        value: ns_to_timeval(s.value),
    }
}

fn spec_to_itimerspec(s: TimerSpec) -> Itimerspec {
    Itimerspec {
        interval: timers::ns_to_timespec(s.interval),
        value: timers::ns_to_timespec(s.value),
    }
}

/// The process CPU clock the CPU itimers and CPU POSIX timers poll.
fn cpu_clock(task: &Task) -> Result<libc::clockid_t, Errno> {
    host_clock(task, libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// `getitimer`.
pub fn sys_getitimer(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let spec = timers::itimer_get(task.tgid, args.i32(0), cpu_clock(task)?)?;
    task.mm.write_obj(args.u64(1), &spec_to_itimerval(spec))?;
    Ok(0)
}

/// `setitimer` (a NULL new value disarms, as Linux tolerates).
pub fn sys_setitimer(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (value, interval) = if args.u64(1) != 0 {
        let new: Itimerval = task.mm.read_obj(args.u64(1))?;
        (timeval_to_ns(&new.value)?, timeval_to_ns(&new.interval)?)
    } else {
        (0, 0)
    };
    let old = timers::itimer_set(task.tgid, args.i32(0), cpu_clock(task)?, value, interval)?;
    if args.u64(2) != 0 {
        task.mm.write_obj(args.u64(2), &spec_to_itimerval(old))?;
    }
    Ok(0)
}

/// Seconds left of an old alarm as alarm(2) reports them: rounded to the
/// nearest second, and at least 1 while any time is left.
fn alarm_seconds(left: u64) -> u64 {
    let secs = left / NSEC_PER_SEC;
    let usec = (left % NSEC_PER_SEC) / 1000;
    if (secs == 0 && usec != 0) || usec >= 500_000 {
        secs + 1
    } else {
        secs
    }
}

/// `alarm`: ITIMER_REAL in whole seconds; returns the seconds left of the old one.
pub fn sys_alarm(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let secs = u64::from(args.u32(0).min(i32::MAX as u32));
    let old = timers::itimer_set(task.tgid, libc::ITIMER_REAL, cpu_clock(task)?, secs * NSEC_PER_SEC, 0)?;
    Ok(alarm_seconds(old.value))
}

/// The clock a timer_create names: EINVAL for unknown clocks, EOPNOTSUPP
/// for clocks without timers; CPU clocks are the process's (approximated
/// by the stub's, also for the thread CPU clock).
fn posix_clock(task: &Task, clock: i32) -> Result<TimerClock, Errno> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_ALARM => Ok(TimerClock::Realtime),
        libc::CLOCK_MONOTONIC => Ok(TimerClock::Monotonic),
        libc::CLOCK_BOOTTIME | libc::CLOCK_BOOTTIME_ALARM => Ok(TimerClock::Boottime),
        libc::CLOCK_TAI => Ok(TimerClock::Tai),
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => Ok(TimerClock::Cpu(cpu_clock(task)?)),
        libc::CLOCK_MONOTONIC_RAW | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => Err(Errno::ENOTSUP),
        _ => Err(Errno::EINVAL),
    }
}

/// How a validated sigevent notifies: the target and signal, or nothing.
/// `None` for the sigevent means SIGEV_SIGNAL with SIGALRM and the timer id
/// as the value.
fn sigevent_notify(task: &Task, ev: Option<&Sigevent>) -> Result<Option<(SignalTarget, i32, Option<u64>)>, Errno> {
    let Some(ev) = ev else {
        return Ok(Some((SignalTarget::Process(task.tgid), libc::SIGALRM, None)));
    };
    let target = match ev.notify {
        SIGEV_NONE => return Ok(None),
        SIGEV_SIGNAL | SIGEV_THREAD => SignalTarget::Process(task.tgid),
        // The thread must belong to the caller's thread group; without a
        // task registry here, the caller's own tid and any positive tid are
        // accepted (the signal layer drops signals for unknown threads).
        n if n == SIGEV_SIGNAL | SIGEV_THREAD_ID => {
            if ev.thread_id <= 0 {
                return Err(Errno::EINVAL);
            }
            SignalTarget::Thread(ev.thread_id)
        }
        _ => return Err(Errno::EINVAL),
    };
    if !(1..=SIGRTMAX).contains(&ev.signo) {
        return Err(Errno::EINVAL);
    }
    Ok(Some((target, ev.signo, Some(ev.value))))
}

/// `timer_create`.
pub fn sys_timer_create(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let ev: Option<Sigevent> = match args.u64(1) {
        0 => None,
        addr => Some(task.mm.read_obj(addr)?),
    };
    let clock = posix_clock(task, args.i32(0))?;
    let how = sigevent_notify(task, ev.as_ref())?;
    let tgid = task.tgid;
    let id = timers::posix_create(tgid, clock, |id| match how {
        None => Notify::None,
        Some((target, signo, value)) => Notify::Signal {
            target,
            info: SigInfo {
                signo,
                code: SI_TIMER,
                timer_id: id,
                addr_or_value: value.unwrap_or(id as u64),
                ..SigInfo::default()
            },
            posix: true,
        },
    })?;
    if let Err(e) = task.mm.write_obj(args.u64(2), &id) {
        let _ = timers::posix_delete(tgid, id);
        return Err(e);
    }
    Ok(0)
}

/// Reads and validates a guest itimerspec as (value, interval) nanoseconds.
fn read_itimerspec(task: &Task, addr: u64) -> Result<(u64, u64), Errno> {
    let spec: Itimerspec = task.mm.read_obj(addr)?;
    if !timers::timespec_valid(&spec.value) || !timers::timespec_valid(&spec.interval) {
        return Err(Errno::EINVAL);
    }
    Ok((
        timers::timespec_to_ns(&spec.value),
        timers::timespec_to_ns(&spec.interval),
    ))
}

/// `timer_settime` (relative or TIMER_ABSTIME).
pub fn sys_timer_settime(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(2) == 0 {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = read_itimerspec(task, args.u64(2))?;
    let timer = timers::posix_timer(task.tgid, args.i32(0))?;
    let absolute = args.i32(1) & libc::TIMER_ABSTIME != 0;
    let old = timer.set(value, interval, absolute)?;
    if args.u64(3) != 0 {
        task.mm.write_obj(args.u64(3), &spec_to_itimerspec(old))?;
    }
    Ok(0)
}

/// `timer_gettime`.
pub fn sys_timer_gettime(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let spec = timers::posix_timer(task.tgid, args.i32(0))?.get()?;
    task.mm.write_obj(args.u64(1), &spec_to_itimerspec(spec))?;
    Ok(0)
}

/// `timer_getoverrun`: the overrun of the last delivered signal.
pub fn sys_timer_getoverrun(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let timer = timers::posix_timer(task.tgid, args.i32(0))?;
    Ok(timer.overrun() as u64)
}

/// `timer_delete`.
pub fn sys_timer_delete(task: &mut Task, args: &SyscallArgs) -> SysResult {
    timers::posix_delete(task.tgid, args.i32(0))?;
    Ok(0)
}

/// `timerfd_create`.
pub fn sys_timerfd_create(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.i32(1);
    if flags & !(libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let clock = timerfd_clock(args.i32(0))?;
    let file = FileDescription::new(
        TimerFd::new_boxed(clock),
        libc::O_RDWR | (flags & libc::O_NONBLOCK),
        None,
    );
    let fd = task
        .fds
        .insert(file, flags & libc::TFD_CLOEXEC != 0, 0, task.limits.nofile())?;
    Ok(fd as u64)
}

/// `timerfd_settime` (TFD_TIMER_ABSTIME; TFD_TIMER_CANCEL_ON_SET accepted).
pub fn sys_timerfd_settime(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.i32(1);
    let (value, interval) = read_itimerspec(task, args.u64(2))?;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(args.i32(0))?;
    let timer = TimerFd::timer_of(&file)?;
    let old = timer.set(value, interval, flags & TFD_TIMER_ABSTIME != 0)?;
    if args.u64(3) != 0 {
        task.mm.write_obj(args.u64(3), &spec_to_itimerspec(old))?;
    }
    Ok(0)
}

/// `timerfd_gettime`.
pub fn sys_timerfd_gettime(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let spec = TimerFd::timer_of(&file)?.get()?;
    task.mm.write_obj(args.u64(1), &spec_to_itimerspec(spec))?;
    Ok(0)
}

/// `restart_syscall`: resumes the sleep recorded in the task's restart
/// block (EINTR when there is none, as Linux's `do_no_restart_syscall`).
pub fn sys_restart_syscall(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    match timers::take_restart_block() {
        Some(block) => sleep_restartable(task, block),
        None => Err(Errno::EINTR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_rounds_old_value_like_linux() {
        assert_eq!(alarm_seconds(0), 0);
        assert_eq!(alarm_seconds(300_000_000), 1);
        assert_eq!(alarm_seconds(1_600_000_000), 2);
        assert_eq!(alarm_seconds(1_400_000_000), 1);
        assert_eq!(alarm_seconds(5 * NSEC_PER_SEC), 5);
        assert_eq!(alarm_seconds(999), 0);
    }

    #[test]
    fn timeval_validation() {
        let ok = Timeval {
            tv_sec: 1,
            tv_usec: 999_999,
        };
        assert_eq!(timeval_to_ns(&ok), Ok(1_999_999_000));
        let bad = Timeval {
            tv_sec: 0,
            tv_usec: 1_000_000,
        };
        assert_eq!(timeval_to_ns(&bad), Err(Errno::EINVAL));
        let neg = Timeval { tv_sec: -1, tv_usec: 0 };
        assert_eq!(timeval_to_ns(&neg), Err(Errno::EINVAL));
        let tv = ns_to_timeval(2_500_000_999);
        assert_eq!((tv.tv_sec, tv.tv_usec), (2, 500_000));
    }

    #[test]
    fn guest_struct_sizes_match_the_abi() {
        assert_eq!(std::mem::size_of::<Sigevent>(), 64);
        assert_eq!(std::mem::size_of::<Itimerspec>(), 32);
        assert_eq!(std::mem::size_of::<Itimerval>(), 32);
    }
}
