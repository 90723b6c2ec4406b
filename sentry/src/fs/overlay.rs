//! overlay: the writable root (`--overlay2=root:memory`, the default).
//!
//! The gofer's read-only filesystem is the lower layer; everything the
//! guest changes lives in the sentry (an in-memory upper layer, with each
//! regular file's bytes in a host memfd as in [`super::shm`]). Nothing ever
//! reaches the host. Linux's overlayfs is the model:
//!
//! - one tree of [`OvNode`]s: a node is a lower node, an upper node, or a
//!   lower node that was *copied up* (its attributes, and a regular file's
//!   data, now in the sentry);
//! - a directory's entries merge its upper names over its lower
//!   directory's; a removed lower name leaves a *whiteout* (the name is
//!   recorded as missing); a directory made where a lower one was removed
//!   has no lower directory at all (it is *opaque*);
//! - writing a lower file (open for writing or with O_TRUNC, truncate,
//!   chmod/chown/utimes, link) copies it up first; readers that opened it
//!   before keep the lower bytes, as on Linux;
//! - every node reports the overlay's device; lower and copied-up nodes keep
//!   the lower inode number, new ones get numbers from a range of their own.
//!
//! # Caching and locking
//!
//! Directory lookups are not cached by the VFS ([`Inode::cacheable`] is
//! false): each directory node caches what its names resolved to, and every
//! change writes an explicit entry, so a lookup racing with a change can
//! only fill a name nobody has written yet. The lower layer never changes,
//! so negative entries and a directory's lower listing are cached for good.
//!
//! Lock order: [`Inner::ns`] (held by every change to names: create, mkdir,
//! symlink, unlink, rmdir, link, rename), then directory states
//! ([`DirState`]), then node attributes ([`NodeState`]). Lookups and readdir
//! take one directory state at a time and never hold it across a gofer
//! call, so only changes nest directory locks, and changes are serialised.

use super::hostio::{new_memfd, now, retry};
use super::shm::{RENAME_EXCHANGE, RENAME_NOREPLACE};
use crate::vfs::inode::{dtype_of, next_ino, SetAttr};
use crate::vfs::{FileOps, FileSystem, Inode, RawDirent};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls::structs::{Stat, Statfs};
use syscalls::{Errno, Pod};

/// Inode numbers of nodes born in the upper layer start here, far above
/// what host filesystems hand out, so they never collide with lower ones.
const UPPER_INO_BASE: u64 = 1 << 62;

/// readdir cookies of names that exist only in the upper layer start here;
/// below are positions in the lower listing (index + 1). Both are stable
/// under removals, so a listing interleaved with unlinks skips nothing.
const UPPER_COOKIE_BASE: u64 = 1 << 40;

/// Chunk asked of the lower layer when listing a directory.
const LOWER_CHUNK: usize = 1024;

/// The overlay filesystem.
pub struct OverlayFs {
    inner: Arc<Inner>,
    root: Arc<OvNode>,
}

/// What every node of one overlay shares.
struct Inner {
    dev: u64,
    /// The lower root's device: lower inode numbers from it are kept as is.
    lower_dev: u64,
    lower_fs: Arc<dyn FileSystem>,
    /// Serialises changes to names (see the module docs).
    ns: Mutex<()>,
    /// Orders names that appear in the upper layer (readdir cookies).
    seq: AtomicU64,
}

/// A file, directory or symlink of the overlay.
pub struct OvNode {
    fs: Weak<Inner>,
    me: Weak<OvNode>,
    ino: u64,
    /// `S_IFMT` bits (a node never changes type).
    fmt: u32,
    state: Mutex<NodeState>,
    /// Directory contents (`None` for non-directories).
    dir: Option<Mutex<DirState>>,
}

/// Where a node's attributes and data come from.
struct NodeState {
    /// The lower node, if the name came from the lower layer.
    lower: Option<Arc<dyn Inode>>,
    /// Set once the node lives in the upper layer (new or copied up).
    upper: Option<Upper>,
}

struct Upper {
    meta: Meta,
    data: UpperData,
}

enum UpperData {
    /// Directories and special files: attributes only.
    None,
    /// A regular file's bytes.
    File(Arc<OwnedFd>),
    /// A symlink's target.
    Link(Vec<u8>),
}

/// Attributes of an upper node (a file's size is its memfd's).
#[derive(Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    size: i64,
    atime: (i64, i64),
    mtime: (i64, i64),
    ctime: (i64, i64),
    /// An O_TMPFILE file (no name yet) that linkat may name.
    linkable: bool,
}

/// A directory's merged entries.
struct DirState {
    /// The lower directory merged under this one (`None`: new or opaque).
    lower: Option<Arc<dyn Inode>>,
    /// What each name looked up or changed so far resolves to.
    entries: HashMap<Vec<u8>, Slot>,
    /// The lower directory's full listing, fetched once.
    listing: Option<Arc<Vec<RawDirent>>>,
    /// The directory was removed: nothing can be created in it.
    removed: bool,
}

/// One cached name.
#[derive(Clone)]
enum Slot {
    /// No such name (never existed below, or removed: a whiteout).
    Missing,
    /// The node, and the order it appeared in the upper layer (0 for
    /// names found in the lower layer).
    Present(Arc<OvNode>, u64),
}

impl Slot {
    fn node(&self) -> Option<Arc<OvNode>> {
        match self {
            Slot::Missing => None,
            Slot::Present(n, _) => Some(n.clone()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update leaves the state consistent before it could panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes all of `buf` at `off` into `fd`.
fn pwrite_all(fd: RawFd, mut buf: &[u8], mut off: i64) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: pwrite reads at most buf.len() bytes from `buf`.
        let n = retry(|| unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) })?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        buf = &buf[n..];
        off += n as i64;
    }
    Ok(())
}

