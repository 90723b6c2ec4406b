//! The writable gofer filesystem against a real read-write gofer server on
//! a temporary directory: changes reach the host, and the node's name and
//! attribute caches agree with the host after every change.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::vfs::inode::SetAttr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

struct Fixture {
    dir: PathBuf,
    root: Arc<dyn Inode>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A host tree served by a gofer (read-write unless `readonly`), mounted
/// as a writable gofer filesystem (or a read-only one with `!writable`).
fn fixture(name: &str, readonly: bool, writable: bool) -> Fixture {
    let dir = std::env::temp_dir().join(format!("rvisor-goferfs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("etc/sub")).unwrap();
    std::fs::write(dir.join("etc/passwd"), b"root:x:0:0\n").unwrap();
    std::fs::write(dir.join("etc/sub/deep"), b"deep").unwrap();
    std::fs::write(dir.join("etc/hosts"), b"hosts\n").unwrap();
    std::os::unix::fs::symlink("etc/passwd", dir.join("lnk")).unwrap();
    let root = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(&dir)
        .unwrap();
    let (a, b) = gofer::socketpair().unwrap();
    let root_fd: OwnedFd = root.into();
    std::thread::spawn(move || gofer::serve(root_fd, b, readonly));
    let client = Arc::new(gofer::client::Client::new(a));
    let (_fs, root) = if writable {
        GoferFs::new_root_writable(client).unwrap()
    } else {
        GoferFs::new_root(client).unwrap()
    };
    Fixture { dir, root }
}

fn get(dir: &Arc<dyn Inode>, path: &str) -> Option<Arc<dyn Inode>> {
    let names: Vec<&[u8]> = path.split('/').map(str::as_bytes).collect();
    let nodes = dir.lookup(&names).unwrap();
    (nodes.len() == names.len()).then(|| nodes.into_iter().last()).flatten()
}

fn read_all(node: &Arc<dyn Inode>) -> Vec<u8> {
    let f = node.open(libc::O_RDONLY).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = f.read(&mut buf, 0, false).unwrap();
    buf.truncate(n);
    buf
}

fn host(dir: &Path, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(rel)).ok()
}

fn same(a: &Arc<dyn Inode>, b: &Arc<dyn Inode>) -> bool {
    std::ptr::eq(Arc::as_ptr(a).cast::<u8>(), Arc::as_ptr(b).cast::<u8>())
}

#[test]
fn lookups_are_cached_by_the_nodes_and_the_vfs_does_not_cache() {
    let f = fixture("cache", false, true);
    assert!(!f.root.cacheable());
    let a = get(&f.root, "etc/sub/deep").unwrap();
    let b = get(&f.root, "etc/sub/deep").unwrap();
    assert!(same(&a, &b));
    // A name that is missing stays missing until the sandbox creates it,
    // even if the host creates it behind our back (the container owns it).
    assert!(get(&f.root, "etc/later").is_none());
    std::fs::write(f.dir.join("etc/later"), b"x").unwrap();
    assert!(get(&f.root, "etc/later").is_none());
    let etc = get(&f.root, "etc").unwrap();
    assert_eq!(etc.create(b"later", 0o644, (0, 0)).err(), Some(Errno::EEXIST));
}

#[test]
fn creations_write_through_and_are_found() {
    let f = fixture("create", false, true);
    let etc = get(&f.root, "etc").unwrap();
    let nlink = etc.stat().unwrap().st_nlink;
    let node = etc.create(b"new", 0o640, (0, 0)).unwrap();
    assert!(same(&node, &get(&f.root, "etc/new").unwrap()));
    // The open right after the create uses the fd CREATE donated.
    let file = node.open(libc::O_RDWR).unwrap();
    assert_eq!(file.write(b"abc", 0, false), Ok(3));
    assert_eq!(host(&f.dir, "etc/new").unwrap(), b"abc");
    // Both the open file and the node see the write.
    assert_eq!(file.stat().unwrap().st_size, 3);
    assert_eq!(node.stat().unwrap().st_size, 3);
    let md = std::fs::metadata(f.dir.join("etc/new")).unwrap();
    assert_eq!(md.permissions().mode() & 0o7777, 0o640);
    assert_eq!(node.stat().unwrap().st_ino, md.ino());
    // A second open goes to the gofer and sees the same bytes.
    assert_eq!(read_all(&node), b"abc");

    etc.mkdir(b"d", 0o750, (0, 0)).unwrap();
    assert_eq!(etc.stat().unwrap().st_nlink, nlink + 1);
    let d = get(&f.root, "etc/d").unwrap();
    assert_eq!(d.stat().unwrap().st_mode, libc::S_IFDIR | 0o750);
    d.symlink(b"l", b"../passwd", (0, 0)).unwrap();
    assert_eq!(get(&d, "l").unwrap().readlink().unwrap(), b"../passwd");
    let fifo = d.mknod(b"p", libc::S_IFIFO | 0o600, (0, 0)).unwrap();
    assert_eq!(fifo.stat().unwrap().st_mode, libc::S_IFIFO | 0o600);
    assert!(std::fs::symlink_metadata(f.dir.join("etc/d/p")).is_ok());
    assert_eq!(etc.mkdir(b"d", 0o750, (0, 0)), Err(Errno::EEXIST));
}

#[test]
fn removals_renames_and_links_keep_the_caches_right() {
    let f = fixture("rename", false, true);
    let etc = get(&f.root, "etc").unwrap();
    let passwd = get(&f.root, "etc/passwd").unwrap();
    // Hard link: both names share the attributes (nlink 2 on either).
    f.root.link(b"hard", &passwd).unwrap();
    assert_eq!(passwd.stat().unwrap().st_nlink, 2);
    let hard = get(&f.root, "hard").unwrap();
    assert_eq!(hard.stat().unwrap().st_nlink, 2);
    f.root.unlink(b"hard").unwrap();
    assert!(get(&f.root, "hard").is_none());
    assert_eq!(passwd.stat().unwrap().st_nlink, 1);
    assert!(host(&f.dir, "hard").is_none());

    // Rename across directories: the old name is gone, the new one is the
    // same node, and a node held from before still opens.
    etc.rename(b"passwd", &f.root, b"moved", 0).unwrap();
    assert!(get(&f.root, "etc/passwd").is_none());
    assert!(same(&get(&f.root, "moved").unwrap(), &passwd));
    assert_eq!(read_all(&passwd), b"root:x:0:0\n");
    assert_eq!(host(&f.dir, "moved").unwrap(), b"root:x:0:0\n");
    // Exchange.
    f.root.rename(b"moved", &etc, b"hosts", RENAME_EXCHANGE).unwrap();
    assert_eq!(read_all(&get(&f.root, "etc/hosts").unwrap()), b"root:x:0:0\n");
    assert_eq!(read_all(&get(&f.root, "moved").unwrap()), b"hosts\n");
    assert_eq!(host(&f.dir, "moved").unwrap(), b"hosts\n");
    // A directory moves with its cached contents.
    let deep = get(&f.root, "etc/sub/deep").unwrap();
    etc.rename(b"sub", &f.root, b"sub2", 0).unwrap();
    assert!(get(&f.root, "etc/sub").is_none());
    assert!(same(&get(&f.root, "sub2/deep").unwrap(), &deep));
    assert_eq!(read_all(&deep), b"deep");
    // Errors come from the host.
    assert_eq!(f.root.rmdir(b"sub2"), Err(Errno::ENOTEMPTY));
    assert_eq!(f.root.unlink(b"sub2"), Err(Errno::EISDIR));
    assert_eq!(f.root.rename(b"nothere", &etc, b"x", 0), Err(Errno::ENOENT));
    get(&f.root, "sub2").unwrap().unlink(b"deep").unwrap();
    f.root.rmdir(b"sub2").unwrap();
    assert!(get(&f.root, "sub2").is_none());
    assert!(!f.dir.join("sub2").exists());
    // A node of another filesystem is EXDEV.
    let other = fixture("rename-other", false, true);
    assert_eq!(
        f.root.link(b"x", &get(&other.root, "etc/hosts").unwrap()),
        Err(Errno::EXDEV)
    );
}

#[test]
fn attribute_changes_and_xattrs() {
    let f = fixture("attrs", false, true);
    let hosts = get(&f.root, "etc/hosts").unwrap();
    hosts.truncate(2).unwrap();
    assert_eq!(hosts.stat().unwrap().st_size, 2);
    assert_eq!(host(&f.dir, "etc/hosts").unwrap(), b"ho");
    hosts
        .setattr(&SetAttr {
            mode: Some(0o600),
            mtime: Some((1000, 0)),
            ..Default::default()
        })
        .unwrap();
    let st = hosts.stat().unwrap();
    assert_eq!((st.st_mode & 0o7777, st.st_mtime), (0o600, 1000));
    let md = std::fs::metadata(f.dir.join("etc/hosts")).unwrap();
    assert_eq!((md.mode() & 0o7777, md.mtime()), (0o600, 1000));
    // Opening with O_TRUNC truncates on the host.
    drop(hosts.open(libc::O_WRONLY | libc::O_TRUNC).unwrap());
    assert_eq!(hosts.stat().unwrap().st_size, 0);
    match hosts.setxattr(b"user.k", b"v", 0) {
        Err(Errno::EOPNOTSUPP) => {} // no user xattrs on this host filesystem
        r => {
            r.unwrap();
            assert_eq!(hosts.getxattr(b"user.k").unwrap(), b"v");
            assert_eq!(hosts.listxattr().unwrap(), b"user.k\0");
            hosts.removexattr(b"user.k").unwrap();
            assert_eq!(hosts.getxattr(b"user.k"), Err(Errno::ENODATA));
        }
    }
}

#[test]
fn read_only_filesystems_refuse_changes() {
    // A read-only filesystem over a read-write gofer: refused in the sentry.
    let f = fixture("ro", false, false);
    assert!(f.root.cacheable());
    let etc = get(&f.root, "etc").unwrap();
    assert_eq!(etc.mkdir(b"x", 0o755, (0, 0)), Err(Errno::EROFS));
    assert_eq!(etc.unlink(b"passwd"), Err(Errno::EROFS));
    assert_eq!(get(&etc, "passwd").unwrap().truncate(0), Err(Errno::EROFS));
    // A writable filesystem over a read-only gofer: refused by the gofer.
    let g = fixture("ro-gofer", true, true);
    let etc = get(&g.root, "etc").unwrap();
    assert_eq!(etc.create(b"x", 0o644, (0, 0)).err(), Some(Errno::EROFS));
    assert_eq!(etc.rename(b"passwd", &g.root, b"p", 0), Err(Errno::EROFS));
    assert!(get(&g.root, "etc/passwd").is_some());
    assert!(g.dir.join("etc/passwd").exists() && !g.dir.join("etc/x").exists());
}

/// Read-only opens of a regular file share one host fd (no gofer round
/// trip after the first), and still see writes made through another open
/// file and truncation.
#[test]
fn read_only_opens_share_one_host_fd_and_see_writes() {
    let f = fixture("readfd", false, true);
    let passwd = get(&f.root, "etc/passwd").unwrap();
    let a = passwd.open(libc::O_RDONLY).unwrap();
    let b = passwd.open(libc::O_RDONLY).unwrap();
    assert_eq!(a.host_fd(), b.host_fd());
    let w = passwd.open(libc::O_RDWR).unwrap();
    assert_ne!(w.host_fd(), a.host_fd());
    assert_eq!(w.write(b"ROOT", 0, false), Ok(4));
    let mut buf = [0u8; 16];
    let n = b.read(&mut buf, 0, false).unwrap();
    assert_eq!(&buf[..n], b"ROOT:x:0:0\n");
    passwd.truncate(2).unwrap();
    assert_eq!(a.read(&mut buf, 0, false), Ok(2));
    assert_eq!(read_all(&passwd), b"RO");
}
