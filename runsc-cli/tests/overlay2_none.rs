//! End-to-end tests of `--overlay2=none`: the gofer serves the root
//! read-write and every change a sandboxed program makes reaches the host;
//! with the default overlay the same program leaves the host tree exactly
//! as it was (names, types, modes, contents, symlink targets).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Programs the scripts use, copied into the test rootfs with their libraries.
const TOOLS: &[&str] = &[
    "sh", "cat", "mkdir", "mv", "rm", "ln", "chmod", "ls", "stat", "touch", "rmdir", "readlink", "truncate",
];

/// The path of `tool` on the host (first match in the usual directories).
fn host_tool(tool: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.exists())
        .map(|p| std::fs::canonicalize(p).unwrap())
}

/// Copies `src` to `root` + `dest` (creating directories).
fn copy_in(root: &Path, src: &Path, dest: &str) {
    let target = root.join(dest.trim_start_matches('/'));
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    if !target.exists() {
        std::fs::copy(src, &target).unwrap();
    }
}

/// A minimal root filesystem: the tools in /bin, their shared libraries at
/// the paths `ldd` names, a /tmp, and a `data` tree the scripts change.
/// `None` when the host lacks a tool.
fn rootfs(dir: &Path) -> Option<PathBuf> {
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    for tool in TOOLS {
        let Some(src) = host_tool(tool) else {
            eprintln!("no {tool} on this host; skipping");
            return None;
        };
        copy_in(&root, &src, &format!("/bin/{tool}"));
        let ldd = run(Command::new("ldd").arg(&src));
        for line in ldd.stdout.lines() {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
            // "/lib64/ld-linux-x86-64.so.2 (0x...)".
            let path = match line.split("=>").nth(1) {
                Some(rest) => rest.split_whitespace().next(),
                None => line.split_whitespace().next(),
            };
            if let Some(p) = path.filter(|p| p.starts_with('/')) {
                copy_in(&root, &std::fs::canonicalize(p).unwrap(), p);
            }
        }
    }
    let data = root.join("data");
    std::fs::create_dir_all(data.join("sub/deeper")).unwrap();
    std::fs::write(data.join("keep"), "original\n").unwrap();
    std::fs::write(data.join("gone"), "remove me\n").unwrap();
    std::fs::write(data.join("rename-me"), "moving\n").unwrap();
    std::fs::write(data.join("sub/deeper/f"), "deep\n").unwrap();
    std::fs::set_permissions(data.join("keep"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("keep", data.join("old-link")).unwrap();
    Some(root)
}

/// `runsc [--overlay2 MODE] do --root ROOT /bin/sh -c SCRIPT` with PATH=/bin.
fn sandbox(root: &Path, overlay: Option<&str>, script: &str) -> Out {
    let mut cmd = Command::new(RUNSC);
    if let Some(mode) = overlay {
        cmd.args(["--overlay2", mode]);
    }
    cmd.arg("do").arg("--root").arg(root).args(["/bin/sh", "-c", script]);
    run(cmd.env("PATH", "/bin"))
}

/// One entry of a [`snapshot`]: type and mode, owner, contents or symlink target.
type Entry = (u32, (u32, u32), Vec<u8>);

/// Everything about a tree, by relative path.
fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let body = if md.file_type().is_symlink() {
                std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()
            } else if md.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                todo.push(p.clone());
                Vec::new()
            };
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, (md.mode(), (md.uid(), md.gid()), body));
        }
    }
    out
}

/// Creates, writes, appends, renames, deletes, mkdirs, symlinks, links,
/// chmods, truncates and touches under /data.
const SCRIPT: &str = "set -e; cd /data; echo hello > new; echo more >> keep; mv rename-me renamed; \
     rm gone; mkdir -p made/a/b; echo inner > made/a/b/f; ln -s keep lnk; ln keep hard; \
     chmod 600 keep; mv sub moved; rm old-link; truncate -s 3 renamed; touch -d @1000000000 new; \
     rmdir made/a/b 2>/dev/null && exit 9; rm made/a/b/f; rmdir made/a/b; \
     cat new keep renamed; echo; readlink lnk; stat -c '%a %h %s' keep; stat -c %Y new; ls";

