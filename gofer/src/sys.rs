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
    let c = cname(name)?;
    loop {
        // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
        // `dir` is a live fd. The mode argument is unused without O_CREAT.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC, 0) };
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
