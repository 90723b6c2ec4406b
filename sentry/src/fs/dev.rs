//! devfs: the sandbox's /dev, and the registry every device node opens
//! through.
//!
//! /dev is a tmpfs (mode 755, `size=65536k`, as runc mounts it) populated
//! at boot with device nodes, the `fd`/`stdin`/`stdout`/`stderr` symlinks
//! and the `shm` and `pts` mountpoints, so a container may create files,
//! directories, symlinks and FIFOs there as under runc.
//!
//! A device node is only a number: opening one, on any filesystem, asks
//! [`open_device`], which knows the devices the sentry emulates and
//! nothing else (ENXIO for every other number, every block device). The
//! host's devices are never reachable, whatever node a guest makes.

use super::tmpfs::{TmpFs, TmpfsOptions};
use crate::tty::{PTY_REPLICA_MAJOR, TTYAUX_MAJOR};
use crate::vfs::inode::{major, makedev, minor};
use crate::vfs::{FileOps, FileSystem, Inode};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};
use syscalls::structs::{Stat, Statfs};
use syscalls::Errno;

/// `MEM_MAJOR`: null, zero, full, random, urandom.
pub const MEM_MAJOR: u32 = 1;

/// The mount options of the sandbox's /dev (runc's).
const DEV_OPTIONS: &str = "size=65536k,mode=755";

/// Which emulated memory device an open file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// /dev/null (1:3): reads EOF, writes vanish.
    Null,
    /// /dev/zero (1:5): reads zeros.
    Zero,
    /// /dev/full (1:7): reads zeros, writes ENOSPC.
    Full,
    /// /dev/random and /dev/urandom (1:8, 1:9): the host's getrandom.
    Random,
}

/// Opens the device node `node` (a character or block device of any
/// filesystem; the caller has checked permissions and `nodev`) by its
/// device number: the sentry's emulated devices, ENXIO for anything else.
pub fn open_device(node: Arc<dyn Inode>, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
    let st = node.stat()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR {
        // No block device exists in the sandbox.
        return Err(Errno::ENXIO);
    }
    let device = match (major(st.st_rdev), minor(st.st_rdev)) {
        (MEM_MAJOR, 3) => Device::Null,
        (MEM_MAJOR, 5) => Device::Zero,
        (MEM_MAJOR, 7) => Device::Full,
        (MEM_MAJOR, 8 | 9) => Device::Random,
        (TTYAUX_MAJOR, 0) => return crate::tty::open_controlling(st),
        (TTYAUX_MAJOR, 1) => return open_console(flags),
        (TTYAUX_MAJOR, 2) => return super::devpts::open_sandbox_ptmx(st),
        (PTY_REPLICA_MAJOR, index) => return super::devpts::open_sandbox_pty(index, flags, st),
        _ => return Err(Errno::ENXIO),
    };
    Ok(Box::new(DevFile { node, device }))
}

/// [`open_device`] for a node known only by its attributes (a device node
/// of the gofer's tree): the open file keeps that snapshot.
pub fn open_device_stat(st: Stat, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
    open_device(Arc::new(Snapshot(st)), flags)
}

/// A node that is only a `struct stat`.
struct Snapshot(Stat);

impl Inode for Snapshot {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.0)
    }
}

/// An open memory device; fstat reports its node.
pub struct DevFile {
    node: Arc<dyn Inode>,
    device: Device,
}

impl FileOps for DevFile {
    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
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
        }
    }

    fn write(&self, buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        match self.device {
            Device::Full => Err(Errno::ENOSPC),
            _ => Ok(buf.len()),
        }
    }
}

/// /dev/console: the host terminal the sandbox was started on (an OCI
/// `process.terminal` replica, or the user's terminal under `runsc do`).
/// It stats as that terminal and opens a duplicate of it, so that the
/// init's stdio (named /dev/console) and this node are the same file to
/// `ttyname(3)`, as a bind-mounted console is under runc. It is mounted on
/// the file /dev/console (see `Vfs::with_root`).
pub struct ConsoleNode {
    fd: OwnedFd,
}

