//! The mount tree and locations in it.
//!
//! A [`Location`] is a (mount, dentry) pair, as Linux's `struct path`: the
//! same dentry can be reached through different mounts, and `..` at a
//! mount's root continues in the parent mount from the mountpoint.

use super::dentry::Dentry;
use super::inode::{FileSystem, Inode};
use crate::fs::{dev::DevFs, synthetic::StaticDir};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use syscalls::Errno;

/// Per-mount flags, with the values of statfs's `ST_*` bits so that
/// `f_flags` is a copy of them.
pub mod flags {
    /// Read-only: every write path is EROFS.
    pub const RDONLY: u32 = 1;
    /// Set-user-id and set-group-id bits are ignored by execve.
    pub const NOSUID: u32 = 2;
    /// Device nodes cannot be opened (EACCES).
    pub const NODEV: u32 = 4;
    /// Files cannot be executed (execve EACCES, PROT_EXEC mappings EPERM).
    pub const NOEXEC: u32 = 8;
    /// Access times are not updated.
    pub const NOATIME: u32 = 1024;
    /// Directory access times are not updated.
    pub const NODIRATIME: u32 = 2048;
    /// Access times are updated relative to mtime/ctime (the default).
    pub const RELATIME: u32 = 4096;
    /// Every flag a mount can carry.
    pub const ALL: u32 = RDONLY | NOSUID | NODEV | NOEXEC | NOATIME | NODIRATIME | RELATIME;
}

/// One mounted filesystem.
pub struct Mount {
    /// Unique id (`stx_mnt_id`, /proc/self/mountinfo).
    pub id: u64,
    /// The root of the mount: the filesystem's root, or any dentry of it
    /// for a bind mount.
    pub root: Arc<Dentry>,
    /// Where it is mounted: parent mount and mountpoint (`None` for the root mount).
    pub parent: Option<(Arc<Mount>, Arc<Dentry>)>,
    /// [`flags`] bits; remount changes them.
    flags: AtomicU32,
    /// The filesystem (for statfs).
    pub fs: Arc<dyn FileSystem>,
    /// The filesystem type name (`tmpfs`, `proc`, ...).
    pub fstype: &'static str,
    /// The mount source as /proc/self/mounts shows it.
    pub source: String,
    /// Unmounted with `MNT_DETACH` while still in use: `..` stops at its root.
    detached: AtomicBool,
}

impl Mount {
    /// A new mount (not yet in any table).
    pub fn new(
        root: Arc<Dentry>,
        parent: Option<(Arc<Mount>, Arc<Dentry>)>,
        flags: u32,
        fs: Arc<dyn FileSystem>,
        fstype: &'static str,
        source: &str,
    ) -> Arc<Mount> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Arc::new(Mount {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            root,
            parent,
            flags: AtomicU32::new(flags & flags::ALL),
            fs,
            fstype,
            source: source.to_string(),
            detached: AtomicBool::new(false),
        })
    }

    /// The [`flags`] bits.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// Replaces the [`flags`] bits (remount).
    pub fn set_flags(&self, f: u32) {
        self.flags.store(f & flags::ALL, Ordering::Release);
    }

    /// Writes through this mount are EROFS.
    pub fn read_only(&self) -> bool {
        self.flags() & flags::RDONLY != 0
    }

    /// execve ignores set-id bits of files under this mount.
    pub fn nosuid(&self) -> bool {
        self.flags() & flags::NOSUID != 0
    }

    /// Device nodes under this mount cannot be opened.
    pub fn nodev(&self) -> bool {
        self.flags() & flags::NODEV != 0
    }

    /// Files under this mount cannot be executed or mapped executable.
    pub fn noexec(&self) -> bool {
        self.flags() & flags::NOEXEC != 0
    }

    /// Whether the mount was detached from the tree.
    pub fn is_detached(&self) -> bool {
        self.detached.load(Ordering::Acquire)
    }

    /// The path of the mount's root inside its filesystem ("/" unless a
    /// bind mount of a subtree), the fourth field of mountinfo.
    pub fn root_path(&self) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut cur = self.root.clone();
        while let Some(p) = cur.parent() {
            parts.push(cur.name().to_vec());
            cur = p;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }
}

/// A place in the mount tree.
#[derive(Clone)]
pub struct Location {
    /// The mount.
    pub mount: Arc<Mount>,
    /// The dentry, inside `mount`.
    pub dentry: Arc<Dentry>,
}

