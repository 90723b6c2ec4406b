//! The escape battery (issue 4): path tricks inside the sandbox must never
//! reach a host file outside the container's root. The test puts SECRET
//! files next to a small rootfs, runs `tests/escape/escape.c` (static) in
//! it with a read-only and a read-write bind mount, and checks both the
//! program's verdicts and, from the host, that no file outside the rootfs
//! and the mount sources was opened, read or changed (inotify).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{run, Out, TempDir, RUNSC};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

const ESCAPE_C: &str = include_str!("escape/escape.c");

/// A rootfs holding only the static escape program, a marker and the
/// symlinks the battery walks; SECRET files sit next to it on the host.
fn build(dir: &Path) -> std::path::PathBuf {
    let rootfs = dir.join("rootfs");
    for d in ["etc", "tmp", "proc", "dev"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::write(rootfs.join("etc/marker"), "inside\n").unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("etc/marker"), "OUTSIDE\n").unwrap();
    std::fs::write(dir.join("secret"), "SECRET\n").unwrap();
    symlink("/../../../etc", rootfs.join("evil")).unwrap();
    symlink("../../../../secret", rootfs.join("rel")).unwrap();
    symlink("/proc/self/root/../secret", rootfs.join("abs")).unwrap();
    // Bind mount sources next to the rootfs, with links pointing out.
    for v in ["vol", "rw"] {
        std::fs::create_dir_all(dir.join(v)).unwrap();
        std::fs::write(dir.join(v).join("f"), "volfile\n").unwrap();
        symlink("../secret", dir.join(v).join("out")).unwrap();
    }
    let src = dir.join("escape.c");
    std::fs::write(&src, ESCAPE_C).unwrap();
    let out = run(Command::new("gcc")
        .args(["-static", "-O1", "-pthread", "-o"])
        .arg(rootfs.join("escape"))
        .arg(&src));
    assert_eq!(out.code, 0, "gcc -static failed (libc6-dev provides libc.a): {out:?}");
    std::fs::remove_file(&src).unwrap();
    rootfs
}

/// Host-side watches on the directories around the rootfs.
struct Watch {
    inotify: Inotify,
}

impl Watch {
    fn new(dirs: &[&Path]) -> Watch {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK).unwrap();
        for d in dirs {
            inotify.add_watch(*d, AddWatchFlags::IN_ALL_EVENTS).unwrap();
        }
        Watch { inotify }
    }

    /// Events on anything but the rootfs directory entry itself.
    fn outside_events(&self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for e in events {
                let name = e.name.map(|n| n.to_string_lossy().into_owned());
                // The gofer opens the rootfs and the mount sources themselves.
                if matches!(name.as_deref(), Some("rootfs" | "vol" | "rw")) {
                    continue;
                }
                seen.push(format!("{:?} on {:?}", e.mask, name));
            }
        }
        seen
    }
}

fn battery(extra_flags: &[&str]) {
    let dir = TempDir::new("escape");
    let rootfs = build(&dir.0);
    let sums_before = common::tree_digest(&dir.0, &["rootfs"]);
    let vol = format!("{}:/vol:ro", dir.0.join("vol").display());
    let rw = format!("{}:/rw", dir.0.join("rw").display());
    let watch = Watch::new(&[&dir.0, &dir.0.join("etc")]);
    let out: Out = run(Command::new(RUNSC)
        .args(extra_flags)
        .arg("do")
        .arg("--root")
        .arg(&rootfs)
        .args(["--volume", &vol, "--volume", &rw])
        .arg("--cwd")
        .arg("/")
        .arg("/escape"));
    let failed: Vec<&str> = out.stdout.lines().filter(|l| l.contains(" FAIL")).collect();
    assert!(failed.is_empty(), "escape cases failed: {failed:#?}\n{out:?}");
    assert!(out.stdout.contains("FAILURES 0"), "{out:?}");
    assert_eq!(out.code, 0, "{out:?}");
    let cases = out.stdout.lines().filter(|l| l.starts_with("CASE ")).count();
    assert!(cases >= 35, "only {cases} cases ran: {out:?}");
    let events = watch.outside_events();
    assert!(
        events.is_empty(),
        "host files outside the rootfs were touched: {events:?}"
    );
    assert_eq!(common::tree_digest(&dir.0, &["rootfs"]), sums_before);
}

#[test]
fn no_path_trick_reaches_host_files_through_the_overlay_root() {
    battery(&[]);
}

/// With `--overlay2=none` the walks and the directory/symlink race happen
/// in the host tree itself, through the read-write gofer.
#[test]
fn no_path_trick_reaches_host_files_through_the_writable_gofer() {
    battery(&["--overlay2=none"]);
}
