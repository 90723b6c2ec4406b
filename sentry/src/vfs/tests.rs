//! Tests of the path walker, open rules, directories and the fd table,
//! against an in-memory fake gofer (which counts round trips) and against
//! the real gofer server on a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::file::{Dirent64Writer, DirentWriter};
use super::open::{open_exec_path, open_path};
use super::*;
use crate::fs::gofer::{GoferBackend, GoferFs};
use gofer::{Attr, DirEntry, Handle, StatFs};
use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

enum Kind {
    Dir(Vec<(Vec<u8>, Handle)>),
    File(Vec<u8>),
    Link(Vec<u8>),
}

struct Node {
    attr: Attr,
    kind: Kind,
}

/// An in-memory gofer. Handles are node ids; `walks` counts walk calls.
#[derive(Default)]
struct Fake {
    nodes: Mutex<HashMap<Handle, Node>>,
    walks: AtomicUsize,
}

impl Fake {
    fn new() -> Arc<Fake> {
        let f = Arc::new(Fake::default());
        f.add(0, b"", libc::S_IFDIR | 0o755, 0, Kind::Dir(Vec::new()));
        f
    }

    fn add(&self, parent: Handle, name: &[u8], mode: u32, uid: u32, kind: Kind) -> Handle {
        let mut nodes = self.nodes.lock().unwrap();
        let h = nodes.len() as Handle + 1;
        let size = match &kind {
            Kind::File(c) | Kind::Link(c) => c.len() as i64,
            Kind::Dir(_) => 4096,
        };
        let attr = Attr {
            dev: 77,
            ino: 1000 + h,
            mode,
            nlink: 1,
            uid,
            gid: uid,
            size,
            blksize: 4096,
            ..Attr::default()
        };
        nodes.insert(h, Node { attr, kind });
        if let Some(Node {
            kind: Kind::Dir(entries),
            ..
        }) = nodes.get_mut(&parent)
        {
            entries.push((name.to_vec(), h));
        }
        h
    }

    fn dir(&self, parent: Handle, name: &str, mode: u32, uid: u32) -> Handle {
        self.add(
            parent,
            name.as_bytes(),
            libc::S_IFDIR | mode,
            uid,
            Kind::Dir(Vec::new()),
        )
    }

    fn file(&self, parent: Handle, name: &str, content: &[u8], mode: u32) -> Handle {
        self.add(
            parent,
            name.as_bytes(),
            libc::S_IFREG | mode,
            0,
            Kind::File(content.to_vec()),
        )
    }

    fn link(&self, parent: Handle, name: &str, target: &str) -> Handle {
        self.add(
            parent,
            name.as_bytes(),
            libc::S_IFLNK | 0o777,
            0,
            Kind::Link(target.as_bytes().to_vec()),
        )
    }

    fn walks(&self) -> usize {
        self.walks.load(Ordering::SeqCst)
    }
}

impl GoferBackend for Fake {
    fn attach(&self) -> Result<(Handle, Attr), Errno> {
        Ok((1, self.nodes.lock().unwrap()[&1].attr))
    }

    fn walk(&self, dir: Handle, names: &[&[u8]]) -> Result<Vec<(Handle, Attr)>, Errno> {
        self.walks.fetch_add(1, Ordering::SeqCst);
        let nodes = self.nodes.lock().unwrap();
        let mut out = Vec::new();
        let mut cur = dir;
        for name in names {
            let Kind::Dir(entries) = &nodes[&cur].kind else { break };
            let Some((_, h)) = entries.iter().find(|(n, _)| n == name) else {
                break;
            };
            out.push((*h, nodes[h].attr));
            cur = *h;
        }
        Ok(out)
    }

