//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch (the
//! instances and events live in [`crate::fs::inotify`]).

use super::{SysResult, SyscallArgs};
use crate::fs::inotify::{self, ALL_INOTIFY_BITS, IN_DONT_FOLLOW, IN_MASK_ADD, IN_MASK_CREATE, IN_ONLYDIR};
use crate::kernel::Task;
use crate::vfs;
use crate::vfs::inode::is_dir;
use crate::vfs::perm::{self, MAY_READ};
use syscalls::Errno;

fn do_init(task: &mut Task, flags: i32) -> SysResult {
    if flags & !(libc::IN_NONBLOCK | libc::IN_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = inotify::new_inotify(flags);
    task.fds
        .insert(file, flags & libc::IN_CLOEXEC != 0, 0, task.limits.nofile())
        .map(|fd| fd as u64)
}

/// `inotify_init()`.
pub fn sys_inotify_init(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    do_init(task, 0)
}

/// `inotify_init1(flags)`: `IN_NONBLOCK`, `IN_CLOEXEC`.
pub fn sys_inotify_init1(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_init(task, args.i32(0))
}

/// `inotify_add_watch(fd, path, mask)`: the watch descriptor (the same one
/// for a node already watched by this instance).
pub fn sys_inotify_add_watch(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let mask = args.u32(2);
    if mask & ALL_INOTIFY_BITS == 0 || (mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0) {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(args.i32(0))?;
    let inst = inotify::instance_of(&file)?;
    let path = task.mm.read_path(args.u64(1))?;
    let loc = vfs::lookup_at(task, libc::AT_FDCWD, &path, mask & IN_DONT_FOLLOW == 0)?;
    let st = loc.inode().stat()?;
    if mask & IN_ONLYDIR != 0 && !is_dir(st.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&task.creds, &st, MAY_READ)?;
    inst.add_watch((st.st_dev, st.st_ino), mask).map(|wd| wd as u64)
}

/// `inotify_rm_watch(fd, wd)`.
pub fn sys_inotify_rm_watch(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let inst = inotify::instance_of(&file)?;
    inst.rm_watch(args.i32(1)).map(|_| 0)
}
