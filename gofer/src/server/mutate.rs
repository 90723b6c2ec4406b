//! The server's handlers for extended attributes and for the messages that
//! change the tree (CREATE ... REMOVEXATTR).
//!
//! Confinement is the same as for lookups: every host call is relative to a
//! directory fd the server holds, with a single validated component, or on a
//! node's own `O_PATH` fd with `AT_EMPTY_PATH`; nothing follows a symlink.
//! New nodes are made with no permission bits, given their owner, and only
//! then their mode, so they are never more open than asked, whatever the
//! gofer's umask.

use super::{Node, Parent, Reply, Server, PASS};
use crate::protocol::{
    validate_name, validate_xattr_name, Encoder, Request, MAX_XATTR_LIST, MAX_XATTR_VALUE, PATH_MAX, SETATTR_ALL,
    SETATTR_ATIME, SETATTR_GID, SETATTR_MODE, SETATTR_MTIME, SETATTR_SIZE, SETATTR_UID,
};
use crate::sys;
use crate::types::{Attr, AttrChange};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;
use syscalls::Errno;

/// `RENAME_NOREPLACE`.
const RENAME_NOREPLACE: u32 = 1;
/// `RENAME_EXCHANGE`.
const RENAME_EXCHANGE: u32 = 2;

impl Server {
    /// The handlers of [`Request`]s other than the original read-only set.
    pub(super) fn dispatch_more(&mut self, req: Request) -> Result<Reply, Errno> {
        let mut e = Encoder::new();
        match req {
            Request::GetXattr { handle, name } => {
                validate_xattr_name(&name)?;
                let value = self.getxattr(handle, &name)?;
                e.bytes(&value);
            }
            Request::ListXattr(handle) => {
                let list = self.listxattr(handle)?;
                e.bytes(&list);
            }
            Request::Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => {
                let (h, attr, fd) = self.create(dir, &name, flags as i32, mode, (uid, gid))?;
                e.u64(h).attr(&attr);
                return Ok((e.buf, Some(fd)));
            }
            Request::Mkdir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => {
                let (h, attr) = self.mkdir(dir, &name, mode, (uid, gid))?;
                e.u64(h).attr(&attr);
            }
            Request::Mknod {
                dir,
                name,
                mode,
                uid,
                gid,
            } => {
                let (h, attr) = self.mknod(dir, &name, mode, (uid, gid))?;
                e.u64(h).attr(&attr);
            }
            Request::Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => {
                let (h, attr) = self.symlink(dir, &name, &target, (uid, gid))?;
                e.u64(h).attr(&attr);
            }
            Request::Link { target, dir, name } => {
                let (h, attr) = self.link(target, dir, &name)?;
                e.u64(h).attr(&attr);
            }
            Request::Unlink { dir, name, flags } => self.unlink(dir, &name, flags)?,
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => self.rename(old_dir, &old_name, new_dir, &new_name, flags)?,
            Request::SetAttr { handle, change } => {
                let attr = self.setattr(handle, &change)?;
                e.attr(&attr);
            }
            Request::SetXattr {
                handle,
                name,
                value,
                flags,
            } => {
                validate_xattr_name(&name)?;
                self.setxattr(handle, &name, &value, flags)?;
            }
            Request::RemoveXattr { handle, name } => {
                validate_xattr_name(&name)?;
                self.removexattr(handle, &name)?;
            }
            // The original messages are handled by `dispatch` itself.
            _ => return Err(Errno::ENOSYS),
        }
        Ok((e.buf, None))
    }

    /// The directory behind `h` (`ENOTDIR` for other nodes), its fd and identity.
    fn dir_of(&self, h: u64) -> Result<(Rc<OwnedFd>, (u64, u64)), Errno> {
        let node = self.node(h)?;
        if !node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok((Rc::clone(&node.fd), (node.dev, node.ino)))
    }

    /// Registers the node now named `name` in `dir` as a new handle; `expect`
    /// is the (dev, ino) it must have (`ESTALE` if something else is there).
    fn adopt(
        &mut self,
        dir: (Rc<OwnedFd>, (u64, u64)),
        name: &[u8],
        expect: Option<(u64, u64)>,
    ) -> Result<(u64, Attr), Errno> {
        let fd = sys::openat(dir.0.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW)?;
        let st = sys::fstat(fd.as_fd())?;
        if expect.is_some_and(|id| id != (st.st_dev, st.st_ino)) {
            return Err(Errno::ESTALE);
        }
        let node = Node {
            fd: Rc::new(fd),
            parent: Some(Parent {
                fd: dir.0,
                name: name.to_vec(),
                id: dir.1,
            }),
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            dir: None,
        };
        let h = self.insert(vec![node])?;
        Ok((h[0], Attr::from(&st)))
    }

