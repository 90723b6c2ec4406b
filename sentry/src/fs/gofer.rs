//! The gofer filesystem: the container's rootfs, served by the gofer.
//!
//! Each node holds a gofer handle and the attributes the walk returned.
//! Regular files are read and written through the host fd the gofer
//! donates at open, with pread/pwrite, without an RPC per call.
//!
//! Read-only (the overlay's lower layer, a read-only root): the VFS caches
//! nodes in dentries and attributes are fetched once (nothing changes the
//! tree).
//!
//! Writable (`--overlay2=none`): changes go to the gofer (CREATE, MKDIR,
//! ..., SETATTR) and caches stay coherent the way the overlay keeps them:
//! directories are not cached by the VFS ([`Inode::cacheable`] is false);
//! each directory node caches what its names resolved to, and every change
//! writes an explicit entry, so a lookup racing with a change can only fill
//! a name nobody has written. Attributes live in one [`AttrCell`] per host
//! node (shared by hard links and by every handle of the node); a change
//! stores the attributes the gofer replies with, or marks the cell stale so
//! the next `stat` asks the gofer again (directories after a change of their
//! entries, files after a write through a donated fd).

use crate::vfs::inode::SetAttr;
use crate::vfs::{FileOps, FileSystem, Inode, RawDirent};
use gofer::protocol::{SETATTR_ATIME, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_SIZE, SETATTR_UID};
use gofer::{Attr, AttrChange, DirEntry, Handle, StatFs};
use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::structs::{Stat, Statfs};
use syscalls::{Errno, Pod};

/// `RENAME_EXCHANGE`.
const RENAME_EXCHANGE: u32 = 2;

/// What the filesystem needs from a gofer connection (the real client, or
/// an in-memory fake in tests).
pub trait GoferBackend: Send + Sync {
    /// The root node.
    fn attach(&self) -> Result<(Handle, Attr), Errno>;
    /// Batched walk: the longest existing prefix of `names`.
    fn walk(&self, dir: Handle, names: &[&[u8]]) -> Result<Vec<(Handle, Attr)>, Errno>;
    /// A donated host fd.
    fn open(&self, h: Handle, flags: i32) -> Result<OwnedFd, Errno>;
    /// A symlink's target.
    fn readlink(&self, h: Handle) -> Result<Vec<u8>, Errno>;
    /// Directory entries after `cookie`.
    fn getdents(&self, dir: Handle, cookie: u64, max: usize) -> Result<Vec<DirEntry>, Errno>;
    /// Filesystem statistics.
    fn statfs(&self, h: Handle) -> Result<StatFs, Errno>;
    /// Releases handles.
    fn close(&self, handles: &[Handle]);

    // The write path and extended attributes; a read-only backend keeps
    // the defaults.

