//! Unix domain sockets held entirely in the sentry: connected pairs
//! (`socketpair`) and unconnected `socket(AF_UNIX)` sockets, with stream,
//! datagram and seqpacket semantics, send-buffer accounting, shutdown, and
//! `SCM_RIGHTS` / `SCM_CREDENTIALS` ancillary data (Linux's `af_unix.c` is
//! the model).
//!
//! Both ends of a pair share one [`Pair`]: a lock over the two ends' receive
//! queues and flags, and one wait queue notified on every change; readers,
//! writers and pollers of either end re-check their own condition.
//! Files in flight (`SCM_RIGHTS`) are kept as [`FileRef`]s in the message
//! and are always dropped after the pair's lock is released, because
//! dropping one may close a socket of this very pair.

mod conn;

pub use conn::SOMAXCONN;

use super::addr::SockAddr;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::inode::{next_ino, synthetic_stat};
use crate::vfs::{FileOps, FileRef};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};
use syscalls::structs::Stat;
use syscalls::{Errno, Pod};

/// "Operation not supported" (same number as ENOTSUP on Linux).
pub const EOPNOTSUPP: Errno = Errno(libc::EOPNOTSUPP);
/// Most files one message may carry (`SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;
/// Default `SO_SNDBUF`/`SO_RCVBUF` (`net.core.wmem_default`).
pub const DEFAULT_BUF: usize = 212_992;
/// Cap on a requested buffer size before doubling (`net.core.wmem_max`).
const BUF_MAX: usize = 212_992;
/// Smallest `SO_SNDBUF` (`SOCK_MIN_SNDBUF`).
const MIN_SNDBUF: usize = 4608;
/// Smallest `SO_RCVBUF` (`SOCK_MIN_RCVBUF`).
const MIN_RCVBUF: usize = 2304;
/// Per-message bookkeeping charged to the send buffer on top of the data
/// (Linux charges an skb's truesize; this gives the same 278 one-byte
/// messages per default buffer).
const MSG_OVERHEAD: usize = 767;
/// Largest stream segment (Linux: `(sk_sndbuf >> 1) - 64` at most 64 KiB pages).
const MAX_SEGMENT: usize = 65_536;
/// `uid`/`gid` reported for "no credentials" (the overflow id).
const OVERFLOW_ID: u32 = 65_534;

/// The socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_STREAM`: a byte stream.
    Stream,
    /// `SOCK_DGRAM` (and `SOCK_RAW`, which Linux treats as datagrams).
    Dgram,
    /// `SOCK_SEQPACKET`: connected, with message boundaries.
    SeqPacket,
}

impl SockType {
    /// The type for a `SOCK_*` value (flags already removed), `None` when
    /// unix sockets do not support it.
    pub fn from_raw(t: i32) -> Option<SockType> {
        match t {
            libc::SOCK_STREAM => Some(SockType::Stream),
            libc::SOCK_DGRAM | libc::SOCK_RAW => Some(SockType::Dgram),
            libc::SOCK_SEQPACKET => Some(SockType::SeqPacket),
            _ => None,
        }
    }

    /// The `SOCK_*` value (what `SO_TYPE` reports).
    pub fn raw(self) -> i32 {
        match self {
            SockType::Stream => libc::SOCK_STREAM,
            SockType::Dgram => libc::SOCK_DGRAM,
            SockType::SeqPacket => libc::SOCK_SEQPACKET,
        }
    }

    fn connection_based(self) -> bool {
        self != SockType::Dgram
    }
}

/// `struct ucred`: the credentials `SCM_CREDENTIALS` and `SO_PEERCRED` carry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    /// Process id.
    pub pid: i32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

// SAFETY: repr(C), three 4-byte integers, no padding, every bit pattern valid.
unsafe impl Pod for Ucred {}

/// What a receiver sees for a message queued without credentials.
const NO_CREDS: Ucred = Ucred {
    pid: 0,
    uid: OVERFLOW_ID,
    gid: OVERFLOW_ID,
};

/// Ancillary data and identity of one send.
#[derive(Default)]
pub struct SendAncillary {
    /// Files to pass (`SCM_RIGHTS`), already taken from the sender's table.
    pub rights: Vec<FileRef>,
    /// Credentials sent explicitly (`SCM_CREDENTIALS`), already validated.
    pub creds: Option<Ucred>,
    /// The sender's own pid/uid/gid (attached when either end has SO_PASSCRED).
    pub sender: Ucred,
}

/// The result of one receive.
#[derive(Debug, Default)]
pub struct Received {
    /// Bytes copied into the buffer.
    pub copied: usize,
    /// The datagram's full length (for `MSG_TRUNC` in flags).
    pub full_len: usize,
    /// The datagram did not fit (`MSG_TRUNC` in `msg_flags`).
    pub truncated: bool,
    /// Files passed with the data (to install in the receiver's table).
    pub rights: Vec<FileRef>,
    /// Credentials to report (`Some` only when the receiver has SO_PASSCRED).
    pub creds: Option<Ucred>,
    /// The sender's address (named unix senders, UDP).
    pub from: Option<SockAddr>,
}

/// One queued message (datagram) or stream segment.
struct Segment {
    data: Vec<u8>,
    /// Bytes already read (stream only).
    consumed: usize,
    rights: Vec<FileRef>,
    creds: Option<Ucred>,
    /// What this segment counts against its sender's send buffer.
    charge: usize,
    /// The sender's address, when it has one.
    from: Option<SockAddr>,
}

impl Segment {
    fn remaining(&self) -> &[u8] {
        self.data.get(self.consumed..).unwrap_or(&[])
    }
}

/// One end's state.
struct End {
    /// Messages waiting to be read by this end.
    queue: VecDeque<Segment>,
    /// Charge of messages this end sent that the peer has not consumed.
    in_flight: usize,
    sndbuf: usize,
    rcvbuf: usize,
    passcred: bool,
    rcv_shutdown: bool,
    send_shutdown: bool,
    /// The end's file was released.
    closed: bool,
    /// The end has a peer (false for `socket()` and for a datagram end
    /// whose dead peer was reported).
    connected: bool,
    /// Pending `SO_ERROR` (positive errno).
    error: i32,
    rcvtimeo: Option<Duration>,
    sndtimeo: Option<Duration>,
}

