//! The socket options a guest may set or read on a host socket: a vetted
//! list passed through to the host kernel (which then checks values and
//! socket types exactly as Linux does, since it is Linux). Everything else
//! is ENOPROTOOPT. Left out on purpose: options that need capabilities the
//! sentry does not hold (SO_MARK, SO_BINDTODEVICE, IP_TRANSPARENT...),
//! options that make the host attach ancillary data or error queues the
//! sentry does not forward (SO_TIMESTAMP*, IP_PKTINFO, ...; IP_RECVERR is
//! the exception, see below),
//! and anything that attaches programs (SO_ATTACH_FILTER/BPF).
//!
//! The same list pins the host `setsockopt`/`getsockopt` calls of the
//! sentry's seccomp policy in host mode (`seccomp::hostnet`).

/// `SO_RCVTIMEO_NEW`/`SO_SNDTIMEO_NEW` (64-bit `time_t`, same layout on x86-64).
pub const SO_RCVTIMEO_NEW: i32 = 66;
/// See [`SO_RCVTIMEO_NEW`].
pub const SO_SNDTIMEO_NEW: i32 = 67;
/// `IP_BIND_ADDRESS_NO_PORT`.
const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
/// `TCP_FASTOPEN_CONNECT`.
const TCP_FASTOPEN_CONNECT: i32 = 30;
/// `UDP_CORK`.
const UDP_CORK: i32 = 1;

/// Whether an option may be set, read, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// setsockopt and getsockopt.
    ReadWrite,
    /// getsockopt only (setsockopt is ENOPROTOOPT, as Linux answers).
    ReadOnly,
}

/// The (level, name, access) triples passed through to the host.
pub const PASSTHROUGH: &[(i32, i32, Access)] = {
    use Access::{ReadOnly as R, ReadWrite as W};
    &[
        (libc::SOL_SOCKET, libc::SO_REUSEADDR, W),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT, W),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, W),
        (libc::SOL_SOCKET, libc::SO_LINGER, W),
        (libc::SOL_SOCKET, libc::SO_RCVBUF, W),
        (libc::SOL_SOCKET, libc::SO_SNDBUF, W),
        (libc::SOL_SOCKET, libc::SO_BROADCAST, W),
        (libc::SOL_SOCKET, libc::SO_OOBINLINE, W),
        (libc::SOL_SOCKET, libc::SO_DONTROUTE, W),
        (libc::SOL_SOCKET, libc::SO_PRIORITY, W),
        (libc::SOL_SOCKET, libc::SO_RCVLOWAT, W),
        (libc::SOL_SOCKET, libc::SO_SNDLOWAT, R),
        (libc::SOL_SOCKET, libc::SO_ERROR, R),
        (libc::SOL_SOCKET, libc::SO_TYPE, R),
        (libc::SOL_SOCKET, libc::SO_DOMAIN, R),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL, R),
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN, R),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY, W),
        (libc::IPPROTO_TCP, libc::TCP_MAXSEG, W),
        (libc::IPPROTO_TCP, libc::TCP_CORK, W),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, W),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, W),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, W),
        (libc::IPPROTO_TCP, libc::TCP_SYNCNT, W),
        (libc::IPPROTO_TCP, libc::TCP_LINGER2, W),
        (libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, W),
        (libc::IPPROTO_TCP, libc::TCP_WINDOW_CLAMP, W),
        (libc::IPPROTO_TCP, libc::TCP_QUICKACK, W),
        (libc::IPPROTO_TCP, libc::TCP_CONGESTION, W),
        (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, W),
        (libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, W),
        (libc::IPPROTO_TCP, libc::TCP_FASTOPEN, W),
        (libc::IPPROTO_TCP, TCP_FASTOPEN_CONNECT, W),
        (libc::IPPROTO_TCP, libc::TCP_INFO, R),
        (libc::IPPROTO_UDP, UDP_CORK, W),
        (libc::IPPROTO_IP, libc::IP_TOS, W),
        (libc::IPPROTO_IP, libc::IP_TTL, W),
        (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, W),
        (libc::IPPROTO_IP, libc::IP_MTU, R),
        (libc::IPPROTO_IP, libc::IP_MULTICAST_IF, W),
        (libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, W),
        (libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, W),
        (libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, W),
        (libc::IPPROTO_IP, libc::IP_DROP_MEMBERSHIP, W),
        (libc::IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, W),
        // glibc's resolver fails without it; the error queue it fills is
        // read without its control messages (MSG_CTRUNC).
        (libc::IPPROTO_IP, libc::IP_RECVERR, W),
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR, W),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, W),
        (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, W),
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS, W),
        (libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, W),
        (libc::IPPROTO_IPV6, libc::IPV6_MTU, R),
        (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, W),
        (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, W),
        (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, W),
        (libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, W),
        (libc::IPPROTO_IPV6, libc::IPV6_DROP_MEMBERSHIP, W),
    ]
};

/// The longest option value passed through (a `struct tcp_info` is 232
/// bytes today, `group_req` 136; larger buffers are cut to this).
pub const MAX_OPTLEN: usize = 512;

/// How the sentry handles `(level, name)` on a host socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// Passed to the host kernel.
    Host(Access),
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO` (old and new): kept in the sentry,
    /// which does the waiting (the host fd is always non-blocking).
    Timeout {
        /// Receive (else send) timeout.
        recv: bool,
    },
    /// Not available: ENOPROTOOPT.
    Refused,
}

/// Looks `(level, name)` up.
pub fn handling(level: i32, name: i32) -> Handling {
    if level == libc::SOL_SOCKET {
        match name {
            libc::SO_RCVTIMEO | SO_RCVTIMEO_NEW => return Handling::Timeout { recv: true },
            libc::SO_SNDTIMEO | SO_SNDTIMEO_NEW => return Handling::Timeout { recv: false },
            _ => {}
        }
    }
    PASSTHROUGH
        .iter()
        .find(|&&(l, n, _)| l == level && n == name)
        .map_or(Handling::Refused, |&(_, _, a)| Handling::Host(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_looked_up_by_level_and_name() {
        assert_eq!(
            handling(libc::IPPROTO_TCP, libc::TCP_NODELAY),
            Handling::Host(Access::ReadWrite)
        );
        assert_eq!(
            handling(libc::SOL_SOCKET, libc::SO_ERROR),
            Handling::Host(Access::ReadOnly)
        );
        assert_eq!(
            handling(libc::SOL_SOCKET, libc::SO_RCVTIMEO),
            Handling::Timeout { recv: true }
        );
        assert_eq!(
            handling(libc::SOL_SOCKET, SO_SNDTIMEO_NEW),
            Handling::Timeout { recv: false }
        );
        // Same number, other level: TCP_NODELAY is 1, as is SO_DEBUG.
        assert_eq!(handling(libc::SOL_SOCKET, libc::SO_DEBUG), Handling::Refused);
        assert_eq!(handling(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER), Handling::Refused);
        assert_eq!(handling(libc::SOL_SOCKET, libc::SO_MARK), Handling::Refused);
        assert_eq!(handling(libc::IPPROTO_IP, libc::IP_PKTINFO), Handling::Refused);
    }
}
