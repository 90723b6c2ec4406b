//! Open file descriptions: what `open` creates and `dup`/`fork` share. The
//! offset and the status flags live here, so every fd that refers to the
//! description sees the same ones.

use super::inode::{DirentOut, FileOps, Inode, RawDirent};
use super::mount::Location;
use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls::structs::{Stat, Statfs};
use syscalls::Errno;

/// A shared reference to an open file description.
pub type FileRef = Arc<FileDescription>;

/// Status flags F_SETFL may change.
pub const SETFL_MASK: i32 = libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME;

/// An open file description.
pub struct FileDescription {
    ops: Box<dyn FileOps>,
    /// Access mode and status flags (`O_*`), as F_GETFL reports them.
    flags: AtomicI32,
    /// The file position. Held for the whole of a read, write or getdents,
    /// so concurrent calls on one description see consistent offsets.
    pos: Mutex<u64>,
    /// Where the file was opened (`None` for pipes, host stdio ...).
    location: Option<Location>,
}

impl FileDescription {
    /// A new description around `ops`.
    pub fn new(ops: Box<dyn FileOps>, flags: i32, location: Option<Location>) -> FileRef {
        let kept = flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC);
        Arc::new(FileDescription {
            ops,
            flags: AtomicI32::new(kept),
            pos: Mutex::new(0),
            location,
        })
    }

    fn pos(&self) -> MutexGuard<'_, u64> {
        self.pos.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Access mode and status flags.
    pub fn flags(&self) -> i32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// F_SETFL: replaces the changeable status flags.
    pub fn set_status_flags(&self, new: i32) {
        let _ = self.flags.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
            Some((old & !SETFL_MASK) | (new & SETFL_MASK))
        });
    }

    /// The file operations (for file-type specific calls).
    pub fn ops(&self) -> &dyn FileOps {
        self.ops.as_ref()
    }

    /// Where the file was opened, if it has a place in the mount tree.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// Whether this is an `O_PATH` description (no I/O at all).
    pub fn is_path_only(&self) -> bool {
        self.flags() & libc::O_PATH != 0
    }

    /// Tells inotify about an access (`IN_ACCESS`) or change (`IN_MODIFY`)
    /// of the file; one atomic load while nothing is watched.
    fn notify(&self, mask: u32, n: usize) {
        if n > 0 && crate::fs::inotify::active() {
            if let Some(loc) = &self.location {
                crate::fs::inotify::on_node(loc, mask);
            }
        }
    }

    fn nonblock(&self) -> bool {
        self.flags() & libc::O_NONBLOCK != 0
    }

    fn readable(&self) -> Result<(), Errno> {
        let f = self.flags();
        if f & libc::O_PATH != 0 || matches!(f & libc::O_ACCMODE, libc::O_WRONLY | 3) {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    fn writable(&self) -> Result<(), Errno> {
        let f = self.flags();
        if f & libc::O_PATH != 0 || matches!(f & libc::O_ACCMODE, libc::O_RDONLY | 3) {
            return Err(Errno::EBADF);
        }
        Ok(())
    }

    /// `read`: at the file position, which advances.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.readable()?;
        if !self.ops.seekable() {
            let n = self.ops.read(buf, 0, self.nonblock())?;
            self.notify(crate::fs::inotify::IN_ACCESS, n);
            return Ok(n);
        }
        let mut pos = self.pos();
        let n = self.ops.read(buf, *pos, self.nonblock())?;
        *pos += n as u64;
        drop(pos);
        self.notify(crate::fs::inotify::IN_ACCESS, n);
        Ok(n)
    }

    /// `pread`: at `offset`, the position untouched (ESPIPE for streams).
    pub fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.readable()?;
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        let n = self.ops.read(buf, offset, self.nonblock())?;
        self.notify(crate::fs::inotify::IN_ACCESS, n);
        Ok(n)
    }

    /// Positional read for the loader and the kernel (same as `pread`).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.pread(buf, offset)
    }

    /// `write`: at the position (at the end with `O_APPEND`), which advances.
    pub fn write(&self, buf: &[u8]) -> Result<usize, Errno> {
        self.writable()?;
        if !self.ops.seekable() {
            let n = self.ops.write(buf, 0, self.nonblock())?;
            self.notify(crate::fs::inotify::IN_MODIFY, n);
            return Ok(n);
        }
        let mut pos = self.pos();
        if self.flags() & libc::O_APPEND != 0 {
            *pos = u64::try_from(self.ops.stat()?.st_size).unwrap_or(0);
        }
        let n = self.ops.write(buf, *pos, self.nonblock())?;
        *pos += n as u64;
        drop(pos);
        self.notify(crate::fs::inotify::IN_MODIFY, n);
        Ok(n)
    }

    /// `pwrite`: at `offset` (ESPIPE for streams).
    pub fn pwrite(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        self.writable()?;
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        let n = self.ops.write(buf, offset, self.nonblock())?;
        self.notify(crate::fs::inotify::IN_MODIFY, n);
        Ok(n)
    }

    /// `lseek`.
    pub fn lseek(&self, offset: i64, whence: i32) -> Result<u64, Errno> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos();
        let new = self.ops.lseek(*pos, offset, whence)?;
        *pos = new;
        Ok(new)
    }

    /// The current position (FIONREAD, /proc/pid/fdinfo).
    pub fn position(&self) -> u64 {
        *self.pos()
    }

    /// Lists directory entries into `sink` from the current position.
    pub fn readdir(&self, sink: &mut dyn FnMut(&DirentOut<'_>) -> bool) -> Result<(), Errno> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos();
        self.ops.readdir(&mut pos, sink)?;
        drop(pos);
        // Linux reports every getdents as an access of the directory.
        self.notify(crate::fs::inotify::IN_ACCESS, 1);
        Ok(())
    }

    /// fstat.
    pub fn stat(&self) -> Result<Stat, Errno> {
        self.ops.stat()
    }

    /// fstatfs.
    pub fn statfs(&self) -> Result<Statfs, Errno> {
        match &self.location {
            Some(loc) => crate::fs::statfs_of_mount(&loc.mount),
            None => self.ops.statfs(),
        }
    }

    /// The host fd to map for a file-backed mmap (ENODEV when there is none).
    pub fn mmap_host_fd(&self) -> Result<RawFd, Errno> {
        if self.is_path_only() {
            return Err(Errno::EBADF);
        }
        self.ops.host_fd().ok_or(Errno::ENODEV)
    }

    /// The file's absolute path in the sandbox (or its anonymous name).
    pub fn path(&self) -> Vec<u8> {
        match &self.location {
            Some(loc) => loc.path(),
            None => self.ops.name(),
        }
    }
}