/// The console of the sandbox, which device nodes 5:1 open.
static SANDBOX_CONSOLE: Mutex<Option<Weak<ConsoleNode>>> = Mutex::new(None);

/// Opens the sandbox's console (ENXIO without one, as Linux without a
/// console driver).
fn open_console(flags: i32) -> Result<Box<dyn FileOps>, Errno> {
    let console = SANDBOX_CONSOLE
        .lock()
        .ok()
        .and_then(|c| c.as_ref().and_then(Weak::upgrade))
        .ok_or(Errno::ENXIO)?;
    console.open(flags)
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

/// The sandbox's /dev: a tmpfs with the standard nodes, the devpts
/// instance for /dev/pts and the console (if the sentry has a terminal).
pub struct DevFs {
    tmpfs: Arc<TmpFs>,
    /// The pseudo-terminals' filesystem, mounted at /dev/pts.
    devpts: Arc<super::devpts::DevPts>,
    /// Mounted on the file /dev/console.
    console: Option<Arc<ConsoleNode>>,
}

/// The character devices of a fresh /dev: name, major, minor (all 0666).
const NODES: [(&[u8], u32, u32); 7] = [
    (b"null", MEM_MAJOR, 3),
    (b"zero", MEM_MAJOR, 5),
    (b"full", MEM_MAJOR, 7),
    (b"random", MEM_MAJOR, 8),
    (b"urandom", MEM_MAJOR, 9),
    (b"tty", TTYAUX_MAJOR, 0),
    (b"ptmx", TTYAUX_MAJOR, 2),
];

/// The symlinks of a fresh /dev.
const LINKS: [(&[u8], &[u8]); 4] = [
    (b"fd", b"/proc/self/fd"),
    (b"stdin", b"/proc/self/fd/0"),
    (b"stdout", b"/proc/self/fd/1"),
    (b"stderr", b"/proc/self/fd/2"),
];

impl DevFs {
    /// A fresh /dev; it becomes the sandbox's (where host terminals are
    /// shown and device nodes 5:1 and 136:N lead).
    pub fn new() -> Result<Arc<DevFs>, Errno> {
        let tmpfs = TmpFs::with_options(&TmpfsOptions::parse(DEV_OPTIONS)?, super::TMPFS_MAGIC);
        let root = tmpfs.root();
        let owner = (0, 0);
        for (name, ma, mi) in NODES {
            root.mknod_device(name, libc::S_IFCHR | 0o666, owner, makedev(ma, mi))?;
        }
        for (name, target) in LINKS {
            root.symlink(name, target, owner)?;
        }
        // The mountpoints of the shm tmpfs and devpts (see `Vfs::with_root`).
        root.mkdir(b"shm", 0o1777, owner)?;
        root.mkdir(b"pts", 0o755, owner)?;
        let console = ConsoleNode::from_stdio();
        if console.is_some() {
            // The file the console is mounted on, as runc makes it.
            root.create(b"console", 0o666, owner)?;
        }
        if let Ok(mut c) = SANDBOX_CONSOLE.lock() {
            *c = console.as_ref().map(Arc::downgrade);
        }
        let devpts = super::devpts::DevPts::new();
        devpts.show_host_terminals();
        Ok(Arc::new(DevFs { tmpfs, devpts, console }))
    }

    /// The devpts instance to mount at /dev/pts.
    pub fn devpts(&self) -> Arc<super::devpts::DevPts> {
        self.devpts.clone()
    }

    /// The root directory.
    pub fn root(&self) -> Arc<dyn Inode> {
        self.tmpfs.root()
    }

    /// The console node to mount on /dev/console, if the sentry has a
    /// terminal.
    pub fn console(&self) -> Option<Arc<dyn Inode>> {
        self.console.clone().map(|c| c as Arc<dyn Inode>)
    }
}

impl FileSystem for DevFs {
    fn statfs(&self) -> Result<Statfs, Errno> {
        self.tmpfs.statfs()
    }

    fn show_options(&self) -> String {
        self.tmpfs.show_options()
    }

    fn remount(&self, data: &str) -> Result<(), Errno> {
        self.tmpfs.remount(data)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::vfs::inode::synthetic_stat;

    fn node(major: u32, minor: u32) -> Stat {
        synthetic_stat(1, 1, libc::S_IFCHR | 0o666, makedev(major, minor))
    }

    #[test]
    fn devices_behave() {
        let full = open_device_stat(node(1, 7), libc::O_RDWR).unwrap();
        let mut buf = [7u8; 8];
        assert_eq!(full.read(&mut buf, 0, false), Ok(8));
        assert_eq!(buf, [0; 8]);
        assert_eq!(full.write(b"x", 0, false), Err(Errno::ENOSPC));
        let null = open_device_stat(node(1, 3), libc::O_RDWR).unwrap();
        assert_eq!(null.read(&mut buf, 0, false), Ok(0));
        assert_eq!(null.write(b"abc", 0, false), Ok(3));
        assert_eq!(null.stat().unwrap().st_rdev, makedev(1, 3));
        let zero = open_device_stat(node(1, 5), libc::O_RDONLY).unwrap();
        buf = [7u8; 8];
        assert_eq!(zero.read(&mut buf, 0, false), Ok(8));
        assert_eq!(buf, [0; 8]);
        let r = open_device_stat(node(1, 9), libc::O_RDONLY).unwrap();
        let mut big = [0u8; 64];
        assert_eq!(r.read(&mut big, 0, false), Ok(64));
        assert!(big.iter().any(|&b| b != 0));
    }

    #[test]
    fn unknown_numbers_and_block_devices_are_enxio() {
        // /dev/mem, /dev/kmem, /dev/port, a disk, the host's ttys.
        for (ma, mi) in [(1, 1), (1, 2), (1, 4), (8, 0), (4, 1), (10, 200), (0, 0)] {
            assert_eq!(open_device_stat(node(ma, mi), libc::O_RDWR).err(), Some(Errno::ENXIO));
        }
        let mut blk = node(1, 3);
        blk.st_mode = libc::S_IFBLK | 0o666;
        assert_eq!(open_device_stat(blk, libc::O_RDWR).err(), Some(Errno::ENXIO));
        // Not a device at all.
        let mut reg = node(1, 3);
        reg.st_mode = libc::S_IFREG | 0o666;
        assert_eq!(open_device_stat(reg, libc::O_RDWR).err(), Some(Errno::ENXIO));
    }

    #[test]
    fn dev_is_a_populated_tmpfs() {
        let dev = DevFs::new().unwrap();
        let root = dev.root();
        let st = root.stat().unwrap();
        assert_eq!(st.st_mode, libc::S_IFDIR | 0o755);
        assert_eq!(dev.show_options(), "size=65536k,mode=755,inode64");
        let null = root.lookup(&[b"null"]).unwrap().pop().unwrap();
        let st = null.stat().unwrap();
        assert_eq!((st.st_mode, st.st_rdev), (libc::S_IFCHR | 0o666, makedev(1, 3)));
        let f = null.open(libc::O_RDWR).unwrap();
        assert_eq!(f.write(b"gone", 0, false), Ok(4));
        // fstat of the open device is its node.
        assert_eq!(f.stat().unwrap().st_ino, st.st_ino);
        let names: Vec<Vec<u8>> = root.readdir(0, 100).unwrap().into_iter().map(|e| e.name).collect();
        for n in [
            &b"fd"[..],
            b"full",
            b"ptmx",
            b"pts",
            b"random",
            b"shm",
            b"stdin",
            b"tty",
            b"urandom",
            b"zero",
        ] {
            assert!(names.iter().any(|x| x == n), "{}", String::from_utf8_lossy(n));
        }
        // Writable like any tmpfs.
        root.mkdir(b"mqueue", 0o755, (0, 0)).unwrap();
        root.symlink(b"core", b"/proc/kcore", (0, 0)).unwrap();
        root.mknod(b"p", libc::S_IFIFO | 0o600, (0, 0)).unwrap();
        // The shm mountpoint is sticky and world-writable.
        let shm = root.lookup(&[b"shm"]).unwrap().pop().unwrap();
        assert_eq!(shm.stat().unwrap().st_mode, libc::S_IFDIR | 0o1777);
    }
}
