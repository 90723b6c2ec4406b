//! inotify (man 7 inotify): instances, watches and the event queue, and
//! the hooks the VFS calls where operations succeed.
//!
//! Watches name nodes by a stable key, (`st_dev`, `st_ino`), because
//! dentries of uncached filesystems are made anew on every lookup. Only
//! changes made inside the sandbox are seen (the container owns its root).
//! The hooks cost one atomic load while no watch exists anywhere
//! ([`active`]).
//!
//! Events of a node reach its own watches and, with the node's name, the
//! watches of its parent directory (Linux's fsnotify_parent). As on Linux
//! an event identical to the last one queued is merged into it, and a
//! queue holding [`MAX_QUEUED_EVENTS`] takes one `IN_Q_OVERFLOW` and drops
//! the rest. `IN_EXCL_UNLINK` is accepted and ignored; `IN_DELETE_SELF` is
//! reported when the last name goes even if the file is still open (Linux
//! waits for the last close).

use crate::kernel::wait::{block_until, WaitQueue};
use crate::mm::MemoryManager;
use crate::vfs::inode::{is_dir, synthetic_stat, SetAttr};
use crate::vfs::{FileDescription, FileOps, FileRef, Inode, Location};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::structs::Stat;
use syscalls::Errno;

/// File was read.
pub const IN_ACCESS: u32 = 0x1;
/// File was written.
pub const IN_MODIFY: u32 = 0x2;
/// Metadata changed.
pub const IN_ATTRIB: u32 = 0x4;
/// A writable file was closed.
pub const IN_CLOSE_WRITE: u32 = 0x8;
/// A read-only file was closed.
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
/// File was opened.
pub const IN_OPEN: u32 = 0x20;
/// A name moved out of the watched directory.
pub const IN_MOVED_FROM: u32 = 0x40;
/// A name moved into the watched directory.
pub const IN_MOVED_TO: u32 = 0x80;
/// A name was created in the watched directory.
pub const IN_CREATE: u32 = 0x100;
/// A name was removed from the watched directory.
pub const IN_DELETE: u32 = 0x200;
/// The watched node was deleted.
pub const IN_DELETE_SELF: u32 = 0x400;
/// The watched node was moved.
pub const IN_MOVE_SELF: u32 = 0x800;
/// The queue overflowed.
pub const IN_Q_OVERFLOW: u32 = 0x4000;
/// The watch was removed.
pub const IN_IGNORED: u32 = 0x8000;
/// Only watch the path if it is a directory.
pub const IN_ONLYDIR: u32 = 0x0100_0000;
/// Do not follow a final symlink.
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// No events for children after they are unlinked (ignored here).
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
/// Fail with EEXIST if the node is already watched.
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
/// Add to an existing watch's mask instead of replacing it.
pub const IN_MASK_ADD: u32 = 0x2000_0000;
/// The subject of the event is a directory.
pub const IN_ISDIR: u32 = 0x4000_0000;
/// Remove the watch after one event.
pub const IN_ONESHOT: u32 = 0x8000_0000;
/// Every event a watch can ask for.
pub const IN_ALL_EVENTS: u32 = 0xfff;
/// Every bit inotify_add_watch understands.
pub const ALL_INOTIFY_BITS: u32 =
    IN_ALL_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ONESHOT;
/// `/proc/sys/fs/inotify/max_queued_events`.
pub const MAX_QUEUED_EVENTS: usize = 16384;
/// `sizeof(struct inotify_event)`.
const EVENT_HEADER: usize = 16;

/// What names a watched node: (device, inode number).
pub type NodeKey = (u64, u64);

/// Live watches in the whole sandbox: the hooks do nothing while it is 0.
static WATCHES: AtomicUsize = AtomicUsize::new(0);

/// Whether any watch exists (the hooks' fast path).
#[inline]
pub fn active() -> bool {
    WATCHES.load(Ordering::Relaxed) > 0
}

/// Watches by node: which instances watch it, under which descriptor.
type Registry = HashMap<NodeKey, Vec<(Weak<Instance>, i32)>>;

