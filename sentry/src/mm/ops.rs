//! Address-space operations, validated here and injected into the stub.
//!
//! The host kernel does the real work in the stub's address space (page
//! faults, copy-on-write, growth of stacks never reach the sentry); the
//! sentry checks arguments, keeps rvisor's trampoline out of the guest's
//! reach, and mirrors each change in the VMA set. The trampoline area is
//! not part of the guest's address space: MAP_FIXED over it is ENOMEM,
//! munmap skips it, mprotect of it is ENOMEM.

use super::vma::{Vma, VmaKind};
use super::MemoryManager;
use crate::platform::ptrace::{inject::donate_fd, layout::PAGE, StubThread};
use crate::vfs::FileRef;
use std::os::fd::OwnedFd;
use syscalls::Errno;

/// Rounds up to a page boundary (None on overflow).
pub fn page_align_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE - 1).map(|x| x & !(PAGE - 1))
}

/// A private VMA flag: a shared file mapping whose open file description
/// is not writable, so mprotect may never add PROT_WRITE (Linux's missing
/// VM_MAYWRITE).
pub const VMA_NO_WRITE: u32 = 1 << 31;

/// The file side of a file-backed mmap.
pub struct MmapFile<'a> {
    /// The open file description.
    pub file: &'a FileRef,
    /// The sentry's end of the donor socket, to pass the host fd in.
    pub donor: &'a OwnedFd,
}

/// A validated mmap request.
pub struct MmapRequest<'a> {
    /// Hint or fixed address.
    pub addr: u64,
    /// Length in bytes (not yet rounded).
    pub len: u64,
    /// PROT_* bits.
    pub prot: u32,
    /// MAP_* flags.
    pub flags: u32,
    /// File offset (file mappings).
    pub offset: u64,
    /// The file, for non-anonymous mappings.
    pub file: Option<MmapFile<'a>>,
}

fn check(ret: Result<Result<u64, Errno>, crate::platform::ptrace::PlatformError>) -> Result<u64, Errno> {
    match ret {
        Ok(r) => r,
        Err(e) => Err(e.into()),
    }
}

impl MemoryManager {
    fn reserved(&self) -> (u64, u64) {
        self.lock().map(|s| s.reserved_range).unwrap_or((0, 0))
    }

    fn overlaps_reserved(&self, start: u64, len: u64) -> bool {
        let (lo, hi) = self.reserved();
        start < hi && lo < start.saturating_add(len)
    }

    /// mmap(2).
    pub fn mmap(&mut self, thread: &mut StubThread, req: MmapRequest<'_>) -> Result<u64, Errno> {
        let len = page_align_up(req.len).ok_or(Errno::ENOMEM)?;
        if req.len == 0 {
            return Err(Errno::EINVAL);
        }
        let kind = req.flags & (libc::MAP_SHARED | libc::MAP_PRIVATE | libc::MAP_SHARED_VALIDATE) as u32;
        if kind != libc::MAP_SHARED as u32
            && kind != libc::MAP_PRIVATE as u32
            && kind != libc::MAP_SHARED_VALIDATE as u32
        {
            return Err(Errno::EINVAL);
        }
        let fixed = req.flags & (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE) as u32 != 0;
        if fixed && !req.addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        if !req.offset.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        if req
            .addr
            .checked_add(len)
            .is_none_or(|end| end > crate::platform::ptrace::layout::TASK_SIZE)
            && fixed
        {
            return Err(Errno::ENOMEM);
        }
        if fixed && self.overlaps_reserved(req.addr, len) {
            return Err(Errno::ENOMEM);
        }
        let anonymous = req.flags & libc::MAP_ANONYMOUS as u32 != 0;
        let (addr, vma_kind) = match (&req.file, anonymous) {
            (_, true) | (None, _) => {
                if !anonymous {
                    return Err(Errno::EBADF);
                }
                let args = [req.addr, len, req.prot as u64, req.flags as u64, u64::MAX, 0];
                (check(thread.inject(libc::SYS_mmap, args))?, VmaKind::Anonymous)
            }
            (Some(mf), false) => {
                // Access is checked against the open file description, as
                // Linux does: the host fd behind it (a memfd, say) may allow more.
                let accmode = mf.file.flags() & libc::O_ACCMODE;
                if accmode == libc::O_WRONLY || mf.file.is_path_only() {
                    return Err(Errno::EACCES);
                }
                // A noexec mount allows no executable mapping of its files.
                if req.prot & libc::PROT_EXEC as u32 != 0 && mf.file.location().is_some_and(|l| l.mount.noexec()) {
                    return Err(Errno::EPERM);
                }
                let shared = kind != libc::MAP_PRIVATE as u32;
                if shared && req.prot & libc::PROT_WRITE as u32 != 0 && accmode != libc::O_RDWR {
                    return Err(Errno::EACCES);
                }
                let host_fd = mf.file.mmap_host_fd()?;
                let st = mf.file.stat()?;
                let stub_fd = donate_fd(thread, mf.donor, host_fd)?;
                let args = [
                    req.addr,
                    len,
                    req.prot as u64,
                    req.flags as u64,
                    stub_fd.0 as u64,
                    req.offset,
                ];
                let result = check(thread.inject(libc::SYS_mmap, args));
                stub_fd.close(thread).map_err(Errno::from)?;
                let kind = VmaKind::File {
                    name: mf.file.path(),
                    dev: st.st_dev,
                    ino: st.st_ino,
                };
                (result?, kind)
            }
        };
        let offset = if anonymous { 0 } else { req.offset };
        let mut flags = req.flags;
        if let Some(mf) = &req.file {
            let writable = mf.file.flags() & libc::O_ACCMODE == libc::O_RDWR;
            if !anonymous && kind != libc::MAP_PRIVATE as u32 && !writable {
                flags |= VMA_NO_WRITE;
            }
        }
        self.lock()?.vmas.insert(Vma {
            start: addr,
            end: addr + len,
            prot: req.prot,
            flags,
            offset,
            kind: vma_kind,
        });
        Ok(addr)
    }

