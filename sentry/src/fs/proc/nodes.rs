//! The three kinds of procfs node: directories whose entries are computed
//! on every lookup and listing, read-only files whose text is generated at
//! open, and symlinks whose target is computed at readlink. None of them is
//! cached by the dentry cache: processes come and go.

use crate::vfs::inode::{dtype_of, synthetic_stat};
use crate::vfs::{FileOps, Inode, RawDirent};
use std::sync::{Arc, OnceLock};
use syscalls::structs::Stat;
use syscalls::Errno;

/// The device number of the procfs mount.
pub fn proc_dev() -> u64 {
    static DEV: OnceLock<u64> = OnceLock::new();
    *DEV.get_or_init(crate::fs::synthetic::anon_dev)
}

/// A stable inode number for the node at `key` (a path below /proc), so a
/// lookup and a listing agree without any table.
pub fn ino_of(key: &str) -> u64 {
    // FNV-1a.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 1) | 1
}

/// Owner and mode of a node.
#[derive(Clone, Copy, Debug)]
pub struct Attr {
    /// `S_IF* | permission bits`.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
}

impl Attr {
    /// A root-owned node with `mode`.
    pub const fn root(mode: u32) -> Attr {
        Attr { mode, uid: 0, gid: 0 }
    }
}

fn make_stat(key: &str, attr: Attr) -> Stat {
    let mut st = synthetic_stat(proc_dev(), ino_of(key), attr.mode, 0);
    st.st_uid = attr.uid;
    st.st_gid = attr.gid;
    st
}

/// One entry of a computed directory.
pub struct Entry {
    /// The name.
    pub name: Vec<u8>,
    /// `DT_*` type.
    pub dtype: u8,
}

impl Entry {
    /// An entry named `name` of the type of `mode`.
    pub fn new(name: impl Into<Vec<u8>>, mode: u32) -> Entry {
        Entry {
            name: name.into(),
            dtype: dtype_of(mode),
        }
    }
}

/// The contents of a computed directory.
pub trait DirSource: Send + Sync {
    /// The entries, in listing order.
    fn entries(&self) -> Vec<Entry>;
    /// The node for `name` (`None`: no such entry).
    fn lookup(&self, name: &[u8]) -> Option<Arc<dyn Inode>>;
}

/// A directory whose entries are computed on demand.
pub struct ProcDir {
    key: String,
    stat: Stat,
    source: Box<dyn DirSource>,
}

impl ProcDir {
    /// A directory at `key` with `attr` listing `source`.
    pub fn node(key: String, attr: Attr, source: impl DirSource + 'static) -> Arc<dyn Inode> {
        Arc::new(ProcDir {
            stat: make_stat(&key, attr),
            key,
            source: Box::new(source),
        })
    }
}

impl Inode for ProcDir {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        let Some(first) = names.first() else {
            return Ok(Vec::new());
        };
        // Only the first name: nothing here is cached, so nodes built for
        // the rest of the path would be thrown away.
        Ok(self.source.lookup(first).into_iter().collect())
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        Ok(self
            .source
            .entries()
            .into_iter()
            .enumerate()
            .skip(start)
            .take(max)
            .map(|(i, e)| {
                let key = format!("{}/{}", self.key, String::from_utf8_lossy(&e.name));
                RawDirent {
                    ino: ino_of(&key),
                    cookie: i as u64 + 1,
                    dtype: e.dtype,
                    name: e.name,
                }
            })
            .collect())
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// Generates a file's text when it is opened.
pub type Generator = Box<dyn Fn() -> Result<Vec<u8>, Errno> + Send + Sync>;

/// A read-only file whose contents are generated at open.
pub struct ProcFile {
    stat: Stat,
    generate: Generator,
}

impl ProcFile {
    /// A file at `key` with `attr` whose text `generate` makes.
    pub fn node(key: &str, attr: Attr, generate: Generator) -> Arc<dyn Inode> {
        Arc::new(ProcFile {
            stat: make_stat(key, attr),
            generate,
        })
    }