impl End {
    fn new(connected: bool) -> End {
        End {
            queue: VecDeque::new(),
            in_flight: 0,
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            passcred: false,
            rcv_shutdown: false,
            send_shutdown: false,
            closed: !connected,
            connected,
            error: 0,
            rcvtimeo: None,
            sndtimeo: None,
        }
    }

    fn writable(&self) -> bool {
        self.in_flight.saturating_mul(4) <= self.sndbuf
    }

    fn take_error(&mut self) -> Option<Errno> {
        let e = std::mem::take(&mut self.error);
        (e != 0).then_some(Errno(e))
    }
}

struct PairState {
    ends: [End; 2],
}

/// State shared by the two ends of a pair.
struct Pair {
    state: Mutex<PairState>,
    queue: WaitQueue,
}

impl Pair {
    fn lock(&self) -> MutexGuard<'_, PairState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A listening socket's queue of connections not yet accepted.
pub struct Listener {
    /// Connections beyond `backlog + 1` wait (unix) or are refused.
    pub backlog: usize,
    /// Server ends of connections made but not accepted.
    pub pending: VecDeque<Arc<UnixSocket>>,
    /// The listening task's credentials (the client's `SO_PEERCRED`).
    pub cred: Ucred,
}

/// Where an unconnected datagram socket sends by default (`connect`).
#[derive(Clone)]
pub enum DgramPeer {
    /// A unix socket, held as Linux holds it (found once, at connect).
    Unix(SockAddr, Weak<UnixSocket>),
    /// An inet address, looked up at every send.
    Inet(SockAddr),
}

/// Which name table holds a bound socket (to unbind at release).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// A filesystem socket node, by (device, inode).
    Node(u64, u64),
    /// An abstract unix name.
    Abstract(Vec<u8>),
    /// An inet port (`tcp` or UDP).
    Port {
        /// TCP (else UDP).
        tcp: bool,
        /// The port.
        port: u16,
    },
}

/// Addressing and connection-setup state: bind, listen, connect.
#[derive(Default)]
pub struct Named {
    /// The bound name (getsockname).
    pub local: Option<SockAddr>,
    /// The peer's name (getpeername; `None` with a peer means unnamed).
    pub peer: Option<SockAddr>,
    /// `SO_PEERCRED`: the peer's credentials (`None` when never connected).
    pub peer_cred: Option<Ucred>,
    /// Set while listening.
    pub listener: Option<Listener>,
    /// A datagram socket's default destination.
    pub dgram_peer: Option<DgramPeer>,
    /// The name-table entry to remove at release.
    pub binding: Option<Binding>,
    /// Options stored and reported back but not acted on (inet levels,
    /// SO_REUSEADDR, SO_KEEPALIVE, ...), by (level, name).
    pub opts: HashMap<(i32, i32), Vec<u8>>,
    /// A non-blocking inet connect answered EINPROGRESS; the next connect
    /// answers 0, later ones EISCONN (Linux's SS_CONNECTING).
    pub connect_reported: bool,
}

/// One socket: one end of a pair, an unconnected or a listening socket.
/// Loopback TCP and UDP sockets are this same object with an inet
/// `domain`: a TCP connection is a stream pair, UDP a datagram socket
/// whose sends are delivered to the socket bound at the destination.
pub struct UnixSocket {
    pair: Arc<Pair>,
    side: usize,
    stype: SockType,
    /// `AF_UNIX`, `AF_INET` or `AF_INET6`.
    domain: i32,
    ino: u64,
    /// Whoever created the socket: the file's owner and the default
    /// credentials of plain `write`s.
    owner: Ucred,
    named: Mutex<Named>,
}

/// Runs `attempt` once (non-blocking) or until it returns `Some` (blocking,
/// through `block_until`). `Ok(None)` means "would block / timed out".
fn run<T>(
    queue: &WaitQueue,
    nonblock: bool,
    timeout: Option<Duration>,
    mut attempt: impl FnMut() -> Option<Result<T, Errno>>,
) -> Result<Option<T>, Errno> {
    if nonblock {
        return attempt().transpose();
    }
    let deadline = timeout.map(|d| Instant::now() + d);
    match block_until(&[queue], deadline, &mut attempt) {
        Ok(r) => r.map(Some),
        Err(e) if e == Errno::ETIMEDOUT => Ok(None),
        Err(e) => Err(e),
    }
}

impl UnixSocket {
    /// A connected pair created by a task with credentials `creator`.
    pub fn pair(stype: SockType, creator: Ucred) -> (Arc<UnixSocket>, Arc<UnixSocket>) {
        let pair = Arc::new(Pair {
            state: Mutex::new(PairState {
                ends: [End::new(true), End::new(true)],
            }),
            queue: WaitQueue::new(),
        });
        let make = |side| {
            Arc::new(UnixSocket {
                pair: pair.clone(),
                side,
                stype,
                domain: libc::AF_UNIX,
                ino: next_ino(),
                owner: creator,
                named: Mutex::new(Named {
                    peer_cred: Some(creator),
                    ..Default::default()
                }),
            })
        };
        (make(0), make(1))
    }

    /// An unconnected socket (`socket(AF_UNIX, ...)`).
    pub fn unconnected(stype: SockType, creator: Ucred) -> Arc<UnixSocket> {
        UnixSocket::unconnected_in(libc::AF_UNIX, stype, creator)
    }

    /// An unconnected socket of `domain` (`AF_UNIX`, `AF_INET`, `AF_INET6`).
    pub fn unconnected_in(domain: i32, stype: SockType, creator: Ucred) -> Arc<UnixSocket> {
        let mut first = End::new(true);
        first.connected = false;
        Arc::new(UnixSocket {
            pair: Arc::new(Pair {
                state: Mutex::new(PairState {
                    ends: [first, End::new(false)],
                }),
                queue: WaitQueue::new(),
            }),
            side: 0,
            stype,
            domain,
            ino: next_ino(),
            owner: creator,
            named: Mutex::new(Named::default()),
        })
    }