    fn open(&self, h: Handle, flags: i32) -> Result<OwnedFd, Errno> {
        if flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(Errno::EROFS);
        }
        let nodes = self.nodes.lock().unwrap();
        let Kind::File(content) = &nodes[&h].kind else {
            return Err(Errno::EINVAL);
        };
        // SAFETY: a static NUL-terminated name; memfd_create has no other inputs.
        let fd = unsafe { libc::memfd_create(c"fake".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: fresh fd owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `content` is valid for reads of its length.
        let n = unsafe { libc::write(fd, content.as_ptr().cast(), content.len()) };
        assert_eq!(n as usize, content.len());
        Ok(owned)
    }

    fn readlink(&self, h: Handle) -> Result<Vec<u8>, Errno> {
        match &self.nodes.lock().unwrap()[&h].kind {
            Kind::Link(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn getdents(&self, dir: Handle, cookie: u64, max: usize) -> Result<Vec<DirEntry>, Errno> {
        let nodes = self.nodes.lock().unwrap();
        let Kind::Dir(entries) = &nodes[&dir].kind else {
            return Err(Errno::ENOTDIR);
        };
        Ok(entries
            .iter()
            .enumerate()
            .skip(cookie as usize)
            .take(max.min(2)) // small chunks exercise resumption
            .map(|(i, (name, h))| DirEntry {
                ino: nodes[h].attr.ino,
                off: i as u64 + 1,
                dtype: ((nodes[h].attr.mode & libc::S_IFMT) >> 12) as u8,
                name: name.clone(),
            })
            .collect())
    }

    fn statfs(&self, _h: Handle) -> Result<StatFs, Errno> {
        Ok(StatFs {
            fs_type: 0xEF53,
            bsize: 4096,
            namelen: 255,
            ..StatFs::default()
        })
    }

    fn close(&self, _handles: &[Handle]) {}
}

/// The standard fake tree:
/// /bin/sh (0755), /etc/passwd, /etc/secret/ (0700, uid 0), /home/u (uid 1000),
/// /lnk -> etc, /abs -> /etc/passwd, /loop -> loop, /rel -> ../etc/passwd (in /bin),
/// /dangling -> nothere, /dev (the image's own, shadowed).
fn tree() -> (Arc<Fake>, Arc<Vfs>) {
    let f = Fake::new();
    let bin = f.dir(1, "bin", 0o755, 0);
    f.file(bin, "sh", b"#!binary", 0o755);
    f.link(bin, "rel", "../etc/passwd");
    let etc = f.dir(1, "etc", 0o755, 0);
    f.file(etc, "passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644);
    let secret = f.dir(etc, "secret", 0o700, 0);
    f.file(secret, "key", b"k", 0o600);
    let home = f.dir(1, "home", 0o755, 0);
    f.dir(home, "u", 0o755, 1000);
    f.link(1, "lnk", "etc");
    f.link(1, "abs", "/etc/passwd");
    f.link(1, "loop", "loop");
    f.link(1, "dangling", "nothere");
    f.link(1, "up", "../../../etc");
    let dev = f.dir(1, "dev", 0o755, 0);
    f.file(dev, "null", b"host null!", 0o666);
    let (fs, root) = GoferFs::new_root(f.clone()).unwrap();
    let vfs = Vfs::with_root(root, fs, true).unwrap();
    (f, vfs)
}

fn root_creds() -> Credentials {
    Credentials::new(0, 0, vec![])
}

fn resolve(vfs: &Arc<Vfs>, creds: &Credentials, path: &str, follow: bool) -> Result<Location, Errno> {
    let ctx = FsContext::new(vfs, b"/", 0o022).unwrap();
    ctx.walker(creds).resolve(&ctx.cwd, path.as_bytes(), follow)
}

fn path_of(l: &Location) -> String {
    String::from_utf8(l.path()).unwrap()
}

#[test]
fn walks_absolute_relative_and_dotdot() {
    let (_f, vfs) = tree();
    let c = root_creds();
    assert_eq!(path_of(&resolve(&vfs, &c, "/etc/passwd", true).unwrap()), "/etc/passwd");
    assert_eq!(
        path_of(&resolve(&vfs, &c, "etc//./passwd", true).unwrap()),
        "/etc/passwd"
    );
    assert_eq!(path_of(&resolve(&vfs, &c, "/../../etc/../bin/", true).unwrap()), "/bin");
    let ctx = FsContext::new(&vfs, b"/home/u", 0).unwrap();
    assert_eq!(ctx.cwd_path(), b"/home/u");
    let l = ctx.walker(&c).resolve(&ctx.cwd, b"../../etc/passwd", true).unwrap();
    assert_eq!(path_of(&l), "/etc/passwd");
    assert_eq!(FsContext::new(&vfs, b"/etc/passwd", 0).err(), Some(Errno::ENOTDIR));
    // A cwd inside a mount reports its path through the mountpoint.
    let dev = FsContext::new(&vfs, b"/dev/", 0).unwrap();
    assert_eq!(dev.cwd_path(), b"/dev");
    assert_eq!(path_of(&dev.walker(&c).resolve(&dev.cwd, b"..", true).unwrap()), "/");
}

#[test]
fn linux_errors_for_bad_paths() {
    let (_f, vfs) = tree();
    let c = root_creds();
    assert_eq!(resolve(&vfs, &c, "/nope", true).err(), Some(Errno::ENOENT));
    assert_eq!(resolve(&vfs, &c, "/nope/x", true).err(), Some(Errno::ENOENT));
    assert_eq!(resolve(&vfs, &c, "/etc/passwd/x", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(resolve(&vfs, &c, "/etc/passwd/", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(resolve(&vfs, &c, "/etc/passwd/.", true).err(), Some(Errno::ENOTDIR));
    assert_eq!(resolve(&vfs, &c, "", true).err(), Some(Errno::ENOENT));
    let long = format!("/etc/{}", "a".repeat(256));
    assert_eq!(resolve(&vfs, &c, &long, true).err(), Some(Errno::ENAMETOOLONG));
    let ok_len = format!("/etc/{}", "a".repeat(255));
    assert_eq!(resolve(&vfs, &c, &ok_len, true).err(), Some(Errno::ENOENT));
}

#[test]
fn symlinks_resolve_inside_the_sandbox() {
    let (_f, vfs) = tree();
    let c = root_creds();
    assert_eq!(path_of(&resolve(&vfs, &c, "/lnk/passwd", true).unwrap()), "/etc/passwd");
    assert_eq!(path_of(&resolve(&vfs, &c, "/abs", true).unwrap()), "/etc/passwd");
    assert_eq!(path_of(&resolve(&vfs, &c, "/bin/rel", true).unwrap()), "/etc/passwd");
    // ".." in a target never climbs above the root.
    assert_eq!(path_of(&resolve(&vfs, &c, "/up/passwd", true).unwrap()), "/etc/passwd");
    // Not following returns the link itself; a trailing slash follows.
    let l = resolve(&vfs, &c, "/lnk", false).unwrap();
    assert!(inode::is_symlink(l.inode().stat().unwrap().st_mode));
    assert_eq!(path_of(&resolve(&vfs, &c, "/lnk/", false).unwrap()), "/etc");
    assert_eq!(resolve(&vfs, &c, "/loop", true).err(), Some(Errno::ELOOP));
    assert!(resolve(&vfs, &c, "/loop", false).is_ok());
    assert_eq!(resolve(&vfs, &c, "/dangling", true).err(), Some(Errno::ENOENT));
    assert_eq!(resolve(&vfs, &c, "/abs/", true).err(), Some(Errno::ENOTDIR));
}

#[test]
fn forty_links_are_allowed_and_the_41st_is_eloop() {
    let f = Fake::new();
    let d = f.dir(1, "d", 0o755, 0);
    f.file(d, "end", b"x", 0o644);
    f.link(d, "l0", "end");
    for i in 1..=40 {
        f.link(d, &format!("l{i}"), &format!("l{}", i - 1));
    }
    let (fs, root) = GoferFs::new_root(f.clone()).unwrap();
    let vfs = Vfs::with_root(root, fs, true).unwrap();
    let c = root_creds();
    assert!(resolve(&vfs, &c, "/d/l39", true).is_ok());
    assert_eq!(resolve(&vfs, &c, "/d/l40", true).err(), Some(Errno::ELOOP));
}

#[test]
fn mounts_shadow_the_image_and_dotdot_crosses_them() {
    let (_f, vfs) = tree();
    let c = root_creds();
    let null = resolve(&vfs, &c, "/dev/null", true).unwrap();
    let st = null.inode().stat().unwrap();
    assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFCHR);
    assert_eq!((inode::major(st.st_rdev), inode::minor(st.st_rdev)), (1, 3));
    assert_ne!(st.st_dev, 77, "devfs has its own device");
    assert_eq!(path_of(&null), "/dev/null");
    assert_eq!(
        path_of(&resolve(&vfs, &c, "/dev/../etc/passwd", true).unwrap()),
        "/etc/passwd"
    );
    assert_eq!(path_of(&resolve(&vfs, &c, "/dev/..", true).unwrap()), "/");
    // /proc and /sys exist (the fake image has neither) and are empty.
    let proc_ = resolve(&vfs, &c, "/proc", true).unwrap();
    assert!(inode::is_dir(proc_.inode().stat().unwrap().st_mode));
    assert_eq!(resolve(&vfs, &c, "/proc/self", true).err(), Some(Errno::ENOENT));
    assert!(resolve(&vfs, &c, "/sys", true).is_ok());
    // /dev/stdin points into /proc, which has nothing yet.
    assert_eq!(resolve(&vfs, &c, "/dev/stdin", true).err(), Some(Errno::ENOENT));
    assert!(resolve(&vfs, &c, "/dev/stdin", false).is_ok());
}

#[test]
fn search_permission_is_checked_and_root_bypasses_it() {
    let (_f, vfs) = tree();
    let user = Credentials::new(1000, 1000, vec![]);
    assert_eq!(resolve(&vfs, &user, "/etc/secret/key", true).err(), Some(Errno::EACCES));
    assert!(resolve(&vfs, &root_creds(), "/etc/secret/key", true).is_ok());
    // The directory itself is reachable; only searching it is denied.
    assert!(resolve(&vfs, &user, "/etc/secret", true).is_ok());
}

#[test]
fn walks_are_batched_and_cached() {
    let f = Fake::new();
    let a = f.dir(1, "a", 0o755, 0);
    let b = f.dir(a, "b", 0o755, 0);
    let c = f.dir(b, "c", 0o755, 0);
    f.file(c, "d", b"", 0o644);
    let (fs, root) = GoferFs::new_root(f.clone()).unwrap();
    let vfs = Vfs::with_root(root, fs, true).unwrap();
    let before = f.walks();
    let creds = root_creds();
    assert!(resolve(&vfs, &creds, "/a/b/c/d", true).is_ok());
    assert_eq!(f.walks() - before, 1, "one round trip for four names");
    assert!(resolve(&vfs, &creds, "/a/b/c/d", true).is_ok());
    assert!(resolve(&vfs, &creds, "/a/b/../b/c", true).is_ok());
    assert_eq!(f.walks() - before, 1, "cached");
    assert_eq!(resolve(&vfs, &creds, "/a/b/missing", true).err(), Some(Errno::ENOENT));
    assert_eq!(resolve(&vfs, &creds, "/a/b/missing", true).err(), Some(Errno::ENOENT));
    assert_eq!(f.walks() - before, 2, "missing names are cached too");
}

fn open(vfs: &Arc<Vfs>, creds: &Credentials, path: &str, flags: i32) -> Result<FileRef, Errno> {
    let ctx = FsContext::new(vfs, b"/", 0o022).unwrap();
    open_path(&ctx.walker(creds), &ctx.cwd, path.as_bytes(), flags)
}

#[test]
fn open_follows_linux_rules() {
    let (_f, vfs) = tree();
    let c = root_creds();
    let user = Credentials::new(1000, 1000, vec![]);
    assert_eq!(
        open(&vfs, &c, "/etc/passwd", libc::O_RDONLY | libc::O_DIRECTORY).err(),
        Some(Errno::ENOTDIR)
    );
    assert_eq!(
        open(&vfs, &c, "/abs", libc::O_RDONLY | libc::O_NOFOLLOW).err(),
        Some(Errno::ELOOP)
    );
    assert!(open(&vfs, &c, "/abs", libc::O_PATH | libc::O_NOFOLLOW).is_ok());
    assert_eq!(
        open(&vfs, &c, "/new", libc::O_CREAT | libc::O_WRONLY).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(
        open(&vfs, &c, "/nodir/new", libc::O_CREAT | libc::O_WRONLY).err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        open(&vfs, &c, "/etc/passwd", libc::O_CREAT | libc::O_EXCL).err(),
        Some(Errno::EEXIST)
    );
    assert!(open(&vfs, &c, "/etc/passwd", libc::O_CREAT | libc::O_RDONLY).is_ok());
    assert_eq!(
        open(&vfs, &c, "/etc", libc::O_CREAT | libc::O_RDONLY).err(),
        Some(Errno::EISDIR)
    );
    assert_eq!(
        open(&vfs, &c, "/dangling", libc::O_CREAT | libc::O_WRONLY).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(open(&vfs, &c, "/etc/passwd", libc::O_WRONLY).err(), Some(Errno::EROFS));
    assert_eq!(
        open(&vfs, &c, "/etc/passwd", libc::O_RDONLY | libc::O_TRUNC).err(),
        Some(Errno::EROFS)
    );
    assert_eq!(open(&vfs, &c, "/etc", libc::O_RDWR).err(), Some(Errno::EISDIR));
    assert_eq!(
        open(&vfs, &user, "/etc/secret/key", libc::O_RDONLY).err(),
        Some(Errno::EACCES)
    );
    assert_eq!(open(&vfs, &c, "/dev/tty", libc::O_RDWR).err(), Some(Errno::ENXIO));
    // A shell's `> /dev/null`: O_CREAT|O_TRUNC of an existing device.
    let redirect = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
    assert_eq!(open(&vfs, &user, "/dev/null", redirect).unwrap().write(b"x"), Ok(1));
    // Devices are writable: /dev is not read-only.
    let null = open(&vfs, &user, "/dev/null", libc::O_RDWR).unwrap();
    assert_eq!(null.write(b"gone"), Ok(4));
    let mut b = [0u8; 4];
    assert_eq!(null.read(&mut b), Ok(0));
}

#[test]
fn reads_share_the_offset_and_pread_does_not_move_it() {
    let (_f, vfs) = tree();
    let file = open(&vfs, &root_creds(), "/etc/passwd", libc::O_RDONLY).unwrap();
    let dup = file.clone();
    let mut b = [0u8; 5];
    assert_eq!(file.read(&mut b), Ok(5));
    assert_eq!(&b, b"root:");
    assert_eq!(dup.read(&mut b), Ok(5));
    assert_eq!(&b, b"x:0:0");
    assert_eq!(file.pread(&mut b, 0), Ok(5));
    assert_eq!(&b, b"root:");
    assert_eq!(file.position(), 10);
    assert_eq!(file.lseek(-3, libc::SEEK_END), Ok(23));
    assert_eq!(file.lseek(-100, libc::SEEK_CUR), Err(Errno::EINVAL));
    assert_eq!(file.write(b"x"), Err(Errno::EBADF));
    assert!(file.mmap_host_fd().is_ok());
    assert_eq!(file.path(), b"/etc/passwd");
    assert_eq!(file.flags() & libc::O_ACCMODE, libc::O_RDONLY);
    file.set_status_flags(libc::O_APPEND | libc::O_NONBLOCK | libc::O_RDWR);
    assert_eq!(
        dup.flags() & libc::O_ACCMODE,
        libc::O_RDONLY,
        "access mode is not changeable"
    );
    assert_ne!(dup.flags() & libc::O_NONBLOCK, 0, "status flags are shared");
    let dir = open(&vfs, &root_creds(), "/etc", libc::O_RDONLY).unwrap();
    assert_eq!(dir.read(&mut b), Err(Errno::EISDIR));
    assert_eq!(dir.mmap_host_fd(), Err(Errno::ENODEV));
}

fn list(dir: &FileRef) -> Vec<(String, u8, i64)> {
    let mut w = Dirent64Writer::new(4096);
    dir.readdir(&mut |e| w.push(e)).unwrap();
    let mut out = Vec::new();
    let mut rest = &w.buf[..];
    while !rest.is_empty() {
        let reclen = u16::from_ne_bytes([rest[16], rest[17]]) as usize;
        assert_eq!(reclen % 8, 0);
        let off = i64::from_ne_bytes(rest[8..16].try_into().unwrap());
        let name = &rest[19..reclen];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
        out.push((String::from_utf8(name.to_vec()).unwrap(), rest[18], off));
        rest = &rest[reclen..];
    }
    out
}

#[test]
fn getdents_lists_dot_dotdot_and_entries_and_rewinds() {
    let (_f, vfs) = tree();
    let dir = open(&vfs, &root_creds(), "/etc", libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
    let all = list(&dir);
    let names: Vec<&str> = all.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, [".", "..", "passwd", "secret"]);
    assert_eq!(all[2].1, libc::DT_REG);
    assert_eq!(all[3].1, libc::DT_DIR);
    assert_eq!(all.iter().map(|e| e.2).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(list(&dir).is_empty(), "at the end");
    assert_eq!(dir.lseek(0, libc::SEEK_SET), Ok(0));
    assert_eq!(list(&dir).len(), 4);
    assert_eq!(dir.lseek(3, libc::SEEK_SET), Ok(3));
    assert_eq!(list(&dir)[0].0, "secret");
    // A buffer too small for one record accepts nothing.
    dir.lseek(0, libc::SEEK_SET).unwrap();
    let mut tiny = Dirent64Writer::new(16);
    dir.readdir(&mut |e| tiny.push(e)).unwrap();
    assert!(tiny.buf.is_empty());
    // The old format puts d_type in the record's last byte.
    let mut old = DirentWriter::new(4096);
    dir.readdir(&mut |e| old.push(e)).unwrap();
    let reclen = u16::from_ne_bytes([old.buf[16], old.buf[17]]) as usize;
    assert_eq!(reclen, 24);
    assert_eq!(old.buf[18], b'.');
    assert_eq!(old.buf[reclen - 1], libc::DT_DIR);
    // The root of devfs lists its devices; ".." of /dev is the root's inode.
    let dev = open(&vfs, &root_creds(), "/dev", libc::O_RDONLY).unwrap();
    let entries = list(&dev);
    assert!(entries.iter().any(|e| e.0 == "urandom" && e.1 == libc::DT_CHR));
    assert!(entries.iter().any(|e| e.0 == "stdout" && e.1 == libc::DT_LNK));
}

#[test]
fn exec_needs_a_regular_file_with_an_exec_bit() {
    let (_f, vfs) = tree();
    let ctx = FsContext::new(&vfs, b"/", 0).unwrap();
    let c = root_creds();
    let w = ctx.walker(&c);
    let f = open_exec_path(&w, &ctx.cwd, b"/bin/sh").unwrap();
    let mut b = [0u8; 8];
    assert_eq!(f.read_at(&mut b, 0), Ok(8));
    assert_eq!(&b, b"#!binary");
    assert_eq!(open_exec_path(&w, &ctx.cwd, b"/etc/passwd").err(), Some(Errno::EACCES));
    assert_eq!(open_exec_path(&w, &ctx.cwd, b"/etc").err(), Some(Errno::EACCES));
    assert_eq!(open_exec_path(&w, &ctx.cwd, b"/bin/none").err(), Some(Errno::ENOENT));
}

fn dummy_file() -> FileRef {
    FileDescription::new(
        Box::new(file::PathFile::new(crate::fs::synthetic::StaticDir::empty_root(0))),
        libc::O_PATH,
        None,
    )
}

#[test]
fn fd_table_allocates_lowest_respects_limits_and_cloexec() {
    let t = FdTable::new();
    assert_eq!(t.insert(dummy_file(), false, 0, 4), Ok(0));
    assert_eq!(t.insert(dummy_file(), true, 0, 4), Ok(1));
    assert_eq!(t.insert(dummy_file(), false, 0, 4), Ok(2));
    assert_eq!(t.insert(dummy_file(), false, 0, 4), Ok(3));
    assert_eq!(t.insert(dummy_file(), false, 0, 4), Err(Errno::EMFILE));
    t.remove(1).unwrap();
    assert_eq!(t.remove(1).err(), Some(Errno::EBADF));
    assert_eq!(t.insert(dummy_file(), true, 0, 4), Ok(1));
    assert_eq!(t.insert(dummy_file(), false, 10, 64), Ok(10));
    assert_eq!(t.get_with_cloexec(1).map(|(_, c)| c), Ok(true));
    let f = t.get(0).unwrap();
    let old = t.install(2, f.clone(), false).unwrap();
    assert!(old.is_some());
    assert!(Arc::ptr_eq(&t.get(2).unwrap(), &f));
    let forked = t.fork();
    t.close_on_exec();
    assert_eq!(t.get(1).err(), Some(Errno::EBADF));
    assert!(forked.get(1).is_ok(), "a fork's copy is independent");
    t.close_range(2, u32::MAX, true);
    assert_eq!(t.get_with_cloexec(3).map(|(_, c)| c), Ok(true));
    t.close_range(0, 3, false);
    assert_eq!(t.fds(), vec![10]);
    assert_eq!(t.get(-1).err(), Some(Errno::EBADF));
}

#[test]
fn stdio_table_wraps_the_host_fds() {
    let t = FdTable::new_with_stdio().unwrap();
    // The test harness has fds 0-2 open; each wraps a host fd.
    for fd in 0..3 {
        if let Ok(f) = t.get(fd) {
            assert!(f.stat().is_ok());
            // Named as Linux names anonymous files, never by a host path.
            let path = f.path();
            let known = [&b"host:["[..], b"pipe:[", b"socket:[", b"/dev/null", b"/dev/pts/"];
            assert!(known.iter().any(|p| path.starts_with(p)), "{path:?}");
        }
    }
}

/// The real gofer server on a temporary directory.
#[test]
fn works_against_the_real_gofer() {
    let dir = std::env::temp_dir().join(format!("rvisor-vfs-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("usr/bin")).unwrap();
    std::fs::write(dir.join("usr/bin/hello"), b"hello world").unwrap();
    std::os::unix::fs::symlink("usr/bin", dir.join("bin")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/hello", dir.join("abs")).unwrap();
    use std::os::unix::fs::OpenOptionsExt;
    let root = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(&dir)
        .unwrap();
    let root_fd: OwnedFd = root.into();
    let (a, b) = gofer::socketpair().unwrap();
    let server = std::thread::spawn(move || gofer::serve(root_fd, b, true));
    let client = Arc::new(gofer::client::Client::new(a));
    {
        let vfs = Vfs::new(client, true).unwrap();
        let c = root_creds();
        let f = open(&vfs, &c, "/bin/hello", libc::O_RDONLY).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(f.read(&mut buf), Ok(11));
        assert_eq!(&buf[..11], b"hello world");
        assert_eq!(f.stat().unwrap().st_size, 11);
        assert_eq!(path_of(&resolve(&vfs, &c, "/abs", true).unwrap()), "/usr/bin/hello");
        assert_eq!(
            open(&vfs, &c, "/usr/bin/hello", libc::O_WRONLY).err(),
            Some(Errno::EROFS)
        );
        let d = open(&vfs, &c, "/usr/bin", libc::O_RDONLY).unwrap();
        let names: Vec<String> = list(&d).into_iter().map(|e| e.0).collect();
        assert_eq!(names, [".", "..", "hello"]);
        let root_loc = resolve(&vfs, &c, "/", true).unwrap();
        let s = crate::fs::statfs_of_mount(&root_loc.mount).unwrap();
        assert_ne!(crate::fs::statfs_flags(&s) & libc::ST_RDONLY as i64, 0);
    }
    // The server thread ends when the client's socket closes; not joined
    // so that a slow shutdown cannot hang the test.
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
