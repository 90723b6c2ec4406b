//! File status: stat, fstat, lstat, newfstatat, statx.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `stat` (not yet written).
pub fn sys_stat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `fstat` (not yet written).
pub fn sys_fstat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `lstat` (not yet written).
pub fn sys_lstat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `newfstatat` (not yet written).
pub fn sys_newfstatat(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `statx` (not yet written).
pub fn sys_statx(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
