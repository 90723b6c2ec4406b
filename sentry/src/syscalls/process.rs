//! Processes: clone, fork, vfork, execve, exit, wait, process groups and sessions.

use super::{SysResult, SyscallArgs};
use crate::kernel::exit::{wait_child, WaitFor, WaitOptions};
use crate::kernel::fork::{do_clone, CloneArgs};
use crate::kernel::task::ExitStatus;
use crate::kernel::Task;
use syscalls::{structs::Rusage, Errno, Pod};

/// Most bytes of argv + envp strings execve accepts (a quarter of 8 MiB).
const ARG_MAX: usize = 2 << 20;
const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;

/// `clone(flags, stack, parent_tid, child_tid, tls)` (x86-64 argument order).
pub fn sys_clone(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.u64(0);
    let clone = CloneArgs {
        flags: flags & !0xff,
        exit_signal: (flags & 0xff) as i32,
        stack: args.u64(1),
        parent_tid: args.u64(2),
        child_tid: args.u64(3),
        tls: args.u64(4),
    };
    if clone.exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    Ok(do_clone(task, clone)? as u64)
}

/// `fork`.
pub fn sys_fork(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(do_clone(
        task,
        CloneArgs {
            exit_signal: libc::SIGCHLD,
            ..CloneArgs::default()
        },
    )? as u64)
}

/// `vfork`: the parent sleeps until the child execs or exits.
pub fn sys_vfork(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    let args = CloneArgs {
        flags: CLONE_VM | CLONE_VFORK,
        exit_signal: libc::SIGCHLD,
        ..CloneArgs::default()
    };
    Ok(do_clone(task, args)? as u64)
}

fn execve_common(task: &mut Task, dirfd: i32, path_addr: u64, argv: u64, envp: u64, flags: i32) -> SysResult {
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut path = task.mm.read_cstring(path_addr, libc::PATH_MAX as usize - 1)?;
    if path.is_empty() {
        if flags & libc::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        // fexecve: run the file open at dirfd, by its path in the sandbox.
        path = task.fds.get(dirfd)?.path();
    } else if path[0] != b'/' && dirfd != libc::AT_FDCWD {
        let dir = task.fds.get(dirfd)?.path();
        let mut full = dir;
        full.push(b'/');
        full.extend_from_slice(&path);
        path = full;
    }
    let argv = task.mm.read_string_array(argv, ARG_MAX)?;
    let envp = task.mm.read_string_array(envp, ARG_MAX)?;
    crate::kernel::exec::do_execve(task, &path, argv, envp)?;
    Ok(0)
}

/// `execve`.
pub fn sys_execve(task: &mut Task, args: &SyscallArgs) -> SysResult {
    execve_common(task, libc::AT_FDCWD, args.u64(0), args.u64(1), args.u64(2), 0)
}

/// `execveat`.
pub fn sys_execveat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    execve_common(task, args.i32(0), args.u64(1), args.u64(2), args.u64(3), args.i32(4))
}

/// `exit`: this thread only (the process ends with its last thread).
pub fn sys_exit(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.exit_status = Some(ExitStatus::Exited(args.i32(0) & 0xff));
    Ok(0)
}

/// `exit_group`: every thread of the process.
pub fn sys_exit_group(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let status = ExitStatus::Exited(args.i32(0) & 0xff);
    task.exit_status = Some(status);
    crate::kernel::exit::kill_group(&task.shared.tg, status);
    Ok(0)
}

fn who_from_pid(task: &Task, pid: i32) -> Result<WaitFor, Errno> {
    Ok(match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Pgid(task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.pgid),
        p if p < -1 => WaitFor::Pgid(-p),
        p => WaitFor::Pid(p),
    })
}

/// `wait4(pid, status, options, rusage)`.
pub fn sys_wait4(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let options = args.i32(2);
    let known = libc::WNOHANG | libc::WUNTRACED | libc::WCONTINUED | libc::__WALL | libc::__WCLONE | libc::__WNOTHREAD;
    if options & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let opts = WaitOptions {
        who: who_from_pid(task, args.i32(0))?,
        exited: true,
        stopped: options & libc::WUNTRACED != 0,
        continued: options & libc::WCONTINUED != 0,
        nohang: options & libc::WNOHANG != 0,
        nowait: false,
        all_kinds: options & libc::__WALL != 0,
        clone_only: options & libc::__WCLONE != 0,
    };
    match wait_child(task, opts)? {
        None => Ok(0),
        Some(r) => {
            if args.u64(1) != 0 {
                task.mm.write_obj(args.u64(1), &r.status)?;
            }
            if args.u64(3) != 0 {
                task.mm.write_obj(args.u64(3), &Rusage::zeroed())?;
            }
            Ok(r.pid as u64)
        }
    }
}