impl Location {
    /// Whether both name the same place.
    pub fn same(&self, other: &Location) -> bool {
        Arc::ptr_eq(&self.mount, &other.mount) && Arc::ptr_eq(&self.dentry, &other.dentry)
    }

    /// The node.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.dentry.inode
    }

    /// Where `..` leads from here: never above `root`, and across mounts.
    pub fn parent(&self, root: &Location) -> Location {
        let mut cur = self.clone();
        loop {
            if cur.same(root) {
                return cur;
            }
            if Arc::ptr_eq(&cur.dentry, &cur.mount.root) {
                match &cur.mount.parent {
                    Some((pm, pd)) if !cur.mount.is_detached() => {
                        cur = Location {
                            mount: pm.clone(),
                            dentry: pd.clone(),
                        };
                        continue;
                    }
                    _ => return cur,
                }
            }
            let dentry = cur.dentry.parent().unwrap_or_else(|| cur.dentry.clone());
            return Location {
                mount: cur.mount,
                dentry,
            };
        }
    }

    /// The path from `root` to here ("/" for `root` itself); `None` when
    /// this location is not under `root`.
    pub fn path_from(&self, root: &Location) -> Option<Vec<u8>> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = self.clone();
        loop {
            if cur.same(root) {
                break;
            }
            if Arc::ptr_eq(&cur.dentry, &cur.mount.root) {
                match &cur.mount.parent {
                    Some((pm, pd)) => {
                        cur = Location {
                            mount: pm.clone(),
                            dentry: pd.clone(),
                        };
                        continue;
                    }
                    None => return None,
                }
            }
            parts.push(cur.dentry.name().to_vec());
            let parent = cur.dentry.parent()?;
            cur = Location {
                mount: cur.mount,
                dentry: parent,
            };
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Some(out)
    }

    /// The absolute path from the root of the mount tree.
    pub fn path(&self) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = self.clone();
        loop {
            if Arc::ptr_eq(&cur.dentry, &cur.mount.root) {
                match &cur.mount.parent {
                    Some((pm, pd)) => {
                        cur = Location {
                            mount: pm.clone(),
                            dentry: pd.clone(),
                        };
                        continue;
                    }
                    None => break,
                }
            }
            parts.push(cur.dentry.name().to_vec());
            match cur.dentry.parent() {
                Some(p) => {
                    cur = Location {
                        mount: cur.mount,
                        dentry: p,
                    }
                }
                None => break,
            }
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }
}