    fn create(
        &mut self,
        dir: u64,
        name: &[u8],
        flags: i32,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<(u64, Attr, OwnedFd), Errno> {
        validate_name(name)?;
        let d = self.dir_of(dir)?;
        if mode & !0o7777 != 0
            || flags & libc::O_ACCMODE == libc::O_ACCMODE
            || flags & (libc::O_PATH | libc::O_DIRECTORY | libc::O_TMPFILE) != 0
        {
            return Err(Errno::EINVAL);
        }
        let base = (flags & PASS & !libc::O_DIRECTORY) | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK;
        let (fd, created) = match sys::openat_mode(d.0.as_fd(), name, base | libc::O_CREAT | libc::O_EXCL, 0) {
            Ok(fd) => (fd, true),
            Err(Errno::EEXIST) if flags & libc::O_EXCL == 0 => {
                // An existing name: only a regular file is opened (never a
                // device, and a symlink is not followed).
                let probe = sys::openat(d.0.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW)?;
                let st = sys::fstat(probe.as_fd())?;
                match st.st_mode & libc::S_IFMT {
                    libc::S_IFREG => {}
                    libc::S_IFDIR => return Err(Errno::EISDIR),
                    libc::S_IFLNK => return Err(Errno::ELOOP),
                    _ => return Err(Errno::EEXIST),
                }
                let fd = sys::openat(d.0.as_fd(), name, base)?;
                let now = sys::fstat(fd.as_fd())?;
                if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
                    return Err(Errno::ESTALE);
                }
                (fd, false)
            }
            Err(e) => return Err(e),
        };
        if created {
            let dir_fd = Rc::clone(&d.0);
            finish_new(&dir_fd, name, fd.as_fd(), owner, None, false)?;
            if let Err(e) = sys::fchmod(fd.as_fd(), mode) {
                let _ = sys::unlinkat(dir_fd.as_fd(), name, 0);
                return Err(e);
            }
        }
        if flags & libc::O_NONBLOCK == 0 {
            sys::set_status_flags(fd.as_fd(), base & !libc::O_NONBLOCK)?;
        }
        let st = sys::fstat(fd.as_fd())?;
        let (h, _) = self.adopt(d, name, Some((st.st_dev, st.st_ino)))?;
        Ok((h, Attr::from(&st), fd))
    }

    fn mkdir(&mut self, dir: u64, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(u64, Attr), Errno> {
        validate_name(name)?;
        if mode & !0o7777 != 0 {
            return Err(Errno::EINVAL);
        }
        let d = self.dir_of(dir)?;
        sys::mkdirat(d.0.as_fd(), name, 0)?;
        let fd = match sys::openat(d.0.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = sys::unlinkat(d.0.as_fd(), name, libc::AT_REMOVEDIR);
                return Err(e);
            }
        };
        let st = sys::fstat(fd.as_fd())?;
        // A directory made in a set-group-id directory inherits the bit.
        let mode = mode | (st.st_mode & libc::S_ISGID);
        finish_new(&d.0, name, fd.as_fd(), owner, Some(mode), true)?;
        self.adopt(d, name, Some((st.st_dev, st.st_ino)))
    }

    fn mknod(&mut self, dir: u64, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(u64, Attr), Errno> {
        validate_name(name)?;
        let d = self.dir_of(dir)?;
        let perm = mode & 0o7777;
        match mode & libc::S_IFMT {
            0 | libc::S_IFREG => {
                let fd = sys::openat_mode(
                    d.0.as_fd(),
                    name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                    0,
                )?;
                drop(fd);
            }
            libc::S_IFIFO | libc::S_IFSOCK => sys::mknodat(d.0.as_fd(), name, mode & libc::S_IFMT)?,
            libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        }
        let fd = match sys::openat(d.0.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = sys::unlinkat(d.0.as_fd(), name, 0);
                return Err(e);
            }
        };
        let st = sys::fstat(fd.as_fd())?;
        finish_new(&d.0, name, fd.as_fd(), owner, Some(perm), false)?;
        self.adopt(d, name, Some((st.st_dev, st.st_ino)))
    }

