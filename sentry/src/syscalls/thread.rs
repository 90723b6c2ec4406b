//! Per-thread and per-process housekeeping: arch_prctl, tid address, limits, exit.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `arch_prctl` (not yet written).
pub fn sys_arch_prctl(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `set_tid_address` (not yet written).
pub fn sys_set_tid_address(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `set_robust_list` (not yet written).
pub fn sys_set_robust_list(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `get_robust_list` (not yet written).
pub fn sys_get_robust_list(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `exit` (not yet written).
pub fn sys_exit(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `exit_group` (not yet written).
pub fn sys_exit_group(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `sched_yield` (not yet written).
pub fn sys_sched_yield(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `sched_getaffinity` (not yet written).
pub fn sys_sched_getaffinity(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getrandom` (not yet written).
pub fn sys_getrandom(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `sysinfo` (not yet written).
pub fn sys_sysinfo(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `umask` (not yet written).
pub fn sys_umask(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `prlimit64` (not yet written).
pub fn sys_prlimit64(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getrlimit` (not yet written).
pub fn sys_getrlimit(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `setrlimit` (not yet written).
pub fn sys_setrlimit(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getrusage` (not yet written).
pub fn sys_getrusage(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `prctl` (not yet written).
pub fn sys_prctl(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