/// A filesystem mounted at boot: name under /, root, filesystem, read-only.
type SubMount = (&'static [u8], Arc<dyn Inode>, Arc<dyn FileSystem>, bool);

/// The sandbox's mount tree.
pub struct Vfs {
    root: Location,
    /// Every mount but the root one, in mount order (looked up when a walk
    /// enters a mountpoint; changed by mount(2) and umount2(2)).
    mounts: RwLock<Vec<Arc<Mount>>>,
}

/// The flags of the mounts made at boot.
const DEV_FLAGS: u32 = flags::NOSUID | flags::RELATIME;
const PROC_FLAGS: u32 = flags::NOSUID | flags::NODEV | flags::NOEXEC | flags::RELATIME;
const SHM_FLAGS: u32 = flags::NOSUID | flags::NODEV | flags::RELATIME;
const DEVPTS_FLAGS: u32 = flags::NOSUID | flags::NOEXEC | flags::RELATIME;

impl Vfs {
    /// The sandbox's VFS over the gofer's root (`--overlay2=none`), with
    /// devfs (a tmpfs) at /dev, shm at /dev/shm, procfs at /proc and sysfs at /sys.
    /// The root writes through to the host (the gofer runs read-write)
    /// unless `read_only` (OCI `root.readonly`).
    pub fn new(gofer: Arc<gofer::client::Client>, read_only: bool) -> Result<Arc<Vfs>, Errno> {
        let (fs, root) = if read_only {
            crate::fs::gofer::GoferFs::new_root(gofer)?
        } else {
            crate::fs::gofer::GoferFs::new_root_writable(gofer)?
        };
        Vfs::with_root_of_type(root, fs, read_only, "9p")
    }

    /// The sandbox's VFS whose root is an in-memory overlay over the
    /// gofer's root (`--overlay2=root:memory`): writable, and nothing
    /// written reaches the host.
    pub fn new_overlay(gofer: Arc<gofer::client::Client>) -> Result<Arc<Vfs>, Errno> {
        let (lower_fs, lower_root) = crate::fs::gofer::GoferFs::new_root(gofer)?;
        let overlay = crate::fs::overlay::OverlayFs::new(lower_root, lower_fs)?;
        Vfs::with_root(overlay.root(), overlay, false)
    }

    /// The VFS over any root filesystem (tests use a fake gofer).
    pub fn with_root(root: Arc<dyn Inode>, fs: Arc<dyn FileSystem>, read_only: bool) -> Result<Arc<Vfs>, Errno> {
        let root_type = if read_only { "9p" } else { "overlay" };
        Vfs::with_root_of_type(root, fs, read_only, root_type)
    }

    /// [`with_root`](Vfs::with_root) with the root's filesystem type as
    /// /proc/self/mounts shows it.
    fn with_root_of_type(
        root: Arc<dyn Inode>,
        fs: Arc<dyn FileSystem>,
        read_only: bool,
        root_type: &'static str,
    ) -> Result<Arc<Vfs>, Errno> {
        let root_flags = flags::RELATIME | if read_only { flags::RDONLY } else { 0 };
        let root_mount = Mount::new(Dentry::new_root(root), None, root_flags, fs, root_type, "none");
        let root_loc = Location {
            mount: root_mount.clone(),
            dentry: root_mount.root.clone(),
        };
        let mut mounts = Vec::new();
        let devfs = DevFs::new()?;
        let subs: [SubMount; 3] = [
            (b"dev", devfs.root(), devfs.clone(), false),
            {
                let (proc_root, proc_fs) = crate::fs::proc::new_procfs();
                (b"proc", proc_root, proc_fs, true)
            },
            {
                let (sys_root, sys_fs) = crate::fs::sysfs::new_sysfs();
                (b"sys", sys_root, sys_fs, true)
            },
        ];
        for (name, inode, fs, ro) in subs {
            let mountpoint = Self::mountpoint(&root_mount.root, name)?;
            mountpoint.set_mountpoint();
            let (fstype, extra) = match name {
                // A tmpfs, as runc's /dev.
                b"dev" => ("tmpfs", DEV_FLAGS),
                b"proc" => ("proc", PROC_FLAGS),
                _ => ("sysfs", PROC_FLAGS),
            };
            let f = extra | if ro { flags::RDONLY } else { 0 };
            let m = Mount::new(
                Dentry::new_root(inode),
                Some((root_mount.clone(), mountpoint)),
                f,
                fs,
                fstype,
                fstype,
            );
            mounts.push(m);
        }
        // POSIX shared memory and named semaphores: a tmpfs at /dev/shm.
        let dev_mount = mounts.first().cloned().ok_or(Errno::EIO)?;
        let shm = crate::fs::tmpfs::TmpFs::new();
        let shm_point = Self::mountpoint(&dev_mount.root, b"shm")?;
        shm_point.set_mountpoint();
        mounts.push(Mount::new(
            Dentry::new_root(shm.root()),
            Some((dev_mount.clone(), shm_point)),
            SHM_FLAGS,
            shm,
            "tmpfs",
            "shm",
        ));
        // Pseudo-terminals: devpts at /dev/pts.
        let pts = devfs.devpts();
        let pts_point = Self::mountpoint(&dev_mount.root, b"pts")?;
        pts_point.set_mountpoint();
        mounts.push(Mount::new(
            Dentry::new_root(pts.root()),
            Some((dev_mount.clone(), pts_point)),
            DEVPTS_FLAGS,
            pts.clone(),
            "devpts",
            "devpts",
        ));
        // The console (the sentry's terminal) mounted on the file
        // /dev/console, as runc bind-mounts the console replica there.
        if let Some(console) = devfs.console() {
            let file = dev_mount.root.lookup(&[b"console"])?.ok_or(Errno::EIO)?;
            let point = dev_mount.root.replace(b"console", file.inode.clone());
            point.set_mountpoint();
            mounts.push(Mount::new(
                Dentry::new_root(console),
                Some((dev_mount, point)),
                DEVPTS_FLAGS,
                pts,
                "devpts",
                "devpts",
            ));
        }
        Ok(Arc::new(Vfs {
            root: root_loc,
            mounts: RwLock::new(mounts),
        }))
    }

    /// The dentry `name` under `dir` to mount on: the filesystem's own
    /// directory when it has one, else a placeholder directory.
    pub fn mountpoint(dir: &Arc<Dentry>, name: &[u8]) -> Result<Arc<Dentry>, Errno> {
        if let Ok(Some(d)) = dir.lookup(&[name]) {
            if d.inode
                .stat()
                .map(|st| super::inode::is_dir(st.st_mode))
                .unwrap_or(false)
            {
                if !dir.inode.cacheable() {
                    // Uncached lookups make a new dentry each time: bind
                    // the mountpoint in the cache, which walks consult first.
                    return Ok(dir.replace(name, d.inode.clone()));
                }
                return Ok(d);
            }
        }
        Ok(dir.replace(name, StaticDir::empty_root(0)))
    }

    fn table(&self) -> RwLockReadGuard<'_, Vec<Arc<Mount>>> {
        // Every update of the table is a single push or retain.
        self.mounts.read().unwrap_or_else(|e| e.into_inner())
    }

    fn table_mut(&self) -> RwLockWriteGuard<'_, Vec<Arc<Mount>>> {
        self.mounts.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every mount, the root mount first, then in mount order (for
    /// /proc/[pid]/mounts).
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        let mut all = vec![self.root.mount.clone()];
        all.extend(self.table().iter().cloned());
        all
    }

    /// The root of the mount tree.
    pub fn root(&self) -> Location {
        self.root.clone()
    }

    /// If something is mounted at `loc`, the root of the topmost mount there.
    pub fn follow_mounts(&self, mut loc: Location) -> Location {
        while loc.dentry.is_mountpoint() {
            let found = self
                .table()
                .iter()
                .find(|m| {
                    m.parent
                        .as_ref()
                        .is_some_and(|(pm, pd)| Arc::ptr_eq(pm, &loc.mount) && Arc::ptr_eq(pd, &loc.dentry))
                })
                .cloned();
            let Some(m) = found else {
                break;
            };
            loc = Location {
                mount: m.clone(),
                dentry: m.root.clone(),
            };
        }
        loc
    }

    /// The dentry to mount on for `at`: the same dentry, made findable by
    /// later walks. Dentries of uncacheable directories (tmpfs, procfs) are
    /// made afresh by every lookup, so the chain from the mount's root down
    /// to `at` is bound into the parents' caches.
    fn stable_dentry(at: &Location) -> Arc<Dentry> {
        fn pin(d: &Arc<Dentry>, top: &Arc<Dentry>) -> Arc<Dentry> {
            if Arc::ptr_eq(d, top) {
                return d.clone();
            }
            let Some(parent) = d.parent() else {
                return d.clone();
            };
            let parent = pin(&parent, top);
            match parent.cached(d.name()) {
                Some(Some(existing)) if std::ptr::addr_eq(Arc::as_ptr(&existing.inode), Arc::as_ptr(&d.inode)) => {
                    existing
                }
                _ => parent.replace(d.name(), d.inode.clone()),
            }
        }
        pin(&at.dentry, &at.mount.root)
    }

    /// Mounts the tree rooted at `root` (a dentry of `fs`) on `at` with
    /// [`flags`] bits `f`; returns the new mount.
    pub fn mount_at(
        &self,
        at: &Location,
        root: Arc<Dentry>,
        fs: Arc<dyn FileSystem>,
        fstype: &'static str,
        source: &str,
        f: u32,
    ) -> Arc<Mount> {
        let point = Self::stable_dentry(at);
        point.set_mountpoint();
        let m = Mount::new(root, Some((at.mount.clone(), point)), f, fs, fstype, source);
        self.table_mut().push(m.clone());
        m
    }

    /// A bind mount of `src` on `at` (the same dentry seen through a new
    /// mount, with `src`'s mount's flags); `recursive` (MS_REC) copies the
    /// mounts below `src` too.
    pub fn bind(&self, src: &Location, at: &Location) -> Arc<Mount> {
        let m = &src.mount;
        self.mount_at(at, src.dentry.clone(), m.fs.clone(), m.fstype, &m.source, m.flags())
    }

    /// Copies onto `new` (a bind of `src`) the mounts found below `src`.
    pub fn bind_submounts(&self, src: &Location, new: &Arc<Mount>) {
        let snapshot: Vec<Arc<Mount>> = self.table().clone();
        fn under(d: &Arc<Dentry>, top: &Arc<Dentry>) -> bool {
            let mut cur = Some(d.clone());
            while let Some(c) = cur {
                if Arc::ptr_eq(&c, top) {
                    return true;
                }
                cur = c.parent();
            }
            false
        }
        fn copy(vfs: &Vfs, snapshot: &[Arc<Mount>], from: &Arc<Mount>, top: &Arc<Dentry>, onto: &Arc<Mount>) {
            for c in snapshot {
                let Some((pm, pd)) = &c.parent else { continue };
                if !Arc::ptr_eq(pm, from) || !under(pd, top) {
                    continue;
                }
                let nc = Mount::new(
                    c.root.clone(),
                    Some((onto.clone(), pd.clone())),
                    c.flags(),
                    c.fs.clone(),
                    c.fstype,
                    &c.source,
                );
                vfs.table_mut().push(nc.clone());
                copy(vfs, snapshot, c, &c.root, &nc);
            }
        }
        copy(self, &snapshot, &src.mount, &src.dentry, new);
    }

    /// The mounts whose parent is `m`.
    pub fn children_of(&self, m: &Arc<Mount>) -> Vec<Arc<Mount>> {
        self.table()
            .iter()
            .filter(|c| c.parent.as_ref().is_some_and(|(pm, _)| Arc::ptr_eq(pm, m)))
            .cloned()
            .collect()
    }

    /// Unmounts the mount whose root `target` is (EINVAL otherwise, and
    /// for the root mount). Without `detach` it is EBUSY while anything
    /// else holds a place in it (a cwd, an open file, a submount); with
    /// `detach` it and its submounts leave the tree at once and live on
    /// for those who still use them.
    pub fn umount(&self, target: Location, detach: bool) -> Result<(), Errno> {
        let Location { mount: m, dentry } = target;
        if !Arc::ptr_eq(&dentry, &m.root) || m.is_detached() {
            return Err(Errno::EINVAL);
        }
        drop(dentry);
        if m.parent.is_none() {
            return Err(if detach { Errno::EINVAL } else { Errno::EBUSY });
        }
        let mut table = self.table_mut();
        let mut doomed = vec![m.clone()];
        let mut i = 0;
        while i < doomed.len() {
            let cur = doomed[i].clone();
            doomed.extend(
                table
                    .iter()
                    .filter(|c| c.parent.as_ref().is_some_and(|(pm, _)| Arc::ptr_eq(pm, &cur)))
                    .cloned(),
            );
            i += 1;
        }
        if !detach {
            // References: the table's, `m`, `doomed[0]`; any other is a user.
            if doomed.len() > 1 || Arc::strong_count(&m) > 3 {
                return Err(Errno::EBUSY);
            }
        }
        table.retain(|t| !doomed.iter().any(|d| Arc::ptr_eq(d, t)));
        for d in &doomed {
            d.detached.store(true, Ordering::Release);
        }
        // The mountpoint is no longer one unless another mount sits there.
        if let Some((pm, pd)) = &m.parent {
            let still = table
                .iter()
                .any(|c| c.parent.as_ref().is_some_and(|(_, d)| Arc::ptr_eq(d, pd)));
            if !still {
                pd.clear_mountpoint();
                if let Some(parent) = pd.parent() {
                    if !parent.inode.cacheable() && !Arc::ptr_eq(pd, &pm.root) {
                        parent.forget(pd.name());
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fs::tmpfs::TmpFs;
    use crate::kernel::Credentials;
    use crate::vfs::Walker;

    fn setup() -> Arc<Vfs> {
        let fs = TmpFs::new();
        let root = fs.root();
        for d in [&b"mnt"[..], b"a", b"c"] {
            root.mkdir(d, 0o755, (0, 0)).unwrap();
        }
        let a = root.lookup(&[b"a"]).unwrap().remove(0);
        a.mkdir(b"b", 0o755, (0, 0)).unwrap();
        let b = a.lookup(&[b"b"]).unwrap().remove(0);
        b.create(b"f", 0o644, (0, 0)).unwrap();
        b.mkdir(b"sub", 0o755, (0, 0)).unwrap();
        Vfs::with_root(root, fs, false).unwrap()
    }

    fn resolve(vfs: &Vfs, path: &str) -> Result<Location, Errno> {
        let root = vfs.root();
        let creds = Credentials::new(0, 0, Vec::new());
        let w = Walker {
            vfs,
            root: &root,
            creds: &creds,
        };
        w.resolve(&root, path.as_bytes(), true)
    }

    fn new_tmpfs(vfs: &Vfs, at: &str) -> Arc<Mount> {
        let t = TmpFs::new();
        let at = resolve(vfs, at).unwrap();
        vfs.mount_at(&at, Dentry::new_root(t.root()), t, "tmpfs", "none", flags::RELATIME)
    }

    #[test]
    fn mount_on_an_uncached_directory_and_umount() {
        let vfs = setup();
        let m = new_tmpfs(&vfs, "/mnt");
        let inside = resolve(&vfs, "/mnt").unwrap();
        assert!(Arc::ptr_eq(&inside.mount, &m));
        inside.inode().create(b"x", 0o644, (0, 0)).unwrap();
        assert!(resolve(&vfs, "/mnt/x").is_ok());
        assert_eq!(resolve(&vfs, "/mnt/..").unwrap().path(), b"/");
        assert_eq!(resolve(&vfs, "/mnt/x").unwrap().path(), b"/mnt/x");
        // Busy while a location inside is held (a cwd, an open file).
        let held = resolve(&vfs, "/mnt/x").unwrap();
        assert_eq!(vfs.umount(resolve(&vfs, "/mnt").unwrap(), false), Err(Errno::EBUSY));
        drop((held, inside, m));
        // Only a mount's root can be unmounted.
        let t = TmpFs::new();
        let c = resolve(&vfs, "/c").unwrap();
        vfs.mount_at(&c, Dentry::new_root(t.root()), t, "tmpfs", "none", 0);
        resolve(&vfs, "/c").unwrap().inode().mkdir(b"d", 0o755, (0, 0)).unwrap();
        assert_eq!(vfs.umount(resolve(&vfs, "/c/d").unwrap(), false), Err(Errno::EINVAL));
        vfs.umount(resolve(&vfs, "/mnt").unwrap(), false).unwrap();
        assert_eq!(resolve(&vfs, "/mnt/x").err(), Some(Errno::ENOENT));
        assert!(!resolve(&vfs, "/mnt").unwrap().dentry.is_mountpoint());
        // The root mount is never unmounted.
        assert_eq!(vfs.umount(vfs.root(), false), Err(Errno::EBUSY));
    }

    #[test]
    fn submounts_are_busy_and_detach_takes_them_all() {
        let vfs = setup();
        new_tmpfs(&vfs, "/mnt");
        resolve(&vfs, "/mnt")
            .unwrap()
            .inode()
            .mkdir(b"in", 0o755, (0, 0))
            .unwrap();
        let inner = new_tmpfs(&vfs, "/mnt/in");
        let before = vfs.mounts().len();
        assert_eq!(vfs.umount(resolve(&vfs, "/mnt").unwrap(), false), Err(Errno::EBUSY));
        let held = resolve(&vfs, "/mnt/in").unwrap();
        vfs.umount(resolve(&vfs, "/mnt").unwrap(), true).unwrap();
        assert_eq!(vfs.mounts().len(), before - 2);
        assert!(inner.is_detached());
        // The held place still works, and `..` stops at its mount's root.
        assert!(held.inode().stat().is_ok());
        assert!(Arc::ptr_eq(&held.parent(&vfs.root()).dentry, &held.dentry));
    }

    #[test]
    fn bind_mounts_share_the_tree_and_rec_copies_submounts() {
        let vfs = setup();
        new_tmpfs(&vfs, "/a/b/sub");
        let src = resolve(&vfs, "/a/b").unwrap();
        let at = resolve(&vfs, "/c").unwrap();
        let m = vfs.bind(&src, &at);
        assert_eq!(m.root_path(), b"/a/b");
        // The same file through both mounts.
        let f1 = resolve(&vfs, "/a/b/f").unwrap().inode().stat().unwrap();
        let f2 = resolve(&vfs, "/c/f").unwrap().inode().stat().unwrap();
        assert_eq!((f1.st_dev, f1.st_ino), (f2.st_dev, f2.st_ino));
        // Without MS_REC the submount is not there.
        let sub = resolve(&vfs, "/c/sub").unwrap();
        assert!(Arc::ptr_eq(&sub.mount, &m));
        // A recursive bind elsewhere carries it.
        let at2 = resolve(&vfs, "/mnt").unwrap();
        let m2 = vfs.bind(&src, &at2);
        vfs.bind_submounts(&src, &m2);
        let sub2 = resolve(&vfs, "/mnt/sub").unwrap();
        assert!(!Arc::ptr_eq(&sub2.mount, &m2));
        assert_eq!(sub2.mount.fstype, "tmpfs");
        assert_eq!(sub2.path(), b"/mnt/sub");
        // Flags are per mount: a read-only bind leaves the source writable.
        m.set_flags(flags::RDONLY);
        assert!(resolve(&vfs, "/c").unwrap().mount.read_only());
        assert!(!resolve(&vfs, "/a/b").unwrap().mount.read_only());
    }
}
