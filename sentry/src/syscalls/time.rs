//! Clocks and sleeps.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `clock_gettime` (not yet written).
pub fn sys_clock_gettime(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `clock_getres` (not yet written).
pub fn sys_clock_getres(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `gettimeofday` (not yet written).
pub fn sys_gettimeofday(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `time` (not yet written).
pub fn sys_time(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `nanosleep` (not yet written).
pub fn sys_nanosleep(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `clock_nanosleep` (not yet written).
pub fn sys_clock_nanosleep(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
