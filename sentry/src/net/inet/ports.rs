//! The port tables of the loopback stack (one for TCP, one for UDP): who
//! is bound to which port and address, Linux's conflict rules
//! (wildcards, dual-stack `::` sockets, SO_REUSEADDR, SO_REUSEPORT) and
//! ephemeral port allocation.

use crate::net::unix::UnixSocket;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::Errno;

/// The ephemeral range (`net.ipv4.ip_local_port_range`).
pub const EPHEMERAL: (u16, u16) = (32768, 60999);

/// One side of what a bound socket receives: any address of the family,
/// or one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part<T> {
    /// The wildcard.
    Any,
    /// One address.
    One(T),
}

impl<T: PartialEq> Part<T> {
    fn overlaps(&self, other: &Part<T>) -> bool {
        match (self, other) {
            (Part::One(a), Part::One(b)) => a == b,
            _ => true,
        }
    }

    fn covers(&self, ip: &T) -> Option<bool> {
        match self {
            Part::Any => Some(false),
            Part::One(a) => (a == ip).then_some(true),
        }
    }
}

/// The IPv4 and IPv6 destinations a bound socket receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    /// IPv4 (including v4-mapped IPv6) destinations.
    pub v4: Option<Part<Ipv4Addr>>,
    /// Native IPv6 destinations.
    pub v6: Option<Part<Ipv6Addr>>,
}

impl Reach {
    /// The reach of a socket bound to `ip` (already canonical: v4-mapped
    /// addresses as IPv4); `v6only` applies to `::`.
    pub fn of(ip: IpAddr, v6only: bool) -> Reach {
        match ip {
            IpAddr::V4(a) if a.is_unspecified() => Reach {
                v4: Some(Part::Any),
                v6: None,
            },
            IpAddr::V4(a) => Reach {
                v4: Some(Part::One(a)),
                v6: None,
            },
            IpAddr::V6(a) if a.is_unspecified() => Reach {
                v4: (!v6only).then_some(Part::Any),
                v6: Some(Part::Any),
            },
            IpAddr::V6(a) => Reach {
                v4: None,
                v6: Some(Part::One(a)),
            },
        }
    }

    fn overlaps(&self, o: &Reach) -> bool {
        let v4 = matches!((&self.v4, &o.v4), (Some(a), Some(b)) if a.overlaps(b));
        let v6 = matches!((&self.v6, &o.v6), (Some(a), Some(b)) if a.overlaps(b));
        v4 || v6
    }

    /// Whether `dst` reaches this socket: `Some(true)` for an exact
    /// address, `Some(false)` through a wildcard.
    fn covers(&self, dst: IpAddr) -> Option<bool> {
        match dst {
            IpAddr::V4(a) => self.v4.as_ref()?.covers(&a),
            IpAddr::V6(a) => self.v6.as_ref()?.covers(&a),
        }
    }
}

/// One bound socket.
pub struct Entry {
    /// The socket.
    pub sock: Weak<UnixSocket>,
    /// What it receives.
    pub reach: Reach,
    /// SO_REUSEADDR at bind time.
    pub reuseaddr: bool,
    /// SO_REUSEPORT at bind time.
    pub reuseport: bool,
}

type Table = HashMap<(bool, u16), Vec<Entry>>;

fn table() -> MutexGuard<'static, Table> {
    static T: OnceLock<Mutex<Table>> = OnceLock::new();
    T.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn live(e: &Entry) -> Option<Arc<UnixSocket>> {
    e.sock.upgrade().filter(|s| !s.is_closed())
}

/// Whether `new` may share `port` with every socket bound there.
fn compatible(tcp: bool, entries: &[Entry], new: &Entry) -> bool {
    entries.iter().all(|e| {
        let Some(sock) = live(e) else { return true };
        if !e.reach.overlaps(&new.reach) {
            return true;
        }
        if e.reuseport && new.reuseport {
            return true;
        }
        // TCP shares an address only while nobody listens on it.
        e.reuseaddr && new.reuseaddr && !(tcp && sock.is_listening())
    })
}

/// Binds `entry` to `port` (0: a free ephemeral port) in the TCP or UDP
/// table; EADDRINUSE on a conflict, EADDRNOTAVAIL when no ephemeral port
/// is left. Returns the port.
pub fn bind(tcp: bool, port: u16, entry: Entry) -> Result<u16, Errno> {
    let mut t = table();
    if port != 0 {
        let entries = t.entry((tcp, port)).or_default();
        entries.retain(|e| live(e).is_some());
        if !compatible(tcp, entries, &entry) {
            return Err(Errno::EADDRINUSE);
        }
        entries.push(entry);
        return Ok(port);
    }
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let span = u32::from(EPHEMERAL.1 - EPHEMERAL.0) + 1;
    // Start somewhere different for each allocation, as Linux's hash does.
    let start = NEXT.fetch_add(7919, Ordering::Relaxed) % span;
    for i in 0..span {
        let p = EPHEMERAL.0 + ((start + i) % span) as u16;
        let entries = t.entry((tcp, p)).or_default();
        entries.retain(|e| live(e).is_some());
        if entries.is_empty() {
            entries.push(entry);
            return Ok(p);
        }
    }
    Err(Errno::EADDRNOTAVAIL)
}

/// Removes `sock` from `port`.
pub fn unbind(tcp: bool, port: u16, sock: *const UnixSocket) {
    let mut t = table();
    if let Some(entries) = t.get_mut(&(tcp, port)) {
        entries.retain(|e| !std::ptr::eq(e.sock.as_ptr(), sock));
        if entries.is_empty() {
            t.remove(&(tcp, port));
        }
    }
}

/// Changes the recorded reach of `sock` on `port` (a wildcard-bound
/// socket that connected now has a source address).
pub fn set_reach(tcp: bool, port: u16, sock: *const UnixSocket, reach: Reach) {
    if let Some(entries) = table().get_mut(&(tcp, port)) {
        for e in entries.iter_mut().filter(|e| std::ptr::eq(e.sock.as_ptr(), sock)) {
            e.reach = reach;
        }
    }
}

/// The socket that receives for `dst`:`port` among those `accept` takes:
/// an exact address before a wildcard, the first bound otherwise.
pub fn find(tcp: bool, port: u16, dst: IpAddr, accept: impl Fn(&Arc<UnixSocket>) -> bool) -> Option<Arc<UnixSocket>> {
    let t = table();
    let mut wildcard = None;
    for e in t.get(&(tcp, port))? {
        let Some(exact) = e.reach.covers(dst) else { continue };
        let Some(sock) = live(e) else { continue };
        if !accept(&sock) {
            continue;
        }
        if exact {
            return Some(sock);
        }
        wildcard.get_or_insert(sock);
    }
    wildcard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_follows_dual_stack_rules() {
        let any6 = Reach::of(IpAddr::V6(Ipv6Addr::UNSPECIFIED), false);
        let only6 = Reach::of(IpAddr::V6(Ipv6Addr::UNSPECIFIED), true);
        let lo4 = Reach::of(IpAddr::V4(Ipv4Addr::LOCALHOST), false);
        let lo6 = Reach::of(IpAddr::V6(Ipv6Addr::LOCALHOST), false);
        assert!(any6.overlaps(&lo4));
        assert!(!only6.overlaps(&lo4));
        assert!(!lo6.overlaps(&lo4));
        assert_eq!(any6.covers(IpAddr::V4(Ipv4Addr::LOCALHOST)), Some(false));
        assert_eq!(lo4.covers(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))), None);
        assert_eq!(lo6.covers(IpAddr::V6(Ipv6Addr::LOCALHOST)), Some(true));
    }
}
