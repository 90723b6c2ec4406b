//! The kernel proper: tasks, thread groups, credentials, limits, signals
//! and the per-task run loop.

pub mod creds;
pub mod limits;
pub mod run;
pub mod signal;
pub mod task;
pub mod wait;

pub use creds::Credentials;
pub use run::run_sandbox;
pub use task::Task;

use crate::platform::ptrace::layout::StubLayout;
use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

/// The release string the sandbox reports in `uname -r`: ours, never the host's.
pub const UTS_RELEASE: &str = "4.4.0-rvisor";
/// The version string the sandbox reports in `uname -v`.
pub const UTS_VERSION: &str = "#1 SMP rvisor";

/// State shared by every task of the sandbox.
pub struct Kernel {
    /// The UTS namespace's hostname.
    pub hostname: Mutex<String>,
    /// The UTS namespace's domain name.
    pub domainname: Mutex<String>,
    /// When the sandbox booted (for sysinfo uptime and /proc/uptime).
    pub boot_time: std::time::Instant,
    /// Log every guest syscall.
    pub strace: bool,
    /// The stub layout (trampoline, vDSO) shared by every address space.
    pub layout: Arc<StubLayout>,
    /// The sentry's end of the socket that donates host fds into stubs.
    pub donor_socket: Arc<OwnedFd>,
    /// The filesystem tree.
    pub vfs: Arc<crate::vfs::Vfs>,
    /// Syscall numbers already reported as unsupported (log once per name).
    pub unsupported_reported: Mutex<HashSet<u64>>,
}

impl Kernel {
    /// Logs "unsupported syscall NAME" the first time `nr` is seen.
    pub fn report_unsupported(&self, nr: u64) {
        if let Ok(mut seen) = self.unsupported_reported.lock() {
            if seen.insert(nr) {
                tracing::info!("unsupported syscall {}", syscalls::table::name(nr));
            }
        }
    }
}
