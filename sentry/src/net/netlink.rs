//! A minimal `NETLINK_ROUTE` socket: enough rtnetlink for glibc's
//! `getifaddrs()`/`if_nameindex()` and `ip addr`/`ip link` listings. The
//! sandbox has one interface, `lo` (127.0.0.1/8 and ::1/128), and the
//! "kernel" side answers `RTM_GETLINK`/`RTM_GETADDR` from that fixed
//! picture; changes and other request types fail with EOPNOTSUPP. In
//! `--network=host` mode the same picture is shown (host interfaces are
//! not passed through).
//!
//! Replies are queued as datagrams on the socket (a whole dump, ending in
//! `NLMSG_DONE`, is one datagram) and read with datagram semantics.

use super::sockopt;
use super::unix::Ucred;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::inode::next_ino;
use crate::vfs::{FileOps, FileRef};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use syscalls::structs::Stat;
use syscalls::Errno;

/// `SOL_NETLINK`.
pub const SOL_NETLINK: i32 = 270;
/// `sizeof(struct sockaddr_nl)`.
pub const SOCKADDR_NL_LEN: usize = 12;
/// `NLMSG_HDRLEN`.
const HDR: usize = 16;

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// Types below this are netlink control messages.
const NLMSG_MIN_TYPE: u16 = 16;

const NLM_F_REQUEST: u16 = 1;
const NLM_F_MULTI: u16 = 2;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
/// On an ack: the request was not copied back in full.
const NLM_F_CAPPED: u16 = 0x100;

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;

const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_QDISC: u16 = 6;
const IFLA_STATS: u16 = 7;
const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u8 = 0x80;
const RT_SCOPE_HOST: u8 = 254;

const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;
const IFF_LOWER_UP: u32 = 0x10000;
const ARPHRD_LOOPBACK: u16 = 772;

/// `NETLINK_ADD_MEMBERSHIP`/`NETLINK_DROP_MEMBERSHIP`: write-only.
const NETLINK_ADD_MEMBERSHIP: i32 = 1;
const NETLINK_DROP_MEMBERSHIP: i32 = 2;
/// `NETLINK_CAP_ACK`: error replies carry only the request's header.
const NETLINK_CAP_ACK: i32 = 10;

/// `NLMSG_ALIGN`/`RTA_ALIGN`: 4 bytes.
const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends one netlink message (header + payload, padded to 4).
fn push_msg(out: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, pid: u32, payload: &[u8]) {
    let len = HDR + payload.len();
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&pid.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + align4(len) - len, 0);
}

/// Appends one route attribute (padded to 4).
fn push_attr(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(data);
    out.resize(out.len() + align4(len) - len, 0);
}

/// The `RTM_NEWLINK` payload for `lo`.
fn lo_link() -> Vec<u8> {
    let mut p = Vec::new();
    // struct ifinfomsg: family, pad, type, index, flags, change.
    p.push(libc::AF_UNSPEC as u8);
    p.push(0);
    p.extend_from_slice(&ARPHRD_LOOPBACK.to_ne_bytes());
    p.extend_from_slice(&1i32.to_ne_bytes());
    p.extend_from_slice(&(IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP).to_ne_bytes());
    p.extend_from_slice(&0u32.to_ne_bytes());
    push_attr(&mut p, IFLA_IFNAME, b"lo\0");
    push_attr(&mut p, IFLA_TXQLEN, &1000u32.to_ne_bytes());
    push_attr(&mut p, IFLA_OPERSTATE, &[0]);
    push_attr(&mut p, IFLA_LINKMODE, &[0]);
    push_attr(&mut p, IFLA_MTU, &65536u32.to_ne_bytes());
    push_attr(&mut p, IFLA_GROUP, &0u32.to_ne_bytes());
    push_attr(&mut p, IFLA_PROMISCUITY, &0u32.to_ne_bytes());
    push_attr(&mut p, IFLA_NUM_TX_QUEUES, &1u32.to_ne_bytes());
    push_attr(&mut p, IFLA_NUM_RX_QUEUES, &1u32.to_ne_bytes());
    push_attr(&mut p, IFLA_CARRIER, &[1]);
    push_attr(&mut p, IFLA_QDISC, b"noqueue\0");
    push_attr(&mut p, IFLA_ADDRESS, &[0; 6]);
    push_attr(&mut p, IFLA_BROADCAST, &[0; 6]);
    // struct rtnl_link_stats64 (25 u64s) and rtnl_link_stats (24 u32s).
    push_attr(&mut p, IFLA_STATS64, &[0; 200]);
    push_attr(&mut p, IFLA_STATS, &[0; 96]);
    p
}

