//! I/O multiplexing: poll, ppoll, select, pselect6 and the epoll calls.
//!
//! Every wait sleeps on the wait queues of all the files involved (an epoll
//! instance contributes the files it watches). Files without a wait queue
//! (host stdio) change readiness without telling anyone, so while one is
//! involved the wait re-checks every [`HOST_POLL_INTERVAL`].
//!
//! Interrupted by a signal, poll/ppoll/select/pselect6 return
//! `ERESTARTNOHAND`: the run loop turns it into EINTR when a handler runs
//! and restarts the call otherwise (select's timeout has been written back
//! by then). The epoll waits return EINTR directly, as Linux does.

use super::{SysResult, SyscallArgs};
use crate::fs::epoll::{self, epoll_of, new_epoll};
use crate::kernel::wait::{block_until, WaitQueue};
use crate::kernel::Task;
use crate::vfs::FileRef;
use std::time::{Duration, Instant};
use syscalls::structs::{Timespec, Timeval};
use syscalls::Errno;

/// How often a wait involving files without a wait queue re-checks them.
pub const HOST_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// select's read set: what counts as readable.
const POLLIN_SET: u32 = (libc::POLLRDNORM | libc::POLLRDBAND | libc::POLLIN | libc::POLLHUP | libc::POLLERR) as u32;
/// select's write set.
const POLLOUT_SET: u32 = (libc::POLLWRBAND | libc::POLLWRNORM | libc::POLLOUT | libc::POLLERR) as u32;
/// select's exception set.
const POLLEX_SET: u32 = libc::POLLPRI as u32;
/// Reported by poll whether asked for or not.
const ALWAYS: u32 = (libc::POLLERR | libc::POLLHUP) as u32;

/// Size of a packed `struct epoll_event`.
const EPOLL_EVENT_SIZE: usize = 12;

/// Sleeps until `check` returns `Some` (`Ok(Some)`), `deadline` passes
/// (`Ok(None)`) or a signal is pending (`ERESTARTSYS`), on the wait queues
/// of `files` and everything they watch.
fn wait_ready<T>(
    files: &[FileRef],
    deadline: Option<Instant>,
    mut check: impl FnMut() -> Option<T>,
) -> Result<Option<T>, Errno> {
    let mut targets = Vec::new();
    for f in files {
        epoll::wait_files(f, &mut targets);
    }
    let queues: Vec<&WaitQueue> = targets.iter().filter_map(|f| f.ops().wait_queue()).collect();
    let tick = targets.iter().any(|f| f.ops().wait_queue().is_none());
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(check());
        }
        let until = match (tick, deadline) {
            (false, d) => d,
            (true, None) => Some(now + HOST_POLL_INTERVAL),
            (true, Some(d)) => Some(d.min(now + HOST_POLL_INTERVAL)),
        };
        match block_until(&queues, until, &mut check) {
            Ok(v) => return Ok(Some(v)),
            Err(e) if e == Errno::ETIMEDOUT => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A deadline `d` from now; `None` (forever) if it overflows.
fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

/// Reads a relative timeout timespec (EINVAL when invalid).
fn read_timeout_timespec(task: &Task, addr: u64) -> Result<Duration, Errno> {
    let ts: Timespec = task.mm.read_obj(addr)?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The time left until `deadline` (zero once past).
fn time_left(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::ZERO, |d| d.saturating_duration_since(Instant::now()))
}

/// Runs `f` with the signal mask at `mask_addr` (if any) in force, as
/// ppoll, pselect6 and epoll_pwait do. When `f` was interrupted the old mask
/// comes back only after the signal's handler frame is set up (the run loop
/// restores `saved_mask`), so a signal the temporary mask let in is handled.
fn with_sigmask<T>(
    task: &mut Task,
    mask_addr: u64,
    size: u64,
    f: impl FnOnce(&mut Task) -> Result<T, Errno>,
) -> Result<T, Errno> {
    if mask_addr == 0 {
        return f(task);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new: u64 = task.mm.read_obj(mask_addr)?;
    let old = task.sigmask();
    task.set_sigmask(new);
    let r = f(task);
    match &r {
        Err(e) if *e == Errno::ERESTARTNOHAND || *e == Errno::EINTR => task.saved_mask = Some(old),
        _ => task.set_sigmask(old),
    }
    r
}

/// A file as poll sees it: `None` when the fd is not open (or `O_PATH`).
fn pollable(task: &Task, fd: i32) -> Option<FileRef> {
    task.fds.get(fd).ok().filter(|f| !f.is_path_only())
}

/// The ready events of `file` among `events` (plus POLLERR/POLLHUP).
fn revents(file: &FileRef, events: u32) -> u32 {
    let mask = events | ALWAYS;
    file.ops().readiness(mask) & mask
}

/// The common part of poll and ppoll.
fn do_poll(task: &Task, addr: u64, nfds: u64, deadline: Option<Instant>) -> SysResult {
    if nfds > task.limits.nofile() {
        return Err(Errno::EINVAL);
    }
    let n = nfds as usize;
    let mut raw = task.mm.read_vec(addr, n * 8)?;
    let entries: Vec<(i32, u32)> = raw
        .chunks_exact(8)
        .map(|c| {
            let fd = i32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
            let events = u16::from_ne_bytes([c[4], c[5]]) as u32;
            (fd, events)
        })
        .collect();
    // (file, events); fd < 0 is ignored, a closed fd reports POLLNVAL.
    let polled: Vec<Option<Option<FileRef>>> = entries
        .iter()
        .map(|&(fd, _)| (fd >= 0).then(|| pollable(task, fd)))
        .collect();
    let scan = || {
        let mut count = 0;
        let out: Vec<u32> = polled
            .iter()
            .zip(&entries)
            .map(|(p, &(_, events))| {
                let r = match p {
                    None => 0,
                    Some(None) => libc::POLLNVAL as u32,
                    Some(Some(f)) => revents(f, events),
                };
                if r != 0 {
                    count += 1;
                }
                r
            })
            .collect();
        (count > 0).then_some((count, out))
    };
    let files: Vec<FileRef> = polled.iter().flatten().flatten().cloned().collect();
    let result = wait_ready(&files, deadline, scan);
    let (count, out) = match result {
        Ok(Some(v)) => v,
        Ok(None) => (0, vec![0; n]),
        Err(e) if e == Errno::ERESTARTSYS => return Err(Errno::ERESTARTNOHAND),
        Err(e) => return Err(e),
    };
    for (c, r) in raw.chunks_exact_mut(8).zip(&out) {
        c[6..8].copy_from_slice(&(*r as u16).to_ne_bytes());
    }
    task.mm.write(addr, &raw)?;
    Ok(count as u64)
}

/// `poll(fds, nfds, timeout_ms)`: a negative timeout waits forever.
pub fn sys_poll(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let timeout = args.i32(2);
    let deadline = if timeout < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(timeout as u64))
    };
    do_poll(task, args.u64(0), args.u64(1), deadline)
}

