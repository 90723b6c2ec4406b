//! Socket names and connection setup: `bind`, `listen`, `accept`,
//! `accept4`, `connect`, `getsockname`, `getpeername`, and the lookup of
//! unix addresses through the VFS (a path names the socket bound to that
//! inode: Linux's `unix_find_bsd`). Addresses are copied in and out with
//! Linux's `move_addr_to_kernel`/`move_addr_to_user` rules.

use super::socket::{creator, install, nonblocking, sock_of};
use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use crate::net::addr::{parse_inet, parse_unix, unnamed_unix, SockAddr, UnixAddr, UnixTarget};
use crate::net::unix::{Binding, DgramPeer, SockType, UnixSocket};
use crate::net::{inet, names};
use crate::vfs::open::{may_create, new_owner};
use crate::vfs::perm::{self, MAY_WRITE};
use crate::vfs::{self, LastKind};
use std::sync::Arc;
use syscalls::Errno;

/// `sizeof(struct sockaddr_storage)`: the longest address accepted.
const SOCKADDR_STORAGE: i64 = 128;

/// Reads a guest `sockaddr` of `len` bytes (EINVAL beyond 128 or below 0).
pub(super) fn read_sockaddr(task: &Task, addr: u64, len: i64) -> Result<Vec<u8>, Errno> {
    if !(0..=SOCKADDR_STORAGE).contains(&len) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    task.mm.read_vec(addr, len as usize)
}

/// Copies `bytes` out as an address: as much as the guest's `*len_addr`
/// allows, then the full length into `*len_addr`.
pub(super) fn put_addr(task: &Task, addr: u64, len_addr: u64, bytes: &[u8]) -> Result<(), Errno> {
    let len: i32 = task.mm.read_obj(len_addr)?;
    let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?;
    let n = len.min(bytes.len());
    if n > 0 {
        task.mm.write(addr, &bytes[..n])?;
    }
    task.mm.write_obj(len_addr, &(bytes.len() as u32))?;
    Ok(())
}

/// The bytes of `sock`'s own name.
fn local_bytes(sock: &UnixSocket) -> Vec<u8> {
    match sock.named().local.clone() {
        Some(a) => a.to_bytes(),
        None if sock.is_inet() => inet::unbound_name(sock.domain()).to_bytes(),
        None => unnamed_unix(),
    }
}

/// The bytes of a peer name (`None`: an unnamed unix peer).
pub(super) fn peer_bytes(peer: Option<SockAddr>) -> Vec<u8> {
    peer.map_or_else(unnamed_unix, |a| a.to_bytes())
}

/// Creates the socket node `path` (mode 0777 less the umask) and returns
/// its identity; EADDRINUSE when the name exists.
fn make_socket_node(task: &Task, path: &[u8]) -> Result<(u64, u64), Errno> {
    let start = vfs::start_location(task, libc::AT_FDCWD, path)?;
    let walker = task.fs.walker(&task.creds);
    let p = walker.resolve_parent(&start, path)?;
    if p.kind != LastKind::Normal || walker.lookup_in(&p.parent, &p.last)?.is_some() {
        return Err(Errno::EADDRINUSE);
    }
    may_create(&task.creds, &p.parent)?;
    let owner = new_owner(&task.creds, &p.parent)?;
    let mode = libc::S_IFSOCK | (0o777 & !task.fs.umask);
    p.parent
        .inode()
        .mknod(&p.last, mode, owner)
        .map_err(|e| if e == Errno::EEXIST { Errno::EADDRINUSE } else { e })?;
    crate::fs::inotify::on_create(&p.parent, &p.last, false);
    // Identify the node as a later lookup will see it.
    let node = walker.lookup_in(&p.parent, &p.last)?.ok_or(Errno::ENOENT)?;
    let st = node.inode().stat()?;
    Ok((st.st_dev, st.st_ino))
}

