//! The confined gofer: `confine` + `install_seccomp` + `serve` in a child
//! process (it changes namespaces and installs seccomp, which must not touch
//! the test runner). The child is this test binary re-executed to run only
//! the ignored `child_main` test, so it starts single-threaded and clean.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{build_tree, TempDir};
use gofer::{confine, install_seccomp, serve, socketpair, Client};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, Command};
use syscalls::Errno;

/// The fd number the child finds its socket at.
const CHILD_SOCK_FD: i32 = 3;

/// Re-executes this test binary as a gofer child running `entry` over the
/// test tree; returns the client, the child, and the tree.
fn spawn_child(entry: &str) -> (Client, Child, TempDir, PathBuf) {
    let dir = TempDir::new("sandbox");
    let root = build_tree(dir.path(), false);
    let outside = dir.path().join("outside.txt");
    assert_eq!(std::fs::read(&outside).unwrap(), b"secret");

    let (ours, theirs) = socketpair().unwrap();
    let raw = theirs.as_raw_fd();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", entry, "--ignored", "--nocapture", "--test-threads=1"])
        .env("GOFER_CHILD_ROOT", &root)
        .env("GOFER_CHILD_OUTSIDE", &outside);
    // SAFETY: the closure only calls dup2/fcntl, which are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let r = if raw == CHILD_SOCK_FD {
                libc::fcntl(raw, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, CHILD_SOCK_FD)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let child = cmd.spawn().unwrap();
    drop(theirs);
    (Client::new(ours), child, dir, outside)
}

/// Attaches, or reports how the child died.
fn attach_or_report(c: &Client, child: &mut Child) -> u64 {
    match c.attach() {
        Ok((h, _)) => h,
        Err(e) => {
            let status = child.wait().unwrap();
            panic!("confined gofer did not answer ({e:?}); child exited with {status}");
        }
    }
}

#[test]
fn run_serves_read_only_from_a_confined_process() {
    let (c, mut child, dir, outside) = spawn_child("run_main");
    let rh = attach_or_report(&c, &mut child);
    let (hello, _) = c.walk(rh, &[b"hello.txt"]).unwrap()[0];
    let mut s = String::new();
    std::fs::File::from(c.open(hello, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "hello gofer\n");
    assert_eq!(c.open(hello, libc::O_WRONLY).unwrap_err(), Errno::EROFS);
    let names: Vec<Vec<u8>> = c.getdents(rh, 0, 100).unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    drop(c);
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"secret");
    // The read-only remount happened in the child's namespace only.
    std::fs::write(dir.path().join("root/hello.txt"), b"still writable on the host").unwrap();
}

/// `gofer::run` in the re-executed child (see above); a no-op otherwise.
#[test]
#[ignore = "helper: run by run_serves_read_only_from_a_confined_process"]
fn run_main() {
    let Ok(root) = std::env::var("GOFER_CHILD_ROOT") else {
        return;
    };
    // SAFETY: the parent placed our end of the socketpair at this fd number
    // and nothing else in this process owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(CHILD_SOCK_FD) };
    gofer::run(Path::new(&root), sock, true, Vec::new()).unwrap();
    // SAFETY: leave immediately, skipping the test harness teardown, which
    // may use syscalls outside the gofer's allow-list.
    unsafe { libc::_exit(0) };
}

#[test]
fn confined_gofer_cannot_escape_and_serves_under_seccomp() {
    let (c, mut child, _dir, outside) = spawn_child("child_main");
    let rh = attach_or_report(&c, &mut child);
    // Ordinary service works under the seccomp filter.
    let nodes = c.walk(rh, &[b"a", b"b", b"c", b"deep.txt"]).unwrap();
    assert_eq!(nodes.len(), 4);
    let mut s = String::new();
    std::fs::File::from(c.open(nodes[3].0, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "deep");
    let names: Vec<Vec<u8>> = c.getdents(rh, 0, 100).unwrap().into_iter().map(|e| e.name).collect();
    assert!(names.contains(&b"hello.txt".to_vec()));
    assert!(!names.contains(&b"outside.txt".to_vec()));
    let (esc, _) = c.walk(rh, &[b"escape"]).unwrap()[0];
    assert_eq!(c.readlink(esc).unwrap(), b"/../../../etc");
    assert!(c.statfs(rh).is_ok());
    assert!(c.stat(nodes[0].0).unwrap().is_dir());
    c.close(&[esc]);
    assert_eq!(c.walk(rh, &[b".."]), Err(Errno::EINVAL));
    // run() is read-only and so is this server.
    assert_eq!(c.open(nodes[3].0, libc::O_RDWR).unwrap_err(), Errno::EROFS);

    drop(c);
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status}");
    // The host file is untouched.
    assert_eq!(std::fs::read(&outside).unwrap(), b"secret");
}

/// Runs only in the re-executed child (see above); a no-op otherwise.
#[test]
#[ignore = "helper: run by confined_gofer_cannot_escape_and_serves_under_seccomp"]
fn child_main() {
    let (Ok(root), Ok(outside)) = (std::env::var("GOFER_CHILD_ROOT"), std::env::var("GOFER_CHILD_OUTSIDE")) else {
        return;
    };
    // SAFETY: the parent placed our end of the socketpair at this fd number
    // and nothing else in this process owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(CHILD_SOCK_FD) };
    let root_fd = confine(Path::new(&root)).unwrap();

    // The root is now "/": the tree is visible, the host path of the
    // secret (a sibling of the root) is gone, and ".." stops at "/".
    assert_eq!(std::fs::read("/hello.txt").unwrap(), b"hello gofer\n");
    assert!(std::fs::metadata(&outside).is_err(), "host path still visible");
    for p in [
        "/../outside.txt",
        "../outside.txt",
        "/../../../../outside.txt",
        "a/../../outside.txt",
    ] {
        assert!(std::fs::read(p).is_err(), "{p} escaped the root");
    }
    let mut c = std::ffi::CString::new("../outside.txt").unwrap().into_bytes_with_nul();
    // SAFETY: NUL-terminated path buffer; root_fd is live.
    let fd = unsafe { libc::openat(root_fd.as_raw_fd(), c.as_mut_ptr().cast(), libc::O_RDONLY) };
    assert!(fd < 0, "openat(root, ../outside.txt) escaped");
    // The symlink pointing "out" resolves inside the new root only.
    // (The tree has no /etc, so following it must fail.)
    assert!(std::fs::read_dir("/escape").is_err(), "/escape left the root");

    install_seccomp(true).unwrap();
    // Outside the allow-list: denied with EPERM, not executed.
    // SAFETY: plain socket(2) call; the fd (if any) is closed below.
    let s = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
    assert_eq!((s, Errno::last()), (-1, Errno::EPERM));
    // Writable opens are denied by the filter itself.
    // SAFETY: static NUL-terminated path.
    let w = unsafe { libc::open(c"/hello.txt".as_ptr(), libc::O_WRONLY) };
    assert_eq!((w, Errno::last()), (-1, Errno::EPERM));

    serve(root_fd, sock, true).unwrap();
    // SAFETY: leave immediately, skipping the test harness teardown, which
    // may use syscalls outside the gofer's allow-list.
    unsafe { libc::_exit(0) };
}
