//! Per-thread and per-process housekeeping: arch_prctl, the tid address,
//! robust lists, limits, resource usage, prctl, randomness, exit.

use super::{SysResult, SyscallArgs};
use crate::kernel::{
    limits::{Limit, RLIM_NLIMITS},
    Task,
};
use crate::platform::ptrace::layout::TASK_SIZE;
use syscalls::{
    structs::{Rlimit, Rusage, Sysinfo},
    Errno, Pod,
};

const ARCH_SET_GS: i32 = 0x1001;
const ARCH_SET_FS: i32 = 0x1002;
const ARCH_GET_FS: i32 = 0x1003;
const ARCH_GET_GS: i32 = 0x1004;
/// Size of `struct robust_list_head`.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;
/// The most file descriptors a process may be allowed (`fs.nr_open`).
const NR_OPEN: u64 = 1 << 20;

/// `arch_prctl`: the FS and GS bases (TLS) live in the thread's registers.
pub fn sys_arch_prctl(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let addr = args.u64(1);
    match args.i32(0) {
        ARCH_SET_FS | ARCH_SET_GS if addr >= TASK_SIZE => Err(Errno::EPERM),
        ARCH_SET_FS => {
            task.thread.regs_mut().fs_base = addr;
            Ok(0)
        }
        ARCH_SET_GS => {
            task.thread.regs_mut().gs_base = addr;
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = task.thread.regs().fs_base;
            task.mm.write_obj(addr, &v)?;
            Ok(0)
        }
        ARCH_GET_GS => {
            let v = task.thread.regs().gs_base;
            task.mm.write_obj(addr, &v)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `set_tid_address`: remembered for CLONE_CHILD_CLEARTID semantics at exit.
pub fn sys_set_tid_address(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.clear_child_tid = args.u64(0);
    Ok(task.tid as u64)
}

/// `set_robust_list`.
pub fn sys_set_robust_list(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u64(1) != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    task.robust_list = (args.u64(0), args.u64(1));
    task.shared
        .robust_list
        .store(args.u64(0), std::sync::atomic::Ordering::SeqCst);
    Ok(0)
}

/// `get_robust_list` (own thread only for now).
pub fn sys_get_robust_list(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let pid = args.i32(0);
    if pid != 0 && pid != task.tid {
        return Err(Errno::ESRCH);
    }
    task.mm.write_obj(args.u64(1), &task.robust_list.0)?;
    task.mm.write_obj(args.u64(2), &task.robust_list.1)?;
    Ok(0)
}

/// `sched_yield`.
pub fn sys_sched_yield(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    std::thread::yield_now();
    Ok(0)
}

/// `sched_getaffinity`: the CPUs the sandbox may use (the sentry's own set).
pub fn sys_sched_getaffinity(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let pid = args.i32(0);
    if pid != 0 && pid != task.tid {
        return Err(if pid < 0 { Errno::EINVAL } else { Errno::ESRCH });
    }
    let len = args.usize(1);
    if !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let mut mask = vec![0u8; len.min(8192)];
    // SAFETY: the raw syscall writes at most `mask.len()` bytes into `mask`.
    let n = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, mask.len(), mask.as_mut_ptr()) };
    if n < 0 {
        return Err(Errno::last());
    }
    task.mm.write(args.u64(2), &mask[..n as usize])?;
    Ok(n as u64)
}

/// `getrandom`.
pub fn sys_getrandom(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.u32(2);
    let known = libc::GRND_NONBLOCK | libc::GRND_RANDOM | libc::GRND_INSECURE;
    if flags & !known != 0 || (flags & libc::GRND_RANDOM != 0 && flags & libc::GRND_INSECURE != 0) {
        return Err(Errno::EINVAL);
    }
    // Linux returns at most 32 MiB - 1 per call.
    let len = args.usize(1).min((32 << 20) - 1);
    let mut done = 0usize;
    let mut chunk = vec![0u8; len.min(1 << 16)];
    while done < len {
        let want = (len - done).min(chunk.len());
        // SAFETY: getrandom writes at most `want` bytes into `chunk`.
        let n = unsafe { libc::getrandom(chunk.as_mut_ptr().cast(), want, 0) };
        if n <= 0 {
            return Err(Errno::last());
        }
        let n = n as usize;
        match task.mm.write(args.u64(0) + done as u64, &chunk[..n]) {
            Ok(()) => done += n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done as u64)
}

/// `sysinfo`: host memory figures, the sandbox's own uptime and task count.
pub fn sys_sysinfo(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let mut info = Sysinfo::zeroed();
    // SAFETY: sysinfo writes one struct sysinfo into `info`.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return Err(Errno::last());
    }
    info.uptime = task.kernel.boot_time.elapsed().as_secs() as i64;
    info.procs = 1;
    task.mm.write_obj(args.u64(0), &info)?;
    Ok(0)
}

/// `umask`.
pub fn sys_umask(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let old = task.fs.umask;
    task.fs.umask = args.u32(0) & 0o777;
    Ok(old as u64)
}

/// Reads, checks and applies a new limit; returns the old one.
fn prlimit(task: &mut Task, resource: u32, new: Option<Rlimit>) -> Result<Limit, Errno> {
    if resource as usize >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let old = task.limits.get(resource).ok_or(Errno::EINVAL)?;
    if let Some(new) = new {
        if new.rlim_cur > new.rlim_max {
            return Err(Errno::EINVAL);
        }
        if new.rlim_max > old.max && !task.creds.has_cap(crate::kernel::caps::CAP_SYS_RESOURCE) {
            return Err(Errno::EPERM);
        }
        if resource == libc::RLIMIT_NOFILE && new.rlim_max > NR_OPEN {
            return Err(Errno::EPERM);
        }
        task.limits.0[resource as usize] = Limit {
            cur: new.rlim_cur,
            max: new.rlim_max,
        };
    }
    Ok(old)
}

/// `prlimit64` (own process only).
pub fn sys_prlimit64(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let pid = args.i32(0);
    if pid != 0 && pid != task.tgid {
        return Err(Errno::ESRCH);
    }
    let new = if args.u64(2) != 0 {
        Some(task.mm.read_obj::<Rlimit>(args.u64(2))?)
    } else {
        None
    };
    let old = prlimit(task, args.u32(1), new)?;
    if args.u64(3) != 0 {
        task.mm.write_obj(
            args.u64(3),
            &Rlimit {
                rlim_cur: old.cur,
                rlim_max: old.max,
            },
        )?;
    }
    Ok(0)
}

/// `getrlimit`.
pub fn sys_getrlimit(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let old = prlimit(task, args.u32(0), None)?;
    task.mm.write_obj(
        args.u64(1),
        &Rlimit {
            rlim_cur: old.cur,
            rlim_max: old.max,
        },
    )?;
    Ok(0)
}

/// `setrlimit`.
pub fn sys_setrlimit(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let new: Rlimit = task.mm.read_obj(args.u64(1))?;
    prlimit(task, args.u32(0), Some(new))?;
    Ok(0)
}

/// `getrusage`: CPU time of the stub (all counted as user time for now).
pub fn sys_getrusage(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let who = args.i32(0);
    let mut usage = Rusage::zeroed();
    match who {
        libc::RUSAGE_SELF | libc::RUSAGE_THREAD => {
            let mut ts = syscalls::structs::Timespec::zeroed();
            let clock = (!task.mm.stub_pid << 3) | 2;
            // SAFETY: clock_gettime writes one timespec into `ts`.
            if unsafe { libc::clock_gettime(clock, &mut ts) } == 0 {
                usage.ru_utime.tv_sec = ts.tv_sec;
                usage.ru_utime.tv_usec = ts.tv_nsec / 1000;
            }
        }
        libc::RUSAGE_CHILDREN => {}
        _ => return Err(Errno::EINVAL),
    }
    task.mm.write_obj(args.u64(1), &usage)?;
    Ok(0)
}

/// `prctl`: the options a single-process sandbox needs today.
pub fn sys_prctl(task: &mut Task, args: &SyscallArgs) -> SysResult {
    match args.i32(0) {
        libc::PR_SET_NAME => {
            let mut name = task.mm.read_cstring(args.u64(1), usize::MAX).or_else(|_| {
                // Names longer than 15 bytes are truncated, not refused.
                task.mm.read_vec(args.u64(1), 16)
            })?;
            name.truncate(15);
            if let Some(nul) = name.iter().position(|&b| b == 0) {
                name.truncate(nul);
            }
            task.comm = name;
            Ok(0)
        }
        libc::PR_GET_NAME => {
            let mut buf = [0u8; 16];
            for (d, s) in buf.iter_mut().zip(task.comm.iter().take(15)) {
                *d = *s;
            }
            task.mm.write(args.u64(1), &buf)?;
            Ok(0)
        }
        // Capabilities, securebits and no_new_privs (caps.rs).
        o if super::caps::PRCTL_OPTIONS.contains(&o) => super::caps::prctl(task, args),
        libc::PR_GET_DUMPABLE => Ok(1),
        libc::PR_SET_DUMPABLE => match args.u64(1) {
            0 | 1 => Ok(0),
            _ => Err(Errno::EINVAL),
        },
        libc::PR_SET_PDEATHSIG => {
            let sig = args.u64(1);
            if sig > 64 {
                return Err(Errno::EINVAL);
            }
            task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.pdeath_signal = sig as i32;
            Ok(0)
        }
        libc::PR_GET_PDEATHSIG => {
            let sig = task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.pdeath_signal;
            task.mm.write_obj(args.u64(1), &sig)?;
            Ok(0)
        }
        libc::PR_SET_CHILD_SUBREAPER => {
            task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.subreaper = args.u64(1) != 0;
            Ok(0)
        }
        libc::PR_GET_CHILD_SUBREAPER => {
            let on = task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.subreaper as i32;
            task.mm.write_obj(args.u64(1), &on)?;
            Ok(0)
        }
        libc::PR_GET_SECCOMP => Ok(0),
        libc::PR_SET_SECCOMP => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}
