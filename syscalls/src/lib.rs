//! The Linux x86-64 system call ABI as data: syscall numbers, names and
//! argument kinds (for dispatch and strace), `Errno`, flag sets, and the
//! `#[repr(C)]` structures exchanged with guest memory.
//!
//! This crate holds no behaviour: the sentry implements the calls, the
//! gofer and the CLI share the vocabulary.

pub mod errno;
pub mod flags;
pub mod names;
pub mod pod;
pub mod strace;
pub mod structs;
pub mod table;

pub use errno::Errno;
pub use pod::Pod;
pub use strace::GuestMemory;
pub use table::{ArgKind, SyscallInfo};