/// Copies a lower regular file's bytes into `memfd` (which is empty).
fn copy_data(lower: &dyn Inode, memfd: RawFd) -> Result<(), Errno> {
    let src = lower.open(libc::O_RDONLY)?;
    let mut off: u64 = 0;
    if let Some(fd) = src.host_fd() {
        // Kernel to kernel when the lower file has a host fd.
        let mut pos: i64 = 0;
        loop {
            // SAFETY: sendfile between two fds we hold; `pos` is ours.
            let n = unsafe { libc::sendfile(memfd, fd, &mut pos, 1 << 30) };
            if n > 0 {
                continue;
            }
            if n == 0 {
                return Ok(());
            }
            match Errno::last() {
                Errno::EINTR => continue,
                e if pos > 0 => return Err(e),
                // Not supported for this pair: fall back to copying.
                _ => break,
            }
        }
    }
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf, off, false)?;
        if n == 0 {
            return Ok(());
        }
        pwrite_all(memfd, &buf[..n], off as i64)?;
        off += n as u64;
    }
}

impl OverlayFs {
    /// An overlay over `lower_root` (the root of `lower_fs`) with an empty
    /// upper layer.
    pub fn new(lower_root: Arc<dyn Inode>, lower_fs: Arc<dyn FileSystem>) -> Result<Arc<OverlayFs>, Errno> {
        let st = lower_root.stat()?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        let inner = Arc::new(Inner {
            dev: super::synthetic::anon_dev(),
            lower_dev: st.st_dev,
            lower_fs,
            ns: Mutex::new(()),
            seq: AtomicU64::new(1),
        });
        let root = OvNode::from_lower(&inner, lower_root)?;
        Ok(Arc::new(OverlayFs { inner, root }))
    }

    /// The root directory.
    pub fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }
}

impl FileSystem for OverlayFs {
    fn statfs(&self) -> Result<Statfs, Errno> {
        // The lower filesystem's figures, but writable.
        let mut s = self.inner.lower_fs.statfs()?;
        let flags = super::statfs_flags(&s) & !(libc::ST_RDONLY as i64);
        super::set_statfs_flags(&mut s, flags);
        Ok(s)
    }
}

impl Inner {
    /// The inode number a lower node is shown with.
    fn lower_ino(&self, st: &Stat) -> u64 {
        self.lower_ino_on(st.st_dev, st.st_ino)
    }

    /// The inode number shown for lower inode `ino` of host device `dev`.
    fn lower_ino_on(&self, dev: u64, ino: u64) -> u64 {
        if dev == self.lower_dev {
            ino
        } else {
            // Another host filesystem under the root: keep its numbers apart.
            let mix = (dev.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 50) & 0x3fff;
            ino ^ (mix << 48)
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn ns(&self) -> MutexGuard<'_, ()> {
        lock(&self.ns)
    }
}

impl Meta {
    fn from_stat(st: &Stat) -> Meta {
        Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            nlink: st.st_nlink,
            rdev: st.st_rdev,
            size: st.st_size,
            atime: (st.st_atime, st.st_atime_nsec),
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
            linkable: false,
        }
    }

    fn new(mode: u32, owner: (u32, u32)) -> Meta {
        let t = now();
        Meta {
            mode,
            uid: owner.0,
            gid: owner.1,
            nlink: if mode & libc::S_IFMT == libc::S_IFDIR { 2 } else { 1 },
            rdev: 0,
            size: 0,
            atime: t,
            mtime: t,
            ctime: t,
            linkable: false,
        }
    }
}

impl OvNode {
    fn build(inner: &Arc<Inner>, ino: u64, fmt: u32, state: NodeState, dir: Option<DirState>) -> Arc<OvNode> {
        Arc::new_cyclic(|me| OvNode {
            fs: Arc::downgrade(inner),
            me: me.clone(),
            ino,
            fmt,
            state: Mutex::new(state),
            dir: dir.map(Mutex::new),
        })
    }

    /// The node for a name found in the lower layer.
    fn from_lower(inner: &Arc<Inner>, lower: Arc<dyn Inode>) -> Result<Arc<OvNode>, Errno> {
        let st = lower.stat()?;
        let fmt = st.st_mode & libc::S_IFMT;
        let dir = (fmt == libc::S_IFDIR).then(|| DirState {
            lower: Some(lower.clone()),
            entries: HashMap::new(),
            listing: None,
            removed: false,
        });
        let state = NodeState {
            lower: Some(lower),
            upper: None,
        };
        Ok(OvNode::build(inner, inner.lower_ino(&st), fmt, state, dir))
    }

    /// A node born in the upper layer.
    fn new_upper(inner: &Arc<Inner>, mode: u32, owner: (u32, u32), data: UpperData) -> Arc<OvNode> {
        let fmt = mode & libc::S_IFMT;
        let mut meta = Meta::new(mode, owner);
        if let UpperData::Link(t) = &data {
            meta.size = t.len() as i64;
        }
        let dir = (fmt == libc::S_IFDIR).then(|| DirState {
            lower: None,
            entries: HashMap::new(),
            listing: None,
            removed: false,
        });
        let state = NodeState {
            lower: None,
            upper: Some(Upper { meta, data }),
        };
        OvNode::build(inner, UPPER_INO_BASE | next_ino(), fmt, state, dir)
    }