/// `ppoll(fds, nfds, timeout_ts, sigmask, sigsetsize)`; the time left is
/// written back to the timespec.
pub fn sys_ppoll(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let ts_addr = args.u64(2);
    let timeout = if ts_addr == 0 {
        None
    } else {
        Some(read_timeout_timespec(task, ts_addr)?)
    };
    let deadline = timeout.and_then(deadline_after);
    let r = with_sigmask(task, args.u64(3), args.u64(4), |t| {
        do_poll(t, args.u64(0), args.u64(1), deadline)
    });
    if timeout.is_some_and(|d| !d.is_zero()) && deadline.is_some() {
        let left = time_left(deadline);
        let ts = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let _ = task.mm.write_obj(ts_addr, &ts);
    }
    r
}

/// How many fds select looks at: `nfds` capped at the size of the fd table
/// (Linux caps at the table's capacity: at least 64, a power of two).
fn select_limit(task: &Task, nfds: i32) -> Result<usize, Errno> {
    let n = usize::try_from(nfds).map_err(|_| Errno::EINVAL)?;
    let highest = task.fds.fds().into_iter().max().unwrap_or(0).max(0) as usize;
    let capacity = if highest < 64 {
        64
    } else {
        (highest + 1).next_power_of_two().max(128)
    };
    Ok(n.min(capacity))
}

/// Reads an fd_set of `n` bits (all zero when `addr` is NULL).
fn read_fdset(task: &Task, addr: u64, n: usize) -> Result<Vec<u64>, Errno> {
    let words = n.div_ceil(64);
    if addr == 0 {
        return Ok(vec![0; words]);
    }
    let raw = task.mm.read_vec(addr, words * 8)?;
    let mut set: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    if !n.is_multiple_of(64) {
        if let Some(last) = set.last_mut() {
            *last &= (1u64 << (n % 64)) - 1;
        }
    }
    Ok(set)
}

fn write_fdset(task: &Task, addr: u64, set: &[u64]) -> Result<(), Errno> {
    if addr == 0 {
        return Ok(());
    }
    let raw: Vec<u8> = set.iter().flat_map(|w| w.to_ne_bytes()).collect();
    task.mm.write(addr, &raw)
}

