//! rvisor's gofer: the only rvisor process that touches the host filesystem.
//!
//! The sentry talks to it over a `SOCK_SEQPACKET` socketpair with the
//! handle-based protocol described in [`protocol`]; host files reach the
//! sentry only as fds donated with `SCM_RIGHTS`. The gofer resolves names one
//! component at a time relative to directory fds and never follows symlinks,
//! so it cannot be walked out of its root (invariant 3).
//!
//! - [`serve`]: the request loop (the gofer side).
//! - [`Client`]: the sentry side.
//! - [`sandbox::run`]: what `runsc gofer` calls (confine + seccomp + serve).

pub mod client;
pub mod error;
pub mod protocol;
pub mod sandbox;
pub mod server;
mod sys;
pub mod types;

pub use client::Client;
pub use error::GoferError;
pub use sandbox::{confine, install_seccomp, run};
pub use server::serve;
pub use types::{Attr, AttrChange, DirEntry, Handle, StatFs};

use std::os::fd::OwnedFd;
use syscalls::Errno;

/// A `SOCK_SEQPACKET | SOCK_CLOEXEC` unix socketpair for a sentry/gofer pair.
pub fn socketpair() -> Result<(OwnedFd, OwnedFd), Errno> {
    use nix::sys::socket::{socketpair as sp, AddressFamily, SockFlag, SockType};
    sp(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).map_err(|e| Errno(e as i32))
}
