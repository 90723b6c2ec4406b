//! The interfaces a filesystem implements: nodes ([`Inode`]), open files
//! ([`FileOps`]) and whole filesystems ([`FileSystem`]), plus the small
//! helpers on `struct stat` they all share.

use crate::mm::MemoryManager;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use syscalls::structs::{Stat, Statfs};
use syscalls::{Errno, Pod};

/// One directory entry as a filesystem lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDirent {
    /// Inode number.
    pub ino: u64,
    /// Cookie to resume listing after this entry.
    pub cookie: u64,
    /// `DT_*` type.
    pub dtype: u8,
    /// The name (one component).
    pub name: Vec<u8>,
}

/// A filesystem node. Directories, symlinks and files of every filesystem
/// implement this; the VFS caches the nodes it finds in dentries.
pub trait Inode: Send + Sync {
    /// The node's attributes.
    fn stat(&self) -> Result<Stat, Errno>;

    /// Looks up `names[0]` in this directory, `names[1]` in that one, and so
    /// on: the nodes of the longest existing prefix. Stops without error at
    /// a missing name and after a non-directory (symlinks are returned, not
    /// followed). Lets a remote filesystem batch a walk into one round trip.
    fn lookup(&self, _names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// The target of a symbolic link.
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }

    /// Up to `max` entries after `cookie` (0 = from the start), without
    /// "." and ".."; empty at the end.
    fn readdir(&self, _cookie: u64, _max: usize) -> Result<Vec<RawDirent>, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// Opens a non-directory node (directories are opened by the VFS).
    fn open(&self, _flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }

    /// Whether lookups in this directory may be cached (false for
    /// filesystems whose contents change behind the VFS's back).
    fn cacheable(&self) -> bool {
        true
    }

    // Changing a directory or a file, for writable filesystems (Linux's
    // inode_operations). The VFS has already checked the mount, the
    // caller's permissions and the name's kind; the defaults refuse.

    /// Creates the regular file `name` with permission bits `mode`, owned by
    /// `owner` (uid, gid); EEXIST if the name exists.
    fn create(&self, _name: &[u8], _mode: u32, _owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }

    /// Creates the directory `name` (see [`create`](Inode::create)).
    fn mkdir(&self, _name: &[u8], _mode: u32, _owner: (u32, u32)) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Creates the symbolic link `name` pointing at `target`, owned by
    /// `owner` (see [`create`](Inode::create)).
    fn symlink(&self, _name: &[u8], _target: &[u8], _owner: (u32, u32)) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Creates the special file `name`: `mode` holds the type (`S_IFIFO`,
    /// `S_IFSOCK`; device nodes are [`mknod_device`](Inode::mknod_device))
    /// and permission bits (see [`create`](Inode::create)).
    fn mknod(&self, _name: &[u8], _mode: u32, _owner: (u32, u32)) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }

    /// Creates the device node `name`: `mode` holds the type (`S_IFCHR`,
    /// `S_IFBLK`) and permission bits, `rdev` the device number
    /// ([`makedev`]). The caller has checked CAP_MKNOD; filesystems that
    /// cannot keep device nodes refuse. Opening one goes through
    /// `fs::dev::open_device`.
    fn mknod_device(&self, _name: &[u8], _mode: u32, _owner: (u32, u32), _rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }

