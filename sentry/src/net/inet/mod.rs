//! Loopback TCP and UDP (`AF_INET`, `AF_INET6`), as in a container with
//! `--network none`: one interface, `lo`, with 127.0.0.0/8 and ::1. There
//! are no packets: a TCP connect finds the listener in the port table and
//! joins it with a stream pair (see [`crate::net::unix`]); a UDP send
//! queues the datagram on the socket bound at the destination. Binding
//! another address is EADDRNOTAVAIL and connecting to one ENETUNREACH.
//!
//! Decisions: connections complete at once (a non-blocking connect still
//! answers EINPROGRESS first, as Linux does on loopback); there is no
//! TIME_WAIT, so a closed port is free at once; a TCP listener's backlog
//! never refuses a connection; a UDP datagram to a port nobody bound is
//! dropped (a connected sender gets ECONNREFUSED next, as after ICMP).

pub mod ports;

use super::addr::SockAddr;
use super::unix::{Binding, DgramPeer, SendAncillary, SockType, Ucred, UnixSocket};
use ports::{Entry, Reach};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use syscalls::Errno;

/// Largest UDP payload over IPv4 (65535 - 20 - 8).
pub const MAX_UDP4: usize = 65_507;
/// Largest UDP payload over IPv6 (65535 - 8).
pub const MAX_UDP6: usize = 65_527;

/// An address with v4-mapped IPv6 turned into IPv4 (how the tables
/// compare addresses).
pub fn canonical(a: &SockAddr) -> Option<SocketAddr> {
    match a {
        SockAddr::V4(v) => Some(SocketAddr::V4(*v)),
        SockAddr::V6(v) => Some(match v.ip().to_ipv4_mapped() {
            Some(ip4) => SocketAddr::V4(SocketAddrV4::new(ip4, v.port())),
            None => SocketAddr::V6(*v),
        }),
        SockAddr::Unix(_) => None,
    }
}

/// `sa` as a socket of `domain` sees it (IPv4 as v4-mapped for `AF_INET6`).
pub fn in_domain(sa: SocketAddr, domain: i32) -> SockAddr {
    match (sa, domain) {
        (SocketAddr::V4(v), libc::AF_INET6) => SockAddr::V6(SocketAddrV6::new(v.ip().to_ipv6_mapped(), v.port(), 0, 0)),
        (SocketAddr::V4(v), _) => SockAddr::V4(v),
        (SocketAddr::V6(v), _) => SockAddr::V6(v),
    }
}

fn v6only(sock: &UnixSocket) -> bool {
    sock.domain() == libc::AF_INET6 && sock.flag_opt(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)
}

fn is_tcp(sock: &UnixSocket) -> bool {
    sock.sock_type() == SockType::Stream
}

/// Whether a socket may be bound to `ip`: loopback or a wildcard.
fn local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_unspecified() || a.is_loopback(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_loopback(),
    }
}

/// Where a connect or send to `dst` goes (`0.0.0.0` and `::` mean this
/// host), or ENETUNREACH off loopback.
fn route(sock: &UnixSocket, dst: &SockAddr) -> Result<SocketAddr, Errno> {
    if let SockAddr::V6(v) = dst {
        if v.ip().to_ipv4_mapped().is_some() && v6only(sock) {
            return Err(Errno::ENETUNREACH);
        }
    }
    let sa = canonical(dst).ok_or(Errno::EAFNOSUPPORT)?;
    let ip = match sa.ip() {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip if local(ip) => ip,
        _ => return Err(Errno::ENETUNREACH),
    };
    Ok(SocketAddr::new(ip, sa.port()))
}