fn registry() -> MutexGuard<'static, Registry> {
    static REG: OnceLock<Mutex<Registry>> = OnceLock::new();
    REG.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One queued event.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// The record's size: header plus the name padded with NULs to 16.
    fn size(&self) -> usize {
        EVENT_HEADER + self.name_len()
    }

    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).next_multiple_of(EVENT_HEADER)
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wd.to_ne_bytes());
        out.extend_from_slice(&self.mask.to_ne_bytes());
        out.extend_from_slice(&self.cookie.to_ne_bytes());
        out.extend_from_slice(&(self.name_len() as u32).to_ne_bytes());
        let start = out.len();
        out.extend_from_slice(&self.name);
        out.resize(start + self.name_len(), 0);
    }
}

struct Watch {
    key: NodeKey,
    mask: u32,
}

#[derive(Default)]
struct State {
    watches: HashMap<i32, Watch>,
    next_wd: i32,
    events: VecDeque<Event>,
    /// Bytes of the queued records (FIONREAD).
    bytes: usize,
    /// The overflow event is queued (only one at a time).
    overflowed: bool,
}

impl State {
    /// Queues `ev`, merging it into an identical last event; true when the
    /// queue changed.
    fn push(&mut self, ev: Event) -> bool {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            if self.overflowed {
                return false;
            }
            self.overflowed = true;
            let o = Event {
                wd: -1,
                mask: IN_Q_OVERFLOW,
                cookie: 0,
                name: Vec::new(),
            };
            self.bytes += o.size();
            self.events.push_back(o);
            return true;
        }
        if self.events.back() == Some(&ev) {
            return false;
        }
        self.bytes += ev.size();
        self.events.push_back(ev);
        true
    }

    fn wd_of(&self, key: NodeKey) -> Option<i32> {
        self.watches.iter().find(|(_, w)| w.key == key).map(|(wd, _)| *wd)
    }
}

/// An inotify instance: its watches and its event queue.
pub struct Instance {
    state: Mutex<State>,
    queue: WaitQueue,
    me: Weak<Instance>,
}

