//! `--strace`: log every guest syscall with decoded arguments and result.
//!
//! Formatting lives in the `syscalls` crate; this module gives it access to
//! guest memory and writes the lines to the log (target `strace`).

use crate::kernel::Task;
use crate::mm::MemoryManager;
use crate::syscalls::{SysResult, SyscallArgs};

impl syscalls::strace::GuestMemory for MemoryManager {
    fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let n = self.read_partial(addr, &mut buf).ok()?;
        buf.truncate(n);
        Some(buf)
    }

    fn read_cstring(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        match MemoryManager::read_cstring(self, addr, max) {
            Ok(s) => Some(s),
            Err(_) => self.read_bytes(addr, max),
        }
    }
}

/// Logs one completed syscall, strace style (`read(3, "..."..., 832) = 832`).
pub fn log(task: &Task, args: &SyscallArgs, result: &SysResult) {
    let raw = match result {
        Ok(v) => *v,
        Err(e) => e.as_return(),
    };
    let line = syscalls::strace::format_complete(args.nr, &args.args, raw, &task.mm);
    tracing::info!(target: "strace", "[{:>4}] {}", task.tid, line);
}
