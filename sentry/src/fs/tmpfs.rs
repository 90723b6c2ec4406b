//! tmpfs: the in-sentry memory filesystem, mounted at /dev (with device
//! nodes, see `fs::dev`), at /dev/shm (where
//! POSIX shared memory and named semaphores live), by `mount -t tmpfs`, by
//! the boot mount list (OCI `tmpfs` mounts, `runsc do --tmpfs`) and, in a
//! variant of its own type, as mqueue.
//!
//! The directory tree is kept in the sentry; each regular file's bytes live
//! in a host memfd the sentry creates. read/write go to the memfd, and a
//! file-backed mmap donates the memfd into the stub ([`FileOps::host_fd`]),
//! so `MAP_SHARED` mappings in different sandboxed processes share the very
//! same pages. Holes are the memfd's own (sparse files cost nothing, and
//! `SEEK_DATA`/`SEEK_HOLE` are answered by the memfd).
//!
//! Limits (`size=`, `nr_inodes=`) are enforced as Linux's tmpfs does:
//! space is counted in allocated pages (the memfd's `st_blocks`, re-read
//! after every write or truncate), so a sparse file costs only what is
//! written; a write that would go beyond the limit is cut short, and one
//! that cannot write a byte is `ENOSPC`. Pages dirtied through a shared
//! mapping are counted at the next write or truncate only.
//!
//! # Locking
//!
//! One mutex per filesystem ([`Shared::state`]) guards every directory's
//! entries and the table of linked nodes; each node's attributes have
//! their own mutex, taken after the state lock and never the other way
//! round. Directory lookups are never cached by the VFS
//! ([`Inode::cacheable`] is false), so unlink and rename need no dentry
//! invalidation.

use super::hostio::{new_memfd, now, retry};
use crate::vfs::inode::{dtype_of, is_dir, next_ino};
use crate::vfs::{FileOps, FileSystem, Inode, RawDirent};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls::structs::{Stat, Statfs};
use syscalls::{Errno, Pod};

/// `RENAME_NOREPLACE`.
pub const RENAME_NOREPLACE: u32 = 1;
/// `RENAME_EXCHANGE`.
pub const RENAME_EXCHANGE: u32 = 2;

/// The page size space is counted in.
const PAGE: u64 = 4096;

/// Mount options of a tmpfs (`size=`, `nr_inodes=`, `mode=`, `uid=`,
/// `gid=`); `None` limits mean Linux's defaults (half of the memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmpfsOptions {
    /// Most bytes of file data, rounded up to pages (`Some(0)`: unlimited).
    pub size: Option<u64>,
    /// Most inodes (`Some(0)`: unlimited).
    pub nr_inodes: Option<u64>,
    /// Permission bits of the root directory.
    pub mode: u32,
    /// Owner of the root directory.
    pub uid: u32,
    /// Group of the root directory.
    pub gid: u32,
}

impl Default for TmpfsOptions {
    fn default() -> Self {
        TmpfsOptions {
            size: None,
            nr_inodes: None,
            mode: 0o1777,
            uid: 0,
            gid: 0,
        }
    }
}

/// Total RAM of the host in bytes (the base of the default limits and of
/// `size=N%`).
fn total_ram() -> u64 {
    // SAFETY: an all-zero sysinfo is valid plain data.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: sysinfo writes one struct sysinfo into `si`.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return 1 << 30;
    }
    si.totalram.saturating_mul(u64::from(si.mem_unit.max(1)))
}

/// A number with an optional binary suffix (k, m, g, t, p, e), as the
/// kernel's `memparse`.
fn memparse(v: &str) -> Option<u64> {
    let (digits, mult) = match v.as_bytes().last()?.to_ascii_lowercase() {
        b'k' => (&v[..v.len() - 1], 1u64 << 10),
        b'm' => (&v[..v.len() - 1], 1 << 20),
        b'g' => (&v[..v.len() - 1], 1 << 30),
        b't' => (&v[..v.len() - 1], 1 << 40),
        b'p' => (&v[..v.len() - 1], 1 << 50),
        b'e' => (&v[..v.len() - 1], 1 << 60),
        _ => (v, 1),
    };
    let n = if let Some(hex) = digits.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    n.checked_mul(mult)
}

impl TmpfsOptions {
    /// Parses a tmpfs data string (`size=64m,mode=755,...`); unknown
    /// options are EINVAL as in Linux (a few harmless ones are accepted).
    pub fn parse(data: &str) -> Result<TmpfsOptions, Errno> {
        let mut o = TmpfsOptions::default();
        o.apply(data, false)?;
        Ok(o)
    }

    /// Applies the options of `data` over these; on `remount` the root's
    /// mode and owner are left alone, as Linux does.
    pub fn apply(&mut self, data: &str, remount: bool) -> Result<(), Errno> {
        for opt in data.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (key, value) = match opt.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (opt, None),
            };
            let num = |v: Option<&str>| v.and_then(memparse).ok_or(Errno::EINVAL);
            match key {
                "size" => {
                    let v = value.ok_or(Errno::EINVAL)?;
                    let bytes = match v.strip_suffix('%') {
                        Some(pct) => {
                            let pct: u64 = pct.parse().map_err(|_| Errno::EINVAL)?;
                            total_ram() / 100 * pct
                        }
                        None => memparse(v).ok_or(Errno::EINVAL)?,
                    };
                    self.size = Some(bytes.div_ceil(PAGE) * PAGE);
                }
                "nr_blocks" => self.size = Some(num(value)?.saturating_mul(PAGE)),
                "nr_inodes" => self.nr_inodes = Some(num(value)?),
                "mode" if !remount => {
                    let v = value.ok_or(Errno::EINVAL)?;
                    self.mode = u32::from_str_radix(v, 8).map_err(|_| Errno::EINVAL)? & 0o7777;
                }
                "uid" if !remount => self.uid = value.and_then(|v| v.parse().ok()).ok_or(Errno::EINVAL)?,
                "gid" if !remount => self.gid = value.and_then(|v| v.parse().ok()).ok_or(Errno::EINVAL)?,
                "mode" | "uid" | "gid" => {}
                // Accepted and meaningless here.
                "inode64" | "inode32" | "huge" | "mpol" | "noswap" | "quota" | "usrquota" | "grpquota" => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        Ok(())
    }

