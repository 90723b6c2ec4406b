//! Memory mapping: brk, mmap, munmap, mprotect, mremap, madvise, msync, mincore.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `brk` (not yet written).
pub fn sys_brk(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mmap` (not yet written).
pub fn sys_mmap(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `munmap` (not yet written).
pub fn sys_munmap(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mprotect` (not yet written).
pub fn sys_mprotect(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mremap` (not yet written).
pub fn sys_mremap(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `madvise` (not yet written).
pub fn sys_madvise(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `msync` (not yet written).
pub fn sys_msync(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `mincore` (not yet written).
pub fn sys_mincore(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