    /// Fresh attributes of a node.
    fn stat(&self, _h: Handle) -> Result<Attr, Errno> {
        Err(Errno::ENOSYS)
    }
    /// Creates and opens a regular file.
    fn create(
        &self,
        _dir: Handle,
        _name: &[u8],
        _flags: i32,
        _mode: u32,
        _owner: (u32, u32),
    ) -> Result<(Handle, Attr, OwnedFd), Errno> {
        Err(Errno::EROFS)
    }
    /// Makes a directory.
    fn mkdir(&self, _dir: Handle, _name: &[u8], _mode: u32, _owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        Err(Errno::EROFS)
    }
    /// Makes a FIFO, socket node or empty regular file.
    fn mknod(&self, _dir: Handle, _name: &[u8], _mode: u32, _owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        Err(Errno::EROFS)
    }
    /// Makes a symlink.
    fn symlink(&self, _dir: Handle, _name: &[u8], _target: &[u8], _owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        Err(Errno::EROFS)
    }
    /// Makes a hard link.
    fn link(&self, _target: Handle, _dir: Handle, _name: &[u8]) -> Result<(Handle, Attr), Errno> {
        Err(Errno::EROFS)
    }
    /// Removes a name (`AT_REMOVEDIR` for a directory).
    fn unlink(&self, _dir: Handle, _name: &[u8], _flags: i32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// renameat2.
    fn rename(&self, _old_dir: Handle, _old: &[u8], _new_dir: Handle, _new: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// Changes attributes; returns them after the change.
    fn setattr(&self, _h: Handle, _change: &AttrChange) -> Result<Attr, Errno> {
        Err(Errno::EROFS)
    }
    /// An extended attribute's value.
    fn getxattr(&self, _h: Handle, _name: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENODATA)
    }
    /// Extended attribute names, NUL-terminated.
    fn listxattr(&self, _h: Handle) -> Result<Vec<u8>, Errno> {
        Ok(Vec::new())
    }
    /// Sets an extended attribute.
    fn setxattr(&self, _h: Handle, _name: &[u8], _value: &[u8], _flags: i32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// Removes an extended attribute.
    fn removexattr(&self, _h: Handle, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
}

impl GoferBackend for gofer::client::Client {
    fn attach(&self) -> Result<(Handle, Attr), Errno> {
        gofer::client::Client::attach(self)
    }
    fn walk(&self, dir: Handle, names: &[&[u8]]) -> Result<Vec<(Handle, Attr)>, Errno> {
        gofer::client::Client::walk(self, dir, names)
    }
    fn open(&self, h: Handle, flags: i32) -> Result<OwnedFd, Errno> {
        gofer::client::Client::open(self, h, flags)
    }
    fn readlink(&self, h: Handle) -> Result<Vec<u8>, Errno> {
        gofer::client::Client::readlink(self, h)
    }
    fn getdents(&self, dir: Handle, cookie: u64, max: usize) -> Result<Vec<DirEntry>, Errno> {
        gofer::client::Client::getdents(self, dir, cookie, max)
    }
    fn statfs(&self, h: Handle) -> Result<StatFs, Errno> {
        gofer::client::Client::statfs(self, h)
    }
    fn close(&self, handles: &[Handle]) {
        gofer::client::Client::close(self, handles)
    }
    fn stat(&self, h: Handle) -> Result<Attr, Errno> {
        gofer::client::Client::stat(self, h)
    }
    fn create(
        &self,
        dir: Handle,
        name: &[u8],
        flags: i32,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<(Handle, Attr, OwnedFd), Errno> {
        gofer::client::Client::create(self, dir, name, flags, mode, owner)
    }
    fn mkdir(&self, dir: Handle, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        gofer::client::Client::mkdir(self, dir, name, mode, owner)
    }
    fn mknod(&self, dir: Handle, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        gofer::client::Client::mknod(self, dir, name, mode, owner)
    }
    fn symlink(&self, dir: Handle, name: &[u8], target: &[u8], owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        gofer::client::Client::symlink(self, dir, name, target, owner)
    }
    fn link(&self, target: Handle, dir: Handle, name: &[u8]) -> Result<(Handle, Attr), Errno> {
        gofer::client::Client::link(self, target, dir, name)
    }
    fn unlink(&self, dir: Handle, name: &[u8], flags: i32) -> Result<(), Errno> {
        gofer::client::Client::unlink(self, dir, name, flags)
    }
    fn rename(&self, old_dir: Handle, old: &[u8], new_dir: Handle, new: &[u8], flags: u32) -> Result<(), Errno> {
        gofer::client::Client::rename(self, old_dir, old, new_dir, new, flags)
    }
    fn setattr(&self, h: Handle, change: &AttrChange) -> Result<Attr, Errno> {
        gofer::client::Client::setattr(self, h, change)
    }
    fn getxattr(&self, h: Handle, name: &[u8]) -> Result<Vec<u8>, Errno> {
        gofer::client::Client::getxattr(self, h, name)
    }
    fn listxattr(&self, h: Handle) -> Result<Vec<u8>, Errno> {
        gofer::client::Client::listxattr(self, h)
    }
    fn setxattr(&self, h: Handle, name: &[u8], value: &[u8], flags: i32) -> Result<(), Errno> {
        gofer::client::Client::setxattr(self, h, name, value, flags)
    }
    fn removexattr(&self, h: Handle, name: &[u8]) -> Result<(), Errno> {
        gofer::client::Client::removexattr(self, h, name)
    }
}

/// The filesystem as a whole.
pub struct GoferFs {
    backend: Arc<dyn GoferBackend>,
    root: Handle,
    /// Changes go to the gofer; lookups are cached by the nodes themselves.
    writable: bool,
    /// (dev, ino) -> the attributes every node of that host node shares.
    attrs: Mutex<AttrTable>,
    /// Serialises renames (the one change that edits two directories).
    renames: Mutex<()>,
}

#[derive(Default)]
struct AttrTable {
    cells: HashMap<(u64, u64), Weak<AttrCell>>,
    /// Dead entries are swept when the table grows past this.
    sweep_at: usize,
}

/// The cached attributes of one host node.
pub struct AttrCell {
    stat: Mutex<Stat>,
    /// Set when the host node may have changed behind the cache (a write
    /// through a donated fd, a change of a directory's entries): the next
    /// `stat` asks the gofer.
    stale: AtomicBool,
}

impl AttrCell {
    fn get(&self) -> Stat {
        *lock(&self.stat)
    }
    fn set(&self, st: Stat) {
        *lock(&self.stat) = st;
    }
    fn mark_stale(&self) {
        self.stale.store(true, Ordering::Release);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is one assignment or insert: a
    // poisoned lock still guards a consistent value.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl GoferFs {
    /// Attaches to the gofer's root: a read-only filesystem (the overlay's
    /// lower layer, a read-only root) and its root node.
    pub fn new_root<B: GoferBackend + 'static>(backend: Arc<B>) -> Result<(Arc<GoferFs>, Arc<dyn Inode>), Errno> {
        Self::attach(backend, false)
    }

    /// Attaches to a read-write gofer's root (`--overlay2=none`): changes
    /// write through to the host.
    pub fn new_root_writable<B: GoferBackend + 'static>(
        backend: Arc<B>,
    ) -> Result<(Arc<GoferFs>, Arc<dyn Inode>), Errno> {
        Self::attach(backend, true)
    }

    fn attach<B: GoferBackend + 'static>(
        backend: Arc<B>,
        writable: bool,
    ) -> Result<(Arc<GoferFs>, Arc<dyn Inode>), Errno> {
        let backend: Arc<dyn GoferBackend> = backend;
        let (root, attr) = backend.attach()?;
        if !attr.is_dir() {
            backend.close(&[root]);
            return Err(Errno::ENOTDIR);
        }
        let fs = Arc::new(GoferFs {
            backend,
            root,
            writable,
            attrs: Mutex::new(AttrTable::default()),
            renames: Mutex::new(()),
        });
        // The root inode does not own the handle: the filesystem's Drop closes it.
        let inode: Arc<dyn Inode> = GoferInode::new(fs.clone(), root, &attr, false);
        Ok((fs, inode))
    }

    /// The shared attribute cell of the host node `attr` describes, now
    /// holding `attr` (the freshest copy: it just came from the gofer).
    fn cell(&self, attr: &Attr) -> Arc<AttrCell> {
        let st = stat_from_attr(attr);
        let mut table = lock(&self.attrs);
        if let Some(cell) = table.cells.get(&(attr.dev, attr.ino)).and_then(Weak::upgrade) {
            cell.set(st);
            return cell;
        }
        let cell = Arc::new(AttrCell {
            stat: Mutex::new(st),
            stale: AtomicBool::new(false),
        });
        if table.cells.len() >= table.sweep_at {
            table.cells.retain(|_, w| w.strong_count() > 0);
            table.sweep_at = (table.cells.len() * 2).max(1024);
        }
        table.cells.insert((attr.dev, attr.ino), Arc::downgrade(&cell));
        cell
    }
}

impl Drop for GoferFs {
    fn drop(&mut self) {
        self.backend.close(&[self.root]);
    }
}

impl FileSystem for GoferFs {
    fn statfs(&self) -> Result<Statfs, Errno> {
        let s = self.backend.statfs(self.root)?;
        let mut out = Statfs::zeroed();
        out.f_type = s.fs_type;
        out.f_bsize = s.bsize;
        out.f_blocks = s.blocks;
        out.f_bfree = s.bfree;
        out.f_bavail = s.bavail;
        out.f_files = s.files;
        out.f_ffree = s.ffree;
        out.f_namelen = s.namelen;
        out.f_frsize = s.frsize;
        super::set_statfs_flags(&mut out, s.flags);
        // SAFETY: fsid_t is repr(C) { [c_int; 2] }; transmute checks the size.
        out.f_fsid = unsafe { std::mem::transmute::<[i32; 2], libc::fsid_t>(s.fsid) };
        Ok(out)
    }
}

/// `struct stat` from gofer attributes.
pub fn stat_from_attr(a: &Attr) -> Stat {
    let mut st = Stat::zeroed();
    st.st_dev = a.dev;
    st.st_ino = a.ino;
    st.st_mode = a.mode;
    st.st_nlink = a.nlink;
    st.st_uid = a.uid;
    st.st_gid = a.gid;
    st.st_rdev = a.rdev;
    st.st_size = a.size;
    st.st_blksize = a.blksize;
    st.st_blocks = a.blocks;
    (st.st_atime, st.st_atime_nsec) = a.atime;
    (st.st_mtime, st.st_mtime_nsec) = a.mtime;
    (st.st_ctime, st.st_ctime_nsec) = a.ctime;
    st
}

/// A node of the gofer filesystem.
pub struct GoferInode {
    fs: Arc<GoferFs>,
    handle: Handle,
    /// `S_IFMT` of the node (never changes).
    fmt: u32,
    attr: Arc<AttrCell>,
    /// A symlink's target, fetched once.
    target: OnceLock<Vec<u8>>,
    owns_handle: bool,
    /// Writable filesystems only: what names of this directory resolved to
    /// (`None`: known missing). See the module docs.
    children: Mutex<HashMap<Vec<u8>, Option<Arc<GoferInode>>>>,
    /// A read-only host fd of this regular file, shared by its read-only
    /// opens (reads are positional, so one fd serves every description):
    /// opening the same file again costs no gofer round trip.
    read_fd: Mutex<Option<Arc<OwnedFd>>>,
}

/// How many regular files keep a cached read-only fd (bounds the sentry's
/// own fd use; files beyond it are opened through the gofer each time).
const MAX_CACHED_READ_FDS: usize = 1024;

/// Read-only fds cached now, over every gofer filesystem.
static CACHED_READ_FDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// The fd CREATE donated for the file this thread just created, keyed by
    /// (filesystem, handle), so the `open` that follows the `create` needs no
    /// second round trip. One slot per thread: the next create replaces it.
    static CREATED: RefCell<Option<(usize, Handle, OwnedFd)>> = const { RefCell::new(None) };
}

impl GoferInode {
    fn new(fs: Arc<GoferFs>, handle: Handle, attr: &Attr, owns_handle: bool) -> Arc<GoferInode> {
        let cell = fs.cell(attr);
        Arc::new(GoferInode {
            fs,
            handle,
            fmt: attr.mode & libc::S_IFMT,
            attr: cell,
            target: OnceLock::new(),
            owns_handle,
            children: Mutex::new(HashMap::new()),
            read_fd: Mutex::new(None),
        })
    }

