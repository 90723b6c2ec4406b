//! Data movement between files without a user buffer (sendfile,
//! copy_file_range, splice, tee), memfd_create, and the read-ahead hints
//! (fadvise64, readahead).
//!
//! The copies are generic: the sentry reads from the input description and
//! writes to the output one in chunks, so every file kind works (the host
//! never sees the guest's fds). Pipe ends are driven through their
//! [`FileOps`](crate::vfs::FileOps) so splice can honour `SPLICE_F_NONBLOCK`
//! and move at most what the pipe can take.

use super::{SysResult, SyscallArgs};
use crate::fs::memfd::{MemfdFile, MFD_CLOEXEC, MFD_NAME_MAX};
use crate::fs::pipe;
use crate::kernel::wait::block_until;
use crate::kernel::Task;
use crate::vfs::inode::{is_dir, is_reg};
use crate::vfs::{FileDescription, FileRef};
use syscalls::Errno;

/// The size of one copy step.
const CHUNK: usize = 64 * 1024;
/// `MAX_RW_COUNT`: the most one read/write-like call moves.
const MAX_RW_COUNT: usize = 0x7fff_f000;
/// `SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT`.
const SPLICE_FLAGS: u32 = 0xf;
/// `SPLICE_F_NONBLOCK`.
const SPLICE_F_NONBLOCK: u32 = 0x2;

fn check_readable(f: &FileDescription) -> Result<(), Errno> {
    let fl = f.flags();
    if fl & libc::O_PATH != 0 || matches!(fl & libc::O_ACCMODE, libc::O_WRONLY | 3) {
        return Err(Errno::EBADF);
    }
    Ok(())
}

fn check_writable(f: &FileDescription) -> Result<(), Errno> {
    let fl = f.flags();
    if fl & libc::O_PATH != 0 || matches!(fl & libc::O_ACCMODE, libc::O_RDONLY | 3) {
        return Err(Errno::EBADF);
    }
    Ok(())
}

/// Reads an optional `loff_t` argument (EINVAL when negative).
fn read_offset(task: &Task, addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let off: i64 = task.mm.read_obj(addr)?;
    u64::try_from(off).map(Some).map_err(|_| Errno::EINVAL)
}

/// Where a copy reads or writes: an explicit offset (pread/pwrite) or the
/// description's own position.
#[derive(Clone, Copy)]
enum At {
    Offset(u64),
    Position,
}

/// Moves up to `count` bytes from `src` to `dst` in chunks. Returns the
/// bytes written and the error that stopped it early, if any. A seekable
/// source read at its position is read with pread and its position set to
/// what was actually written, so a short write loses nothing.
fn pump(src: &FileDescription, src_at: At, dst: &FileDescription, dst_at: At, count: usize) -> (usize, Option<Errno>) {
    let seekable_src = src.ops().seekable();
    let mut src_off = match src_at {
        At::Offset(o) => Some(o),
        At::Position if seekable_src => Some(src.position()),
        At::Position => None,
    };
    let mut buf = vec![0u8; CHUNK.min(count)];
    let mut done = 0usize;
    let mut err = None;
    while done < count {
        let want = (count - done).min(CHUNK);
        let r = match src_off {
            Some(o) => src.pread(&mut buf[..want], o),
            None => src.read(&mut buf[..want]),
        };
        let n = match r {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                err = Some(e);
                break;
            }
        };
        let mut written = 0;
        while written < n {
            let w = match dst_at {
                At::Offset(o) => dst.pwrite(&buf[written..n], o + (done + written) as u64),
                At::Position => dst.write(&buf[written..n]),
            };
            match w {
                Ok(0) => break,
                Ok(k) => written += k,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        done += written;
        if let Some(o) = src_off.as_mut() {
            *o += written as u64;
        }
        if written < n || err.is_some() {
            break;
        }
    }
    if let (At::Position, Some(o)) = (src_at, src_off) {
        if let Ok(o) = i64::try_from(o) {
            let _ = src.lseek(o, libc::SEEK_SET);
        }
    }
    (done, err)
}

/// The syscall result of a copy: the count if anything moved, else the error.
fn finish(done: usize, err: Option<Errno>) -> SysResult {
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done as u64),
    }
}