fn bit(set: &[u64], fd: usize) -> bool {
    set[fd / 64] & (1 << (fd % 64)) != 0
}

/// The common part of select and pselect6.
fn do_select(task: &Task, nfds: i32, addrs: [u64; 3], deadline: Option<Instant>) -> SysResult {
    let n = select_limit(task, nfds)?;
    let sets = [
        read_fdset(task, addrs[0], n)?,
        read_fdset(task, addrs[1], n)?,
        read_fdset(task, addrs[2], n)?,
    ];
    // (fd, file, wanted mask, in/out/ex asked)
    let mut polled = Vec::new();
    for fd in 0..n {
        let asked = [bit(&sets[0], fd), bit(&sets[1], fd), bit(&sets[2], fd)];
        if asked == [false; 3] {
            continue;
        }
        let file = pollable(task, fd as i32).ok_or(Errno::EBADF)?;
        let mut mask = POLLEX_SET;
        if asked[0] {
            mask |= POLLIN_SET;
        }
        if asked[1] {
            mask |= POLLOUT_SET;
        }
        polled.push((fd, file, mask, asked));
    }
    let words = n.div_ceil(64);
    let scan = || {
        let mut out = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
        let mut count = 0u64;
        for (fd, file, mask, asked) in &polled {
            let r = revents(file, *mask);
            for (i, set) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET].iter().enumerate() {
                if asked[i] && r & set != 0 {
                    out[i][fd / 64] |= 1 << (fd % 64);
                    count += 1;
                }
            }
        }
        (count > 0).then_some((count, out))
    };
    let files: Vec<FileRef> = polled.iter().map(|p| p.1.clone()).collect();
    let (count, out) = match wait_ready(&files, deadline, scan) {
        Ok(Some(v)) => v,
        Ok(None) => (0, [vec![0; words], vec![0; words], vec![0; words]]),
        Err(e) if e == Errno::ERESTARTSYS => return Err(Errno::ERESTARTNOHAND),
        Err(e) => return Err(e),
    };
    for (addr, set) in addrs.iter().zip(&out) {
        write_fdset(task, *addr, set)?;
    }
    Ok(count)
}

/// `select(nfds, readfds, writefds, exceptfds, timeout_tv)`; the time left
/// is written back to the timeval.
pub fn sys_select(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let tv_addr = args.u64(4);
    let timeout = if tv_addr == 0 {
        None
    } else {
        let tv: Timeval = task.mm.read_obj(tv_addr)?;
        if tv.tv_sec < 0 || tv.tv_usec < 0 {
            return Err(Errno::EINVAL);
        }
        let secs = (tv.tv_sec as u64).saturating_add(tv.tv_usec as u64 / 1_000_000);
        Some(Duration::new(secs, (tv.tv_usec % 1_000_000) as u32 * 1000))
    };
    let deadline = timeout.and_then(deadline_after);
    let r = do_select(task, args.i32(0), [args.u64(1), args.u64(2), args.u64(3)], deadline);
    if timeout.is_some_and(|d| !d.is_zero()) && deadline.is_some() {
        let left = time_left(deadline);
        let tv = Timeval {
            tv_sec: left.as_secs() as i64,
            tv_usec: i64::from(left.subsec_micros()),
        };
        let _ = task.mm.write_obj(tv_addr, &tv);
    }
    r
}

/// `pselect6(nfds, readfds, writefds, exceptfds, timeout_ts, {sigmask, size})`.
pub fn sys_pselect6(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let ts_addr = args.u64(4);
    let timeout = if ts_addr == 0 {
        None
    } else {
        Some(read_timeout_timespec(task, ts_addr)?)
    };
    let (mask_addr, mask_size) = if args.u64(5) == 0 {
        (0, 0)
    } else {
        let pair: [u64; 2] = task.mm.read_obj(args.u64(5))?;
        (pair[0], pair[1])
    };
    let deadline = timeout.and_then(deadline_after);
    let addrs = [args.u64(1), args.u64(2), args.u64(3)];
    let r = with_sigmask(task, mask_addr, mask_size, |t| {
        do_select(t, args.i32(0), addrs, deadline)
    });
    if timeout.is_some_and(|d| !d.is_zero()) && deadline.is_some() {
        let left = time_left(deadline);
        let ts = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let _ = task.mm.write_obj(ts_addr, &ts);
    }
    r
}

