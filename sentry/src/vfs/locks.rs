//! Advisory file locks shared by the whole sandbox: `flock` locks (owned by
//! an open file description), POSIX record locks (owned by a process) and
//! open file description record locks (`F_OFD_*`), keyed by the file's
//! identity (`st_dev`, `st_ino`) as Linux keys them by inode.
//!
//! Locks owned by a description hold only a `Weak` to it, so a description
//! that went away without an explicit unlock stops counting at once and is
//! pruned on the next operation; blocked waiters also re-check periodically
//! so they notice such releases without a notification.

use crate::kernel::wait::{block_until, WaitQueue};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};
use syscalls::Errno;

/// The largest offset a lock may cover (`OFFSET_MAX`): "to end of file".
pub const OFFSET_MAX: i64 = i64::MAX;

/// How often a blocked waiter re-checks without a notification.
const RECHECK: Duration = Duration::from_millis(50);

/// Bound on the waits-for chain followed by deadlock detection.
const MAX_DEADLOCK_STEPS: usize = 64;

/// A file's identity: `(st_dev, st_ino)`.
pub type FileKey = (u64, u64);

/// Liveness handle of an open file description (any `Arc`'d object).
pub type DescWeak = Weak<dyn Any + Send + Sync>;

/// Who owns a record lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A POSIX lock: the process (thread group id in the sandbox).
    Process(i32),
    /// An OFD lock: the open file description (its address).
    Description(usize),
}

/// The identity of a description: its address while it lives.
pub fn desc_id<T: ?Sized>(desc: &Arc<T>) -> usize {
    Arc::as_ptr(desc) as *const () as usize
}

/// One record lock: bytes `start..=end` of a file.
#[derive(Clone, Debug)]
pub struct RecordLock {
    /// First byte.
    pub start: i64,
    /// Last byte (inclusive; `OFFSET_MAX` for "to EOF").
    pub end: i64,
    /// Write (exclusive) or read (shared).
    pub write: bool,
    /// The owner.
    pub owner: Owner,
    /// Liveness of the owning description for OFD locks.
    alive: Option<DescWeak>,
}

impl RecordLock {
    fn overlaps(&self, start: i64, end: i64) -> bool {
        self.start <= end && start <= self.end
    }

    fn is_alive(&self) -> bool {
        self.alive.as_ref().is_none_or(|w| w.strong_count() > 0)
    }

    fn conflicts(&self, owner: Owner, start: i64, end: i64, write: bool) -> bool {
        self.owner != owner && self.overlaps(start, end) && (write || self.write) && self.is_alive()
    }
}

/// A request for a record lock (or unlock when `kind` is `None`).
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Owner of the lock.
    pub owner: Owner,
    /// First byte.
    pub start: i64,
    /// Last byte (inclusive).
    pub end: i64,
    /// `Some(true)` write lock, `Some(false)` read lock, `None` unlock.
    pub kind: Option<bool>,
}

/// The record locks of one file, sorted by start.
#[derive(Default, Debug)]
pub struct RecordSet {
    locks: Vec<RecordLock>,
}

impl RecordSet {
    /// The locks held, sorted by start.
    pub fn locks(&self) -> &[RecordLock] {
        &self.locks
    }

    /// The first lock that conflicts with a `write` lock of `owner` on
    /// `start..=end`.
    pub fn conflict(&self, owner: Owner, start: i64, end: i64, write: bool) -> Option<&RecordLock> {
        self.locks.iter().find(|l| l.conflicts(owner, start, end, write))
    }

