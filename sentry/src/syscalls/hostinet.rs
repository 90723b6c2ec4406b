//! The socket syscalls on host sockets (`--network=host`, see
//! [`crate::net::hostinet`]): each handler of `socket.rs` and
//! `socket_name.rs` hands a host socket's fd here. Guest memory is copied
//! in and out here; the host calls are `HostSocket`'s.

use super::socket::{creator, gather, nonblocking, scatter, total_len, MsgHdr, CMSG_HDR, OPTMEM_MAX, STREAM_CHUNK};
use super::socket_name::{put_addr, read_sockaddr};
use super::{SysResult, SyscallArgs};
use crate::kernel::{caps, Task};
use crate::mm::io::IoVec;
use crate::net::hostinet::{self, opts, HostSocket, HostSocketFile};
use crate::net::unix::{raise_sigpipe, Ucred};
use crate::vfs::{FileDescription, FileRef};
use std::sync::Arc;
use syscalls::Errno;

/// The largest datagram staged (UDP carries at most 65535 bytes).
const MAX_DGRAM: usize = 65_536;

/// The host socket behind `fd`, if it is one (EBADF for a bad fd).
pub(super) fn lookup(task: &Task, fd: i32) -> Result<Option<(FileRef, Arc<HostSocket>)>, Errno> {
    if !hostinet::enabled() {
        return Ok(None);
    }
    let file = task.fds.get(fd)?;
    Ok(hostinet::socket_of(&file).map(|s| (file, s)))
}

fn install(task: &Task, sock: Arc<HostSocket>, nonblock: bool, cloexec: bool) -> Result<i32, Errno> {
    let flags = libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 };
    let file = FileDescription::new(HostSocketFile::new_boxed(sock), flags, None);
    task.fds.insert(file, cloexec, 0, task.limits.nofile())
}

/// socket(AF_INET/AF_INET6, SOCK_STREAM/SOCK_DGRAM, ...) in host mode.
pub(super) fn socket(task: &Task, domain: i32, stype: i32, nonblock: bool, cloexec: bool) -> SysResult {
    let sock = HostSocket::new(domain, stype, creator(task))?;
    Ok(install(task, sock, nonblock, cloexec)? as u64)
}

/// bind(fd, addr, addrlen).
pub(super) fn bind(task: &Task, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let raw = read_sockaddr(task, args.u64(1), i64::from(args.i32(2)))?;
    hs.bind(&raw, task.creds.has_cap(caps::CAP_NET_BIND_SERVICE))?;
    Ok(0)
}

/// listen(fd, backlog).
pub(super) fn listen(hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    hs.listen(args.i32(1))?;
    Ok(0)
}

/// connect(fd, addr, addrlen).
pub(super) fn connect(task: &Task, file: &FileRef, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let raw = read_sockaddr(task, args.u64(1), i64::from(args.i32(2)))?;
    hs.connect(&raw, nonblocking(file))?;
    Ok(0)
}

/// accept/accept4(fd, addr, addrlen, flags).
pub(super) fn accept(task: &Task, file: &FileRef, hs: &HostSocket, addr: u64, len_addr: u64, flags: i32) -> SysResult {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (conn, peer) = hs.accept(nonblocking(file), creator(task))?;
    let newfd = install(
        task,
        conn,
        flags & libc::SOCK_NONBLOCK != 0,
        flags & libc::SOCK_CLOEXEC != 0,
    )?;
    if addr != 0 {
        if let Err(e) = put_addr(task, addr, len_addr, &peer) {
            let _ = task.fds.remove(newfd);
            return Err(e);
        }
    }
    Ok(newfd as u64)
}

/// getsockname/getpeername(fd, addr, addrlen).
pub(super) fn name(task: &Task, hs: &HostSocket, args: &SyscallArgs, peer: bool) -> SysResult {
    let bytes = if peer { hs.peername()? } else { hs.sockname()? };
    put_addr(task, args.u64(1), args.u64(2), &bytes)?;
    Ok(0)
}

