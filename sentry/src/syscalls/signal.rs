//! Signals: dispositions, masks, the alternate stack, sending, waiting and
//! returning from handlers. Generation and delivery live in `kernel::signal`
//! and the run loop.

use super::{SysResult, SyscallArgs};
use crate::kernel::signal::{
    bit, send_to_group, send_to_thread, KernelSigaction, SigInfo, NSIG, SIG_DFL, SI_TKILL, SI_USER, UNBLOCKABLE,
};
use crate::kernel::wait::block_until;
use crate::kernel::Task;
use std::time::{Duration, Instant};
use syscalls::{structs::Timespec, Errno};

/// The only sigset size the kernel accepts on x86-64.
const SIGSET_SIZE: u64 = 8;
/// Smallest alternate stack (`MINSIGSTKSZ`).
const MINSIGSTKSZ: u64 = 2048;
/// `SS_AUTODISARM`: disarm the alternate stack while a handler runs on it.
const SS_AUTODISARM: i32 = 1 << 31;

fn valid_signal(sig: i32) -> Result<(), Errno> {
    if (1..=NSIG as i32).contains(&sig) {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// `rt_sigaction`.
pub fn sys_rt_sigaction(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let sig = args.i32(0);
    if args.u64(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    valid_signal(sig)?;
    let (act, oldact) = (args.u64(1), args.u64(2));
    if act != 0 && (sig == libc::SIGKILL || sig == libc::SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        Some(task.mm.read_obj::<KernelSigaction>(act)?)
    } else {
        None
    };
    let slot = (sig - 1) as usize;
    let old = {
        let mut handlers = task.shared.tg.handlers.lock().map_err(|_| Errno::EIO)?;
        let old = handlers[slot];
        if let Some(mut new) = new {
            new.mask &= !UNBLOCKABLE;
            handlers[slot] = new;
        }
        old
    };
    if oldact != 0 {
        task.mm.write_obj(oldact, &old)?;
    }
    if let Some(new) = new {
        // Setting a signal to be ignored discards it if pending (POSIX).
        let ignored = new.handler == 1
            || (new.handler == SIG_DFL && matches!(sig, libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH));
        if ignored {
            if let Ok(mut p) = task.shared.pending.lock() {
                p.discard(bit(sig));
            }
            if let Ok(mut s) = task.shared.tg.state.lock() {
                s.pending.discard(bit(sig));
            }
        }
    }
    Ok(0)
}

/// `rt_sigprocmask`.
pub fn sys_rt_sigprocmask(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let (set, oldset) = (args.u64(1), args.u64(2));
    let new = if set != 0 {
        Some(task.mm.read_obj::<u64>(set)?)
    } else {
        None
    };
    let old = task.signals.mask;
    if let Some(new) = new {
        let mask = match args.i32(0) {
            libc::SIG_BLOCK => old | new,
            libc::SIG_UNBLOCK => old & !new,
            libc::SIG_SETMASK => new,
            _ => return Err(Errno::EINVAL),
        };
        task.set_sigmask(mask);
    }
    if oldset != 0 {
        task.mm.write_obj(oldset, &old)?;
    }
    Ok(0)
}

/// `sigaltstack`.
pub fn sys_sigaltstack(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (ss, old_ss) = (args.u64(0), args.u64(1));
    let new = if ss != 0 {
        let raw = task.mm.read_vec(ss, 24)?;
        let word = |i: usize| u64::from_ne_bytes(raw[i..i + 8].try_into().unwrap_or([0; 8]));
        Some((word(0), word(8) as i32, word(16)))
    } else {
        None
    };
    let (sp, flags, size) = task.signals.altstack;
    let rsp = task.thread.regs().rsp;
    let on_stack = flags & libc::SS_DISABLE == 0 && rsp > sp && rsp <= sp.wrapping_add(size);
    if old_ss != 0 {
        let shown = if on_stack { libc::SS_ONSTACK } else { flags };
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&sp.to_ne_bytes());
        out.extend_from_slice(&(shown as u32 as u64).to_ne_bytes());
        out.extend_from_slice(&size.to_ne_bytes());
        task.mm.write(old_ss, &out)?;
    }
    if let Some((sp, flags, size)) = new {
        if on_stack {
            return Err(Errno::EPERM);
        }
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != libc::SS_DISABLE && mode != libc::SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if mode == libc::SS_DISABLE {
            task.signals.altstack = (0, libc::SS_DISABLE, 0);
        } else {
            if size < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            task.signals.altstack = (sp, flags & SS_AUTODISARM, size);
        }
    }
    Ok(0)
}

/// Whether `task` may send `sig` to the process `tgid` (Linux's
/// `check_kill_permission`): its own process, a process whose real or
/// saved uid is the sender's real or effective uid, SIGCONT within the
/// session, or CAP_KILL.
fn may_signal(task: &Task, tgid: i32, sig: i32) -> bool {
    if tgid == task.tgid || task.creds.has_cap(crate::kernel::caps::CAP_KILL) {
        return true;
    }
    let target = task
        .kernel
        .task(tgid)
        .map(|t| t.proc.snapshot().creds)
        .or_else(|| crate::fs::proc::view::leader_leftover(tgid).map(|(_, c)| c));
    let Some(t) = target else {
        return true;
    };
    let c = &task.creds;
    if [c.euid, c.ruid].iter().any(|u| *u == t.suid || *u == t.ruid) {
        return true;
    }
    sig == libc::SIGCONT && {
        let sid = |g: i32| task.kernel.group(g).and_then(|g| g.state.lock().ok().map(|s| s.sid));
        sid(tgid).is_some() && sid(tgid) == sid(task.tgid)
    }
}

/// The init of the sandbox ignores signals from inside it that it has no
/// handler for, SIGKILL and SIGSTOP included (Linux's SIGNAL_UNKILLABLE).
fn init_ignores(tgid: i32, task: &Task, sig: i32) -> bool {
    if tgid != 1 || sig == 0 {
        return false;
    }
    // Blocked signals are never ignored at generation (the handler may
    // change before they are unblocked); delivery applies the rule then.
    let blocked = task
        .kernel
        .task(1)
        .map(|t| t.mask.load(std::sync::atomic::Ordering::SeqCst) & bit(sig) != 0)
        .unwrap_or(false);
    !blocked
        && task
            .kernel
            .group(1)
            .map(|g| g.action(sig).handler == SIG_DFL)
            .unwrap_or(false)
}

fn user_info(task: &Task, sig: i32, code: i32) -> SigInfo {
    SigInfo {
        signo: sig,
        code,
        pid: task.tgid,
        uid: task.creds.ruid,
        ..SigInfo::default()
    }
}

/// `kill`.
pub fn sys_kill(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (pid, sig) = (args.i32(0), args.i32(1));
    if sig != 0 {
        valid_signal(sig)?;
    }
    let kernel = task.kernel.clone();
    let my_pgid = task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.pgid;
    let targets: Vec<_> = match pid {
        p if p > 0 => vec![kernel.group(p).ok_or(Errno::ESRCH)?],
        0 | i32::MIN..=-2 => {
            let pgid = if pid == 0 { my_pgid } else { -pid };
            kernel.process_group(pgid)
        }
        _ => kernel
            .groups()
            .into_iter()
            .filter(|g| g.tgid != 1 && g.state.lock().map(|s| s.zombie.is_none()).unwrap_or(false))
            .collect(),
    };
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let total = targets.len();
    let targets: Vec<_> = targets.into_iter().filter(|g| may_signal(task, g.tgid, sig)).collect();
    if targets.is_empty() || (pid > 0 && targets.len() < total) {
        return Err(Errno::EPERM);
    }
    if sig == 0 {
        return Ok(0);
    }
    for tg in targets {
        if init_ignores(tg.tgid, task, sig) || tg.state.lock().map(|s| s.zombie.is_some()).unwrap_or(true) {
            continue;
        }
        send_to_group(&kernel, &tg, user_info(task, sig, SI_USER));
    }
    Ok(0)
}

fn thread_kill(task: &mut Task, tgid: Option<i32>, tid: i32, sig: i32) -> SysResult {
    if tid <= 0 || tgid.is_some_and(|t| t <= 0) {
        return Err(Errno::EINVAL);
    }
    if sig != 0 {
        valid_signal(sig)?;
    }
    let target = task.kernel.task(tid).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|t| t != target.tg.tgid) {
        return Err(Errno::ESRCH);
    }
    if !may_signal(task, target.tg.tgid, sig) {
        return Err(Errno::EPERM);
    }
    if sig == 0 || init_ignores(target.tg.tgid, task, sig) {
        return Ok(0);
    }
    send_to_thread(&target, user_info(task, sig, SI_TKILL));
    Ok(0)
}

/// `tkill`.
pub fn sys_tkill(task: &mut Task, args: &SyscallArgs) -> SysResult {
    thread_kill(task, None, args.i32(0), args.i32(1))
}

/// `tgkill`.
pub fn sys_tgkill(task: &mut Task, args: &SyscallArgs) -> SysResult {
    thread_kill(task, Some(args.i32(0)), args.i32(1), args.i32(2))
}

fn read_queued_info(task: &Task, addr: u64, sig: i32, to_self: bool) -> Result<SigInfo, Errno> {
    let raw = task.mm.read_vec(addr, 128)?;
    let word = |i: usize| i32::from_ne_bytes(raw[i..i + 4].try_into().unwrap_or([0; 4]));
    let code = word(8);
    if (code >= 0 || code == SI_TKILL) && !to_self {
        return Err(Errno::EPERM);
    }
    let value = u64::from_ne_bytes(raw[24..32].try_into().unwrap_or([0; 8]));
    Ok(SigInfo {
        signo: sig,
        code,
        errno: word(4),
        pid: word(16),
        uid: word(20) as u32,
        addr_or_value: value,
        ..SigInfo::default()
    })
}

/// `rt_sigqueueinfo`.
pub fn sys_rt_sigqueueinfo(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (pid, sig) = (args.i32(0), args.i32(1));
    valid_signal(sig)?;
    let info = read_queued_info(task, args.u64(2), sig, pid == task.tgid)?;
    let tg = task.kernel.group(pid).ok_or(Errno::ESRCH)?;
    if !init_ignores(pid, task, sig) {
        send_to_group(&task.kernel, &tg, info);
    }
    Ok(0)
}

/// `rt_tgsigqueueinfo`.
pub fn sys_rt_tgsigqueueinfo(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (tgid, tid, sig) = (args.i32(0), args.i32(1), args.i32(2));
    valid_signal(sig)?;
    let info = read_queued_info(task, args.u64(3), sig, tgid == task.tgid)?;
    let target = task.kernel.task(tid).ok_or(Errno::ESRCH)?;
    if target.tg.tgid != tgid {
        return Err(Errno::ESRCH);
    }
    send_to_thread(&target, info);
    Ok(0)
}

/// `pause`: sleeps until a signal is delivered; returns EINTR after a handler.
pub fn sys_pause(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    match block_until::<()>(&[], None, || None) {
        Err(_) => Err(Errno::ERESTARTNOHAND),
        Ok(()) => Ok(0),
    }
}

/// `rt_sigsuspend`: waits with a temporary mask, restored after the handler.
pub fn sys_rt_sigsuspend(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(1) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = task.mm.read_obj(args.u64(0))?;
    task.saved_mask = Some(task.signals.mask);
    task.set_sigmask(mask);
    let _ = block_until::<()>(&[], None, || None);
    Err(Errno::ERESTARTNOHAND)
}

/// `rt_sigpending`: pending signals that are blocked.
pub fn sys_rt_sigpending(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(1) > SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let own = task.shared.pending.lock().map(|p| p.set).unwrap_or(0);
    let group = task.shared.tg.state.lock().map(|s| s.pending.set).unwrap_or(0);
    let set = (own | group) & task.signals.mask;
    task.mm.write(args.u64(0), &set.to_ne_bytes()[..args.usize(1)])?;
    Ok(0)
}

fn take_from(task: &Task, set: u64) -> Option<SigInfo> {
    let blocked = !set;
    let own = task.shared.pending.lock().ok()?.dequeue(blocked);
    let mut info = match own {
        Some(i) => i,
        None => task.shared.tg.state.lock().ok()?.pending.dequeue(blocked)?,
    };
    crate::kernel::signal::on_dequeue(task.tgid, &mut info);
    Some(info)
}

/// `rt_sigtimedwait`: takes a pending signal of `set` (normally blocked).
pub fn sys_rt_sigtimedwait(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(3) != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let set: u64 = task.mm.read_obj::<u64>(args.u64(0))? & !UNBLOCKABLE;
    let deadline = if args.u64(2) != 0 {
        let ts: Timespec = task.mm.read_obj(args.u64(2))?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    } else {
        None
    };
    let original = task.signals.mask;
    let info = match take_from(task, set) {
        Some(i) => Ok(i),
        None => {
            // While waiting, the signals of `set` count as unblocked.
            task.set_sigmask(original & !set);
            let r = block_until::<()>(&[], deadline, || None);
            let found = take_from(task, set);
            task.set_sigmask(original);
            match (found, r) {
                (Some(i), _) => Ok(i),
                (None, Err(e)) if e == Errno::ETIMEDOUT => Err(Errno::EAGAIN),
                (None, _) => Err(Errno::ERESTARTNOHAND),
            }
        }
    }?;
    if args.u64(1) != 0 {
        let bytes = crate::kernel::sigframe::encode_siginfo(&info);
        task.mm.write(args.u64(1), &bytes)?;
    }
    Ok(info.signo as u64)
}

/// `rt_sigreturn`: restores the context saved by the signal frame.
pub fn sys_rt_sigreturn(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    let regs = *task.thread.regs();
    let mm = task.mm.clone();
    let read = move |addr: u64, len: usize| mm.read_vec(addr, len);
    let restored = match crate::kernel::sigframe::parse_sigreturn(&read, regs.rsp, &regs) {
        Ok(r) => r,
        Err(_) => {
            crate::kernel::exit::kill_group(
                &task.shared.tg,
                crate::kernel::task::ExitStatus::Signaled {
                    signal: libc::SIGSEGV,
                    core: true,
                },
            );
            return Ok(0);
        }
    };
    match &restored.fpstate {
        Some(fp) => crate::platform::ptrace::fpu::set_fpstate(task.thread.tid, fp)?,
        None => task.thread.reset_fpu().map_err(Errno::from)?,
    }
    *task.thread.regs_mut() = restored.regs;
    task.signals.altstack =
        crate::kernel::sigframe::altstack_after_sigreturn(task.signals.altstack, restored.altstack, restored.regs.rsp);
    task.set_sigmask(restored.mask);
    Ok(restored.regs.rax)
}

/// `signalfd4(fd, mask, sizemask, flags)`.
pub fn sys_signalfd4(task: &mut Task, args: &SyscallArgs) -> SysResult {
    signalfd(task, args.i32(0), args.u64(1), args.u64(2), args.i32(3))
}

/// `signalfd(fd, mask, sizemask)`.
pub fn sys_signalfd(task: &mut Task, args: &SyscallArgs) -> SysResult {
    signalfd(task, args.i32(0), args.u64(1), args.u64(2), 0)
}

fn signalfd(task: &mut Task, fd: i32, mask_addr: u64, size: u64, flags: i32) -> SysResult {
    use crate::fs::signalfd::SignalFd;
    if size != SIGSET_SIZE || flags & !(libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = task.mm.read_obj(mask_addr)?;
    if fd != -1 {
        let file = task.fds.get(fd)?;
        let sfd = file
            .ops()
            .as_any()
            .and_then(|a| a.downcast_ref::<SignalFd>())
            .ok_or(Errno::EINVAL)?;
        sfd.set_mask(mask);
        return Ok(fd as u64);
    }
    let status = libc::O_RDWR
        | if flags & libc::SFD_NONBLOCK != 0 {
            libc::O_NONBLOCK
        } else {
            0
        };
    let file = crate::vfs::FileDescription::new(Box::new(SignalFd::new(mask)), status, None);
    let fd = task
        .fds
        .insert(file, flags & libc::SFD_CLOEXEC != 0, 0, task.limits.nofile())?;
    Ok(fd as u64)
}