    /// The address family.
    pub fn domain(&self) -> i32 {
        self.domain
    }

    /// Whether this is an inet (loopback TCP/UDP) socket.
    pub fn is_inet(&self) -> bool {
        self.domain != libc::AF_UNIX
    }

    /// The socket's inode number (`socket:[N]`, /proc/net tables).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// The addressing state.
    pub fn named(&self) -> MutexGuard<'_, Named> {
        self.named.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The socket type.
    pub fn sock_type(&self) -> SockType {
        self.stype
    }

    /// The creator's credentials.
    pub fn owner(&self) -> Ucred {
        self.owner
    }

    /// Whether the socket has a peer (getpeername).
    pub fn is_connected(&self) -> bool {
        self.pair.lock().ends[self.side].connected
    }

    /// The wait queue notified on every change of either end.
    pub fn wait_queue(&self) -> &WaitQueue {
        &self.pair.queue
    }

    /// Sends `data` with ancillary data `anc`. `flags` are `MSG_*`; a
    /// would-block send gives EAGAIN. EPIPE is returned without raising
    /// SIGPIPE: see [`UnixSocket::sigpipe_on_epipe`].
    pub fn send(&self, data: &[u8], anc: SendAncillary, flags: i32, nonblock: bool) -> Result<usize, Errno> {
        if flags & libc::MSG_OOB != 0 {
            return Err(EOPNOTSUPP);
        }
        let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
        if self.dgram_needs_default() {
            return self.send_to_default(data, anc, nonblock);
        }
        let timeout = self.pair.lock().ends[self.side].sndtimeo;
        let mut graveyard: Vec<FileRef> = Vec::new();
        let result = match self.stype {
            SockType::Stream => self.send_stream(data, anc, nonblock, timeout),
            SockType::Dgram | SockType::SeqPacket => {
                let mut anc = Some(anc);
                let r = run(&self.pair.queue, nonblock, timeout, || {
                    self.try_send_msg(data, &mut anc)
                });
                if let Some(a) = anc {
                    graveyard.extend(a.rights);
                }
                match r {
                    Ok(Some(n)) => Ok(n),
                    Ok(None) => Err(Errno::EAGAIN),
                    Err(e) => Err(e),
                }
            }
        };
        drop(graveyard);
        result
    }

    fn send_stream(
        &self,
        data: &[u8],
        anc: SendAncillary,
        nonblock: bool,
        timeout: Option<Duration>,
    ) -> Result<usize, Errno> {
        let mut sent = 0usize;
        let sender = anc.sender;
        let from = self.sender_name();
        let mut anc = Some(anc);
        let r = run(&self.pair.queue, nonblock, timeout, || {
            let mut st = self.pair.lock();
            let (me, peer) = (self.side, 1 - self.side);
            if !st.ends[me].connected {
                // TCP reports a send on an unconnected socket as EPIPE.
                return Some(Err(if self.is_inet() { Errno::EPIPE } else { Errno::ENOTCONN }));
            }
            if self.is_inet() {
                if let Some(e) = st.ends[me].take_error() {
                    return Some(if sent > 0 { Ok(sent) } else { Err(e) });
                }
            }
            loop {
                if st.ends[me].send_shutdown || st.ends[peer].closed || (!self.is_inet() && st.ends[peer].rcv_shutdown)
                {
                    return Some(if sent > 0 { Ok(sent) } else { Err(Errno::EPIPE) });
                }
                if sent == data.len() {
                    return Some(Ok(sent));
                }
                let room = st.ends[me].sndbuf.saturating_sub(st.ends[me].in_flight);
                if room <= MSG_OVERHEAD {
                    return None;
                }
                let n = (data.len() - sent).min(room - MSG_OVERHEAD).min(MAX_SEGMENT);
                let a = anc.take().unwrap_or_default();
                let creds = a.creds.or_else(|| self.default_creds(&st, sender));
                let charge = n + MSG_OVERHEAD;
                st.ends[peer].queue.push_back(Segment {
                    data: data[sent..sent + n].to_vec(),
                    consumed: 0,
                    rights: a.rights,
                    creds,
                    charge,
                    from: from.clone(),
                });
                st.ends[me].in_flight += charge;
                sent += n;
                self.pair.queue.notify_all();
            }
        });
        // Files of a send that never queued anything are released here,
        // outside the lock.
        drop(anc);
        match r {
            Ok(Some(n)) => Ok(n),
            Ok(None) | Err(_) if sent > 0 => Ok(sent),
            Ok(None) => Err(Errno::EAGAIN),
            Err(e) => Err(e),
        }
    }

    /// Credentials attached when none were sent: the sender's, if either
    /// end asks for credentials (Linux's `maybe_add_creds`).
    fn default_creds(&self, st: &PairState, sender: Ucred) -> Option<Ucred> {
        (st.ends[0].passcred || st.ends[1].passcred).then_some(sender)
    }

    /// The name a receiver sees as this socket's (unix only: TCP
    /// receivers get no address).
    fn sender_name(&self) -> Option<SockAddr> {
        if self.is_inet() {
            None
        } else {
            self.named().local.clone()
        }
    }

    fn try_send_msg(&self, data: &[u8], anc: &mut Option<SendAncillary>) -> Option<Result<usize, Errno>> {
        let from = self.sender_name();
        let mut st = self.pair.lock();
        let (me, peer) = (self.side, 1 - self.side);
        if self.stype == SockType::SeqPacket {
            if let Some(e) = st.ends[me].take_error() {
                return Some(Err(e));
            }
        }
        if !st.ends[me].connected {
            return Some(Err(Errno::ENOTCONN));
        }
        if data.len() > st.ends[me].sndbuf.saturating_sub(32) {
            return Some(Err(Errno::EMSGSIZE));
        }
        if st.ends[me].send_shutdown {
            return Some(Err(Errno::EPIPE));
        }
        if st.ends[me].in_flight >= st.ends[me].sndbuf {
            return None;
        }
        if st.ends[peer].closed {
            // A datagram end reports its dead peer once, then is unconnected.
            st.ends[me].connected = false;
            self.pair.queue.notify_all();
            return Some(Err(Errno::ECONNREFUSED));
        }
        if st.ends[peer].rcv_shutdown {
            return Some(Err(Errno::EPIPE));
        }
        let a = anc.take().unwrap_or_default();
        let creds = a.creds.or_else(|| self.default_creds(&st, a.sender));
        let charge = data.len() + MSG_OVERHEAD;
        st.ends[peer].queue.push_back(Segment {
            data: data.to_vec(),
            consumed: 0,
            rights: a.rights,
            creds,
            charge,
            from: from.clone(),
        });
        st.ends[me].in_flight += charge;
        self.pair.queue.notify_all();
        Some(Ok(data.len()))
    }

