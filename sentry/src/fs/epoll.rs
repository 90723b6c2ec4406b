//! epoll instances (epoll(7)): an interest list of (fd, file) items, each
//! with an event mask and user data, and the readiness scan that
//! epoll_wait performs.
//!
//! Level-triggered items are re-checked at every wait. Edge-triggered items
//! report a change: for files that count their events (pipes, eventfds) a
//! new event since the last report, for other files a readiness bit that was
//! not set at the last report. The waiting task sleeps on every watched
//! file's wait queue (see [`wait_files`]).
//!
//! This module also keeps the registry that lets syscalls find the object
//! behind a `&dyn FileOps` (pipe, eventfd, epoll), since `FileOps` has no
//! downcast of its own.

use super::eventfd::{EventFd, ANON_INODE_DEV, ANON_INODE_INO};
use super::pipe::Pipe;
use crate::kernel::wait::WaitQueue;
use crate::vfs::inode::synthetic_stat;
use crate::vfs::{FileDescription, FileOps, FileRef};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::structs::Stat;
use syscalls::Errno;

type SpecialMap = HashMap<usize, Weak<dyn Any + Send + Sync>>;

fn specials() -> MutexGuard<'static, SpecialMap> {
    static MAP: OnceLock<Mutex<SpecialMap>> = OnceLock::new();
    MAP.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn ops_key<T: ?Sized>(ops: &T) -> usize {
    (ops as *const T).cast::<()>() as usize
}

/// Records that the file operations at `ops` (already in their final
/// `Box`) are backed by `obj`. Undone by [`unregister_special`] in the
/// operations' `Drop`, so a key never outlives its operations.
pub fn register_special<T: ?Sized>(ops: &T, obj: Weak<dyn Any + Send + Sync>) {
    specials().insert(ops_key(ops), obj);
}

/// Forgets the file operations at `ops`.
pub fn unregister_special<T: ?Sized>(ops: &T) {
    specials().remove(&ops_key(ops));
}

/// The object of type `T` behind `ops`, if `ops` registered one.
pub fn lookup_special<T: Any + Send + Sync>(ops: &dyn FileOps) -> Option<Arc<T>> {
    let obj = specials().get(&ops_key(ops))?.upgrade()?;
    obj.downcast::<T>().ok()
}

/// `EPOLLIN`-like bits (what a data event counter wakes).
const IN_BITS: u32 = (libc::EPOLLIN | libc::EPOLLRDNORM | libc::EPOLLRDBAND | libc::EPOLLPRI | libc::EPOLLRDHUP) as u32;
/// `EPOLLOUT`-like bits.
const OUT_BITS: u32 = (libc::EPOLLOUT | libc::EPOLLWRNORM | libc::EPOLLWRBAND) as u32;
/// Flags that are not events.
const FLAG_BITS: u32 = (libc::EPOLLET | libc::EPOLLONESHOT | libc::EPOLLEXCLUSIVE | libc::EPOLLWAKEUP) as u32;
/// Always reported, whether asked for or not.
const ALWAYS: u32 = (libc::EPOLLERR | libc::EPOLLHUP) as u32;
/// What may accompany EPOLLEXCLUSIVE.
const EXCLUSIVE_OK: u32 =
    IN_BITS | OUT_BITS | ALWAYS | (libc::EPOLLWAKEUP | libc::EPOLLET | libc::EPOLLEXCLUSIVE) as u32;
/// Deepest nesting of epoll instances (`EP_MAX_NESTS`).
const MAX_NESTS: usize = 4;

/// The edge-triggered state of an item at its last report.
#[derive(Clone, Copy, Debug)]
struct Edge {
    /// The file's relevant event count, for files that keep one.
    count: Option<u64>,
    /// The ready bits reported (cleared when seen not ready).
    bits: u32,
}

struct Item {
    file: Weak<FileDescription>,
    events: u32,
    data: u64,
    /// False once an EPOLLONESHOT item fired (until EPOLL_CTL_MOD).
    armed: bool,
    last: Option<Edge>,
}

type Key = (i32, usize);

#[derive(Default)]
struct Interest {
    items: BTreeMap<Key, Item>,
    /// The last item reported, so the next scan starts after it (fairness).
    cursor: Option<Key>,
}

