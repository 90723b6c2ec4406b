//! Socket syscalls: `socket`, `socketpair`, send/recv in all their forms,
//! `shutdown` and socket options, for unix domain sockets and loopback
//! TCP/UDP (all served by [`crate::net`]; netlink sockets are handed to
//! [`super::netlink`]); names and connection setup are
//! in [`super::socket_name`].
//!
//! Ancillary data is decoded and encoded here: `SCM_RIGHTS` files are taken
//! from the sender's fd table at send time and installed into the
//! receiver's at receive time; `SCM_CREDENTIALS` are checked against the
//! sender's credentials.

use super::socket_name::{read_sockaddr, unix_dgram_target};
use super::{SysResult, SyscallArgs};
use crate::kernel::caps;
use crate::kernel::Task;
use crate::mm::io::IoVec;
use crate::net::addr::parse_inet;
use crate::net::unix::{
    raise_sigpipe, socket_of, SendAncillary, SockType, SocketFile, Ucred, UnixSocket, EOPNOTSUPP, SCM_MAX_FD,
};
use crate::vfs::{FileDescription, FileRef};
use std::sync::Arc;
use syscalls::{Errno, Pod};

/// Linux's cap on one transfer (`MAX_RW_COUNT`).
const MAX_RW: u64 = 0x7fff_f000;
/// Largest guest buffer staged in the sentry per stream send.
pub(super) const STREAM_CHUNK: usize = 1 << 20;
/// Largest datagram any send buffer admits (twice the doubled maximum).
const MAX_DGRAM: u64 = 8 << 20;
/// Largest control buffer a send may pass (`net.core.optmem_max`).
pub(super) const OPTMEM_MAX: u64 = 131_072;
/// `sizeof(struct cmsghdr)`.
pub(super) const CMSG_HDR: usize = 16;

/// The guest's `struct msghdr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct MsgHdr {
    pub(super) name: u64,
    pub(super) namelen: u32,
    _pad1: u32,
    pub(super) iov: u64,
    pub(super) iovlen: u64,
    pub(super) control: u64,
    pub(super) controllen: u64,
    pub(super) flags: i32,
    _pad2: i32,
}

// SAFETY: repr(C), integer fields with explicit padding, every bit pattern valid.
unsafe impl Pod for MsgHdr {}

const fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

pub(super) fn sock_of(task: &Task, fd: i32) -> Result<(FileRef, Arc<UnixSocket>), Errno> {
    let file = task.fds.get(fd)?;
    let sock = socket_of(&file)?;
    Ok((file, sock))
}

pub(super) fn nonblocking(file: &FileRef) -> bool {
    file.flags() & libc::O_NONBLOCK != 0
}

/// Splits `type` into the socket type and its SOCK_NONBLOCK/SOCK_CLOEXEC flags.
fn split_type(raw: i32) -> Result<(i32, bool, bool), Errno> {
    let flags = raw & !0xf;
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let ty = raw & 0xf;
    // SOCK_MAX is 11 (SOCK_PACKET + 1).
    if ty > 10 {
        return Err(Errno::EINVAL);
    }
    Ok((ty, flags & libc::SOCK_NONBLOCK != 0, flags & libc::SOCK_CLOEXEC != 0))
}

/// Validates an `AF_UNIX` type and protocol.
fn unix_type(ty: i32, protocol: i32) -> Result<SockType, Errno> {
    if protocol != 0 && protocol != libc::PF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    SockType::from_raw(ty).ok_or(Errno::ESOCKTNOSUPPORT)
}

pub(super) fn install(task: &Task, sock: Arc<UnixSocket>, nonblock: bool, cloexec: bool) -> Result<i32, Errno> {
    let flags = libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 };
    let file = FileDescription::new(SocketFile::new_boxed(sock), flags, None);
    task.fds.insert(file, cloexec, 0, task.limits.nofile())
}

pub(super) fn creator(task: &Task) -> Ucred {
    Ucred {
        pid: task.tgid,
        uid: task.creds.euid,
        gid: task.creds.egid,
    }
}

