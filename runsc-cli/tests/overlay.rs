//! End-to-end tests of the writable root (`--overlay2 root:memory`, the
//! default): programs write anywhere in the sandbox's root, read their
//! writes back, and the host's files never change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// `runsc do /bin/sh -c SCRIPT`.
fn sandbox_sh(script: &str) -> Out {
    run(Command::new(RUNSC).args(["do", "/bin/sh", "-c", script]))
}

#[test]
fn a_file_written_in_etc_is_read_back_and_never_reaches_the_host() {
    let name = format!("/etc/rvisor-test-{}", unique());
    assert!(!Path::new(&name).exists());
    let out = sandbox_sh(&format!("echo hi > {name} && cat {name}"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hi\n", "{out:?}");
    assert!(!Path::new(&name).exists());
    // The brief's exact spelling, when the host does not have that file.
    if !Path::new("/etc/rvisor-test").exists() {
        let out = sandbox_sh("echo hi > /etc/rvisor-test && cat /etc/rvisor-test");
        assert_eq!((out.code, out.stdout.as_str()), (0, "hi\n"), "{out:?}");
        assert!(!Path::new("/etc/rvisor-test").exists());
    }
}

#[test]
fn host_files_changed_inside_stay_unchanged_outside() {
    let dir = TempDir::new("lower");
    std::fs::create_dir_all(dir.0.join("sub/deeper")).unwrap();
    std::fs::write(dir.0.join("keep"), "original\n").unwrap();
    std::fs::write(dir.0.join("trunc"), "some bytes\n").unwrap();
    std::fs::write(dir.0.join("gone"), "still here\n").unwrap();
    std::fs::write(dir.0.join("sub/deeper/f"), "f\n").unwrap();
    let d = dir.0.display();
    let script = format!(
        "set -e; cd {d}; echo more >> keep; cat keep; : > trunc; wc -c < trunc; \
         rm gone; test ! -e gone; mv sub moved; cat moved/deeper/f; chmod 600 keep; \
         mkdir -p new/a/b; echo n > new/a/b/n; ln -s keep lnk; cat lnk | head -1; ls"
    );
    let out = sandbox_sh(&script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "original\nmore\n0\nf\noriginal\nkeep\nlnk\nmoved\nnew\ntrunc\n",
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(dir.0.join("keep")).unwrap(), "original\n");
    assert_eq!(std::fs::read_to_string(dir.0.join("trunc")).unwrap(), "some bytes\n");
    assert_eq!(std::fs::read_to_string(dir.0.join("gone")).unwrap(), "still here\n");
    assert_eq!(std::fs::read_to_string(dir.0.join("sub/deeper/f")).unwrap(), "f\n");
    for absent in ["moved", "new", "lnk"] {
        assert!(!dir.0.join(absent).exists(), "{absent} reached the host");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.0.join("keep")).unwrap().permissions().mode();
    assert_ne!(mode & 0o777, 0o600);
}

/// A small directory of /usr/share/doc (a few regular files and maybe
/// symlinks), chosen the same way on every run.
fn small_doc_dir() -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir("/usr/share/doc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names.into_iter().find(|n| {
        let out = run(Command::new("find")
            .arg(format!("/usr/share/doc/{n}"))
            .args(["-type", "f", "-size", "-64k"]));
        let all = run(Command::new("find").arg(format!("/usr/share/doc/{n}")));
        let files = out.stdout.lines().count();
        // Every entry readable, small, a few files and nothing exotic.
        (2..=20).contains(&files) && all.stdout.lines().count() <= 30 && out.code == 0 && all.code == 0
    })
}

#[test]
fn tar_round_trip_inside_the_sandbox_gives_identical_checksums() {
    let Some(doc) = small_doc_dir() else {
        eprintln!("no suitable /usr/share/doc directory on this host; skipping");
        return;
    };
    let work = format!("/tmp/rvisor-tar-{}", unique());
    // The listing (type, name, symlink target) and checksums of the files.
    let summary = "find . -printf '%y %p %l\\n' | LC_ALL=C sort; \
                   find . -type f | LC_ALL=C sort | xargs -r sha256sum";
    let script = format!(
        "set -e; mkdir -p {work}/x; tar -C /usr/share/doc -cf {work}/doc.tar {doc}; \
         tar -C {work}/x -xf {work}/doc.tar; cd {work}/x/{doc}; {summary}"
    );
    let inside = sandbox_sh(&script);
    assert_eq!(inside.code, 0, "{inside:?}");
    let outside = run(Command::new("/bin/sh")
        .arg("-c")
        .arg(summary)
        .current_dir(format!("/usr/share/doc/{doc}")));
    assert_eq!(outside.code, 0, "{outside:?}");
    assert!(outside.stdout.lines().count() >= 3, "{outside:?}");
    assert_eq!(inside.stdout, outside.stdout, "{doc}: {inside:?}");
    assert!(!Path::new(&work).exists(), "{work} reached the host");
}

/// `--overlay2=none` writes through to the host: see overlay2_none.rs.
#[test]
fn overlay2_rejects_unsupported_media() {
    let out = run(Command::new(RUNSC).args(["--overlay2", "root:/some/dir", "do", "/bin/true"]));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("--overlay2"), "{out:?}");
}

/// sqlite (through Python) creates a database with 10,000 rows in the
/// overlay's /tmp and queries it: record locks, fdatasync, journal files.
#[test]
fn sqlite_creates_and_queries_ten_thousand_rows() {
    let db = format!("/tmp/rvisor-sqlite-{}.db", unique());
    let script = format!(
        "python3 -c \"import sqlite3; c = sqlite3.connect('{db}'); c.execute('create table t(a integer, b text)'); \
         c.executemany('insert into t values (?, ?)', [(i, str(i)) for i in range(10000)]); c.commit(); \
         print(c.execute('select count(*), sum(a) from t').fetchone())\""
    );
    let out = sandbox_sh(&script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "(10000, 49995000)\n", "{out:?}");
    assert!(!std::path::Path::new(&db).exists(), "the database reached the host");
}
