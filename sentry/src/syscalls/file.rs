//! Opening, closing and naming files; the fd table; directories.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `open` (not yet written).
pub fn sys_open(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `openat` (not yet written).
pub fn sys_openat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `creat` (not yet written).
pub fn sys_creat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `close` (not yet written).
pub fn sys_close(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `close_range` (not yet written).
pub fn sys_close_range(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `dup` (not yet written).
pub fn sys_dup(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `dup2` (not yet written).
pub fn sys_dup2(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `dup3` (not yet written).
pub fn sys_dup3(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fcntl` (not yet written).
pub fn sys_fcntl(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `ioctl` (not yet written).
pub fn sys_ioctl(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `chdir` (not yet written).
pub fn sys_chdir(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fchdir` (not yet written).
pub fn sys_fchdir(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getcwd` (not yet written).
pub fn sys_getcwd(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `access` (not yet written).
pub fn sys_access(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `faccessat` (not yet written).
pub fn sys_faccessat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `faccessat2` (not yet written).
pub fn sys_faccessat2(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `readlink` (not yet written).
pub fn sys_readlink(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `readlinkat` (not yet written).
pub fn sys_readlinkat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getdents64` (not yet written).
pub fn sys_getdents64(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getdents` (not yet written).
pub fn sys_getdents(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `statfs` (not yet written).
pub fn sys_statfs(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fstatfs` (not yet written).
pub fn sys_fstatfs(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mkdir` (not yet written).
pub fn sys_mkdir(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mkdirat` (not yet written).
pub fn sys_mkdirat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `unlink` (not yet written).
pub fn sys_unlink(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `unlinkat` (not yet written).
pub fn sys_unlinkat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `rmdir` (not yet written).
pub fn sys_rmdir(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `rename` (not yet written).
pub fn sys_rename(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `renameat` (not yet written).
pub fn sys_renameat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `renameat2` (not yet written).
pub fn sys_renameat2(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `symlink` (not yet written).
pub fn sys_symlink(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `symlinkat` (not yet written).
pub fn sys_symlinkat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `link` (not yet written).
pub fn sys_link(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `linkat` (not yet written).
pub fn sys_linkat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `chmod` (not yet written).
pub fn sys_chmod(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fchmod` (not yet written).
pub fn sys_fchmod(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fchmodat` (not yet written).
pub fn sys_fchmodat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `chown` (not yet written).
pub fn sys_chown(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fchown` (not yet written).
pub fn sys_fchown(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `lchown` (not yet written).
pub fn sys_lchown(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fchownat` (not yet written).
pub fn sys_fchownat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `truncate` (not yet written).
pub fn sys_truncate(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `ftruncate` (not yet written).
pub fn sys_ftruncate(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `utimensat` (not yet written).
pub fn sys_utimensat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mknod` (not yet written).
pub fn sys_mknod(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mknodat` (not yet written).
pub fn sys_mknodat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