    /// Applies `req` for its owner: the owner's locks in the range are
    /// replaced (split where they stick out) and same-type neighbours merged.
    /// Conflicts with other owners must have been checked first.
    pub fn apply(&mut self, req: Request, alive: Option<DescWeak>) {
        let (start, end) = (req.start, req.end);
        let mut out: Vec<RecordLock> = Vec::with_capacity(self.locks.len() + 2);
        for l in self.locks.drain(..) {
            if l.owner != req.owner || !l.overlaps(start, end) {
                out.push(l);
                continue;
            }
            if l.start < start {
                out.push(RecordLock {
                    end: start - 1,
                    ..l.clone()
                });
            }
            if l.end > end {
                out.push(RecordLock { start: end + 1, ..l });
            }
        }
        if let Some(write) = req.kind {
            let mut new = RecordLock {
                start,
                end,
                write,
                owner: req.owner,
                alive,
            };
            // Merge with the owner's adjacent locks of the same type.
            out.retain(|l| {
                let same = l.owner == new.owner && l.write == new.write;
                if same && l.end < OFFSET_MAX && l.end + 1 == new.start {
                    new.start = l.start;
                    false
                } else if same && new.end < OFFSET_MAX && new.end + 1 == l.start {
                    new.end = l.end;
                    false
                } else {
                    true
                }
            });
            out.push(new);
        }
        out.sort_by_key(|l| (l.start, l.end));
        self.locks = out;
    }

    /// Drops every lock of `owner`; true if any was held.
    pub fn release_owner(&mut self, owner: Owner) -> bool {
        let before = self.locks.len();
        self.locks.retain(|l| l.owner != owner);
        before != self.locks.len()
    }

    fn prune(&mut self) -> bool {
        let before = self.locks.len();
        self.locks.retain(RecordLock::is_alive);
        before != self.locks.len()
    }
}

/// One `flock` lock.
struct Flock {
    desc: usize,
    alive: DescWeak,
    exclusive: bool,
}

/// Everything locked on one file.
#[derive(Default)]
struct FileLocks {
    flocks: Vec<Flock>,
    records: RecordSet,
}

impl FileLocks {
    fn is_empty(&self) -> bool {
        self.flocks.is_empty() && self.records.locks.is_empty()
    }

    fn prune(&mut self) -> bool {
        let before = self.flocks.len();
        self.flocks.retain(|f| f.alive.strong_count() > 0);
        let pruned = self.records.prune();
        pruned || before != self.flocks.len()
    }
}

/// A task blocked in F_SETLKW, for deadlock detection.
#[derive(Clone, Copy, Debug)]
struct Waiter {
    tgid: i32,
    key: FileKey,
    start: i64,
    end: i64,
    write: bool,
}

/// The sandbox's lock table.
#[derive(Default)]
pub struct LockState {
    files: HashMap<FileKey, FileLocks>,
    /// Blocked POSIX waiters by thread id.
    waiting: HashMap<i32, Waiter>,
}

impl LockState {
    fn file(&mut self, key: FileKey) -> &mut FileLocks {
        let f = self.files.entry(key).or_default();
        f.prune();
        f
    }

    fn tidy(&mut self, key: FileKey) {
        if self.files.get(&key).is_some_and(FileLocks::is_empty) {
            self.files.remove(&key);
        }
    }

    /// Whether `tgid` blocking on `key` for `start..=end` would wait on a
    /// process that (through a chain of waits) waits on `tgid`.
    fn would_deadlock(&self, tgid: i32, key: FileKey, start: i64, end: i64, write: bool) -> bool {
        let me = Owner::Process(tgid);
        let mut next = self
            .files
            .get(&key)
            .and_then(|f| f.records.conflict(me, start, end, write))
            .map(|l| l.owner);
        for _ in 0..MAX_DEADLOCK_STEPS {
            let Some(Owner::Process(blocker)) = next else {
                return false;
            };
            if blocker == tgid {
                return true;
            }
            let Some(w) = self.waiting.values().find(|w| w.tgid == blocker) else {
                return false;
            };
            next = self
                .files
                .get(&w.key)
                .and_then(|f| f.records.conflict(Owner::Process(blocker), w.start, w.end, w.write))
                .map(|l| l.owner);
        }
        false
    }
}

fn state() -> MutexGuard<'static, LockState> {
    static STATE: OnceLock<Mutex<LockState>> = OnceLock::new();
    STATE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Notified whenever a lock is released anywhere.
fn queue() -> &'static WaitQueue {
    static QUEUE: OnceLock<WaitQueue> = OnceLock::new();
    QUEUE.get_or_init(WaitQueue::new)
}

