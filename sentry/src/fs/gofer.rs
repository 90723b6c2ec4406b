//! The gofer filesystem: the container's rootfs, served by the gofer.
//!
//! Each node holds a gofer handle and the attributes the walk returned;
//! the VFS caches nodes in dentries, so attributes are fetched once (the
//! container owns its rootfs). Regular files are read through the host fd
//! the gofer donates at open, with pread, without an RPC per read.

use crate::vfs::inode::{is_dir, is_reg};
use crate::vfs::{FileOps, FileSystem, Inode, RawDirent};
use gofer::{Attr, DirEntry, Handle, StatFs};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, OnceLock};
use syscalls::structs::{Stat, Statfs};
use syscalls::{Errno, Pod};

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
}

/// The filesystem as a whole.
pub struct GoferFs {
    backend: Arc<dyn GoferBackend>,
    root: Handle,
}

impl GoferFs {
    /// Attaches to the gofer's root: the filesystem and its root node.
    pub fn new_root<B: GoferBackend + 'static>(backend: Arc<B>) -> Result<(Arc<GoferFs>, Arc<dyn Inode>), Errno> {
        let backend: Arc<dyn GoferBackend> = backend;
        let (root, attr) = backend.attach()?;
        if !attr.is_dir() {
            backend.close(&[root]);
            return Err(Errno::ENOTDIR);
        }
        let fs = Arc::new(GoferFs { backend, root });
        // The root inode does not own the handle: the filesystem's Drop closes it.
        let inode: Arc<dyn Inode> = Arc::new(GoferInode::new(fs.clone(), root, &attr, false));
        Ok((fs, inode))
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
    stat: Stat,
    /// A symlink's target, fetched once.
    target: OnceLock<Vec<u8>>,
    owns_handle: bool,
}

impl GoferInode {
    fn new(fs: Arc<GoferFs>, handle: Handle, attr: &Attr, owns_handle: bool) -> GoferInode {
        GoferInode {
            fs,
            handle,
            stat: stat_from_attr(attr),
            target: OnceLock::new(),
            owns_handle,
        }
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if self.owns_handle {
            self.fs.backend.close(&[self.handle]);
        }
    }
}

impl Inode for GoferInode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        if !is_dir(self.stat.st_mode) {
            return Err(Errno::ENOTDIR);
        }
        let nodes = self.fs.backend.walk(self.handle, names)?;
        Ok(nodes
            .into_iter()
            .map(|(h, a)| Arc::new(GoferInode::new(self.fs.clone(), h, &a, true)) as Arc<dyn Inode>)
            .collect())
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if !crate::vfs::inode::is_symlink(self.stat.st_mode) {
            return Err(Errno::EINVAL);
        }
        if let Some(t) = self.target.get() {
            return Ok(t.clone());
        }
        let t = self.fs.backend.readlink(self.handle)?;
        Ok(self.target.get_or_init(|| t).clone())
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        if !is_dir(self.stat.st_mode) {
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
        match self.stat.st_mode & libc::S_IFMT {
            // Device nodes of the image are never opened on the host.
            libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EACCES),
            libc::S_IFSOCK => return Err(Errno::ENXIO),
            _ => {}
        }
        let host_flags = (flags & libc::O_ACCMODE) | libc::O_CLOEXEC | libc::O_NOCTTY;
        let fd = self.fs.backend.open(self.handle, host_flags)?;
        Ok(Box::new(GoferFile {
            fd,
            stat: self.stat,
            seekable: is_reg(self.stat.st_mode),
        }))
    }
}

/// An open regular file (or FIFO) of the gofer filesystem.
pub struct GoferFile {
    fd: OwnedFd,
    stat: Stat,
    seekable: bool,
}

impl FileOps for GoferFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
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
