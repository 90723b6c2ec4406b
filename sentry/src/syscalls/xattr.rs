//! Extended attributes. No filesystem of the sandbox stores any yet: a
//! lookup of an existing file finds no attribute (ENODATA), a listing is
//! empty, and setting one is EOPNOTSUPP. Path and fd errors are Linux's.

use super::stat::{read_path_maybe_empty, target_at};
use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// Longest attribute name (`XATTR_NAME_MAX`).
const XATTR_NAME_MAX: usize = 255;

fn check_path(task: &Task, addr: u64, follow: bool) -> Result<(), Errno> {
    let path = read_path_maybe_empty(task, addr, false)?;
    target_at(task, libc::AT_FDCWD, &path, follow, false)?;
    Ok(())
}

fn check_name(task: &Task, addr: u64) -> Result<(), Errno> {
    let name =
        task.mm
            .read_cstring(addr, XATTR_NAME_MAX)
            .map_err(|e| if e == Errno::ENAMETOOLONG { Errno::ERANGE } else { e })?;
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// `getxattr(path, name, value, size)`.
pub fn sys_getxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    check_path(task, args.u64(0), true)?;
    check_name(task, args.u64(1))?;
    Err(Errno::ENODATA)
}

/// `lgetxattr(path, name, value, size)`.
pub fn sys_lgetxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    check_path(task, args.u64(0), false)?;
    check_name(task, args.u64(1))?;
    Err(Errno::ENODATA)
}

/// `fgetxattr(fd, name, value, size)`.
pub fn sys_fgetxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.fds.get(args.i32(0))?;
    check_name(task, args.u64(1))?;
    Err(Errno::ENODATA)
}

/// `listxattr(path, list, size)`: no attributes.
pub fn sys_listxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    check_path(task, args.u64(0), true)?;
    Ok(0)
}

/// `llistxattr(path, list, size)`.
pub fn sys_llistxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    check_path(task, args.u64(0), false)?;
    Ok(0)
}

/// `flistxattr(fd, list, size)`.
pub fn sys_flistxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.fds.get(args.i32(0))?;
    Ok(0)
}

/// `setxattr` family: not stored.
pub fn sys_setxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    check_path(task, args.u64(0), args.nr != libc::SYS_lsetxattr as u64)?;
    check_name(task, args.u64(1))?;
    Err(Errno::EOPNOTSUPP)
}

/// `fsetxattr`.
pub fn sys_fsetxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.fds.get(args.i32(0))?;
    check_name(task, args.u64(1))?;
    Err(Errno::EOPNOTSUPP)
}

/// `removexattr` family: there is nothing to remove.
pub fn sys_removexattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    check_path(task, args.u64(0), args.nr != libc::SYS_lremovexattr as u64)?;
    check_name(task, args.u64(1))?;
    Err(Errno::ENODATA)
}

/// `fremovexattr`.
pub fn sys_fremovexattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.fds.get(args.i32(0))?;
    check_name(task, args.u64(1))?;
    Err(Errno::ENODATA)
}
