//! Thin safe wrappers over the host syscalls the server uses. Every call is
//! relative to an fd; nothing here takes a path string with a `/`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use syscalls::Errno;

/// Converts a validated name (no NUL) to a C string.
fn cname(name: &[u8]) -> Result<CString, Errno> {
    CString::new(name).map_err(|_| Errno::EINVAL)
}

/// `openat(dir, name, flags | O_CLOEXEC)`, retrying on EINTR.
pub fn openat(dir: BorrowedFd<'_>, name: &[u8], flags: i32) -> Result<OwnedFd, Errno> {
    openat_mode(dir, name, flags, 0)
}

/// `openat(dir, name, flags | O_CLOEXEC, mode)`, retrying on EINTR.
pub fn openat_mode(dir: BorrowedFd<'_>, name: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    let c = cname(name)?;
    loop {
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
        // `dir` is a live fd. `mode` is only read with O_CREAT.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
        if fd >= 0 {
            // SAFETY: the kernel just returned this fd to us; nobody else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// `fstat(fd)`; works on `O_PATH` fds.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `st` points to writable memory of the right size.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fstat succeeded and filled the struct (it was zeroed anyway).
    Ok(unsafe { st.assume_init() })
}

/// `fstatfs(fd)`; works on `O_PATH` fds.
pub fn fstatfs(fd: BorrowedFd<'_>) -> Result<libc::statfs64, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::statfs64>::zeroed();
    // SAFETY: `st` points to writable memory of the right size.
    let r = unsafe { libc::fstatfs64(fd.as_raw_fd(), st.as_mut_ptr()) };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fstatfs succeeded and filled the struct (it was zeroed anyway).
    Ok(unsafe { st.assume_init() })
}

/// `readlinkat(fd, "")`: the target of the symlink `fd` (an `O_PATH` fd).
pub fn readlink_fd(fd: BorrowedFd<'_>, max: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; max];
    // SAFETY: the path is a static empty C string; `buf` is writable for `max` bytes.
    let n = unsafe { libc::readlinkat(fd.as_raw_fd(), c"".as_ptr(), buf.as_mut_ptr().cast(), max) };
    if n < 0 {
        return Err(Errno::last());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// `lseek(fd, off, SEEK_SET)` with a directory cookie.
pub fn seek_dir(fd: BorrowedFd<'_>, off: u64) -> Result<(), Errno> {
    // Directory cookies are opaque; the kernel validates them.
    // SAFETY: plain syscall on a live fd.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), off as libc::off_t, libc::SEEK_SET) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// `getdents64(fd, buf)`: returns the number of bytes filled (0 at the end).
pub fn getdents64(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes for the whole call.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// Replaces the file status flags (`F_SETFL`).
pub fn set_status_flags(fd: BorrowedFd<'_>, flags: i32) -> Result<(), Errno> {
    // SAFETY: plain fcntl on a live fd with an integer argument.
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// One raw `linux_dirent64` record parsed from a getdents64 buffer.
pub struct RawDirent<'a> {
    /// Inode.
    pub ino: u64,
    /// Cookie after this entry.
    pub off: u64,
    /// `DT_*`.
    pub dtype: u8,
    /// Name without the NUL.
    pub name: &'a [u8],
    /// Record length in the buffer.
    pub reclen: usize,
}

/// Parses the record at the start of `buf` (bounds-checked: `None` if short).
pub fn parse_dirent(buf: &[u8]) -> Option<RawDirent<'_>> {
    const NAME_OFF: usize = 19;
    let ino = u64::from_ne_bytes(buf.get(0..8)?.try_into().ok()?);
    let off = u64::from_ne_bytes(buf.get(8..16)?.try_into().ok()?);
    let reclen = u16::from_ne_bytes(buf.get(16..18)?.try_into().ok()?) as usize;
    let dtype = *buf.get(18)?;
    if reclen < NAME_OFF {
        return None;
    }
    let raw = buf.get(NAME_OFF..reclen)?;
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Some(RawDirent {
        ino,
        off,
        dtype,
        name: &raw[..len],
        reclen,
    })
}

/// Sends one packet, donating `fd` with `SCM_RIGHTS` if given. Never raises SIGPIPE.
pub fn send_packet(sock: BorrowedFd<'_>, data: &[u8], fd: Option<BorrowedFd<'_>>) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // Space for one int-sized control message, aligned as cmsghdr requires.
    let mut cbuf = [0u64; 8];
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        let raw = fd.as_raw_fd();
        // SAFETY: CMSG_SPACE is a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points to `cbuf` (64 bytes, aligned for cmsghdr),
        // which is at least CMSG_SPACE(sizeof(int)) bytes, so CMSG_FIRSTHDR is
        // non-null and the header and data lie within the buffer.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), raw);
        }
    }
    loop {
        // SAFETY: `msg` references `iov`/`cbuf`, both alive for the call.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return if n as usize == data.len() {
                Ok(())
            } else {
                Err(Errno::EIO)
            };
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// A received packet.
pub struct Packet {
    /// Bytes received (at most the buffer size).
    pub len: usize,
    /// The packet was longer than the buffer (rest discarded by the kernel).
    pub truncated: bool,
    /// Fds donated with the packet (already `O_CLOEXEC`).
    pub fds: Vec<OwnedFd>,
}

/// Receives one packet into `buf`. With `accept_fds` false no control buffer
/// is offered, so the kernel closes any fds the peer tried to pass.
pub fn recv_packet(sock: BorrowedFd<'_>, buf: &mut [u8], accept_fds: bool) -> Result<Packet, Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 16];
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if accept_fds {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
    }
    let n = loop {
        // SAFETY: `msg` references `iov` (over `buf`) and `cbuf`, alive for the call.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    if accept_fds {
        // SAFETY: the kernel filled msg_control/msg_controllen; the CMSG_*
        // macros walk only within that range. Each SCM_RIGHTS payload is an
        // array of ints the kernel installed in our fd table, which we take
        // ownership of exactly once.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(cmsg);
                    let header = data.offset_from(cmsg.cast::<u8>()) as usize;
                    let bytes = (*cmsg).cmsg_len.saturating_sub(header);
                    for i in 0..bytes / std::mem::size_of::<libc::c_int>() {
                        let fd = std::ptr::read_unaligned(data.cast::<libc::c_int>().add(i));
                        if fd >= 0 {
                            fds.push(OwnedFd::from_raw_fd(fd));
                        }
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
    }
    let truncated = msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0;
    Ok(Packet {
        len: n.min(buf.len()),
        truncated,
        fds,
    })
}

/// `open("/", O_PATH | O_DIRECTORY)`: the root after `pivot_root`.
pub fn openat_cwd_root() -> Result<OwnedFd, Errno> {
    // SAFETY: static NUL-terminated path; no mode needed without O_CREAT.
    let fd = unsafe { libc::open(c"/".as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Turns a raw syscall result into `Ok(value)` or the errno, retrying the
/// call while it fails with EINTR.
fn retry(mut f: impl FnMut() -> libc::c_long) -> Result<libc::c_long, Errno> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// `mkdirat(dir, name, mode)`.
pub fn mkdirat(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: `c` is a valid C string alive for the call; `dir` is a live fd.
    retry(|| unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) } as libc::c_long).map(drop)
}

/// `mknodat(dir, name, mode, 0)` (FIFOs and socket nodes only; the server
/// checks the type).
pub fn mknodat(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: `c` is a valid C string alive for the call; `dir` is a live fd.
    retry(|| unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), mode, 0) } as libc::c_long).map(drop)
}

/// `symlinkat(target, dir, name)`.
pub fn symlinkat(target: &[u8], dir: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    let t = cname(target)?;
    let c = cname(name)?;
    // SAFETY: both C strings are valid and alive for the call; `dir` is a live fd.
    retry(|| unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) } as libc::c_long).map(drop)
}