fn unix_bind(task: &Task, sock: &Arc<UnixSocket>, raw: &[u8]) -> Result<(), Errno> {
    let target = parse_unix(raw)?;
    if sock.named().local.is_some() {
        return Err(Errno::EINVAL);
    }
    let (addr, binding) = match target {
        UnixTarget::Auto => {
            let name = names::autobind(sock)?;
            (UnixAddr::Abstract(name.clone()), Binding::Abstract(name))
        }
        UnixTarget::Addr(UnixAddr::Abstract(name)) => {
            names::bind_abstract(&name, sock)?;
            (UnixAddr::Abstract(name.clone()), Binding::Abstract(name))
        }
        UnixTarget::Addr(UnixAddr::Path(path)) => {
            let key = make_socket_node(task, &path)?;
            names::bind_node(key, sock)?;
            (UnixAddr::Path(path), Binding::Node(key.0, key.1))
        }
    };
    let mut n = sock.named();
    n.local = Some(SockAddr::Unix(addr));
    n.binding = Some(binding);
    Ok(())
}

/// The socket a unix address names: ENOENT/EACCES from the path walk,
/// EACCES without write permission on the node, ECONNREFUSED when no
/// socket is bound there.
fn unix_find(task: &Task, addr: &UnixAddr) -> Result<Arc<UnixSocket>, Errno> {
    match addr {
        UnixAddr::Abstract(name) => names::lookup_abstract(name).ok_or(Errno::ECONNREFUSED),
        UnixAddr::Path(path) => {
            let start = vfs::start_location(task, libc::AT_FDCWD, path)?;
            let loc = task.fs.walker(&task.creds).resolve(&start, path, true)?;
            let st = loc.inode().stat()?;
            perm::check(&task.creds, &st, MAY_WRITE)?;
            if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            names::lookup_node((st.st_dev, st.st_ino)).ok_or(Errno::ECONNREFUSED)
        }
    }
}

/// Finds the datagram socket a unix `sendto` address names.
pub(super) fn unix_dgram_target(task: &Task, raw: &[u8]) -> Result<Arc<UnixSocket>, Errno> {
    let UnixTarget::Addr(addr) = parse_unix(raw)? else {
        return Err(Errno::EINVAL);
    };
    let target = unix_find(task, &addr)?;
    if target.sock_type() != SockType::Dgram {
        return Err(Errno(libc::EPROTOTYPE));
    }
    Ok(target)
}