/// shutdown(fd, how).
pub(super) fn shutdown(hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    hs.shutdown(args.i32(1))?;
    Ok(0)
}

/// getsockopt(fd, level, name, optval, optlen).
pub(super) fn getsockopt(task: &Task, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    super::socket::getsockopt_out(task, args, |level, name, len| hs.getsockopt(level, name, len))
}

/// setsockopt(fd, level, name, optval, optlen).
pub(super) fn setsockopt(task: &Task, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let len = usize::try_from(args.i32(4)).map_err(|_| Errno::EINVAL)?;
    let value = task.mm.read_vec(args.u64(3), len.min(opts::MAX_OPTLEN))?;
    hs.setsockopt(args.i32(1), args.i32(2), &value)?;
    Ok(0)
}

/// Checks a send's control messages: `SCM_RIGHTS` and `SCM_CREDENTIALS`
/// are ignored on inet sockets (as Linux does); IP-level messages of a
/// UDP send and other socket-level ones would need the host to act on
/// them and are EINVAL; messages of other levels are ignored, as Linux.
fn check_control(control: &[u8], stream: bool) -> Result<(), Errno> {
    let mut off = 0usize;
    while off + CMSG_HDR <= control.len() {
        let hdr = &control[off..off + CMSG_HDR];
        let int = |at: usize| {
            hdr.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_ne_bytes)
        };
        let len = hdr
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
            .ok_or(Errno::EINVAL)?;
        let level = int(8).ok_or(Errno::EINVAL)?;
        let ty = int(12).ok_or(Errno::EINVAL)?;
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
        if len < CMSG_HDR || len > control.len() - off {
            return Err(Errno::EINVAL);
        }
        match level {
            libc::SOL_SOCKET if ty == libc::SCM_RIGHTS || ty == libc::SCM_CREDENTIALS => {}
            libc::SOL_SOCKET => return Err(Errno::EINVAL),
            libc::IPPROTO_IP | libc::IPPROTO_IPV6 if !stream => return Err(Errno::EINVAL),
            _ => {}
        }
        off += (len + 7) & !7;
    }
    Ok(())
}

/// The common send path; `addr` is the raw destination, if any.
fn send(
    task: &Task,
    file: &FileRef,
    hs: &HostSocket,
    iovs: &[IoVec],
    flags: i32,
    addr: Option<Vec<u8>>,
) -> Result<usize, Errno> {
    let nonblock = nonblocking(file);
    let total = total_len(iovs);
    let result = if hs.is_stream() {
        super::socket::send_stream(task, iovs, |data| hs.send(data, addr.as_deref(), flags, nonblock))
    } else {
        if total > MAX_DGRAM as u64 {
            return Err(Errno::EMSGSIZE);
        }
        let data = gather(task, iovs, 0, total as usize)?;
        hs.send(&data, addr.as_deref(), flags, nonblock)
    };
    if result == Err(Errno::EPIPE) && flags & libc::MSG_NOSIGNAL == 0 {
        raise_sigpipe(Ucred {
            pid: task.tgid,
            uid: task.creds.ruid,
            gid: task.creds.rgid,
        });
    }
    result
}

/// sendto(fd, buf, len, flags, addr, addrlen).
pub(super) fn sendto(task: &Task, file: &FileRef, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let iov = [IoVec {
        base: args.u64(1),
        len: args.u64(2),
    }];
    let addr = if args.u64(4) != 0 && args.u32(5) != 0 {
        Some(read_sockaddr(task, args.u64(4), i64::from(args.i32(5)))?)
    } else {
        None
    };
    send(task, file, hs, &iov, args.i32(3), addr).map(|n| n as u64)
}