/// `waitid(idtype, id, infop, options, rusage)`.
pub fn sys_waitid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let options = args.i32(3);
    let known = libc::WNOHANG
        | libc::WSTOPPED
        | libc::WCONTINUED
        | libc::WEXITED
        | libc::WNOWAIT
        | libc::__WALL
        | libc::__WCLONE
        | libc::__WNOTHREAD;
    if options & !known != 0 || options & (libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let id = args.i32(1);
    let who = match args.u32(0) {
        libc::P_ALL => WaitFor::Any,
        libc::P_PID if id > 0 => WaitFor::Pid(id),
        libc::P_PGID if id >= 0 => WaitFor::Pgid(if id == 0 {
            task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.pgid
        } else {
            id
        }),
        _ => return Err(Errno::EINVAL),
    };
    let opts = WaitOptions {
        who,
        exited: options & libc::WEXITED != 0,
        stopped: options & libc::WSTOPPED != 0,
        continued: options & libc::WCONTINUED != 0,
        nohang: options & libc::WNOHANG != 0,
        nowait: options & libc::WNOWAIT != 0,
        all_kinds: options & libc::__WALL != 0,
        clone_only: options & libc::__WCLONE != 0,
    };
    let result = wait_child(task, opts)?;
    if args.u64(2) != 0 {
        let mut info = [0u8; 128];
        if let Some(r) = result {
            info[0..4].copy_from_slice(&libc::SIGCHLD.to_ne_bytes());
            info[8..12].copy_from_slice(&r.code.to_ne_bytes());
            info[16..20].copy_from_slice(&r.pid.to_ne_bytes());
            info[20..24].copy_from_slice(&r.uid.to_ne_bytes());
            info[24..28].copy_from_slice(&r.si_status.to_ne_bytes());
        }
        task.mm.write(args.u64(2), &info)?;
    }
    if args.u64(4) != 0 {
        task.mm.write_obj(args.u64(4), &Rusage::zeroed())?;
    }
    Ok(0)
}

/// `setpgid(pid, pgid)`.
pub fn sys_setpgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (pid, pgid) = (args.i32(0), args.i32(1));
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let kernel = task.kernel.clone();
    let target_pid = if pid == 0 { task.tgid } else { pid };
    let target = kernel.group(target_pid).ok_or(Errno::ESRCH)?;
    let my_sid = task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.sid;
    let pgid = if pgid == 0 { target_pid } else { pgid };
    {
        let st = target.state.lock().map_err(|_| Errno::EIO)?;
        if target_pid != task.tgid {
            if st.parent != task.tgid {
                return Err(Errno::ESRCH);
            }
            if st.did_exec {
                return Err(Errno::EACCES);
            }
        }
        if st.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if st.sid == target_pid {
            return Err(Errno::EPERM);
        }
    }
    if pgid != target_pid {
        let exists = kernel.groups().iter().any(|g| {
            g.state
                .lock()
                .map(|s| s.pgid == pgid && s.sid == my_sid)
                .unwrap_or(false)
        });
        if !exists {
            return Err(Errno::EPERM);
        }
    }
    target.state.lock().map_err(|_| Errno::EIO)?.pgid = pgid;
    Ok(0)
}

/// `getpgid(pid)`.
pub fn sys_getpgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let pid = args.i32(0);
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    let tg = if pid == 0 {
        task.shared.tg.clone()
    } else {
        task.kernel.group(pid).ok_or(Errno::ESRCH)?
    };
    let pgid = tg.state.lock().map_err(|_| Errno::EIO)?.pgid;
    Ok(pgid as u64)
}

/// `getpgrp`.
pub fn sys_getpgrp(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.shared.tg.state.lock().map_err(|_| Errno::EIO)?.pgid as u64)
}

/// `getsid(pid)`.
pub fn sys_getsid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let pid = args.i32(0);
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    let tg = if pid == 0 {
        task.shared.tg.clone()
    } else {
        task.kernel.group(pid).ok_or(Errno::ESRCH)?
    };
    let sid = tg.state.lock().map_err(|_| Errno::EIO)?.sid;
    Ok(sid as u64)
}

/// `setsid`: EPERM for a process group leader.
pub fn sys_setsid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    let me = task.tgid;
    let in_use = task
        .kernel
        .groups()
        .iter()
        .any(|g| g.state.lock().map(|s| s.pgid == me).unwrap_or(false));
    if in_use {
        return Err(Errno::EPERM);
    }
    let mut st = task.shared.tg.state.lock().map_err(|_| Errno::EIO)?;
    st.sid = me;
    st.pgid = me;
    drop(st);
    crate::kernel::session::on_setsid(me);
    Ok(me as u64)
}

/// `getppid`.
pub fn sys_getppid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.ppid() as u64)
}