    /// Whether an EPIPE from [`send`](UnixSocket::send) raises SIGPIPE
    /// (stream sockets only: Linux's datagram path never signals).
    pub fn sigpipe_on_epipe(&self) -> bool {
        self.stype == SockType::Stream
    }

    /// Receives into `buf`. `flags` are `MSG_*` (PEEK, DONTWAIT, WAITALL, TRUNC).
    pub fn recv(&self, buf: &mut [u8], flags: i32, nonblock: bool) -> Result<Received, Errno> {
        if flags & libc::MSG_OOB != 0 {
            return Err(EOPNOTSUPP);
        }
        let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
        let timeout = self.pair.lock().ends[self.side].rcvtimeo;
        match self.stype {
            SockType::Stream => self.recv_stream(buf, flags, nonblock, timeout),
            SockType::Dgram | SockType::SeqPacket => {
                let r = run(&self.pair.queue, nonblock, timeout, || self.try_recv_msg(buf, flags));
                r?.ok_or(Errno::EAGAIN)
            }
        }
    }

    fn try_recv_msg(&self, buf: &mut [u8], flags: i32) -> Option<Result<Received, Errno>> {
        let mut st = self.pair.lock();
        let (me, peer) = (self.side, 1 - self.side);
        let peek = flags & libc::MSG_PEEK != 0;
        let passcred = st.ends[me].passcred;
        let Some(seg) = st.ends[me].queue.front_mut() else {
            if let Some(e) = st.ends[me].take_error() {
                return Some(Err(e));
            }
            if st.ends[me].rcv_shutdown {
                return Some(Ok(Received::default()));
            }
            if self.stype == SockType::SeqPacket && !st.ends[me].connected {
                return Some(Err(Errno::ENOTCONN));
            }
            return None;
        };
        let n = buf.len().min(seg.data.len());
        buf[..n].copy_from_slice(&seg.data[..n]);
        let full_len = seg.data.len();
        let mut out = Received {
            copied: n,
            full_len,
            truncated: full_len > buf.len(),
            rights: Vec::new(),
            creds: passcred.then(|| seg.creds.unwrap_or(NO_CREDS)),
            from: seg.from.clone(),
        };
        if peek {
            out.rights = seg.rights.clone();
        } else if let Some(seg) = st.ends[me].queue.pop_front() {
            let ends = &mut st.ends;
            ends[peer].in_flight = ends[peer].in_flight.saturating_sub(seg.charge);
            out.rights = seg.rights;
            self.pair.queue.notify_all();
        }
        Some(Ok(out))
    }

    fn recv_stream(
        &self,
        buf: &mut [u8],
        flags: i32,
        nonblock: bool,
        timeout: Option<Duration>,
    ) -> Result<Received, Errno> {
        let peek = flags & libc::MSG_PEEK != 0;
        let target = if flags & libc::MSG_WAITALL != 0 && !peek {
            buf.len().max(1)
        } else {
            1
        };
        let mut out = Received::default();
        // The credentials of the first segment read, when SO_PASSCRED is set:
        // segments from other writers are never glued to it.
        let mut creds_seen: Option<Option<Ucred>> = None;
        let r = run(&self.pair.queue, nonblock, timeout, || {
            let mut st = self.pair.lock();
            let (me, peer) = (self.side, 1 - self.side);
            if !st.ends[me].connected {
                return Some(Err(if self.is_inet() { Errno::ENOTCONN } else { Errno::EINVAL }));
            }
            let passcred = st.ends[me].passcred;
            let mut idx = 0usize;
            loop {
                let Some(seg) = st.ends[me].queue.get_mut(idx) else {
                    if out.copied >= target || (peek && out.copied > 0) {
                        return Some(Ok(()));
                    }
                    if let Some(e) = st.ends[me].take_error() {
                        return Some(if out.copied > 0 { Ok(()) } else { Err(e) });
                    }
                    if st.ends[me].rcv_shutdown {
                        return Some(Ok(()));
                    }
                    return None;
                };
                if out.from.is_none() {
                    out.from = seg.from.clone();
                }
                if passcred {
                    match creds_seen {
                        Some(c) if c != seg.creds => return Some(Ok(())),
                        Some(_) => {}
                        None => {
                            creds_seen = Some(seg.creds);
                            out.creds = Some(seg.creds.unwrap_or(NO_CREDS));
                        }
                    }
                }
                let chunk = seg.remaining().len().min(buf.len() - out.copied);
                buf[out.copied..out.copied + chunk].copy_from_slice(&seg.remaining()[..chunk]);
                out.copied += chunk;
                let had_rights = !seg.rights.is_empty();
                if peek {
                    out.rights.extend(seg.rights.iter().cloned());
                    idx += 1;
                } else {
                    out.rights.append(&mut seg.rights);
                    seg.consumed += chunk;
                    if seg.remaining().is_empty() {
                        if let Some(done) = st.ends[me].queue.pop_front() {
                            let ends = &mut st.ends;
                            ends[peer].in_flight = ends[peer].in_flight.saturating_sub(done.charge);
                        }
                    }
                    self.pair.queue.notify_all();
                }
                if had_rights || out.copied == buf.len() {
                    return Some(Ok(()));
                }
            }
        });
        out.full_len = out.copied;
        match r {
            Ok(Some(())) => Ok(out),
            Ok(None) | Err(_) if out.copied > 0 => Ok(out),
            Ok(None) => Err(Errno::EAGAIN),
            Err(e) => Err(e),
        }
    }