impl Instance {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Adds or updates the watch on `key` (see inotify_add_watch(2)).
    pub fn add_watch(&self, key: NodeKey, mask: u32) -> Result<i32, Errno> {
        let events = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
        let mut s = self.state();
        if let Some(wd) = s.wd_of(key) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            if let Some(w) = s.watches.get_mut(&wd) {
                w.mask = if mask & IN_MASK_ADD != 0 {
                    w.mask | events
                } else {
                    events
                };
            }
            return Ok(wd);
        }
        s.next_wd = s.next_wd.checked_add(1).ok_or(Errno::ENOSPC)?;
        let wd = s.next_wd;
        s.watches.insert(wd, Watch { key, mask: events });
        drop(s);
        registry().entry(key).or_default().push((self.me.clone(), wd));
        WATCHES.fetch_add(1, Ordering::Relaxed);
        Ok(wd)
    }

    /// Removes watch `wd`, queueing `IN_IGNORED` (EINVAL if there is none).
    pub fn rm_watch(&self, wd: i32) -> Result<(), Errno> {
        let key = {
            let mut s = self.state();
            let w = s.watches.remove(&wd).ok_or(Errno::EINVAL)?;
            s.push(Event {
                wd,
                mask: IN_IGNORED,
                cookie: 0,
                name: Vec::new(),
            });
            w.key
        };
        self.queue.notify_all();
        unregister(key, |inst, d| d == wd && std::ptr::eq(inst, self));
        Ok(())
    }

    /// Queues `mask` for the watch `wd` if it asks for it; true when the
    /// watch was one-shot and is now gone.
    fn deliver(&self, wd: i32, mask: u32, cookie: u32, name: &[u8]) -> bool {
        let mut s = self.state();
        let Some(w) = s.watches.get(&wd) else { return false };
        let wanted = w.mask & mask & IN_ALL_EVENTS != 0 || mask & IN_IGNORED != 0;
        if !wanted {
            return false;
        }
        let oneshot = w.mask & IN_ONESHOT != 0;
        let mut changed = s.push(Event {
            wd,
            mask,
            cookie,
            name: name.to_vec(),
        });
        if oneshot {
            s.watches.remove(&wd);
            changed |= s.push(Event {
                wd,
                mask: IN_IGNORED,
                cookie: 0,
                name: Vec::new(),
            });
        }
        drop(s);
        if changed {
            self.queue.notify_all();
        }
        oneshot
    }

    /// Drops watch `wd` without a record of it in the registry (the node is
    /// gone): `IN_IGNORED` is queued.
    fn forget(&self, wd: i32) {
        let mut s = self.state();
        if s.watches.remove(&wd).is_some() {
            s.push(Event {
                wd,
                mask: IN_IGNORED,
                cookie: 0,
                name: Vec::new(),
            });
            drop(s);
            self.queue.notify_all();
        }
    }

    /// Reads whole events into `buf`: EINVAL when the first does not fit,
    /// EAGAIN (or a wait) when there is none.
    pub fn read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        let attempt = || -> Option<Result<Vec<u8>, Errno>> {
            let mut s = self.state();
            let first = s.events.front()?;
            if first.size() > buf.len() {
                return Some(Err(Errno::EINVAL));
            }
            let mut out = Vec::new();
            while let Some(ev) = s.events.front() {
                if out.len() + ev.size() > buf.len() {
                    break;
                }
                ev.encode(&mut out);
                let size = ev.size();
                if ev.mask == IN_Q_OVERFLOW && ev.wd == -1 {
                    s.overflowed = false;
                }
                s.events.pop_front();
                s.bytes -= size;
            }
            Some(Ok(out))
        };
        let r = match attempt() {
            Some(r) => r,
            None if nonblock => return Err(Errno::EAGAIN),
            None => block_until(&[&self.queue], None, attempt)?,
        };
        let out = r?;
        buf[..out.len()].copy_from_slice(&out);
        Ok(out.len())
    }

    /// Bytes of the queued events (FIONREAD).
    pub fn pending_bytes(&self) -> usize {
        self.state().bytes
    }
}

/// Removes the registry entries of `key` that `pred` selects.
fn unregister(key: NodeKey, pred: impl Fn(*const Instance, i32) -> bool) {
    let mut reg = registry();
    let Some(list) = reg.get_mut(&key) else { return };
    let before = list.len();
    list.retain(|(w, wd)| !pred(w.as_ptr(), *wd));
    let removed = before - list.len();
    if list.is_empty() {
        reg.remove(&key);
    }
    WATCHES.fetch_sub(removed, Ordering::Relaxed);
}

/// The [`FileOps`] of an inotify file description.
pub struct InotifyFile {
    inst: Arc<Instance>,
}

/// Creates an inotify instance; `flags` may hold `O_NONBLOCK`.
pub fn new_inotify(flags: i32) -> FileRef {
    let inst = Arc::new_cyclic(|me| Instance {
        state: Mutex::new(State::default()),
        queue: WaitQueue::new(),
        me: me.clone(),
    });
    FileDescription::new(
        Box::new(InotifyFile { inst }),
        libc::O_RDONLY | (flags & libc::O_NONBLOCK),
        None,
    )
}

/// The instance behind `file` (EINVAL when it is not an inotify fd).
pub fn instance_of(file: &FileDescription) -> Result<Arc<Instance>, Errno> {
    file.ops()
        .as_any()
        .and_then(|a| a.downcast_ref::<InotifyFile>())
        .map(|f| f.inst.clone())
        .ok_or(Errno::EINVAL)
}

