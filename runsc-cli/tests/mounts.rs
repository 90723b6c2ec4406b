//! End-to-end tests of the boot mounts: `runsc do --volume HOST:GUEST[:ro]`
//! (host paths served by a gofer socket of their own) and `--tmpfs
//! GUEST[:OPTS]`, and that a bind mount never reaches host files outside
//! its source.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::process::Command;

/// `runsc do ARGS... /bin/sh -c SCRIPT`.
fn sandbox_sh(args: &[&str], script: &str) -> Out {
    run(Command::new(RUNSC).arg("do").args(args).args(["/bin/sh", "-c", script]))
}

#[test]
fn a_read_only_volume_shows_host_files_and_refuses_writes() {
    let dir = TempDir::new("vol-ro");
    std::fs::write(dir.0.join("f"), "from the host\n").unwrap();
    let vol = format!("{}:/data:ro", dir.0.display());
    let out = sandbox_sh(
        &["--volume", &vol],
        "cat /data/f; echo x > /data/g 2>/dev/null || echo refused; \
         touch /data/f 2>&1 | grep -c 'Read-only'; grep ' /data ' /proc/self/mounts",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..3], ["from the host", "refused", "1"], "{out:?}");
    assert!(lines[3].starts_with("none /data 9p ro,"), "{out:?}");
    assert!(!dir.0.join("g").exists());
}

#[test]
fn a_writable_volume_writes_reach_the_host() {
    let dir = TempDir::new("vol-rw");
    let vol = format!("{}:/data", dir.0.display());
    let out = sandbox_sh(&["--volume", &vol], "echo written > /data/new && cat /data/new");
    assert_eq!((out.code, out.stdout.as_str()), (0, "written\n"), "{out:?}");
    assert_eq!(std::fs::read_to_string(dir.0.join("new")).unwrap(), "written\n");
}

#[test]
fn a_single_file_volume_holds_that_file_only() {
    let dir = TempDir::new("vol-file");
    std::fs::write(dir.0.join("one"), "just me\n").unwrap();
    std::fs::write(dir.0.join("sibling"), "secret\n").unwrap();
    let vol = format!("{}:/etc/rvisor-one.txt:ro", dir.0.join("one").display());
    let out = sandbox_sh(
        &["--volume", &vol],
        "cat /etc/rvisor-one.txt; cat /etc/rvisor-one.txt/../sibling 2>/dev/null || echo no-sibling",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "just me\nno-sibling\n", "{out:?}");
}

/// `cat` copies with copy_file_range; into a stdout redirected to a host
/// file on the same filesystem as the volume, the copy must work as a
/// write at the host file's own offset.
#[test]
fn cat_of_a_volume_file_into_a_redirected_stdout() {
    let dir = TempDir::new("vol-cat");
    std::fs::write(dir.0.join("data"), "some data\n").unwrap();
    let out_path = dir.0.join("out");
    let out_file = std::fs::File::create(&out_path).unwrap();
    let vol = format!("{}:/v:ro", dir.0.display());
    let status = Command::new(RUNSC)
        .args(["do", "--volume", &vol, "sh", "-c", "echo first; cat /v/data; echo last"])
        .stdout(out_file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "first\nsome data\nlast\n");
}

#[test]
fn a_bind_mount_cannot_reach_host_files_outside_its_source() {
    // host: D/outside/secret and D/vol/{inner, up -> ../outside/secret}
    let dir = TempDir::new("escape");
    std::fs::create_dir_all(dir.0.join("outside")).unwrap();
    std::fs::create_dir_all(dir.0.join("vol")).unwrap();
    std::fs::write(dir.0.join("outside/secret"), "secret\n").unwrap();
    std::fs::write(dir.0.join("vol/inner"), "inner\n").unwrap();
    std::os::unix::fs::symlink("../outside/secret", dir.0.join("vol/up")).unwrap();
    std::os::unix::fs::symlink("/outside/secret", dir.0.join("vol/abs")).unwrap();
    // Mounted where the sandbox has no "outside" next to it.
    let guest = format!("/mnt/rvisor-{}", unique());
    let vol = format!("{}:{guest}", dir.0.join("vol").display());
    let script = format!(
        "cd {guest} && cat inner; \
         cat ../outside/secret 2>/dev/null || echo dotdot-blocked; \
         cat {guest}/../outside/secret 2>/dev/null || echo abs-dotdot-blocked; \
         cat up 2>/dev/null || echo symlink-blocked; \
         cat abs 2>/dev/null || echo abs-symlink-blocked; \
         ln {guest}/inner /tmp/hl-$$ 2>&1 | grep -c 'Invalid cross-device link'; \
         ln /etc/hostname {guest}/hl 2>&1 | grep -c 'Invalid cross-device link'"
    );
    let out = sandbox_sh(&["--volume", &vol], &script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "inner\ndotdot-blocked\nabs-dotdot-blocked\nsymlink-blocked\nabs-symlink-blocked\n1\n1\n",
        "{out:?}"
    );
    assert!(!dir.0.join("vol/hl").exists());
}

#[test]
fn tmpfs_mounts_have_their_options_and_stay_in_memory() {
    let guest = format!("/rvisor-scratch-{}", unique());
    let tmpfs = format!("{guest}:size=1m,mode=700,noexec");
    let script = format!(
        "stat -c '%a %U' {guest}; stat -f -c '%T %b' {guest}; \
         dd if=/dev/zero of={guest}/big bs=64k count=32 2>&1 | grep -c 'No space left'; \
         cp /bin/true {guest}/t && {guest}/t 2>/dev/null || echo noexec; \
         grep ' {guest} ' /proc/self/mountinfo | grep -c 'rw,noexec,relatime - tmpfs tmpfs rw,size=1024k,mode=700'"
    );
    let out = sandbox_sh(&["--tmpfs", &tmpfs], &script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "700 root\ntmpfs 256\n1\nnoexec\n1\n", "{out:?}");
    assert!(!std::path::Path::new(&guest).exists());
}