/// `sendfile(out_fd, in_fd, offset, count)`.
pub fn sys_sendfile(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let out = task.fds.get(args.i32(0))?;
    let inp = task.fds.get(args.i32(1))?;
    check_readable(&inp)?;
    check_writable(&out)?;
    if out.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let off_addr = args.u64(2);
    let count = args.usize(3).min(MAX_RW_COUNT);
    let off = read_offset(task, off_addr)?;
    if off.is_some() && !inp.ops().seekable() {
        return Err(Errno::ESPIPE);
    }
    if count == 0 {
        return Ok(0);
    }
    let src_at = off.map_or(At::Position, At::Offset);
    let (done, err) = pump(&inp, src_at, &out, At::Position, count);
    if let Some(o) = off {
        task.mm.write_obj(off_addr, &((o + done as u64) as i64))?;
    }
    finish(done, err)
}

/// `copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)`.
pub fn sys_copy_file_range(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.u32(5) != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = task.fds.get(args.i32(0))?;
    let out = task.fds.get(args.i32(2))?;
    check_readable(&inp)?;
    check_writable(&out)?;
    if out.flags() & libc::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (sin, sout) = (inp.stat()?, out.stat()?);
    if is_dir(sin.st_mode) || is_dir(sout.st_mode) {
        return Err(Errno::EISDIR);
    }
    if !is_reg(sin.st_mode) || !is_reg(sout.st_mode) {
        return Err(Errno::EINVAL);
    }
    // Linux copies across filesystems only for network filesystems that
    // implement it; callers (cat, cp) fall back to read/write on EXDEV.
    if sin.st_dev != sout.st_dev {
        return Err(Errno::EXDEV);
    }
    let (in_addr, out_addr) = (args.u64(1), args.u64(3));
    let off_in = read_offset(task, in_addr)?;
    let off_out = read_offset(task, out_addr)?;
    let len = args.usize(4).min(MAX_RW_COUNT);
    let start_in = off_in.unwrap_or_else(|| inp.position());
    let start_out = off_out.unwrap_or_else(|| out.position());
    // Overlapping ranges of one file are refused, as Linux does.
    if sin.st_dev == sout.st_dev && sin.st_ino == sout.st_ino {
        let (a, b) = (start_in, start_out);
        if a < b.saturating_add(len as u64) && b < a.saturating_add(len as u64) {
            return Err(Errno::EINVAL);
        }
    }
    if len == 0 {
        return Ok(0);
    }
    // A host file (stdout redirected to a file) keeps its offset on the
    // host, shared with whoever opened it: write there as write(2) would.
    let out_stream = !out.ops().seekable();
    if out_stream && off_out.is_some() {
        return Err(Errno::ESPIPE);
    }
    let out_at = if out_stream {
        At::Position
    } else {
        At::Offset(start_out)
    };
    let (done, err) = pump(&inp, off_in.map_or(At::Position, At::Offset), &out, out_at, len);
    if off_out.is_none() && !out_stream {
        if let Ok(p) = i64::try_from(start_out + done as u64) {
            out.lseek(p, libc::SEEK_SET)?;
        }
    }
    if let Some(o) = off_in {
        task.mm.write_obj(in_addr, &((o + done as u64) as i64))?;
    }
    if let Some(o) = off_out {
        task.mm.write_obj(out_addr, &((o + done as u64) as i64))?;
    }
    finish(done, err)
}

