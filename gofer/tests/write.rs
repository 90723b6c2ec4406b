//! The write path: a read-write server thread over a temporary tree, driven
//! by the real client, and by raw packets for names and payloads the client
//! would refuse to send. Every change must land inside the root, never
//! through a symlink, and a read-only server must refuse all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{build_tree, open_path_dir, TempDir};
use gofer::protocol::{
    self, frame, Encoder, Header, MSG_ERROR, MUTATING, REPLY_FLAG, SETATTR_ATIME, SETATTR_GID, SETATTR_MODE,
    SETATTR_MTIME, SETATTR_SIZE, SETATTR_UID,
};
use gofer::{serve, socketpair, AttrChange, Client, GoferError, Handle};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use syscalls::Errno;

struct Fixture {
    client: Option<Client>,
    server: Option<JoinHandle<Result<(), GoferError>>>,
    root: PathBuf,
    base: PathBuf,
    _dir: TempDir,
}

impl Fixture {
    fn start(readonly: bool) -> Fixture {
        let dir = TempDir::new("write");
        let root = build_tree(dir.path(), false);
        // Symlinks pointing out of the root, as an image could hold them.
        std::os::unix::fs::symlink("../outside.txt", root.join("out")).unwrap();
        std::os::unix::fs::symlink("..", root.join("updir")).unwrap();
        let (ours, theirs) = socketpair().unwrap();
        let root_fd = open_path_dir(&root);
        let server = std::thread::spawn(move || serve(root_fd, theirs, readonly));
        Fixture {
            client: Some(Client::new(ours)),
            server: Some(server),
            base: dir.path().to_path_buf(),
            root,
            _dir: dir,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    fn root_handle(&self) -> Handle {
        self.c().attach().unwrap().0
    }

    /// The handle of `path` (components separated by '/').
    fn walk(&self, path: &str) -> Handle {
        let names: Vec<&[u8]> = path.split('/').map(str::as_bytes).collect();
        let nodes = self.c().walk(self.root_handle(), &names).unwrap();
        assert_eq!(nodes.len(), names.len(), "{path}");
        nodes.last().unwrap().0
    }

    fn outside_untouched(&self) {
        let p = self.base.join("outside.txt");
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        let md = std::fs::metadata(&p).unwrap();
        assert_eq!(md.nlink(), 1);
        assert_ne!(md.permissions().mode() & 0o7777, 0o4777);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self.client.take());
        if let Some(s) = self.server.take() {
            let r = s.join().unwrap();
            if !std::thread::panicking() {
                assert!(r.is_ok(), "server ended with {r:?}");
            }
        }
    }
}

/// Who the test may give files to: anyone as root, else only itself.
fn owner() -> (u32, u32) {
    // SAFETY: plain id queries.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 {
        (1234, 5678)
    } else {
        (uid, gid)
    }
}

fn meta(p: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(p).unwrap()
}

