//! Loading programs: ELF (static, PIE, PT_INTERP), `#!` scripts, the initial stack.
