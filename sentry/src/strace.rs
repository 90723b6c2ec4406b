//! `--strace`: log every guest syscall with decoded arguments and result.
