//! Path resolution: the one place that turns a guest path into a location.
//!
//! Absolute paths start at the task's root, relative ones at the given start
//! (cwd or a dirfd). Symlinks are expanded inside the sandbox's own mount
//! tree (absolute targets restart at the task's root), at most
//! [`MAX_SYMLINKS`] per resolution; `..` never climbs above the task's root
//! and crosses mount points; a trailing slash requires a directory. Every
//! directory walked through needs search permission. Runs of uncached names
//! are looked up in one filesystem call (see [`Dentry::lookup`]).

use super::dentry::Dentry;
use super::inode::{is_dir, is_symlink};
use super::mount::{Location, Vfs};
use super::perm::{self, MAY_EXEC};
use crate::kernel::Credentials;
use std::sync::Arc;
use syscalls::Errno;

/// Linux's limit on symlinks followed in one resolution.
pub const MAX_SYMLINKS: u32 = 40;
/// Longest single path component.
pub const NAME_MAX: usize = 255;
/// Most names prefetched in one batched lookup.
const BATCH: usize = 32;

/// What the last component of a path is, for calls that act on a name in a
/// directory (create, unlink, rename ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastKind {
    /// An ordinary name.
    Normal,
    /// ".".
    Dot,
    /// "..".
    DotDot,
    /// The path is "/" (only slashes).
    Root,
}

/// A resolved parent directory and the final name in it.
pub struct ParentOf {
    /// The directory holding the last component.
    pub parent: Location,
    /// The last component (empty for [`LastKind::Root`]).
    pub last: Vec<u8>,
    /// Its kind.
    pub kind: LastKind,
    /// The path ended with a slash.
    pub trailing_slash: bool,
}

/// openat2's restrictions on a resolution (`RESOLVE_*`; `RESOLVE_IN_ROOT`
/// is a [`Walker`] whose root is the starting directory).
#[derive(Clone, Copy, Debug, Default)]
pub struct Resolve {
    /// `RESOLVE_NO_XDEV`: crossing a mount point (either way) is EXDEV.
    pub no_xdev: bool,
    /// `RESOLVE_NO_MAGICLINKS`: procfs magic links are ELOOP.
    pub no_magiclinks: bool,
    /// `RESOLVE_NO_SYMLINKS`: every symlink followed is ELOOP.
    pub no_symlinks: bool,
    /// `RESOLVE_BENEATH`: leaving the starting directory (absolute paths
    /// and symlinks, `..` above it) is EXDEV.
    pub beneath: bool,
    /// `RESOLVE_IN_ROOT`: magic links (which could leave the root) are EXDEV.
    pub in_root: bool,
}

/// A resolver bound to a task's view: its mount tree, root and credentials.
pub struct Walker<'a> {
    /// The mount tree.
    pub vfs: &'a Vfs,
    /// The task's root (absolute paths and `..` stop here).
    pub root: &'a Location,
    /// Whose permissions apply.
    pub creds: &'a Credentials,
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

fn is_normal(name: &[u8]) -> bool {
    name != b"." && name != b".."
}