    /// Removes the non-directory `name` (EISDIR for a directory).
    fn unlink(&self, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Removes the empty directory `name` (ENOTEMPTY, ENOTDIR).
    fn rmdir(&self, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Gives the existing node `target` the new name `name` here (EXDEV
    /// when it belongs to another filesystem).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Moves `name` to `new_name` in `new_dir` with renameat2 `flags`
    /// (NOREPLACE, EXCHANGE), replacing as rename(2) does.
    fn rename(&self, _name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8], _flags: u32) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Sets a regular file's size (truncate, ftruncate).
    fn truncate(&self, _size: u64) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Changes mode, owner or timestamps (chmod, chown, utimensat). Checks
    /// of who may do it are the caller's.
    fn setattr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// For a procfs "magic" link (`/proc/[pid]/fd/N`): where following it
    /// leads, the open file's own place (not a path walk of its target).
    fn magic_link(&self) -> Option<Result<super::mount::Location, Errno>> {
        None
    }

    /// Creates an unnamed regular file in this directory (O_TMPFILE) with
    /// permission bits `mode`; `linkable`: linkat may give it a name
    /// (not with O_EXCL).
    fn tmpfile(&self, _mode: u32, _owner: (u32, u32), _linkable: bool) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// The concrete node, for filesystems that must recognise their own
    /// nodes when handed one (link and rename targets).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    // Extended attributes. The defaults are a filesystem that stores none:
    // no attribute is found, the list is empty, setting is EOPNOTSUPP.
    // Permission checks (namespaces, read-only mounts) are the caller's.

    /// The whole value of the attribute `name`.
    fn getxattr(&self, _name: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENODATA)
    }

    /// The attribute names, each NUL-terminated.
    fn listxattr(&self) -> Result<Vec<u8>, Errno> {
        Ok(Vec::new())
    }

    /// Sets `name` to `value` (`flags`: XATTR_CREATE, XATTR_REPLACE).
    fn setxattr(&self, _name: &[u8], _value: &[u8], _flags: i32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    /// Removes `name`.
    fn removexattr(&self, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::ENODATA)
    }
}

/// Attribute changes for [`Inode::setattr`]; `None` leaves a field alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    /// New permission bits (07777).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time (sec, nsec).
    pub atime: Option<(i64, i64)>,
    /// New modification time (sec, nsec).
    pub mtime: Option<(i64, i64)>,
}

impl SetAttr {
    /// Applies the change to attributes an in-memory filesystem keeps
    /// itself (the file type bits of `mode` stay); the caller updates ctime.
    pub fn apply(&self, mode: &mut u32, uid: &mut u32, gid: &mut u32, atime: &mut (i64, i64), mtime: &mut (i64, i64)) {
        if let Some(m) = self.mode {
            *mode = (*mode & libc::S_IFMT) | (m & 0o7777);
        }
        if let Some(u) = self.uid {
            *uid = u;
        }
        if let Some(g) = self.gid {
            *gid = g;
        }
        if let Some(t) = self.atime {
            *atime = t;
        }
        if let Some(t) = self.mtime {
            *mtime = t;
        }
    }
}

/// The per-open-file operations. The [`FileDescription`](super::FileDescription)
/// around them keeps the offset and status flags and checks access modes.
pub trait FileOps: Send + Sync {
    /// Attributes of the open file.
    fn stat(&self) -> Result<Stat, Errno>;

    /// True for files with a position (pread/pwrite/lseek work); false for streams.
    fn seekable(&self) -> bool {
        false
    }