    /// The cached read-only fd of this regular file, opening (and caching,
    /// while there is room) one through the gofer if needed.
    fn shared_read_fd(&self) -> Result<Arc<OwnedFd>, Errno> {
        use std::sync::atomic::Ordering;
        let mut slot = self.read_fd.lock().map_err(|_| Errno::EIO)?;
        if let Some(fd) = slot.as_ref() {
            return Ok(fd.clone());
        }
        let fd = Arc::new(
            self.fs
                .backend
                .open(self.handle, libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY)?,
        );
        if CACHED_READ_FDS.fetch_add(1, Ordering::Relaxed) < MAX_CACHED_READ_FDS {
            *slot = Some(fd.clone());
        } else {
            CACHED_READ_FDS.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(fd)
    }

    fn is_dir(&self) -> bool {
        self.fmt == libc::S_IFDIR
    }

    fn fs_key(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    /// The cached binding of `name` (`Some(None)`: known missing).
    fn cached(&self, name: &[u8]) -> Option<Option<Arc<GoferInode>>> {
        lock(&self.children).get(name).cloned()
    }

    /// Binds `name` to what a lookup found unless a binding exists (a change
    /// made since the lookup started wins); returns the binding now in place
    /// and, to drop outside the lock, the node that lost.
    fn bind_found(
        &self,
        name: &[u8],
        node: Option<Arc<GoferInode>>,
    ) -> (Option<Arc<GoferInode>>, Option<Arc<GoferInode>>) {
        let mut children = lock(&self.children);
        match children.get(name) {
            Some(existing) => (existing.clone(), node),
            None => {
                children.insert(name.to_vec(), node.clone());
                (node, None)
            }
        }
    }

    /// Writes the binding of `name` after a change; returns the old one.
    fn bind(&self, name: &[u8], node: Option<Arc<GoferInode>>) -> Option<Option<Arc<GoferInode>>> {
        lock(&self.children).insert(name.to_vec(), node)
    }

    /// Forgets `name` (a change whose outcome is unknown).
    fn forget(&self, name: &[u8]) -> Option<Option<Arc<GoferInode>>> {
        lock(&self.children).remove(name)
    }

    /// The batched lookup of a writable filesystem: cached names first, then
    /// one walk for the rest, whose nodes are cached on the way.
    fn lookup_cached(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        let mut out: Vec<Arc<dyn Inode>> = Vec::new();
        let mut dir: Option<Arc<GoferInode>> = None;
        let mut i = 0;
        while i < names.len() {
            let d: &GoferInode = dir.as_deref().unwrap_or(self);
            if !d.is_dir() {
                break;
            }
            match d.cached(names[i]) {
                Some(Some(child)) => {
                    out.push(child.clone());
                    dir = Some(child);
                    i += 1;
                }
                Some(None) => break,
                None => {
                    let rest = &names[i..];
                    let nodes = match self.fs.backend.walk(d.handle, rest) {
                        Ok(n) => n,
                        Err(Errno::ENOENT) => Vec::new(),
                        Err(e) => return Err(e),
                    };
                    let found = nodes.len().min(rest.len());
                    let mut parent: Option<Arc<GoferInode>> = None;
                    let mut losers = Vec::new();
                    for (k, (h, a)) in nodes.into_iter().take(found).enumerate() {
                        let node = GoferInode::new(self.fs.clone(), h, &a, true);
                        let p: &GoferInode = parent.as_deref().unwrap_or(d);
                        let (bound, lost) = p.bind_found(rest[k], Some(node));
                        losers.extend(lost);
                        let Some(bound) = bound else {
                            // Removed meanwhile: the walk's answer is stale.
                            break;
                        };
                        out.push(bound.clone());
                        parent = Some(bound);
                    }
                    if found < rest.len() {
                        let p: &GoferInode = parent.as_deref().unwrap_or(d);
                        if p.is_dir() && out.len() == i + found {
                            let (_, lost) = p.bind_found(rest[found], None);
                            losers.extend(lost);
                        }
                    }
                    // Handles of nodes that lost a race close here, after
                    // every lock is released.
                    drop(losers);
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The attributes, asking the gofer again when they may be stale.
    fn fresh_stat(&self) -> Stat {
        if self.attr.stale.swap(false, Ordering::AcqRel) {
            match self.fs.backend.stat(self.handle) {
                Ok(a) => self.attr.set(stat_from_attr(&a)),
                // Keep the old attributes; try again next time.
                Err(_) => self.attr.mark_stale(),
            }
        }
        self.attr.get()
    }

    /// The gofer node behind `other`, if it is one of this filesystem's
    /// (EXDEV otherwise).
    fn same_fs<'a>(&self, other: &'a Arc<dyn Inode>) -> Result<&'a GoferInode, Errno> {
        let g = other
            .as_any()
            .and_then(|a| a.downcast_ref::<GoferInode>())
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&g.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        Ok(g)
    }

    fn writable(&self) -> Result<(), Errno> {
        if self.fs.writable {
            Ok(())
        } else {
            Err(Errno::EROFS)
        }
    }

    /// A new node made in this directory: bound to `name`, and this
    /// directory's own attributes (mtime, nlink) marked stale.
    fn adopt(&self, name: &[u8], h: Handle, attr: &Attr) -> Arc<GoferInode> {
        let node = GoferInode::new(self.fs.clone(), h, attr, true);
        let old = self.bind(name, Some(node.clone()));
        self.attr.mark_stale();
        drop(old);
        node
    }

    fn remove(&self, name: &[u8], flags: i32) -> Result<(), Errno> {
        self.writable()?;
        self.fs.backend.unlink(self.handle, name, flags)?;
        let old = self.bind(name, None);
        if let Some(Some(victim)) = &old {
            victim.attr.mark_stale();
        }
        self.attr.mark_stale();
        drop(old);
        Ok(())
    }

    fn apply(&self, change: &AttrChange) -> Result<(), Errno> {
        self.writable()?;
        let a = self.fs.backend.setattr(self.handle, change)?;
        self.attr.set(stat_from_attr(&a));
        self.attr.stale.store(false, Ordering::Release);
        Ok(())
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if self.read_fd.get_mut().map(|fd| fd.is_some()).unwrap_or(false) {
            CACHED_READ_FDS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        if self.owns_handle {
            self.fs.backend.close(&[self.handle]);
        }
    }
}

impl Inode for GoferInode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.fresh_stat())
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.fs.writable {
            return self.lookup_cached(names);
        }
        let nodes = self.fs.backend.walk(self.handle, names)?;
        Ok(nodes
            .into_iter()
            .map(|(h, a)| GoferInode::new(self.fs.clone(), h, &a, true) as Arc<dyn Inode>)
            .collect())
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if self.fmt != libc::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = self.target.get() {
            return Ok(t.clone());
        }
        let t = self.fs.backend.readlink(self.handle)?;
        Ok(self.target.get_or_init(|| t).clone())
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let entries = self.fs.backend.getdents(self.handle, cookie, max)?;
        Ok(entries
            .into_iter()
            .map(|e| RawDirent {
                ino: e.ino,
                cookie: e.off,
                dtype: e.dtype,
                name: e.name,
            })
            .collect())
    }

    fn open(&self, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        match self.fmt {
            // Device nodes of the image are never opened on the host: their
            // numbers lead to the sentry's own devices.
            libc::S_IFCHR | libc::S_IFBLK => return super::dev::open_device_stat(self.stat()?, flags),
            libc::S_IFSOCK => return Err(Errno::ENXIO),
            _ => {}
        }
        let trunc = if self.fs.writable { flags & libc::O_TRUNC } else { 0 };
        let host_flags = (flags & libc::O_ACCMODE) | trunc | libc::O_CLOEXEC | libc::O_NOCTTY;
        // The fd CREATE donated (read-write) serves the open right after it;
        // the file description enforces the access mode asked for.
        let donated = CREATED.with(|slot| {
            let mut slot = slot.borrow_mut();
            match slot.take() {
                Some((fs, h, fd)) if fs == self.fs_key() && h == self.handle => Some(fd),
                other => {
                    *slot = other;
                    None
                }
            }
        });
        let read_only = flags & libc::O_ACCMODE == libc::O_RDONLY && trunc == 0;
        let fd = match donated {
            Some(fd) => Arc::new(fd),
            None if read_only && self.fmt == libc::S_IFREG => self.shared_read_fd()?,
            None => Arc::new(self.fs.backend.open(self.handle, host_flags)?),
        };
        if trunc != 0 {
            self.attr.mark_stale();
        }
        Ok(Box::new(GoferFile {
            fd,
            attr: self.attr.clone(),
            writable: self.fs.writable,
            seekable: self.fmt == libc::S_IFREG,
        }))
    }

    fn cacheable(&self) -> bool {
        !self.fs.writable
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn create(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        self.writable()?;
        let flags = libc::O_RDWR | libc::O_EXCL;
        let (h, attr, fd) = self.fs.backend.create(self.handle, name, flags, mode & 0o7777, owner)?;
        let node = self.adopt(name, h, &attr);
        let old = CREATED.with(|slot| slot.borrow_mut().replace((self.fs_key(), h, fd)));
        drop(old);
        Ok(node)
    }

    fn mkdir(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(), Errno> {
        self.writable()?;
        let (h, attr) = self.fs.backend.mkdir(self.handle, name, mode & 0o7777, owner)?;
        self.adopt(name, h, &attr);
        Ok(())
    }

    fn symlink(&self, name: &[u8], target: &[u8], owner: (u32, u32)) -> Result<(), Errno> {
        self.writable()?;
        let (h, attr) = self.fs.backend.symlink(self.handle, name, target, owner)?;
        self.adopt(name, h, &attr);
        Ok(())
    }

    fn mknod(&self, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        self.writable()?;
        let (h, attr) = self.fs.backend.mknod(self.handle, name, mode, owner)?;
        Ok(self.adopt(name, h, &attr))
    }

    fn unlink(&self, name: &[u8]) -> Result<(), Errno> {
        self.remove(name, 0)
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        self.remove(name, libc::AT_REMOVEDIR)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        self.writable()?;
        let t = self.same_fs(target)?;
        let (h, attr) = self.fs.backend.link(t.handle, self.handle, name)?;
        // The new node shares the target's cell, which now holds nlink + 1.
        self.adopt(name, h, &attr);
        Ok(())
    }

    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: u32) -> Result<(), Errno> {
        self.writable()?;
        let nd = self.same_fs(new_dir)?;
        let _serial = lock(&self.fs.renames);
        self.fs.backend.rename(self.handle, name, nd.handle, new_name, flags)?;
        // The gofer's handles follow their nodes, so cached nodes move with
        // their names. A binding that was not cached is looked up at its
        // final place, so that both names get explicit entries.
        let moved = self.forget(name);
        let replaced = nd.forget(new_name);
        let settle = |known: Option<Option<Arc<GoferInode>>>, dir: &GoferInode, n: &[u8]| {
            let node = match known {
                Some(Some(node)) => Some(node),
                _ => match self.fs.backend.walk(dir.handle, &[n]) {
                    Ok(mut v) if v.len() == 1 => v.pop().map(|(h, a)| GoferInode::new(self.fs.clone(), h, &a, true)),
                    _ => None,
                },
            };
            if let Some(n) = &node {
                n.attr.mark_stale();
            }
            node
        };
        let moved = settle(moved, nd, new_name);
        let old_binding = if flags & RENAME_EXCHANGE != 0 {
            settle(replaced, self, name)
        } else {
            if let Some(Some(victim)) = &replaced {
                victim.attr.mark_stale();
            }
            None
        };
        let stale_a = self.bind(name, old_binding);
        let stale_b = nd.bind(new_name, moved);
        self.attr.mark_stale();
        nd.attr.mark_stale();
        drop((stale_a, stale_b));
        Ok(())
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        self.apply(&AttrChange {
            valid: SETATTR_SIZE,
            size,
            ..Default::default()
        })
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let mut c = AttrChange::default();
        if let Some(m) = attr.mode {
            c.valid |= SETATTR_MODE;
            c.mode = m & 0o7777;
        }
        if let Some(u) = attr.uid {
            c.valid |= SETATTR_UID;
            c.uid = u;
        }
        if let Some(g) = attr.gid {
            c.valid |= SETATTR_GID;
            c.gid = g;
        }
        if let Some(t) = attr.atime {
            c.valid |= SETATTR_ATIME;
            c.atime = t;
        }
        if let Some(t) = attr.mtime {
            c.valid |= SETATTR_MTIME;
            c.mtime = t;
        }
        if c.valid == 0 {
            return Ok(());
        }
        self.apply(&c)
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.fs.backend.getxattr(self.handle, name)
    }

    fn listxattr(&self) -> Result<Vec<u8>, Errno> {
        self.fs.backend.listxattr(self.handle)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> Result<(), Errno> {
        self.writable()?;
        self.fs.backend.setxattr(self.handle, name, value, flags)?;
        self.attr.mark_stale();
        Ok(())
    }

    fn removexattr(&self, name: &[u8]) -> Result<(), Errno> {
        self.writable()?;
        self.fs.backend.removexattr(self.handle, name)?;
        self.attr.mark_stale();
        Ok(())
    }
}

/// An open regular file (or FIFO) of the gofer filesystem.
pub struct GoferFile {
    fd: Arc<OwnedFd>,
    /// The node's attributes, shared with its inodes.
    attr: Arc<AttrCell>,
    /// On a writable filesystem the host file can change under the cache:
    /// fstat reads the donated fd, and writes mark the cache stale.
    writable: bool,
    seekable: bool,
}

impl FileOps for GoferFile {
    fn stat(&self) -> Result<Stat, Errno> {
        if !self.writable {
            return Ok(self.attr.get());
        }
        let mut host = std::mem::MaybeUninit::<libc::stat>::zeroed();
        // SAFETY: fstat writes one `struct stat` into `host`.
        if unsafe { libc::fstat(self.fd.as_raw_fd(), host.as_mut_ptr()) } < 0 {
            return Err(Errno::last());
        }
        // SAFETY: fstat succeeded and filled the struct (it was zeroed anyway).
        let st = stat_from_attr(&Attr::from(unsafe { &host.assume_init() }));
        self.attr.set(st);
        Ok(st)
    }

    fn seekable(&self) -> bool {
        self.seekable
    }

    fn read(&self, buf: &mut [u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe {
                if self.seekable {
                    libc::pread(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), off)
                } else {
                    libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                }
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = Errno::last();
            if e != Errno::EINTR {
                return Err(e);
            }
        }
    }

    fn write(&self, buf: &[u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        loop {
            // SAFETY: `buf` is valid for reads of its length.
            let n = unsafe {
                if self.seekable {
                    libc::pwrite(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), off)
                } else {
                    libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len())
                }
            };
            if n >= 0 {
                if n > 0 && self.seekable {
                    self.attr.mark_stale();
                }
                return Ok(n as usize);
            }
            let e = Errno::last();
            if e != Errno::EINTR {
                return Err(e);
            }
        }
    }

    fn host_fd(&self) -> Option<RawFd> {
        self.seekable.then(|| self.fd.as_raw_fd())
    }
}

#[cfg(test)]
mod tests;