fn install_epoll(task: &mut Task, cloexec: bool) -> SysResult {
    let fd = task.fds.insert(new_epoll(), cloexec, 0, task.limits.nofile())?;
    Ok(fd as u64)
}

/// `epoll_create(size)`: size must be positive and is otherwise ignored.
pub fn sys_epoll_create(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.i32(0) <= 0 {
        return Err(Errno::EINVAL);
    }
    install_epoll(task, false)
}

/// `epoll_create1(flags)`: EPOLL_CLOEXEC only.
pub fn sys_epoll_create1(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.i32(0);
    if flags & !libc::EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    install_epoll(task, flags != 0)
}

/// `epoll_ctl(epfd, op, fd, event)`.
pub fn sys_epoll_ctl(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (epfd, op, fd, ev_addr) = (args.i32(0), args.i32(1), args.i32(2), args.u64(3));
    let (events, data) = if op == libc::EPOLL_CTL_DEL {
        (0, 0)
    } else {
        let mut raw = [0u8; EPOLL_EVENT_SIZE];
        task.mm.read(ev_addr, &mut raw)?;
        let events = u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let mut d = [0u8; 8];
        d.copy_from_slice(&raw[4..12]);
        (events, u64::from_ne_bytes(d))
    };
    let file = pollable(task, epfd).ok_or(Errno::EBADF)?;
    let target = pollable(task, fd).ok_or(Errno::EBADF)?;
    // Regular files and directories cannot be polled (they are always ready).
    let fmt = target.stat()?.st_mode & libc::S_IFMT;
    if fmt == libc::S_IFREG || fmt == libc::S_IFDIR {
        return Err(Errno::EPERM);
    }
    if std::sync::Arc::ptr_eq(&file, &target) {
        return Err(Errno::EINVAL);
    }
    epoll_of(&file)?.ctl(op, fd, &target, events, data)?;
    Ok(0)
}

/// The common part of the epoll waits.
fn do_epoll_wait(task: &Task, epfd: i32, addr: u64, maxevents: i32, deadline: Option<Instant>) -> SysResult {
    if maxevents <= 0 || maxevents as usize > i32::MAX as usize / EPOLL_EVENT_SIZE {
        return Err(Errno::EINVAL);
    }
    let file = pollable(task, epfd).ok_or(Errno::EBADF)?;
    let ep = epoll_of(&file)?;
    let max = maxevents as usize;
    let events = loop {
        let generation = ep.generation();
        let check = || {
            let ev = ep.collect(max);
            if !ev.is_empty() {
                Some(Some(ev))
            } else if ep.generation() != generation {
                // The interest list changed: rebuild the queues to sleep on.
                Some(None)
            } else {
                None
            }
        };
        match wait_ready(std::slice::from_ref(&file), deadline, check) {
            Ok(Some(Some(ev))) => break ev,
            Ok(Some(None)) => continue,
            Ok(None) => break Vec::new(),
            Err(e) if e == Errno::ERESTARTSYS => return Err(Errno::EINTR),
            Err(e) => return Err(e),
        }
    };
    let mut raw = Vec::with_capacity(events.len() * EPOLL_EVENT_SIZE);
    for (ev, data) in &events {
        raw.extend_from_slice(&ev.to_ne_bytes());
        raw.extend_from_slice(&data.to_ne_bytes());
    }
    task.mm.write(addr, &raw)?;
    Ok(events.len() as u64)
}

/// A millisecond timeout (negative: forever).
fn ms_deadline(ms: i32) -> Option<Instant> {
    if ms < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(ms as u64))
    }
}

/// `epoll_wait(epfd, events, maxevents, timeout_ms)`.
pub fn sys_epoll_wait(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_epoll_wait(task, args.i32(0), args.u64(1), args.i32(2), ms_deadline(args.i32(3)))
}

/// `epoll_pwait(epfd, events, maxevents, timeout_ms, sigmask, sigsetsize)`.
pub fn sys_epoll_pwait(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let deadline = ms_deadline(args.i32(3));
    with_sigmask(task, args.u64(4), args.u64(5), |t| {
        do_epoll_wait(t, args.i32(0), args.u64(1), args.i32(2), deadline)
    })
}

/// `epoll_pwait2(epfd, events, maxevents, timeout_ts, sigmask, sigsetsize)`.
pub fn sys_epoll_pwait2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let deadline = if args.u64(3) == 0 {
        None
    } else {
        deadline_after(read_timeout_timespec(task, args.u64(3))?)
    };
    with_sigmask(task, args.u64(4), args.u64(5), |t| {
        do_epoll_wait(t, args.i32(0), args.u64(1), args.i32(2), deadline)
    })
}
