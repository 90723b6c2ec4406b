//! The sentry: rvisor's application kernel.
//!
//! It runs the sandboxed program's code in stub processes (see [`platform`]),
//! traps every system call the program makes and serves it here, from the
//! sentry's own model of Linux: tasks ([`kernel`]), memory ([`mm`]), files
//! ([`vfs`], [`fs`]). No system call of the program ever reaches the host.

pub mod boot;
pub mod capdrop;
pub mod confine;
pub mod control;
pub mod fs;
pub mod kernel;
pub mod loader;
pub mod mm;
pub mod net;
pub mod platform;
pub mod seccomp;
pub mod strace;
pub mod syscalls;
pub mod tty;
pub mod vfs;
