//! Host networking (`--network=host`, gVisor's "hostinet"): the guest's
//! `AF_INET`/`AF_INET6` TCP and UDP sockets are host sockets that the
//! sentry makes in its own network namespace (the host's for `runsc do`,
//! the container's for an OCI bundle) and operates on the guest's behalf.
//! `AF_UNIX` sockets stay in the sentry in every mode.
//!
//! Every host socket is non-blocking and close-on-exec; blocking calls
//! wait in the sentry on the socket's [`WaitQueue`], which the
//! [`poller`] thread notifies from `epoll_wait`, so signals interrupt them
//! (`ERESTARTSYS`, or EINTR with a timeout, as Linux answers) and
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` are timers of the sentry. Addresses are
//! passed to the host kernel as the guest gave them (at most 128 bytes,
//! copied into the sentry first), so the kernel validates them with its
//! own rules; names coming back are copied out unchanged. Options go
//! through the vetted list of [`opts`]. Ancillary data is never passed to
//! the host: on send, `SCM_RIGHTS`/`SCM_CREDENTIALS` are ignored as Linux
//! ignores them on inet sockets, other control messages are EINVAL; no
//! option that makes the host attach control messages can be set.

pub mod opts;
pub mod poller;

use super::unix::Ucred;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::inode::next_ino;
use crate::vfs::{FileOps, FileRef};
use opts::{Access, Handling};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use syscalls::structs::Stat;
use syscalls::Errno;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Switches `socket(AF_INET/AF_INET6)` to host sockets (at boot, in host
/// mode, before any guest code runs).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Whether the sandbox uses host networking.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

/// `sizeof(struct sockaddr_storage)`.
const SOCKADDR_MAX: usize = 128;
/// Send flags passed to the host (the rest are dropped, as Linux ignores
/// unknown ones on inet sockets).
const SEND_FLAGS: i32 =
    libc::MSG_OOB | libc::MSG_DONTROUTE | libc::MSG_EOR | libc::MSG_MORE | libc::MSG_CONFIRM | libc::MSG_FASTOPEN;
/// Receive flags passed to the host (`MSG_WAITALL` is the sentry's loop).
const RECV_FLAGS: i32 = libc::MSG_PEEK | libc::MSG_OOB | libc::MSG_TRUNC | libc::MSG_ERRQUEUE;

fn check(r: isize) -> Result<usize, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as usize)
    }
}

/// Runs a host call again when a host signal interrupted it.
fn retry(mut f: impl FnMut() -> isize) -> Result<usize, Errno> {
    loop {
        match check(f()) {
            Err(e) if e == Errno::EINTR => continue,
            r => return r,
        }
    }
}

/// Per-socket state kept by the sentry.
#[derive(Default)]
struct State {
    rcvtimeo: Option<Duration>,
    sndtimeo: Option<Duration>,
}

/// One guest socket backed by a host socket.
pub struct HostSocket {
    /// Dropped before `fd` (fields drop in order): no event for a closed fd.
    _registration: poller::Registration,
    fd: OwnedFd,
    domain: i32,
    /// `SOCK_STREAM` or `SOCK_DGRAM`.
    stype: i32,
    ino: u64,
    owner: Ucred,
    queue: Arc<WaitQueue>,
    state: Mutex<State>,
}

/// The result of one receive.
pub struct Received {
    /// Bytes copied into the buffer (or the datagram's length with `MSG_TRUNC`).
    pub len: usize,
    /// The sender's address as the host gave it (empty for TCP).
    pub from: Vec<u8>,
    /// The host's `msg_flags` (`MSG_TRUNC`, `MSG_EOR`, `MSG_OOB`...).
    pub flags: i32,
}

impl HostSocket {
    fn wrap(fd: OwnedFd, domain: i32, stype: i32, owner: Ucred) -> Result<Arc<HostSocket>, Errno> {
        let queue = Arc::new(WaitQueue::new());
        let registration = poller::register(fd.as_raw_fd(), &queue)?;
        Ok(Arc::new(HostSocket {
            _registration: registration,
            fd,
            domain,
            stype,
            ino: next_ino(),
            owner,
            queue,
            state: Mutex::new(State::default()),
        }))
    }

    /// A new host socket: `stype` is `SOCK_STREAM` (TCP) or `SOCK_DGRAM`
    /// (UDP), already validated with the protocol.
    pub fn new(domain: i32, stype: i32, owner: Ucred) -> Result<Arc<HostSocket>, Errno> {
        let protocol = if stype == libc::SOCK_STREAM {
            libc::IPPROTO_TCP
        } else {
            libc::IPPROTO_UDP
        };
        // SAFETY: socket has no memory arguments.
        let fd = unsafe { libc::socket(domain, stype | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, protocol) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` was just returned by socket and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        HostSocket::wrap(fd, domain, stype, owner)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `AF_INET` or `AF_INET6`.
    pub fn domain(&self) -> i32 {
        self.domain
    }

    /// Whether this is a TCP socket.
    pub fn is_stream(&self) -> bool {
        self.stype == libc::SOCK_STREAM
    }

    /// The creator's credentials.
    pub fn owner(&self) -> Ucred {
        self.owner
    }

    /// The queue the poller notifies.
    pub fn wait_queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// Runs `attempt` once (non-blocking) or until it stops answering
    /// EAGAIN, the timeout passes (EAGAIN) or a signal arrives.
    fn blocking<T>(
        &self,
        nonblock: bool,
        timeout: Option<Duration>,
        mut attempt: impl FnMut() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        if nonblock {
            return attempt();
        }
        let deadline = timeout.map(|d| Instant::now() + d);
        let r = block_until(&[&self.queue], deadline, || match attempt() {
            Err(e) if e == Errno::EAGAIN => None,
            r => Some(r),
        });
        match r {
            Ok(r) => r,
            Err(e) if e == Errno::ETIMEDOUT => Err(Errno::EAGAIN),
            Err(e) => Err(interrupted(e, timeout)),
        }
    }

    /// `bind`: ports below 1024 need `privileged` (the guest's
    /// CAP_NET_BIND_SERVICE), then the host's own permission.
    pub fn bind(&self, addr: &[u8], privileged: bool) -> Result<(), Errno> {
        if addr.len() >= 4 && !privileged {
            let family = i32::from(u16::from_ne_bytes([addr[0], addr[1]]));
            let port = u16::from_be_bytes([addr[2], addr[3]]);
            if (family == libc::AF_INET || family == libc::AF_INET6) && port != 0 && port < 1024 {
                return Err(Errno::EACCES);
            }
        }
        let addr = bounded(addr)?;
        // SAFETY: `addr` is valid for reads of its length.
        check(unsafe { libc::bind(self.fd.as_raw_fd(), addr.as_ptr().cast(), addr.len() as u32) } as isize)?;
        Ok(())
    }

    /// `listen`.
    pub fn listen(&self, backlog: i32) -> Result<(), Errno> {
        // SAFETY: listen has no memory arguments.
        check(unsafe { libc::listen(self.fd.as_raw_fd(), backlog) } as isize)?;
        Ok(())
    }

    /// `connect`: a blocking TCP connect waits for the handshake (until
    /// SO_SNDTIMEO: then EINPROGRESS, as Linux).
    pub fn connect(&self, addr: &[u8], nonblock: bool) -> Result<(), Errno> {
        let addr = bounded(addr)?;
        // SAFETY: `addr` is valid for reads of its length.
        let r =
            retry(|| unsafe { libc::connect(self.fd.as_raw_fd(), addr.as_ptr().cast(), addr.len() as u32) } as isize);
        match r {
            Ok(_) => Ok(()),
            // A blocking connect interrupted and restarted finds the
            // handshake under way (EALREADY) and waits again, as Linux.
            Err(e) if self.is_stream() && (e == Errno::EINPROGRESS || e == Errno::EALREADY) => {
                if nonblock {
                    return Err(e);
                }
                self.wait_connected()
            }
            Err(e) => Err(e),
        }
    }

    fn wait_connected(&self) -> Result<(), Errno> {
        let timeout = self.state().sndtimeo;
        let deadline = timeout.map(|d| Instant::now() + d);
        let r = block_until(&[&self.queue], deadline, || {
            let ev = self.poll_now(libc::POLLOUT | libc::POLLERR | libc::POLLHUP);
            (ev != 0).then_some(())
        });
        match r {
            Ok(()) => match self.so_error()? {
                0 => Ok(()),
                e => Err(Errno(e)),
            },
            Err(e) if e == Errno::ETIMEDOUT => Err(Errno::EINPROGRESS),
            Err(e) => Err(interrupted(e, timeout)),
        }
    }

    fn so_error(&self) -> Result<i32, Errno> {
        let v = self.host_getsockopt(libc::SOL_SOCKET, libc::SO_ERROR, 4)?;
        Ok(v.get(..4).and_then(|b| b.try_into().ok()).map_or(0, i32::from_ne_bytes))
    }

    /// `accept4`: a new host socket and the peer's address.
    pub fn accept(&self, nonblock: bool, owner: Ucred) -> Result<(Arc<HostSocket>, Vec<u8>), Errno> {
        let timeout = self.state().rcvtimeo;
        let (fd, addr) = self.blocking(nonblock, timeout, || {
            let mut addr = [0u8; SOCKADDR_MAX];
            let mut len = SOCKADDR_MAX as libc::socklen_t;
            // SAFETY: `addr`/`len` are valid for writes; the result is an fd we own.
            let fd = retry(|| unsafe {
                libc::accept4(
                    self.fd.as_raw_fd(),
                    addr.as_mut_ptr().cast(),
                    &mut len,
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                ) as isize
            })?;
            // SAFETY: accept4 returned a new fd that nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
            Ok((fd, addr[..(len as usize).min(SOCKADDR_MAX)].to_vec()))
        })?;
        let conn = HostSocket::wrap(fd, self.domain, self.stype, owner)?;
        {
            // Accepted sockets inherit the listener's timeouts, as in Linux.
            let (r, s) = {
                let st = self.state();
                (st.rcvtimeo, st.sndtimeo)
            };
            let mut st = conn.state();
            st.rcvtimeo = r;
            st.sndtimeo = s;
        }
        Ok((conn, addr))
    }

    fn name(&self, peer: bool) -> Result<Vec<u8>, Errno> {
        let mut addr = [0u8; SOCKADDR_MAX];
        let mut len = SOCKADDR_MAX as libc::socklen_t;
        let fd = self.fd.as_raw_fd();
        // SAFETY: `addr`/`len` are valid for writes.
        let r = unsafe {
            if peer {
                libc::getpeername(fd, addr.as_mut_ptr().cast(), &mut len)
            } else {
                libc::getsockname(fd, addr.as_mut_ptr().cast(), &mut len)
            }
        };
        check(r as isize)?;
        Ok(addr[..(len as usize).min(SOCKADDR_MAX)].to_vec())
    }

    /// `getsockname`.
    pub fn sockname(&self) -> Result<Vec<u8>, Errno> {
        self.name(false)
    }

    /// `getpeername`.
    pub fn peername(&self) -> Result<Vec<u8>, Errno> {
        self.name(true)
    }

    /// `shutdown`.
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        // SAFETY: shutdown has no memory arguments.
        check(unsafe { libc::shutdown(self.fd.as_raw_fd(), how) } as isize)?;
        Ok(())
    }

    fn host_getsockopt(&self, level: i32, name: i32, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len.min(opts::MAX_OPTLEN)];
        let mut l = buf.len() as libc::socklen_t;
        // SAFETY: `buf`/`l` are valid for writes of `l` bytes.
        check(unsafe { libc::getsockopt(self.fd.as_raw_fd(), level, name, buf.as_mut_ptr().cast(), &mut l) } as isize)?;
        buf.truncate(l as usize);
        Ok(buf)
    }

    /// `setsockopt` through the vetted list (`value` is what the guest
    /// passed, at most [`opts::MAX_OPTLEN`] bytes of it).
    pub fn setsockopt(&self, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
        match opts::handling(level, name) {
            Handling::Timeout { recv } => {
                let t = super::unix::parse_timeval(value)?;
                let mut st = self.state();
                if recv {
                    st.rcvtimeo = t;
                } else {
                    st.sndtimeo = t;
                }
                Ok(())
            }
            Handling::Host(Access::ReadWrite) => {
                let value = &value[..value.len().min(opts::MAX_OPTLEN)];
                // SAFETY: `value` is valid for reads of its length.
                let r = unsafe {
                    libc::setsockopt(
                        self.fd.as_raw_fd(),
                        level,
                        name,
                        value.as_ptr().cast(),
                        value.len() as libc::socklen_t,
                    )
                };
                check(r as isize)?;
                Ok(())
            }
            Handling::Host(Access::ReadOnly) | Handling::Refused => Err(Errno::ENOPROTOOPT),
        }
    }

    /// `getsockopt` through the vetted list: at most `len` bytes.
    pub fn getsockopt(&self, level: i32, name: i32, len: usize) -> Result<Vec<u8>, Errno> {
        match opts::handling(level, name) {
            Handling::Timeout { recv } => {
                let st = self.state();
                let mut v = super::unix::timeval_bytes(if recv { st.rcvtimeo } else { st.sndtimeo });
                v.truncate(len);
                Ok(v)
            }
            Handling::Host(_) => self.host_getsockopt(level, name, len),
            Handling::Refused => Err(Errno::ENOPROTOOPT),
        }
    }

    fn host_sendmsg(&self, data: &[u8], addr: Option<&[u8]>, flags: i32) -> Result<usize, Errno> {
        let mut iov = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: an all-zero msghdr is valid (no name, no control).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if let Some(a) = addr {
            msg.msg_name = a.as_ptr() as *mut libc::c_void;
            msg.msg_namelen = a.len() as libc::socklen_t;
        }
        let flags = (flags & SEND_FLAGS) | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
        // SAFETY: `msg` points at `iov`, `data` and `addr`, all alive and
        // unaliased for the call; the host only reads them.
        retry(|| unsafe { libc::sendmsg(self.fd.as_raw_fd(), &msg, flags) })
    }

    /// Sends `data` (to `addr` if given). A blocking TCP send queues all of
    /// it unless a signal or the timeout stops it after some bytes. EPIPE
    /// is returned without SIGPIPE (the caller raises it).
    pub fn send(&self, data: &[u8], addr: Option<&[u8]>, flags: i32, nonblock: bool) -> Result<usize, Errno> {
        let addr = addr.map(bounded).transpose()?;
        let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
        let mut done = 0usize;
        let timeout = self.state().sndtimeo;
        let r = self.blocking(nonblock, timeout, || loop {
            match self.host_sendmsg(&data[done..], addr, flags) {
                Ok(n) => {
                    done += n;
                    if !self.is_stream() || done >= data.len() || nonblock {
                        return Ok(done);
                    }
                }
                Err(e) if e == Errno::EAGAIN => return Err(e),
                Err(e) if done > 0 => {
                    // Report the error at the next call, as Linux does.
                    let _ = e;
                    return Ok(done);
                }
                Err(e) => return Err(e),
            }
        });
        match r {
            Err(_) if done > 0 => Ok(done),
            r => r,
        }
    }

    fn host_recvmsg(&self, buf: &mut [u8], flags: i32) -> Result<Received, Errno> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut name = [0u8; SOCKADDR_MAX];
        // SAFETY: an all-zero msghdr is valid (no name, no control).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_name = name.as_mut_ptr().cast();
        msg.msg_namelen = SOCKADDR_MAX as libc::socklen_t;
        let flags = (flags & RECV_FLAGS) | libc::MSG_DONTWAIT;
        // SAFETY: `msg` points at `iov` (over `buf`) and `name`, alive and
        // writable for the call.
        let n = retry(|| unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, flags) })?;
        Ok(Received {
            len: n,
            from: name[..(msg.msg_namelen as usize).min(SOCKADDR_MAX)].to_vec(),
            // MSG_CTRUNC stays: the host had control messages (an
            // IP_RECVERR error queue entry) that are not forwarded.
            flags: msg.msg_flags,
        })
    }

    /// Receives into `buf`; `MSG_WAITALL` on a blocking TCP socket waits
    /// for the whole buffer (or EOF, an error, a signal, the timeout).
    pub fn recv(&self, buf: &mut [u8], flags: i32, nonblock: bool) -> Result<Received, Errno> {
        let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
        let waitall = flags & libc::MSG_WAITALL != 0 && flags & libc::MSG_PEEK == 0 && self.is_stream();
        let timeout = self.state().rcvtimeo;
        let mut got = 0usize;
        let mut last = Received {
            len: 0,
            from: Vec::new(),
            flags: 0,
        };
        let r = self.blocking(nonblock, timeout, || match self.host_recvmsg(&mut buf[got..], flags) {
            Ok(r) => {
                let eof = r.len == 0;
                got = (got + r.len).min(buf.len());
                last.from = r.from;
                last.flags = r.flags;
                if waitall && !eof && got < buf.len() && !nonblock {
                    return Err(Errno::EAGAIN);
                }
                Ok(r.len)
            }
            Err(e) if got > 0 && e != Errno::EAGAIN => Ok(0),
            Err(e) => Err(e),
        });
        match r {
            Ok(n) => Ok(Received {
                // MSG_TRUNC on a datagram socket reports the full length.
                len: if waitall { got } else { n },
                ..last
            }),
            Err(_) if got > 0 => Ok(Received { len: got, ..last }),
            Err(e) => Err(e),
        }
    }

    /// The poll events ready now.
    fn poll_now(&self, events: i16) -> u32 {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        if n <= 0 {
            return 0;
        }
        p.revents as u16 as u32
    }

    /// An int-valued ioctl (FIONREAD/SIOCINQ, SIOCOUTQ).
    pub fn ioctl_int(&self, cmd: u64) -> Result<i32, Errno> {
        let mut n: libc::c_int = 0;
        // SAFETY: both requests write one int into `n`.
        check(unsafe { libc::ioctl(self.fd.as_raw_fd(), cmd as libc::Ioctl, &mut n as *mut libc::c_int) } as isize)?;
        Ok(n)
    }
}

