//! Networking: sockets served by the sentry. Unix domain sockets ([`unix`],
//! with their name tables in [`names`]) and a loopback-only TCP/UDP stack
//! ([`inet`]) live in its memory and share one socket engine: a TCP
//! connection is a stream pair, a UDP socket a datagram socket found
//! through the port table. Only with `--network=host` are the guest's
//! TCP/UDP sockets host sockets ([`hostinet`]); [`netlink`] answers route
//! queries about `lo` from memory.

pub mod addr;
pub mod hostinet;
pub mod ifioctl;
pub mod inet;
pub mod names;
pub mod netlink;
pub mod procnet;
pub mod sockopt;
pub mod unix;

use unix::{Binding, UnixSocket};

/// Removes a released socket's name from its table.
pub fn unbind(binding: &Binding, sock: &UnixSocket) {
    match binding {
        Binding::Node(dev, ino) => names::unbind_node((*dev, *ino), sock),
        Binding::Abstract(name) => names::unbind_abstract(name, sock),
        Binding::Port { tcp, port } => inet::ports::unbind(*tcp, *port, sock),
    }
}
