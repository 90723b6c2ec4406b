//! Loading programs: ELF (static, PIE, PT_INTERP), `#!` scripts, the initial stack.
//!
//! Everything here is pure: it parses guest-supplied bytes and computes plans
//! (which mappings to make, which bytes to write where); the exec path runs
//! them against the stub address space.

pub mod elf;
pub mod exec;
pub mod script;
pub mod stack;
