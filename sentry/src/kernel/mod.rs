//! The kernel proper: tasks, thread groups, credentials, limits, signals
//! and the per-task run loop.

pub mod creds;
pub mod limits;
pub mod run;
pub mod signal;
pub mod task;

pub use creds::Credentials;
pub use run::run_sandbox;
pub use task::Task;

use std::sync::Mutex;

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
}