#[test]
fn create_writes_through_with_owner_and_exact_mode() {
    let fx = Fixture::start(false);
    let c = fx.c();
    let root = fx.root_handle();
    let (h, attr, fd) = c
        .create(root, b"new.txt", libc::O_RDWR | libc::O_EXCL, 0o640, owner())
        .unwrap();
    assert_ne!(h, 0);
    let mut f = std::fs::File::from(fd);
    f.write_all(b"written").unwrap();
    let md = meta(&fx.root.join("new.txt"));
    assert_eq!(std::fs::read(fx.root.join("new.txt")).unwrap(), b"written");
    // Exactly the bits asked for, whatever the process umask.
    assert_eq!(md.permissions().mode() & 0o7777, 0o640);
    assert_eq!((md.uid(), md.gid()), owner());
    assert_eq!((attr.ino, attr.mode & 0o7777), (md.ino(), 0o640));
    assert_eq!(c.stat(h).unwrap().size, 7);
    // O_EXCL: the name now exists.
    let again = c.create(root, b"new.txt", libc::O_RDWR | libc::O_EXCL, 0o600, (0, 0));
    assert_eq!(again.unwrap_err(), Errno::EEXIST);
    // Without O_EXCL an existing file is opened, truncated with O_TRUNC, and
    // keeps its mode and owner.
    let (_, attr, _) = c
        .create(root, b"new.txt", libc::O_WRONLY | libc::O_TRUNC, 0o600, (0, 0))
        .unwrap();
    assert_eq!(attr.size, 0);
    let md = meta(&fx.root.join("new.txt"));
    assert_eq!(md.permissions().mode() & 0o7777, 0o640);
    assert_eq!((md.uid(), md.gid()), owner());
    // A directory and a symlink are not created over.
    assert_eq!(
        c.create(root, b"a", libc::O_RDWR, 0o600, (0, 0)).unwrap_err(),
        Errno::EISDIR
    );
    assert_eq!(
        c.create(root, b"out", libc::O_RDWR, 0o600, (0, 0)).unwrap_err(),
        Errno::ELOOP
    );
    assert_eq!(
        c.create(root, b"out", libc::O_RDWR | libc::O_TRUNC, 0o600, (0, 0))
            .unwrap_err(),
        Errno::ELOOP
    );
    // Bad flags and modes.
    for (flags, mode) in [
        (libc::O_PATH, 0o600),
        (libc::O_DIRECTORY, 0o600),
        (3, 0o600),
        (0, libc::S_IFREG | 0o600),
    ] {
        assert_eq!(
            c.create(root, b"bad", flags, mode, (0, 0)).unwrap_err(),
            Errno::EINVAL,
            "{flags:o} {mode:o}"
        );
    }
    assert!(!fx.root.join("bad").exists());
    fx.outside_untouched();
}

#[test]
fn mkdir_mknod_symlink_link() {
    let fx = Fixture::start(false);
    let c = fx.c();
    let a = fx.walk("a");
    let (d, attr) = c.mkdir(a, b"dir", 0o1751, owner()).unwrap();
    assert!(attr.is_dir());
    let md = meta(&fx.root.join("a/dir"));
    assert!(md.is_dir());
    assert_eq!(md.permissions().mode() & 0o7777, 0o1751);
    assert_eq!((md.uid(), md.gid()), owner());
    assert_eq!(c.mkdir(a, b"dir", 0o755, (0, 0)).unwrap_err(), Errno::EEXIST);
    // The new handle is a directory handle: things can be made inside.
    let (fifo, fattr) = c.mknod(d, b"fifo", libc::S_IFIFO | 0o620, owner()).unwrap();
    assert_eq!(fattr.mode, libc::S_IFIFO | 0o620);
    use std::os::unix::fs::FileTypeExt;
    assert!(meta(&fx.root.join("a/dir/fifo")).file_type().is_fifo());
    let (_, sattr) = c.mknod(d, b"sock", libc::S_IFSOCK | 0o600, (0, 0)).unwrap();
    assert_eq!(sattr.mode & libc::S_IFMT, libc::S_IFSOCK);
    let (_, rattr) = c.mknod(d, b"reg", 0o604, (0, 0)).unwrap();
    assert_eq!((rattr.mode, rattr.size), (libc::S_IFREG | 0o604, 0));
    for dev in [libc::S_IFCHR, libc::S_IFBLK] {
        assert_eq!(c.mknod(d, b"dev", dev | 0o600, (0, 0)).unwrap_err(), Errno::EPERM);
    }
    assert_eq!(
        c.mknod(d, b"dir2", libc::S_IFDIR | 0o700, (0, 0)).unwrap_err(),
        Errno::EINVAL
    );
    assert!(!fx.root.join("a/dir/dev").exists());
    // Opening the FIFO the gofer made does not block the gofer.
    assert!(c.open(fifo, libc::O_RDONLY | libc::O_NONBLOCK).is_ok());

    let (l, lattr) = c.symlink(d, b"lnk", b"../../../outside.txt", owner()).unwrap();
    assert!(lattr.is_symlink());
    assert_eq!(c.readlink(l).unwrap(), b"../../../outside.txt");
    let lmd = meta(&fx.root.join("a/dir/lnk"));
    assert_eq!((lmd.uid(), lmd.gid()), owner());
    assert_eq!(c.symlink(d, b"empty", b"", (0, 0)).unwrap_err(), Errno::ENOENT);

    let hello = fx.walk("hello.txt");
    let (_, hattr) = c.link(hello, d, b"hard").unwrap();
    assert_eq!(hattr.nlink, 2);
    assert_eq!(std::fs::read(fx.root.join("a/dir/hard")).unwrap(), b"hello gofer\n");
    assert_eq!(c.link(a, d, b"dirlink").unwrap_err(), Errno::EPERM);
    // A hard link of a symlink pointing out links the symlink itself.
    let out = fx.walk("out");
    let (_, oattr) = c.link(out, d, b"out2").unwrap();
    assert!(oattr.is_symlink());
    assert!(meta(&fx.root.join("a/dir/out2")).file_type().is_symlink());
    // Making things "in" a symlink to a directory is ENOTDIR: it is never followed.
    let updir = fx.walk("updir");
    assert_eq!(c.mkdir(updir, b"x", 0o755, (0, 0)).unwrap_err(), Errno::ENOTDIR);
    assert_eq!(
        c.create(updir, b"x", libc::O_RDWR, 0o644, (0, 0)).unwrap_err(),
        Errno::ENOTDIR
    );
    assert!(!fx.base.join("x").exists());
    fx.outside_untouched();
}

