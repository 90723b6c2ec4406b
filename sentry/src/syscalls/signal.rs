//! Signal dispositions, masks and the alternate stack. Recorded with Linux's
//! validation; invoking handlers comes with signal delivery.

use super::{SysResult, SyscallArgs};
use crate::kernel::{
    signal::{KernelSigaction, NSIG},
    Task,
};
use syscalls::Errno;

/// The only sigset size the kernel accepts on x86-64.
const SIGSET_SIZE: u64 = 8;
/// Bits of SIGKILL and SIGSTOP, which can never be blocked or caught.
const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));
/// Smallest alternate stack (`MINSIGSTKSZ`).
const MINSIGSTKSZ: u64 = 2048;
/// `SS_AUTODISARM`: disarm the alternate stack while a handler runs on it.
const SS_AUTODISARM: i32 = 1 << 31;

/// `rt_sigaction`.
pub fn sys_rt_sigaction(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let sig = args.i32(0);
    if args.u64(3) != SIGSET_SIZE || !(1..=NSIG as i32).contains(&sig) {
        return Err(Errno::EINVAL);
    }
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
    let old = task.signals.actions[slot];
    if oldact != 0 {
        task.mm.write_obj(oldact, &old)?;
    }
    if let Some(mut new) = new {
        new.mask &= !UNBLOCKABLE;
        task.signals.actions[slot] = new;
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
        task.signals.mask = match args.i32(0) {
            libc::SIG_BLOCK => old | new,
            libc::SIG_UNBLOCK => old & !new,
            libc::SIG_SETMASK => new,
            _ => return Err(Errno::EINVAL),
        } & !UNBLOCKABLE;
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
        let flags = word(8) as i32;
        Some((word(0), flags, word(16)))
    } else {
        None
    };
    if old_ss != 0 {
        let (sp, flags, size) = task.signals.altstack;
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&sp.to_ne_bytes());
        out.extend_from_slice(&(flags as u64).to_ne_bytes());
        out.extend_from_slice(&size.to_ne_bytes());
        task.mm.write(old_ss, &out)?;
    }
    if let Some((sp, flags, size)) = new {
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

/// Signals whose default action is to do nothing.
fn default_ignored(sig: i32) -> bool {
    matches!(sig, libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT)
}

/// Sends `sig` to the calling process itself (the only process so far).
/// Blocked, ignored and default-ignored signals are discarded; a signal
/// with the default action ends the process; a caught signal cannot be
/// delivered yet and gives ENOSYS rather than pretending.
fn signal_self(task: &mut Task, sig: i32) -> SysResult {
    if !(0..=NSIG as i32).contains(&sig) {
        return Err(Errno::EINVAL);
    }
    if sig == 0 {
        return Ok(0);
    }
    let action = task.signals.actions[(sig - 1) as usize];
    let blocked = task.signals.mask & (1 << (sig - 1)) != 0;
    if action.handler == 1 || (action.handler == 0 && default_ignored(sig)) {
        return Ok(0);
    }
    if blocked && sig != libc::SIGKILL && sig != libc::SIGSTOP {
        return Ok(0);
    }
    if action.handler == 0 {
        if matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
            return Err(Errno::ENOSYS);
        }
        task.exit_status = Some(crate::kernel::task::ExitStatus::Signaled {
            signal: sig,
            core: crate::kernel::signal::default_action_is_core(sig),
        });
        return Ok(0);
    }
    Err(Errno::ENOSYS)
}

/// `kill`: only the sandbox's own process exists; any other pid is ESRCH.
pub fn sys_kill(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let pid = args.i32(0);
    if pid == task.tgid || pid == 0 || pid == -1 || pid == -task.tgid {
        signal_self(task, args.i32(1))
    } else {
        if !(0..=NSIG as i32).contains(&args.i32(1)) {
            return Err(Errno::EINVAL);
        }
        Err(Errno::ESRCH)
    }
}

/// `tkill`.
pub fn sys_tkill(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let tid = args.i32(0);
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tid != task.tid {
        return Err(Errno::ESRCH);
    }
    signal_self(task, args.i32(1))
}

/// `tgkill`.
pub fn sys_tgkill(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (tgid, tid) = (args.i32(0), args.i32(1));
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    if tgid != task.tgid || tid != task.tid {
        return Err(Errno::ESRCH);
    }
    signal_self(task, args.i32(2))
}
