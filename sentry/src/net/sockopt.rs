//! Socket options that are stored and reported back but change nothing in
//! a loopback-only stack (SO_REUSEADDR's binding rules excepted, which the
//! port table reads): their levels, defaults and value checks follow
//! Linux so that `getsockopt` after `setsockopt` returns what Linux would.

use super::unix::{SockType, EOPNOTSUPP};
use syscalls::Errno;

/// How a value is checked and normalised.
#[derive(Clone, Copy)]
enum Kind {
    /// An int stored as 0/1.
    Bool,
    /// An int stored as given.
    Int,
    /// A TTL / hop limit: -1 means the default, else 1..=255.
    Hops,
    /// `struct linger`.
    Linger,
    /// A NUL-terminated name (TCP_CONGESTION).
    Name,
}

/// The kind and default of `(level, name)` for this socket, `None` when
/// Linux does not know it there.
fn spec(domain: i32, stype: SockType, level: i32, name: i32) -> Option<(Kind, Vec<u8>)> {
    let int = |k: Kind, v: i32| Some((k, v.to_ne_bytes().to_vec()));
    let tcp = stype == SockType::Stream;
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR | libc::SO_REUSEPORT | libc::SO_KEEPALIVE) => int(Kind::Bool, 0),
        (libc::SOL_SOCKET, libc::SO_BROADCAST | libc::SO_DONTROUTE | libc::SO_OOBINLINE) => int(Kind::Bool, 0),
        (libc::SOL_SOCKET, libc::SO_TIMESTAMP | libc::SO_TIMESTAMPNS) => int(Kind::Bool, 0),
        (libc::SOL_SOCKET, libc::SO_PRIORITY) => int(Kind::Int, 0),
        (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => int(Kind::Int, 1),
        (libc::SOL_SOCKET, libc::SO_LINGER) => Some((Kind::Linger, vec![0; 8])),
        (libc::IPPROTO_TCP, _) if domain != libc::AF_UNIX && tcp => match name {
            libc::TCP_NODELAY | libc::TCP_CORK => int(Kind::Bool, 0),
            libc::TCP_QUICKACK => int(Kind::Bool, 1),
            libc::TCP_MAXSEG => int(Kind::Int, 536),
            libc::TCP_KEEPIDLE => int(Kind::Int, 7200),
            libc::TCP_KEEPINTVL => int(Kind::Int, 75),
            libc::TCP_KEEPCNT => int(Kind::Int, 9),
            libc::TCP_SYNCNT => int(Kind::Int, 6),
            libc::TCP_LINGER2 => int(Kind::Int, 60),
            libc::TCP_DEFER_ACCEPT | libc::TCP_WINDOW_CLAMP | libc::TCP_USER_TIMEOUT | libc::TCP_FASTOPEN => {
                int(Kind::Int, 0)
            }
            libc::TCP_NOTSENT_LOWAT => int(Kind::Int, -1),
            libc::TCP_CONGESTION => Some((Kind::Name, b"cubic".to_vec())),
            _ => None,
        },
        (libc::IPPROTO_UDP, 1 | 103) if domain != libc::AF_UNIX && !tcp => int(Kind::Int, 0),
        (libc::IPPROTO_IP, _) if domain != libc::AF_UNIX => match name {
            libc::IP_TOS => int(Kind::Int, 0),
            libc::IP_TTL => int(Kind::Hops, 64),
            libc::IP_RECVERR | libc::IP_PKTINFO | libc::IP_RECVTOS | libc::IP_RECVTTL | libc::IP_FREEBIND => {
                int(Kind::Bool, 0)
            }
            libc::IP_MTU_DISCOVER => int(Kind::Int, if tcp { 1 } else { 0 }),
            libc::IP_MULTICAST_TTL | libc::IP_MULTICAST_LOOP => int(Kind::Int, 1),
            24 => int(Kind::Bool, 0), // IP_BIND_ADDRESS_NO_PORT
            _ => None,
        },
        (libc::IPPROTO_IPV6, _) if domain == libc::AF_INET6 => match name {
            libc::IPV6_V6ONLY | libc::IPV6_RECVPKTINFO | libc::IPV6_RECVERR | libc::IPV6_RECVTCLASS => {
                int(Kind::Bool, 0)
            }
            libc::IPV6_UNICAST_HOPS => int(Kind::Hops, 64),
            libc::IPV6_TCLASS => int(Kind::Int, 0),
            libc::IPV6_MULTICAST_HOPS | libc::IPV6_MULTICAST_LOOP => int(Kind::Int, 1),
            _ => None,
        },
        _ => None,
    }
}

