//! Signal dispositions and masks.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `rt_sigaction` (not yet written).
pub fn sys_rt_sigaction(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `rt_sigprocmask` (not yet written).
pub fn sys_rt_sigprocmask(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `sigaltstack` (not yet written).
pub fn sys_sigaltstack(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
