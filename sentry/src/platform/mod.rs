//! Platforms run application code and report its system calls and faults.

pub mod ptrace;
