//! System call handlers, one file per family (gVisor's `sys_*.go` split).
//!
//! Handlers are thin: they decode arguments, copy guest memory, and call
//! into `kernel`, `mm` and `vfs` where the semantics live. [`table`] maps
//! every x86-64 syscall number to its handler and its support status.

pub mod caps;
pub mod creds;
pub mod file;
pub mod fileio;
pub mod futex;
mod hostinet;
pub mod identity;
pub mod inotify;
pub mod lock;
pub mod mmap;
pub mod mmsg;
pub mod mount;
mod netlink;
pub mod pipe;
pub mod poll;
pub mod process;
pub mod rw;
pub mod signal;
pub mod socket;
pub mod socket_name;
pub mod stat;
pub mod table;
pub mod thread;
pub mod time;
pub mod timer;
pub mod xattr;

use crate::kernel::Task;
use syscalls::Errno;

/// The result of a syscall handler: the value for `rax`, or an errno.
pub type SysResult = Result<u64, Errno>;

/// A syscall handler.
pub type Handler = fn(&mut Task, &SyscallArgs) -> SysResult;

/// The number and six raw arguments of a trapped syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallArgs {
    /// Syscall number (`orig_rax`).
    pub nr: u64,
    /// rdi, rsi, rdx, r10, r8, r9.
    pub args: [u64; 6],
}

impl SyscallArgs {
    /// Argument `i` as a raw u64.
    pub fn u64(&self, i: usize) -> u64 {
        self.args[i]
    }
    /// Argument `i` truncated to a C `int` (how the kernel reads int args).
    pub fn i32(&self, i: usize) -> i32 {
        self.args[i] as i32
    }
    /// Argument `i` truncated to a C `unsigned int`.
    pub fn u32(&self, i: usize) -> u32 {
        self.args[i] as u32
    }
    /// Argument `i` as a size/count.
    pub fn usize(&self, i: usize) -> usize {
        self.args[i] as usize
    }
    /// Argument `i` as a signed long (offsets).
    pub fn i64(&self, i: usize) -> i64 {
        self.args[i] as i64
    }
}