    fn fs(&self) -> Result<Arc<Inner>, Errno> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }

    fn me(&self) -> Result<Arc<OvNode>, Errno> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    fn is_dir(&self) -> bool {
        self.dir.is_some()
    }

    fn state(&self) -> MutexGuard<'_, NodeState> {
        lock(&self.state)
    }

    fn dir_state(&self) -> Result<MutexGuard<'_, DirState>, Errno> {
        self.dir.as_ref().map(lock).ok_or(Errno::ENOTDIR)
    }

    /// Moves the node into the upper layer if it is not there yet: its
    /// attributes, and a regular file's bytes or a symlink's target.
    /// Returns the state, locked.
    fn copy_up(&self) -> Result<MutexGuard<'_, NodeState>, Errno> {
        let mut s = self.state();
        if s.upper.is_some() {
            return Ok(s);
        }
        let lower = s.lower.clone().ok_or(Errno::EIO)?;
        let st = lower.stat()?;
        let mut meta = Meta::from_stat(&st);
        let data = match self.fmt {
            libc::S_IFREG => {
                let fd = new_memfd(c"rvisor-overlay")?;
                copy_data(lower.as_ref(), fd.as_raw_fd())?;
                UpperData::File(Arc::new(fd))
            }
            libc::S_IFLNK => UpperData::Link(lower.readlink()?),
            _ => UpperData::None,
        };
        if self.fmt != libc::S_IFDIR {
            // Hard links of the lower layer are not carried up (as overlayfs
            // without an index): the copy has this one name.
            meta.nlink = 1;
        }
        s.upper = Some(Upper { meta, data });
        Ok(s)
    }

    /// The memfd of a regular file, copying it up first.
    fn upper_fd(&self) -> Result<Arc<OwnedFd>, Errno> {
        if self.fmt != libc::S_IFREG {
            return Err(Errno::EINVAL);
        }
        let s = self.copy_up()?;
        match s.upper.as_ref().map(|u| &u.data) {
            Some(UpperData::File(fd)) => Ok(fd.clone()),
            _ => Err(Errno::EIO),
        }
    }

    /// Applies `f` to the upper attributes (copying up first).
    fn with_meta<R>(&self, f: impl FnOnce(&mut Meta) -> R) -> Result<R, Errno> {
        let mut s = self.copy_up()?;
        let up = s.upper.as_mut().ok_or(Errno::EIO)?;
        Ok(f(&mut up.meta))
    }

    /// The directory's contents changed: mtime and ctime move.
    fn touch_dir(&self, nlink_delta: i64) -> Result<(), Errno> {
        let t = now();
        self.with_meta(|m| {
            m.mtime = t;
            m.ctime = t;
            m.nlink = m.nlink.saturating_add_signed(nlink_delta);
        })
    }

    /// One name fewer: the upper link count drops (lower-only nodes have
    /// no count of their own to change).
    fn drop_link(&self) {
        let mut s = self.state();
        if let Some(up) = s.upper.as_mut() {
            up.meta.ctime = now();
            if self.fmt == libc::S_IFDIR {
                up.meta.nlink = 0;
            } else {
                up.meta.nlink = up.meta.nlink.saturating_sub(1);
            }
        }
    }

    /// Resolves `names[0]` here, prefetching `names[1..]` below it from the
    /// lower layer in the same gofer round trip.
    fn child(&self, names: &[&[u8]]) -> Result<Option<Arc<OvNode>>, Errno> {
        let Some(first) = names.first() else {
            return Ok(None);
        };
        let lower = {
            let d = self.dir_state()?;
            if let Some(slot) = d.entries.get(*first) {
                return Ok(slot.node());
            }
            match &d.lower {
                Some(l) => l.clone(),
                None => return Ok(None),
            }
        };
        let inner = self.fs()?;
        let found = match lower.lookup(names) {
            Ok(v) => v,
            Err(Errno::ENOENT) => Vec::new(),
            Err(e) => return Err(e),
        };
        // Cache names[i] -> found[i] in the directory reached so far, while
        // that directory is one this lookup made (anything else may have
        // been changed since).
        let mut parent = self.me()?;
        let mut result = None;
        let mut complete = true;
        let mut depth = 0usize;
        for (i, lnode) in found.into_iter().take(names.len()).enumerate() {
            let fresh = OvNode::from_lower(&inner, lnode)?;
            let node = {
                let mut d = parent.dir_state()?;
                d.entries
                    .entry(names[i].to_vec())
                    .or_insert_with(|| Slot::Present(fresh.clone(), 0))
                    .node()
            };
            let ours = node.as_ref().is_some_and(|n| Arc::ptr_eq(n, &fresh));
            if i == 0 {
                result = node;
            }
            if !ours {
                complete = false;
                break;
            }
            parent = fresh;
            depth = i + 1;
        }
        if complete && depth < names.len() {
            // The lower walk stopped at a missing name (unless it stopped
            // after a non-directory, which has no entries): remember it.
            if let Some(dir) = &parent.dir {
                lock(dir).entries.entry(names[depth].to_vec()).or_insert(Slot::Missing);
            }
        }
        Ok(result)
    }
}

impl OvNode {
    /// The lower directory's listing (without "." and ".."), fetched once.
    fn lower_listing(&self) -> Result<Option<Arc<Vec<RawDirent>>>, Errno> {
        let lower = {
            let d = self.dir_state()?;
            if let Some(l) = &d.listing {
                return Ok(Some(l.clone()));
            }
            match &d.lower {
                Some(l) => l.clone(),
                None => return Ok(None),
            }
        };
        let mut all = Vec::new();
        let mut cookie = 0;
        loop {
            let batch = lower.readdir(cookie, LOWER_CHUNK)?;
            let Some(last) = batch.last() else { break };
            cookie = last.cookie;
            all.extend(batch.into_iter().filter(|e| e.name != b"." && e.name != b".."));
        }
        let mut d = self.dir_state()?;
        Ok(Some(d.listing.get_or_insert_with(|| Arc::new(all)).clone()))
    }

    /// Whether the merged directory has no entries.
    fn is_empty_dir(&self) -> Result<bool, Errno> {
        Ok(self.readdir(0, 1)?.is_empty())
    }

    /// Makes sure `name` has an entry here (looking it up below if needed)
    /// and returns what it resolves to.
    fn resolve(&self, name: &[u8]) -> Result<Option<Arc<OvNode>>, Errno> {
        self.child(&[name])
    }