/// `struct ifa_cacheinfo` of a permanent address.
fn forever() -> Vec<u8> {
    let mut c = Vec::with_capacity(16);
    c.extend_from_slice(&u32::MAX.to_ne_bytes());
    c.extend_from_slice(&u32::MAX.to_ne_bytes());
    c.extend_from_slice(&[0; 8]);
    c
}

/// The `RTM_NEWADDR` payloads for `lo`'s addresses of `family`
/// (`AF_UNSPEC`: all).
fn lo_addrs(family: i32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let header = |fam: i32, prefix: u8| {
        // struct ifaddrmsg: family, prefixlen, flags, scope, index.
        let mut p = vec![fam as u8, prefix, IFA_F_PERMANENT, RT_SCOPE_HOST];
        p.extend_from_slice(&1u32.to_ne_bytes());
        p
    };
    if family == libc::AF_UNSPEC || family == libc::AF_INET {
        let mut p = header(libc::AF_INET, 8);
        push_attr(&mut p, IFA_ADDRESS, &[127, 0, 0, 1]);
        push_attr(&mut p, IFA_LOCAL, &[127, 0, 0, 1]);
        push_attr(&mut p, IFA_LABEL, b"lo\0");
        push_attr(&mut p, IFA_FLAGS, &u32::from(IFA_F_PERMANENT).to_ne_bytes());
        push_attr(&mut p, IFA_CACHEINFO, &forever());
        out.push(p);
    }
    if family == libc::AF_UNSPEC || family == libc::AF_INET6 {
        let mut p = header(libc::AF_INET6, 128);
        let mut one = [0u8; 16];
        one[15] = 1;
        push_attr(&mut p, IFA_ADDRESS, &one);
        push_attr(&mut p, IFA_CACHEINFO, &forever());
        push_attr(&mut p, IFA_FLAGS, &u32::from(IFA_F_PERMANENT).to_ne_bytes());
        out.push(p);
    }
    out
}

/// A parsed `struct nlmsghdr`.
#[derive(Clone, Copy, Debug)]
struct Header {
    len: usize,
    ty: u16,
    flags: u16,
    seq: u32,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn parse_header(b: &[u8]) -> Option<Header> {
    Some(Header {
        len: u32_at(b, 0)? as usize,
        ty: u16_at(b, 4)?,
        flags: u16_at(b, 6)?,
        seq: u32_at(b, 8)?,
    })
}

/// Finds attribute `want` in a run of route attributes.
fn find_attr(mut attrs: &[u8], want: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0)?);
        let ty = u16_at(attrs, 2)?;
        if len < 4 || len > attrs.len() {
            return None;
        }
        if ty == want {
            return Some(&attrs[4..len]);
        }
        attrs = attrs.get(align4(len)..).unwrap_or(&[]);
    }
    None
}

/// Whether a `IFLA_IFNAME` value names `lo`.
fn names_lo(name: &[u8]) -> bool {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    &name[..end] == b"lo"
}

