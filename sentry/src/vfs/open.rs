//! Opening files: the `open` flag rules (O_CREAT, O_EXCL, O_NOFOLLOW,
//! O_DIRECTORY, O_PATH, O_TRUNC and access modes against the node's type,
//! its permissions and the mount's read-only flag), and opening programs
//! for execve.

use super::file::{DirFile, FileDescription, FileRef, PathFile};
use super::inode::{is_dir, is_reg, is_symlink};
use super::mount::Location;
use super::perm::{self, MAY_EXEC, MAY_READ, MAY_WRITE};
use super::walk::{LastKind, Resolve, Walker};
use crate::kernel::Credentials;
use syscalls::Errno;

/// Flags kept by an `O_PATH` open (everything else is ignored).
const O_PATH_KEEP: i32 = libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY | libc::O_CLOEXEC;

/// The error for creating a name in `dir` where the filesystem cannot:
/// EROFS on a read-only mount, else the permission error or EPERM.
pub fn create_error(creds: &Credentials, dir: &Location) -> Errno {
    if dir.mount.read_only() {
        return Errno::EROFS;
    }
    match dir.inode().stat() {
        Ok(st) => match perm::check(creds, &st, MAY_WRITE | MAY_EXEC) {
            Err(e) => e,
            Ok(()) => Errno::EPERM,
        },
        Err(e) => e,
    }
}

/// Whether `creds` may create a name in `dir`: EROFS on a read-only
/// mount, else write and search permission on the directory.
pub fn may_create(creds: &Credentials, dir: &Location) -> Result<(), Errno> {
    if dir.mount.read_only() {
        return Err(Errno::EROFS);
    }
    perm::check(creds, &dir.inode().stat()?, MAY_WRITE | MAY_EXEC)
}

/// Who owns a node `creds` create in `dir`: the filesystem uid, and the
/// directory's group when it is set-group-id, else the filesystem gid.
pub fn new_owner(creds: &Credentials, dir: &Location) -> Result<(u32, u32), Errno> {
    let st = dir.inode().stat()?;
    let gid = if st.st_mode & libc::S_ISGID != 0 {
        st.st_gid
    } else {
        creds.fsgid
    };
    Ok((creds.fsuid, gid))
}

/// Resolves and opens `path` from `start` with open(2) `flags` (O_CREAT
/// creates with mode 0666).
pub fn open_path(w: &Walker<'_>, start: &Location, path: &[u8], flags: i32) -> Result<FileRef, Errno> {
    open_path_mode(w, start, path, flags, 0o666)
}

/// Resolves and opens `path` from `start` with open(2) `flags`; O_CREAT
/// creates a missing file with permission bits `mode` (umask already
/// applied).
pub fn open_path_mode(w: &Walker<'_>, start: &Location, path: &[u8], flags: i32, mode: u32) -> Result<FileRef, Errno> {
    open_path_how(w, start, path, flags, mode, &Resolve::default())
}

/// [`open_path_mode`] under openat2's restrictions `how`.
pub fn open_path_how(
    w: &Walker<'_>,
    start: &Location,
    path: &[u8],
    flags: i32,
    mode: u32,
    how: &Resolve,
) -> Result<FileRef, Errno> {
    let mut flags = flags;
    if flags & libc::O_PATH != 0 {
        flags &= O_PATH_KEEP;
    }
    if flags & O_TMPFILE_BIT != 0 {
        if flags & (libc::O_TMPFILE | libc::O_CREAT) != libc::O_TMPFILE || flags & libc::O_ACCMODE == libc::O_RDONLY {
            return Err(Errno::EINVAL);
        }
        let dir = w.resolve_with(start, path, true, how)?;
        return open_tmpfile(w, dir, flags, mode);
    }
    let loc = if flags & libc::O_CREAT != 0 {
        if flags & libc::O_DIRECTORY != 0 {
            return Err(Errno::EINVAL);
        }
        let p = w.resolve_parent_with(start, path, how)?;
        if p.kind != LastKind::Normal {
            return Err(Errno::EISDIR);
        }
        match w.lookup_in_with(&p.parent, &p.last, how)? {
            None if p.trailing_slash => return Err(Errno::EISDIR),
            None => {
                may_create(w.creds, &p.parent)?;
                let owner = new_owner(w.creds, &p.parent)?;
                let node = p.parent.inode().create(&p.last, mode & 0o7777, owner)?;
                crate::fs::inotify::on_create(&p.parent, &p.last, false);
                drop(node);
                // The new file is opened with the access asked for whatever
                // its mode, as Linux does.
                let loc = w.lookup_in(&p.parent, &p.last)?.ok_or(Errno::ENOENT)?;
                return open_checked(w, loc, flags, false);
            }
            Some(found) => {
                if flags & libc::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                let st = found.inode().stat()?;
                if is_symlink(st.st_mode) {
                    if flags & libc::O_NOFOLLOW != 0 {
                        return Err(Errno::ELOOP);
                    }
                    match w.resolve_with(start, path, true, how) {
                        // A dangling link: O_CREAT would create its target.
                        Err(Errno::ENOENT) => return Err(create_error(w.creds, &p.parent)),
                        r => r?,
                    }
                } else {
                    if p.trailing_slash || is_dir(st.st_mode) {
                        return Err(Errno::EISDIR);
                    }
                    found
                }
            }
        }
    } else {
        w.resolve_with(start, path, flags & libc::O_NOFOLLOW == 0, how)?
    };
    open_location(w, loc, flags)
}