    /// Binds the new node `node` to the free name `name` (EEXIST if taken,
    /// ENOENT in a removed directory). Called with the namespace lock held.
    fn bind_new(&self, name: &[u8], node: Arc<OvNode>, seq: u64) -> Result<(), Errno> {
        if self.resolve(name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        let mut d = self.dir_state()?;
        if d.removed {
            return Err(Errno::ENOENT);
        }
        if matches!(d.entries.get(name), Some(Slot::Present(..))) {
            return Err(Errno::EEXIST);
        }
        d.entries.insert(name.to_vec(), Slot::Present(node, seq));
        Ok(())
    }

    /// Forgets `name` here: a whiteout over the lower directory, or no entry
    /// at all when there is no lower directory. Namespace lock held.
    fn unbind(&self, name: &[u8]) -> Result<(), Errno> {
        let mut d = self.dir_state()?;
        if d.lower.is_some() {
            d.entries.insert(name.to_vec(), Slot::Missing);
        } else {
            d.entries.remove(name);
        }
        Ok(())
    }

    /// Creates an upper node named `name` here.
    fn add_upper(&self, name: &[u8], mode: u32, owner: (u32, u32), data: UpperData) -> Result<Arc<OvNode>, Errno> {
        let inner = self.fs()?;
        let node = OvNode::new_upper(&inner, mode, owner, data);
        let _ns = inner.ns();
        self.bind_new(name, node.clone(), inner.next_seq())?;
        self.touch_dir(if node.is_dir() { 1 } else { 0 })?;
        Ok(node)
    }

    /// The overlay node behind another inode of this filesystem (EXDEV for
    /// any other filesystem).
    fn same_fs(&self, other: &Arc<dyn Inode>) -> Result<Arc<OvNode>, Errno> {
        let node = other
            .as_any()
            .and_then(|a| a.downcast_ref::<OvNode>())
            .ok_or(Errno::EXDEV)?;
        if !Weak::ptr_eq(&node.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        node.me()
    }
}

impl Inode for OvNode {
    fn stat(&self) -> Result<Stat, Errno> {
        let inner = self.fs()?;
        let s = self.state();
        let Some(up) = &s.upper else {
            let lower = s.lower.clone().ok_or(Errno::EIO)?;
            drop(s);
            let mut st = lower.stat()?;
            st.st_dev = inner.dev;
            st.st_ino = self.ino;
            return Ok(st);
        };
        let m = up.meta;
        let mut st = Stat::zeroed();
        st.st_dev = inner.dev;
        st.st_ino = self.ino;
        st.st_mode = m.mode;
        st.st_nlink = m.nlink;
        st.st_uid = m.uid;
        st.st_gid = m.gid;
        st.st_rdev = m.rdev;
        st.st_blksize = 4096;
        (st.st_atime, st.st_atime_nsec) = m.atime;
        (st.st_mtime, st.st_mtime_nsec) = m.mtime;
        (st.st_ctime, st.st_ctime_nsec) = m.ctime;
        match &up.data {
            UpperData::File(fd) => {
                let mut host = Stat::zeroed();
                // SAFETY: fstat writes one `struct stat` into `host`.
                if unsafe { libc::fstat(fd.as_raw_fd(), &mut host) } < 0 {
                    return Err(Errno::last());
                }
                st.st_size = host.st_size;
                st.st_blocks = host.st_blocks;
            }
            UpperData::Link(t) => st.st_size = t.len() as i64,
            UpperData::None if self.fmt != libc::S_IFDIR => {}
            UpperData::None => {
                st.st_size = if m.size > 0 { m.size } else { 4096 };
                st.st_blocks = (st.st_size + 511) / 512;
            }
        }
        Ok(st)
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        let mut out: Vec<Arc<dyn Inode>> = Vec::new();
        let mut dir = self.me()?;
        for i in 0..names.len() {
            let Some(node) = dir.child(&names[i..])? else {
                break;
            };
            out.push(node.clone());
            if !node.is_dir() {
                break;
            }
            dir = node;
        }
        Ok(out)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if self.fmt != libc::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        let s = self.state();
        if let Some(Upper {
            data: UpperData::Link(t),
            ..
        }) = &s.upper
        {
            return Ok(t.clone());
        }
        let lower = s.lower.clone().ok_or(Errno::EIO)?;
        drop(s);
        lower.readlink()
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        let listing = self.lower_listing()?;
        let inner = self.fs()?;
        let d = self.dir_state()?;
        // Lower entries are numbered as stat numbers them (by the device of
        // the directory, which its entries share but for mountpoints).
        let lower_dev = match (&listing, &d.lower) {
            (Some(_), Some(l)) => l.stat()?.st_dev,
            _ => inner.lower_dev,
        };
        let mut out = Vec::new();
        if let Some(list) = &listing {
            // Lower cookies are positions: resume right after `cookie`.
            let start = usize::try_from(cookie).unwrap_or(usize::MAX);
            for (i, e) in list.iter().enumerate().skip(start) {
                let c = i as u64 + 1;
                if out.len() >= max {
                    break;
                }
                match d.entries.get(&e.name) {
                    Some(Slot::Missing) => {}
                    Some(Slot::Present(n, _)) => out.push(RawDirent {
                        ino: n.ino,
                        cookie: c,
                        dtype: dtype_of(n.fmt),
                        name: e.name.clone(),
                    }),
                    None => out.push(RawDirent {
                        ino: inner.lower_ino_on(lower_dev, e.ino),
                        cookie: c,
                        dtype: e.dtype,
                        name: e.name.clone(),
                    }),
                }
            }
        }
        if out.len() >= max {
            return Ok(out);
        }
        // Entries made in the upper layer (seq > 0) come after the lower
        // listing, unless the lower layer has the name too (then they were
        // listed in its place above). Listings of untouched directories
        // never get here with candidates, so they pay no name set.
        let mut upper: Vec<(u64, &Vec<u8>, &Arc<OvNode>)> = d
            .entries
            .iter()
            .filter_map(|(name, slot)| match slot {
                Slot::Present(n, seq) if *seq > 0 && UPPER_COOKIE_BASE + *seq > cookie => Some((*seq, name, n)),
                _ => None,
            })
            .collect();
        if !upper.is_empty() {
            if let Some(list) = &listing {
                let lower_names: HashSet<&[u8]> = list.iter().map(|e| e.name.as_slice()).collect();
                upper.retain(|(_, name, _)| !lower_names.contains(name.as_slice()));
            }
        }
        upper.sort_unstable_by_key(|e| e.0);
        for (seq, name, n) in upper {
            let c = UPPER_COOKIE_BASE + seq;
            if c <= cookie {
                continue;
            }
            if out.len() >= max {
                break;
            }
            out.push(RawDirent {
                ino: n.ino,
                cookie: c,
                dtype: dtype_of(n.fmt),
                name: name.clone(),
            });
        }
        Ok(out)
    }

    fn open(&self, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        let node = self.me()?;
        if self.fmt == libc::S_IFIFO {
            return super::fifo::open((self.fs()?.dev, self.ino), flags, node);
        }
        if self.fmt == libc::S_IFCHR || self.fmt == libc::S_IFBLK {
            // Upper or lower, a device node is only its number.
            return super::dev::open_device(node, flags);
        }
        if self.fmt == libc::S_IFREG {
            let writing = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
            if writing {
                let fd = self.upper_fd()?;
                let file = OvFile { node, fd };
                if flags & libc::O_TRUNC != 0 {
                    file.set_size(0)?;
                }
                return Ok(Box::new(file));
            }
        }
        let s = self.state();
        if let Some(Upper {
            data: UpperData::File(fd),
            ..
        }) = &s.upper
        {
            let fd = fd.clone();
            drop(s);
            return Ok(Box::new(OvFile { node, fd }));
        }
        let lower = s.lower.clone().ok_or(Errno::ENXIO)?;
        drop(s);
        let inner = lower.open(flags)?;
        Ok(Box::new(LowerFile { inner, node }))
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn create(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        let data = UpperData::File(Arc::new(new_memfd(c"rvisor-overlay")?));
        let node = self.add_upper(name, libc::S_IFREG | (mode & 0o7777), owner, data)?;
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(), Errno> {
        self.add_upper(name, libc::S_IFDIR | (mode & 0o7777), owner, UpperData::None)
            .map(|_| ())
    }

    fn symlink(&self, name: &[u8], target: &[u8], owner: (u32, u32)) -> Result<(), Errno> {
        self.add_upper(name, libc::S_IFLNK | 0o777, owner, UpperData::Link(target.to_vec()))
            .map(|_| ())
    }

    fn tmpfile(&self, mode: u32, owner: (u32, u32), linkable: bool) -> Result<Arc<dyn Inode>, Errno> {
        let inner = self.fs()?;
        if self.dir_state()?.removed {
            return Err(Errno::ENOENT);
        }
        let data = UpperData::File(Arc::new(new_memfd(c"rvisor-overlay")?));
        let node = OvNode::new_upper(&inner, libc::S_IFREG | (mode & 0o7777), owner, data);
        node.with_meta(|m| {
            m.nlink = 0;
            m.linkable = linkable;
        })?;
        Ok(node)
    }

    fn mknod(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        let fmt = mode & libc::S_IFMT;
        if fmt != libc::S_IFIFO && fmt != libc::S_IFSOCK {
            return Err(Errno::EPERM);
        }
        let node = self.add_upper(name, fmt | (mode & 0o7777), owner, UpperData::None)?;
        Ok(node)
    }

    fn mknod_device(&self, name: &[u8], mode: u32, owner: (u32, u32), rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        let fmt = mode & libc::S_IFMT;
        if fmt != libc::S_IFCHR && fmt != libc::S_IFBLK {
            return Err(Errno::EINVAL);
        }
        // Born in the upper layer: attributes only, the number in its meta.
        let inner = self.fs()?;
        let node = OvNode::new_upper(&inner, fmt | (mode & 0o7777), owner, UpperData::None);
        if let Some(up) = node.state().upper.as_mut() {
            up.meta.rdev = rdev;
        }
        let _ns = inner.ns();
        self.bind_new(name, node.clone(), inner.next_seq())?;
        self.touch_dir(0)?;
        Ok(node)
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        let inner = self.fs()?;
        let _ns = inner.ns();
        let node = self.resolve(name)?.ok_or(Errno::ENOENT)?;
        if node.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.unbind(name)?;
        node.drop_link();
        self.touch_dir(0)
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        let inner = self.fs()?;
        let _ns = inner.ns();
        let node = self.resolve(name)?.ok_or(Errno::ENOENT)?;
        if !node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !node.is_empty_dir()? {
            return Err(Errno::ENOTEMPTY);
        }
        node.dir_state()?.removed = true;
        self.unbind(name)?;
        node.drop_link();
        self.touch_dir(-1)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let node = self.same_fs(target)?;
        if node.is_dir() {
            return Err(Errno::EPERM);
        }
        // Two names share one node: its link count must be its own.
        drop(node.copy_up()?);
        let inner = self.fs()?;
        let _ns = inner.ns();
        if node.with_meta(|m| m.nlink == 0 && !m.linkable)? {
            return Err(Errno::ENOENT);
        }
        self.bind_new(name, node.clone(), inner.next_seq())?;
        let t = now();
        node.with_meta(|m| {
            m.nlink += 1;
            m.ctime = t;
            m.linkable = false;
        })?;
        self.touch_dir(0)
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<(), Errno> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 {
            return Err(Errno::EINVAL);
        }
        let nd = self.same_fs(new_dir)?;
        let inner = self.fs()?;
        let _ns = inner.ns();
        let src = self.resolve(name)?.ok_or(Errno::ENOENT)?;
        let dst = nd.resolve(new_name)?;
        if nd.dir_state()?.removed {
            return Err(Errno::ENOENT);
        }
        let same_dir = Arc::ptr_eq(&nd, &self.me()?);
        if flags & RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            self.dir_state()?
                .entries
                .insert(name.to_vec(), Slot::Present(dst.clone(), inner.next_seq()));
            nd.dir_state()?
                .entries
                .insert(new_name.to_vec(), Slot::Present(src.clone(), inner.next_seq()));
            if !same_dir && src.is_dir() != dst.is_dir() {
                let d = if src.is_dir() { 1 } else { -1 };
                self.touch_dir(-d)?;
                nd.touch_dir(d)?;
            } else {
                self.touch_dir(0)?;
                nd.touch_dir(0)?;
            }
            return Ok(());
        }
        if let Some(dst) = &dst {
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            if Arc::ptr_eq(dst, &src) {
                return Ok(());
            }
            match (src.is_dir(), dst.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !dst.is_empty_dir()? => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        self.unbind(name)?;
        nd.dir_state()?
            .entries
            .insert(new_name.to_vec(), Slot::Present(src.clone(), inner.next_seq()));
        let replaced_dir = dst.as_ref().is_some_and(|d| d.is_dir());
        if let Some(dst) = &dst {
            if let Some(dir) = &dst.dir {
                lock(dir).removed = true;
            }
            dst.drop_link();
        }
        {
            let mut s = src.state();
            if let Some(up) = s.upper.as_mut() {
                up.meta.ctime = now();
            }
        }
        let moved_dir = src.is_dir() && !same_dir;
        self.touch_dir(if moved_dir { -1 } else { 0 })?;
        nd.touch_dir(i64::from(moved_dir) - i64::from(replaced_dir))
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        let fd = self.upper_fd()?;
        OvFile { node: self.me()?, fd }.set_size(size)
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let t = now();
        self.with_meta(|m| {
            attr.apply(&mut m.mode, &mut m.uid, &mut m.gid, &mut m.atime, &mut m.mtime);
            m.ctime = t;
        })
    }
}

/// An open regular file of the upper layer (new or copied up).
pub struct OvFile {
    node: Arc<OvNode>,
    fd: Arc<OwnedFd>,
}

impl OvFile {
    fn set_size(&self, size: u64) -> Result<(), Errno> {
        let len = i64::try_from(size).map_err(|_| Errno::EFBIG)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: ftruncate on our own memfd; no memory is passed.
        retry(|| unsafe { libc::ftruncate(fd, len) } as isize)?;
        self.modified()
    }

    fn modified(&self) -> Result<(), Errno> {
        let t = now();
        self.node.with_meta(|m| {
            m.mtime = t;
            m.ctime = t;
        })
    }
}

impl FileOps for OvFile {
    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: pread writes at most buf.len() bytes into `buf`.
        retry(|| unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) })
    }

    fn write(&self, buf: &[u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let off = i64::try_from(offset).map_err(|_| Errno::EFBIG)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: pwrite reads at most buf.len() bytes from `buf`.
        let n = retry(|| unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) })?;
        if n > 0 {
            self.modified()?;
        }
        Ok(n)
    }

    fn host_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }
}