/// Waits (interruptibly) until `attempt` succeeds, re-checking at least
/// every [`RECHECK`] so releases by vanished descriptions are seen.
fn wait_for<T>(mut attempt: impl FnMut() -> Result<Option<T>, Errno>) -> Result<T, Errno> {
    let mut failure = None;
    loop {
        let r = block_until(&[queue()], Some(Instant::now() + RECHECK), || match attempt() {
            Ok(Some(v)) => Some(Some(v)),
            Ok(None) => None,
            Err(e) => {
                failure = Some(e);
                Some(None)
            }
        });
        match r {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => return Err(failure.unwrap_or(Errno::EINVAL)),
            Err(e) if e == Errno::ETIMEDOUT => continue,
            Err(e) => return Err(e),
        }
    }
}

/// flock operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlockOp {
    /// LOCK_SH.
    Shared,
    /// LOCK_EX.
    Exclusive,
    /// LOCK_UN.
    Unlock,
}

/// `flock` on the description `desc` of file `key`.
pub fn flock(key: FileKey, desc: usize, alive: DescWeak, op: FlockOp, nonblock: bool) -> Result<(), Errno> {
    let exclusive = match op {
        FlockOp::Unlock => {
            let mut st = state();
            let f = st.file(key);
            let before = f.flocks.len();
            f.flocks.retain(|l| l.desc != desc);
            let changed = before != f.flocks.len();
            st.tidy(key);
            drop(st);
            if changed {
                queue().notify_all();
            }
            return Ok(());
        }
        FlockOp::Shared => false,
        FlockOp::Exclusive => true,
    };
    {
        // A conversion drops the old lock first, as Linux does.
        let mut st = state();
        let f = st.file(key);
        if let Some(pos) = f.flocks.iter().position(|l| l.desc == desc) {
            if f.flocks[pos].exclusive == exclusive {
                return Ok(());
            }
            f.flocks.remove(pos);
            drop(st);
            queue().notify_all();
        }
    }
    let attempt = || -> Result<Option<()>, Errno> {
        let mut st = state();
        let f = st.file(key);
        if f.flocks.iter().any(|l| l.desc != desc && (exclusive || l.exclusive)) {
            return if nonblock { Err(Errno::EWOULDBLOCK) } else { Ok(None) };
        }
        f.flocks.push(Flock {
            desc,
            alive: alive.clone(),
            exclusive,
        });
        Ok(Some(()))
    };
    if nonblock {
        return attempt().map(|_| ());
    }
    wait_for(attempt)
}

/// What F_GETLK reports: the conflicting lock, if any.
pub fn test_record(key: FileKey, owner: Owner, start: i64, end: i64, write: bool) -> Option<RecordLock> {
    let mut st = state();
    let r = st.file(key).records.conflict(owner, start, end, write).cloned();
    st.tidy(key);
    r
}

/// F_SETLK / F_SETLKW (and the OFD forms): applies `req` on `key`,
/// failing with EAGAIN on conflict unless `wait`, and with EDEADLK when
/// waiting would deadlock. `tid` identifies the blocked thread.
pub fn set_record(key: FileKey, req: Request, alive: Option<DescWeak>, wait: bool, tid: i32) -> Result<(), Errno> {
    let Some(write) = req.kind else {
        let mut st = state();
        st.file(key).records.apply(req, None);
        st.tidy(key);
        drop(st);
        queue().notify_all();
        return Ok(());
    };
    let attempt = || -> Result<Option<()>, Errno> {
        let mut st = state();
        let f = st.file(key);
        if f.records.conflict(req.owner, req.start, req.end, write).is_none() {
            f.records.apply(req, alive.clone());
            st.waiting.remove(&tid);
            drop(st);
            // Converting a write lock to a read lock may let others in.
            queue().notify_all();
            return Ok(Some(()));
        }
        if !wait {
            return Err(Errno::EAGAIN);
        }
        if let Owner::Process(tgid) = req.owner {
            if st.would_deadlock(tgid, key, req.start, req.end, write) {
                st.waiting.remove(&tid);
                return Err(Errno(libc::EDEADLK));
            }
            st.waiting.insert(
                tid,
                Waiter {
                    tgid,
                    key,
                    start: req.start,
                    end: req.end,
                    write,
                },
            );
        }
        Ok(None)
    };
    if !wait {
        return attempt().map(|_| ());
    }
    let r = wait_for(attempt);
    if r.is_err() {
        state().waiting.remove(&tid);
    }
    r
}