/// `__O_TMPFILE`, the bit O_TMPFILE adds to O_DIRECTORY.
const O_TMPFILE_BIT: i32 = libc::O_TMPFILE & !libc::O_DIRECTORY;

/// O_TMPFILE: an unnamed regular file in directory `dir` (ENOTDIR for
/// anything else), permission bits `mode`; EOPNOTSUPP where the
/// filesystem cannot. Without O_EXCL linkat may name it later.
fn open_tmpfile(w: &Walker<'_>, dir: Location, flags: i32, mode: u32) -> Result<FileRef, Errno> {
    if !is_dir(dir.inode().stat()?.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    may_create(w.creds, &dir)?;
    let owner = new_owner(w.creds, &dir)?;
    let node = dir.inode().tmpfile(mode & 0o7777, owner, flags & libc::O_EXCL == 0)?;
    let name = format!("#{}", node.stat()?.st_ino).into_bytes();
    let loc = Location {
        mount: dir.mount.clone(),
        dentry: super::Dentry::new_detached(&dir.dentry, &name, node.clone()),
    };
    let ops = node.open(flags & !libc::O_TMPFILE)?;
    crate::fs::inotify::on_open(&loc, flags, false);
    Ok(FileDescription::new(ops, flags, Some(loc)))
}

/// Opens an already resolved location with open(2) `flags`.
pub fn open_location(w: &Walker<'_>, loc: Location, flags: i32) -> Result<FileRef, Errno> {
    open_checked(w, loc, flags, true)
}

/// [`open_location`], checking the node's permissions when `check_perm`.
fn open_checked(w: &Walker<'_>, loc: Location, flags: i32, check_perm: bool) -> Result<FileRef, Errno> {
    let st = loc.inode().stat()?;
    let mode = st.st_mode;
    if flags & libc::O_DIRECTORY != 0 && !is_dir(mode) {
        return Err(Errno::ENOTDIR);
    }
    if flags & libc::O_PATH != 0 {
        return Ok(FileDescription::new(
            Box::new(PathFile::new(loc.inode().clone())),
            flags,
            Some(loc),
        ));
    }
    if is_symlink(mode) {
        return Err(Errno::ELOOP);
    }
    let acc = flags & libc::O_ACCMODE;
    let trunc = flags & libc::O_TRUNC != 0;
    if is_dir(mode) && acc != libc::O_RDONLY {
        return Err(Errno::EISDIR);
    }
    let mut mask = match acc {
        libc::O_RDONLY => MAY_READ,
        libc::O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    if trunc {
        mask |= MAY_WRITE;
    }
    if mask & MAY_WRITE != 0 && loc.mount.read_only() && (is_reg(mode) || is_dir(mode)) {
        return Err(Errno::EROFS);
    }
    if check_perm {
        perm::check(w.creds, &st, mask)?;
    }
    let ftype = mode & libc::S_IFMT;
    if (ftype == libc::S_IFCHR || ftype == libc::S_IFBLK) && loc.mount.nodev() {
        return Err(Errno::EACCES);
    }
    let ops: Box<dyn super::FileOps> = if is_dir(mode) {
        let parent_ino = loc.parent(w.root).inode().stat()?.st_ino;
        Box::new(DirFile::new(loc.inode().clone(), parent_ino)?)
    } else {
        loc.inode().open(flags)?
    };
    // A new file (opened without the permission check) is not truncated.
    crate::fs::inotify::on_open(&loc, flags, trunc && is_reg(mode) && check_perm);
    Ok(FileDescription::new(ops, flags, Some(loc)))
}

/// Opens the program `path` for execve: symlinks followed; EACCES unless a
/// regular file with an execute bit the credentials may use.
pub fn open_exec_path(w: &Walker<'_>, start: &Location, path: &[u8]) -> Result<FileRef, Errno> {
    let loc = w.resolve(start, path, true)?;
    let st = loc.inode().stat()?;
    if !is_reg(st.st_mode) || loc.mount.noexec() {
        return Err(Errno::EACCES);
    }
    perm::check(w.creds, &st, MAY_EXEC)?;
    let ops = loc.inode().open(libc::O_RDONLY)?;
    Ok(FileDescription::new(ops, libc::O_RDONLY, Some(loc)))
}
