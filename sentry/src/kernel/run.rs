//! The sandbox's run loop. (Skeleton: being written.)

use crate::boot::BootConfig;
use std::os::fd::OwnedFd;

/// Boots the kernel and runs the init to completion; returns the exit code.
pub fn run_sandbox(_config: BootConfig, _gofer_socket: OwnedFd) -> i32 {
    1
}
