//! signalfd: reading the caller's pending signals as records.
//!
//! Reads take signals of the file's mask from the *reading* task's pending
//! sets (thread-directed first, then the process's), as Linux does; the
//! signals are normally blocked so that they stay pending for the fd.

use crate::kernel::signal::{SigInfo, UNBLOCKABLE};
use crate::kernel::{current_task, wait::block_until};
use crate::vfs::FileOps;
use std::sync::atomic::{AtomicU64, Ordering};
use syscalls::structs::Stat;
use syscalls::{Errno, Pod};

/// Size of `struct signalfd_siginfo`.
pub const RECORD: usize = 128;

/// An open signalfd.
pub struct SignalFd {
    mask: AtomicU64,
}

impl SignalFd {
    /// A signalfd for the signals in `mask` (SIGKILL/SIGSTOP never).
    pub fn new(mask: u64) -> SignalFd {
        SignalFd {
            mask: AtomicU64::new(mask & !UNBLOCKABLE),
        }
    }

    /// Replaces the mask (signalfd on an existing fd).
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask & !UNBLOCKABLE, Ordering::SeqCst);
    }

    fn take(&self) -> Option<SigInfo> {
        let task = current_task()?;
        let blocked = !self.mask.load(Ordering::SeqCst);
        let own = task.pending.lock().ok()?.dequeue(blocked);
        let mut info = match own {
            Some(i) => i,
            None => task.tg.state.lock().ok()?.pending.dequeue(blocked)?,
        };
        crate::kernel::signal::on_dequeue(task.tg.tgid, &mut info);
        Some(info)
    }

    fn any_pending(&self) -> bool {
        let Some(task) = current_task() else { return false };
        let mask = self.mask.load(Ordering::SeqCst);
        let own = task.pending.lock().map(|p| p.set).unwrap_or(0);
        let group = task.tg.state.lock().map(|s| s.pending.set).unwrap_or(0);
        (own | group) & mask != 0
    }
}

/// Encodes one `struct signalfd_siginfo`.
pub fn encode(info: &SigInfo) -> [u8; RECORD] {
    let mut out = [0u8; RECORD];
    let mut put32 = |off: usize, v: u32| out[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    put32(0, info.signo as u32);
    put32(4, info.errno as u32);
    put32(8, info.code as u32);
    put32(12, info.pid as u32);
    put32(16, info.uid);
    put32(32, info.status as u32); // ssi_overrun (timers)
    put32(40, info.status as u32); // ssi_status (SIGCHLD)
    put32(44, info.addr_or_value as u32); // ssi_int
    out[48..56].copy_from_slice(&info.addr_or_value.to_ne_bytes()); // ssi_ptr
    out[56..64].copy_from_slice(&(info.utime as u64).to_ne_bytes());
    out[64..72].copy_from_slice(&(info.stime as u64).to_ne_bytes());
    out[72..80].copy_from_slice(&info.addr_or_value.to_ne_bytes()); // ssi_addr
    out
}

impl FileOps for SignalFd {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = Stat::zeroed();
        st.st_mode = 0o600;
        st.st_nlink = 1;
        st.st_blksize = 4096;
        Ok(st)
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.len() < RECORD {
            return Err(Errno::EINVAL);
        }
        let first = match self.take() {
            Some(i) => i,
            None if nonblock => return Err(Errno::EAGAIN),
            None => block_until(&[], None, || self.take())?,
        };
        buf[..RECORD].copy_from_slice(&encode(&first));
        let mut done = RECORD;
        while done + RECORD <= buf.len() {
            let Some(next) = self.take() else { break };
            buf[done..done + RECORD].copy_from_slice(&encode(&next));
            done += RECORD;
        }
        Ok(done)
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.any_pending() {
            mask & (libc::POLLIN | libc::POLLRDNORM) as u32
        } else {
            0
        }
    }

    fn name(&self) -> Vec<u8> {
        b"anon_inode:[signalfd]".to_vec()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