    fn symlink(&mut self, dir: u64, name: &[u8], target: &[u8], owner: (u32, u32)) -> Result<(u64, Attr), Errno> {
        validate_name(name)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() > PATH_MAX || target.contains(&0) {
            return Err(Errno::EINVAL);
        }
        let d = self.dir_of(dir)?;
        sys::symlinkat(target, d.0.as_fd(), name)?;
        let fd = match sys::openat(d.0.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = sys::unlinkat(d.0.as_fd(), name, 0);
                return Err(e);
            }
        };
        let st = sys::fstat(fd.as_fd())?;
        finish_new(&d.0, name, fd.as_fd(), owner, None, false)?;
        self.adopt(d, name, Some((st.st_dev, st.st_ino)))
    }

    fn link(&mut self, target: u64, dir: u64, name: &[u8]) -> Result<(u64, Attr), Errno> {
        validate_name(name)?;
        let d = self.dir_of(dir)?;
        let t = self.node(target)?;
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        let id = (t.dev, t.ino);
        match sys::link_fd(t.fd.as_fd(), d.0.as_fd(), name) {
            Ok(()) => {}
            // Without CAP_DAC_READ_SEARCH linkat(AT_EMPTY_PATH) is ENOENT:
            // link by name instead (linkat never follows a symlink by default).
            Err(Errno::ENOENT) => {
                let p = t.parent.as_ref().ok_or(Errno::ENOENT)?;
                sys::linkat(p.fd.as_fd(), &p.name, d.0.as_fd(), name)?;
            }
            Err(e) => return Err(e),
        }
        match self.adopt((Rc::clone(&d.0), d.1), name, Some(id)) {
            Ok(r) => Ok(r),
            Err(e) => {
                if e == Errno::ESTALE {
                    // The name in the old directory was another node by now.
                    let _ = sys::unlinkat(d.0.as_fd(), name, 0);
                }
                Err(e)
            }
        }
    }

    fn unlink(&mut self, dir: u64, name: &[u8], flags: u32) -> Result<(), Errno> {
        validate_name(name)?;
        if flags & !(libc::AT_REMOVEDIR as u32) != 0 {
            return Err(Errno::EINVAL);
        }
        let d = self.dir_of(dir)?;
        sys::unlinkat(d.0.as_fd(), name, flags as i32)
    }

    fn rename(
        &mut self,
        old_dir: u64,
        old_name: &[u8],
        new_dir: u64,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        validate_name(old_name)?;
        validate_name(new_name)?;
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 || flags == RENAME_NOREPLACE | RENAME_EXCHANGE {
            return Err(Errno::EINVAL);
        }
        let od = self.dir_of(old_dir)?;
        let nd = self.dir_of(new_dir)?;
        sys::renameat2(od.0.as_fd(), old_name, nd.0.as_fd(), new_name, flags)?;
        // Handles keep following their nodes: the ones found under the
        // moved names get their new place (both ways for an exchange).
        for node in self.nodes.values_mut() {
            let Some(p) = node.parent.as_mut() else { continue };
            if p.id == od.1 && p.name == old_name {
                *p = Parent {
                    fd: Rc::clone(&nd.0),
                    name: new_name.to_vec(),
                    id: nd.1,
                };
            } else if flags & RENAME_EXCHANGE != 0 && p.id == nd.1 && p.name == new_name {
                *p = Parent {
                    fd: Rc::clone(&od.0),
                    name: old_name.to_vec(),
                    id: od.1,
                };
            }
        }
        Ok(())
    }

    fn setattr(&mut self, h: u64, c: &AttrChange) -> Result<Attr, Errno> {
        if c.valid & !SETATTR_ALL != 0 || (c.valid & SETATTR_MODE != 0 && c.mode & !0o7777 != 0) {
            return Err(Errno::EINVAL);
        }
        for (bit, t) in [(SETATTR_ATIME, c.atime), (SETATTR_MTIME, c.mtime)] {
            if c.valid & bit != 0 && !valid_time(t) {
                return Err(Errno::EINVAL);
            }
        }
        let node = self.node(h)?;
        if c.valid & SETATTR_SIZE != 0 {
            match node.fmt() {
                libc::S_IFREG => {}
                libc::S_IFDIR => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            let fd = node.reopen(libc::O_WRONLY)?;
            sys::ftruncate(fd.as_fd(), c.size)?;
        }
        if c.valid & (SETATTR_UID | SETATTR_GID) != 0 {
            let uid = if c.valid & SETATTR_UID != 0 { c.uid } else { u32::MAX };
            let gid = if c.valid & SETATTR_GID != 0 { c.gid } else { u32::MAX };
            sys::chown_fd(node.fd.as_fd(), uid, gid)?;
        }
        if c.valid & SETATTR_MODE != 0 {
            if node.fmt() == libc::S_IFLNK {
                return Err(Errno::EOPNOTSUPP);
            }
            match sys::chmod_path_fd(node.fd.as_fd(), c.mode) {
                Err(Errno::ENOSYS) => {
                    // Before Linux 6.6: through a real fd, for the types that
                    // can be opened without side effects.
                    if !matches!(node.fmt(), libc::S_IFREG | libc::S_IFDIR | libc::S_IFIFO) {
                        return Err(Errno::EPERM);
                    }
                    let fd = node.reopen(libc::O_RDONLY)?;
                    sys::fchmod(fd.as_fd(), c.mode)?;
                }
                r => r?,
            }
        }
        if c.valid & (SETATTR_ATIME | SETATTR_MTIME) != 0 {
            let omit = (0, libc::UTIME_OMIT);
            let atime = if c.valid & SETATTR_ATIME != 0 { c.atime } else { omit };
            let mtime = if c.valid & SETATTR_MTIME != 0 { c.mtime } else { omit };
            sys::utimens_fd(node.fd.as_fd(), atime, mtime)?;
        }
        Ok(Attr::from(&sys::fstat(node.fd.as_fd())?))
    }

    /// A real fd of a node that carries extended attributes (regular files
    /// and directories); `None` for the other types.
    fn xattr_fd(&self, h: u64) -> Result<Option<OwnedFd>, Errno> {
        let node = self.node(h)?;
        if !matches!(node.fmt(), libc::S_IFREG | libc::S_IFDIR) {
            return Ok(None);
        }
        node.reopen(libc::O_RDONLY).map(Some)
    }

    fn getxattr(&self, h: u64, name: &[u8]) -> Result<Vec<u8>, Errno> {
        match self.xattr_fd(h)? {
            Some(fd) => sys::fgetxattr(fd.as_fd(), name, MAX_XATTR_VALUE),
            None => Err(Errno::ENODATA),
        }
    }

    fn listxattr(&self, h: u64) -> Result<Vec<u8>, Errno> {
        match self.xattr_fd(h)? {
            Some(fd) => sys::flistxattr(fd.as_fd(), MAX_XATTR_LIST),
            None => Ok(Vec::new()),
        }
    }

    fn setxattr(&self, h: u64, name: &[u8], value: &[u8], flags: u32) -> Result<(), Errno> {
        if flags & !((libc::XATTR_CREATE | libc::XATTR_REPLACE) as u32) != 0 {
            return Err(Errno::EINVAL);
        }
        match self.xattr_fd(h)? {
            Some(fd) => sys::fsetxattr(fd.as_fd(), name, value, flags as i32),
            None => Err(Errno::EPERM),
        }
    }

    fn removexattr(&self, h: u64, name: &[u8]) -> Result<(), Errno> {
        match self.xattr_fd(h)? {
            Some(fd) => sys::fremovexattr(fd.as_fd(), name),
            None => Err(Errno::EPERM),
        }
    }
}