/// Releases `tgid`'s POSIX locks on `key` (any close of the file by it).
pub fn release_posix(key: FileKey, tgid: i32) {
    let mut st = state();
    let changed = st
        .files
        .get_mut(&key)
        .is_some_and(|f| f.records.release_owner(Owner::Process(tgid)));
    st.tidy(key);
    drop(st);
    if changed {
        queue().notify_all();
    }
}

/// Releases every POSIX lock of `tgid` (process exit).
pub fn release_process(tgid: i32) {
    let mut st = state();
    let mut changed = false;
    for f in st.files.values_mut() {
        changed |= f.records.release_owner(Owner::Process(tgid));
    }
    st.files.retain(|_, f| !f.is_empty());
    st.waiting.retain(|_, w| w.tgid != tgid);
    drop(st);
    if changed {
        queue().notify_all();
    }
}

/// Whether `tgid` holds any POSIX lock (so close needs the file's key).
pub fn process_has_locks(tgid: i32) -> bool {
    let st = state();
    st.files
        .values()
        .any(|f| f.records.locks.iter().any(|l| l.owner == Owner::Process(tgid)))
}

/// Releases the flock and OFD locks of description `desc` on `key` (its
/// last reference is going away).
pub fn release_description(key: FileKey, desc: usize) {
    let mut st = state();
    let changed = st.files.get_mut(&key).is_some_and(|f| {
        let before = f.flocks.len();
        f.flocks.retain(|l| l.desc != desc);
        let rec = f.records.release_owner(Owner::Description(desc));
        rec || before != f.flocks.len()
    });
    st.tidy(key);
    drop(st);
    if changed {
        queue().notify_all();
    }
}

/// Whether any lock exists at all (a cheap test for the close path).
pub fn any_locks() -> bool {
    !state().files.is_empty()
}