/// The "kernel" side: answers one request message `msg` (header
/// included) from port `pid`, appending reply messages to `out`.
/// `cap_ack` is `NETLINK_CAP_ACK`.
fn answer(msg: &[u8], h: Header, pid: u32, cap_ack: bool, out: &mut Vec<u8>) {
    let body = &msg[HDR..];
    let result: Result<(), Errno> = if h.flags & NLM_F_REQUEST == 0 || h.ty < NLMSG_MIN_TYPE {
        // Not a request, or a control message: nothing to do.
        Ok(())
    } else {
        let family = body.first().map_or(libc::AF_UNSPEC, |&f| i32::from(f));
        let dump = h.flags & NLM_F_DUMP == NLM_F_DUMP;
        match h.ty {
            RTM_GETLINK if dump => {
                if matches!(family, libc::AF_UNSPEC | libc::AF_PACKET) {
                    push_msg(out, RTM_NEWLINK, NLM_F_MULTI, h.seq, pid, &lo_link());
                }
                push_msg(out, NLMSG_DONE, NLM_F_MULTI, h.seq, pid, &0i32.to_ne_bytes());
                return;
            }
            RTM_GETADDR if dump => {
                for p in lo_addrs(family) {
                    push_msg(out, RTM_NEWADDR, NLM_F_MULTI, h.seq, pid, &p);
                }
                push_msg(out, NLMSG_DONE, NLM_F_MULTI, h.seq, pid, &0i32.to_ne_bytes());
                return;
            }
            RTM_GETLINK => {
                // struct ifinfomsg is 16 bytes; the index is at offset 4.
                let index = u32_at(body, 4).unwrap_or(0) as i32;
                let name = body.get(16..).and_then(|a| find_attr(a, IFLA_IFNAME));
                let found = match (index, name) {
                    (1, _) => Ok(()),
                    (0, Some(n)) if names_lo(n) => Ok(()),
                    (0, None) => Err(Errno::EINVAL),
                    _ => Err(Errno::ENODEV),
                };
                found.map(|()| push_msg(out, RTM_NEWLINK, 0, h.seq, pid, &lo_link()))
            }
            _ => Err(Errno(libc::EOPNOTSUPP)),
        }
    };
    let err = result.err().map_or(0, |e| e.0);
    if err != 0 || h.flags & NLM_F_ACK != 0 {
        // struct nlmsgerr: the error, then the request (only its header
        // for an ack or with NETLINK_CAP_ACK).
        let mut p = (-err).to_ne_bytes().to_vec();
        let capped = err == 0 || cap_ack;
        if capped {
            p.extend_from_slice(&msg[..HDR]);
        } else {
            p.extend_from_slice(msg);
        }
        let flags = if capped { NLM_F_CAPPED } else { 0 };
        push_msg(out, NLMSG_ERROR, flags, h.seq, pid, &p);
    }
}

/// Answers every message of one sent datagram, as Linux's
/// `netlink_rcv_skb`: a malformed header ends the walk silently.
fn answer_all(mut data: &[u8], pid: u32, cap_ack: bool) -> Vec<u8> {
    let mut out = Vec::new();
    while data.len() >= HDR {
        let Some(h) = parse_header(data) else { break };
        if h.len < HDR || h.len > data.len() {
            break;
        }
        if h.ty != NLMSG_NOOP || h.flags & NLM_F_ACK != 0 {
            answer(&data[..h.len], h, pid, cap_ack, &mut out);
        }
        data = data.get(align4(h.len)..).unwrap_or(&[]);
    }
    out
}

/// Port ids in use by netlink sockets.
fn ports() -> MutexGuard<'static, HashSet<u32>> {
    static PORTS: OnceLock<Mutex<HashSet<u32>>> = OnceLock::new();
    PORTS
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// What one receive produced.
#[derive(Debug)]
pub struct Received {
    /// Bytes copied into the buffer.
    pub copied: usize,
    /// The datagram's full length.
    pub full_len: usize,
}

#[derive(Default)]
struct State {
    /// The bound port id (0: unbound).
    portid: u32,
    /// Multicast groups asked for (accepted, never delivered to).
    groups: u32,
    /// Reply datagrams not yet read.
    queue: VecDeque<Vec<u8>>,
    /// Stored `SOL_SOCKET` and `SOL_NETLINK` options.
    opts: HashMap<(i32, i32), Vec<u8>>,
}

/// A `NETLINK_ROUTE` socket.
pub struct NetlinkSocket {
    ino: u64,
    owner: Ucred,
    stype: i32,
    state: Mutex<State>,
    wq: WaitQueue,
}

impl Drop for NetlinkSocket {
    fn drop(&mut self) {
        let port = self.state().portid;
        if port != 0 {
            ports().remove(&port);
        }
    }
}