/// Gives a new node (its `O_PATH` fd `path_fd`, named `name` in `dir`) its
/// owner, then its mode; on failure removes it again so no half-made node
/// stays behind.
fn finish_new(
    dir: &Rc<OwnedFd>,
    name: &[u8],
    path_fd: BorrowedFd<'_>,
    owner: (u32, u32),
    mode: Option<u32>,
    rmdir: bool,
) -> Result<(), Errno> {
    let result = sys::chown_fd(path_fd, owner.0, owner.1).and_then(|()| match mode {
        Some(m) => chmod_new(dir.as_fd(), name, path_fd, m),
        None => Ok(()),
    });
    if result.is_err() {
        let flags = if rmdir { libc::AT_REMOVEDIR } else { 0 };
        let _ = sys::unlinkat(dir.as_fd(), name, flags);
    }
    result
}

/// chmod of a new node through its `O_PATH` fd. Before Linux 6.6 (no
/// `fchmodat2`) directories, regular files and FIFOs are reopened (by name,
/// without following, and checked to be the same node); socket nodes are
/// then `EPERM`.
fn chmod_new(dir: BorrowedFd<'_>, name: &[u8], fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    match sys::chmod_path_fd(fd, mode) {
        Err(Errno::ENOSYS) => {
            let st = sys::fstat(fd)?;
            let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY;
            let real = match st.st_mode & libc::S_IFMT {
                libc::S_IFDIR => sys::openat(fd, b".", flags | libc::O_DIRECTORY)?,
                libc::S_IFREG | libc::S_IFIFO => sys::openat(dir, name, flags)?,
                _ => return Err(Errno::EPERM),
            };
            let now = sys::fstat(real.as_fd())?;
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
                return Err(Errno::ESTALE);
            }
            sys::fchmod(real.as_fd(), mode)
        }
        r => r,
    }
}

/// A `utimensat` time: a real time, `UTIME_NOW` or `UTIME_OMIT`.
fn valid_time(t: (i64, i64)) -> bool {
    (0..1_000_000_000).contains(&t.1) || t.1 == libc::UTIME_NOW || t.1 == libc::UTIME_OMIT
}