/// A lower file opened for reading: the gofer's file, shown with the
/// overlay's device and inode number.
pub struct LowerFile {
    inner: Box<dyn FileOps>,
    node: Arc<OvNode>,
}

impl FileOps for LowerFile {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = self.inner.stat()?;
        st.st_dev = self.node.fs()?.dev;
        st.st_ino = self.node.ino;
        Ok(st)
    }

    fn seekable(&self) -> bool {
        self.inner.seekable()
    }

    fn read(&self, buf: &mut [u8], offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.inner.read(buf, offset, nonblock)
    }

    fn write(&self, buf: &[u8], offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.inner.write(buf, offset, nonblock)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.inner.readiness(mask)
    }

    fn wait_queue(&self) -> Option<&crate::kernel::wait::WaitQueue> {
        self.inner.wait_queue()
    }

    fn host_fd(&self) -> Option<RawFd> {
        self.inner.host_fd()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fs::gofer::GoferFs;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    /// A host directory served read-only by a real gofer, and an overlay
    /// over it.
    struct Fixture {
        dir: PathBuf,
        fs: Arc<OverlayFs>,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn fixture(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("rvisor-overlay-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc/sub")).unwrap();
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        std::fs::write(dir.join("etc/passwd"), b"root:x:0:0\n").unwrap();
        std::fs::write(dir.join("etc/sub/deep"), b"deep").unwrap();
        std::fs::write(dir.join("etc/hosts"), b"127.0.0.1 localhost\n").unwrap();
        std::fs::set_permissions(dir.join("etc/hosts"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink("etc/passwd", dir.join("lnk")).unwrap();
        let root = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(&dir)
            .unwrap();
        let (a, b) = gofer::socketpair().unwrap();
        let root_fd: OwnedFd = root.into();
        std::thread::spawn(move || gofer::serve(root_fd, b, true));
        let client = Arc::new(gofer::client::Client::new(a));
        let (lower_fs, lower_root) = GoferFs::new_root(client).unwrap();
        let fs = OverlayFs::new(lower_root, lower_fs).unwrap();
        Fixture { dir, fs }
    }

    fn get(dir: &Arc<dyn Inode>, path: &str) -> Option<Arc<dyn Inode>> {
        let names: Vec<&[u8]> = path.split('/').map(str::as_bytes).collect();
        let nodes = dir.lookup(&names).unwrap();
        (nodes.len() == names.len()).then(|| nodes.into_iter().last()).flatten()
    }

    fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
        let mut out = Vec::new();
        let mut cookie = 0;
        loop {
            // Small chunks exercise resumption.
            let batch = dir.readdir(cookie, 2).unwrap();
            let Some(last) = batch.last() else { break };
            cookie = last.cookie;
            out.extend(batch.into_iter().map(|e| String::from_utf8(e.name).unwrap()));
        }
        out.sort();
        out
    }

    fn read_all(node: &Arc<dyn Inode>) -> Vec<u8> {
        let f = node.open(libc::O_RDONLY).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = f.read(&mut buf, 0, false).unwrap();
        buf.truncate(n);
        buf
    }

    fn host(dir: &Path, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(dir.join(rel)).ok()
    }

    #[test]
    fn lower_nodes_keep_inode_numbers_on_one_device() {
        let f = fixture("ino");
        let root = f.fs.root();
        let dev = root.stat().unwrap().st_dev;
        let passwd = get(&root, "etc/passwd").unwrap();
        let st = passwd.stat().unwrap();
        let meta = std::fs::metadata(f.dir.join("etc/passwd")).unwrap();
        assert_eq!(st.st_ino, meta.ino());
        assert_eq!(st.st_dev, dev);
        assert_ne!(dev, meta.dev());
        assert_eq!(st.st_size, 11);
        // The same node on every lookup, and the open file agrees with stat.
        let again = get(&root, "etc/passwd").unwrap();
        assert_eq!(again.stat().unwrap().st_ino, st.st_ino);
        let file = passwd.open(libc::O_RDONLY).unwrap();
        assert_eq!(
            (file.stat().unwrap().st_dev, file.stat().unwrap().st_ino),
            (dev, st.st_ino)
        );
        assert!(file.host_fd().is_some());
        assert_eq!(get(&root, "lnk").unwrap().readlink().unwrap(), b"etc/passwd");
        assert!(get(&root, "etc/nothere").is_none());
        assert_eq!(f.fs.statfs().unwrap().f_namelen, 255);
    }

    #[test]
    fn new_files_live_in_memory_only() {
        let f = fixture("create");
        let root = f.fs.root();
        let etc = get(&root, "etc").unwrap();
        let node = etc.create(b"new", 0o600, (1000, 1000)).unwrap();
        assert_eq!(etc.create(b"new", 0o600, (0, 0)).err(), Some(Errno::EEXIST));
        assert_eq!(etc.create(b"passwd", 0o600, (0, 0)).err(), Some(Errno::EEXIST));
        let file = node.open(libc::O_RDWR).unwrap();
        assert_eq!(file.write(b"hello", 0, false), Ok(5));
        assert_eq!(read_all(&get(&root, "etc/new").unwrap()), b"hello");
        let st = node.stat().unwrap();
        assert_eq!((st.st_mode, st.st_uid, st.st_size), (libc::S_IFREG | 0o600, 1000, 5));
        assert!(st.st_ino >= UPPER_INO_BASE);
        assert_eq!(host(&f.dir, "etc/new"), None);
        // Directories and symlinks too, nested.
        root.mkdir(b"a", 0o755, (0, 0)).unwrap();
        let a = get(&root, "a").unwrap();
        a.mkdir(b"b", 0o700, (0, 0)).unwrap();
        get(&root, "a/b")
            .unwrap()
            .symlink(b"l", b"/etc/passwd", (0, 0))
            .unwrap();
        let l = get(&root, "a/b/l").unwrap();
        assert_eq!(l.readlink().unwrap(), b"/etc/passwd");
        assert_eq!(l.stat().unwrap().st_mode, libc::S_IFLNK | 0o777);
        assert_eq!(a.stat().unwrap().st_nlink, 3);
        assert!(!f.dir.join("a").exists());
    }

    #[test]
    fn writing_a_lower_file_copies_it_up() {
        let f = fixture("copyup");
        let root = f.fs.root();
        let passwd = get(&root, "etc/passwd").unwrap();
        let ino = passwd.stat().unwrap().st_ino;
        let reader = passwd.open(libc::O_RDONLY).unwrap();
        let w = passwd.open(libc::O_WRONLY).unwrap();
        // The old content is there, the write lands in memory.
        assert_eq!(w.write(b"ROOT", 0, false), Ok(4));
        assert_eq!(read_all(&passwd), b"ROOT:x:0:0\n");
        assert_eq!(passwd.stat().unwrap().st_ino, ino);
        // Opened after the copy-up, even read-only, it maps the memfd.
        let fstat_ino = |fd: RawFd| {
            let mut st = Stat::zeroed();
            // SAFETY: fstat writes one `struct stat` into `st`.
            assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
            st.st_ino
        };
        let later = passwd.open(libc::O_RDONLY).unwrap();
        assert_eq!(fstat_ino(later.host_fd().unwrap()), fstat_ino(w.host_fd().unwrap()));
        assert_ne!(fstat_ino(reader.host_fd().unwrap()), fstat_ino(w.host_fd().unwrap()));
        // A reader from before the copy-up keeps the lower bytes; the host too.
        let mut buf = [0u8; 4];
        assert_eq!(reader.read(&mut buf, 0, false), Ok(4));
        assert_eq!(&buf, b"root");
        assert_eq!(host(&f.dir, "etc/passwd").unwrap(), b"root:x:0:0\n");
        // O_TRUNC of another lower file empties the copy only.
        let hosts = get(&root, "etc/hosts").unwrap();
        let t = hosts.open(libc::O_WRONLY | libc::O_TRUNC).unwrap();
        assert_eq!(t.stat().unwrap().st_size, 0);
        assert_eq!(host(&f.dir, "etc/hosts").unwrap(), b"127.0.0.1 localhost\n");
        // truncate and chmod copy up as well, attributes preserved.
        let deep = get(&root, "etc/sub/deep").unwrap();
        deep.truncate(2).unwrap();
        assert_eq!(read_all(&deep), b"de");
        let before = hosts.stat().unwrap();
        let sub = get(&root, "etc/sub").unwrap();
        let sub_ino = sub.stat().unwrap().st_ino;
        sub.setattr(&SetAttr {
            mode: Some(0o700),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(sub.stat().unwrap().st_mode, libc::S_IFDIR | 0o700);
        assert_eq!(sub.stat().unwrap().st_ino, sub_ino);
        assert_eq!(before.st_mode, libc::S_IFREG | 0o644);
        assert_eq!(
            std::fs::metadata(f.dir.join("etc/sub")).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(host(&f.dir, "etc/sub/deep").unwrap(), b"deep");
    }

    #[test]
    fn removing_lower_names_leaves_whiteouts() {
        let f = fixture("whiteout");
        let root = f.fs.root();
        let etc = get(&root, "etc").unwrap();
        assert_eq!(names(&etc), ["hosts", "passwd", "sub"]);
        etc.unlink(b"passwd").unwrap();
        assert!(get(&root, "etc/passwd").is_none());
        assert_eq!(etc.unlink(b"passwd"), Err(Errno::ENOENT));
        assert_eq!(names(&etc), ["hosts", "sub"]);
        assert!(f.dir.join("etc/passwd").exists());
        assert_eq!(etc.rmdir(b"sub"), Err(Errno::ENOTEMPTY));
        assert_eq!(etc.unlink(b"sub"), Err(Errno::EISDIR));
        get(&root, "etc/sub").unwrap().unlink(b"deep").unwrap();
        etc.rmdir(b"sub").unwrap();
        assert!(get(&root, "etc/sub").is_none());
        // A directory made where a lower one was is opaque.
        etc.mkdir(b"sub", 0o755, (0, 0)).unwrap();
        assert!(names(&get(&root, "etc/sub").unwrap()).is_empty());
        assert!(get(&root, "etc/sub/deep").is_none());
        // A new file over a whiteout shows the new content.
        etc.create(b"passwd", 0o644, (0, 0)).unwrap();
        assert_eq!(read_all(&get(&root, "etc/passwd").unwrap()), b"");
        assert_eq!(names(&etc), ["hosts", "passwd", "sub"]);
        assert!(f.dir.join("etc/sub/deep").exists());
        // An empty lower directory can go.
        root.rmdir(b"empty").unwrap();
        assert!(!names(&root).contains(&"empty".to_string()));
    }

    #[test]
    fn rename_and_link() {
        let f = fixture("rename");
        let root = f.fs.root();
        let etc = get(&root, "etc").unwrap();
        let ino = get(&root, "etc/passwd").unwrap().stat().unwrap().st_ino;
        etc.rename(b"passwd", &root, b"moved", 0).unwrap();
        assert!(get(&root, "etc/passwd").is_none());
        let moved = get(&root, "moved").unwrap();
        assert_eq!(read_all(&moved), b"root:x:0:0\n");
        assert_eq!(moved.stat().unwrap().st_ino, ino);
        // A lower directory moves with its contents.
        etc.rename(b"sub", &root, b"sub2", 0).unwrap();
        assert_eq!(read_all(&get(&root, "sub2/deep").unwrap()), b"deep");
        assert_eq!(names(&root), ["empty", "etc", "lnk", "moved", "sub2"]);
        // Replacing, and the rules.
        assert_eq!(root.rename(b"moved", &root, b"etc", 0), Err(Errno::EISDIR));
        assert_eq!(root.rename(b"etc", &root, b"moved", 0), Err(Errno::ENOTDIR));
        assert_eq!(root.rename(b"etc", &root, b"sub2", 0), Err(Errno::ENOTEMPTY));
        assert_eq!(
            root.rename(b"moved", &root, b"lnk", RENAME_NOREPLACE),
            Err(Errno::EEXIST)
        );
        root.rename(b"moved", &root, b"lnk", 0).unwrap();
        assert_eq!(read_all(&get(&root, "lnk").unwrap()), b"root:x:0:0\n");
        root.rename(b"lnk", &etc, b"hosts", RENAME_EXCHANGE).unwrap();
        assert_eq!(read_all(&get(&root, "lnk").unwrap()), b"127.0.0.1 localhost\n");
        // Hard link of a lower file: one node, two names.
        let hosts = get(&root, "etc/hosts").unwrap();
        root.link(b"hl", &hosts).unwrap();
        let hl = get(&root, "hl").unwrap();
        assert_eq!(hl.stat().unwrap().st_ino, hosts.stat().unwrap().st_ino);
        assert_eq!(hl.stat().unwrap().st_nlink, 2);
        hl.open(libc::O_WRONLY).unwrap().write(b"X", 0, false).unwrap();
        assert_eq!(read_all(&hosts)[0], b'X');
        // Another filesystem's node is EXDEV.
        let other = super::super::shm::ShmFs::new();
        assert_eq!(root.link(b"x", &other.root()), Err(Errno::EXDEV));
        assert_eq!(root.rename(b"hl", &other.root(), b"x", 0), Err(Errno::EXDEV));
        assert_eq!(host(&f.dir, "etc/passwd").unwrap(), b"root:x:0:0\n");
        assert!(!f.dir.join("hl").exists() && !f.dir.join("moved").exists());
    }

    #[test]
    fn readdir_merges_and_resumes_across_removals() {
        let f = fixture("readdir");
        let root = f.fs.root();
        let etc = get(&root, "etc").unwrap();
        for n in ["u1", "u2", "u3"] {
            etc.create(n.as_bytes(), 0o644, (0, 0)).unwrap();
        }
        assert_eq!(names(&etc), ["hosts", "passwd", "sub", "u1", "u2", "u3"]);
        // Removing entries already listed does not skip later ones.
        let first = etc.readdir(0, 4).unwrap();
        assert_eq!(first.len(), 4);
        for e in &first {
            if e.dtype == libc::DT_DIR {
                continue;
            }
            etc.unlink(&e.name).unwrap();
        }
        let rest = etc.readdir(first[3].cookie, 10).unwrap();
        assert_eq!(rest.len(), 2);
        let ents = etc.readdir(0, 100).unwrap();
        let inos: HashSet<u64> = ents.iter().map(|e| e.ino).collect();
        assert_eq!(inos.len(), ents.len());
        // Listed numbers are the numbers stat gives.
        for e in &ents {
            let name = String::from_utf8(e.name.clone()).unwrap();
            let node = get(&etc, &name).unwrap();
            assert_eq!(node.stat().unwrap().st_ino, e.ino, "{name}");
            assert_eq!(node.stat().unwrap().st_mode & libc::S_IFMT, u32::from(e.dtype) << 12);
        }
    }

    #[test]
    fn paths_and_dotdot_through_the_vfs() {
        use crate::kernel::Credentials;
        use crate::vfs::open::open_path;
        use crate::vfs::{FsContext, Vfs};
        let f = fixture("vfs");
        let vfs = Vfs::with_root(f.fs.root(), f.fs.clone(), false).unwrap();
        let ctx = FsContext::new(&vfs, b"/etc/sub", 0o022).unwrap();
        assert_eq!(ctx.cwd_path(), b"/etc/sub");
        let creds = Credentials::new(0, 0, Vec::new());
        let w = ctx.walker(&creds);
        assert_eq!(w.resolve(&ctx.cwd, b"../passwd", true).unwrap().path(), b"/etc/passwd");
        assert_eq!(w.resolve(&ctx.cwd, b"/lnk", true).unwrap().path(), b"/etc/passwd");
        let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_EXCL;
        let file = open_path(&w, &ctx.cwd, b"made", flags).unwrap();
        assert_eq!(file.write(b"abc"), Ok(3));
        assert_eq!(w.resolve(&ctx.cwd, b"made", true).unwrap().path(), b"/etc/sub/made");
        // /dev is still devfs, and the root is writable.
        let dev = w.resolve(&ctx.cwd, b"/dev/null", true).unwrap();
        assert_eq!(dev.path(), b"/dev/null");
        let root = w.resolve(&ctx.cwd, b"/", true).unwrap();
        let s = crate::fs::statfs_of_mount(&root.mount).unwrap();
        assert_eq!(crate::fs::statfs_flags(&s) & libc::ST_RDONLY as i64, 0);
        assert_eq!(host(&f.dir, "etc/sub/made"), None);
    }
}
