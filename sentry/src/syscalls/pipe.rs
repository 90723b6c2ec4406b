//! pipe, pipe2, eventfd and eventfd2: creating the in-sentry channel files
//! (their semantics live in `fs::pipe` and `fs::eventfd`).

use super::{SysResult, SyscallArgs};
use crate::fs::{eventfd, pipe};
use crate::kernel::Task;
use syscalls::Errno;

/// `O_NOTIFICATION_PIPE` (accepted by pipe2 only for watch queues; refused here).
const PIPE2_FLAGS: i32 = libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT;

fn do_pipe(task: &mut Task, addr: u64, flags: i32) -> SysResult {
    if flags & !PIPE2_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let (r, w) = pipe::new_pipe(flags, task.creds.euid, task.creds.egid);
    let limit = task.limits.nofile();
    let rfd = task.fds.insert(r, cloexec, 0, limit)?;
    let wfd = match task.fds.insert(w, cloexec, 0, limit) {
        Ok(fd) => fd,
        Err(e) => {
            drop(task.fds.remove(rfd));
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&rfd.to_ne_bytes());
    out[4..].copy_from_slice(&wfd.to_ne_bytes());
    if let Err(e) = task.mm.write(addr, &out) {
        drop(task.fds.remove(rfd));
        drop(task.fds.remove(wfd));
        return Err(e);
    }
    Ok(0)
}

/// `pipe(fds)`.
pub fn sys_pipe(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_pipe(task, args.u64(0), 0)
}

/// `pipe2(fds, flags)`: O_CLOEXEC, O_NONBLOCK, O_DIRECT (packet mode).
pub fn sys_pipe2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_pipe(task, args.u64(0), args.i32(1))
}

fn do_eventfd(task: &mut Task, initval: u32, flags: i32) -> SysResult {
    if flags & !(libc::EFD_SEMAPHORE | libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = eventfd::new_eventfd(initval, flags);
    let fd = task
        .fds
        .insert(file, flags & libc::EFD_CLOEXEC != 0, 0, task.limits.nofile())?;
    Ok(fd as u64)
}

/// `eventfd(initval)`.
pub fn sys_eventfd(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_eventfd(task, args.u32(0), 0)
}

/// `eventfd2(initval, flags)`: EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC.
pub fn sys_eventfd2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_eventfd(task, args.u32(0), args.i32(1))
}
