//! Shared fixtures for the gofer integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "gofer-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Opens `p` as an `O_PATH` directory fd (what the gofer serves).
pub fn open_path_dir(p: &Path) -> OwnedFd {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(p)
        .unwrap()
        .into()
}

pub const BIG: usize = 10_000;

/// Builds the test tree under `base/root` and a secret next to it at
/// `base/outside.txt`; returns the root path.
pub fn build_tree(base: &Path, big: bool) -> PathBuf {
    let root = base.join("root");
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::write(root.join("hello.txt"), b"hello gofer\n").unwrap();
    fs::write(root.join("a/b/c/deep.txt"), b"deep").unwrap();
    std::os::unix::fs::symlink("/../../../etc", root.join("escape")).unwrap();
    std::os::unix::fs::symlink("hello.txt", root.join("link")).unwrap();
    fs::write(base.join("outside.txt"), b"secret").unwrap();
    if big {
        let dir = root.join("big");
        fs::create_dir(&dir).unwrap();
        for i in 0..BIG {
            fs::File::create(dir.join(format!("f{i:05}"))).unwrap();
        }
    }
    root
}
