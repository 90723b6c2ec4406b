//! Dentries: the cache of names. Each directory dentry remembers what each
//! name it was asked about resolved to (a child dentry, or "missing"), so
//! repeated walks of the same paths never reach the filesystem again.
//!
//! The container owns its rootfs, so nothing changes it behind our back and
//! entries are never invalidated; filesystems whose contents are dynamic say
//! so with [`Inode::cacheable`] and are looked up every time.

use super::inode::{is_dir, Inode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use syscalls::Errno;

/// A name bound to a node, in a tree of names.
pub struct Dentry {
    name: Vec<u8>,
    /// Weak to avoid a cycle: the parent's cache holds the child strongly, and
    /// every cached dentry stays reachable from its filesystem's root.
    parent: Weak<Dentry>,
    /// The node.
    pub inode: Arc<dyn Inode>,
    /// name -> child (`None`: known to be missing).
    children: Mutex<HashMap<Vec<u8>, Option<Arc<Dentry>>>>,
    /// Set once something is mounted here (checked on every step of a walk).
    mountpoint: AtomicBool,
    /// The parent, held strongly by children of uncacheable directories:
    /// no cache holds those parents, and `..` and getcwd need them.
    pinned_parent: Option<Arc<Dentry>>,
}

impl Dentry {
    /// The root dentry of a filesystem.
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: Vec::new(),
            parent: Weak::new(),
            inode,
            children: Mutex::new(HashMap::new()),
            mountpoint: AtomicBool::new(false),
            pinned_parent: None,
        })
    }

    /// A child of `parent`; `pin`: hold the parent strongly (for children
    /// that no cache holds).
    fn new_child(parent: &Arc<Dentry>, name: &[u8], inode: Arc<dyn Inode>, pin: bool) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: name.to_vec(),
            parent: Arc::downgrade(parent),
            inode,
            children: Mutex::new(HashMap::new()),
            mountpoint: AtomicBool::new(false),
            pinned_parent: pin.then(|| parent.clone()),
        })
    }

    /// A child of `parent` that no cache holds: the unnamed dentry of an
    /// O_TMPFILE file.
    pub fn new_detached(parent: &Arc<Dentry>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Dentry::new_child(parent, name, inode, true)
    }

    /// The name in the parent directory (empty for a filesystem root).
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The parent dentry (`None` for a filesystem root).
    pub fn parent(&self) -> Option<Arc<Dentry>> {
        match &self.pinned_parent {
            Some(p) => Some(p.clone()),
            None => self.parent.upgrade(),
        }
    }

    /// Whether a filesystem is mounted on this dentry.
    pub fn is_mountpoint(&self) -> bool {
        self.mountpoint.load(Ordering::Acquire)
    }

    pub(super) fn set_mountpoint(&self) {
        self.mountpoint.store(true, Ordering::Release);
    }

    pub(super) fn clear_mountpoint(&self) {
        self.mountpoint.store(false, Ordering::Release);
    }

    /// Drops whatever the cache binds `name` to (an unmounted mountpoint
    /// of an uncacheable directory, bound only while it was one).
    pub(super) fn forget(&self, name: &[u8]) {
        self.children().remove(name);
    }

    fn children(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Option<Arc<Dentry>>>> {
        // A poisoned cache is still a valid cache: every update is one insert.
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches `name -> inode` unless a positive entry exists; returns the
    /// dentry now bound to the name.
    pub(super) fn insert(self: &Arc<Self>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let mut children = self.children();
        if let Some(Some(existing)) = children.get(name) {
            return existing.clone();
        }
        let d = Dentry::new_child(self, name, inode, false);
        children.insert(name.to_vec(), Some(d.clone()));
        d
    }

    /// Replaces whatever `name` is bound to (used to place mountpoints).
    pub(super) fn replace(self: &Arc<Self>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let d = Dentry::new_child(self, name, inode, false);
        self.children().insert(name.to_vec(), Some(d.clone()));
        d
    }

    /// Binds `name` to `inode` in the cache whatever the filesystem says:
    /// a placeholder to mount on where the filesystem cannot make the
    /// directory (a read-only root).
    pub fn replace_for_mount(self: &Arc<Self>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        self.replace(name, inode)
    }

    /// The cached binding of `name`: `Some(None)` when known missing.
    pub fn cached(&self, name: &[u8]) -> Option<Option<Arc<Dentry>>> {
        self.children().get(name).cloned()
    }

    /// Looks up `names[0]` in this directory; `names[1..]` are the components
    /// the caller will look up next, prefetched in the same filesystem call.
    pub fn lookup(self: &Arc<Self>, names: &[&[u8]]) -> Result<Option<Arc<Dentry>>, Errno> {
        let Some(first) = names.first() else {
            return Ok(None);
        };
        if let Some(hit) = self.cached(first) {
            return Ok(hit);
        }
        if !self.inode.cacheable() {
            // The rest of the names let the filesystem prefetch.
            let nodes = self.inode.lookup(names)?;
            return Ok(nodes
                .into_iter()
                .next()
                .map(|n| Dentry::new_child(self, first, n, true)));
        }
        let nodes = match self.inode.lookup(names) {
            Ok(n) => n,
            Err(Errno::ENOENT) => Vec::new(),
            Err(e) => return Err(e),
        };
        let found = nodes.len().min(names.len());
        let mut parent = self.clone();
        let mut result = None;
        for (i, node) in nodes.into_iter().take(found).enumerate() {
            let d = parent.insert(names[i], node);
            if i == 0 {
                result = Some(d.clone());
            }
            parent = d;
        }
        if found < names.len() {
            // The walk stopped at names[found]: missing if its would-be parent
            // is a directory (otherwise the walk stopped at a non-directory).
            let parent_is_dir = parent.inode.stat().map(|st| is_dir(st.st_mode)).unwrap_or(false);
            if parent_is_dir && parent.inode.cacheable() {
                parent.children().entry(names[found].to_vec()).or_insert(None);
            }
        }
        Ok(result)
    }
}