#[test]
fn unlink_and_rename() {
    let fx = Fixture::start(false);
    let c = fx.c();
    let root = fx.root_handle();
    let a = fx.walk("a");
    assert_eq!(c.unlink(a, b"b", 0).unwrap_err(), Errno::EISDIR);
    assert_eq!(c.unlink(a, b"b", libc::AT_REMOVEDIR).unwrap_err(), Errno::ENOTEMPTY);
    assert_eq!(
        c.unlink(root, b"hello.txt", libc::AT_REMOVEDIR).unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(c.unlink(root, b"hello.txt", 1).unwrap_err(), Errno::EINVAL);
    // Unlinking a symlink removes the link, not its target.
    c.unlink(root, b"out", 0).unwrap();
    assert!(!fx.root.join("out").exists());
    fx.outside_untouched();

    // A handle of a file keeps working for OPEN after its rename.
    let deep = fx.walk("a/b/c/deep.txt");
    let c_dir = fx.walk("a/b/c");
    c.rename(c_dir, b"deep.txt", root, b"moved.txt", 0).unwrap();
    assert_eq!(std::fs::read(fx.root.join("moved.txt")).unwrap(), b"deep");
    let mut s = String::new();
    std::fs::File::from(c.open(deep, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "deep");
    // NOREPLACE, EXCHANGE, WHITEOUT.
    assert_eq!(
        c.rename(root, b"moved.txt", root, b"hello.txt", 1).unwrap_err(),
        Errno::EEXIST
    );
    c.rename(root, b"moved.txt", root, b"hello.txt", 2).unwrap();
    assert_eq!(std::fs::read(fx.root.join("hello.txt")).unwrap(), b"deep");
    assert_eq!(std::fs::read(fx.root.join("moved.txt")).unwrap(), b"hello gofer\n");
    std::fs::File::from(c.open(deep, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "deepdeep");
    for flags in [4, 3, 8] {
        assert_eq!(
            c.rename(root, b"moved.txt", root, b"z", flags).unwrap_err(),
            Errno::EINVAL
        );
    }
    // Directories move with their contents; a rename into a symlink "dir" is ENOTDIR.
    c.rename(a, b"b", root, b"b2", 0).unwrap();
    assert!(fx.root.join("b2/c").is_dir());
    let updir = fx.walk("updir");
    assert_eq!(c.rename(root, b"b2", updir, b"stolen", 0).unwrap_err(), Errno::ENOTDIR);
    assert!(!fx.base.join("stolen").exists());
    // Replacing a name with a symlink pointing out moves the link only.
    std::os::unix::fs::symlink("../outside.txt", fx.root.join("out")).unwrap();
    c.rename(root, b"out", root, b"moved.txt", 0).unwrap();
    assert!(meta(&fx.root.join("moved.txt")).file_type().is_symlink());
    c.unlink(root, b"b2/c", 0).unwrap_err();
    fx.outside_untouched();
}

#[test]
fn setattr_changes_what_is_asked_and_never_follows_symlinks() {
    let fx = Fixture::start(false);
    let c = fx.c();
    let hello = fx.walk("hello.txt");
    let attr = c
        .setattr(
            hello,
            &AttrChange {
                valid: SETATTR_SIZE | SETATTR_MODE | SETATTR_UID | SETATTR_GID | SETATTR_ATIME | SETATTR_MTIME,
                mode: 0o4751,
                uid: owner().0,
                gid: owner().1,
                size: 5,
                atime: (1000, 5),
                mtime: (2000, 7),
            },
        )
        .unwrap();
    let md = meta(&fx.root.join("hello.txt"));
    assert_eq!(std::fs::read(fx.root.join("hello.txt")).unwrap(), b"hello");
    // The mode is set after the owner (a chown would clear set-user-id).
    assert_eq!(md.permissions().mode() & 0o7777, 0o4751);
    assert_eq!((md.uid(), md.gid()), owner());
    assert_eq!(
        (md.atime(), md.atime_nsec(), md.mtime(), md.mtime_nsec()),
        (1000, 5, 2000, 7)
    );
    assert_eq!((attr.size, attr.mode & 0o7777, attr.mtime), (5, 0o4751, (2000, 7)));
    // UTIME_OMIT leaves a time alone; UTIME_NOW sets it to now. (The read
    // above may have moved atime: relatime.)
    let before = meta(&fx.root.join("hello.txt"));
    let attr = c
        .setattr(
            hello,
            &AttrChange {
                valid: SETATTR_ATIME | SETATTR_MTIME,
                atime: (0, libc::UTIME_OMIT),
                mtime: (0, libc::UTIME_NOW),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(attr.atime, (before.atime(), before.atime_nsec()));
    assert!(attr.mtime.0 > 1_600_000_000);
    // Errors.
    let bad = |h, ch: AttrChange| c.setattr(h, &ch).unwrap_err();
    assert_eq!(
        bad(
            hello,
            AttrChange {
                valid: 64,
                ..Default::default()
            }
        ),
        Errno::EINVAL
    );
    let mode_bad = AttrChange {
        valid: SETATTR_MODE,
        mode: libc::S_IFDIR | 0o755,
        ..Default::default()
    };
    assert_eq!(bad(hello, mode_bad), Errno::EINVAL);
    let time_bad = AttrChange {
        valid: SETATTR_MTIME,
        mtime: (1, 1_000_000_000),
        ..Default::default()
    };
    assert_eq!(bad(hello, time_bad), Errno::EINVAL);
    let size = AttrChange {
        valid: SETATTR_SIZE,
        size: 0,
        ..Default::default()
    };
    assert_eq!(bad(fx.walk("a"), size), Errno::EISDIR);
    // A symlink pointing out: chmod is EOPNOTSUPP, truncate EINVAL, and
    // chown/utimes change the link itself; the outside file never changes.
    let out = fx.walk("out");
    let chmod = AttrChange {
        valid: SETATTR_MODE,
        mode: 0o4777,
        ..Default::default()
    };
    assert_eq!(bad(out, chmod), Errno::EOPNOTSUPP);
    assert_eq!(bad(out, size), Errno::EINVAL);
    let attr = c
        .setattr(
            out,
            &AttrChange {
                valid: SETATTR_UID | SETATTR_GID | SETATTR_MTIME,
                uid: owner().0,
                gid: owner().1,
                mtime: (3000, 0),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(attr.is_symlink());
    let lmd = meta(&fx.root.join("out"));
    assert_eq!((lmd.uid(), lmd.gid(), lmd.mtime()), (owner().0, owner().1, 3000));
    let omd = std::fs::metadata(fx.base.join("outside.txt")).unwrap();
    assert_ne!(omd.mtime(), 3000);
    fx.outside_untouched();
}

#[test]
fn extended_attributes() {
    let fx = Fixture::start(false);
    let c = fx.c();
    let hello = fx.walk("hello.txt");
    match c.setxattr(hello, b"user.rvisor", b"value", 0) {
        // Some filesystems (tmpfs before 6.6) have no user xattrs.
        Err(Errno::EOPNOTSUPP) => {
            eprintln!("no user xattrs on the test filesystem; skipping");
            return;
        }
        r => r.unwrap(),
    }
    assert_eq!(c.getxattr(hello, b"user.rvisor").unwrap(), b"value");
    assert!(c.listxattr(hello).unwrap().windows(12).any(|w| w == b"user.rvisor\0"));
    assert_eq!(
        c.setxattr(hello, b"user.rvisor", b"x", libc::XATTR_CREATE).unwrap_err(),
        Errno::EEXIST
    );
    assert_eq!(
        c.setxattr(hello, b"user.other", b"x", libc::XATTR_REPLACE).unwrap_err(),
        Errno::ENODATA
    );
    assert_eq!(c.getxattr(hello, b"user.none").unwrap_err(), Errno::ENODATA);
    c.removexattr(hello, b"user.rvisor").unwrap();
    assert_eq!(c.getxattr(hello, b"user.rvisor").unwrap_err(), Errno::ENODATA);
    assert_eq!(c.removexattr(hello, b"user.rvisor").unwrap_err(), Errno::ENODATA);
    // Bad names are ERANGE; big values E2BIG, before anything is sent.
    assert_eq!(c.getxattr(hello, b"").unwrap_err(), Errno::ERANGE);
    assert_eq!(c.getxattr(hello, &[b'a'; 256]).unwrap_err(), Errno::ERANGE);
    assert_eq!(
        c.setxattr(hello, b"user.big", &vec![0; 70_000], 0).unwrap_err(),
        Errno::E2BIG
    );
    // The xattr as the host sees it, on the file itself.
    let dir = fx.walk("a");
    c.setxattr(dir, b"user.d", b"1", 0).unwrap();
    assert_eq!(c.getxattr(dir, b"user.d").unwrap(), b"1");
    // A symlink pointing out: nothing reaches its target.
    let out = fx.walk("out");
    assert_eq!(c.setxattr(out, b"user.x", b"1", 0).unwrap_err(), Errno::EPERM);
    assert_eq!(c.getxattr(out, b"user.x").unwrap_err(), Errno::ENODATA);
    assert_eq!(c.listxattr(out).unwrap(), b"");
    assert_eq!(c.removexattr(out, b"user.x").unwrap_err(), Errno::EPERM);
    fx.outside_untouched();
}

#[test]
fn a_read_only_server_refuses_every_change() {
    let fx = Fixture::start(true);
    let c = fx.c();
    let root = fx.root_handle();
    let hello = fx.walk("hello.txt");
    let rofs = Errno::EROFS;
    assert_eq!(c.create(root, b"n", libc::O_RDWR, 0o644, (0, 0)).unwrap_err(), rofs);
    assert_eq!(c.mkdir(root, b"n", 0o755, (0, 0)).unwrap_err(), rofs);
    assert_eq!(c.mknod(root, b"n", libc::S_IFIFO | 0o644, (0, 0)).unwrap_err(), rofs);
    assert_eq!(c.symlink(root, b"n", b"x", (0, 0)).unwrap_err(), rofs);
    assert_eq!(c.link(hello, root, b"n").unwrap_err(), rofs);
    assert_eq!(c.unlink(root, b"hello.txt", 0).unwrap_err(), rofs);
    assert_eq!(c.rename(root, b"hello.txt", root, b"n", 0).unwrap_err(), rofs);
    let change = AttrChange {
        valid: SETATTR_SIZE,
        ..Default::default()
    };
    assert_eq!(c.setattr(hello, &change).unwrap_err(), rofs);
    assert_eq!(c.setxattr(hello, b"user.x", b"1", 0).unwrap_err(), rofs);
    assert_eq!(c.removexattr(hello, b"user.x").unwrap_err(), rofs);
    // Reading attributes still works.
    assert!(matches!(
        c.getxattr(hello, b"user.x"),
        Err(Errno::ENODATA) | Err(Errno::EOPNOTSUPP)
    ));
    assert!(c.listxattr(hello).is_ok());
    assert_eq!(std::fs::read(fx.root.join("hello.txt")).unwrap(), b"hello gofer\n");
    assert!(!fx.root.join("n").exists());
}

/// Sends one raw packet on a fresh server and returns the errno of the
/// reply (0 for success).
fn raw_errno(sock: &OwnedFd, id: u32, payload: &[u8]) -> u32 {
    let packet = frame(id, 42, payload);
    // SAFETY: `packet` is readable for its length.
    let n = unsafe { libc::send(sock.as_raw_fd(), packet.as_ptr().cast(), packet.len(), 0) };
    assert_eq!(n as usize, packet.len());
    let mut buf = vec![0u8; protocol::MAX_MESSAGE];
    // SAFETY: `buf` is writable for its length.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    assert!(n > 0);
    let (h, body) = Header::decode(&buf[..n as usize]).unwrap();
    assert_eq!(h.tag, 42);
    if h.id == MSG_ERROR {
        u32::from_le_bytes(body.try_into().unwrap())
    } else {
        assert_eq!(h.id, id | REPLY_FLAG);
        0
    }
}

#[test]
fn hostile_names_and_payloads_are_refused_and_the_server_keeps_serving() {
    let dir = TempDir::new("rawwrite");
    let root = build_tree(dir.path(), false);
    let (ours, theirs) = socketpair().unwrap();
    let root_fd = open_path_dir(&root);
    let server = std::thread::spawn(move || serve(root_fd, theirs, false));
    let mut e = Encoder::new();
    // ATTACH -> handle 1.
    assert_eq!(raw_errno(&ours, protocol::MSG_ATTACH, &[]), 0);
    let einval = libc::EINVAL as u32;
    for name in [&b".."[..], b".", b"../outside.txt", b"a/b", b"/etc", b"", b"x\0y"] {
        e.buf.clear();
        e.u64(1).bytes(name).u32(0o755).u32(0).u32(0);
        assert_eq!(raw_errno(&ours, protocol::MSG_MKDIR, &e.buf), einval, "{name:?}");
        e.buf.clear();
        e.u64(1).bytes(name).u32(libc::O_RDWR as u32).u32(0o644).u32(0).u32(0);
        assert_eq!(raw_errno(&ours, protocol::MSG_CREATE, &e.buf), einval, "{name:?}");
        e.buf.clear();
        e.u64(1).bytes(name).bytes(b"t").u32(0).u32(0);
        assert_eq!(raw_errno(&ours, protocol::MSG_SYMLINK, &e.buf), einval, "{name:?}");
        e.buf.clear();
        e.u64(1).bytes(name).u32(0);
        assert_eq!(raw_errno(&ours, protocol::MSG_UNLINK, &e.buf), einval, "{name:?}");
        e.buf.clear();
        e.u64(1).bytes(b"hello.txt").u64(1).bytes(name).u32(0);
        assert_eq!(raw_errno(&ours, protocol::MSG_RENAME, &e.buf), einval, "{name:?}");
        e.buf.clear();
        e.u64(1).bytes(name).u64(1).bytes(b"x").u32(0);
        assert_eq!(raw_errno(&ours, protocol::MSG_RENAME, &e.buf), einval, "{name:?}");
    }
    e.buf.clear();
    e.u64(1).bytes(&[b'n'; 256]).u32(0o755).u32(0).u32(0);
    assert_eq!(raw_errno(&ours, protocol::MSG_MKDIR, &e.buf), libc::ENAMETOOLONG as u32);
    // Unknown handles.
    e.buf.clear();
    e.u64(999).bytes(b"x").u32(0o755).u32(0).u32(0);
    assert_eq!(raw_errno(&ours, protocol::MSG_MKDIR, &e.buf), libc::EBADF as u32);
    // Every strict prefix of a well-formed request, and trailing bytes, are EINVAL.
    let mut good = Vec::new();
    for id in MUTATING.iter().copied().filter(|&id| id != protocol::MSG_BIND) {
        let payload = match id {
            protocol::MSG_CREATE => Encoder::new()
                .u64(1)
                .bytes(b"x")
                .u32(2)
                .u32(0o644)
                .u32(0)
                .u32(0)
                .buf
                .clone(),
            protocol::MSG_MKDIR | protocol::MSG_MKNOD => {
                Encoder::new().u64(1).bytes(b"x").u32(0).u32(0).u32(0).buf.clone()
            }
            protocol::MSG_SYMLINK => Encoder::new().u64(1).bytes(b"x").bytes(b"t").u32(0).u32(0).buf.clone(),
            protocol::MSG_LINK => Encoder::new().u64(1).u64(1).bytes(b"x").buf.clone(),
            protocol::MSG_UNLINK => Encoder::new().u64(1).bytes(b"x").u32(0).buf.clone(),
            protocol::MSG_RENAME => Encoder::new().u64(1).bytes(b"x").u64(1).bytes(b"y").u32(0).buf.clone(),
            protocol::MSG_SETATTR => {
                let mut e = Encoder::new();
                e.u64(1).u32(0).u32(0).u32(0).u32(0).u64(0);
                e.i64(0).i64(0).i64(0).i64(0);
                e.buf
            }
            protocol::MSG_SETXATTR => Encoder::new().u64(1).bytes(b"user.x").bytes(b"v").u32(0).buf.clone(),
            protocol::MSG_REMOVEXATTR => Encoder::new().u64(1).bytes(b"user.x").buf.clone(),
            protocol::MSG_FSYNC => continue,
            other => panic!("unexpected mutating id {other}"),
        };
        for cut in 0..payload.len() {
            assert_eq!(raw_errno(&ours, id, &payload[..cut]), einval, "id {id} cut {cut}");
        }
        let mut longer = payload.clone();
        longer.push(0);
        assert_eq!(raw_errno(&ours, id, &longer), einval, "id {id} trailing");
        good.push((id, payload));
    }
    // Random garbage in every mutating message: an errno, never a crash,
    // and never a file outside the root.
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (id, payload) = &good[(x % good.len() as u64) as usize];
        let mut p = payload.clone();
        let i = (x >> 8) as usize % p.len();
        p[i] = (x >> 32) as u8;
        let _ = raw_errno(&ours, *id, &p);
    }
    assert_eq!(std::fs::read(dir.path().join("outside.txt")).unwrap(), b"secret");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // Still serving.
    assert_eq!(raw_errno(&ours, protocol::MSG_STAT, &1u64.to_le_bytes()), 0);
    drop(ours);
    server.join().unwrap().unwrap();
}
