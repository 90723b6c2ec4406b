//! The virtual filesystem: the mount tree, path resolution, open file
//! descriptions and fd tables. Filesystems themselves live in [`crate::fs`].
//!
//! Shape (Linux's): a [`Dentry`] binds a name to an [`Inode`] and caches its
//! children; a [`Location`] is a (mount, dentry) pair; [`Walker`] resolves
//! paths; a [`FileDescription`] ([`FileRef`]) is an open file whose offset
//! and status flags `dup` and `fork` share; an [`FdTable`] maps fd numbers
//! to descriptions.
//!
//! # Lock order
//!
//! Acquire in this order, never the reverse; no lock is held across a
//! filesystem call except where stated.
//!
//! 1. `FdTable::slots` — held only to look up, insert or remove slots;
//!    descriptions taken out are dropped after it is released.
//! 2. `FileDescription::pos` — held for the whole of one read, write, lseek
//!    or getdents on the description (gofer round trips and host I/O
//!    included), serialising offset updates as Linux's `f_pos_lock` does.
//! 3. `DirFile::cursor` — the directory listing state, under `pos`.
//! 4. `Dentry::children` — one dentry's cache at a time, held only to read
//!    or insert entries, never across a filesystem lookup (two walkers may
//!    look up the same name concurrently; the first insert wins).
//!
//! The mount table (`Vfs::mounts`) has a lock of its own, held only to
//! read or change the list, never across a filesystem call.

pub mod dentry;
pub mod fdtable;
pub mod file;
pub mod inode;
pub mod locks;
pub mod mount;
pub mod open;
pub mod perm;
pub mod walk;

pub use dentry::Dentry;
pub use fdtable::FdTable;
pub use file::{FileDescription, FileRef};
pub use inode::{DirentOut, FileOps, FileSystem, Inode, RawDirent};
pub use mount::{Location, Mount, Vfs};
pub use walk::{LastKind, ParentOf, Resolve, Walker};

use crate::kernel::{Credentials, Task};
use std::sync::Arc;
use syscalls::Errno;

/// Root, working directory and umask of a task (shared by `CLONE_FS`,
/// copied by fork).
#[derive(Clone)]
pub struct FsContext {
    /// The mount tree.
    pub vfs: Arc<Vfs>,
    /// The task's root: absolute paths start here, `..` stops here.
    pub root: Location,
    /// The working directory.
    pub cwd: Location,
    /// File mode creation mask.
    pub umask: u32,
}

impl FsContext {
    /// A context rooted at the VFS root with working directory `cwd`
    /// (resolved as root; must be a directory).
    pub fn new(vfs: &Arc<Vfs>, cwd: &[u8], umask: u32) -> Result<FsContext, Errno> {
        let root = vfs.root();
        let creds = Credentials::new(0, 0, Vec::new());
        let w = Walker {
            vfs,
            root: &root,
            creds: &creds,
        };
        let path: &[u8] = if cwd.is_empty() { b"/" } else { cwd };
        let loc = w.resolve(&root, path, true)?;
        if !inode::is_dir(loc.inode().stat()?.st_mode) {
            return Err(Errno::ENOTDIR);
        }
        Ok(FsContext {
            vfs: vfs.clone(),
            root,
            cwd: loc,
            umask: umask & 0o777,
        })
    }

    /// A resolver with this context's root and `creds`' permissions.
    pub fn walker<'a>(&'a self, creds: &'a Credentials) -> Walker<'a> {
        Walker {
            vfs: &self.vfs,
            root: &self.root,
            creds,
        }
    }

    /// The working directory's path as getcwd reports it.
    pub fn cwd_path(&self) -> Vec<u8> {
        self.cwd.path_from(&self.root).unwrap_or_else(|| {
            let mut p = b"(unreachable)".to_vec();
            p.extend_from_slice(&self.cwd.path());
            p
        })
    }
}

/// Where a relative `path` given with `dirfd` starts: the cwd for
/// `AT_FDCWD`, else the directory `dirfd` refers to (EBADF, ENOTDIR).
/// Absolute paths ignore `dirfd`.
pub fn start_location(task: &Task, dirfd: i32, path: &[u8]) -> Result<Location, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(task.fs.root.clone());
    }
    if dirfd == libc::AT_FDCWD {
        return Ok(task.fs.cwd.clone());
    }
    let file = task.fds.get(dirfd)?;
    let loc = file.location().cloned().ok_or(Errno::ENOTDIR)?;
    if !path.is_empty() && !inode::is_dir(loc.inode().stat()?.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    Ok(loc)
}

/// Resolves `path` relative to `dirfd` for the task (`follow`: follow a
/// final symlink).
pub fn lookup_at(task: &Task, dirfd: i32, path: &[u8], follow: bool) -> Result<Location, Errno> {
    let start = start_location(task, dirfd, path)?;
    task.fs.walker(&task.creds).resolve(&start, path, follow)
}

/// Opens `path` relative to `dirfd` with open(2) `flags` (the fd is not
/// installed).
pub fn open_at(task: &Task, dirfd: i32, path: &[u8], flags: i32) -> Result<FileRef, Errno> {
    let start = start_location(task, dirfd, path)?;
    open::open_path(&task.fs.walker(&task.creds), &start, path, flags)
}

/// Opens the program at `path` for execve (see [`open::open_exec_path`]).
pub fn open_exec(task: &Task, path: &[u8]) -> Result<FileRef, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    open::open_exec_path(&task.fs.walker(&task.creds), &task.fs.cwd, path)
}

#[cfg(test)]
mod tests;