    /// munmap(2): the trampoline is skipped, everything else unmapped.
    pub fn munmap(&mut self, thread: &mut StubThread, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_align_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        let (rlo, rhi) = self.reserved();
        let mut pieces = vec![(addr, end)];
        if self.overlaps_reserved(addr, len) {
            pieces = [(addr, rlo.max(addr).min(end)), (rhi.min(end).max(addr), end)]
                .into_iter()
                .filter(|(lo, hi)| lo < hi)
                .collect();
        }
        for (lo, hi) in pieces {
            check(thread.inject(libc::SYS_munmap, [lo, hi - lo, 0, 0, 0, 0]))?;
            self.lock()?.vmas.remove(lo, hi - lo);
        }
        Ok(())
    }

    /// mprotect(2).
    pub fn mprotect(&mut self, thread: &mut StubThread, addr: u64, len: u64, prot: u32) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let len = page_align_up(len).ok_or(Errno::ENOMEM)?;
        if self.overlaps_reserved(addr, len) {
            return Err(Errno::ENOMEM);
        }
        if prot & libc::PROT_WRITE as u32 != 0 {
            let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if self
                .lock()?
                .vmas
                .overlapping(addr, end)
                .any(|v| v.flags & VMA_NO_WRITE != 0)
            {
                return Err(Errno::EACCES);
            }
        }
        check(thread.inject(libc::SYS_mprotect, [addr, len, prot as u64, 0, 0, 0]))?;
        // The host accepted it, so the range is mapped; the mirror follows
        // (it may lag behind host-side stack growth, which is harmless here).
        let _ = self
            .lock()?
            .vmas
            .protect(addr, len, prot & !(libc::PROT_GROWSDOWN | libc::PROT_GROWSUP) as u32);
        Ok(())
    }

    /// mremap(2).
    pub fn mremap(
        &mut self,
        thread: &mut StubThread,
        old: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, Errno> {
        if self.overlaps_reserved(old, old_len.max(1)) {
            return Err(Errno::EFAULT);
        }
        if flags & libc::MREMAP_FIXED as u32 != 0 && self.overlaps_reserved(new_addr, new_len) {
            return Err(Errno::EINVAL);
        }
        let result = check(thread.inject(libc::SYS_mremap, [old, old_len, new_len, flags as u64, new_addr, 0]))?;
        let old_len = page_align_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_align_up(new_len).ok_or(Errno::EINVAL)?;
        self.lock()?.vmas.remap(old, old_len, result, new_len);
        Ok(result)
    }

    /// brk(2): emulated, because the stub's host brk belongs to the sentry's
    /// image. Growth maps anonymous pages after the current break.
    pub fn brk(&mut self, thread: &mut StubThread, requested: u64) -> u64 {
        let Ok((brk_start, brk)) = self.lock().map(|s| (s.brk_start, s.brk)) else {
            return 0;
        };
        if requested < brk_start {
            return brk;
        }
        let (Some(old_top), Some(new_top)) = (page_align_up(brk), page_align_up(requested)) else {
            return brk;
        };
        if new_top > old_top {
            let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE) as u64;
            let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
            match check(thread.inject(libc::SYS_mmap, [old_top, new_top - old_top, prot, flags, u64::MAX, 0])) {
                Ok(addr) if addr == old_top => {}
                _ => return brk,
            }
            let Ok(mut st) = self.lock() else { return brk };
            st.vmas.insert(Vma {
                start: old_top,
                end: new_top,
                prot: prot as u32,
                flags: flags as u32,
                offset: 0,
                kind: VmaKind::Heap,
            });
        } else if new_top < old_top {
            if check(thread.inject(libc::SYS_munmap, [new_top, old_top - new_top, 0, 0, 0, 0])).is_err() {
                return brk;
            }
            let Ok(mut st) = self.lock() else { return brk };
            st.vmas.remove(new_top, old_top - new_top);
        }
        if let Ok(mut st) = self.lock() {
            st.brk = requested;
        }
        requested
    }

    /// Passes an advisory/query call (madvise, msync, mincore) to the host,
    /// which checks the range and writes results straight into guest memory.
    pub fn passthrough(&mut self, thread: &mut StubThread, nr: i64, args: [u64; 6]) -> Result<u64, Errno> {
        if self.overlaps_reserved(args[0], args[1].max(1)) {
            return Err(Errno::ENOMEM);
        }
        check(thread.inject(nr, args))
    }
}