    /// The options as `/proc/self/mountinfo` shows them: only those that
    /// differ from the defaults, as Linux's `shmem_show_options`.
    pub fn render(&self) -> String {
        let mut parts = Vec::new();
        if let Some(size) = self.size {
            parts.push(format!("size={}k", size / 1024));
        }
        if let Some(n) = self.nr_inodes {
            parts.push(format!("nr_inodes={n}"));
        }
        if self.mode != 0o1777 {
            parts.push(format!("mode={:o}", self.mode));
        }
        if self.uid != 0 {
            parts.push(format!("uid={}", self.uid));
        }
        if self.gid != 0 {
            parts.push(format!("gid={}", self.gid));
        }
        parts.push("inode64".to_string());
        parts.join(",")
    }

    /// The byte limit (`size=0` is unlimited).
    fn size_limit(&self) -> Option<u64> {
        self.size.filter(|&s| s != 0)
    }

    /// The inode limit (`nr_inodes=0` is unlimited).
    fn inode_limit(&self) -> Option<u64> {
        self.nr_inodes.filter(|&n| n != 0)
    }
}

/// A tmpfs (one per mount).
pub struct TmpFs {
    /// Owns the tree (nodes refer to it weakly).
    shared: Arc<Shared>,
    root: Arc<TmpNode>,
}

/// What every node of one filesystem shares.
struct Shared {
    dev: u64,
    magic: i64,
    state: Mutex<State>,
    options: Mutex<TmpfsOptions>,
    /// Bytes of file data allocated (whole pages).
    used: AtomicU64,
    /// Live inodes (linked, or open after unlink).
    inodes: AtomicU64,
}

/// The tree: the entries of every live directory, by inode number, and
/// every node that still has a name (for link(2), which gets the node by
/// its inode number).
#[derive(Default)]
struct State {
    dirs: HashMap<u64, BTreeMap<Vec<u8>, Arc<TmpNode>>>,
    linked: HashMap<u64, Weak<TmpNode>>,
}

/// A node: directory, regular file, symlink, FIFO, socket.
pub struct TmpNode {
    /// Weak: the state's entries hold nodes, nodes must not hold the state.
    fs: Weak<Shared>,
    /// This node, for opening it (open files keep it alive without a name).
    me: Weak<TmpNode>,
    dev: u64,
    ino: u64,
    meta: Mutex<Meta>,
    data: Data,
}

/// What kind of node, with a regular file's memory.
enum Data {
    Dir,
    /// The host memfd holding the bytes, and the bytes counted against the
    /// filesystem's `size=` for it.
    File(OwnedFd, AtomicU64),
    /// A symbolic link's target.
    Symlink(Vec<u8>),
    /// A FIFO or socket node (no contents of its own).
    Special,
    /// A character or block device node: its device number.
    Device(u64),
}

/// The attributes the sentry keeps (a file's size is the memfd's).
#[derive(Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    atime: (i64, i64),
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl TmpFs {
    /// A fresh, empty tmpfs with the default options: a root of mode 1777
    /// owned by root, limits of half the memory.
    pub fn new() -> Arc<TmpFs> {
        TmpFs::with_options(&TmpfsOptions::default(), super::TMPFS_MAGIC)
    }

    /// A fresh, empty filesystem with `opts`, reporting `magic` in statfs
    /// (`TMPFS_MAGIC`, or mqueue's).
    pub fn with_options(opts: &TmpfsOptions, magic: i64) -> Arc<TmpFs> {
        let shared = Arc::new(Shared {
            dev: super::synthetic::anon_dev(),
            magic,
            state: Mutex::new(State::default()),
            options: Mutex::new(*opts),
            used: AtomicU64::new(0),
            inodes: AtomicU64::new(0),
        });
        shared.inodes.store(1, Ordering::Relaxed);
        let root = TmpNode::new(&shared, libc::S_IFDIR | opts.mode, (opts.uid, opts.gid), Data::Dir);
        {
            let mut st = shared.lock();
            st.dirs.insert(root.ino, BTreeMap::new());
            st.linked.insert(root.ino, Arc::downgrade(&root));
        }
        Arc::new(TmpFs { shared, root })
    }

    /// The root directory.
    pub fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    /// The current options.
    pub fn options(&self) -> TmpfsOptions {
        *self.shared.options()
    }
}

impl FileSystem for TmpFs {
    fn statfs(&self) -> Result<Statfs, Errno> {
        let opts = *self.shared.options();
        let mut s = super::synthetic_statfs(self.shared.magic);
        let blocks = opts.size_limit().unwrap_or(total_ram() / 2) / PAGE;
        let used = self.shared.used.load(Ordering::Relaxed) / PAGE;
        s.f_blocks = blocks;
        s.f_bfree = blocks.saturating_sub(used);
        s.f_bavail = s.f_bfree;
        let files = opts.inode_limit().unwrap_or(total_ram() / 2 / PAGE);
        s.f_files = files;
        s.f_ffree = files.saturating_sub(self.shared.inodes.load(Ordering::Relaxed));
        let dev = self.shared.dev;
        // SAFETY: fsid_t is repr(C) { [c_int; 2] }; transmute checks the size.
        s.f_fsid = unsafe { std::mem::transmute::<[i32; 2], libc::fsid_t>([dev as i32, (dev >> 32) as i32]) };
        Ok(s)
    }

    fn show_options(&self) -> String {
        self.shared.options().render()
    }

