//! Networking: sockets served by the sentry. Unix domain sockets live
//! entirely here ([`unix`]); IP networking is a later milestone.

pub mod unix;