/// One epoll instance.
pub struct Epoll {
    interest: Mutex<Interest>,
    /// Notified when the interest list changes.
    queue: WaitQueue,
    /// Bumped by every epoll_ctl, so waiters re-collect their wait queues.
    generation: AtomicU64,
}

/// The ready bits of `file` for an item with `events`.
fn ready_bits(file: &FileDescription, events: u32) -> u32 {
    let mask = (events & !FLAG_BITS) | ALWAYS;
    file.ops().readiness(mask) & mask
}

/// The file's event count relevant to `events`, for files that keep one.
fn event_count(file: &FileDescription, events: u32) -> Option<u64> {
    let ops = file.ops();
    let (i, o) = if let Some(p) = lookup_special::<Pipe>(ops) {
        p.event_counts()
    } else if let Some(e) = lookup_special::<EventFd>(ops) {
        e.event_counts()
    } else {
        return None;
    };
    let mut c = 0u64;
    if events & (IN_BITS | ALWAYS) != 0 {
        c = c.wrapping_add(i);
    }
    if events & (OUT_BITS | ALWAYS) != 0 {
        c = c.wrapping_add(o);
    }
    Some(c)
}

impl Item {
    /// The events to report now (0 for none), without changing state.
    fn pending(&self, file: &FileDescription) -> (u32, Option<u64>) {
        if !self.armed {
            return (0, None);
        }
        let bits = ready_bits(file, self.events);
        if bits == 0 || self.events & libc::EPOLLET as u32 == 0 {
            return (bits, None);
        }
        let count = event_count(file, self.events);
        let report = match self.last {
            None => true,
            Some(last) => (count.is_some() && count != last.count) || bits & !last.bits != 0,
        };
        (if report { bits } else { 0 }, count)
    }
}

impl Epoll {
    fn lock(&self) -> MutexGuard<'_, Interest> {
        self.interest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current interest-list generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether `other` is this instance or (transitively) watched by it
    /// `depth` levels down; true also when nesting gets too deep.
    fn reaches(&self, other: &Epoll, depth: usize) -> bool {
        if std::ptr::eq(self, other) || depth > MAX_NESTS {
            return true;
        }
        let files: Vec<FileRef> = self.lock().items.values().filter_map(|i| i.file.upgrade()).collect();
        files
            .iter()
            .any(|f| lookup_special::<Epoll>(f.ops()).is_some_and(|child| child.reaches(other, depth + 1)))
    }

