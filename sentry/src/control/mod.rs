//! The sentry's control server: how `runsc state/start/kill/wait/exec`
//! talk to a running sandbox.
//!
//! `runsc create` binds a `SOCK_SEQPACKET` unix socket in the container's
//! state directory (mode 0600) and hands the listening fd to `runsc boot
//! --control-fd N`. The sentry serves it on a thread of its own: one
//! request per connection, one JSON message each way (fds ride along with
//! `SCM_RIGHTS`). The status the CLI reports is the sentry's answer, never
//! a guess from files; when nobody answers the sandbox has stopped.

pub mod protocol;
pub mod server;

pub use server::{spawn, StartGate};

mod exec;