    /// Reads into `buf` at `offset` (ignored by stream files).
    fn read(&self, _buf: &mut [u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Writes `buf` at `offset` (ignored by stream files).
    fn write(&self, _buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    /// Computes the new offset for lseek; the default serves seekable files
    /// with SEEK_SET/CUR/END and gives ESPIPE for streams.
    fn lseek(&self, current: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
        if !self.seekable() {
            return Err(Errno::ESPIPE);
        }
        let base: i64 = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => i64::try_from(current).map_err(|_| Errno::EOVERFLOW)?,
            libc::SEEK_END => self.stat()?.st_size,
            libc::SEEK_DATA | libc::SEEK_HOLE => {
                // No holes are reported: data up to the end, one hole at the end.
                let size = self.stat()?.st_size;
                if offset < 0 {
                    return Err(Errno::EINVAL);
                }
                if offset >= size {
                    return Err(Errno::ENXIO);
                }
                return Ok(if whence == libc::SEEK_DATA {
                    offset as u64
                } else {
                    size as u64
                });
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(new as u64)
    }

    /// Lists directory entries from position `*pos`, handing each to `sink`
    /// until it returns false (buffer full); advances `*pos` past every
    /// accepted entry.
    fn readdir(&self, _pos: &mut u64, _sink: &mut dyn FnMut(&DirentOut<'_>) -> bool) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    /// A device-specific ioctl (the generic ones are handled by the caller).
    fn ioctl(&self, _mm: &MemoryManager, _cmd: u32, _arg: u64) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }

    /// The concrete type behind these operations, for the syscalls that act
    /// on one kind of file (signalfd's mask update, say).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// The poll events (`POLLIN`, `POLLOUT`, `POLLHUP`, `POLLERR`, ...) that
    /// are ready now, restricted to `mask` plus the always-reported ones.
    /// Regular files and directories are always readable and writable.
    fn readiness(&self, mask: u32) -> u32 {
        mask & (libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM) as u32
    }

    /// The queue notified whenever [`readiness`](FileOps::readiness) may have
    /// changed; `None` for files whose readiness never changes.
    fn wait_queue(&self) -> Option<&crate::kernel::wait::WaitQueue> {
        None
    }

    /// The host fd to map for a file-backed mmap, if the file has one.
    fn host_fd(&self) -> Option<RawFd> {
        None
    }

    /// A name for files that have no path (pipes, host stdio).
    fn name(&self) -> Vec<u8> {
        b"anon_inode:[file]".to_vec()
    }

    /// fstatfs of a file that has no mount.
    fn statfs(&self) -> Result<Statfs, Errno> {
        Err(Errno::ENOSYS)
    }
}

/// One entry as handed to a getdents sink.
#[derive(Clone, Copy, Debug)]
pub struct DirentOut<'a> {
    /// Inode number.
    pub ino: u64,
    /// Position just after this entry (the record's `d_off`).
    pub off: u64,
    /// `DT_*` type.
    pub dtype: u8,
    /// The name.
    pub name: &'a [u8],
}

/// A mounted filesystem as a whole.
pub trait FileSystem: Send + Sync {
    /// statfs of the filesystem.
    fn statfs(&self) -> Result<Statfs, Errno>;

    /// The filesystem's own options for /proc/self/mountinfo's last field
    /// (`size=...k,mode=755` for a tmpfs); empty when it has none.
    fn show_options(&self) -> String {
        String::new()
    }

    /// Applies a remount's data string (`mount -o remount,size=...`);
    /// filesystems without options of their own accept and ignore it.
    fn remount(&self, _data: &str) -> Result<(), Errno> {
        Ok(())
    }
}

/// Encodes a device number as glibc's 64-bit `dev_t`.
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

/// The major number of a `dev_t`.
pub const fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

/// The minor number of a `dev_t`.
pub const fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// A fresh inode number for in-sentry nodes.
pub fn next_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Whether `mode` is a directory.
pub fn is_dir(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFDIR
}

/// Whether `mode` is a symbolic link.
pub fn is_symlink(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFLNK
}

/// Whether `mode` is a regular file.
pub fn is_reg(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFREG
}

/// The `DT_*` type of a mode.
pub fn dtype_of(mode: u32) -> u8 {
    ((mode & libc::S_IFMT) >> 12) as u8
}

/// A `struct stat` for an in-sentry node (times are the sandbox's boot).
pub fn synthetic_stat(dev: u64, ino: u64, mode: u32, rdev: u64) -> Stat {
    let mut st = Stat::zeroed();
    st.st_dev = dev;
    st.st_ino = ino;
    st.st_mode = mode;
    st.st_nlink = if is_dir(mode) { 2 } else { 1 };
    st.st_rdev = rdev;
    st.st_blksize = 4096;
    let now = boot_time();
    st.st_atime = now;
    st.st_mtime = now;
    st.st_ctime = now;
    st
}

/// Wall-clock seconds at first use: the timestamp of in-sentry nodes.
fn boot_time() -> i64 {
    static BOOT: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_numbers_round_trip_like_glibc() {
        let d = makedev(1, 3);
        assert_eq!(d, 0x103);
        assert_eq!((major(d), minor(d)), (1, 3));
        let big = makedev(4097, 300);
        assert_eq!((major(big), minor(big)), (4097, 300));
    }

    #[test]
    fn dtype_matches_dt_constants() {
        assert_eq!(dtype_of(libc::S_IFDIR | 0o755), libc::DT_DIR);
        assert_eq!(dtype_of(libc::S_IFLNK | 0o777), libc::DT_LNK);
        assert_eq!(dtype_of(libc::S_IFREG), libc::DT_REG);
        assert_eq!(dtype_of(libc::S_IFCHR), libc::DT_CHR);
    }
}
