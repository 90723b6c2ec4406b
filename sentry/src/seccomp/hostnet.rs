//! The allow-list additions of a sentry with host networking
//! (`--network=host`, `net::hostinet`): exactly the socket calls hostinet
//! makes, pinned by argument where a filter can read it. The default
//! policy (`allow_rules`) is unchanged; these are added only in host mode.
//!
//! - `socket` only as hostinet makes it: `AF_INET`/`AF_INET6`, TCP
//!   (`SOCK_STREAM`, `IPPROTO_TCP`) or UDP (`SOCK_DGRAM`, `IPPROTO_UDP`),
//!   always `SOCK_NONBLOCK | SOCK_CLOEXEC`: no unix, netlink, packet or
//!   raw socket can be made.
//! - `setsockopt` only with the (level, name) pairs of hostinet's vetted
//!   list (`net::hostinet::opts`); `getsockopt` additionally with its
//!   non-`SOL_SOCKET` pairs (SOL_SOCKET reads were already allowed).
//! - `bind`, `listen`, `connect`, `getsockname`, `getpeername` without
//!   restriction: their addresses live in memory a filter cannot read.
//!   A compromised sentry could thus reach what the guest could reach
//!   anyway: its network namespace.
//! - `ioctl(SIOCOUTQ)`; FIONREAD (SIOCINQ) was allowed already.

use super::{arg, build_err, Rules, SeccompError};
use crate::net::hostinet::opts::{Access, PASSTHROUGH};
use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

/// A rule requiring argument `n` to equal `v` for every `(n, v)`.
fn all_eq(conds: &[(u8, u64)]) -> Result<SeccompRule, SeccompError> {
    let conds = conds
        .iter()
        .map(|&(n, v)| SeccompCondition::new(n, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v).map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    SeccompRule::new(conds).map_err(build_err)
}

/// Adds the host-networking rules to an allow-list.
pub fn host_network_rules(map: &mut Rules) -> Result<(), SeccompError> {
    let flags = (libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64;
    let mut socket = Vec::new();
    for domain in [libc::AF_INET, libc::AF_INET6] {
        for (ty, proto) in [
            (libc::SOCK_STREAM, libc::IPPROTO_TCP),
            (libc::SOCK_DGRAM, libc::IPPROTO_UDP),
        ] {
            socket.push(all_eq(&[
                (0, domain as u64),
                (1, ty as u64 | flags),
                (2, proto as u64),
            ])?);
        }
    }
    map.insert(libc::SYS_socket, socket);
    for nr in [
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_connect,
        libc::SYS_getsockname,
        libc::SYS_getpeername,
    ] {
        map.insert(nr, Vec::new());
    }
    let mut set = Vec::new();
    let mut get = Vec::new();
    for &(level, name, access) in PASSTHROUGH {
        let rule = || all_eq(&[(1, level as u64), (2, name as u64)]);
        if access == Access::ReadWrite {
            set.push(rule()?);
        }
        if level != libc::SOL_SOCKET {
            get.push(rule()?);
        }
    }
    map.insert(libc::SYS_setsockopt, set);
    // An empty list would allow everything: only extend a restricted one.
    if let Some(rules) = map.get_mut(&libc::SYS_getsockopt).filter(|r| !r.is_empty()) {
        rules.extend(get);
    }
    if let Some(rules) = map.get_mut(&libc::SYS_ioctl).filter(|r| !r.is_empty()) {
        rules.push(arg(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, libc::TIOCOUTQ)?);
    }
    Ok(())
}