impl FileOps for InotifyFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(synthetic_stat(
            super::eventfd::ANON_INODE_DEV,
            super::eventfd::ANON_INODE_INO,
            0o600,
            0,
        ))
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.inst.read(buf, nonblock)
    }

    fn ioctl(&self, mm: &MemoryManager, cmd: u32, arg: u64) -> Result<u64, Errno> {
        match cmd as libc::Ioctl {
            libc::FIONREAD => {
                let n = self.inst.pending_bytes().min(i32::MAX as usize) as i32;
                mm.write_obj(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn readiness(&self, mask: u32) -> u32 {
        if self.inst.state().events.is_empty() {
            0
        } else {
            mask & (libc::POLLIN | libc::POLLRDNORM) as u32
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.inst.queue)
    }

    fn name(&self) -> Vec<u8> {
        b"anon_inode:inotify".to_vec()
    }
}

impl Drop for InotifyFile {
    fn drop(&mut self) {
        let watches: Vec<(i32, NodeKey)> = self.inst.state().watches.iter().map(|(wd, w)| (*wd, w.key)).collect();
        let me: *const Instance = Arc::as_ptr(&self.inst);
        for (wd, key) in watches {
            unregister(key, |inst, d| d == wd && std::ptr::eq(inst, me));
        }
    }
}

// ---- Delivery and the VFS hooks. ----

/// A node's key and whether it is a directory.
fn key_of(inode: &dyn Inode) -> Option<(NodeKey, bool)> {
    let st = inode.stat().ok()?;
    Some(((st.st_dev, st.st_ino), is_dir(st.st_mode)))
}

/// Queues `mask` for every watch on `key`.
fn notify_key(key: NodeKey, mask: u32, cookie: u32, name: &[u8]) {
    let targets: Vec<(Arc<Instance>, i32)> = match registry().get(&key) {
        Some(list) => list.iter().filter_map(|(w, wd)| Some((w.upgrade()?, *wd))).collect(),
        None => return,
    };
    for (inst, wd) in targets {
        if inst.deliver(wd, mask, cookie, name) {
            let p: *const Instance = Arc::as_ptr(&inst);
            unregister(key, |i, d| d == wd && std::ptr::eq(i, p));
        }
    }
}

/// The node is gone: its watches end with `IN_IGNORED`.
fn drop_watches(key: NodeKey) {
    let Some(list) = registry().remove(&key) else { return };
    WATCHES.fetch_sub(list.len(), Ordering::Relaxed);
    for (w, wd) in list {
        if let Some(inst) = w.upgrade() {
            inst.forget(wd);
        }
    }
}

/// The parent directory's node and the name of `loc` in it (none at a
/// mount's root).
fn parent_of(loc: &Location) -> Option<(Arc<dyn Inode>, Vec<u8>)> {
    if Arc::ptr_eq(&loc.dentry, &loc.mount.root) {
        return None;
    }
    let parent = loc.dentry.parent()?;
    Some((parent.inode.clone(), loc.dentry.name().to_vec()))
}

/// An event on the node at `loc`: to its parent's watches with its name,
/// then to its own (Linux's order). `IN_ISDIR` is added for directories.
pub fn on_node(loc: &Location, mask: u32) {
    if !active() {
        return;
    }
    let Some((key, dir)) = key_of(loc.inode().as_ref()) else {
        return;
    };
    let mask = if dir { mask | IN_ISDIR } else { mask };
    if let Some((parent, name)) = parent_of(loc) {
        if let Some((pkey, _)) = key_of(parent.as_ref()) {
            notify_key(pkey, mask, 0, &name);
        }
    }
    notify_key(key, mask, 0, b"");
}

/// The file at `loc` was opened (`IN_OPEN`, then `IN_MODIFY` when
/// `O_TRUNC` emptied an existing file, in Linux's order).
pub fn on_open(loc: &Location, flags: i32, truncated: bool) {
    if !active() || flags & libc::O_PATH != 0 {
        return;
    }
    on_node(loc, IN_OPEN);
    if truncated {
        on_node(loc, IN_MODIFY);
    }
}

/// The last reference to a description opened at `loc` went away.
pub fn on_close(loc: &Location, flags: i32) {
    if !active() || flags & libc::O_PATH != 0 {
        return;
    }
    let writable = matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR);
    on_node(loc, if writable { IN_CLOSE_WRITE } else { IN_CLOSE_NOWRITE });
}

/// Attributes of the node at `loc` changed as `attr` says (chmod, chown,
/// utimensat), with Linux's mapping of changes to events.
pub fn on_setattr(loc: &Location, attr: &SetAttr) {
    if !active() {
        return;
    }
    let mut mask = 0;
    if attr.uid.is_some() || attr.gid.is_some() || attr.mode.is_some() {
        mask |= IN_ATTRIB;
    }
    match (attr.atime.is_some(), attr.mtime.is_some()) {
        (true, true) => mask |= IN_ATTRIB,
        (true, false) => mask |= IN_ACCESS,
        (false, true) => mask |= IN_MODIFY,
        _ => {}
    }
    if mask != 0 {
        on_node(loc, mask);
    }
}

/// `name` was created in `dir` (creat, mkdir, mknod, symlink, link);
/// `is_dir`: it is a directory.
pub fn on_create(dir: &Location, name: &[u8], is_dir: bool) {
    if !active() {
        return;
    }
    if let Some((dkey, _)) = key_of(dir.inode().as_ref()) {
        notify_key(dkey, IN_CREATE | if is_dir { IN_ISDIR } else { 0 }, 0, name);
    }
}

/// `node` got the new name `name` in `dir` (link).
pub fn on_link(dir: &Location, name: &[u8], node: &dyn Inode) {
    if !active() {
        return;
    }
    if let Some((key, _)) = key_of(node) {
        notify_key(key, IN_ATTRIB, 0, b"");
    }
    on_create(dir, name, false);
}

/// What the hooks need to know of a node before it is removed or replaced:
/// taken before the change, when the node can still be looked at.
#[derive(Clone, Copy, Debug)]
pub struct Victim {
    key: NodeKey,
    dir: bool,
    /// The removal takes its last name.
    last_link: bool,
}

impl Victim {
    /// Records `node` (None when no watch exists or it cannot be stat'ed).
    pub fn of(node: &dyn Inode) -> Option<Victim> {
        if !active() {
            return None;
        }
        let st = node.stat().ok()?;
        let dir = is_dir(st.st_mode);
        Some(Victim {
            key: (st.st_dev, st.st_ino),
            dir,
            last_link: dir || st.st_nlink <= 1,
        })
    }

    /// It lost a name: `IN_ATTRIB` for files (link count), and when that
    /// was the last one `IN_DELETE_SELF` (its watches end in
    /// [`Victim::finish`]).
    fn unlinked(&self) {
        if !self.dir {
            notify_key(self.key, IN_ATTRIB, 0, b"");
        }
        if self.last_link {
            notify_key(self.key, IN_DELETE_SELF, 0, b"");
        }
    }

    fn finish(&self) {
        if self.last_link {
            drop_watches(self.key);
        }
    }
}

/// `name` was removed from `dir` (unlink, rmdir); `victim` was taken
/// before.
pub fn on_delete(dir: &Location, name: &[u8], victim: Option<Victim>) {
    let Some(v) = victim else { return };
    v.unlinked();
    v.finish();
    if let Some((dkey, _)) = key_of(dir.inode().as_ref()) {
        notify_key(dkey, IN_DELETE | if v.dir { IN_ISDIR } else { 0 }, 0, name);
    }
}

/// `moved` went from `old_name` in `old_dir` to `new_name` in `new_dir`,
/// replacing `replaced` if any (rename). Both names share a cookie.
pub fn on_rename(
    old_dir: &Location,
    old_name: &[u8],
    new_dir: &Location,
    new_name: &[u8],
    moved: Option<Victim>,
    replaced: Option<Victim>,
) {
    let Some(m) = moved else { return };
    if replaced.is_some_and(|r| r.key == m.key) {
        // Two names of one node: rename does nothing.
        return;
    }
    static COOKIE: AtomicU32 = AtomicU32::new(1);
    let cookie = COOKIE.fetch_add(1, Ordering::Relaxed);
    let isdir = if m.dir { IN_ISDIR } else { 0 };
    if let Some((k, _)) = key_of(old_dir.inode().as_ref()) {
        notify_key(k, IN_MOVED_FROM | isdir, cookie, old_name);
    }
    if let Some((k, _)) = key_of(new_dir.inode().as_ref()) {
        notify_key(k, IN_MOVED_TO | isdir, cookie, new_name);
    }
    if let Some(r) = &replaced {
        if !r.dir {
            notify_key(r.key, IN_ATTRIB, 0, b"");
        }
    }
    notify_key(m.key, IN_MOVE_SELF, 0, b"");
    if let Some(r) = replaced {
        if r.last_link && r.key != m.key {
            notify_key(r.key, IN_DELETE_SELF, 0, b"");
            drop_watches(r.key);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ev(wd: i32, mask: u32, name: &str) -> Event {
        Event {
            wd,
            mask,
            cookie: 0,
            name: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn records_pad_names_to_sixteen() {
        let mut out = Vec::new();
        ev(3, IN_CREATE, "abc").encode(&mut out);
        assert_eq!(out.len(), 32);
        assert_eq!(&out[12..16], &16u32.to_ne_bytes());
        assert_eq!(&out[16..19], b"abc");
        assert!(out[19..].iter().all(|&b| b == 0));
        let mut out = Vec::new();
        ev(3, IN_MODIFY, "").encode(&mut out);
        assert_eq!(out.len(), 16);
        assert_eq!(ev(1, 0, &"x".repeat(15)).size(), 32);
        assert_eq!(ev(1, 0, &"x".repeat(16)).size(), 48);
    }

    #[test]
    fn identical_last_events_merge_and_overflow_is_queued_once() {
        let mut s = State::default();
        assert!(s.push(ev(1, IN_MODIFY, "")));
        assert!(!s.push(ev(1, IN_MODIFY, "")));
        assert!(s.push(ev(1, IN_ACCESS, "")));
        assert!(s.push(ev(1, IN_MODIFY, "")));
        assert_eq!(s.events.len(), 3);
        for i in 0..MAX_QUEUED_EVENTS * 2 {
            s.push(ev(1, if i % 2 == 0 { IN_OPEN } else { IN_ACCESS }, ""));
        }
        assert_eq!(s.events.len(), MAX_QUEUED_EVENTS + 1);
        assert_eq!(s.events.back().unwrap().mask, IN_Q_OVERFLOW);
        assert_eq!(s.bytes, (MAX_QUEUED_EVENTS + 1) * 16);
    }

    #[test]
    fn watches_deliver_read_and_go_away() {
        let f = new_inotify(libc::O_NONBLOCK);
        let inst = instance_of(&f).unwrap();
        let key = (u64::MAX - 7, 42);
        let wd = inst.add_watch(key, IN_MODIFY).unwrap();
        assert_eq!(inst.add_watch(key, IN_ACCESS | IN_MASK_ADD).unwrap(), wd);
        assert_eq!(inst.add_watch(key, IN_ACCESS | IN_MASK_CREATE), Err(Errno::EEXIST));
        assert!(active());
        notify_key(key, IN_OPEN, 0, b"");
        notify_key(key, IN_ACCESS, 0, b"");
        let mut small = [0u8; 8];
        assert_eq!(inst.read(&mut small, true), Err(Errno::EINVAL));
        inst.rm_watch(wd).unwrap();
        assert_eq!(inst.rm_watch(wd), Err(Errno::EINVAL));
        let mut buf = [0u8; 64];
        assert_eq!(inst.read(&mut buf, true).unwrap(), 32);
        assert_eq!(&buf[4..8], &IN_ACCESS.to_ne_bytes());
        assert_eq!(&buf[20..24], &IN_IGNORED.to_ne_bytes());
        assert_eq!(inst.read(&mut buf, true), Err(Errno::EAGAIN));
        assert!(registry().get(&key).is_none());
    }
}
