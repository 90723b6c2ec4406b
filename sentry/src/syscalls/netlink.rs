//! The socket syscalls on `AF_NETLINK` sockets (see [`crate::net::netlink`]):
//! each handler of `socket.rs` and `socket_name.rs` hands a netlink
//! socket's fd here. Guest memory is copied in and out here.

use super::socket::{creator, gather, nonblocking, scatter, total_len, MsgHdr};
use super::socket_name::{put_addr, read_sockaddr};
use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use crate::mm::io::IoVec;
use crate::net::netlink::{self, NetlinkFile, NetlinkSocket};
use crate::net::unix::EOPNOTSUPP;
use crate::vfs::{FileDescription, FileRef};
use std::sync::Arc;
use syscalls::Errno;

/// The largest request datagram staged.
const MAX_SEND: u64 = 1 << 20;
/// The largest receive buffer staged (replies are far smaller).
const MAX_RECV: u64 = 1 << 20;

/// The netlink socket behind `fd`, if it is one (EBADF for a bad fd).
pub(super) fn lookup(task: &Task, fd: i32) -> Result<Option<(FileRef, Arc<NetlinkSocket>)>, Errno> {
    let file = task.fds.get(fd)?;
    Ok(netlink::socket_of(&file).map(|s| (file, s)))
}

/// socket(AF_NETLINK, SOCK_RAW/SOCK_DGRAM, NETLINK_ROUTE).
pub(super) fn socket(task: &Task, stype: i32, protocol: i32, nonblock: bool, cloexec: bool) -> SysResult {
    let sock = NetlinkSocket::new(stype, protocol, creator(task))?;
    let flags = libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 };
    let file = FileDescription::new(NetlinkFile::new_boxed(sock), flags, None);
    Ok(task.fds.insert(file, cloexec, 0, task.limits.nofile())? as u64)
}

/// bind(fd, addr, addrlen).
pub(super) fn bind(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let raw = read_sockaddr(task, args.u64(1), i64::from(args.i32(2)))?;
    nl.bind(&raw)?;
    Ok(0)
}

/// connect(fd, addr, addrlen).
pub(super) fn connect(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let raw = read_sockaddr(task, args.u64(1), i64::from(args.i32(2)))?;
    nl.connect(&raw)?;
    Ok(0)
}

/// listen/accept/shutdown: netlink has none of them.
pub(super) fn unsupported() -> SysResult {
    Err(EOPNOTSUPP)
}

/// getsockname/getpeername(fd, addr, addrlen).
pub(super) fn name(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs, peer: bool) -> SysResult {
    put_addr(task, args.u64(1), args.u64(2), &nl.name(peer))?;
    Ok(0)
}

fn send(task: &Task, nl: &NetlinkSocket, iovs: &[IoVec], addr: Option<Vec<u8>>) -> SysResult {
    let total = total_len(iovs);
    if total > MAX_SEND {
        return Err(Errno::EMSGSIZE);
    }
    let data = gather(task, iovs, 0, total as usize)?;
    Ok(nl.send(&data, addr.as_deref())? as u64)
}

/// sendto(fd, buf, len, flags, addr, addrlen).
pub(super) fn sendto(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let iov = [IoVec {
        base: args.u64(1),
        len: args.u64(2),
    }];
    let addr = if args.u64(4) != 0 && args.u32(5) != 0 {
        Some(read_sockaddr(task, args.u64(4), i64::from(args.i32(5)))?)
    } else {
        None
    };
    send(task, nl, &iov, addr)
}

/// sendmsg(fd, msg, flags): control messages are ignored.
pub(super) fn sendmsg(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let msg: MsgHdr = task.mm.read_obj(args.u64(1))?;
    let iovs = task
        .mm
        .read_iovecs(msg.iov, usize::try_from(msg.iovlen).map_err(|_| Errno::EMSGSIZE)?)?;
    let addr = if msg.name != 0 && msg.namelen != 0 {
        Some(read_sockaddr(task, msg.name, i64::from(msg.namelen).min(128))?)
    } else {
        None
    };
    send(task, nl, &iovs, addr)
}

/// One datagram receive: (return value, msg_flags).
fn recv(task: &Task, file: &FileRef, nl: &NetlinkSocket, iovs: &[IoVec], flags: i32) -> Result<(u64, i32), Errno> {
    let want = total_len(iovs).min(MAX_RECV) as usize;
    let mut buf = vec![0u8; want];
    let r = nl.recv(&mut buf, flags, nonblocking(file))?;
    scatter(task, iovs, &buf[..r.copied])?;
    let msg_flags = if r.copied < r.full_len { libc::MSG_TRUNC } else { 0 };
    let ret = if flags & libc::MSG_TRUNC != 0 {
        r.full_len
    } else {
        r.copied
    };
    Ok((ret as u64, msg_flags))
}

/// recvfrom(fd, buf, len, flags, addr, addrlen): the sender is the kernel.
pub(super) fn recvfrom(task: &Task, file: &FileRef, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let iov = [IoVec {
        base: args.u64(1),
        len: args.u64(2),
    }];
    let (ret, _) = recv(task, file, nl, &iov, args.i32(3))?;
    if args.u64(4) != 0 && args.u64(5) != 0 {
        put_addr(task, args.u64(4), args.u64(5), &netlink::sockaddr_nl(0, 0))?;
    }
    Ok(ret)
}

/// recvmsg(fd, msg, flags): no control messages (NETLINK_PKTINFO is not
/// reported).
pub(super) fn recvmsg(task: &Task, file: &FileRef, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let addr = args.u64(1);
    let mut msg: MsgHdr = task.mm.read_obj(addr)?;
    let iovs = task
        .mm
        .read_iovecs(msg.iov, usize::try_from(msg.iovlen).map_err(|_| Errno::EMSGSIZE)?)?;
    let (ret, flags) = recv(task, file, nl, &iovs, args.i32(2))?;
    if msg.name != 0 {
        let from = netlink::sockaddr_nl(0, 0);
        let n = (msg.namelen as usize).min(from.len());
        if n > 0 {
            task.mm.write(msg.name, &from[..n])?;
        }
        msg.namelen = from.len() as u32;
    } else {
        msg.namelen = 0;
    }
    msg.controllen = 0;
    msg.flags = flags;
    task.mm.write_obj(addr, &msg)?;
    Ok(ret)
}

/// getsockopt(fd, level, name, optval, optlen).
pub(super) fn getsockopt(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    super::socket::getsockopt_out(task, args, |level, name, _| nl.getsockopt(level, name))
}

/// setsockopt(fd, level, name, optval, optlen).
pub(super) fn setsockopt(task: &Task, nl: &NetlinkSocket, args: &SyscallArgs) -> SysResult {
    let len = usize::try_from(args.i32(4)).map_err(|_| Errno::EINVAL)?;
    let value = task.mm.read_vec(args.u64(3), len.min(64))?;
    nl.setsockopt(args.i32(1), args.i32(2), &value)?;
    Ok(0)
}