    /// `shutdown(how)`: SHUT_RD, SHUT_WR or SHUT_RDWR. On connected stream
    /// and seqpacket sockets the peer sees the mirror image.
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        let (rd, wr) = match how {
            libc::SHUT_RD => (true, false),
            libc::SHUT_WR => (false, true),
            libc::SHUT_RDWR => (true, true),
            _ => return Err(Errno::EINVAL),
        };
        let has_peer = self.dgram_has_peer();
        let mut st = self.pair.lock();
        let (me, peer) = (self.side, 1 - self.side);
        if self.is_inet() && !st.ends[me].connected && !has_peer {
            return Err(Errno::ENOTCONN);
        }
        st.ends[me].rcv_shutdown |= rd;
        st.ends[me].send_shutdown |= wr;
        if self.stype.connection_based() && st.ends[me].connected && !st.ends[peer].closed {
            // TCP's SHUT_RD is local only; its SHUT_WR is a FIN (EOF).
            if !self.is_inet() {
                st.ends[peer].send_shutdown |= rd;
            }
            st.ends[peer].rcv_shutdown |= wr;
        }
        self.pair.queue.notify_all();
        Ok(())
    }

    fn dgram_has_peer(&self) -> bool {
        self.stype == SockType::Dgram && self.named().dgram_peer.is_some()
    }

    /// Poll events ready now, restricted to `mask` plus POLLERR/POLLHUP.
    pub fn readiness(&self, mask: u32) -> u32 {
        if let Some(ev) = self.listener_readiness() {
            return ev & mask;
        }
        let st = self.pair.lock();
        let me = &st.ends[self.side];
        let mut ev = 0i16;
        if me.error != 0 {
            ev |= libc::POLLERR;
        }
        if me.rcv_shutdown && me.send_shutdown {
            ev |= libc::POLLHUP;
        }
        if me.rcv_shutdown {
            ev |= libc::POLLRDHUP | libc::POLLIN | libc::POLLRDNORM;
        }
        if !me.queue.is_empty() {
            ev |= libc::POLLIN | libc::POLLRDNORM;
        }
        if self.stype.connection_based() && !me.connected {
            ev |= libc::POLLHUP;
        }
        if me.writable() {
            ev |= libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND;
        }
        let ev = ev as u16 as u32;
        ev & (mask | (libc::POLLERR | libc::POLLHUP) as u32)
    }

    /// Bytes readable now (`FIONREAD`): all queued bytes of a stream, the
    /// next datagram's length otherwise.
    pub fn bytes_readable(&self) -> usize {
        let st = self.pair.lock();
        let q = &st.ends[self.side].queue;
        match self.stype {
            SockType::Stream => q.iter().map(|s| s.remaining().len()).sum(),
            _ => q.front().map_or(0, |s| s.data.len()),
        }
    }

    /// Bytes sent and not yet read by the peer (`SIOCOUTQ`).
    pub fn bytes_unread_by_peer(&self) -> usize {
        let st = self.pair.lock();
        st.ends[1 - self.side].queue.iter().map(|s| s.remaining().len()).sum()
    }

    /// `getsockopt(level, name)`: the full value (the caller truncates).
    pub fn getsockopt(&self, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
        let (stored, listening, peer_cred) = {
            let n = self.named();
            (n.opts.get(&(level, name)).cloned(), n.listener.is_some(), n.peer_cred)
        };
        if level != libc::SOL_SOCKET {
            return super::sockopt::get_other(self.domain, self.stype, level, name, stored);
        }
        let mut st = self.pair.lock();
        let me = &mut st.ends[self.side];
        let int = |v: i32| Ok(v.to_ne_bytes().to_vec());
        match name {
            libc::SO_TYPE => int(self.stype.raw()),
            libc::SO_DOMAIN => int(self.domain),
            libc::SO_PROTOCOL => int(super::sockopt::protocol(self.domain, self.stype)),
            libc::SO_ERROR => int(me.take_error().map_or(0, |e| e.0)),
            libc::SO_SNDBUF => int(clamp_i32(me.sndbuf)),
            libc::SO_RCVBUF => int(clamp_i32(me.rcvbuf)),
            libc::SO_PASSCRED => int(i32::from(me.passcred)),
            libc::SO_ACCEPTCONN => int(i32::from(listening)),
            libc::SO_PEERCRED => Ok(peer_cred.unwrap_or(NO_CREDS).as_bytes().to_vec()),
            libc::SO_RCVTIMEO => Ok(timeval_bytes(me.rcvtimeo)),
            libc::SO_SNDTIMEO => Ok(timeval_bytes(me.sndtimeo)),
            _ => super::sockopt::get_socket_level(name, stored),
        }
    }

    /// `setsockopt(level, name, value)`.
    pub fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
        if level != libc::SOL_SOCKET {
            let v = super::sockopt::check_other(self.domain, self.stype, level, name, value)?;
            self.named().opts.insert((level, name), v);
            return Ok(());
        }
        let int = || -> Result<i32, Errno> {
            let b: [u8; 4] = value.get(..4).and_then(|s| s.try_into().ok()).ok_or(Errno::EINVAL)?;
            Ok(i32::from_ne_bytes(b))
        };
        match name {
            libc::SO_PASSCRED => {
                let v = int()?;
                self.pair.lock().ends[self.side].passcred = v != 0;
            }
            libc::SO_SNDBUF => {
                let v = buffer_size(int()?, MIN_SNDBUF);
                self.pair.lock().ends[self.side].sndbuf = v;
                self.pair.queue.notify_all();
            }
            libc::SO_RCVBUF => {
                let v = buffer_size(int()?, MIN_RCVBUF);
                self.pair.lock().ends[self.side].rcvbuf = v;
            }
            libc::SO_RCVTIMEO | libc::SO_SNDTIMEO => {
                let t = parse_timeval(value)?;
                let mut st = self.pair.lock();
                let me = &mut st.ends[self.side];
                if name == libc::SO_RCVTIMEO {
                    me.rcvtimeo = t;
                } else {
                    me.sndtimeo = t;
                }
            }
            _ => {
                let v = super::sockopt::check_socket_level(name, value)?;
                self.named().opts.insert((level, name), v);
            }
        }
        Ok(())
    }

    /// A stored boolean option (SO_REUSEADDR, IPV6_V6ONLY, ...).
    pub fn flag_opt(&self, level: i32, name: i32) -> bool {
        self.named()
            .opts
            .get(&(level, name))
            .and_then(|v| v.get(..4))
            .is_some_and(|b| b != [0, 0, 0, 0])
    }

    /// Releases this end: the peer of a stream or seqpacket socket sees
    /// EOF and EPIPE (and ECONNRESET if this end left data unread); queued
    /// messages and their files are dropped.
    fn release(&self) {
        self.release_named();
        let dropped: Vec<Segment> = {
            let mut st = self.pair.lock();
            let (me, peer) = (self.side, 1 - self.side);
            st.ends[me].closed = true;
            let dropped: Vec<Segment> = st.ends[me].queue.drain(..).collect();
            let charge: usize = dropped.iter().map(|s| s.charge).sum();
            st.ends[peer].in_flight = st.ends[peer].in_flight.saturating_sub(charge);
            if st.ends[me].connected && !st.ends[peer].closed && self.stype.connection_based() {
                // A TCP close is a FIN (the peer reads EOF, its sends
                // fail); unread data makes it a reset.
                st.ends[peer].rcv_shutdown = true;
                st.ends[peer].send_shutdown = !self.is_inet() || !dropped.is_empty();
                if !dropped.is_empty() {
                    st.ends[peer].error = libc::ECONNRESET;
                }
            }
            self.pair.queue.notify_all();
            dropped
        };
        drop(dropped);
    }
}