impl Walker<'_> {
    /// Resolves `path` from `start`. With `follow` false a final symlink is
    /// returned itself (lstat, O_NOFOLLOW); a trailing slash always follows.
    pub fn resolve(&self, start: &Location, path: &[u8], follow: bool) -> Result<Location, Errno> {
        self.resolve_with(start, path, follow, &Resolve::default())
    }

    /// [`resolve`](Walker::resolve) under openat2's restrictions `how`.
    pub fn resolve_with(&self, start: &Location, path: &[u8], follow: bool, how: &Resolve) -> Result<Location, Errno> {
        let mut links = 0;
        self.walk(start, path, follow, &mut links, how)
    }

    /// Resolves all but the last component of `path`.
    pub fn resolve_parent(&self, start: &Location, path: &[u8]) -> Result<ParentOf, Errno> {
        self.resolve_parent_with(start, path, &Resolve::default())
    }

    /// [`resolve_parent`](Walker::resolve_parent) under openat2's
    /// restrictions `how`.
    pub fn resolve_parent_with(&self, start: &Location, path: &[u8], how: &Resolve) -> Result<ParentOf, Errno> {
        if how.beneath && path.first() == Some(&b'/') {
            return Err(Errno::EXDEV);
        }
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let trimmed_len = path.iter().rposition(|&b| b != b'/').map(|i| i + 1).unwrap_or(0);
        if trimmed_len == 0 {
            return Ok(ParentOf {
                parent: self.root.clone(),
                last: Vec::new(),
                kind: LastKind::Root,
                trailing_slash: true,
            });
        }
        let trimmed = &path[..trimmed_len];
        let trailing_slash = trimmed_len < path.len();
        let (dir, last) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let parent = if dir.is_empty() {
            start.clone()
        } else {
            self.resolve_with(start, dir, true, how)?
        };
        let st = parent.inode().stat()?;
        if !is_dir(st.st_mode) {
            return Err(Errno::ENOTDIR);
        }
        let kind = match last {
            b"." => LastKind::Dot,
            b".." => LastKind::DotDot,
            _ => LastKind::Normal,
        };
        if kind == LastKind::Normal && last.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(ParentOf {
            parent,
            last: last.to_vec(),
            kind,
            trailing_slash,
        })
    }

    /// Looks `name` up in directory `dir` (which must be searchable), crossing
    /// into anything mounted on the result. `Ok(None)`: no such entry.
    pub fn lookup_in(&self, dir: &Location, name: &[u8]) -> Result<Option<Location>, Errno> {
        let st = dir.inode().stat()?;
        if !is_dir(st.st_mode) {
            return Err(Errno::ENOTDIR);
        }
        perm::check(self.creds, &st, MAY_EXEC)?;
        match name {
            b"." => return Ok(Some(dir.clone())),
            b".." => return Ok(Some(dir.parent(self.root))),
            _ => {}
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        self.child(dir, &[name])
    }

    /// [`lookup_in`](Walker::lookup_in) under openat2's restrictions `how`
    /// (the last component of a creating open).
    pub fn lookup_in_with(&self, dir: &Location, name: &[u8], how: &Resolve) -> Result<Option<Location>, Errno> {
        let found = self.lookup_in(dir, name)?;
        if how.no_xdev && found.as_ref().is_some_and(|f| !Arc::ptr_eq(&f.mount, &dir.mount)) {
            return Err(Errno::EXDEV);
        }
        Ok(found)
    }

    fn child(&self, dir: &Location, names: &[&[u8]]) -> Result<Option<Location>, Errno> {
        let Some(d): Option<Arc<Dentry>> = dir.dentry.lookup(names)? else {
            return Ok(None);
        };
        Ok(Some(self.vfs.follow_mounts(Location {
            mount: dir.mount.clone(),
            dentry: d,
        })))
    }

    fn walk(
        &self,
        start: &Location,
        path: &[u8],
        follow: bool,
        links: &mut u32,
        how: &Resolve,
    ) -> Result<Location, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path[0] == b'/' && how.beneath {
            return Err(Errno::EXDEV);
        }
        let mut cur = if path[0] == b'/' {
            self.root.clone()
        } else {
            start.clone()
        };
        let mut must_dir = path.last() == Some(&b'/');
        // Components still to walk, last one first.
        let mut pending: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
        while let Some(name) = pending.pop() {
            let is_last = pending.is_empty();
            let st = cur.inode().stat()?;
            if !is_dir(st.st_mode) {
                return Err(Errno::ENOTDIR);
            }
            perm::check(self.creds, &st, MAY_EXEC)?;
            if name == b"." {
                continue;
            }
            if name == b".." {
                if how.beneath && cur.same(start) {
                    return Err(Errno::EXDEV);
                }
                let up = cur.parent(self.root);
                if how.no_xdev && !Arc::ptr_eq(&up.mount, &cur.mount) {
                    return Err(Errno::EXDEV);
                }
                cur = up;
                continue;
            }
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            let mut batch: Vec<&[u8]> = vec![&name];
            batch.extend(
                pending
                    .iter()
                    .rev()
                    .take_while(|n| is_normal(n) && n.len() <= NAME_MAX)
                    .take(BATCH - 1)
                    .map(Vec::as_slice),
            );
            let next = self.child(&cur, &batch)?.ok_or(Errno::ENOENT)?;
            if how.no_xdev && !Arc::ptr_eq(&next.mount, &cur.mount) {
                return Err(Errno::EXDEV);
            }
            let nst = next.inode().stat()?;
            if is_symlink(nst.st_mode) && (!is_last || follow || must_dir) {
                *links += 1;
                if *links > MAX_SYMLINKS || how.no_symlinks {
                    return Err(Errno::ELOOP);
                }
                if let Some(jump) = next.inode().magic_link() {
                    // A procfs link to an open file: to the file itself.
                    if how.no_magiclinks {
                        return Err(Errno::ELOOP);
                    }
                    if how.beneath || how.in_root {
                        return Err(Errno::EXDEV);
                    }
                    // Files without a place (pipes, host stdio) fall back
                    // to walking the link's text.
                    if let Ok(place) = jump {
                        cur = place;
                        continue;
                    }
                }
                let target = next.inode().readlink()?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target[0] == b'/' {
                    if how.beneath {
                        return Err(Errno::EXDEV);
                    }
                    if how.no_xdev && !Arc::ptr_eq(&self.root.mount, &cur.mount) {
                        return Err(Errno::EXDEV);
                    }
                    cur = self.root.clone();
                }
                if is_last && target.last() == Some(&b'/') {
                    must_dir = true;
                }
                pending.extend(components(&target).rev().map(<[u8]>::to_vec));
                continue;
            }
            cur = next;
        }
        if must_dir && !is_dir(cur.inode().stat()?.st_mode) {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }
}
