//! devfs: the sandbox's /dev. The host's /dev is never reachable; these
//! devices are implemented in the sentry.

use super::synthetic::{anon_dev, StaticDir, StaticSymlink, SyntheticFs};
use crate::vfs::inode::{makedev, next_ino, synthetic_stat};
use crate::vfs::{FileOps, FileSystem, Inode};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use syscalls::structs::{Stat, Statfs};
use syscalls::Errno;

/// Which device a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// /dev/null: reads EOF, writes vanish.
    Null,
    /// /dev/zero: reads zeros.
    Zero,
    /// /dev/full: reads zeros, writes ENOSPC.
    Full,
    /// /dev/random and /dev/urandom: the host's getrandom.
    Random,
    /// /dev/tty: the caller's controlling terminal (ENXIO without one).
    Tty,
}

/// A character device node.
pub struct DevNode {
    stat: Stat,
    device: Device,
}

impl DevNode {
    fn new(dev: u64, device: Device, major: u32, minor: u32) -> Arc<DevNode> {
        Arc::new(DevNode {
            stat: synthetic_stat(dev, next_ino(), libc::S_IFCHR | 0o666, makedev(major, minor)),
            device,
        })
    }
}

impl Inode for DevNode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn open(&self, _flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        if self.device == Device::Tty {
            return crate::tty::open_controlling(self.stat);
        }
        Ok(Box::new(DevFile {
            stat: self.stat,
            device: self.device,
        }))
    }
}

/// An open device.
pub struct DevFile {
    stat: Stat,
    device: Device,
}

impl FileOps for DevFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn lseek(&self, _current: u64, _offset: i64, _whence: i32) -> Result<u64, Errno> {
        // Character devices ignore seeks and stay at 0, as Linux's do.
        Ok(0)
    }

    fn read(&self, buf: &mut [u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        match self.device {
            Device::Null => Ok(0),
            Device::Zero | Device::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Device::Random => fill_random(buf),
            Device::Tty => Err(Errno::ENXIO),
        }
    }

    fn write(&self, buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        match self.device {
            Device::Full => Err(Errno::ENOSPC),
            Device::Tty => Err(Errno::ENXIO),
            _ => Ok(buf.len()),
        }
    }
}

/// /dev/console: the host terminal the sandbox was started on (an OCI
/// `process.terminal` replica, or the user's terminal under `runsc do`).
/// It stats as that terminal and opens a duplicate of it, so that the
/// init's stdio (named /dev/console) and this node are the same file to
/// `ttyname(3)`, as a bind-mounted console is under runc.
pub struct ConsoleNode {
    fd: OwnedFd,
}

impl ConsoleNode {
    /// The node for the first of the sentry's stdio fds that is a
    /// terminal, if any.
    fn from_stdio() -> Option<Arc<ConsoleNode>> {
        let fd = (0..3).find(|&fd| crate::kernel::console::tty_rdev(fd).is_some())?;
        // SAFETY: F_DUPFD_CLOEXEC on a plain integer fd has no memory effects.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return None;
        }
        // SAFETY: `dup` is a fresh fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(dup) };
        Some(Arc::new(ConsoleNode { fd }))
    }
}

impl Inode for ConsoleNode {
    fn stat(&self) -> Result<Stat, Errno> {
        super::host::fstat(&self.fd)
    }

    fn open(&self, _flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        let dup = self.fd.try_clone().map_err(Errno::from)?;
        Ok(Box::new(super::host::HostFile::new(dup)))
    }
}

/// Fills `buf` from the host's getrandom (short only on error).
pub fn fill_random(buf: &mut [u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length name the unfilled tail of `buf`.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = Errno::last();
            if e == Errno::EINTR {
                continue;
            }
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n as usize;
    }
    Ok(done)
}

/// The devfs filesystem.
pub struct DevFs {
    root: Arc<dyn Inode>,
    /// The pseudo-terminals' filesystem, mounted at /dev/pts.
    devpts: Arc<super::devpts::DevPts>,
}

impl DevFs {
    /// A fresh devfs.
    pub fn new() -> Arc<DevFs> {
        let dev = anon_dev();
        let devpts = super::devpts::DevPts::new();
        devpts.show_host_terminals();
        let mut entries: Vec<(Vec<u8>, Arc<dyn Inode>)> = vec![
            (b"null".to_vec(), DevNode::new(dev, Device::Null, 1, 3)),
            (b"zero".to_vec(), DevNode::new(dev, Device::Zero, 1, 5)),
            (b"full".to_vec(), DevNode::new(dev, Device::Full, 1, 7)),
            (b"random".to_vec(), DevNode::new(dev, Device::Random, 1, 8)),
            (b"urandom".to_vec(), DevNode::new(dev, Device::Random, 1, 9)),
            (b"tty".to_vec(), DevNode::new(dev, Device::Tty, 5, 0)),
            (b"fd".to_vec(), StaticSymlink::new(dev, b"/proc/self/fd")),
            (b"stdin".to_vec(), StaticSymlink::new(dev, b"/proc/self/fd/0")),
            (b"stdout".to_vec(), StaticSymlink::new(dev, b"/proc/self/fd/1")),
            (b"stderr".to_vec(), StaticSymlink::new(dev, b"/proc/self/fd/2")),
            // The mountpoint of the shm filesystem (see `Vfs::with_root`).
            (b"shm".to_vec(), StaticDir::new(dev, 0o1777, Vec::new())),
            // /dev/ptmx opens a new pseudo-terminal; /dev/pts is devpts.
            (b"ptmx".to_vec(), devpts.ptmx_node(dev)),
            (b"pts".to_vec(), StaticDir::new(dev, 0o755, Vec::new())),
        ];
        if let Some(console) = ConsoleNode::from_stdio() {
            entries.push((b"console".to_vec(), console));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Arc::new(DevFs {
            root: StaticDir::new(dev, 0o755, entries),
            devpts,
        })
    }

    /// The devpts instance to mount at /dev/pts.
    pub fn devpts(&self) -> Arc<super::devpts::DevPts> {
        self.devpts.clone()
    }

    /// The root directory.
    pub fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }
}

impl FileSystem for DevFs {
    fn statfs(&self) -> Result<Statfs, Errno> {
        SyntheticFs {
            magic: super::TMPFS_MAGIC,
        }
        .statfs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_behave() {
        let d = DevFile {
            stat: synthetic_stat(1, 1, libc::S_IFCHR | 0o666, 0),
            device: Device::Full,
        };
        let mut buf = [7u8; 8];
        assert_eq!(d.read(&mut buf, 0, false), Ok(8));
        assert_eq!(buf, [0; 8]);
        assert_eq!(d.write(b"x", 0, false), Err(Errno::ENOSPC));
        let n = DevFile {
            stat: d.stat,
            device: Device::Null,
        };
        assert_eq!(n.read(&mut buf, 0, false), Ok(0));
        assert_eq!(n.write(b"abc", 0, false), Ok(3));
        let r = DevFile {
            stat: d.stat,
            device: Device::Random,
        };
        let mut big = [0u8; 64];
        assert_eq!(r.read(&mut big, 0, false), Ok(64));
        assert!(big.iter().any(|&b| b != 0));
    }
}
