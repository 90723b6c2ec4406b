//! Who am I: pids, ids, groups, uname, hostnames.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// `getpid` (not yet written).
pub fn sys_getpid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `gettid` (not yet written).
pub fn sys_gettid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getppid` (not yet written).
pub fn sys_getppid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getuid` (not yet written).
pub fn sys_getuid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `geteuid` (not yet written).
pub fn sys_geteuid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getgid` (not yet written).
pub fn sys_getgid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getegid` (not yet written).
pub fn sys_getegid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getresuid` (not yet written).
pub fn sys_getresuid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getresgid` (not yet written).
pub fn sys_getresgid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getgroups` (not yet written).
pub fn sys_getgroups(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getpgrp` (not yet written).
pub fn sys_getpgrp(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getpgid` (not yet written).
pub fn sys_getpgid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `getsid` (not yet written).
pub fn sys_getsid(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `uname` (not yet written).
pub fn sys_uname(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `sethostname` (not yet written).
pub fn sys_sethostname(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}

/// `setdomainname` (not yet written).
pub fn sys_setdomainname(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Err(Errno::ENOSYS)
}