/// Linux's `sock_intr_errno`: a wait without a timeout is restarted after
/// a handler (`ERESTARTSYS`); one with a timeout fails with EINTR.
fn interrupted(e: Errno, timeout: Option<Duration>) -> Errno {
    if e == Errno::ERESTARTSYS && timeout.is_some() {
        Errno::EINTR
    } else {
        e
    }
}

/// An address as passed to the host: at most `sockaddr_storage`.
fn bounded(addr: &[u8]) -> Result<&[u8], Errno> {
    if addr.len() > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(addr)
}

/// The file operations of a host socket's open file description.
pub struct HostSocketFile {
    sock: Arc<HostSocket>,
}

impl HostSocketFile {
    /// Wraps `sock` for `FileDescription::new`.
    pub fn new_boxed(sock: Arc<HostSocket>) -> Box<dyn FileOps> {
        Box::new(HostSocketFile { sock })
    }
}

/// The host socket behind `file`, if it is one.
pub fn socket_of(file: &FileRef) -> Option<Arc<HostSocket>> {
    file.ops()
        .as_any()?
        .downcast_ref::<HostSocketFile>()
        .map(|f| f.sock.clone())
}

impl FileOps for HostSocketFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(super::unix::socket_stat(self.sock.ino, self.sock.owner))
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.sock.recv(buf, 0, nonblock).map(|r| r.len)
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        let r = self.sock.send(buf, None, 0, nonblock);
        if r == Err(Errno::EPIPE) {
            super::unix::raise_sigpipe(self.sock.owner);
        }
        r
    }

    fn ioctl(&self, mm: &crate::mm::MemoryManager, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let v = match u64::from(cmd) {
            libc::FIONREAD | libc::TIOCOUTQ => self.sock.ioctl_int(u64::from(cmd))?,
            // Interfaces as the sandbox's netlink shows them (only lo).
            c => return crate::net::ifioctl::ioctl(mm, c, arg, true).unwrap_or(Err(Errno::ENOTTY)),
        };
        mm.write_obj(arg, &v)?;
        Ok(0)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let always = (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) as u32;
        self.sock.poll_now(mask as i16) & (mask | always)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(self.sock.wait_queue())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn name(&self) -> Vec<u8> {
        format!("socket:[{}]", self.sock.ino).into_bytes()
    }
}