impl NetlinkSocket {
    /// A new unbound socket; `protocol` must be `NETLINK_ROUTE`.
    pub fn new(stype: i32, protocol: i32, owner: Ucred) -> Result<Arc<NetlinkSocket>, Errno> {
        if stype != libc::SOCK_RAW && stype != libc::SOCK_DGRAM {
            return Err(Errno::ESOCKTNOSUPPORT);
        }
        if protocol != libc::NETLINK_ROUTE {
            return Err(Errno::EPROTONOSUPPORT);
        }
        Ok(Arc::new(NetlinkSocket {
            ino: next_ino(),
            owner,
            stype,
            state: Mutex::new(State::default()),
            wq: WaitQueue::new(),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds to a free port id: the owner's tgid if free, else a negative
    /// one as Linux's autobind picks.
    fn autobind(&self, st: &mut State) {
        if st.portid != 0 {
            return;
        }
        let mut used = ports();
        let mut id = self.owner.pid as u32;
        let mut next: i32 = -4096;
        while id == 0 || used.contains(&id) {
            id = next as u32;
            next = next.wrapping_sub(1);
        }
        used.insert(id);
        st.portid = id;
    }

    /// bind(2) with a `sockaddr_nl`.
    pub fn bind(&self, raw: &[u8]) -> Result<(), Errno> {
        if raw.len() < SOCKADDR_NL_LEN || u16_at(raw, 0) != Some(libc::AF_NETLINK as u16) {
            return Err(Errno::EINVAL);
        }
        let pid = u32_at(raw, 4).unwrap_or(0);
        let groups = u32_at(raw, 8).unwrap_or(0);
        let mut st = self.state();
        if st.portid != 0 {
            if pid != 0 && pid != st.portid {
                return Err(Errno::EINVAL);
            }
        } else if pid == 0 {
            self.autobind(&mut st);
        } else {
            let mut used = ports();
            if !used.insert(pid) {
                return Err(Errno::EADDRINUSE);
            }
            st.portid = pid;
        }
        st.groups = groups;
        Ok(())
    }

    /// connect(2): only the kernel (port 0) is a destination here.
    pub fn connect(&self, raw: &[u8]) -> Result<(), Errno> {
        if raw.len() >= 2 && u16_at(raw, 0) == Some(libc::AF_UNSPEC as u16) {
            return Ok(());
        }
        if raw.len() < SOCKADDR_NL_LEN || u16_at(raw, 0) != Some(libc::AF_NETLINK as u16) {
            return Err(Errno::EINVAL);
        }
        if u32_at(raw, 4) != Some(0) {
            return Err(Errno::ECONNREFUSED);
        }
        self.autobind(&mut self.state());
        Ok(())
    }

    /// The `sockaddr_nl` of this socket (`peer`: the kernel's).
    pub fn name(&self, peer: bool) -> Vec<u8> {
        let st = self.state();
        let (pid, groups) = if peer { (0, 0) } else { (st.portid, st.groups) };
        sockaddr_nl(pid, groups)
    }

    /// Sends one datagram of requests to the kernel (`dest`: the raw
    /// destination address, if given) and queues the replies.
    pub fn send(&self, data: &[u8], dest: Option<&[u8]>) -> Result<usize, Errno> {
        if let Some(raw) = dest {
            if raw.len() < SOCKADDR_NL_LEN || u16_at(raw, 0) != Some(libc::AF_NETLINK as u16) {
                return Err(Errno::EINVAL);
            }
            if u32_at(raw, 4) != Some(0) {
                return Err(Errno::ECONNREFUSED);
            }
        }
        let mut st = self.state();
        self.autobind(&mut st);
        let cap_ack = st
            .opts
            .get(&(SOL_NETLINK, NETLINK_CAP_ACK))
            .is_some_and(|v| v.iter().any(|&b| b != 0));
        let reply = answer_all(data, st.portid, cap_ack);
        if !reply.is_empty() {
            st.queue.push_back(reply);
        }
        drop(st);
        self.wq.notify_all();
        Ok(data.len())
    }

    /// Receives (or with MSG_PEEK, peeks at) the next reply datagram.
    pub fn recv(&self, buf: &mut [u8], flags: i32, nonblock: bool) -> Result<Received, Errno> {
        let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
        let take = || {
            let st = self.state();
            let d = st.queue.front()?;
            let copied = d.len().min(buf.len());
            let full_len = d.len();
            Some((copied, full_len, d[..copied].to_vec()))
        };
        let (copied, full_len, bytes) = match take() {
            Some(r) => r,
            None if nonblock => return Err(Errno::EAGAIN),
            None => block_until(&[&self.wq], None, take)?,
        };
        buf[..copied].copy_from_slice(&bytes);
        if flags & libc::MSG_PEEK == 0 {
            self.state().queue.pop_front();
        }
        Ok(Received { copied, full_len })
    }

    /// setsockopt(2).
    pub fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
        let int = || -> Result<i32, Errno> {
            let b: [u8; 4] = value.get(..4).and_then(|s| s.try_into().ok()).ok_or(Errno::EINVAL)?;
            Ok(i32::from_ne_bytes(b))
        };
        let stored = match (level, name) {
            (SOL_NETLINK, NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP) => {
                // Groups are accepted; no notifications are ever sent.
                int()?;
                return Ok(());
            }
            (SOL_NETLINK, 3..=8 | 10..=12) => i32::from(int()? != 0).to_ne_bytes().to_vec(),
            (SOL_NETLINK, _) => return Err(Errno::ENOPROTOOPT),
            (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_SNDBUF | libc::SO_RCVBUFFORCE | libc::SO_SNDBUFFORCE) => {
                let v = int()?.clamp(1152, 0x3fff_ffff).saturating_mul(2);
                let name = match name {
                    libc::SO_RCVBUFFORCE => libc::SO_RCVBUF,
                    libc::SO_SNDBUFFORCE => libc::SO_SNDBUF,
                    n => n,
                };
                self.state().opts.insert((level, name), v.to_ne_bytes().to_vec());
                return Ok(());
            }
            (libc::SOL_SOCKET, libc::SO_PASSCRED) => i32::from(int()? != 0).to_ne_bytes().to_vec(),
            (libc::SOL_SOCKET, _) => sockopt::check_socket_level(name, value)?,
            _ => return Err(Errno::ENOPROTOOPT),
        };
        self.state().opts.insert((level, name), stored);
        Ok(())
    }

    /// getsockopt(2).
    pub fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
        let stored = self.state().opts.get(&(level, name)).cloned();
        let int = |v: i32| Ok(v.to_ne_bytes().to_vec());
        match (level, name) {
            (SOL_NETLINK, 3..=8 | 10..=12) => Ok(stored.unwrap_or_else(|| 0i32.to_ne_bytes().to_vec())),
            (SOL_NETLINK, _) => Err(Errno::ENOPROTOOPT),
            (libc::SOL_SOCKET, libc::SO_TYPE) => int(self.stype),
            (libc::SOL_SOCKET, libc::SO_DOMAIN) => int(libc::AF_NETLINK),
            (libc::SOL_SOCKET, libc::SO_PROTOCOL) => int(libc::NETLINK_ROUTE),
            (libc::SOL_SOCKET, libc::SO_ERROR | libc::SO_ACCEPTCONN) => int(0),
            (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_SNDBUF) => {
                Ok(stored.unwrap_or_else(|| 212_992i32.to_ne_bytes().to_vec()))
            }
            (libc::SOL_SOCKET, libc::SO_PASSCRED) => Ok(stored.unwrap_or_else(|| 0i32.to_ne_bytes().to_vec())),
            (libc::SOL_SOCKET, _) => sockopt::get_socket_level(name, stored),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    /// The bytes waiting in the next datagram (FIONREAD).
    pub fn pending(&self) -> usize {
        self.state().queue.front().map_or(0, Vec::len)
    }

    fn poll_now(&self) -> u32 {
        let mut r = libc::POLLOUT as u32 | libc::POLLWRNORM as u32;
        if !self.state().queue.is_empty() {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
        r
    }
}

/// A `struct sockaddr_nl`.
pub fn sockaddr_nl(pid: u32, groups: u32) -> Vec<u8> {
    let mut a = (libc::AF_NETLINK as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(&[0, 0]);
    a.extend_from_slice(&pid.to_ne_bytes());
    a.extend_from_slice(&groups.to_ne_bytes());
    a
}

/// The file operations of a netlink socket's open file description.
pub struct NetlinkFile {
    sock: Arc<NetlinkSocket>,
}

impl NetlinkFile {
    /// Wraps `sock` for `FileDescription::new`.
    pub fn new_boxed(sock: Arc<NetlinkSocket>) -> Box<dyn FileOps> {
        Box::new(NetlinkFile { sock })
    }
}

/// The netlink socket behind `file`, if it is one.
pub fn socket_of(file: &FileRef) -> Option<Arc<NetlinkSocket>> {
    file.ops()
        .as_any()?
        .downcast_ref::<NetlinkFile>()
        .map(|f| f.sock.clone())
}

impl FileOps for NetlinkFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::unix::socket_stat(self.sock.ino, self.sock.owner))
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.sock.recv(buf, 0, nonblock).map(|r| r.copied)
    }

    fn write(&self, buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        self.sock.send(buf, None)
    }

    fn ioctl(&self, mm: &crate::mm::MemoryManager, cmd: u32, arg: u64) -> Result<u64, Errno> {
        if u64::from(cmd) != libc::FIONREAD {
            return super::ifioctl::ioctl(mm, u64::from(cmd), arg, false).unwrap_or(Err(Errno::ENOTTY));
        }
        mm.write_obj(arg, &(self.sock.pending() as i32))?;
        Ok(0)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.sock.poll_now() & mask
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.sock.wq)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn name(&self) -> Vec<u8> {
        format!("socket:[{}]", self.sock.ino).into_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        push_msg(&mut m, ty, flags, seq, 0, payload);
        m
    }

    /// Splits a reply datagram into (header, payload) pairs.
    fn messages(mut d: &[u8]) -> Vec<(Header, Vec<u8>)> {
        let mut out = Vec::new();
        while d.len() >= HDR {
            let h = parse_header(d).unwrap();
            assert!(h.len >= HDR && h.len <= d.len(), "{h:?}");
            out.push((h, d[HDR..h.len].to_vec()));
            d = d.get(align4(h.len)..).unwrap_or(&[]);
        }
        assert!(d.is_empty());
        out
    }

    fn owner() -> Ucred {
        Ucred {
            pid: 4242,
            uid: 0,
            gid: 0,
        }
    }

    #[test]
    fn link_dump_lists_lo_then_done() {
        let s = NetlinkSocket::new(libc::SOCK_RAW, libc::NETLINK_ROUTE, owner()).unwrap();
        let req = request(
            RTM_GETLINK,
            NLM_F_REQUEST | NLM_F_DUMP,
            77,
            &[libc::AF_PACKET as u8, 0, 0, 0],
        );
        assert_eq!(s.send(&req, Some(&sockaddr_nl(0, 0))).unwrap(), req.len());
        let mut buf = vec![0u8; 8192];
        // A peek with a short buffer reports the full length and keeps it.
        let peek = s.recv(&mut buf[..10], libc::MSG_PEEK | libc::MSG_TRUNC, true).unwrap();
        assert_eq!(peek.copied, 10);
        let r = s.recv(&mut buf, 0, true).unwrap();
        assert_eq!(r.copied, peek.full_len);
        let msgs = messages(&buf[..r.copied]);
        assert_eq!(msgs.len(), 2);
        let (h, p) = &msgs[0];
        assert_eq!((h.ty, h.seq, h.flags), (RTM_NEWLINK, 77, NLM_F_MULTI));
        assert_eq!(u32_at(&buf, 12), Some(4242), "nlmsg_pid is the bound port");
        assert_eq!(u16_at(p, 2), Some(ARPHRD_LOOPBACK));
        assert_eq!(u32_at(p, 4), Some(1));
        assert_eq!(find_attr(&p[16..], IFLA_IFNAME), Some(&b"lo\0"[..]));
        assert_eq!(find_attr(&p[16..], IFLA_MTU), Some(&65536u32.to_ne_bytes()[..]));
        assert_eq!(msgs[1].0.ty, NLMSG_DONE);
        assert_eq!(msgs[1].0.seq, 77);
        assert_eq!(s.recv(&mut buf, 0, true).unwrap_err(), Errno::EAGAIN);
        assert_eq!(s.name(false), sockaddr_nl(4242, 0));
    }

    #[test]
    fn addr_dump_filters_by_family() {
        let out = answer_all(
            &request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, &[libc::AF_INET6 as u8]),
            9,
            false,
        );
        let msgs = messages(&out);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].1[0], libc::AF_INET6 as u8);
        assert_eq!(msgs[0].1[1], 128);
        let out = answer_all(&request(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, &[0]), 9, false);
        let msgs = messages(&out);
        assert_eq!(msgs.len(), 3);
        let v4 = &msgs[0].1;
        assert_eq!((v4[0], v4[1], v4[3]), (libc::AF_INET as u8, 8, RT_SCOPE_HOST));
        assert_eq!(find_attr(&v4[8..], IFA_LOCAL), Some(&[127, 0, 0, 1][..]));
        assert_eq!(find_attr(&v4[8..], IFA_LABEL), Some(&b"lo\0"[..]));
    }

