//! End-to-end tests of the sandbox's /dev: a writable tmpfs like runc's
//! (files, directories, symlinks, FIFOs and device nodes can be made
//! there), device nodes made with mknod open the sentry's own devices and
//! nothing else, and the OCI spec's mountpoints under /dev (docker's
//! /dev/mqueue) are real directories that `ls /dev` lists.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{run, TempDir, RUNSC};
use std::path::PathBuf;
use std::process::Command;

/// `runsc do sh -c SCRIPT`.
fn sh(script: &str) -> common::Out {
    run(Command::new(RUNSC).args(["do", "/bin/sh", "-c", script]))
}

#[test]
fn dev_is_writable_like_runc_s() {
    let out = sh(
        "set -e; mkdir /dev/x; touch /dev/foo; ln -s null /dev/y; mkfifo /dev/p; \
         echo data > /dev/x/f; cat /dev/x/f; echo gone > /dev/y; ls /dev | tr '\\n' ' '; echo; \
         stat -c '%F %a' /dev/p /dev/foo /dev/x; rm -r /dev/x /dev/foo /dev/y /dev/p; \
         test ! -e /dev/foo && echo removed",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "data", "{out:?}");
    let listed: Vec<&str> = lines[1].split_whitespace().collect();
    for name in [
        "fd", "foo", "full", "null", "p", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty",
        "urandom", "x", "y", "zero",
    ] {
        assert!(listed.contains(&name), "{name} missing from ls /dev: {out:?}");
    }
    assert_eq!(lines[2], "fifo 644", "{out:?}");
    assert_eq!(lines[3], "regular empty file 644", "{out:?}");
    assert_eq!(lines[4], "directory 755", "{out:?}");
    assert_eq!(lines[5], "removed", "{out:?}");
}

#[test]
fn dev_is_a_tmpfs_with_runc_s_options_and_the_standard_nodes() {
    let out = sh("grep ' /dev ' /proc/self/mountinfo; stat -c '%n %F %a %t:%T' /dev/null /dev/zero /dev/full \
         /dev/random /dev/urandom /dev/tty /dev/ptmx; stat -c '%a' /dev /dev/shm /dev/pts; readlink /dev/fd /dev/stdout");
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].contains(" / /dev rw,nosuid") && lines[0].ends_with(" - tmpfs tmpfs rw,size=65536k,mode=755,inode64"),
        "{out:?}"
    );
    assert_eq!(
        &lines[1..8],
        [
            "/dev/null character special file 666 1:3",
            "/dev/zero character special file 666 1:5",
            "/dev/full character special file 666 1:7",
            "/dev/random character special file 666 1:8",
            "/dev/urandom character special file 666 1:9",
            "/dev/tty character special file 666 5:0",
            "/dev/ptmx character special file 666 5:2",
        ],
        "{out:?}"
    );
    assert_eq!(&lines[8..11], ["755", "1777", "755"], "{out:?}");
    assert_eq!(&lines[11..], ["/proc/self/fd", "/proc/self/fd/1"], "{out:?}");
}

#[test]
fn mknod_makes_emulated_devices_and_nothing_else() {
    let out = sh(
        "set -e; mknod /dev/mynull c 1 3; echo hidden > /dev/mynull; cat /dev/mynull; \
         mknod /tmp/z c 1 5; head -c 4 /tmp/z | od -An -tx1; \
         mknod /dev/mem2 c 1 1; mknod /dev/sda9 b 8 0; \
         cat /dev/mem2 2>&1 || true; cat /dev/sda9 2>&1 || true; \
         stat -c '%F %t:%T' /dev/mem2 /dev/sda9; \
         mknod /dev/pt0 c 5 2; exec 3<>/dev/pt0; ls /dev/pts | tr '\\n' ' '; echo",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0].trim(), "00 00 00 00", "{out:?}");
    assert!(lines[1].contains("No such device or address"), "{out:?}");
    assert!(lines[2].contains("No such device or address"), "{out:?}");
    assert_eq!(lines[3], "character special file 1:1", "{out:?}");
    assert_eq!(lines[4], "block special file 8:0", "{out:?}");
    // A ptmx node made anywhere opens a pair in the sandbox's devpts.
    assert!(lines[5].split_whitespace().any(|n| n == "0"), "{out:?}");
}

#[test]
fn mknod_of_a_device_without_cap_mknod_is_eperm() {
    // An unprivileged user may make a FIFO in the sticky /dev/shm, but no
    // device node.
    let out = run(Command::new(RUNSC).args([
        "do",
        "/usr/bin/python3",
        "-c",
        "import os\n\
         os.setgid(65534); os.setuid(65534)\n\
         os.mkfifo('/dev/shm/f'); print('fifo ok')\n\
         try:\n    os.mknod('/dev/shm/n', 0o20666, os.makedev(1, 3))\n\
         except OSError as e: print(e.errno == 1)\n",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "fifo ok\nTrue\n", "{out:?}");
}

/// A bundle over the host's root with docker's mounts under /dev.
fn docker_like_bundle(tag: &str, args: &[&str]) -> (TempDir, PathBuf) {
    let dir = TempDir::new(&format!("devfs-{tag}"));
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "/", "readonly": true},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}
        ],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
    });
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
    let state = dir.0.join("state");
    (dir, state)
}

#[test]
fn oci_mountpoints_under_dev_are_real_directories() {
    let (dir, state) = docker_like_bundle(
        "mqueue",
        &[
            "sh",
            "-c",
            "ls /dev | tr '\\n' ' '; echo; grep -c ' /dev/mqueue .* - mqueue ' /proc/self/mountinfo; \
             grep -c ' /dev ' /proc/self/mountinfo; stat -c %F /dev/mqueue; touch /dev/made && echo made",
        ],
    );
    let out = common::runsc_with_state(&dir.0, &state, &["run", "--bundle", dir.0.to_str().unwrap(), "dv1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let listed: Vec<&str> = lines[0].split_whitespace().collect();
    for name in ["mqueue", "null", "pts", "shm", "tty"] {
        assert!(listed.contains(&name), "{name} missing from ls /dev: {out:?}");
    }
    // The mqueue mount, and one /dev (the spec's tmpfs is the sandbox's own).
    assert_eq!(&lines[1..], ["1", "1", "directory", "made"], "{out:?}");
}