impl Drop for FileDescription {
    fn drop(&mut self) {
        if let Some(loc) = &self.location {
            crate::fs::inotify::on_close(loc, self.flags());
        }
    }
}

impl std::fmt::Debug for FileDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDescription")
            .field("path", &String::from_utf8_lossy(&self.path()))
            .field("flags", &self.flags())
            .finish()
    }
}

/// Entries fetched from the filesystem per readdir call.
const DIR_CHUNK: usize = 256;

/// An open directory of any filesystem: ".", "..", then the filesystem's
/// entries. Positions are entry indexes (the `d_off` of the n-th entry is
/// n+1), so telldir/seekdir and rewinding work on every filesystem.
pub struct DirFile {
    inode: Arc<dyn Inode>,
    ino: u64,
    parent_ino: u64,
    cursor: Mutex<DirCursor>,
}

#[derive(Default)]
struct DirCursor {
    /// Index of the next entry to hand out.
    index: u64,
    /// Filesystem cookie to fetch more after `buf`.
    cookie: u64,
    /// Fetched but not yet handed out (entries from index 2 on).
    buf: VecDeque<RawDirent>,
    eof: bool,
}

impl DirFile {
    /// An open directory; `parent_ino` is what ".." reports.
    pub fn new(inode: Arc<dyn Inode>, parent_ino: u64) -> Result<DirFile, Errno> {
        let ino = inode.stat()?.st_ino;
        Ok(DirFile {
            inode,
            ino,
            parent_ino,
            cursor: Mutex::new(DirCursor::default()),
        })
    }

    /// Makes sure the cursor's next entry is fetched; false at the end.
    fn fill(&self, c: &mut DirCursor) -> Result<bool, Errno> {
        if c.index < 2 {
            return Ok(true);
        }
        while c.buf.is_empty() && !c.eof {
            let entries = self.inode.readdir(c.cookie, DIR_CHUNK)?;
            match entries.last() {
                Some(last) => c.cookie = last.cookie,
                None => c.eof = true,
            }
            c.buf
                .extend(entries.into_iter().filter(|e| e.name != b"." && e.name != b".."));
        }
        Ok(!c.buf.is_empty())
    }

    fn advance(c: &mut DirCursor) {
        if c.index >= 2 {
            c.buf.pop_front();
        }
        c.index += 1;
    }
}

