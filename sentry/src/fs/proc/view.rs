//! What procfs shows of a task that only the task's own sentry thread
//! holds (name, credentials, fd table, cwd, umask, limits): a copy that the
//! run loop publishes before each switch into the task, so that any task
//! can read another's `/proc/[pid]` files.
//!
//! The fd table is held weakly: a published view must never keep files
//! open (a pipe's write end would never see its last close).

use crate::kernel::limits::Limits;
use crate::kernel::{Credentials, Task};
use crate::vfs::{FdTable, FsContext};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

/// Name and credentials of each process's leader, kept past the leader's
/// exit so that a zombie still shows its name and owner (as in Linux).
static LEADERS: Mutex<BTreeMap<i32, (Vec<u8>, Credentials)>> = Mutex::new(BTreeMap::new());

/// The last published name and credentials of the leader of `tgid`.
pub fn leader_leftover(tgid: i32) -> Option<(Vec<u8>, Credentials)> {
    LEADERS.lock().ok()?.get(&tgid).cloned()
}

/// Records the leader of `tgid`'s name and credentials, and forgets
/// processes that are gone (reaped).
fn record_leader(tgid: i32, comm: &[u8], creds: &Credentials) {
    let kernel = crate::kernel::global();
    let Ok(mut map) = LEADERS.lock() else {
        return;
    };
    if let Some(k) = kernel {
        map.retain(|&pid, _| pid == tgid || k.group(pid).is_some());
    }
    map.insert(tgid, (comm.to_vec(), creds.clone()));
}

/// The published copy, one per task (in `TaskShared`).
#[derive(Default)]
pub struct TaskView(Mutex<ViewData>);

/// The fields of a [`TaskView`].
#[derive(Clone, Default)]
pub struct ViewData {
    /// Thread name.
    pub comm: Vec<u8>,
    /// Credentials.
    pub creds: Credentials,
    /// The fd table (weak: see the module comment).
    pub fds: Weak<FdTable>,
    /// Root, cwd and umask.
    pub fs: Option<FsContext>,
    /// Resource limits.
    pub limits: Limits,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privs: bool,
    /// When the task started.
    pub start_time: Option<Instant>,
}

impl TaskView {
    /// An empty view (filled by the first [`publish`]).
    pub fn new() -> TaskView {
        TaskView::default()
    }

    /// A copy of the published fields.
    pub fn snapshot(&self) -> ViewData {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Fills a new child's view from its parent's at clone time, so the
    /// child's /proc entries are right before its own thread first runs.
    pub fn inherit(&self, parent: &TaskView, fds: &Arc<FdTable>) {
        let mut data = parent.snapshot();
        data.fds = Arc::downgrade(fds);
        data.start_time = Some(Instant::now());
        if let Ok(mut v) = self.0.lock() {
            *v = data;
        }
    }
}

fn same_creds(a: &Credentials, b: &Credentials) -> bool {
    a == b
}

fn same_fs(a: &FsContext, b: &FsContext) -> bool {
    a.umask == b.umask && a.cwd.same(&b.cwd) && a.root.same(&b.root)
}

/// Publishes `task`'s private state for procfs. Cheap when nothing changed
/// (comparisons only), so the run loop calls it before every switch.
pub fn publish(task: &Task) {
    let Ok(mut v) = task.shared.proc.0.lock() else {
        return;
    };
    let mut changed = false;
    if v.comm != task.comm {
        v.comm = task.comm.clone();
        changed = true;
    }
    if !same_creds(&v.creds, &task.creds) {
        v.creds = task.creds.clone();
        changed = true;
    }
    if changed && task.tid == task.tgid {
        record_leader(task.tgid, &task.comm, &task.creds);
    }
    if v.fds.as_ptr() != Arc::as_ptr(&task.fds) {
        v.fds = Arc::downgrade(&task.fds);
    }
    if !v.fs.as_ref().is_some_and(|f| same_fs(f, &task.fs)) {
        v.fs = Some(task.fs.clone());
    }
    if v.limits.0 != task.limits.0 {
        v.limits = task.limits.clone();
    }
    v.no_new_privs = task.no_new_privs;
    if v.start_time.is_none() {
        v.start_time = Some(task.start_time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creds_comparison_sees_every_id_and_groups() {
        let a = Credentials::new(1, 2, vec![3]);
        assert!(same_creds(&a, &a.clone()));
        let mut b = a.clone();
        b.suid = 9;
        assert!(!same_creds(&a, &b));
        let mut c = a.clone();
        c.groups.push(4);
        assert!(!same_creds(&a, &c));
    }

    #[test]
    fn leader_name_outlives_the_leader() {
        // Unit tests run without a kernel: nothing is pruned.
        record_leader(-7, b"old", &Credentials::new(5, 6, Vec::new()));
        record_leader(-7, b"new", &Credentials::new(5, 6, Vec::new()));
        let (comm, creds) = leader_leftover(-7).unwrap_or_default();
        assert_eq!(comm, b"new");
        assert_eq!((creds.euid, creds.egid), (5, 6));
        assert!(leader_leftover(-8).is_none());
    }

    #[test]
    fn empty_view_holds_no_fd_table() {
        let v = TaskView::new().snapshot();
        assert!(v.fds.upgrade().is_none());
        assert!(v.fs.is_none());
    }
}
