//! The socket tables of `/proc/net`: `unix`, `tcp`, `tcp6`, `udp`,
//! `udp6`, in Linux's column layout (addresses as the kernel prints them:
//! network-order words shown as host-order hex), built from the sockets
//! that have open files.

use super::addr::{SockAddr, UnixAddr};
use super::inet::canonical;
use super::unix::{all_sockets, SockType, UnixSocket};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

/// The header of `/proc/net/unix`.
const UNIX_HEADER: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n";
/// The header of `/proc/net/tcp` (and `udp`, which adds three columns).
const TCP_HEADER: &str =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const TCP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
const UDP_HEADER: &str =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
const UDP6_HEADER: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";

/// `/proc/net/unix`.
pub fn unix_table() -> Vec<u8> {
    let mut out = String::from(UNIX_HEADER);
    for s in all_sockets().iter().filter(|s| !s.is_inet()) {
        let (local, listening) = {
            let n = s.named();
            (n.local.clone(), n.listener.is_some())
        };
        let ty = match s.sock_type() {
            SockType::Stream => 1,
            SockType::Dgram => 2,
            SockType::SeqPacket => 5,
        };
        let state = if s.is_connected() { 3 } else { 1 };
        let flags = if listening { 1 << 16 } else { 0 };
        let _ = write!(
            out,
            "0000000000000000: 00000002 00000000 {flags:08X} {ty:04X} {state:02X} {:5}",
            s.ino()
        );
        match local {
            Some(SockAddr::Unix(UnixAddr::Path(p))) => {
                out.push(' ');
                out.push_str(&String::from_utf8_lossy(&p));
            }
            Some(SockAddr::Unix(UnixAddr::Abstract(n))) => {
                out.push_str(" @");
                out.push_str(&String::from_utf8_lossy(&n).replace('\0', "@"));
            }
            _ => {}
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// An address as `/proc/net/tcp*` prints it.
fn hex_addr(a: Option<SocketAddr>, v6: bool) -> String {
    let (ip, port) = match a {
        Some(sa) => (sa.ip(), sa.port()),
        None if v6 => (IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 0),
        None => (IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0),
    };
    let octets: Vec<u8> = match (ip, v6) {
        (IpAddr::V4(a), false) => a.octets().to_vec(),
        (IpAddr::V4(a), true) => a.to_ipv6_mapped().octets().to_vec(),
        (IpAddr::V6(a), _) => a.octets().to_vec(),
    };
    let mut s = String::new();
    for w in octets.chunks_exact(4) {
        let _ = write!(s, "{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    }
    let _ = write!(s, ":{port:04X}");
    s
}

fn inet_rows(tcp: bool, v6: bool) -> String {
    let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let mut out = String::from(match (tcp, v6) {
        (true, false) => TCP_HEADER,
        (true, true) => TCP6_HEADER,
        (false, false) => UDP_HEADER,
        (false, true) => UDP6_HEADER,
    });
    let socks: Vec<std::sync::Arc<UnixSocket>> = all_sockets()
        .into_iter()
        .filter(|s| s.domain() == domain && (s.sock_type() == SockType::Stream) == tcp)
        .collect();
    for (i, s) in socks.iter().enumerate() {
        let (local, peer, listening) = {
            let n = s.named();
            (
                n.local.as_ref().and_then(canonical),
                n.peer.as_ref().and_then(canonical),
                n.listener.is_some(),
            )
        };
        let connected = s.is_connected() || (!tcp && peer.is_some());
        // TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10.
        let st = if listening {
            0x0A
        } else if connected {
            1
        } else {
            7
        };
        let (tx, rx) = (s.bytes_unread_by_peer(), s.bytes_readable());
        let _ = write!(
            out,
            "{i:4}: {} {} {st:02X} {tx:08X}:{rx:08X} 00:00000000 00000000 {:5} {:8} {}",
            hex_addr(local, v6),
            hex_addr(if connected { peer } else { None }, v6),
            s.owner().uid,
            0,
            s.ino()
        );
        out.push_str(if tcp {
            " 1 0000000000000000 100 0 0 10 0\n"
        } else {
            " 2 0000000000000000 0\n"
        });
    }
    out
}

/// `/proc/net/tcp`, `tcp6`, `udp` or `udp6`.
pub fn inet_table(tcp: bool, v6: bool) -> Vec<u8> {
    inet_rows(tcp, v6).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_print_as_the_kernel_does() {
        let a: SocketAddr = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(hex_addr(Some(a), false), "0100007F:1F90");
        assert_eq!(hex_addr(Some(a), true), "0000000000000000FFFF00000100007F:1F90");
        assert_eq!(hex_addr(None, false), "00000000:0000");
    }
}
