//! Reading and writing file descriptors.
//!
//! Data moves through a sentry buffer of at most [`CHUNK`] bytes at a time:
//! regular files loop until the request is done or a read comes up short;
//! streams (pipes, terminals) return after one transfer, as Linux does.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use crate::mm::io::IoVec;
use crate::vfs::FileRef;
use syscalls::Errno;

/// Largest sentry buffer per transfer.
const CHUNK: usize = 1 << 20;
/// Linux's cap on one read/write (`MAX_RW_COUNT`).
const MAX_RW: u64 = 0x7fff_f000;

/// Where a transfer happens: at the file position, or at an explicit offset.
#[derive(Clone, Copy)]
enum At {
    Pos,
    Offset(u64),
}

fn total_len(iovs: &[IoVec]) -> u64 {
    iovs.iter().map(|v| v.len).sum::<u64>().min(MAX_RW)
}

/// Copies `data` into the iovecs starting `skip` bytes into them.
fn scatter(task: &Task, iovs: &[IoVec], mut skip: u64, mut data: &[u8]) -> Result<(), Errno> {
    for iov in iovs {
        if data.is_empty() {
            break;
        }
        if skip >= iov.len {
            skip -= iov.len;
            continue;
        }
        let room = (iov.len - skip).min(data.len() as u64) as usize;
        task.mm.write(iov.base + skip, &data[..room])?;
        data = &data[room..];
        skip = 0;
    }
    Ok(())
}

/// Reads `len` bytes from the iovecs starting `skip` bytes into them.
fn gather(task: &Task, iovs: &[IoVec], mut skip: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::with_capacity(len);
    for iov in iovs {
        if out.len() == len {
            break;
        }
        if skip >= iov.len {
            skip -= iov.len;
            continue;
        }
        let take = (iov.len - skip).min((len - out.len()) as u64) as usize;
        let start = out.len();
        out.resize(start + take, 0);
        task.mm.read(iov.base + skip, &mut out[start..])?;
        skip = 0;
    }
    Ok(out)
}

fn do_read(task: &Task, file: &FileRef, iovs: &[IoVec], at: At) -> SysResult {
    let total = total_len(iovs);
    let stream = !file.ops().seekable();
    let mut done: u64 = 0;
    loop {
        let want = ((total - done) as usize).min(CHUNK);
        let mut buf = vec![0u8; want];
        let got = match at {
            At::Pos => file.read(&mut buf),
            At::Offset(off) => file.pread(&mut buf, off + done),
        };
        let got = match got {
            Ok(n) => n.min(want),
            Err(e) if done == 0 => return Err(e),
            Err(_) => return Ok(done),
        };
        if let Err(e) = scatter(task, iovs, done, &buf[..got]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += got as u64;
        if got < want || stream || done >= total {
            return Ok(done);
        }
    }
}

fn do_write(task: &Task, file: &FileRef, iovs: &[IoVec], at: At) -> SysResult {
    let total = total_len(iovs);
    let mut done: u64 = 0;
    loop {
        let want = ((total - done) as usize).min(CHUNK);
        let data = match gather(task, iovs, done, want) {
            Ok(d) => d,
            Err(e) if done == 0 => return Err(e),
            Err(_) => return Ok(done),
        };
        let n = match at {
            At::Pos => file.write(&data),
            At::Offset(off) => file.pwrite(&data, off + done),
        };
        let n = match n {
            Ok(n) => n.min(want),
            Err(e) if done == 0 => return Err(e),
            Err(_) => return Ok(done),
        };
        done += n as u64;
        if n < want || done >= total {
            return Ok(done);
        }
    }
}

fn offset_arg(v: i64) -> Result<u64, Errno> {
    u64::try_from(v).map_err(|_| Errno::EINVAL)
}

/// `read(fd, buf, count)`.
pub fn sys_read(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    do_read(
        task,
        &file,
        &[IoVec {
            base: args.u64(1),
            len: args.u64(2),
        }],
        At::Pos,
    )
}

/// `write(fd, buf, count)`.
pub fn sys_write(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    do_write(
        task,
        &file,
        &[IoVec {
            base: args.u64(1),
            len: args.u64(2),
        }],
        At::Pos,
    )
}

/// `pread64(fd, buf, count, offset)`.
pub fn sys_pread64(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let off = offset_arg(args.i64(3))?;
    do_read(
        task,
        &file,
        &[IoVec {
            base: args.u64(1),
            len: args.u64(2),
        }],
        At::Offset(off),
    )
}

/// `pwrite64(fd, buf, count, offset)`.
pub fn sys_pwrite64(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let off = offset_arg(args.i64(3))?;
    do_write(
        task,
        &file,
        &[IoVec {
            base: args.u64(1),
            len: args.u64(2),
        }],
        At::Offset(off),
    )
}

fn iovecs(task: &Task, args: &SyscallArgs) -> Result<Vec<IoVec>, Errno> {
    let count = usize::try_from(args.i32(2)).map_err(|_| Errno::EINVAL)?;
    task.mm.read_iovecs(args.u64(1), count)
}

/// `readv(fd, iov, iovcnt)`.
pub fn sys_readv(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let iovs = iovecs(task, args)?;
    do_read(task, &file, &iovs, At::Pos)
}

/// `writev(fd, iov, iovcnt)`.
pub fn sys_writev(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let iovs = iovecs(task, args)?;
    do_write(task, &file, &iovs, At::Pos)
}

/// `preadv(fd, iov, iovcnt, pos_l, pos_h)` (on x86-64 pos_l holds all 64 bits).
pub fn sys_preadv(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let iovs = iovecs(task, args)?;
    let off = offset_arg(args.i64(3))?;
    do_read(task, &file, &iovs, At::Offset(off))
}

/// `pwritev(fd, iov, iovcnt, pos_l, pos_h)`.
pub fn sys_pwritev(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let iovs = iovecs(task, args)?;
    let off = offset_arg(args.i64(3))?;
    do_write(task, &file, &iovs, At::Offset(off))
}

/// The position of preadv2/pwritev2: -1 means the file position.
fn v2_at(args: &SyscallArgs) -> Result<At, Errno> {
    if args.u32(5) != 0 {
        return Err(Errno(libc::EOPNOTSUPP));
    }
    match args.i64(3) {
        -1 => Ok(At::Pos),
        v => Ok(At::Offset(offset_arg(v)?)),
    }
}

/// `preadv2(fd, iov, iovcnt, pos_l, pos_h, flags)` (flags 0 only).
pub fn sys_preadv2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let iovs = iovecs(task, args)?;
    let at = v2_at(args)?;
    do_read(task, &file, &iovs, at)
}

/// `pwritev2(fd, iov, iovcnt, pos_l, pos_h, flags)` (flags 0 only).
pub fn sys_pwritev2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let iovs = iovecs(task, args)?;
    let at = v2_at(args)?;
    do_write(task, &file, &iovs, at)
}

/// `lseek(fd, offset, whence)`.
pub fn sys_lseek(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let whence = args.i32(2);
    if !(libc::SEEK_SET..=libc::SEEK_HOLE).contains(&whence) {
        return Err(Errno::EINVAL);
    }
    file.lseek(args.i64(1), whence)
}