/// `linkat(node, "", dir, name, AT_EMPTY_PATH)`: a new name for the node
/// behind an `O_PATH` fd (needs CAP_DAC_READ_SEARCH, which the gofer has).
pub fn link_fd(node: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: the C strings are valid and alive for the call; the fds are live.
    retry(|| unsafe {
        libc::linkat(
            node.as_raw_fd(),
            c"".as_ptr(),
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    } as libc::c_long)
    .map(drop)
}

/// `linkat(old_dir, old, new_dir, new, 0)` (never follows a symlink `old`).
pub fn linkat(old_dir: BorrowedFd<'_>, old: &[u8], new_dir: BorrowedFd<'_>, new: &[u8]) -> Result<(), Errno> {
    let o = cname(old)?;
    let n = cname(new)?;
    // SAFETY: both C strings are valid and alive for the call; the fds are live.
    retry(
        || unsafe { libc::linkat(old_dir.as_raw_fd(), o.as_ptr(), new_dir.as_raw_fd(), n.as_ptr(), 0) } as libc::c_long,
    )
    .map(drop)
}

/// `unlinkat(dir, name, flags)`.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &[u8], flags: i32) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: `c` is a valid C string alive for the call; `dir` is a live fd.
    retry(|| unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) } as libc::c_long).map(drop)
}