#[test]
fn changes_reach_the_host_root() {
    let dir = TempDir::new("none-rw");
    let Some(root) = rootfs(&dir.0) else { return };
    let out = sandbox(&root, Some("none"), SCRIPT);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "hello\noriginal\nmore\nmov\nkeep\n600 2 14\n1000000000\nhard\nkeep\nlnk\nmade\nmoved\nnew\nrenamed\n",
        "{out:?}"
    );
    let data = root.join("data");
    let read = |p: &str| std::fs::read_to_string(data.join(p)).unwrap();
    assert_eq!(read("new"), "hello\n");
    assert_eq!(read("keep"), "original\nmore\n");
    assert_eq!(read("hard"), "original\nmore\n");
    assert_eq!(read("renamed"), "mov");
    assert_eq!(read("moved/deeper/f"), "deep\n");
    for gone in ["gone", "rename-me", "old-link", "sub", "made/a/b"] {
        assert!(
            std::fs::symlink_metadata(data.join(gone)).is_err(),
            "{gone} still on the host"
        );
    }
    assert!(data.join("made/a").is_dir());
    assert_eq!(std::fs::read_link(data.join("lnk")).unwrap(), Path::new("keep"));
    let keep = std::fs::metadata(data.join("keep")).unwrap();
    assert_eq!((keep.mode() & 0o7777, keep.nlink()), (0o600, 2));
    assert_eq!(keep.ino(), std::fs::metadata(data.join("hard")).unwrap().ino());
    assert_eq!(std::fs::metadata(data.join("new")).unwrap().mtime(), 1_000_000_000);
    // New files belong to the sandbox's user (runsc do runs it as the caller).
    // SAFETY: plain id query.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(std::fs::metadata(data.join("new")).unwrap().uid(), uid);
    // A second sandbox sees the first one's changes.
    let out = sandbox(&root, Some("none"), "cat /data/made/../new; ls /data/moved");
    assert_eq!((out.code, out.stdout.as_str()), (0, "hello\ndeeper\n"), "{out:?}");
}

#[test]
fn the_default_overlay_leaves_the_host_tree_identical() {
    let dir = TempDir::new("overlay-ro");
    let Some(root) = rootfs(&dir.0) else { return };
    let before = snapshot(&root);
    let out = sandbox(&root, None, SCRIPT);
    assert_eq!(out.code, 0, "{out:?}");
    // The program saw its own changes ...
    assert!(
        out.stdout.starts_with("hello\noriginal\nmore\nmov\nkeep\n600 2 14\n"),
        "{out:?}"
    );
    // ... and the host none of them.
    assert_eq!(snapshot(&root), before);
    // The explicit spelling of the default too.
    let out = sandbox(&root, Some("root:memory"), "echo x > /data/keep && rm /data/gone");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(snapshot(&root), before);
}

#[test]
fn escapes_through_symlinks_stay_inside_the_root() {
    let dir = TempDir::new("none-esc");
    let Some(root) = rootfs(&dir.0) else { return };
    let outside = dir.0.join("outside.txt");
    std::fs::write(&outside, "secret\n").unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Symlinks as a hostile image could hold them. (The in-sandbox target
    // of `up` exists: the VFS does not create a dangling link's target.)
    std::fs::write(root.join("outside.txt"), "inside\n").unwrap();
    std::os::unix::fs::symlink("../../outside.txt", root.join("data/up")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("data/abs")).unwrap();
    std::os::unix::fs::symlink("..", root.join("data/dotdot")).unwrap();
    let script = "cd /data; chmod 777 up abs 2>/dev/null; echo pwned > up; echo pwned > abs; \
                  echo x > dotdot/../../x; mkdir dotdot/../../evil; ln up hardup; cat up; \
                  cp() { cat \"$1\" > \"$2\"; }; cp up /tmp/copy; rm -f dotdot/../../outside.txt; ls /";
    let out = sandbox(&root, Some("none"), script);
    // The links resolve inside the sandbox (to /outside.txt and /data/..),
    // so the writes land in the rootfs, never next to it.
    assert!(out.stdout.contains("pwned"), "{out:?}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret\n");
    assert_eq!(std::fs::metadata(&outside).unwrap().mode() & 0o777, 0o644);
    assert_eq!(std::fs::metadata(&outside).unwrap().nlink(), 1);
    assert!(!dir.0.join("x").exists() && !dir.0.join("evil").exists());
    // The in-sandbox target got the write and the chmod, then was removed.
    assert_eq!(std::fs::read_to_string(root.join("tmp/copy")).unwrap(), "pwned\n");
    assert!(!root.join("outside.txt").exists());
    assert!(std::fs::symlink_metadata(root.join("data/hardup"))
        .unwrap()
        .file_type()
        .is_symlink());
}