    /// epoll_ctl on this instance. `target` is the description `fd` refers
    /// to (the caller checked it can be polled and is not this instance).
    pub fn ctl(self: &Arc<Self>, op: i32, fd: i32, target: &FileRef, events: u32, data: u64) -> Result<(), Errno> {
        let target_epoll = lookup_special::<Epoll>(target.ops());
        let exclusive = libc::EPOLLEXCLUSIVE as u32;
        let bad_exclusive = op == libc::EPOLL_CTL_MOD || target_epoll.is_some() || events & !EXCLUSIVE_OK != 0;
        if op != libc::EPOLL_CTL_DEL && events & exclusive != 0 && bad_exclusive {
            return Err(Errno::EINVAL);
        }
        let key = (fd, Arc::as_ptr(target) as usize);
        match op {
            libc::EPOLL_CTL_ADD => {
                if self.lock().items.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                if let Some(child) = &target_epoll {
                    if child.reaches(self, 1) {
                        return Err(Errno::ELOOP);
                    }
                }
                self.lock().items.insert(
                    key,
                    Item {
                        file: Arc::downgrade(target),
                        events: events | ALWAYS,
                        data,
                        armed: true,
                        last: None,
                    },
                );
            }
            libc::EPOLL_CTL_MOD => {
                let mut g = self.lock();
                let item = g.items.get_mut(&key).ok_or(Errno::ENOENT)?;
                if item.events & exclusive != 0 {
                    return Err(Errno::EINVAL);
                }
                item.events = events | ALWAYS;
                item.data = data;
                item.armed = true;
                item.last = None;
            }
            libc::EPOLL_CTL_DEL => {
                self.lock().items.remove(&key).ok_or(Errno::ENOENT)?;
            }
            _ => return Err(Errno::EINVAL),
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.queue.notify_all();
        Ok(())
    }

    /// Takes up to `max` ready events, as epoll_wait reports them: marks
    /// edge-triggered items reported and disarms one-shot items.
    pub fn collect(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut keep_alive = Vec::new();
        let mut g = self.lock();
        let g = &mut *g;
        g.items.retain(|_, i| i.file.strong_count() > 0);
        let keys: Vec<Key> = match g.cursor {
            Some(c) => {
                let after = g
                    .items
                    .range((std::ops::Bound::Excluded(c), std::ops::Bound::Unbounded));
                let before = g.items.range(..=c);
                after.chain(before).map(|(k, _)| *k).collect()
            }
            None => g.items.keys().copied().collect(),
        };
        for key in keys {
            if out.len() >= max {
                break;
            }
            let Some(item) = g.items.get_mut(&key) else { continue };
            let Some(file) = item.file.upgrade() else { continue };
            let (bits, count) = item.pending(&file);
            let et = item.events & libc::EPOLLET as u32 != 0;
            if bits == 0 {
                if et && item.armed && ready_bits(&file, item.events) == 0 {
                    if let Some(last) = &mut item.last {
                        last.bits = 0;
                    }
                }
            } else {
                out.push((bits, item.data));
                if et {
                    item.last = Some(Edge { count, bits });
                }
                if item.events & libc::EPOLLONESHOT as u32 != 0 {
                    item.armed = false;
                }
                g.cursor = Some(key);
            }
            keep_alive.push(file);
        }
        drop(keep_alive);
        out
    }

    /// Whether a wait would report something now (no state changes).
    pub fn has_ready(&self) -> bool {
        let files: Vec<(FileRef, bool)> = {
            let g = self.lock();
            g.items
                .values()
                .filter_map(|i| i.file.upgrade().map(|f| (f.clone(), i.pending(&f).0 != 0)))
                .collect()
        };
        files.iter().any(|(_, ready)| *ready)
    }

    /// The live files on the interest list.
    fn files(&self) -> Vec<FileRef> {
        self.lock().items.values().filter_map(|i| i.file.upgrade()).collect()
    }

    /// The queue notified on interest-list changes.
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }
}

/// Pushes `file` and, for an epoll instance, every file it watches
/// (transitively): the files whose wait queues a poller must sleep on.
pub fn wait_files(file: &FileRef, out: &mut Vec<FileRef>) {
    fn walk(file: &FileRef, out: &mut Vec<FileRef>, depth: usize) {
        out.push(file.clone());
        if depth > MAX_NESTS {
            return;
        }
        if let Some(ep) = lookup_special::<Epoll>(file.ops()) {
            for f in ep.files() {
                walk(&f, out, depth + 1);
            }
        }
    }
    walk(file, out, 0);
}

/// The [`FileOps`] of an epoll description.
pub struct EpollFile {
    inner: Arc<Epoll>,
}

/// Creates an epoll instance (`O_CLOEXEC` is the caller's business).
pub fn new_epoll() -> FileRef {
    let inner = Arc::new(Epoll {
        interest: Mutex::new(Interest::default()),
        queue: WaitQueue::new(),
        generation: AtomicU64::new(0),
    });
    let file = Box::new(EpollFile { inner: inner.clone() });
    let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(&inner) as _;
    register_special(file.as_ref(), weak);
    FileDescription::new(file, libc::O_RDWR, None)
}

/// The epoll instance behind a file (EINVAL if it is not one).
pub fn epoll_of(file: &FileDescription) -> Result<Arc<Epoll>, Errno> {
    lookup_special::<Epoll>(file.ops()).ok_or(Errno::EINVAL)
}

impl FileOps for EpollFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(synthetic_stat(ANON_INODE_DEV, ANON_INODE_INO, 0o600, 0))
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.inner.has_ready() {
            mask & (libc::POLLIN | libc::POLLRDNORM) as u32
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.inner.queue)
    }

    fn name(&self) -> Vec<u8> {
        b"anon_inode:[eventpoll]".to_vec()
    }
}