/// sendmsg(fd, msg, flags).
pub(super) fn sendmsg(task: &Task, file: &FileRef, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let msg: MsgHdr = task.mm.read_obj(args.u64(1))?;
    let iovs = task
        .mm
        .read_iovecs(msg.iov, usize::try_from(msg.iovlen).map_err(|_| Errno::EMSGSIZE)?)?;
    if msg.controllen > OPTMEM_MAX {
        return Err(Errno::ENOBUFS);
    }
    if msg.controllen >= CMSG_HDR as u64 {
        let control = task.mm.read_vec(msg.control, msg.controllen as usize)?;
        check_control(&control, hs.is_stream())?;
    }
    let addr = if msg.name != 0 && msg.namelen != 0 {
        Some(read_sockaddr(task, msg.name, i64::from(msg.namelen).min(128))?)
    } else {
        None
    };
    send(task, file, hs, &iovs, args.i32(2), addr).map(|n| n as u64)
}

/// The common receive path: the data is scattered into `iovs`.
fn recv(task: &Task, file: &FileRef, hs: &HostSocket, iovs: &[IoVec], flags: i32) -> Result<hostinet::Received, Errno> {
    let cap = if hs.is_stream() { STREAM_CHUNK } else { MAX_DGRAM };
    let want = (total_len(iovs) as usize).min(cap);
    let mut buf = vec![0u8; want];
    let r = hs.recv(&mut buf, flags, nonblocking(file))?;
    // MSG_TRUNC may report more than was copied.
    scatter(task, iovs, &buf[..r.len.min(want)])?;
    Ok(r)
}

/// recvfrom(fd, buf, len, flags, addr, addrlen).
pub(super) fn recvfrom(task: &Task, file: &FileRef, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let iov = [IoVec {
        base: args.u64(1),
        len: args.u64(2),
    }];
    let r = recv(task, file, hs, &iov, args.i32(3))?;
    let (addr, lenp) = (args.u64(4), args.u64(5));
    if addr != 0 && lenp != 0 {
        put_addr(task, addr, lenp, &r.from)?;
    }
    Ok(r.len as u64)
}

/// recvmsg(fd, msg, flags): never any control message.
pub(super) fn recvmsg(task: &Task, file: &FileRef, hs: &HostSocket, args: &SyscallArgs) -> SysResult {
    let addr = args.u64(1);
    let mut msg: MsgHdr = task.mm.read_obj(addr)?;
    let iovs = task
        .mm
        .read_iovecs(msg.iov, usize::try_from(msg.iovlen).map_err(|_| Errno::EMSGSIZE)?)?;
    let r = recv(task, file, hs, &iovs, args.i32(2))?;
    if msg.name != 0 {
        let n = (msg.namelen as usize).min(r.from.len());
        if n > 0 {
            task.mm.write(msg.name, &r.from[..n])?;
        }
        msg.namelen = r.from.len() as u32;
    } else {
        msg.namelen = 0;
    }
    msg.controllen = 0;
    msg.flags = r.flags | (args.i32(2) & libc::MSG_CMSG_CLOEXEC);
    task.mm.write_obj(addr, &msg)?;
    Ok(r.len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmsg(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
        let mut v = ((CMSG_HDR + data.len()) as u64).to_ne_bytes().to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize((v.len() + 7) & !7, 0);
        v
    }

    #[test]
    fn send_control_is_checked_like_linux_inet() {
        // SCM_RIGHTS on TCP/UDP is ignored, not an error.
        assert_eq!(
            check_control(&cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[0; 4]), true),
            Ok(())
        );
        assert_eq!(
            check_control(&cmsg(libc::IPPROTO_IP, libc::IP_TTL, &[0; 4]), false),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            check_control(&cmsg(libc::IPPROTO_IP, libc::IP_TTL, &[0; 4]), true),
            Ok(())
        );
        let mut bad = cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[0; 4]);
        bad[..8].copy_from_slice(&100u64.to_ne_bytes());
        assert_eq!(check_control(&bad, true), Err(Errno::EINVAL));
    }
}