/// Prepares a network namespace the sentry made for itself (an OCI
/// `network` namespace without a path): brings `lo` up. Runs before the
/// capabilities are dropped (it needs CAP_NET_ADMIN in the namespace).
pub fn loopback_up() -> Result<(), Errno> {
    // SAFETY: socket has no memory arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `fd` was just returned by socket and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero ifreq is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write one ifreq.
    unsafe {
        check(libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) as isize)?;
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as i16;
        check(libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS, &req) as isize)?;
    }
    Ok(())
}

/// Lets the guest's root bind ports below 1024 in a network namespace that
/// belongs to the container (joined or fresh, never the host's own), as
/// docker does by default: `net.ipv4.ip_unprivileged_port_start = 0`. The
/// sentry keeps no capability, and the guest's own CAP_NET_BIND_SERVICE
/// is checked by the sentry before each bind. Best effort (a namespace of
/// another user namespace refuses the write): runs before confinement.
pub fn allow_low_ports() {
    if let Err(e) = std::fs::write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n") {
        tracing::debug!("hostinet: ip_unprivileged_port_start: {e}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::net::addr::SockAddr;

    const ME: Ucred = Ucred { pid: 1, uid: 0, gid: 0 };

    fn tcp() -> Arc<HostSocket> {
        HostSocket::new(libc::AF_INET, libc::SOCK_STREAM, ME).unwrap()
    }

    fn v4(s: &str) -> Vec<u8> {
        SockAddr::V4(s.parse().unwrap()).to_bytes()
    }

    #[test]
    fn tcp_connection_with_blocking_calls_woken_by_the_poller() {
        let l = tcp();
        l.bind(&v4("127.0.0.1:0"), false).unwrap();
        l.listen(4).unwrap();
        let name = l.sockname().unwrap();
        let c = tcp();
        assert_eq!(c.connect(&name, true), Err(Errno::EINPROGRESS));
        c.connect(&name, false).unwrap();
        let (s, peer) = l.accept(false, ME).unwrap();
        assert_eq!(peer, c.sockname().unwrap());
        // A blocked receive is woken by the poller thread when data arrives.
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            let r = s.recv(&mut buf, libc::MSG_WAITALL, false).unwrap();
            (buf[..r.len].to_vec(), s)
        });
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.send(b"abcd", None, 0, false), Ok(4));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.send(b"efgh", None, 0, false), Ok(4));
        let (got, _server) = reader.join().unwrap();
        assert_eq!(got, b"abcdefgh");
        // The timeout is the sentry's: EAGAIN once it passed.
        let mut tv = [0u8; 16];
        tv[8..].copy_from_slice(&40_000i64.to_ne_bytes());
        c.setsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv).unwrap();
        assert_eq!(c.getsockopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, 16).unwrap(), tv);
        let start = Instant::now();
        let mut buf = [0u8; 4];
        assert_eq!(c.recv(&mut buf, 0, false).err(), Some(Errno::EAGAIN));
        assert!(start.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn options_and_ports_are_vetted() {
        let s = tcp();
        s.setsockopt(libc::IPPROTO_TCP, libc::TCP_NODELAY, &1i32.to_ne_bytes())
            .unwrap();
        let v = s.getsockopt(libc::IPPROTO_TCP, libc::TCP_NODELAY, 4).unwrap();
        assert_eq!(i32::from_ne_bytes(v[..4].try_into().unwrap()), 1);
        let ty = s.getsockopt(libc::SOL_SOCKET, libc::SO_TYPE, 4).unwrap();
        assert_eq!(ty, libc::SOCK_STREAM.to_ne_bytes());
        assert_eq!(
            s.setsockopt(libc::SOL_SOCKET, libc::SO_TYPE, &1i32.to_ne_bytes()),
            Err(Errno::ENOPROTOOPT)
        );
        assert_eq!(
            s.setsockopt(libc::SOL_SOCKET, libc::SO_DEBUG, &1i32.to_ne_bytes()),
            Err(Errno::ENOPROTOOPT)
        );
        // A guest without CAP_NET_BIND_SERVICE cannot take a low port.
        assert_eq!(s.bind(&v4("127.0.0.1:80"), false), Err(Errno::EACCES));
        assert_eq!(s.bind(&[0u8; 129], true), Err(Errno::EINVAL));
    }

    #[test]
    fn udp_datagrams_carry_their_source() {
        let a = HostSocket::new(libc::AF_INET, libc::SOCK_DGRAM, ME).unwrap();
        let b = HostSocket::new(libc::AF_INET, libc::SOCK_DGRAM, ME).unwrap();
        a.bind(&v4("127.0.0.1:0"), false).unwrap();
        b.bind(&v4("127.0.0.1:0"), false).unwrap();
        let to = a.sockname().unwrap();
        assert_eq!(b.send(b"datagram", Some(&to), 0, false), Ok(8));
        let mut buf = [0u8; 4];
        let r = a.recv(&mut buf, libc::MSG_TRUNC, false).unwrap();
        assert_eq!((r.len, &buf), (8, b"data"));
        assert!(r.flags & libc::MSG_TRUNC != 0);
        assert_eq!(r.from, b.sockname().unwrap());
    }
}