/// Checks and normalises a value for `(level, name)`.
fn check(kind: Kind, value: &[u8]) -> Result<Vec<u8>, Errno> {
    let int = || -> Result<i32, Errno> {
        let b: [u8; 4] = value.get(..4).and_then(|s| s.try_into().ok()).ok_or(Errno::EINVAL)?;
        Ok(i32::from_ne_bytes(b))
    };
    Ok(match kind {
        Kind::Bool => i32::from(int()? != 0).to_ne_bytes().to_vec(),
        Kind::Int => int()?.to_ne_bytes().to_vec(),
        Kind::Hops => {
            let v = int()?;
            let v = match v {
                -1 => 64,
                1..=255 => v,
                _ => return Err(Errno::EINVAL),
            };
            v.to_ne_bytes().to_vec()
        }
        Kind::Linger => {
            let l = value.get(..8).ok_or(Errno::EINVAL)?;
            let onoff = i32::from_ne_bytes([l[0], l[1], l[2], l[3]]);
            let mut out = i32::from(onoff != 0).to_ne_bytes().to_vec();
            out.extend_from_slice(&l[4..8]);
            out
        }
        Kind::Name => {
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            if &value[..end] != b"cubic" && &value[..end] != b"reno" {
                return Err(Errno::ENOENT);
            }
            value[..end].to_vec()
        }
    })
}

/// The IANA protocol number `SO_PROTOCOL` reports.
pub fn protocol(domain: i32, stype: SockType) -> i32 {
    match (domain, stype) {
        (libc::AF_UNIX, _) => 0,
        (_, SockType::Stream) => libc::IPPROTO_TCP,
        _ => libc::IPPROTO_UDP,
    }
}

/// Reads a stored `SOL_SOCKET` option (ENOPROTOOPT for unknown ones).
pub fn get_socket_level(name: i32, stored: Option<Vec<u8>>) -> Result<Vec<u8>, Errno> {
    let (_, default) = spec(libc::AF_UNIX, SockType::Stream, libc::SOL_SOCKET, name).ok_or(Errno::ENOPROTOOPT)?;
    Ok(stored.unwrap_or(default))
}

/// Validates a `SOL_SOCKET` option for storing.
pub fn check_socket_level(name: i32, value: &[u8]) -> Result<Vec<u8>, Errno> {
    let (kind, _) = spec(libc::AF_UNIX, SockType::Stream, libc::SOL_SOCKET, name).ok_or(Errno::ENOPROTOOPT)?;
    check(kind, value)
}

/// The errno for a level the socket does not have: unix sockets answer
/// EOPNOTSUPP, inet ones ENOPROTOOPT.
fn unknown(domain: i32) -> Errno {
    if domain == libc::AF_UNIX {
        EOPNOTSUPP
    } else {
        Errno::ENOPROTOOPT
    }
}

/// Reads an option of a protocol level (IP, IPv6, TCP, UDP).
pub fn get_other(
    domain: i32,
    stype: SockType,
    level: i32,
    name: i32,
    stored: Option<Vec<u8>>,
) -> Result<Vec<u8>, Errno> {
    let (_, default) = spec(domain, stype, level, name).ok_or_else(|| unknown(domain))?;
    Ok(stored.unwrap_or(default))
}

/// Validates an option of a protocol level for storing.
pub fn check_other(domain: i32, stype: SockType, level: i32, name: i32, value: &[u8]) -> Result<Vec<u8>, Errno> {
    let (kind, _) = spec(domain, stype, level, name).ok_or_else(|| unknown(domain))?;
    check(kind, value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised_like_linux() {
        let v = check_socket_level(libc::SO_REUSEADDR, &7i32.to_ne_bytes()).unwrap();
        assert_eq!(v, 1i32.to_ne_bytes());
        assert_eq!(check_socket_level(libc::SO_KEEPALIVE, &[1]), Err(Errno::EINVAL));
        let ttl = check_other(
            libc::AF_INET,
            SockType::Stream,
            libc::IPPROTO_IP,
            libc::IP_TTL,
            &(-1i32).to_ne_bytes(),
        );
        assert_eq!(ttl.unwrap(), 64i32.to_ne_bytes());
        let bad = check_other(
            libc::AF_INET,
            SockType::Stream,
            libc::IPPROTO_IP,
            libc::IP_TTL,
            &0i32.to_ne_bytes(),
        );
        assert_eq!(bad, Err(Errno::EINVAL));
        assert_eq!(
            get_other(
                libc::AF_UNIX,
                SockType::Stream,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                None
            ),
            Err(EOPNOTSUPP)
        );
        assert_eq!(
            get_other(
                libc::AF_INET,
                SockType::Dgram,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                None
            ),
            Err(Errno::ENOPROTOOPT)
        );
    }
}