/// `renameat2(old_dir, old, new_dir, new, flags)`.
pub fn renameat2(
    old_dir: BorrowedFd<'_>,
    old: &[u8],
    new_dir: BorrowedFd<'_>,
    new: &[u8],
    flags: u32,
) -> Result<(), Errno> {
    let o = cname(old)?;
    let n = cname(new)?;
    // SAFETY: both C strings are valid and alive for the call; the fds are live.
    retry(|| unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            old_dir.as_raw_fd(),
            o.as_ptr(),
            new_dir.as_raw_fd(),
            n.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// `fchownat(fd, "", uid, gid, AT_EMPTY_PATH)`: works on `O_PATH` fds and
/// never follows a symlink (the fd is the node itself). `u32::MAX` leaves
/// an id unchanged.
pub fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: static empty C string; `fd` is live.
    retry(|| unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) } as libc::c_long)
        .map(drop)
}

/// `fchmodat2(fd, "", mode, AT_EMPTY_PATH)` on an `O_PATH` fd (Linux 6.6+;
/// ENOSYS before, when the caller reopens the node instead).
pub fn chmod_path_fd(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    const SYS_FCHMODAT2: libc::c_long = 452;
    // SAFETY: static empty C string; `fd` is live.
    retry(|| unsafe { libc::syscall(SYS_FCHMODAT2, fd.as_raw_fd(), c"".as_ptr(), mode, libc::AT_EMPTY_PATH) }).map(drop)
}

/// `fchmod(fd, mode)` on an fd opened for I/O.
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall on a live fd.
    retry(|| unsafe { libc::fchmod(fd.as_raw_fd(), mode) } as libc::c_long).map(drop)
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH)`: the node behind an `O_PATH`
/// fd (a symlink's own times for a symlink).
pub fn utimens_fd(fd: BorrowedFd<'_>, atime: (i64, i64), mtime: (i64, i64)) -> Result<(), Errno> {
    let ts = [
        libc::timespec {
            tv_sec: atime.0,
            tv_nsec: atime.1,
        },
        libc::timespec {
            tv_sec: mtime.0,
            tv_nsec: mtime.1,
        },
    ];
    // SAFETY: `ts` holds two timespecs alive for the call; static empty path.
    retry(|| unsafe { libc::utimensat(fd.as_raw_fd(), c"".as_ptr(), ts.as_ptr(), libc::AT_EMPTY_PATH) } as libc::c_long)
        .map(drop)
}

/// `ftruncate(fd, size)`.
pub fn ftruncate(fd: BorrowedFd<'_>, size: u64) -> Result<(), Errno> {
    let size = libc::off_t::try_from(size).map_err(|_| Errno::EFBIG)?;
    // SAFETY: plain syscall on a live fd.
    retry(|| unsafe { libc::ftruncate(fd.as_raw_fd(), size) } as libc::c_long).map(drop)
}

/// `fgetxattr(fd, name)`: the whole value (at most `max` bytes, else E2BIG).
pub fn fgetxattr(fd: BorrowedFd<'_>, name: &[u8], max: usize) -> Result<Vec<u8>, Errno> {
    let c = cname(name)?;
    let mut buf = vec![0u8; max];
    // SAFETY: `c` is a valid C string; `buf` is writable for `max` bytes.
    let n =
        retry(|| unsafe { libc::fgetxattr(fd.as_raw_fd(), c.as_ptr(), buf.as_mut_ptr().cast(), max) } as libc::c_long)
            .map_err(|e| if e == Errno::ERANGE { Errno::E2BIG } else { e })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// `flistxattr(fd)`: the NUL-terminated names (at most `max` bytes, else E2BIG).
pub fn flistxattr(fd: BorrowedFd<'_>, max: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; max];
    // SAFETY: `buf` is writable for `max` bytes.
    let n = retry(|| unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), max) } as libc::c_long)
        .map_err(|e| if e == Errno::ERANGE { Errno::E2BIG } else { e })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// `fsetxattr(fd, name, value, flags)`.
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &[u8], value: &[u8], flags: i32) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: `c` is a valid C string; `value` is readable for its length.
    retry(
        || unsafe { libc::fsetxattr(fd.as_raw_fd(), c.as_ptr(), value.as_ptr().cast(), value.len(), flags) }
            as libc::c_long,
    )
    .map(drop)
}

/// `fremovexattr(fd, name)`.
pub fn fremovexattr(fd: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    let c = cname(name)?;
    // SAFETY: `c` is a valid C string alive for the call.
    retry(|| unsafe { libc::fremovexattr(fd.as_raw_fd(), c.as_ptr()) } as libc::c_long).map(drop)
}
