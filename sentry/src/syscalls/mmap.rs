//! Memory mapping: brk, mmap, munmap, mprotect, mremap, madvise, msync,
//! mincore. Validation and the VMA mirror are in `mm::ops`.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use crate::mm::ops::{MmapFile, MmapRequest};
use syscalls::Errno;

/// PROT_* bits Linux accepts.
const KNOWN_PROT: u32 =
    (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC | libc::PROT_GROWSDOWN | libc::PROT_GROWSUP) as u32 | 0x8;

/// `brk`.
pub fn sys_brk(task: &mut Task, args: &SyscallArgs) -> SysResult {
    Ok(task.mm.brk(&mut task.thread, args.u64(0)))
}

/// `mmap`.
pub fn sys_mmap(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (addr, len, prot, flags, fd, offset) = (
        args.u64(0),
        args.u64(1),
        args.u32(2),
        args.u32(3),
        args.i32(4),
        args.u64(5),
    );
    if prot & !KNOWN_PROT != 0 {
        return Err(Errno::EINVAL);
    }
    let anonymous = flags & libc::MAP_ANONYMOUS as u32 != 0;
    let file = if anonymous { None } else { Some(task.fds.get(fd)?) };
    let donor = task.kernel.donor_socket.clone();
    let req = MmapRequest {
        addr,
        len,
        prot,
        flags,
        offset,
        file: file.as_ref().map(|file| MmapFile { file, donor: &donor }),
    };
    task.mm.mmap(&mut task.thread, req)
}

/// `munmap`.
pub fn sys_munmap(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.mm.munmap(&mut task.thread, args.u64(0), args.u64(1))?;
    Ok(0)
}

/// `mprotect`.
pub fn sys_mprotect(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u32(2) & !KNOWN_PROT != 0 {
        return Err(Errno::EINVAL);
    }
    task.mm
        .mprotect(&mut task.thread, args.u64(0), args.u64(1), args.u32(2))?;
    Ok(0)
}

/// `mremap`.
pub fn sys_mremap(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.mm.mremap(
        &mut task.thread,
        args.u64(0),
        args.u64(1),
        args.u64(2),
        args.u32(3),
        args.u64(4),
    )
}

/// `madvise`: the host applies the advice to the stub's pages.
pub fn sys_madvise(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.mm.passthrough(&mut task.thread, libc::SYS_madvise, args.args)
}

/// `msync`.
pub fn sys_msync(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.mm.passthrough(&mut task.thread, libc::SYS_msync, args.args)
}

/// `mincore`: the host writes the residency vector into guest memory.
pub fn sys_mincore(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.mm.passthrough(&mut task.thread, libc::SYS_mincore, args.args)
}