/// Parses an inet bind address (an `AF_INET` socket accepts `AF_UNSPEC`
/// with the any address, as Linux does for old programs).
fn inet_bind_addr(domain: i32, raw: &[u8]) -> Result<SockAddr, Errno> {
    let min = if domain == libc::AF_INET { 16 } else { 24 };
    if raw.len() < min {
        return Err(Errno::EINVAL);
    }
    match parse_inet(domain, raw)? {
        Some(a) => Ok(a),
        None if domain == libc::AF_INET && raw[4..8] == [0; 4] => {
            let mut fixed = raw.to_vec();
            fixed[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            parse_inet(domain, &fixed)?.ok_or(Errno::EAFNOSUPPORT)
        }
        None => Err(Errno::EAFNOSUPPORT),
    }
}

/// bind(fd, addr, addrlen).
pub fn sys_bind(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::bind(task, &nl, args);
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::bind(task, &hs, args);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    let raw = read_sockaddr(task, args.u64(1), i64::from(args.i32(2)))?;
    if sock.is_inet() {
        let addr = inet_bind_addr(sock.domain(), &raw)?;
        inet::bind(&sock, &addr, task.creds.euid == 0)?;
    } else {
        unix_bind(task, &sock, &raw)?;
    }
    Ok(0)
}

/// listen(fd, backlog).
pub fn sys_listen(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if super::netlink::lookup(task, args.i32(0))?.is_some() {
        return super::netlink::unsupported();
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::listen(&hs, args);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    if sock.is_inet() {
        inet::listen(&sock, args.i32(1), creator(task))?;
    } else {
        sock.listen(args.i32(1), creator(task))?;
    }
    Ok(0)
}

fn do_accept(task: &Task, fd: i32, addr: u64, len_addr: u64, flags: i32) -> SysResult {
    if super::netlink::lookup(task, fd)?.is_some() {
        return super::netlink::unsupported();
    }
    if let Some((file, hs)) = super::hostinet::lookup(task, fd)? {
        return super::hostinet::accept(task, &file, &hs, addr, len_addr, flags);
    }
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (file, sock) = sock_of(task, fd)?;
    let conn = sock.accept(nonblocking(&file))?;
    let peer = conn.named().peer.clone();
    let newfd = install(
        task,
        conn,
        flags & libc::SOCK_NONBLOCK != 0,
        flags & libc::SOCK_CLOEXEC != 0,
    )?;
    if addr != 0 {
        if let Err(e) = put_addr(task, addr, len_addr, &peer_bytes(peer)) {
            let _ = task.fds.remove(newfd);
            return Err(e);
        }
    }
    Ok(newfd as u64)
}

/// accept(fd, addr, addrlen).
pub fn sys_accept(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_accept(task, args.i32(0), args.u64(1), args.u64(2), 0)
}

/// accept4(fd, addr, addrlen, flags).
pub fn sys_accept4(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_accept(task, args.i32(0), args.u64(1), args.u64(2), args.i32(3))
}

fn unix_connect(task: &Task, sock: &Arc<UnixSocket>, raw: &[u8], nonblock: bool) -> Result<(), Errno> {
    let dgram = sock.sock_type() == SockType::Dgram;
    if dgram && raw.len() >= 2 && u16::from_ne_bytes([raw[0], raw[1]]) == libc::AF_UNSPEC as u16 {
        sock.set_dgram_peer(None);
        return Ok(());
    }
    let UnixTarget::Addr(addr) = parse_unix(raw)? else {
        return Err(Errno::EINVAL);
    };
    let peer = unix_find(task, &addr)?;
    if peer.sock_type() != sock.sock_type() {
        return Err(Errno(libc::EPROTOTYPE));
    }
    let peer_name = peer.named().local.clone();
    if dgram {
        let name = peer_name.unwrap_or(SockAddr::Unix(addr));
        sock.set_dgram_peer(Some(DgramPeer::Unix(name, Arc::downgrade(&peer))));
        return Ok(());
    }
    let mine = sock.named().local.clone();
    sock.connect_to(&peer, creator(task), nonblock, true, mine, peer_name)
}

/// connect(fd, addr, addrlen).
pub fn sys_connect(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::connect(task, &nl, args);
    }
    if let Some((file, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::connect(task, &file, &hs, args);
    }
    let (file, sock) = sock_of(task, args.i32(0))?;
    let raw = read_sockaddr(task, args.u64(1), i64::from(args.i32(2)))?;
    let nonblock = nonblocking(&file);
    if sock.is_inet() {
        if raw.len() < 2 {
            return Err(Errno::EINVAL);
        }
        let addr = parse_inet(sock.domain(), &raw)?;
        inet::connect(&sock, addr.as_ref(), creator(task), nonblock)?;
    } else {
        unix_connect(task, &sock, &raw, nonblock)?;
    }
    Ok(0)
}

/// getsockname(fd, addr, addrlen).
pub fn sys_getsockname(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::name(task, &nl, args, false);
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::name(task, &hs, args, false);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    put_addr(task, args.u64(1), args.u64(2), &local_bytes(&sock))?;
    Ok(0)
}

/// getpeername(fd, addr, addrlen): ENOTCONN without a peer.
pub fn sys_getpeername(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if let Some((_, nl)) = super::netlink::lookup(task, args.i32(0))? {
        return super::netlink::name(task, &nl, args, true);
    }
    if let Some((_, hs)) = super::hostinet::lookup(task, args.i32(0))? {
        return super::hostinet::name(task, &hs, args, true);
    }
    let (_, sock) = sock_of(task, args.i32(0))?;
    let peer = {
        let n = sock.named();
        let by_address = sock.sock_type() == SockType::Dgram && n.dgram_peer.is_some();
        (by_address || sock.is_connected()).then(|| n.peer.clone())
    };
    let peer = peer.ok_or(Errno::ENOTCONN)?;
    put_addr(task, args.u64(1), args.u64(2), &peer_bytes(peer))?;
    Ok(0)
}
