//! procfs: `/proc` as the sandbox's own processes see it, generated from
//! the live kernel state on every lookup, listing and open. Nothing is
//! read from the host's `/proc`; symlinks (`self`, `exe`, `cwd`, `fd/N`)
//! are ordinary links to paths inside the sandbox. Everything is
//! read-only.
//!
//! - [`nodes`]: computed directories, generated files and symlinks.
//! - [`view`]: the per-task copy of state only the task's own sentry
//!   thread holds (name, credentials, fd table, cwd), published by the run
//!   loop.
//! - [`pid`]: `/proc/[pid]` and `/proc/[pid]/task/[tid]`.
//! - [`top`]: the pids, `self`, the system-wide files and `/proc/sys`.
//! - [`ns_net`]: `/proc/[pid]/ns/` and `/proc/[pid]/net/`.
//! - [`text`]: the text formats.

pub mod nodes;
pub mod ns_net;
pub mod pid;
pub mod text;
pub mod top;
pub mod view;

pub use view::{publish, TaskView};

use crate::vfs::{FileSystem, Inode};
use std::sync::Arc;

/// The root inode and filesystem object of a procfs mount.
pub fn new_procfs() -> (Arc<dyn Inode>, Arc<dyn FileSystem>) {
    (
        top::root(),
        crate::fs::synthetic::StaticDir::fs(super::PROC_SUPER_MAGIC),
    )
}
