//! The kernel proper: tasks, thread groups, the PID namespace, credentials,
//! limits, signals, and the per-task run loop.
//!
//! Lock order (outer first): `Kernel::table`, a `ThreadGroup::state`, a
//! `TaskShared::pending`. Handler tables are locked alone. No lock is held
//! across a platform call or a sleep.

pub mod caps;
pub mod console;
pub mod creds;
pub mod exec;
pub mod exit;
pub mod fork;
pub mod freeze;
pub mod futex;
pub mod limits;
pub mod run;
pub mod session;
pub mod sigframe;
pub mod signal;
pub mod task;
pub mod thread_group;
pub mod timers;
pub mod wait;
pub mod zygote_server;

pub use creds::Credentials;
pub use run::run_sandbox;
pub use task::Task;

use crate::platform::ptrace::layout::StubLayout;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, OnceLock};
use task::{ExitStatus, TaskShared};
use thread_group::ThreadGroup;

/// The release string the sandbox reports in `uname -r`: ours, never the host's.
pub const UTS_RELEASE: &str = "4.4.0-rvisor";
/// The version string the sandbox reports in `uname -v`.
pub const UTS_VERSION: &str = "#1 SMP rvisor";
/// Largest pid handed out before wrapping (`/proc/sys/kernel/pid_max`).
const PID_MAX: i32 = 4_194_304;

/// The sandbox's PID namespace: every live task and thread group.
#[derive(Default)]
pub struct TaskTable {
    last_pid: i32,
    /// Tasks by tid.
    pub tasks: HashMap<i32, Arc<TaskShared>>,
    /// Thread groups by tgid (zombies included until reaped).
    pub groups: HashMap<i32, Arc<ThreadGroup>>,
}

impl TaskTable {
    /// Allocates the next free id (tids and tgids share one space).
    pub fn alloc_pid(&mut self) -> Option<i32> {
        for _ in 0..PID_MAX {
            self.last_pid = if self.last_pid >= PID_MAX { 1 } else { self.last_pid + 1 };
            let p = self.last_pid;
            if !self.tasks.contains_key(&p) && !self.groups.contains_key(&p) && !self.is_pgid_or_sid(p) {
                return Some(p);
            }
        }
        None
    }

    fn is_pgid_or_sid(&self, p: i32) -> bool {
        self.groups
            .values()
            .any(|g| g.state.lock().map(|s| s.pgid == p || s.sid == p).unwrap_or(false))
    }
}

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
    /// The PID namespace.
    pub table: Mutex<TaskTable>,
    /// Forks fresh stubs from the zygote.
    pub zygote: zygote_server::ZygoteClient,
    /// The init's exit status, once it has exited; the sandbox then ends.
    pub init_exit: Mutex<Option<ExitStatus>>,
    /// Notified when the init exits.
    pub init_exited: std::sync::Condvar,
    /// Futex wait queues.
    pub futexes: futex::FutexTable,
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

    /// The task with thread id `tid`.
    pub fn task(&self, tid: i32) -> Option<Arc<TaskShared>> {
        self.table.lock().ok()?.tasks.get(&tid).cloned()
    }

    /// The thread group with id `tgid` (zombies included).
    pub fn group(&self, tgid: i32) -> Option<Arc<ThreadGroup>> {
        self.table.lock().ok()?.groups.get(&tgid).cloned()
    }

    /// Every thread group.
    pub fn groups(&self) -> Vec<Arc<ThreadGroup>> {
        self.table
            .lock()
            .map(|t| t.groups.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The live (not zombie) processes of process group `pgid`.
    pub fn process_group(&self, pgid: i32) -> Vec<Arc<ThreadGroup>> {
        self.groups()
            .into_iter()
            .filter(|g| {
                g.state
                    .lock()
                    .map(|s| s.pgid == pgid && s.zombie.is_none())
                    .unwrap_or(false)
            })
            .collect()
    }
}

static KERNEL: OnceLock<Arc<Kernel>> = OnceLock::new();

thread_local! {
    static CURRENT_TASK: RefCell<Option<Arc<TaskShared>>> = const { RefCell::new(None) };
}

/// The sandbox's kernel (one per sentry process).
pub fn global() -> Option<Arc<Kernel>> {
    KERNEL.get().cloned()
}

/// Makes `kernel` the process-wide kernel; fails if one is set already.
pub fn set_global(kernel: Arc<Kernel>) -> bool {
    KERNEL.set(kernel).is_ok()
}

/// The task served by the calling sentry thread.
pub fn current_task() -> Option<Arc<TaskShared>> {
    CURRENT_TASK.with(|c| c.borrow().clone())
}

/// Records the task served by the calling sentry thread.
pub fn set_current_task(task: Arc<TaskShared>) {
    wait::set_current_waker(task.waker.clone());
    CURRENT_TASK.with(|c| *c.borrow_mut() = Some(task));
}

/// Drops a process's timers when it exits (POSIX timers and itimers).
pub fn timers_on_exit(tgid: i32) {
    timers::on_exit(tgid);
}
