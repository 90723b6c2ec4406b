//! Socket addresses as the guest passes and receives them: parsing of
//! `struct sockaddr_un`, `sockaddr_in` and `sockaddr_in6` with Linux's
//! length and family rules, and the exact bytes (and lengths) Linux gives
//! back from getsockname, getpeername, accept and recvfrom.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use syscalls::Errno;

/// `offsetof(struct sockaddr_un, sun_path)`.
pub const SUN_PATH_OFFSET: usize = 2;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = 110;
/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = 28;
/// The shortest `sockaddr_in6` Linux accepts (`SIN6_LEN_RFC2133`).
const SIN6_LEN_RFC2133: usize = 24;

/// A unix socket's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// A filesystem path, as given to bind (without the terminating NUL).
    Path(Vec<u8>),
    /// An abstract name: the bytes after the leading NUL.
    Abstract(Vec<u8>),
}

/// A bound or peer address of any family the sentry serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SockAddr {
    /// `AF_UNIX`.
    Unix(UnixAddr),
    /// `AF_INET`.
    V4(SocketAddrV4),
    /// `AF_INET6`.
    V6(SocketAddrV6),
}

impl SockAddr {
    /// The address as Linux copies it out: the bytes and the length it
    /// reports (for a path: family, path, NUL).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            SockAddr::Unix(u) => {
                out.extend_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
                match u {
                    UnixAddr::Path(p) => {
                        out.extend_from_slice(p);
                        out.push(0);
                    }
                    UnixAddr::Abstract(n) => {
                        out.push(0);
                        out.extend_from_slice(n);
                    }
                }
            }
            SockAddr::V4(a) => {
                out.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                out.extend_from_slice(&a.port().to_be_bytes());
                out.extend_from_slice(&a.ip().octets());
                out.extend_from_slice(&[0; 8]);
            }
            SockAddr::V6(a) => {
                out.extend_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                out.extend_from_slice(&a.port().to_be_bytes());
                out.extend_from_slice(&a.flowinfo().to_be_bytes());
                out.extend_from_slice(&a.ip().octets());
                out.extend_from_slice(&a.scope_id().to_ne_bytes());
            }
        }
        out
    }

    /// The port of an inet address (0 for unix).
    pub fn port(&self) -> u16 {
        match self {
            SockAddr::Unix(_) => 0,
            SockAddr::V4(a) => a.port(),
            SockAddr::V6(a) => a.port(),
        }
    }
}

/// The bytes an unnamed unix socket reports: the family alone.
pub fn unnamed_unix() -> Vec<u8> {
    (libc::AF_UNIX as u16).to_ne_bytes().to_vec()
}

/// What a unix `sockaddr` given to bind or connect asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum UnixTarget {
    /// `addrlen == sizeof(sa_family_t)`: autobind (bind only).
    Auto,
    /// A path or an abstract name.
    Addr(UnixAddr),
}

/// Parses a unix address of `raw.len()` bytes (Linux's `unix_validate_addr`
/// and `unix_mkname_bsd`): EINVAL for a bad length or family.
pub fn parse_unix(raw: &[u8]) -> Result<UnixTarget, Errno> {
    if raw.len() < SUN_PATH_OFFSET || raw.len() > SOCKADDR_UN_LEN {
        return Err(Errno::EINVAL);
    }
    if u16::from_ne_bytes([raw[0], raw[1]]) != libc::AF_UNIX as u16 {
        return Err(Errno::EINVAL);
    }
    let path = &raw[SUN_PATH_OFFSET..];
    match path.first() {
        None => Ok(UnixTarget::Auto),
        Some(0) => Ok(UnixTarget::Addr(UnixAddr::Abstract(path[1..].to_vec()))),
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            Ok(UnixTarget::Addr(UnixAddr::Path(path[..end].to_vec())))
        }
    }
}

/// Parses an inet address for a socket of `domain` (`AF_INET`/`AF_INET6`).
/// `AF_UNSPEC` comes back as `None` (a disconnect for connect, "any" for
/// an `AF_INET` bind, as Linux allows).
pub fn parse_inet(domain: i32, raw: &[u8]) -> Result<Option<SockAddr>, Errno> {
    if raw.len() < SUN_PATH_OFFSET {
        return Err(Errno::EINVAL);
    }
    let family = i32::from(u16::from_ne_bytes([raw[0], raw[1]]));
    if family == libc::AF_UNSPEC {
        return Ok(None);
    }
    let port = |r: &[u8]| u16::from_be_bytes([r[2], r[3]]);
    match domain {
        libc::AF_INET => {
            if raw.len() < SOCKADDR_IN_LEN {
                return Err(Errno::EINVAL);
            }
            if family != libc::AF_INET {
                return Err(Errno::EAFNOSUPPORT);
            }
            let ip = Ipv4Addr::new(raw[4], raw[5], raw[6], raw[7]);
            Ok(Some(SockAddr::V4(SocketAddrV4::new(ip, port(raw)))))
        }
        _ => {
            if raw.len() < SIN6_LEN_RFC2133 {
                return Err(Errno::EINVAL);
            }
            if family != libc::AF_INET6 {
                return Err(Errno::EAFNOSUPPORT);
            }
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&raw[8..24]);
            let flow = u32::from_be_bytes([raw[4], raw[5], raw[6], raw[7]]);
            let scope = raw
                .get(24..28)
                .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
            Ok(Some(SockAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(octets),
                port(raw),
                flow,
                scope,
            ))))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn un(path: &[u8]) -> Vec<u8> {
        let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(path);
        v
    }

    #[test]
    fn unix_addresses_parse_like_linux() {
        assert_eq!(parse_unix(&un(b"")), Ok(UnixTarget::Auto));
        assert_eq!(
            parse_unix(&un(b"/tmp/s\0junk")),
            Ok(UnixTarget::Addr(UnixAddr::Path(b"/tmp/s".to_vec())))
        );
        assert_eq!(
            parse_unix(&un(b"\0ab\0c")),
            Ok(UnixTarget::Addr(UnixAddr::Abstract(b"ab\0c".to_vec())))
        );
        assert_eq!(parse_unix(&[1]), Err(Errno::EINVAL));
        assert_eq!(parse_unix(&[2, 0, b'x']), Err(Errno::EINVAL));
        let a = SockAddr::Unix(UnixAddr::Path(b"/s".to_vec()));
        assert_eq!(a.to_bytes().len(), 2 + 2 + 1);
        let a = SockAddr::Unix(UnixAddr::Abstract(b"xy".to_vec()));
        assert_eq!(a.to_bytes().len(), 2 + 1 + 2);
    }

    #[test]
    fn inet_addresses_round_trip() {
        let a = SockAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
        let b = a.to_bytes();
        assert_eq!(b.len(), SOCKADDR_IN_LEN);
        assert_eq!(parse_inet(libc::AF_INET, &b), Ok(Some(a)));
        assert_eq!(parse_inet(libc::AF_INET, &b[..8]), Err(Errno::EINVAL));
        let a6 = SockAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 80, 0, 0));
        let b6 = a6.to_bytes();
        assert_eq!(b6.len(), SOCKADDR_IN6_LEN);
        assert_eq!(parse_inet(libc::AF_INET6, &b6), Ok(Some(a6)));
        assert_eq!(parse_inet(libc::AF_INET6, &b), Err(Errno::EINVAL));
        assert_eq!(parse_inet(libc::AF_INET, &b6[..16]), Err(Errno::EAFNOSUPPORT));
    }
}