    /// A root-owned 0444 file with fixed text.
    pub fn fixed(key: &str, text: impl Into<Vec<u8>>) -> Arc<dyn Inode> {
        let text = text.into();
        ProcFile::node(
            key,
            Attr::root(libc::S_IFREG | 0o444),
            Box::new(move || Ok(text.clone())),
        )
    }
}

impl Inode for ProcFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn open(&self, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0 {
            return Err(Errno::EACCES);
        }
        let data = (self.generate)()?;
        Ok(Box::new(ProcData { stat: self.stat, data }))
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// An open procfs file: the text generated at open.
pub struct ProcData {
    stat: Stat,
    data: Vec<u8>,
}

impl FileOps for ProcData {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }

    fn write(&self, _buf: &[u8], _offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        Err(Errno::EACCES)
    }

    fn lseek(&self, current: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
        // Files report size 0 (as Linux's do); SEEK_END is from the text's end.
        let base: i64 = match whence {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => i64::try_from(current).map_err(|_| Errno::EOVERFLOW)?,
            libc::SEEK_END => i64::try_from(self.data.len()).map_err(|_| Errno::EOVERFLOW)?,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
        u64::try_from(new).map_err(|_| Errno::EINVAL)
    }
}

/// Computes a symlink's target at readlink.
pub type LinkTarget = Box<dyn Fn() -> Result<Vec<u8>, Errno> + Send + Sync>;

/// Computes where a magic link leads (the open file's place).
pub type MagicTarget = Box<dyn Fn() -> Result<crate::vfs::Location, Errno> + Send + Sync>;

/// A symlink whose target is computed when it is read or followed.
pub struct ProcLink {
    stat: Stat,
    target: LinkTarget,
    magic: Option<MagicTarget>,
}

impl ProcLink {
    /// A symlink at `key` owned by (`uid`, `gid`) whose target `target` computes.
    pub fn node(key: &str, uid: u32, gid: u32, target: LinkTarget) -> Arc<dyn Inode> {
        Arc::new(ProcLink {
            stat: make_stat(
                key,
                Attr {
                    mode: libc::S_IFLNK | 0o777,
                    uid,
                    gid,
                },
            ),
            target,
            magic: None,
        })
    }

    /// A magic link (`fd/N`): reads as `target`, but following it leads to
    /// the place `magic` computes.
    pub fn magic_node(key: &str, uid: u32, gid: u32, target: LinkTarget, magic: MagicTarget) -> Arc<dyn Inode> {
        let link = ProcLink {
            stat: make_stat(
                key,
                Attr {
                    mode: libc::S_IFLNK | 0o777,
                    uid,
                    gid,
                },
            ),
            target,
            magic: Some(magic),
        };
        Arc::new(link)
    }
}

impl Inode for ProcLink {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = self.stat;
        st.st_size = (self.target)().map(|t| t.len() as i64).unwrap_or(0);
        Ok(st)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        (self.target)()
    }

    fn magic_link(&self) -> Option<Result<crate::vfs::Location, Errno>> {
        self.magic.as_ref().map(|m| m())
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// A directory with a fixed set of entries, each built on lookup.
pub struct StaticEntries(pub Vec<(&'static str, Arc<dyn Inode>)>);

impl DirSource for StaticEntries {
    fn entries(&self) -> Vec<Entry> {
        self.0
            .iter()
            .map(|(n, node)| Entry::new(n.as_bytes(), node.stat().map(|s| s.st_mode).unwrap_or(0)))
            .collect()
    }

    fn lookup(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        self.0
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, node)| node.clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_reads_generated_text_at_offsets_and_refuses_writes() {
        let f = ProcFile::fixed("t/x", "hello\n");
        assert!(matches!(f.open(libc::O_WRONLY), Err(Errno::EACCES)));
        let ops = f.open(libc::O_RDONLY).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(ops.read(&mut buf, 0, false).unwrap(), 4);
        assert_eq!(&buf, b"hell");
        assert_eq!(ops.read(&mut buf, 4, false).unwrap(), 2);
        assert_eq!(&buf[..2], b"o\n");
        assert_eq!(ops.read(&mut buf, 100, false).unwrap(), 0);
        assert_eq!(ops.lseek(0, -2, libc::SEEK_END).unwrap(), 4);
        assert!(ops.write(b"x", 0, false).is_err());
        assert_eq!(f.stat().unwrap().st_mode, libc::S_IFREG | 0o444);
    }

    #[test]
    fn dir_lists_and_looks_up_with_stable_inodes() {
        let d = ProcDir::node(
            "d".into(),
            Attr::root(libc::S_IFDIR | 0o555),
            StaticEntries(vec![
                ("a", ProcFile::fixed("d/a", "1")),
                ("l", ProcLink::node("d/l", 0, 0, Box::new(|| Ok(b"a".to_vec())))),
            ]),
        );
        assert!(!d.cacheable());
        let list = d.readdir(0, 10).unwrap();
        let names: Vec<&[u8]> = list.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, vec![b"a".as_slice(), b"l".as_slice()]);
        assert_eq!(list[0].ino, d.lookup(&[b"a"]).unwrap()[0].stat().unwrap().st_ino);
        assert_eq!(list[1].dtype, libc::DT_LNK);
        assert_eq!(d.readdir(1, 10).unwrap().len(), 1);
        assert!(d.lookup(&[b"zz"]).unwrap().is_empty());
        let l = d.lookup(&[b"l"]).unwrap().remove(0);
        assert_eq!(l.readlink().unwrap(), b"a");
        assert_eq!(l.stat().unwrap().st_size, 1);
    }
}