/// Room in the pipe behind `out`, waiting (unless `nonblock`) while it is
/// full. A pipe without readers gets a write so the pipe raises EPIPE and
/// SIGPIPE itself.
fn pipe_room(out: &FileRef, p: &pipe::Pipe, nonblock: bool) -> Result<usize, Errno> {
    loop {
        let room = p.capacity().saturating_sub(p.available());
        if room > 0 {
            return Ok(room);
        }
        let ready = out.ops().readiness(libc::POLLOUT as u32);
        if ready & libc::POLLERR as u32 != 0 {
            out.ops().write(&[0], 0, true)?;
            return Err(Errno::EPIPE);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        let Some(q) = out.ops().wait_queue() else {
            return Err(Errno::EAGAIN);
        };
        block_until(&[q], None, || {
            (out.ops().readiness(libc::POLLOUT as u32) != 0).then_some(())
        })?;
    }
}

/// `splice(fd_in, off_in, fd_out, off_out, len, flags)`.
pub fn sys_splice(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.u32(5);
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = task.fds.get(args.i32(0))?;
    let out = task.fds.get(args.i32(2))?;
    check_readable(&inp)?;
    check_writable(&out)?;
    let (pin, pout) = (pipe::pipe_of(&inp), pipe::pipe_of(&out));
    if pin.is_none() && pout.is_none() {
        return Err(Errno::EINVAL);
    }
    if let (Some(a), Some(b)) = (&pin, &pout) {
        if std::sync::Arc::ptr_eq(a, b) {
            return Err(Errno::EINVAL);
        }
    }
    let (in_addr, out_addr) = (args.u64(1), args.u64(3));
    if (pin.is_some() && in_addr != 0) || (pout.is_some() && out_addr != 0) {
        return Err(Errno::ESPIPE);
    }
    if out.flags() & libc::O_APPEND != 0 && pout.is_none() {
        return Err(Errno::EINVAL);
    }
    let off_in = read_offset(task, in_addr)?;
    let off_out = read_offset(task, out_addr)?;
    if (off_in.is_some() && !inp.ops().seekable()) || (off_out.is_some() && !out.ops().seekable()) {
        return Err(Errno::ESPIPE);
    }
    let len = args.usize(4).min(MAX_RW_COUNT);
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    let mut buf;
    let n = if let Some(p) = &pout {
        // Into a pipe: at most what it can take now, so the write never blocks.
        let room = pipe_room(&out, p, nonblock || out.flags() & libc::O_NONBLOCK != 0)?;
        buf = vec![0u8; len.min(room)];
        let n = if pin.is_some() {
            inp.ops()
                .read(&mut buf, 0, nonblock || inp.flags() & libc::O_NONBLOCK != 0)?
        } else {
            match off_in {
                Some(o) => inp.pread(&mut buf, o)?,
                None => inp.read(&mut buf)?,
            }
        };
        if n > 0 {
            out.ops().write(&buf[..n], 0, true)?;
        }
        n
    } else {
        // From a pipe into a file: what the pipe holds, up to `len`.
        buf = vec![0u8; len.min(CHUNK * 16)];
        let n = inp
            .ops()
            .read(&mut buf, 0, nonblock || inp.flags() & libc::O_NONBLOCK != 0)?;
        let mut written = 0;
        while written < n {
            let k = match off_out {
                Some(o) => out.pwrite(&buf[written..n], o + written as u64),
                None => out.write(&buf[written..n]),
            };
            match k {
                Ok(0) => break,
                Ok(k) => written += k,
                Err(e) if written == 0 => return Err(e),
                Err(_) => break,
            }
        }
        written
    };
    if let Some(o) = off_in {
        task.mm.write_obj(in_addr, &((o + n as u64) as i64))?;
    }
    if let Some(o) = off_out {
        task.mm.write_obj(out_addr, &((o + n as u64) as i64))?;
    }
    Ok(n as u64)
}

/// `tee(fd_in, fd_out, len, flags)`: copies up to `len` bytes waiting in
/// the pipe `fd_in` into the pipe `fd_out` without consuming them. Waits
/// for data and for room unless `SPLICE_F_NONBLOCK`; 0 when the input is
/// empty and has no writer.
pub fn sys_tee(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.u32(3);
    if flags & !SPLICE_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let inp = task.fds.get(args.i32(0))?;
    let out = task.fds.get(args.i32(1))?;
    check_readable(&inp)?;
    check_writable(&out)?;
    let (Some(pin), Some(pout)) = (pipe::pipe_of(&inp), pipe::pipe_of(&out)) else {
        return Err(Errno::EINVAL);
    };
    if std::sync::Arc::ptr_eq(&pin, &pout) {
        return Err(Errno::EINVAL);
    }
    let len = args.usize(2).min(MAX_RW_COUNT);
    if len == 0 {
        return Ok(0);
    }
    let nonblock = flags & SPLICE_F_NONBLOCK != 0;
    if pin.available() == 0 {
        if !pin.has_writers() {
            return Ok(0);
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        block_until(&[pin.queue()], None, || {
            (pin.available() > 0 || !pin.has_writers()).then_some(())
        })?;
        if pin.available() == 0 {
            return Ok(0);
        }
    }
    let room = pipe_room(&out, &pout, nonblock)?;
    let mut buf = vec![0u8; len.min(room).min(pin.available())];
    let n = pin.peek(&mut buf);
    if n == 0 {
        return Ok(0);
    }
    out.ops().write(&buf[..n], 0, true).map(|n| n as u64)
}

/// `fadvise64(fd, offset, len, advice)`: validated and ignored (the page
/// cache is the host's).
pub fn sys_fadvise64(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    if pipe::pipe_of(&file).is_some() {
        return Err(Errno::ESPIPE);
    }
    if args.i64(2) < 0 || !(0..=5).contains(&args.i32(3)) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `readahead(fd, offset, count)`: validated and ignored.
pub fn sys_readahead(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    check_readable(&file)?;
    if !is_reg(file.stat()?.st_mode) || args.i64(1) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// `memfd_create(name, flags)`.
pub fn sys_memfd_create(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let name = task.mm.read_cstring(args.u64(0), MFD_NAME_MAX).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    let flags = args.u32(1);
    let m = MemfdFile::create(&name, flags, (task.creds.euid, task.creds.egid))?;
    let file = FileDescription::new(Box::new(m), libc::O_RDWR | libc::O_LARGEFILE, None);
    let fd = task
        .fds
        .insert(file, flags & MFD_CLOEXEC != 0, 0, task.limits.nofile())?;
    Ok(fd as u64)
}

/// fsync/fdatasync: every writable file of the sandbox lives in memory
/// (overlay upper layer, tmpfs, memfds), so there is nothing to flush; the
/// fd is checked as Linux does (EINVAL for pipes, sockets and the like).
/// fsync/fdatasync: files backed by a host file (a donated gofer fd under
/// `--overlay2=none` or a bind mount) are synced on the host; in-memory
/// files (overlay upper layer, tmpfs, memfds) have nothing to write back.
fn sync_fd(task: &Task, fd: i32, data_only: bool) -> SysResult {
    let file = task.fds.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    let mode = file.stat()?.st_mode & libc::S_IFMT;
    if mode == libc::S_IFIFO || mode == libc::S_IFSOCK {
        return Err(Errno::EINVAL);
    }
    if let Some(host) = file.ops().host_fd() {
        // SAFETY: fsync/fdatasync on an fd the open file keeps open.
        let r = unsafe {
            if data_only {
                libc::fdatasync(host)
            } else {
                libc::fsync(host)
            }
        };
        if r < 0 {
            return Err(Errno::last());
        }
    }
    Ok(0)
}

/// `fsync(fd)`.
pub fn sys_fsync(task: &mut Task, args: &SyscallArgs) -> SysResult {
    sync_fd(task, args.i32(0), false)
}

/// `fdatasync(fd)`.
pub fn sys_fdatasync(task: &mut Task, args: &SyscallArgs) -> SysResult {
    sync_fd(task, args.i32(0), true)
}

/// `sync()`: nothing to write back.
pub fn sys_sync(_task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(0)
}

/// `syncfs(fd)`.
pub fn sys_syncfs(task: &mut Task, args: &SyscallArgs) -> SysResult {
    task.fds.get(args.i32(0))?;
    Ok(0)
}

/// `sync_file_range(fd, offset, nbytes, flags)`.
pub fn sys_sync_file_range(task: &mut Task, args: &SyscallArgs) -> SysResult {
    const VALID: u32 = 1 | 2 | 4; // WAIT_BEFORE | WRITE | WAIT_AFTER
    if args.u32(3) & !VALID != 0 || args.i64(1) < 0 || args.i64(2) < 0 {
        return Err(Errno::EINVAL);
    }
    let file = task.fds.get(args.i32(0))?;
    let mode = file.stat()?.st_mode & libc::S_IFMT;
    if mode != libc::S_IFREG && mode != libc::S_IFBLK && mode != libc::S_IFDIR && mode != libc::S_IFLNK {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}
