//! The mount tree and locations in it.
//!
//! A [`Location`] is a (mount, dentry) pair, as Linux's `struct path`: the
//! same dentry can be reached through different mounts, and `..` at a
//! mount's root continues in the parent mount from the mountpoint.

use super::dentry::Dentry;
use super::inode::{FileSystem, Inode};
use crate::fs::{dev::DevFs, synthetic::StaticDir};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use syscalls::Errno;

/// One mounted filesystem.
pub struct Mount {
    /// Unique id (for `stx_mnt_id` and /proc/self/mountinfo later).
    pub id: u64,
    /// The root of the mounted filesystem.
    pub root: Arc<Dentry>,
    /// Where it is mounted: parent mount and mountpoint (`None` for the root mount).
    pub parent: Option<(Arc<Mount>, Arc<Dentry>)>,
    /// Writes through this mount are EROFS.
    pub read_only: bool,
    /// The filesystem (for statfs).
    pub fs: Arc<dyn FileSystem>,
}

impl Mount {
    fn new(
        root: Arc<Dentry>,
        parent: Option<(Arc<Mount>, Arc<Dentry>)>,
        read_only: bool,
        fs: Arc<dyn FileSystem>,
    ) -> Arc<Mount> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Arc::new(Mount {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            root,
            parent,
            read_only,
            fs,
        })
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
                    Some((pm, pd)) => {
                        cur = Location {
                            mount: pm.clone(),
                            dentry: pd.clone(),
                        };
                        continue;
                    }
                    None => return cur,
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
    /// Every mount but the root one (looked up when a walk enters a mountpoint).
    mounts: Vec<Arc<Mount>>,
}

impl Vfs {
    /// The sandbox's VFS over the gofer's root (`--overlay2=none`), with
    /// devfs at /dev, shm at /dev/shm, procfs at /proc and an empty
    /// read-only directory at /sys. The root writes through to the host
    /// (the gofer runs read-write) unless `read_only` (OCI `root.readonly`).
    pub fn new(gofer: Arc<gofer::client::Client>, read_only: bool) -> Result<Arc<Vfs>, Errno> {
        let (fs, root) = if read_only {
            crate::fs::gofer::GoferFs::new_root(gofer)?
        } else {
            crate::fs::gofer::GoferFs::new_root_writable(gofer)?
        };
        Vfs::with_root(root, fs, read_only)
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
        let root_mount = Mount::new(Dentry::new_root(root), None, read_only, fs);
        let root_loc = Location {
            mount: root_mount.clone(),
            dentry: root_mount.root.clone(),
        };
        let mut mounts = Vec::new();
        let devfs = DevFs::new();
        let subs: [SubMount; 3] = [
            (b"dev", devfs.root(), devfs.clone(), false),
            {
                let (proc_root, proc_fs) = crate::fs::proc::new_procfs();
                (b"proc", proc_root, proc_fs, true)
            },
            (
                b"sys",
                StaticDir::empty_root(crate::fs::SYSFS_MAGIC),
                StaticDir::fs(crate::fs::SYSFS_MAGIC),
                true,
            ),
        ];
        for (name, inode, fs, ro) in subs {
            let mountpoint = Self::mountpoint(&root_mount.root, name)?;
            mountpoint.set_mountpoint();
            let m = Mount::new(Dentry::new_root(inode), Some((root_mount.clone(), mountpoint)), ro, fs);
            mounts.push(m);
        }
        // POSIX shared memory and named semaphores: a tmpfs at /dev/shm.
        let dev_mount = mounts.first().cloned().ok_or(Errno::EIO)?;
        let shm = crate::fs::shm::ShmFs::new();
        let shm_point = Self::mountpoint(&dev_mount.root, b"shm")?;
        shm_point.set_mountpoint();
        mounts.push(Mount::new(
            Dentry::new_root(shm.root()),
            Some((dev_mount.clone(), shm_point)),
            false,
            shm,
        ));
        // Pseudo-terminals: devpts at /dev/pts.
        let pts = devfs.devpts();
        let pts_point = Self::mountpoint(&dev_mount.root, b"pts")?;
        pts_point.set_mountpoint();
        mounts.push(Mount::new(
            Dentry::new_root(pts.root()),
            Some((dev_mount, pts_point)),
            false,
            pts,
        ));
        Ok(Arc::new(Vfs { root: root_loc, mounts }))
    }

    /// The dentry `name` under `dir` to mount on: the filesystem's own
    /// directory when it has one, else a placeholder directory.
    fn mountpoint(dir: &Arc<Dentry>, name: &[u8]) -> Result<Arc<Dentry>, Errno> {
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

    /// Every mount, the root mount first (for /proc/[pid]/mounts).
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        let mut all = vec![self.root.mount.clone()];
        all.extend(self.mounts.iter().cloned());
        all
    }

    /// The root of the mount tree.
    pub fn root(&self) -> Location {
        self.root.clone()
    }

    /// If something is mounted at `loc`, the root of the topmost mount there.
    pub fn follow_mounts(&self, mut loc: Location) -> Location {
        while loc.dentry.is_mountpoint() {
            let Some(m) = self.mounts.iter().find(|m| {
                m.parent
                    .as_ref()
                    .is_some_and(|(pm, pd)| Arc::ptr_eq(pm, &loc.mount) && Arc::ptr_eq(pd, &loc.dentry))
            }) else {
                break;
            };
            loc = Location {
                mount: m.clone(),
                dentry: m.root.clone(),
            };
        }
        loc
    }
}