fn clamp_i32(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Linux's SO_SNDBUF/SO_RCVBUF rule: capped at the sysctl maximum, doubled
/// for bookkeeping, and at least the minimum.
fn buffer_size(requested: i32, min: usize) -> usize {
    let v = (requested as u32 as usize).min(BUF_MAX);
    (v * 2).max(min)
}

/// Decodes a `struct timeval` timeout: zero means none (block forever); a
/// negative time means "do not wait".
pub(crate) fn parse_timeval(value: &[u8]) -> Result<Option<Duration>, Errno> {
    let tv = syscalls::structs::Timeval::from_bytes(value.get(..16).ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EDOM);
    }
    if tv.tv_sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if tv.tv_sec == 0 && tv.tv_usec == 0 {
        return Ok(None);
    }
    Ok(Some(Duration::new(tv.tv_sec as u64, (tv.tv_usec as u32) * 1000)))
}

pub(crate) fn timeval_bytes(t: Option<Duration>) -> Vec<u8> {
    let mut tv = syscalls::structs::Timeval::zeroed();
    if let Some(d) = t {
        tv.tv_sec = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        tv.tv_usec = i64::from(d.subsec_micros());
    }
    tv.as_bytes().to_vec()
}

/// The device of every socket's inode (Linux's sockfs).
pub(crate) fn sockfs_dev() -> u64 {
    static DEV: OnceLock<u64> = OnceLock::new();
    *DEV.get_or_init(crate::fs::synthetic::anon_dev)
}

/// What fstat shows of a socket of any family: an S_IFSOCK inode of
/// sockfs owned by its creator.
pub(crate) fn socket_stat(ino: u64, owner: Ucred) -> Stat {
    let mut st = synthetic_stat(sockfs_dev(), ino, libc::S_IFSOCK | 0o777, 0);
    st.st_uid = owner.uid;
    st.st_gid = owner.gid;
    st
}

/// Maps the address of each live [`SocketFile`] to its socket, so socket
/// syscalls can find the socket behind a file description.
fn registry() -> MutexGuard<'static, HashMap<usize, Weak<UnixSocket>>> {
    static REG: OnceLock<Mutex<HashMap<usize, Weak<UnixSocket>>>> = OnceLock::new();
    REG.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The file operations of a socket's open file description.
pub struct SocketFile {
    sock: Arc<UnixSocket>,
}

impl SocketFile {
    /// Wraps `sock` as file operations, ready for `FileDescription::new`.
    pub fn new_boxed(sock: Arc<UnixSocket>) -> Box<dyn FileOps> {
        let file = Box::new(SocketFile { sock: sock.clone() });
        let addr = &*file as *const SocketFile as usize;
        registry().insert(addr, Arc::downgrade(&sock));
        file
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        registry().remove(&(self as *const SocketFile as usize));
        self.sock.release();
    }
}

/// Every socket that has an open file (for the /proc/net tables), in
/// inode order.
pub fn all_sockets() -> Vec<Arc<UnixSocket>> {
    let mut v: Vec<Arc<UnixSocket>> = registry().values().filter_map(Weak::upgrade).collect();
    v.sort_by_key(|s| s.ino);
    v
}

/// The unix socket behind `file` (ENOTSOCK when it is not one).
pub fn socket_of(file: &FileRef) -> Result<Arc<UnixSocket>, Errno> {
    let addr = file.ops() as *const dyn FileOps as *const () as usize;
    registry().get(&addr).and_then(Weak::upgrade).ok_or(Errno::ENOTSOCK)
}

/// Raises SIGPIPE on the calling thread (a send hit EPIPE without
/// MSG_NOSIGNAL); `sender` is the sending process, as `si_pid`/`si_uid` say.
pub fn raise_sigpipe(sender: Ucred) {
    let info = crate::kernel::signal::SigInfo {
        signo: libc::SIGPIPE,
        code: libc::SI_USER,
        pid: sender.pid,
        uid: sender.uid,
        ..Default::default()
    };
    let _ = crate::kernel::signal::post(crate::kernel::signal::SignalTarget::CurrentThread, info);
}