    fn remount(&self, data: &str) -> Result<(), Errno> {
        let mut opts = self.shared.options();
        let mut new = *opts;
        new.apply(data, true)?;
        // Linux refuses to shrink below what is in use.
        if new
            .size_limit()
            .is_some_and(|l| l < self.shared.used.load(Ordering::Relaxed))
            || new
                .inode_limit()
                .is_some_and(|l| l < self.shared.inodes.load(Ordering::Relaxed))
        {
            return Err(Errno::EINVAL);
        }
        *opts = new;
        Ok(())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent before it can panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn options(&self) -> MutexGuard<'_, TmpfsOptions> {
        self.options.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one inode from `nr_inodes` (ENOSPC when none is left).
    fn take_inode(&self) -> Result<(), Errno> {
        let limit = self.options().inode_limit();
        let n = self.inodes.fetch_add(1, Ordering::Relaxed);
        if limit.is_some_and(|l| n >= l) {
            self.inodes.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }
}

impl Drop for TmpNode {
    fn drop(&mut self) {
        if let Some(shared) = self.fs.upgrade() {
            shared.inodes.fetch_sub(1, Ordering::Relaxed);
            if let Data::File(_, counted) = &self.data {
                shared
                    .used
                    .fetch_sub(counted.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
    }
}

impl TmpNode {
    /// A new node; the caller has taken its inode from the limit
    /// ([`Shared::take_inode`]) except for the root.
    fn new(shared: &Arc<Shared>, mode: u32, owner: (u32, u32), data: Data) -> Arc<TmpNode> {
        let t = now();
        Arc::new_cyclic(|me| TmpNode {
            fs: Arc::downgrade(shared),
            me: me.clone(),
            dev: shared.dev,
            ino: next_ino(),
            meta: Mutex::new(Meta {
                mode,
                uid: owner.0,
                gid: owner.1,
                nlink: if is_dir(mode) { 2 } else { 1 },
                atime: t,
                mtime: t,
                ctime: t,
            }),
            data,
        })
    }

    fn meta(&self) -> MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn shared(&self) -> Result<Arc<Shared>, Errno> {
        self.fs.upgrade().ok_or(Errno::ENOENT)
    }

    fn is_dir(&self) -> bool {
        matches!(self.data, Data::Dir)
    }

    /// The directory contents changed: mtime and ctime move.
    fn touch_dir(&self, nlink_delta: i64) {
        let t = now();
        let mut m = self.meta();
        m.mtime = t;
        m.ctime = t;
        m.nlink = m.nlink.saturating_add_signed(nlink_delta);
    }

    fn memfd(&self) -> Result<RawFd, Errno> {
        match &self.data {
            Data::File(fd, _) => Ok(fd.as_raw_fd()),
            Data::Dir => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The memfd's size and allocated bytes.
    fn host_stat(&self) -> Result<(u64, u64), Errno> {
        let fd = self.memfd()?;
        let mut host = Stat::zeroed();
        // SAFETY: fstat writes one `struct stat` into `host`.
        if unsafe { libc::fstat(fd, &mut host) } < 0 {
            return Err(Errno::last());
        }
        Ok((host.st_size.max(0) as u64, (host.st_blocks.max(0) as u64) * 512))
    }

    /// Re-reads the pages the memfd holds and moves the filesystem's count.
    fn recount(&self) {
        let (Data::File(_, counted), Ok(shared), Ok((_, allocated))) = (&self.data, self.shared(), self.host_stat())
        else {
            return;
        };
        let allocated = allocated.div_ceil(PAGE) * PAGE;
        let old = counted.swap(allocated, Ordering::Relaxed);
        if allocated >= old {
            shared.used.fetch_add(allocated - old, Ordering::Relaxed);
        } else {
            shared.used.fetch_sub(old - allocated, Ordering::Relaxed);
        }
    }

    fn set_size(&self, size: u64) -> Result<(), Errno> {
        let fd = self.memfd()?;
        let len = i64::try_from(size).map_err(|_| Errno::EFBIG)?;
        // SAFETY: ftruncate on our own memfd; no memory is passed.
        retry(|| unsafe { libc::ftruncate(fd, len) } as isize)?;
        self.recount();
        let t = now();
        let mut m = self.meta();
        m.mtime = t;
        m.ctime = t;
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let fd = self.memfd()?;
        let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        // SAFETY: pread writes at most buf.len() bytes into `buf`.
        let n = retry(|| unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) })?;
        // relatime: the access time moves when it is older than the last change.
        let mut m = self.meta();
        if m.atime <= m.mtime || m.atime <= m.ctime {
            m.atime = now();
        }
        Ok(n)
    }

    /// How many of `len` bytes at `offset` fit in the `size=` limit.
    fn fit(&self, shared: &Shared, offset: u64, len: usize) -> Result<usize, Errno> {
        let Some(limit) = shared.options().size_limit() else {
            return Ok(len);
        };
        if len == 0 {
            return Ok(0);
        }
        let end = offset.checked_add(len as u64).ok_or(Errno::EFBIG)?;
        let first = offset / PAGE * PAGE;
        let page_end = end.div_ceil(PAGE) * PAGE;
        let (worst, first_hole) = self.holes_in(first, page_end)?;
        let used = shared.used.load(Ordering::Relaxed);
        if used.saturating_add(worst) <= limit {
            return Ok(len);
        }
        // Up to the first hole is allocated already; past it, what room is left.
        let room = limit.saturating_sub(used);
        let fits = (first_hole + room).saturating_sub(offset).min(len as u64) as usize;
        if fits == 0 {
            return Err(Errno::ENOSPC);
        }
        Ok(fits)
    }

    /// The bytes of [start, end) that hold no pages yet (the memfd's holes,
    /// and everything past its end), and where the first such byte is.
    fn holes_in(&self, start: u64, end: u64) -> Result<(u64, u64), Errno> {
        let fd = self.memfd()?;
        let seek = |pos: u64, whence: i32| -> Option<u64> {
            let pos = i64::try_from(pos).ok()?;
            // SAFETY: lseek on our own memfd; its offset is never used for I/O.
            let r = unsafe { libc::lseek(fd, pos, whence) };
            (r >= 0).then_some(r as u64)
        };
        let mut holes = 0;
        let mut first_hole = None;
        let mut pos = start;
        while pos < end {
            // ENXIO: at or past the end of the file, all hole.
            let Some(hole) = seek(pos, libc::SEEK_HOLE) else {
                holes += end - pos;
                first_hole.get_or_insert(pos);
                break;
            };
            if hole >= end {
                break;
            }
            first_hole.get_or_insert(hole);
            let data = seek(hole, libc::SEEK_DATA).unwrap_or(end).min(end);
            holes += data - hole;
            pos = data;
        }
        Ok((holes, first_hole.unwrap_or(end)))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        let fd = self.memfd()?;
        let off = i64::try_from(offset).map_err(|_| Errno::EFBIG)?;
        let shared = self.shared()?;
        let len = self.fit(&shared, offset, buf.len())?;
        // SAFETY: pwrite reads at most len <= buf.len() bytes from `buf`.
        let n = retry(|| unsafe { libc::pwrite(fd, buf.as_ptr().cast(), len, off) })?;
        self.recount();
        if n > 0 {
            let t = now();
            let mut m = self.meta();
            m.mtime = t;
            m.ctime = t;
        }
        Ok(n)
    }

    /// The node `ino` of this filesystem if it still has a name.
    fn linked(state: &State, ino: u64) -> Option<Arc<TmpNode>> {
        state.linked.get(&ino).and_then(Weak::upgrade)
    }

    /// `node` lost one name; forget it once it has none.
    fn drop_link(state: &mut State, node: &TmpNode) {
        let mut m = node.meta();
        m.ctime = now();
        if node.is_dir() {
            m.nlink = 0;
        } else {
            m.nlink = m.nlink.saturating_sub(1);
        }
        if m.nlink == 0 {
            state.linked.remove(&node.ino);
            if node.is_dir() {
                state.dirs.remove(&node.ino);
            }
        }
    }

    /// (dev, ino) of another node, which must be a directory of this
    /// filesystem (EXDEV otherwise).
    fn same_fs_ino(&self, other: &Arc<dyn Inode>) -> Result<u64, Errno> {
        let st = other.stat()?;
        if st.st_dev != self.dev {
            return Err(Errno::EXDEV);
        }
        Ok(st.st_ino)
    }

    fn add_node(&self, name: &[u8], mode: u32, owner: (u32, u32), data: Data) -> Result<Arc<TmpNode>, Errno> {
        let shared = self.shared()?;
        {
            let state = shared.lock();
            let entries = state.dirs.get(&self.ino).ok_or(Errno::ENOENT)?;
            if entries.contains_key(name) {
                return Err(Errno::EEXIST);
            }
        }
        shared.take_inode()?;
        let node = TmpNode::new(&shared, mode, owner, data);
        let mut state = shared.lock();
        let entries = state.dirs.get_mut(&self.ino).ok_or(Errno::ENOENT)?;
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(name.to_vec(), node.clone());
        state.linked.insert(node.ino, Arc::downgrade(&node));
        if node.is_dir() {
            state.dirs.insert(node.ino, BTreeMap::new());
        }
        drop(state);
        self.touch_dir(if node.is_dir() { 1 } else { 0 });
        Ok(node)
    }
}

impl Inode for TmpNode {
    fn stat(&self) -> Result<Stat, Errno> {
        let m = *self.meta();
        let mut st = Stat::zeroed();
        st.st_dev = self.dev;
        st.st_ino = self.ino;
        st.st_mode = m.mode;
        st.st_nlink = m.nlink;
        st.st_uid = m.uid;
        st.st_gid = m.gid;
        st.st_blksize = 4096;
        (st.st_atime, st.st_atime_nsec) = m.atime;
        (st.st_mtime, st.st_mtime_nsec) = m.mtime;
        (st.st_ctime, st.st_ctime_nsec) = m.ctime;
        match &self.data {
            Data::Dir => {
                let entries = self
                    .shared()
                    .map(|s| s.lock().dirs.get(&self.ino).map_or(0, BTreeMap::len))
                    .unwrap_or(0);
                // tmpfs: 20 bytes per entry plus two for "." and "..".
                st.st_size = (entries as i64 + 2) * 20;
            }
            Data::File(fd, _) => {
                let mut host = Stat::zeroed();
                // SAFETY: fstat writes one `struct stat` into `host`.
                if unsafe { libc::fstat(fd.as_raw_fd(), &mut host) } < 0 {
                    return Err(Errno::last());
                }
                st.st_size = host.st_size;
                st.st_blocks = host.st_blocks;
            }
            Data::Symlink(target) => st.st_size = target.len() as i64,
            Data::Special => {}
            Data::Device(rdev) => st.st_rdev = *rdev,
        }
        Ok(st)
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let shared = self.shared()?;
        let state = shared.lock();
        let mut out: Vec<Arc<dyn Inode>> = Vec::new();
        let mut dir = self.ino;
        for name in names {
            let Some(child) = state.dirs.get(&dir).and_then(|e| e.get(*name)) else {
                break;
            };
            out.push(child.clone());
            if !child.is_dir() {
                break;
            }
            dir = child.ino;
        }
        Ok(out)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.data {
            Data::Symlink(t) => {
                self.meta().atime = now();
                Ok(t.clone())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        let shared = self.shared()?;
        let state = shared.lock();
        let entries = state.dirs.get(&self.ino).ok_or(Errno::ENOENT)?;
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        Ok(entries
            .iter()
            .enumerate()
            .skip(start)
            .take(max)
            .map(|(i, (name, node))| RawDirent {
                ino: node.ino,
                cookie: i as u64 + 1,
                dtype: dtype_of(node.meta().mode),
                name: name.clone(),
            })
            .collect())
    }

    fn open(&self, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        let node = self.me.upgrade().ok_or(Errno::ENOENT)?;
        match &self.data {
            Data::File(..) => {}
            // Named pipes: one pipe per node, shared by every opener.
            Data::Special if self.meta().mode & libc::S_IFMT == libc::S_IFIFO => {
                return super::fifo::open((self.dev, self.ino), flags, node);
            }
            // Opening a socket node is ENXIO, as in Linux.
            Data::Special => return Err(Errno::ENXIO),
            // Devices are the sentry's (the VFS has checked `nodev`).
            Data::Device(_) => return super::dev::open_device(node, flags),
            Data::Dir => return Err(Errno::EISDIR),
            Data::Symlink(_) => return Err(Errno::ELOOP),
        }
        if flags & libc::O_TRUNC != 0 {
            node.set_size(0)?;
        }
        Ok(Box::new(TmpFile { node }))
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn setattr(&self, attr: &crate::vfs::inode::SetAttr) -> Result<(), Errno> {
        let mut m = self.meta();
        let m = &mut *m;
        attr.apply(&mut m.mode, &mut m.uid, &mut m.gid, &mut m.atime, &mut m.mtime);
        m.ctime = now();
        Ok(())
    }

    fn create(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        let node = self.add_node(
            name,
            libc::S_IFREG | (mode & 0o7777),
            owner,
            Data::File(new_memfd(c"rvisor-tmpfs")?, AtomicU64::new(0)),
        )?;
        Ok(node)
    }

    fn tmpfile(&self, mode: u32, owner: (u32, u32), linkable: bool) -> Result<Arc<dyn Inode>, Errno> {
        // No name and no link: link() finds only nodes in `linked`, so an
        // O_EXCL file, left out of it, can never be named.
        let shared = self.shared()?;
        shared.take_inode()?;
        let data = Data::File(new_memfd(c"rvisor-tmpfs")?, AtomicU64::new(0));
        let node = TmpNode::new(&shared, libc::S_IFREG | (mode & 0o7777), owner, data);
        node.meta().nlink = 0;
        if linkable {
            shared.lock().linked.insert(node.ino, Arc::downgrade(&node));
        }
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(), Errno> {
        self.add_node(name, libc::S_IFDIR | (mode & 0o7777), owner, Data::Dir)
            .map(|_| ())
    }

    fn symlink(&self, name: &[u8], target: &[u8], owner: (u32, u32)) -> Result<(), Errno> {
        self.add_node(name, libc::S_IFLNK | 0o777, owner, Data::Symlink(target.to_vec()))
            .map(|_| ())
    }

    fn mknod(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        match mode & libc::S_IFMT {
            libc::S_IFIFO | libc::S_IFSOCK => {}
            libc::S_IFREG | 0 => return self.create(name, mode, owner),
            _ => return Err(Errno::EPERM),
        }
        let node = self.add_node(name, mode & (libc::S_IFMT | 0o7777), owner, Data::Special)?;
        Ok(node)
    }

    fn mknod_device(&self, name: &[u8], mode: u32, owner: (u32, u32), rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        let fmt = mode & libc::S_IFMT;
        if fmt != libc::S_IFCHR && fmt != libc::S_IFBLK {
            return Err(Errno::EINVAL);
        }
        let node = self.add_node(name, fmt | (mode & 0o7777), owner, Data::Device(rdev))?;
        Ok(node)
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        let shared = self.shared()?;
        let mut state = shared.lock();
        let entries = state.dirs.get_mut(&self.ino).ok_or(Errno::ENOENT)?;
        match entries.get(name) {
            None => return Err(Errno::ENOENT),
            Some(n) if n.is_dir() => return Err(Errno::EISDIR),
            Some(_) => {}
        }
        let Some(node) = entries.remove(name) else {
            return Err(Errno::ENOENT);
        };
        TmpNode::drop_link(&mut state, &node);
        drop(state);
        drop(node);
        self.touch_dir(0);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        let shared = self.shared()?;
        let mut state = shared.lock();
        let child = state
            .dirs
            .get(&self.ino)
            .ok_or(Errno::ENOENT)?
            .get(name)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if state.dirs.get(&child.ino).is_some_and(|e| !e.is_empty()) {
            return Err(Errno::ENOTEMPTY);
        }
        if let Some(entries) = state.dirs.get_mut(&self.ino) {
            entries.remove(name);
        }
        TmpNode::drop_link(&mut state, &child);
        drop(state);
        self.touch_dir(-1);
        Ok(())
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let ino = self.same_fs_ino(target)?;
        let shared = self.shared()?;
        let mut state = shared.lock();
        let node = TmpNode::linked(&state, ino).ok_or(Errno::ENOENT)?;
        if node.is_dir() {
            return Err(Errno::EPERM);
        }
        let entries = state.dirs.get_mut(&self.ino).ok_or(Errno::ENOENT)?;
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(name.to_vec(), node.clone());
        drop(state);
        {
            let mut m = node.meta();
            m.nlink += 1;
            m.ctime = now();
        }
        self.touch_dir(0);
        Ok(())
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<(), Errno> {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 {
            return Err(Errno::EINVAL);
        }
        let new_ino = self.same_fs_ino(new_dir)?;
        let shared = self.shared()?;
        let mut state = shared.lock();
        let new_parent = TmpNode::linked(&state, new_ino).ok_or(Errno::ENOENT)?;
        let src = state
            .dirs
            .get(&self.ino)
            .ok_or(Errno::ENOENT)?
            .get(name)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        let dst = state.dirs.get(&new_ino).ok_or(Errno::ENOENT)?.get(new_name).cloned();
        let same_dir = new_ino == self.ino;
        if flags & RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            if let Some(e) = state.dirs.get_mut(&self.ino) {
                e.insert(name.to_vec(), dst.clone());
            }
            if let Some(e) = state.dirs.get_mut(&new_ino) {
                e.insert(new_name.to_vec(), src.clone());
            }
            drop(state);
            if !same_dir && src.is_dir() != dst.is_dir() {
                // A directory moved from one parent to the other.
                let d = if src.is_dir() { 1 } else { -1 };
                self.touch_dir(-d);
                new_parent.touch_dir(d);
            } else {
                self.touch_dir(0);
                new_parent.touch_dir(0);
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
                (true, true) if state.dirs.get(&dst.ino).is_some_and(|e| !e.is_empty()) => {
                    return Err(Errno::ENOTEMPTY)
                }
                _ => {}
            }
        }
        if let Some(e) = state.dirs.get_mut(&self.ino) {
            e.remove(name);
        }
        if let Some(e) = state.dirs.get_mut(&new_ino) {
            e.insert(new_name.to_vec(), src.clone());
        }
        let replaced_dir = dst.as_ref().is_some_and(|d| d.is_dir());
        if let Some(dst) = &dst {
            TmpNode::drop_link(&mut state, dst);
        }
        drop(state);
        src.meta().ctime = now();
        let moved_dir = src.is_dir() && !same_dir;
        self.touch_dir(if moved_dir { -1 } else { 0 });
        let gained = i64::from(moved_dir) - i64::from(replaced_dir);
        new_parent.touch_dir(gained);
        Ok(())
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        self.set_size(size)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// An open regular file of a tmpfs.
pub struct TmpFile {
    node: Arc<TmpNode>,
}

impl FileOps for TmpFile {
    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }

    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        self.node.read_at(buf, offset)
    }

    fn write(&self, buf: &[u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        self.node.write_at(buf, offset)
    }

    fn lseek(&self, current: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
        if whence != libc::SEEK_DATA && whence != libc::SEEK_HOLE {
            return default_lseek(self, current, offset, whence);
        }
        // The memfd knows where its holes are; its own offset is never
        // used for I/O (pread/pwrite), so moving it is harmless.
        let fd = self.node.memfd()?;
        // SAFETY: lseek on our own memfd.
        let r = unsafe { libc::lseek(fd, offset, whence) };
        if r < 0 {
            return Err(Errno::last());
        }
        Ok(r as u64)
    }

    fn host_fd(&self) -> Option<RawFd> {
        self.node.memfd().ok()
    }
}

/// The generic SEEK_SET/CUR/END rules of [`FileOps::lseek`].
fn default_lseek(f: &dyn FileOps, current: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
    let base: i64 = match whence {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => i64::try_from(current).map_err(|_| Errno::EOVERFLOW)?,
        libc::SEEK_END => f.stat()?.st_size,
        _ => return Err(Errno::EINVAL),
    };
    let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(new as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names(dir: &Arc<dyn Inode>) -> Vec<Vec<u8>> {
        dir.readdir(0, 100).unwrap().into_iter().map(|e| e.name).collect()
    }

    fn get(dir: &Arc<dyn Inode>, name: &[u8]) -> Option<Arc<dyn Inode>> {
        dir.lookup(&[name]).unwrap().into_iter().next()
    }

    #[test]
    fn root_is_sticky_world_writable() {
        let fs = TmpFs::new();
        let st = fs.root().stat().unwrap();
        assert_eq!(st.st_mode, libc::S_IFDIR | 0o1777);
        assert_eq!(st.st_nlink, 2);
        assert_eq!(fs.statfs().unwrap().f_type, crate::fs::TMPFS_MAGIC);
        assert!(!fs.root().cacheable());
    }

    #[test]
    fn create_write_read_truncate() {
        let fs = TmpFs::new();
        let root = fs.root();
        let f = root.create(b"sem.x", 0o600, (1000, 1000)).unwrap();
        let st = f.stat().unwrap();
        assert_eq!(st.st_mode, libc::S_IFREG | 0o600);
        assert_eq!((st.st_uid, st.st_gid, st.st_nlink, st.st_size), (1000, 1000, 1, 0));
        assert_eq!(root.create(b"sem.x", 0o600, (0, 0)).err(), Some(Errno::EEXIST));
        let file = f.open(libc::O_RDWR).unwrap();
        assert!(file.host_fd().is_some());
        assert_eq!(file.write(b"hello", 3, false), Ok(5));
        assert_eq!(file.stat().unwrap().st_size, 8);
        let mut buf = [9u8; 8];
        assert_eq!(file.read(&mut buf, 0, false), Ok(8));
        assert_eq!(&buf, b"\0\0\0hello");
        f.truncate(4).unwrap();
        assert_eq!(f.stat().unwrap().st_size, 4);
        // O_TRUNC empties it.
        let again = f.open(libc::O_RDWR | libc::O_TRUNC).unwrap();
        assert_eq!(again.stat().unwrap().st_size, 0);
        assert_eq!(names(&root), vec![b"sem.x".to_vec()]);
    }

    #[test]
    fn memfd_is_what_mmap_shares() {
        let fs = TmpFs::new();
        let f = fs.root().create(b"m", 0o600, (0, 0)).unwrap();
        let file = f.open(libc::O_RDWR).unwrap();
        f.truncate(4096).unwrap();
        let fd = file.host_fd().unwrap();
        // SAFETY: maps 4096 bytes of our memfd, unmapped below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: p maps 4096 writable bytes.
        unsafe { *(p as *mut u8).add(10) = 42 };
        let mut b = [0u8; 1];
        assert_eq!(file.read(&mut b, 10, false), Ok(1));
        assert_eq!(b[0], 42);
        // SAFETY: unmapping the mapping made above.
        unsafe { libc::munmap(p, 4096) };
    }

    #[test]
    fn link_unlink_and_open_after_unlink() {
        let fs = TmpFs::new();
        let root = fs.root();
        let f = root.create(b"sem.tmp", 0o600, (0, 0)).unwrap();
        let open = f.open(libc::O_RDWR).unwrap();
        root.link(b"sem.name", &f).unwrap();
        assert_eq!(f.stat().unwrap().st_nlink, 2);
        assert_eq!(root.link(b"sem.name", &f), Err(Errno::EEXIST));
        root.unlink(b"sem.tmp").unwrap();
        assert_eq!(f.stat().unwrap().st_nlink, 1);
        assert!(get(&root, b"sem.tmp").is_none());
        let named = get(&root, b"sem.name").unwrap();
        assert_eq!(named.stat().unwrap().st_ino, f.stat().unwrap().st_ino);
        root.unlink(b"sem.name").unwrap();
        assert_eq!(root.unlink(b"sem.name"), Err(Errno::ENOENT));
        // The open file still works and the node can be reopened (as through
        // /proc/self/fd), but it cannot get a name again.
        assert_eq!(open.write(b"x", 0, false), Ok(1));
        assert_eq!(open.stat().unwrap().st_nlink, 0);
        assert_eq!(root.link(b"again", &f), Err(Errno::ENOENT));
        let mut b = [0u8; 1];
        assert_eq!(f.open(libc::O_RDONLY).unwrap().read(&mut b, 0, false), Ok(1));
        assert_eq!(&b, b"x");
        assert!(names(&root).is_empty());
    }

    #[test]
    fn directories() {
        let fs = TmpFs::new();
        let root = fs.root();
        root.mkdir(b"d", 0o755, (5, 6)).unwrap();
        assert_eq!(root.stat().unwrap().st_nlink, 3);
        let d = get(&root, b"d").unwrap();
        assert_eq!(d.stat().unwrap().st_mode, libc::S_IFDIR | 0o755);
        d.create(b"f", 0o644, (5, 6)).unwrap();
        // A batched lookup walks into the subdirectory.
        assert_eq!(root.lookup(&[b"d", b"f"]).unwrap().len(), 2);
        assert_eq!(root.rmdir(b"d"), Err(Errno::ENOTEMPTY));
        assert_eq!(root.unlink(b"d"), Err(Errno::EISDIR));
        assert_eq!(d.rmdir(b"f"), Err(Errno::ENOTDIR));
        d.unlink(b"f").unwrap();
        root.rmdir(b"d").unwrap();
        assert_eq!(root.stat().unwrap().st_nlink, 2);
        // Creating in a removed directory fails.
        assert_eq!(d.create(b"g", 0o644, (0, 0)).err(), Some(Errno::ENOENT));
        assert_eq!(d.stat().unwrap().st_nlink, 0);
    }

    #[test]
    fn rename_rules() {
        let fs = TmpFs::new();
        let root = fs.root();
        let a = root.create(b"a", 0o600, (0, 0)).unwrap();
        let b = root.create(b"b", 0o600, (0, 0)).unwrap();
        root.mkdir(b"d", 0o700, (0, 0)).unwrap();
        let d = get(&root, b"d").unwrap();
        assert_eq!(root.rename(b"a", &root, b"b", RENAME_NOREPLACE), Err(Errno::EEXIST));
        assert_eq!(root.rename(b"a", &root, b"d", 0), Err(Errno::EISDIR));
        assert_eq!(root.rename(b"d", &root, b"a", 0), Err(Errno::ENOTDIR));
        assert_eq!(root.rename(b"zz", &root, b"a", 0), Err(Errno::ENOENT));
        // Replacing b drops its link.
        root.rename(b"a", &root, b"b", 0).unwrap();
        assert_eq!(b.stat().unwrap().st_nlink, 0);
        assert_eq!(
            get(&root, b"b").unwrap().stat().unwrap().st_ino,
            a.stat().unwrap().st_ino
        );
        // Into a subdirectory, and a directory moved between parents.
        root.rename(b"b", &d, b"inner", 0).unwrap();
        assert!(get(&d, b"inner").is_some());
        root.mkdir(b"e", 0o700, (0, 0)).unwrap();
        root.rename(b"e", &d, b"e2", 0).unwrap();
        assert_eq!(root.stat().unwrap().st_nlink, 3);
        assert_eq!(d.stat().unwrap().st_nlink, 3);
        // Exchange.
        root.create(b"x", 0o600, (0, 0)).unwrap();
        d.rename(b"inner", &root, b"x", RENAME_EXCHANGE).unwrap();
        assert_eq!(
            get(&root, b"x").unwrap().stat().unwrap().st_ino,
            a.stat().unwrap().st_ino
        );
        // Another filesystem's node is EXDEV.
        let other = TmpFs::new();
        assert_eq!(root.link(b"l", &other.root()), Err(Errno::EXDEV));
        assert_eq!(root.rename(b"x", &other.root(), b"x", 0), Err(Errno::EXDEV));
    }

    #[test]
    fn mounted_at_dev_shm_with_open_rules() {
        use crate::kernel::Credentials;
        use crate::vfs::open::{open_path, open_path_mode};
        use crate::vfs::{FsContext, Vfs};
        let root = super::super::synthetic::StaticDir::new(super::super::synthetic::anon_dev(), 0o755, Vec::new());
        let vfs = Vfs::with_root(root, super::super::synthetic::StaticDir::fs(0), true).unwrap();
        let ctx = FsContext::new(&vfs, b"/", 0o022).unwrap();
        let user = Credentials::new(1000, 100, Vec::new());
        let w = ctx.walker(&user);
        let excl = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL;
        // A user may create in the sticky root; the new file is theirs and is
        // opened read-write even though its mode forbids writing.
        let f = open_path_mode(&w, &ctx.cwd, b"/dev/shm/sem.a", excl, 0o400).unwrap();
        let st = f.stat().unwrap();
        assert_eq!((st.st_mode, st.st_uid, st.st_gid), (libc::S_IFREG | 0o400, 1000, 100));
        assert_eq!(f.write(b"1234"), Ok(4));
        assert!(f.mmap_host_fd().is_ok());
        assert_eq!(
            open_path_mode(&w, &ctx.cwd, b"/dev/shm/sem.a", excl, 0o600).err(),
            Some(Errno::EEXIST)
        );
        // Reopening checks the mode.
        assert_eq!(
            open_path(&w, &ctx.cwd, b"/dev/shm/sem.a", libc::O_RDWR).err(),
            Some(Errno::EACCES)
        );
        let other = Credentials::new(2000, 2000, Vec::new());
        let w2 = ctx.walker(&other);
        assert_eq!(
            open_path(&w2, &ctx.cwd, b"/dev/shm/sem.a", libc::O_RDONLY).err(),
            Some(Errno::EACCES)
        );
        // The read-only root still refuses; a missing name without O_CREAT is ENOENT.
        assert_eq!(
            open_path_mode(&w, &ctx.cwd, b"/new", excl, 0o600).err(),
            Some(Errno::EROFS)
        );
        assert_eq!(
            open_path(&w, &ctx.cwd, b"/dev/shm/missing", libc::O_RDONLY).err(),
            Some(Errno::ENOENT)
        );
        // /dev/shm is the shm root, and `..` leads back to /dev.
        let loc = w.resolve(&ctx.cwd, b"/dev/shm", true).unwrap();
        assert_eq!(loc.inode().stat().unwrap().st_mode, libc::S_IFDIR | 0o1777);
        assert_eq!(loc.path(), b"/dev/shm");
        assert_eq!(
            crate::fs::statfs_of_mount(&loc.mount).unwrap().f_type,
            crate::fs::TMPFS_MAGIC
        );
        let up = w.resolve(&ctx.cwd, b"/dev/shm/..", true).unwrap();
        assert_eq!(up.path(), b"/dev");
        // Names removed behind the VFS are gone at once (nothing is cached).
        loc.inode().unlink(b"sem.a").unwrap();
        assert_eq!(
            open_path(&w, &ctx.cwd, b"/dev/shm/sem.a", libc::O_RDONLY).err(),
            Some(Errno::ENOENT)
        );
    }

    #[test]
    fn readdir_cookies_resume() {
        let fs = TmpFs::new();
        let root = fs.root();
        for n in [b"c", b"a", b"b"] {
            root.create(n, 0o600, (0, 0)).unwrap();
        }
        let first = root.readdir(0, 2).unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].name, b"a");
        assert_eq!(first[0].dtype, libc::DT_REG);
        let rest = root.readdir(first[1].cookie, 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].name, b"c");
    }

    #[test]
    fn options_parse_and_render() {
        let o = TmpfsOptions::parse("size=1m,nr_inodes=10,mode=755,uid=5,gid=6,inode64").unwrap();
        assert_eq!(
            o,
            TmpfsOptions {
                size: Some(1 << 20),
                nr_inodes: Some(10),
                mode: 0o755,
                uid: 5,
                gid: 6
            }
        );
        assert_eq!(o.render(), "size=1024k,nr_inodes=10,mode=755,uid=5,gid=6,inode64");
        assert_eq!(TmpfsOptions::parse("size=5000").unwrap().size, Some(8192));
        assert_eq!(TmpfsOptions::parse("").unwrap(), TmpfsOptions::default());
        assert_eq!(TmpfsOptions::default().render(), "inode64");
        for bad in ["bogus", "size=", "size=12q", "mode=9", "uid=x"] {
            assert_eq!(TmpfsOptions::parse(bad), Err(Errno::EINVAL), "{bad}");
        }
        let fs = TmpFs::with_options(&o, crate::fs::TMPFS_MAGIC);
        let st = fs.root().stat().unwrap();
        assert_eq!((st.st_mode, st.st_uid, st.st_gid), (libc::S_IFDIR | 0o755, 5, 6));
    }

    #[test]
    fn size_limit_is_enospc_and_counts_pages_not_holes() {
        let fs = TmpFs::with_options(&TmpfsOptions::parse("size=16k").unwrap(), crate::fs::TMPFS_MAGIC);
        let root = fs.root();
        let f = root.create(b"f", 0o644, (0, 0)).unwrap();
        let file = f.open(libc::O_RDWR).unwrap();
        // A sparse gigabyte costs nothing.
        f.truncate(1 << 30).unwrap();
        assert_eq!(fs.statfs().unwrap().f_bfree, 4);
        // Three pages written, then a write that only partly fits.
        assert_eq!(file.write(&[1u8; 12288], 0, false), Ok(12288));
        assert_eq!(fs.statfs().unwrap().f_bfree, 1);
        assert_eq!(file.write(&[2u8; 8192], 12288, false), Ok(4096));
        assert_eq!(file.write(&[3u8; 10], 16384, false), Err(Errno::ENOSPC));
        // Rewriting allocated pages still works when full.
        assert_eq!(file.write(&[4u8; 100], 50, false), Ok(100));
        // Holes: data at 0, a hole after the written pages.
        assert_eq!(file.lseek(0, 0, libc::SEEK_HOLE), Ok(16384));
        assert_eq!(file.lseek(0, 20000, libc::SEEK_DATA), Err(Errno::ENXIO));
        // Truncating frees the space; so does unlinking the last name.
        f.truncate(4096).unwrap();
        assert_eq!(fs.statfs().unwrap().f_bfree, 3);
        drop(file);
        root.unlink(b"f").unwrap();
        drop(f);
        assert_eq!(fs.statfs().unwrap().f_bfree, 4);
        // A remount may grow the limit but not shrink it below what is used.
        let g = root.create(b"g", 0o644, (0, 0)).unwrap();
        g.open(libc::O_RDWR).unwrap().write(&[1u8; 8192], 0, false).unwrap();
        assert_eq!(fs.remount("size=4k"), Err(Errno::EINVAL));
        fs.remount("size=32k,mode=700").unwrap();
        assert_eq!(fs.statfs().unwrap().f_blocks, 8);
        // mode= is not changed by a remount.
        assert_eq!(fs.root().stat().unwrap().st_mode & 0o7777, 0o1777);
        assert_eq!(fs.show_options(), "size=32k,inode64");
    }

    #[test]
    fn inode_limit() {
        let fs = TmpFs::with_options(&TmpfsOptions::parse("nr_inodes=3").unwrap(), crate::fs::TMPFS_MAGIC);
        let root = fs.root();
        root.create(b"a", 0o644, (0, 0)).unwrap();
        root.mkdir(b"d", 0o755, (0, 0)).unwrap();
        assert_eq!(root.symlink(b"s", b"a", (0, 0)), Err(Errno::ENOSPC));
        assert_eq!(fs.statfs().unwrap().f_ffree, 0);
        root.unlink(b"a").unwrap();
        root.symlink(b"s", b"a", (0, 0)).unwrap();
    }

    #[test]
    fn symlinks_and_special_nodes() {
        let fs = TmpFs::new();
        let root = fs.root();
        root.symlink(b"l", b"/some/where", (7, 8)).unwrap();
        let l = get(&root, b"l").unwrap();
        let st = l.stat().unwrap();
        assert_eq!((st.st_mode, st.st_size, st.st_uid), (libc::S_IFLNK | 0o777, 11, 7));
        assert_eq!(l.readlink().unwrap(), b"/some/where");
        assert_eq!(root.readdir(0, 10).unwrap()[0].dtype, libc::DT_LNK);
        let fifo = root.mknod(b"p", libc::S_IFIFO | 0o640, (0, 0)).unwrap();
        assert_eq!(fifo.stat().unwrap().st_mode, libc::S_IFIFO | 0o640);
        // A FIFO node opens as a named pipe: a writer without a reader is
        // ENXIO, a non-blocking reader opens at once.
        assert_eq!(fifo.open(libc::O_WRONLY | libc::O_NONBLOCK).err(), Some(Errno::ENXIO));
        assert!(fifo.open(libc::O_RDONLY | libc::O_NONBLOCK).is_ok());
        let sock = root.mknod(b"s", libc::S_IFSOCK | 0o755, (0, 0)).unwrap();
        assert_eq!(sock.stat().unwrap().st_mode & libc::S_IFMT, libc::S_IFSOCK);
        assert_eq!(sock.open(libc::O_RDONLY).err(), Some(Errno::ENXIO));
        assert_eq!(
            root.mknod(b"c", libc::S_IFCHR | 0o600, (0, 0)).err(),
            Some(Errno::EPERM)
        );
        // Hard links to special nodes work too.
        root.link(b"p2", &fifo).unwrap();
        assert_eq!(fifo.stat().unwrap().st_nlink, 2);
    }

    #[test]
    fn device_nodes_keep_rdev_and_open_through_the_registry() {
        use crate::vfs::inode::makedev;
        let fs = TmpFs::new();
        let root = fs.root();
        let null = root
            .mknod_device(b"n", libc::S_IFCHR | 0o620, (3, 4), makedev(1, 3))
            .unwrap();
        let st = null.stat().unwrap();
        assert_eq!(
            (st.st_mode, st.st_rdev, st.st_uid),
            (libc::S_IFCHR | 0o620, makedev(1, 3), 3)
        );
        assert_eq!(root.readdir(0, 10).unwrap()[0].dtype, libc::DT_CHR);
        let f = null.open(libc::O_RDWR).unwrap();
        assert_eq!(f.write(b"xyz", 0, false), Ok(3));
        let mut b = [1u8; 4];
        assert_eq!(f.read(&mut b, 0, false), Ok(0));
        let disk = root
            .mknod_device(b"sda", libc::S_IFBLK | 0o600, (0, 0), makedev(8, 0))
            .unwrap();
        assert_eq!(disk.stat().unwrap().st_mode & libc::S_IFMT, libc::S_IFBLK);
        assert_eq!(disk.open(libc::O_RDONLY).err(), Some(Errno::ENXIO));
        let mem = root
            .mknod_device(b"mem", libc::S_IFCHR | 0o600, (0, 0), makedev(1, 1))
            .unwrap();
        assert_eq!(mem.open(libc::O_RDONLY).err(), Some(Errno::ENXIO));
        assert_eq!(
            root.mknod_device(b"n", libc::S_IFCHR, (0, 0), 0).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(
            root.mknod_device(b"x", libc::S_IFIFO, (0, 0), 0).err(),
            Some(Errno::EINVAL)
        );
    }
}