/// Close hook: `tgid` closed one fd for `file`; `last` when no other
/// reference to the description remains.
pub fn on_close(tgid: i32, file: &crate::vfs::FileRef, last: bool) {
    if !any_locks() {
        return;
    }
    let posix = process_has_locks(tgid);
    if !posix && !last {
        return;
    }
    let Ok(st) = file.stat() else { return };
    let key = (st.st_dev, st.st_ino);
    if posix {
        release_posix(key, tgid);
    }
    if last {
        release_description(key, desc_id(file));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const A: Owner = Owner::Process(1);
    const B: Owner = Owner::Process(2);

    fn req(owner: Owner, start: i64, end: i64, kind: Option<bool>) -> Request {
        Request {
            owner,
            start,
            end,
            kind,
        }
    }

    fn ranges(s: &RecordSet) -> Vec<(i64, i64, bool)> {
        s.locks().iter().map(|l| (l.start, l.end, l.write)).collect()
    }

    #[test]
    fn unlocking_the_middle_splits_a_lock() {
        let mut s = RecordSet::default();
        s.apply(req(A, 0, 99, Some(true)), None);
        s.apply(req(A, 10, 19, None), None);
        assert_eq!(ranges(&s), vec![(0, 9, true), (20, 99, true)]);
    }

    #[test]
    fn changing_type_in_the_middle_splits_in_three() {
        let mut s = RecordSet::default();
        s.apply(req(A, 0, OFFSET_MAX, Some(true)), None);
        s.apply(req(A, 10, 19, Some(false)), None);
        assert_eq!(ranges(&s), vec![(0, 9, true), (10, 19, false), (20, OFFSET_MAX, true)]);
    }

    #[test]
    fn adjacent_and_overlapping_same_type_locks_merge() {
        let mut s = RecordSet::default();
        s.apply(req(A, 0, 9, Some(false)), None);
        s.apply(req(A, 20, 29, Some(false)), None);
        s.apply(req(A, 10, 19, Some(false)), None);
        assert_eq!(ranges(&s), vec![(0, 29, false)]);
        s.apply(req(A, 25, 40, Some(false)), None);
        assert_eq!(ranges(&s), vec![(0, 40, false)]);
    }

    #[test]
    fn other_owners_locks_are_untouched_and_not_merged() {
        let mut s = RecordSet::default();
        s.apply(req(A, 0, 9, Some(false)), None);
        s.apply(req(B, 10, 19, Some(false)), None);
        s.apply(req(A, 0, 19, None), None);
        assert_eq!(s.locks().len(), 1);
        assert_eq!(s.locks()[0].owner, B);
    }

    #[test]
    fn conflicts_need_overlap_other_owner_and_a_writer() {
        let mut s = RecordSet::default();
        s.apply(req(A, 10, 19, Some(false)), None);
        assert!(s.conflict(B, 0, 9, true).is_none());
        assert!(s.conflict(B, 15, 30, false).is_none());
        assert!(s.conflict(A, 15, 30, true).is_none());
        assert_eq!(s.conflict(B, 19, 19, true).unwrap().start, 10);
    }

    #[test]
    fn dead_descriptions_do_not_conflict() {
        let mut s = RecordSet::default();
        let d = Arc::new(());
        let weak: DescWeak = Arc::downgrade(&(d.clone() as Arc<dyn Any + Send + Sync>));
        let owner = Owner::Description(desc_id(&d));
        s.apply(req(owner, 0, 9, Some(true)), Some(weak));
        assert!(s.conflict(B, 0, 0, false).is_some());
        drop(d);
        assert!(s.conflict(B, 0, 0, false).is_none());
        assert!(s.prune());
        assert!(s.locks().is_empty());
    }

    #[test]
    fn a_wait_cycle_between_two_processes_is_a_deadlock() {
        let mut st = LockState::default();
        let (k1, k2) = ((1, 1), (1, 2));
        st.file(k1).records.apply(req(A, 0, 0, Some(true)), None);
        st.file(k2).records.apply(req(B, 0, 0, Some(true)), None);
        // A waits for B's lock on k2.
        assert!(!st.would_deadlock(1, k2, 0, 0, true));
        st.waiting.insert(
            1,
            Waiter {
                tgid: 1,
                key: k2,
                start: 0,
                end: 0,
                write: true,
            },
        );
        // B asking for A's lock on k1 would close the cycle.
        assert!(st.would_deadlock(2, k1, 0, 0, true));
        // A lock nobody waits on is no deadlock.
        st.waiting.clear();
        assert!(!st.would_deadlock(2, k1, 0, 0, true));
    }

    #[test]
    fn flock_shared_coexists_and_exclusive_conflicts() {
        let key = (u64::MAX, 7);
        let (d1, d2) = (Arc::new(1u8), Arc::new(2u8));
        let w = |d: &Arc<u8>| -> DescWeak { Arc::downgrade(&(d.clone() as Arc<dyn Any + Send + Sync>)) };
        flock(key, desc_id(&d1), w(&d1), FlockOp::Shared, true).unwrap();
        flock(key, desc_id(&d2), w(&d2), FlockOp::Shared, true).unwrap();
        assert_eq!(
            flock(key, desc_id(&d2), w(&d2), FlockOp::Exclusive, true),
            Err(Errno::EWOULDBLOCK)
        );
        flock(key, desc_id(&d1), w(&d1), FlockOp::Unlock, true).unwrap();
        flock(key, desc_id(&d2), w(&d2), FlockOp::Exclusive, true).unwrap();
        drop(d2);
        // The dead holder no longer blocks anyone.
        flock(key, desc_id(&d1), w(&d1), FlockOp::Exclusive, true).unwrap();
        flock(key, desc_id(&d1), w(&d1), FlockOp::Unlock, true).unwrap();
    }
}
