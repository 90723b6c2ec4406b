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
        let mut links = 0;
        self.walk(start, path, follow, &mut links)
    }

    /// Resolves all but the last component of `path`.
    pub fn resolve_parent(&self, start: &Location, path: &[u8]) -> Result<ParentOf, Errno> {
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
            self.resolve(start, dir, true)?
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

    fn child(&self, dir: &Location, names: &[&[u8]]) -> Result<Option<Location>, Errno> {
        let Some(d): Option<Arc<Dentry>> = dir.dentry.lookup(names)? else {
            return Ok(None);
        };
        Ok(Some(self.vfs.follow_mounts(Location {
            mount: dir.mount.clone(),
            dentry: d,
        })))
    }

    fn walk(&self, start: &Location, path: &[u8], follow: bool, links: &mut u32) -> Result<Location, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
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
                cur = cur.parent(self.root);
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
            let nst = next.inode().stat()?;
            if is_symlink(nst.st_mode) && (!is_last || follow || must_dir) {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = next.inode().readlink()?;
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                if target[0] == b'/' {
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