impl FileOps for DirFile {
    fn stat(&self) -> Result<Stat, Errno> {
        self.inode.stat()
    }

    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, _buf: &mut [u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn write(&self, _buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }

    fn lseek(&self, current: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
        let new = match whence {
            libc::SEEK_SET => offset,
            libc::SEEK_CUR => i64::try_from(current)
                .map_err(|_| Errno::EINVAL)?
                .checked_add(offset)
                .ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        u64::try_from(new).map_err(|_| Errno::EINVAL)
    }

    fn readdir(&self, pos: &mut u64, sink: &mut dyn FnMut(&DirentOut<'_>) -> bool) -> Result<(), Errno> {
        let mut c = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        if c.index != *pos {
            // A seek happened: restart and skip to the wanted index.
            *c = DirCursor::default();
            while c.index < *pos && self.fill(&mut c)? {
                Self::advance(&mut c);
            }
            *pos = c.index;
        }
        while self.fill(&mut c)? {
            let accepted = match c.index {
                0 => sink(&DirentOut {
                    ino: self.ino,
                    off: 1,
                    dtype: libc::DT_DIR,
                    name: b".",
                }),
                1 => sink(&DirentOut {
                    ino: self.parent_ino,
                    off: 2,
                    dtype: libc::DT_DIR,
                    name: b"..",
                }),
                i => match c.buf.front() {
                    Some(e) => sink(&DirentOut {
                        ino: e.ino,
                        off: i + 1,
                        dtype: e.dtype,
                        name: &e.name,
                    }),
                    None => break,
                },
            };
            if !accepted {
                break;
            }
            Self::advance(&mut c);
            *pos = c.index;
        }
        Ok(())
    }
}

/// Fills a guest `getdents64` buffer: `linux_dirent64` records (header,
/// name, NUL, padded to 8).
pub struct Dirent64Writer {
    /// The records so far.
    pub buf: Vec<u8>,
    cap: usize,
}

impl Dirent64Writer {
    /// A writer for a guest buffer of `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Dirent64Writer { buf: Vec::new(), cap }
    }

    /// Appends one record; false when it does not fit.
    pub fn push(&mut self, e: &DirentOut<'_>) -> bool {
        use syscalls::structs::Dirent64Header;
        use syscalls::Pod;
        let hdr = std::mem::size_of::<Dirent64Header>();
        let reclen = (hdr + e.name.len() + 1).next_multiple_of(8);
        if self.buf.len() + reclen > self.cap || reclen > u16::MAX as usize {
            return false;
        }
        let h = Dirent64Header {
            d_ino: e.ino,
            d_off: e.off as i64,
            d_reclen: reclen as u16,
            d_type: e.dtype,
        };
        let start = self.buf.len();
        self.buf.extend_from_slice(h.as_bytes());
        self.buf.extend_from_slice(e.name);
        self.buf.resize(start + reclen, 0);
        true
    }
}

/// Fills a guest `getdents` buffer: old `linux_dirent` records (ino, off,
/// reclen, name, NUL, padding, and the type in the record's last byte).
pub struct DirentWriter {
    /// The records so far.
    pub buf: Vec<u8>,
    cap: usize,
}

impl DirentWriter {
    /// A writer for a guest buffer of `cap` bytes.
    pub fn new(cap: usize) -> Self {
        DirentWriter { buf: Vec::new(), cap }
    }

    /// Appends one record; false when it does not fit.
    pub fn push(&mut self, e: &DirentOut<'_>) -> bool {
        // u64 ino + i64 off + u16 reclen = 18, then name, NUL, d_type.
        let reclen = (18 + e.name.len() + 2).next_multiple_of(8);
        if self.buf.len() + reclen > self.cap || reclen > u16::MAX as usize {
            return false;
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(&e.ino.to_ne_bytes());
        self.buf.extend_from_slice(&(e.off as i64).to_ne_bytes());
        self.buf.extend_from_slice(&(reclen as u16).to_ne_bytes());
        self.buf.extend_from_slice(e.name);
        self.buf.resize(start + reclen, 0);
        self.buf[start + reclen - 1] = e.dtype;
        true
    }
}

/// A description opened with `O_PATH`: names a node, allows no I/O.
pub struct PathFile {
    inode: Arc<dyn Inode>,
}

impl PathFile {
    /// An `O_PATH` handle on `inode`.
    pub fn new(inode: Arc<dyn Inode>) -> Self {
        PathFile { inode }
    }
}

impl FileOps for PathFile {
    fn stat(&self) -> Result<Stat, Errno> {
        self.inode.stat()
    }
    fn read(&self, _buf: &mut [u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn write(&self, _buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
}