impl FileOps for SocketFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(socket_stat(self.sock.ino, self.sock.owner))
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Files passed with the data are dropped here, as Linux does for read(2).
        self.sock.recv(buf, 0, nonblock).map(|r| r.copied)
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        let anc = SendAncillary {
            sender: self.sock.owner,
            ..Default::default()
        };
        let r = self.sock.send(buf, anc, 0, nonblock);
        if r == Err(Errno::EPIPE) && self.sock.sigpipe_on_epipe() {
            raise_sigpipe(self.sock.owner);
        }
        r
    }

    fn ioctl(&self, mm: &crate::mm::MemoryManager, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let v = match u64::from(cmd) {
            libc::FIONREAD => self.sock.bytes_readable(),
            libc::TIOCOUTQ => self.sock.bytes_unread_by_peer(),
            c => return super::ifioctl::ioctl(mm, c, arg, self.sock.is_inet()).unwrap_or(Err(Errno::ENOTTY)),
        };
        mm.write_obj(arg, &clamp_i32(v))?;
        Ok(0)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.sock.readiness(mask)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(self.sock.wait_queue())
    }

    fn name(&self) -> Vec<u8> {
        format!("socket:[{}]", self.sock.ino).into_bytes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::vfs::FileDescription;

    const ME: Ucred = Ucred {
        pid: 7,
        uid: 1000,
        gid: 1000,
    };

    fn anc() -> SendAncillary {
        SendAncillary {
            sender: ME,
            ..Default::default()
        }
    }

    fn recv(s: &UnixSocket, len: usize, flags: i32) -> Result<(Vec<u8>, Received), Errno> {
        let mut buf = vec![0u8; len];
        let r = s.recv(&mut buf, flags, true)?;
        buf.truncate(r.copied);
        Ok((buf, r))
    }

    #[test]
    fn stream_glues_writes_and_reads_partially() {
        let (a, b) = UnixSocket::pair(SockType::Stream, ME);
        assert_eq!(a.send(b"hello ", anc(), 0, true), Ok(6));
        assert_eq!(a.send(b"world", anc(), 0, true), Ok(5));
        assert_eq!(recv(&b, 3, 0).unwrap().0, b"hel");
        assert_eq!(recv(&b, 100, libc::MSG_PEEK).unwrap().0, b"lo world");
        assert_eq!(recv(&b, 100, 0).unwrap().0, b"lo world");
        assert_eq!(recv(&b, 100, 0).unwrap_err(), Errno::EAGAIN);
        // The other direction works independently.
        assert_eq!(b.send(b"back", anc(), 0, true), Ok(4));
        assert_eq!(recv(&a, 100, 0).unwrap().0, b"back");
    }

    #[test]
    fn dgram_keeps_boundaries_and_reports_truncation() {
        let (a, b) = UnixSocket::pair(SockType::Dgram, ME);
        a.send(b"first", anc(), 0, true).unwrap();
        a.send(b"second!", anc(), 0, true).unwrap();
        let (data, r) = recv(&b, 3, libc::MSG_TRUNC).unwrap();
        assert_eq!(data, b"fir");
        assert!(r.truncated);
        assert_eq!(r.full_len, 5);
        let (data, r) = recv(&b, 100, 0).unwrap();
        assert_eq!(data, b"second!");
        assert!(!r.truncated);
        assert_eq!(a.send(&vec![0; DEFAULT_BUF], anc(), 0, true), Err(Errno::EMSGSIZE));
    }

    #[test]
    fn full_buffer_gives_eagain_and_reading_frees_it() {
        let (a, b) = UnixSocket::pair(SockType::Dgram, ME);
        let mut n = 0;
        while a.send(b"x", anc(), 0, true).is_ok() {
            n += 1;
        }
        assert_eq!(n, 278, "same count as Linux for one-byte datagrams");
        assert_eq!(a.readiness(libc::POLLOUT as u32), 0);
        recv(&b, 1, 0).unwrap();
        assert_eq!(a.send(b"x", anc(), 0, true), Ok(1));

        let (a, _b) = UnixSocket::pair(SockType::Stream, ME);
        let big = vec![7u8; 1 << 20];
        let sent = a.send(&big, anc(), 0, true).unwrap();
        assert!(sent > 100_000 && sent <= DEFAULT_BUF, "sent {sent}");
        assert_eq!(a.send(&big, anc(), 0, true), Err(Errno::EAGAIN));
    }

    #[test]
    fn shutdown_and_close_give_eof_and_epipe() {
        let (a, b) = UnixSocket::pair(SockType::Stream, ME);
        a.send(b"abc", anc(), 0, true).unwrap();
        a.shutdown(libc::SHUT_WR).unwrap();
        assert_eq!(a.send(b"x", anc(), 0, true), Err(Errno::EPIPE));
        assert_eq!(recv(&b, 10, 0).unwrap().0, b"abc");
        assert_eq!(recv(&b, 10, 0).unwrap().1.copied, 0);
        let ev = b.readiness((libc::POLLIN | libc::POLLRDHUP) as u32);
        assert_eq!(ev, (libc::POLLIN | libc::POLLRDHUP) as u32);
        assert_eq!(a.shutdown(9), Err(Errno::EINVAL));

        let (a, b) = UnixSocket::pair(SockType::SeqPacket, ME);
        a.send(b"unread", anc(), 0, true).unwrap();
        b.release();
        // The peer left data unread: the pending error comes first.
        assert_eq!(a.send(b"x", anc(), 0, true), Err(Errno::ECONNRESET));
        assert_eq!(a.send(b"x", anc(), 0, true), Err(Errno::EPIPE));
        assert_eq!(recv(&a, 10, 0).unwrap().1.copied, 0);
        assert!(a.readiness(0) & libc::POLLHUP as u32 != 0);

        let (a, b) = UnixSocket::pair(SockType::Dgram, ME);
        b.release();
        assert_eq!(a.send(b"x", anc(), 0, true), Err(Errno::ECONNREFUSED));
        assert_eq!(a.send(b"x", anc(), 0, true), Err(Errno::ENOTCONN));
    }

    #[test]
    fn closing_with_unread_data_resets_the_peer() {
        let (a, b) = UnixSocket::pair(SockType::Stream, ME);
        b.send(b"left", anc(), 0, true).unwrap();
        a.send(b"data", anc(), 0, true).unwrap();
        a.release();
        assert_eq!(recv(&b, 10, 0).unwrap().0, b"data");
        assert_eq!(recv(&b, 10, 0).unwrap_err(), Errno::ECONNRESET);
        assert_eq!(recv(&b, 10, 0).unwrap().1.copied, 0);
    }

    #[test]
    fn rights_travel_with_the_first_segment_and_stop_the_read() {
        let (a, b) = UnixSocket::pair(SockType::Stream, ME);
        let (x, _y) = UnixSocket::pair(SockType::Stream, ME);
        let file = FileDescription::new(SocketFile::new_boxed(x), libc::O_RDWR, None);
        a.send(b"12", anc(), 0, true).unwrap();
        let with = SendAncillary {
            rights: vec![file.clone()],
            ..anc()
        };
        a.send(b"34", with, 0, true).unwrap();
        a.send(b"56", anc(), 0, true).unwrap();
        let (peeked, r) = recv(&b, 10, libc::MSG_PEEK).unwrap();
        assert_eq!((peeked.as_slice(), r.rights.len()), (&b"1234"[..], 1));
        let (data, r) = recv(&b, 10, 0).unwrap();
        assert_eq!(data, b"1234");
        assert_eq!(r.rights.len(), 1);
        assert!(Arc::ptr_eq(&r.rights[0], &file));
        assert!(socket_of(&r.rights[0]).is_ok());
        let (data, r) = recv(&b, 10, 0).unwrap();
        assert_eq!((data.as_slice(), r.rights.len()), (&b"56"[..], 0));
    }

    #[test]
    fn credentials_only_with_passcred() {
        let (a, b) = UnixSocket::pair(SockType::Dgram, ME);
        a.send(b"1", anc(), 0, true).unwrap();
        assert_eq!(recv(&b, 10, 0).unwrap().1.creds, None);
        b.setsockopt(libc::SOL_SOCKET, libc::SO_PASSCRED, &1i32.to_ne_bytes())
            .unwrap();
        a.send(b"2", anc(), 0, true).unwrap();
        assert_eq!(recv(&b, 10, 0).unwrap().1.creds, Some(ME));
        let other = Ucred { pid: 9, uid: 0, gid: 0 };
        let explicit = SendAncillary {
            creds: Some(other),
            ..anc()
        };
        a.send(b"3", explicit, 0, true).unwrap();
        assert_eq!(recv(&b, 10, 0).unwrap().1.creds, Some(other));
    }

    #[test]
    fn options_follow_linux() {
        let (a, _b) = UnixSocket::pair(SockType::SeqPacket, ME);
        let get = |name| {
            let v = a.getsockopt(libc::SOL_SOCKET, name).unwrap();
            i32::from_ne_bytes(v[..4].try_into().unwrap())
        };
        assert_eq!(get(libc::SO_TYPE), libc::SOCK_SEQPACKET);
        assert_eq!(get(libc::SO_SNDBUF), DEFAULT_BUF as i32);
        a.setsockopt(libc::SOL_SOCKET, libc::SO_SNDBUF, &1i32.to_ne_bytes())
            .unwrap();
        assert_eq!(get(libc::SO_SNDBUF), 4608);
        a.setsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF, &(-1i32).to_ne_bytes())
            .unwrap();
        assert_eq!(get(libc::SO_RCVBUF), 2 * BUF_MAX as i32);
        let cred = a.getsockopt(libc::SOL_SOCKET, libc::SO_PEERCRED).unwrap();
        assert_eq!(Ucred::from_bytes(&cred), Some(ME));
        assert_eq!(a.getsockopt(libc::SOL_SOCKET, 9999), Err(Errno::ENOPROTOOPT));
        assert_eq!(a.getsockopt(libc::IPPROTO_TCP, 1), Err(EOPNOTSUPP));
        assert_eq!(
            a.setsockopt(libc::SOL_SOCKET, libc::SO_PASSCRED, &[1]),
            Err(Errno::EINVAL)
        );
        let mut tv = [0u8; 16];
        tv[8..].copy_from_slice(&2_000_000i64.to_ne_bytes());
        assert_eq!(a.setsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv), Err(Errno::EDOM));
    }

    #[test]
    fn receive_timeout_gives_eagain() {
        let (a, _b) = UnixSocket::pair(SockType::Stream, ME);
        let mut tv = [0u8; 16];
        tv[8..].copy_from_slice(&30_000i64.to_ne_bytes());
        a.setsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 4];
        assert_eq!(a.recv(&mut buf, 0, false).unwrap_err(), Errno::EAGAIN);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn blocked_reader_wakes_on_data() {
        let (a, b) = UnixSocket::pair(SockType::Stream, ME);
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            let r = b.recv(&mut buf, libc::MSG_WAITALL, false).unwrap();
            buf[..r.copied].to_vec()
        });
        std::thread::sleep(Duration::from_millis(10));
        a.send(b"abcd", anc(), 0, false).unwrap();
        std::thread::sleep(Duration::from_millis(10));
        a.send(b"efgh", anc(), 0, false).unwrap();
        assert_eq!(t.join().unwrap(), b"abcdefgh");
    }

    #[test]
    fn unconnected_sockets_match_linux_errors() {
        let s = UnixSocket::unconnected(SockType::Stream, ME);
        assert_eq!(s.send(b"x", anc(), 0, true), Err(Errno::ENOTCONN));
        assert_eq!(recv(&s, 1, 0).unwrap_err(), Errno::EINVAL);
        assert_eq!(
            s.readiness(libc::POLLOUT as u32),
            (libc::POLLOUT | libc::POLLHUP) as u32
        );
        let d = UnixSocket::unconnected(SockType::Dgram, ME);
        assert_eq!(recv(&d, 1, 0).unwrap_err(), Errno::EAGAIN);
        let q = UnixSocket::unconnected(SockType::SeqPacket, ME);
        assert_eq!(recv(&q, 1, 0).unwrap_err(), Errno::ENOTCONN);
    }
}