/// Validates an `AF_INET`/`AF_INET6` type and protocol: TCP and UDP only.
fn inet_type(ty: i32, protocol: i32) -> Result<SockType, Errno> {
    match (ty, protocol) {
        (libc::SOCK_STREAM, 0 | libc::IPPROTO_TCP) => Ok(SockType::Stream),
        (libc::SOCK_DGRAM, 0 | libc::IPPROTO_UDP) => Ok(SockType::Dgram),
        (libc::SOCK_STREAM | libc::SOCK_DGRAM | libc::SOCK_RAW, _) => Err(Errno::EPROTONOSUPPORT),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

/// socket(domain, type, protocol): unconnected `AF_UNIX` sockets and
/// loopback TCP/UDP sockets.
pub fn sys_socket(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (domain, raw, protocol) = (args.i32(0), args.i32(1), args.i32(2));
    if !(0..46).contains(&domain) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let (ty, nonblock, cloexec) = split_type(raw)?;
    let sock = match domain {
        libc::AF_UNIX => UnixSocket::unconnected(unix_type(ty, protocol)?, creator(task)),
        libc::AF_INET | libc::AF_INET6 if crate::net::hostinet::enabled() => {
            let stype = inet_type(ty, protocol)?.raw();
            return super::hostinet::socket(task, domain, stype, nonblock, cloexec);
        }
        libc::AF_INET | libc::AF_INET6 => UnixSocket::unconnected_in(domain, inet_type(ty, protocol)?, creator(task)),
        libc::AF_NETLINK => return super::netlink::socket(task, ty, protocol, nonblock, cloexec),
        // Packet and the rest: no such stack in the sandbox.
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    Ok(install(task, sock, nonblock, cloexec)? as u64)
}

/// socketpair(domain, type, protocol, sv): a connected `AF_UNIX` pair.
pub fn sys_socketpair(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (domain, raw, protocol, sv) = (args.i32(0), args.i32(1), args.i32(2), args.u64(3));
    if !(0..46).contains(&domain) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let (ty, nonblock, cloexec) = split_type(raw)?;
    match domain {
        libc::AF_UNIX => {}
        // These families exist on Linux but have no pairs.
        libc::AF_INET | libc::AF_INET6 | libc::AF_NETLINK => return Err(EOPNOTSUPP),
        _ => return Err(Errno::EAFNOSUPPORT),
    }
    let stype = unix_type(ty, protocol)?;
    let (a, b) = UnixSocket::pair(stype, creator(task));
    let fd0 = install(task, a, nonblock, cloexec)?;
    let fd1 = match install(task, b, nonblock, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.fds.remove(fd0);
            return Err(e);
        }
    };
    if let Err(e) = task.mm.write_obj(sv, &[fd0, fd1]) {
        let _ = task.fds.remove(fd0);
        let _ = task.fds.remove(fd1);
        return Err(e);
    }
    Ok(0)
}

pub(super) fn total_len(iovs: &[IoVec]) -> u64 {
    iovs.iter().map(|v| v.len).sum::<u64>().min(MAX_RW)
}

/// Reads `len` bytes from the iovecs starting `skip` bytes into them.
pub(super) fn gather(task: &Task, iovs: &[IoVec], mut skip: u64, len: usize) -> Result<Vec<u8>, Errno> {
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

/// Copies `data` into the iovecs.
pub(super) fn scatter(task: &Task, iovs: &[IoVec], mut data: &[u8]) -> Result<(), Errno> {
    for iov in iovs {
        if data.is_empty() {
            break;
        }
        let room = iov.len.min(data.len() as u64) as usize;
        task.mm.write(iov.base, &data[..room])?;
        data = &data[room..];
    }
    Ok(())
}

/// Checks explicit credentials like Linux's `scm_check_creds`: a task may
/// claim its own pid and any of its uids/gids; CAP_SYS_ADMIN, CAP_SETUID
/// and CAP_SETGID lift each rule.
fn check_creds(task: &Task, c: &Ucred) -> Result<(), Errno> {
    let cr = &task.creds;
    let pid_ok = c.pid == task.tgid || cr.has_cap(caps::CAP_SYS_ADMIN);
    let uid_ok = [cr.ruid, cr.euid, cr.suid].contains(&c.uid) || cr.has_cap(caps::CAP_SETUID);
    let gid_ok = [cr.rgid, cr.egid, cr.sgid].contains(&c.gid) || cr.has_cap(caps::CAP_SETGID);
    if !(pid_ok && uid_ok && gid_ok) {
        return Err(Errno::EPERM);
    }
    if c.uid == u32::MAX || c.gid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Decodes a send's control buffer into files and credentials.
fn parse_control(task: &Task, control: &[u8], anc: &mut SendAncillary) -> Result<(), Errno> {
    let mut off = 0usize;
    while off + CMSG_HDR <= control.len() {
        let hdr = &control[off..off + CMSG_HDR];
        let len = u64::from_ne_bytes(hdr[..8].try_into().map_err(|_| Errno::EINVAL)?);
        let level = i32::from_ne_bytes(hdr[8..12].try_into().map_err(|_| Errno::EINVAL)?);
        let ty = i32::from_ne_bytes(hdr[12..16].try_into().map_err(|_| Errno::EINVAL)?);
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len < CMSG_HDR || len > control.len() - off {
            return Err(Errno::EINVAL);
        }
        let data = &control[off + CMSG_HDR..off + len];
        if level == libc::SOL_SOCKET {
            match ty {
                libc::SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if anc.rights.len() + n > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for raw in data.chunks_exact(4) {
                        let fd = i32::from_ne_bytes(raw.try_into().map_err(|_| Errno::EINVAL)?);
                        anc.rights.push(task.fds.get(fd)?);
                    }
                }
                libc::SCM_CREDENTIALS => {
                    let c = Ucred::from_bytes(data).ok_or(Errno::EINVAL)?;
                    if data.len() != std::mem::size_of::<Ucred>() {
                        return Err(Errno::EINVAL);
                    }
                    check_creds(task, &c)?;
                    anc.creds = Some(c);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(())
}

/// The common send path of sendto/sendmsg; `addr` is the destination's
/// raw `sockaddr`, if one was given.
fn do_send(
    task: &Task,
    fd: i32,
    iovs: &[IoVec],
    flags: i32,
    addr: Option<Vec<u8>>,
    control: &[u8],
) -> Result<usize, Errno> {
    let (file, sock) = sock_of(task, fd)?;
    let mut dest = None;
    if let Some(raw) = addr {
        match sock.sock_type() {
            // TCP ignores the address; unix streams refuse it.
            SockType::Stream if sock.is_inet() => {}
            SockType::Stream => {
                return Err(if sock.is_connected() {
                    Errno::EISCONN
                } else {
                    EOPNOTSUPP
                })
            }
            SockType::SeqPacket => {}
            SockType::Dgram => dest = Some(raw),
        }
    }
    let sender = Ucred {
        pid: task.tgid,
        uid: task.creds.ruid,
        gid: task.creds.rgid,
    };
    let mut anc = SendAncillary {
        sender,
        ..Default::default()
    };
    parse_control(task, control, &mut anc)?;
    let nonblock = nonblocking(&file);
    let total = total_len(iovs);
    let result = if sock.sock_type() == SockType::Stream {
        // The ancillary data goes with the first chunk only.
        let mut anc = Some(anc);
        send_stream(task, iovs, |data| {
            let a = anc.take().unwrap_or(SendAncillary {
                sender,
                ..Default::default()
            });
            sock.send(data, a, flags, nonblock)
        })
    } else {
        if total > MAX_DGRAM {
            return Err(Errno::EMSGSIZE);
        }
        let data = gather(task, iovs, 0, total as usize)?;
        match dest {
            Some(raw) => send_addressed(task, &sock, &raw, &data, anc, flags, nonblock),
            None => sock.send(&data, anc, flags, nonblock),
        }
    };
    if result == Err(Errno::EPIPE) && flags & libc::MSG_NOSIGNAL == 0 && sock.sigpipe_on_epipe() {
        raise_sigpipe(sender);
    }
    result
}

/// Sends a stream's `iovs` through `send` in chunks of at most
/// [`STREAM_CHUNK`] staged bytes, until all is sent, a chunk goes out short
/// (a nonblocking socket is full) or an error comes; an error after some
/// bytes went out reports those bytes, as Linux does.
pub(super) fn send_stream(
    task: &Task,
    iovs: &[IoVec],
    mut send: impl FnMut(&[u8]) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let total = total_len(iovs);
    let mut done = 0u64;
    loop {
        let want = ((total - done) as usize).min(STREAM_CHUNK);
        let data = gather(task, iovs, done, want)?;
        match send(&data) {
            Ok(n) => {
                done += n as u64;
                if n < want || done >= total {
                    return Ok(done as usize);
                }
            }
            Err(_) if done > 0 => return Ok(done as usize),
            Err(e) => return Err(e),
        }
    }
}

/// getsockopt's copy-out: reads the guest's `optlen` (args 4), asks
/// `value(level, name, optlen)` for the option and writes back as much of
/// it as fits, and its length.
pub(super) fn getsockopt_out(
    task: &Task,
    args: &SyscallArgs,
    value: impl FnOnce(i32, i32, usize) -> Result<Vec<u8>, Errno>,
) -> SysResult {
    let (val_addr, len_addr) = (args.u64(3), args.u64(4));
    let len: i32 = task.mm.read_obj(len_addr)?;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    let value = value(args.i32(1), args.i32(2), len)?;
    let n = len.min(value.len());
    task.mm.write(val_addr, &value[..n])?;
    task.mm.write_obj(len_addr, &(n as u32))?;
    Ok(0)
}

/// A datagram with an explicit destination.
fn send_addressed(
    task: &Task,
    sock: &Arc<UnixSocket>,
    raw: &[u8],
    data: &[u8],
    anc: SendAncillary,
    flags: i32,
    nonblock: bool,
) -> Result<usize, Errno> {
    if flags & libc::MSG_OOB != 0 {
        return Err(EOPNOTSUPP);
    }
    let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
    if sock.is_inet() {
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        return match parse_inet(sock.domain(), raw)? {
            Some(dst) => crate::net::inet::udp_send_to(sock, &dst, data, anc, nonblock),
            None => sock.send(data, anc, flags, nonblock),
        };
    }
    let target = unix_dgram_target(task, raw)?;
    let from = sock.named().local.clone();
    sock.send_dgram_to(&target, data, anc, from, nonblock)
}

/// sendto(fd, buf, len, flags, addr, addrlen).
pub fn sys_sendto(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::sendto(task, &nl, args);
    }
    if let Some((file, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::sendto(task, &file, &hs, args);
    }
    let iov = [IoVec {
        base: args.u64(1),
        len: args.u64(2),
    }];
    let addr = if args.u64(4) != 0 && args.u32(5) != 0 {
        Some(read_sockaddr(task, args.u64(4), i64::from(args.i32(5)))?)
    } else {
        None
    };
    do_send(task, args.i32(0), &iov, args.i32(3), addr, &[]).map(|n| n as u64)
}

/// sendmsg(fd, msg, flags).
pub fn sys_sendmsg(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::sendmsg(task, &nl, args);
    }
    if let Some((file, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::sendmsg(task, &file, &hs, args);
    }
    let msg: MsgHdr = task.mm.read_obj(args.u64(1))?;
    let iovs = task
        .mm
        .read_iovecs(msg.iov, usize::try_from(msg.iovlen).map_err(|_| Errno::EMSGSIZE)?)?;
    if msg.controllen > OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    let control = if msg.controllen >= CMSG_HDR as u64 {
        task.mm.read_vec(msg.control, msg.controllen as usize)?
    } else {
        Vec::new()
    };
    let addr = if msg.name != 0 && msg.namelen != 0 {
        Some(read_sockaddr(task, msg.name, i64::from(msg.namelen).min(128))?)
    } else {
        None
    };
    do_send(task, args.i32(0), &iovs, args.i32(2), addr, &control).map(|n| n as u64)
}

/// Builds a receive's control buffer the way Linux's `put_cmsg` does.
struct ControlWriter {
    out: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl ControlWriter {
    fn room(&self) -> usize {
        self.cap - self.out.len()
    }

    fn push_header(&mut self, len: usize, ty: i32) {
        self.out.extend_from_slice(&(len as u64).to_ne_bytes());
        self.out.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
        self.out.extend_from_slice(&ty.to_ne_bytes());
    }

    /// Appends one message, truncated (and MSG_CTRUNC set) if it does not fit.
    fn put(&mut self, ty: i32, data: &[u8]) {
        if self.room() < CMSG_HDR {
            self.truncated = true;
            return;
        }
        let mut len = CMSG_HDR + data.len();
        if self.room() < len {
            self.truncated = true;
            len = self.room();
        }
        let start = self.out.len();
        self.push_header(len, ty);
        self.out.extend_from_slice(&data[..len - CMSG_HDR]);
        let advance = cmsg_align(CMSG_HDR + data.len()).min(self.cap - start);
        self.out.resize(start + advance, 0);
    }
}

/// Installs received files into the task's table and describes them in
/// `ctl`, as Linux's `scm_detach_fds`: files that do not fit are dropped.
fn deliver_rights(task: &Task, ctl: &mut ControlWriter, rights: Vec<FileRef>, cloexec: bool) {
    let fdmax = ctl.room().saturating_sub(CMSG_HDR) / 4;
    let mut fds: Vec<i32> = Vec::new();
    for file in rights.iter().take(fdmax) {
        match task.fds.insert(file.clone(), cloexec, 0, task.limits.nofile()) {
            Ok(fd) => fds.push(fd),
            Err(_) => break,
        }
    }
    if !fds.is_empty() {
        let data: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
        let start = ctl.out.len();
        ctl.push_header(CMSG_HDR + data.len(), libc::SCM_RIGHTS);
        ctl.out.extend_from_slice(&data);
        let advance = cmsg_align(CMSG_HDR + data.len()).min(ctl.cap - start);
        ctl.out.resize(start + advance, 0);
    }
    if fds.len() < rights.len() {
        ctl.truncated = true;
    }
}

/// What one receive produced for the guest.
struct RecvOutcome {
    ret: usize,
    msg_flags: i32,
    control: Vec<u8>,
    /// The sender's address bytes (empty: none to report).
    from: Vec<u8>,
}

/// The common receive path of recvfrom/recvmsg. `control` is the guest
/// control buffer (address, capacity), `None` for recvfrom.
fn do_recv(
    task: &Task,
    fd: i32,
    iovs: &[IoVec],
    flags: i32,
    control: Option<(u64, usize)>,
) -> Result<RecvOutcome, Errno> {
    let (file, sock) = sock_of(task, fd)?;
    let want = total_len(iovs).min(MAX_DGRAM) as usize;
    let mut buf = vec![0u8; want];
    let r = sock.recv(&mut buf, flags, nonblocking(&file))?;
    scatter(task, iovs, &buf[..r.copied])?;
    let mut msg_flags = flags & libc::MSG_CMSG_CLOEXEC;
    if r.truncated {
        msg_flags |= libc::MSG_TRUNC;
    }
    let ret = if flags & libc::MSG_TRUNC != 0 && sock.sock_type() != SockType::Stream {
        r.full_len
    } else {
        r.copied
    };
    let mut out = Vec::new();
    match control {
        Some((addr, cap)) if addr != 0 => {
            let mut ctl = ControlWriter {
                out: Vec::new(),
                cap,
                truncated: false,
            };
            if let Some(c) = r.creds {
                ctl.put(libc::SCM_CREDENTIALS, c.as_bytes());
            }
            if !r.rights.is_empty() {
                deliver_rights(task, &mut ctl, r.rights, flags & libc::MSG_CMSG_CLOEXEC != 0);
            }
            if ctl.truncated {
                msg_flags |= libc::MSG_CTRUNC;
            }
            out = ctl.out;
        }
        _ => {
            if r.creds.is_some() || !r.rights.is_empty() {
                msg_flags |= libc::MSG_CTRUNC;
            }
        }
    }
    let from = match r.from {
        Some(a) => a.to_bytes(),
        None => Vec::new(),
    };
    Ok(RecvOutcome {
        ret,
        msg_flags,
        control: out,
        from,
    })
}

/// recvfrom(fd, buf, len, flags, addr, addrlen).
pub fn sys_recvfrom(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((file, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::recvfrom(task, &file, &nl, args);
    }
    if let Some((file, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::recvfrom(task, &file, &hs, args);
    }
    let iov = [IoVec {
        base: args.u64(1),
        len: args.u64(2),
    }];
    let out = do_recv(task, args.i32(0), &iov, args.i32(3), None)?;
    let (addr, lenp) = (args.u64(4), args.u64(5));
    if addr != 0 && lenp != 0 {
        // An unnamed sender (and TCP) report an empty address.
        super::socket_name::put_addr(task, addr, lenp, &out.from)?;
    }
    Ok(out.ret as u64)
}

/// recvmsg(fd, msg, flags).
pub fn sys_recvmsg(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((file, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::recvmsg(task, &file, &nl, args);
    }
    if let Some((file, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::recvmsg(task, &file, &hs, args);
    }
    let addr = args.u64(1);
    let mut msg: MsgHdr = task.mm.read_obj(addr)?;
    let iovs = task
        .mm
        .read_iovecs(msg.iov, usize::try_from(msg.iovlen).map_err(|_| Errno::EMSGSIZE)?)?;
    let cap = usize::try_from(msg.controllen.min(i32::MAX as u64)).unwrap_or(0);
    let out = do_recv(task, args.i32(0), &iovs, args.i32(2), Some((msg.control, cap)))?;
    if !out.control.is_empty() {
        task.mm.write(msg.control, &out.control)?;
    }
    if msg.name != 0 {
        let n = (msg.namelen as usize).min(out.from.len());
        if n > 0 {
            task.mm.write(msg.name, &out.from[..n])?;
        }
        msg.namelen = out.from.len() as u32;
    } else {
        msg.namelen = 0;
    }
    msg.controllen = out.control.len() as u64;
    msg.flags = out.msg_flags;
    task.mm.write_obj(addr, &msg)?;
    Ok(out.ret as u64)
}

/// shutdown(fd, how).
pub fn sys_shutdown(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if super::netlink::lookup(task, args.i32(0))?.is_some() {
        return super::netlink::unsupported();
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::shutdown(&hs, args);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    sock.shutdown(args.i32(1))?;
    Ok(0)
}

/// getsockopt(fd, level, name, optval, optlen).
pub fn sys_getsockopt(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::getsockopt(task, &nl, args);
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::getsockopt(task, &hs, args);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    getsockopt_out(task, args, |level, name, _| sock.getsockopt(level, name))
}

/// setsockopt(fd, level, name, optval, optlen).
pub fn sys_setsockopt(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::setsockopt(task, &nl, args);
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::setsockopt(task, &hs, args);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    let len = usize::try_from(args.i32(4)).map_err(|_| Errno::EINVAL)?;
    let value = task.mm.read_vec(args.u64(3), len.min(64))?;
    sock.setsockopt(args.i32(1), args.i32(2), &value)?;
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn type_flags_are_validated_like_linux() {
        assert_eq!(split_type(libc::SOCK_STREAM | libc::SOCK_CLOEXEC), Ok((1, false, true)));
        assert_eq!(split_type(libc::SOCK_DGRAM | 0x100), Err(Errno::EINVAL));
        assert_eq!(split_type(12), Err(Errno::EINVAL));
        assert_eq!(unix_type(9, 0), Err(Errno::ESOCKTNOSUPPORT));
        assert_eq!(unix_type(libc::SOCK_STREAM, 5), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(unix_type(libc::SOCK_RAW, libc::PF_UNIX), Ok(SockType::Dgram));
    }

    #[test]
    fn control_writer_truncates_like_put_cmsg() {
        let mut w = ControlWriter {
            out: Vec::new(),
            cap: 64,
            truncated: false,
        };
        w.put(libc::SCM_CREDENTIALS, &[1; 12]);
        // CMSG_LEN(12) = 28, advanced by CMSG_SPACE(12) = 32.
        assert_eq!(w.out.len(), 32);
        assert_eq!(u64::from_ne_bytes(w.out[..8].try_into().unwrap()), 28);
        assert!(!w.truncated);
        w.put(libc::SCM_CREDENTIALS, &[2; 40]);
        assert!(w.truncated);
        assert_eq!(w.out.len(), 64);
        assert_eq!(u64::from_ne_bytes(w.out[32..40].try_into().unwrap()), 32);
    }
}