impl Drop for EpollFile {
    fn drop(&mut self) {
        unregister_special(self);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::eventfd::new_eventfd;
    use super::super::pipe::new_pipe;
    use super::*;

    const IN: u32 = libc::EPOLLIN as u32;
    const ET: u32 = libc::EPOLLET as u32;

    #[test]
    fn level_triggered_reports_until_drained() {
        let ep = new_epoll();
        let e = epoll_of(&ep).unwrap();
        let (r, w) = new_pipe(libc::O_NONBLOCK, 0, 0);
        e.ctl(libc::EPOLL_CTL_ADD, 3, &r, IN, 42).unwrap();
        assert!(e.collect(8).is_empty());
        assert_eq!(ep.ops().readiness(u32::MAX), 0);
        w.write(b"x").unwrap();
        assert_ne!(ep.ops().readiness(u32::MAX), 0);
        assert_eq!(e.collect(8), vec![(IN, 42)]);
        assert_eq!(e.collect(8), vec![(IN, 42)]);
        r.read(&mut [0u8; 4]).unwrap();
        assert!(e.collect(8).is_empty());
    }

    #[test]
    fn edge_triggered_reports_each_new_event_once() {
        let ep = new_epoll();
        let e = epoll_of(&ep).unwrap();
        let (r, w) = new_pipe(libc::O_NONBLOCK, 0, 0);
        e.ctl(libc::EPOLL_CTL_ADD, 3, &r, IN | ET, 1).unwrap();
        w.write(b"x").unwrap();
        assert_eq!(e.collect(8).len(), 1);
        assert!(e.collect(8).is_empty());
        // Drained and refilled without a wait in between: still an edge.
        r.read(&mut [0u8; 4]).unwrap();
        w.write(b"y").unwrap();
        assert_eq!(e.collect(8).len(), 1);
        assert!(e.collect(8).is_empty());
    }

    #[test]
    fn oneshot_disarms_until_mod_and_ctl_errors() {
        let ep = new_epoll();
        let e = epoll_of(&ep).unwrap();
        let ev = new_eventfd(1, 0);
        let one = libc::EPOLLONESHOT as u32;
        e.ctl(libc::EPOLL_CTL_ADD, 4, &ev, IN | one, 7).unwrap();
        assert_eq!(e.ctl(libc::EPOLL_CTL_ADD, 4, &ev, IN, 7), Err(Errno::EEXIST));
        assert_eq!(e.collect(8), vec![(IN, 7)]);
        assert!(e.collect(8).is_empty());
        e.ctl(libc::EPOLL_CTL_MOD, 4, &ev, IN, 8).unwrap();
        assert_eq!(e.collect(8), vec![(IN, 8)]);
        e.ctl(libc::EPOLL_CTL_DEL, 4, &ev, 0, 0).unwrap();
        assert_eq!(e.ctl(libc::EPOLL_CTL_DEL, 4, &ev, 0, 0), Err(Errno::ENOENT));
        assert_eq!(e.ctl(libc::EPOLL_CTL_MOD, 4, &ev, IN, 0), Err(Errno::ENOENT));
        let ex = libc::EPOLLEXCLUSIVE as u32;
        e.ctl(libc::EPOLL_CTL_ADD, 4, &ev, IN | ex, 0).unwrap();
        assert_eq!(e.ctl(libc::EPOLL_CTL_MOD, 4, &ev, IN, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn nested_epolls_loop_and_closed_files_vanish() {
        let a = new_epoll();
        let b = new_epoll();
        let (ea, eb) = (epoll_of(&a).unwrap(), epoll_of(&b).unwrap());
        ea.ctl(libc::EPOLL_CTL_ADD, 5, &b, IN, 0).unwrap();
        assert_eq!(eb.ctl(libc::EPOLL_CTL_ADD, 6, &a, IN, 0), Err(Errno::ELOOP));
        let ev = new_eventfd(1, 0);
        eb.ctl(libc::EPOLL_CTL_ADD, 7, &ev, IN, 0).unwrap();
        // The inner instance is ready, so the outer one reports it.
        assert_eq!(ea.collect(8), vec![(IN, 0)]);
        let mut files = Vec::new();
        wait_files(&a, &mut files);
        assert_eq!(files.len(), 3);
        drop(files);
        drop(ev);
        assert!(eb.collect(8).is_empty());
        assert!(ea.collect(8).is_empty());
    }
}