/// The source address of traffic to `dst`.
fn source_for(dst: IpAddr) -> IpAddr {
    match dst {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

fn entry(sock: &Arc<UnixSocket>, reach: Reach) -> Entry {
    Entry {
        sock: Arc::downgrade(sock),
        reach,
        reuseaddr: sock.flag_opt(libc::SOL_SOCKET, libc::SO_REUSEADDR),
        reuseport: sock.flag_opt(libc::SOL_SOCKET, libc::SO_REUSEPORT),
    }
}

fn record(sock: &UnixSocket, local: SocketAddr) {
    let mut n = sock.named();
    n.local = Some(in_domain(local, sock.domain()));
    n.binding = Some(Binding::Port {
        tcp: is_tcp(sock),
        port: local.port(),
    });
}

/// `bind(addr)`: `privileged` callers may take ports below 1024.
pub fn bind(sock: &Arc<UnixSocket>, addr: &SockAddr, privileged: bool) -> Result<(), Errno> {
    if sock.named().local.is_some() {
        return Err(Errno::EINVAL);
    }
    if let SockAddr::V6(v) = addr {
        if v.ip().to_ipv4_mapped().is_some() && v6only(sock) {
            return Err(Errno::EINVAL);
        }
    }
    let sa = canonical(addr).ok_or(Errno::EAFNOSUPPORT)?;
    if !local(sa.ip()) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    if sa.port() != 0 && sa.port() < 1024 && !privileged {
        return Err(Errno::EACCES);
    }
    let port = ports::bind(is_tcp(sock), sa.port(), entry(sock, Reach::of(sa.ip(), v6only(sock))))?;
    record(sock, SocketAddr::new(sa.ip(), port));
    Ok(())
}

/// Binds an unbound socket to the wildcard (or `ip`) and an ephemeral port.
fn autobind_to(sock: &Arc<UnixSocket>, ip: Option<IpAddr>) -> Result<SocketAddr, Errno> {
    if let Some(local) = sock.named().local.as_ref().and_then(canonical) {
        return Ok(local);
    }
    let ip = ip.unwrap_or(match sock.domain() {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        _ => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    let port = ports::bind(is_tcp(sock), 0, entry(sock, Reach::of(ip, v6only(sock))))?;
    let local = SocketAddr::new(ip, port);
    record(sock, local);
    Ok(local)
}

/// Gives a socket about to talk to `dst` its source address: an ephemeral
/// port if unbound, the loopback address if bound to a wildcard.
fn bind_source(sock: &Arc<UnixSocket>, dst: IpAddr) -> Result<SocketAddr, Errno> {
    let src = source_for(dst);
    let local = autobind_to(sock, Some(src))?;
    if !local.ip().is_unspecified() {
        return Ok(local);
    }
    let local = SocketAddr::new(src, local.port());
    ports::set_reach(
        is_tcp(sock),
        local.port(),
        Arc::as_ptr(sock),
        Reach::of(src, v6only(sock)),
    );
    sock.named().local = Some(in_domain(local, sock.domain()));
    Ok(local)
}

/// `listen(backlog)`: an unbound TCP socket first gets an ephemeral port.
pub fn listen(sock: &Arc<UnixSocket>, backlog: i32, cred: Ucred) -> Result<(), Errno> {
    if sock.sock_type() != SockType::Stream {
        return Err(super::unix::EOPNOTSUPP);
    }
    if sock.is_connected() {
        return Err(Errno::EINVAL);
    }
    autobind_to(sock, None)?;
    sock.listen(backlog, cred)
}

/// `connect(addr)`; `None` is `AF_UNSPEC` (dissolves a UDP association).
pub fn connect(sock: &Arc<UnixSocket>, addr: Option<&SockAddr>, cred: Ucred, nonblock: bool) -> Result<(), Errno> {
    if sock.sock_type() == SockType::Dgram {
        let Some(addr) = addr else {
            sock.set_dgram_peer(None);
            return Ok(());
        };
        let dst = route(sock, addr)?;
        bind_source(sock, dst.ip())?;
        sock.set_dgram_peer(Some(DgramPeer::Inet(in_domain(dst, sock.domain()))));
        return Ok(());
    }
    if sock.is_listening() {
        return Err(Errno::EISCONN);
    }
    if sock.is_connected() {
        let mut n = sock.named();
        if std::mem::take(&mut n.connect_reported) {
            return Ok(());
        }
        return Err(Errno::EISCONN);
    }
    let Some(addr) = addr else { return Ok(()) };
    let dst = route(sock, addr)?;
    let src = bind_source(sock, dst.ip())?;
    let listener = ports::find(true, dst.port(), dst.ip(), |s| s.is_listening()).ok_or(Errno::ECONNREFUSED)?;
    let ld = listener.domain();
    sock.connect_to(
        &listener,
        cred,
        true,
        false,
        Some(in_domain(src, ld)),
        Some(in_domain(dst, ld)),
    )?;
    let mut n = sock.named();
    n.peer = Some(in_domain(dst, sock.domain()));
    if nonblock {
        n.connect_reported = true;
        return Err(Errno::EINPROGRESS);
    }
    Ok(())
}

/// Sends one UDP datagram to `dst` (the sender must be bound).
pub fn udp_send(
    sock: &UnixSocket,
    dst: &SockAddr,
    data: &[u8],
    anc: SendAncillary,
    nonblock: bool,
) -> Result<usize, Errno> {
    let dst = route(sock, dst)?;
    let max = if dst.is_ipv4() { MAX_UDP4 } else { MAX_UDP6 };
    if data.len() > max {
        return Err(Errno::EMSGSIZE);
    }
    if dst.port() == 0 {
        return Err(Errno::EINVAL);
    }
    let (local, connected) = {
        let n = sock.named();
        (n.local.as_ref().and_then(canonical), n.dgram_peer.is_some())
    };
    let local = local.ok_or(Errno::EINVAL)?;
    let src = if local.ip().is_unspecified() {
        SocketAddr::new(source_for(dst.ip()), local.port())
    } else {
        local
    };
    let target = ports::find(false, dst.port(), dst.ip(), |t| match &t.named().dgram_peer {
        Some(DgramPeer::Inet(p)) => canonical(p) == Some(src),
        _ => true,
    });
    match target {
        Some(t) => sock.send_dgram_to(&t, data, anc, Some(in_domain(src, t.domain())), nonblock),
        None => {
            if connected {
                sock.set_error(libc::ECONNREFUSED);
            }
            Ok(data.len())
        }
    }
}

/// A UDP send with an explicit destination: binds the sender first.
pub fn udp_send_to(
    sock: &Arc<UnixSocket>,
    dst: &SockAddr,
    data: &[u8],
    anc: SendAncillary,
    nonblock: bool,
) -> Result<usize, Errno> {
    route(sock, dst)?;
    autobind_to(sock, None)?;
    udp_send(sock, dst, data, anc, nonblock)
}

/// The name an unbound inet socket reports: the wildcard, port 0.
pub fn unbound_name(domain: i32) -> SockAddr {
    match domain {
        libc::AF_INET => SockAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        _ => SockAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ME: Ucred = Ucred { pid: 1, uid: 0, gid: 0 };

    fn v4(s: &str) -> SockAddr {
        SockAddr::V4(s.parse().unwrap())
    }

    fn port(sock: &UnixSocket) -> u16 {
        sock.named().local.as_ref().map_or(0, SockAddr::port)
    }

    #[test]
    fn tcp_connects_through_the_port_table() {
        let l = UnixSocket::unconnected_in(libc::AF_INET6, SockType::Stream, ME);
        bind(&l, &SockAddr::V6("[::]:0".parse().unwrap()), true).unwrap();
        listen(&l, 8, ME).unwrap();
        let p = port(&l);
        assert!((ports::EPHEMERAL.0..=ports::EPHEMERAL.1).contains(&p));
        let c = UnixSocket::unconnected_in(libc::AF_INET, SockType::Stream, ME);
        connect(&c, Some(&v4(&format!("127.0.0.1:{p}"))), ME, false).unwrap();
        let s = l.accept(true).unwrap();
        // The dual-stack listener sees the IPv4 client as v4-mapped.
        let peer = s.named().peer.clone().unwrap();
        assert_eq!(canonical(&peer), canonical(&c.named().local.clone().unwrap()));
        assert!(matches!(peer, SockAddr::V6(_)));
        let off = UnixSocket::unconnected_in(libc::AF_INET, SockType::Stream, ME);
        assert_eq!(
            connect(&off, Some(&v4("192.0.2.1:80")), ME, false),
            Err(Errno::ENETUNREACH)
        );
        assert_eq!(bind(&off, &v4("192.0.2.1:0"), true), Err(Errno::EADDRNOTAVAIL));
        let nb = UnixSocket::unconnected_in(libc::AF_INET, SockType::Stream, ME);
        assert_eq!(
            connect(&nb, Some(&v4(&format!("127.0.0.1:{p}"))), ME, true),
            Err(Errno::EINPROGRESS)
        );
        assert_eq!(connect(&nb, Some(&v4(&format!("127.0.0.1:{p}"))), ME, true), Ok(()));
        assert_eq!(
            connect(&nb, Some(&v4(&format!("127.0.0.1:{p}"))), ME, true),
            Err(Errno::EISCONN)
        );
    }

    #[test]
    fn udp_delivers_to_the_bound_socket_with_the_source() {
        let r = UnixSocket::unconnected_in(libc::AF_INET, SockType::Dgram, ME);
        bind(&r, &v4("127.0.0.1:0"), true).unwrap();
        let p = port(&r);
        let s = UnixSocket::unconnected_in(libc::AF_INET, SockType::Dgram, ME);
        let anc = || SendAncillary {
            sender: ME,
            ..Default::default()
        };
        let dst = v4(&format!("127.0.0.1:{p}"));
        assert_eq!(udp_send_to(&s, &dst, b"dgram", anc(), true), Ok(5));
        assert_eq!(
            udp_send_to(&s, &dst, &vec![0; MAX_UDP4 + 1], anc(), true),
            Err(Errno::EMSGSIZE)
        );
        let mut buf = [0u8; 16];
        let got = r.recv(&mut buf, 0, true).unwrap();
        assert_eq!(got.copied, 5);
        assert_eq!(got.from, Some(v4(&format!("127.0.0.1:{}", port(&s)))));
    }
}
