//! In-sentry nodes with fixed contents: directories with a fixed list of
//! children (the devfs root, the empty /proc and /sys for now, mountpoint
//! placeholders) and symlinks with a fixed target.

use crate::vfs::inode::{dtype_of, makedev, next_ino, synthetic_stat};
use crate::vfs::{FileSystem, Inode, RawDirent};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use syscalls::structs::{Stat, Statfs};
use syscalls::Errno;

/// A fresh anonymous device number (major 0), one per in-sentry filesystem.
/// Minors start high so that they do not meet the host's own anonymous
/// devices (small minors) that gofer-served files report.
pub fn anon_dev() -> u64 {
    static NEXT: AtomicU32 = AtomicU32::new(1024);
    makedev(0, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A directory with a fixed list of children.
pub struct StaticDir {
    stat: Stat,
    entries: Vec<(Vec<u8>, Arc<dyn Inode>)>,
}

impl StaticDir {
    /// A read-only directory (mode 0555) on device `dev` with `entries`.
    pub fn new(dev: u64, mode: u32, entries: Vec<(Vec<u8>, Arc<dyn Inode>)>) -> Arc<StaticDir> {
        Arc::new(StaticDir {
            stat: synthetic_stat(dev, next_ino(), libc::S_IFDIR | mode, 0),
            entries,
        })
    }

    /// An empty directory on a device of its own (`_magic` names the
    /// filesystem it stands in for).
    pub fn empty_root(_magic: i64) -> Arc<dyn Inode> {
        StaticDir::new(anon_dev(), 0o555, Vec::new())
    }

    /// The filesystem object for statfs of such a mount.
    pub fn fs(magic: i64) -> Arc<dyn FileSystem> {
        Arc::new(SyntheticFs { magic })
    }
}

impl Inode for StaticDir {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        let Some(first) = names.first() else {
            return Ok(Vec::new());
        };
        let Some((_, node)) = self.entries.iter().find(|(n, _)| n == first) else {
            return Ok(Vec::new());
        };
        let mut out = vec![node.clone()];
        if names.len() > 1
            && node
                .stat()
                .map(|s| crate::vfs::inode::is_dir(s.st_mode))
                .unwrap_or(false)
        {
            out.extend(node.lookup(&names[1..]).unwrap_or_default());
        }
        Ok(out)
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        Ok(self
            .entries
            .iter()
            .enumerate()
            .skip(start)
            .take(max)
            .map(|(i, (name, node))| {
                let st = node.stat().unwrap_or(self.stat);
                RawDirent {
                    ino: st.st_ino,
                    cookie: i as u64 + 1,
                    dtype: dtype_of(st.st_mode),
                    name: name.clone(),
                }
            })
            .collect())
    }
}

/// A symlink with a fixed target.
pub struct StaticSymlink {
    stat: Stat,
    target: Vec<u8>,
}

impl StaticSymlink {
    /// A symlink on device `dev` pointing at `target`.
    pub fn new(dev: u64, target: &[u8]) -> Arc<StaticSymlink> {
        let mut stat = synthetic_stat(dev, next_ino(), libc::S_IFLNK | 0o777, 0);
        stat.st_size = target.len() as i64;
        Arc::new(StaticSymlink {
            stat,
            target: target.to_vec(),
        })
    }
}

impl Inode for StaticSymlink {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Ok(self.target.clone())
    }
}

/// statfs for in-sentry filesystems.
pub struct SyntheticFs {
    /// The filesystem's magic number.
    pub magic: i64,
}

impl FileSystem for SyntheticFs {
    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(super::synthetic_statfs(self.magic))
    }
}

/// Makes the contents of a [`StaticFile`] when it is opened.
pub type Contents = Box<dyn Fn() -> Vec<u8> + Send + Sync>;

/// A read-only regular file whose text is made at open (sysfs and cgroup
/// attributes).
pub struct StaticFile {
    stat: Stat,
    contents: Contents,
}

impl StaticFile {
    /// A file on device `dev` with permission bits `mode` and the text
    /// `contents` makes.
    pub fn new(dev: u64, mode: u32, contents: Contents) -> Arc<StaticFile> {
        let mut stat = synthetic_stat(dev, next_ino(), libc::S_IFREG | mode, 0);
        // sysfs reports a page for every attribute.
        stat.st_size = 4096;
        Arc::new(StaticFile { stat, contents })
    }

    /// A file with fixed text.
    pub fn text(dev: u64, text: &'static str) -> Arc<StaticFile> {
        StaticFile::new(dev, 0o444, Box::new(move || text.as_bytes().to_vec()))
    }
}

impl Inode for StaticFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn open(&self, flags: i32) -> Result<Box<dyn crate::vfs::FileOps>, Errno> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(Errno::EACCES);
        }
        Ok(Box::new(StaticText {
            stat: self.stat,
            text: (self.contents)(),
        }))
    }
}

/// An open [`StaticFile`]: the text made at open.
struct StaticText {
    stat: Stat,
    text: Vec<u8>,
}

impl crate::vfs::FileOps for StaticText {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len());
        let n = buf.len().min(self.text.len() - start);
        buf[..n].copy_from_slice(&self.text[start..start + n]);
        Ok(n)
    }
}