    #[test]
    fn errors_and_acks_follow_netlink_ack() {
        // Unknown request: EOPNOTSUPP with the request copied back.
        let req = request(26, NLM_F_REQUEST, 5, &[0; 12]);
        let msgs = messages(&answer_all(&req, 3, false));
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].0.ty, NLMSG_ERROR);
        assert_eq!(msgs[0].1[..4], (-libc::EOPNOTSUPP).to_ne_bytes());
        assert_eq!(&msgs[0].1[4..], &req[..]);
        // A link by index that does not exist: ENODEV.
        let mut ifi = [0u8; 16];
        ifi[4..8].copy_from_slice(&7i32.to_ne_bytes());
        let msgs = messages(&answer_all(&request(RTM_GETLINK, NLM_F_REQUEST, 6, &ifi), 3, false));
        assert_eq!(msgs[0].1[..4], (-libc::ENODEV).to_ne_bytes());
        // By name "lo", with an ack: the link, then a capped ack 0.
        let mut p = vec![0u8; 16];
        push_attr(&mut p, IFLA_IFNAME, b"lo\0");
        let msgs = messages(&answer_all(
            &request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 8, &p),
            3,
            false,
        ));
        assert_eq!(msgs.len(), 2);
        assert_eq!((msgs[0].0.ty, msgs[0].0.flags), (RTM_NEWLINK, 0));
        assert_eq!((msgs[1].0.ty, msgs[1].0.flags), (NLMSG_ERROR, NLM_F_CAPPED));
        assert_eq!(msgs[1].1.len(), 4 + HDR);
        assert_eq!(msgs[1].1[..4], [0; 4]);
        // A truncated header ends the walk without a reply.
        assert!(answer_all(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 3, false).is_empty());
    }

    #[test]
    fn ports_are_unique_and_released() {
        let a = NetlinkSocket::new(libc::SOCK_DGRAM, libc::NETLINK_ROUTE, owner()).unwrap();
        let b = NetlinkSocket::new(libc::SOCK_DGRAM, libc::NETLINK_ROUTE, owner()).unwrap();
        a.bind(&sockaddr_nl(0, 0)).unwrap();
        b.bind(&sockaddr_nl(0, 0)).unwrap();
        let (pa, pb) = (u32_at(&a.name(false), 4).unwrap(), u32_at(&b.name(false), 4).unwrap());
        assert_ne!(pa, pb);
        let c = NetlinkSocket::new(libc::SOCK_RAW, libc::NETLINK_ROUTE, owner()).unwrap();
        assert_eq!(c.bind(&sockaddr_nl(pb, 0)), Err(Errno::EADDRINUSE));
        drop(b);
        c.bind(&sockaddr_nl(pb, 0)).unwrap();
        assert_eq!(
            NetlinkSocket::new(libc::SOCK_RAW, 16, owner()).err(),
            Some(Errno::EPROTONOSUPPORT)
        );
    }
}
