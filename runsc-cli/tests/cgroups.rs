//! Cgroups of an OCI container: `linux.resources.memory.limit` of 64 MiB
//! stops a guest that allocates more (OOM kill or ENOMEM) while the host
//! goes on, `pids.limit` is written, the cgroup is made under runsc's own
//! and removed with the container, `runsc update` changes a live
//! container's limit, and `--ignore-cgroups` makes none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TempDir, RUNSC};
use std::path::{Path, PathBuf};
use std::process::Command;

const HOG: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    for (int i = 1; i <= 32; i++) {
        char *p = malloc(8 << 20);
        if (!p) { printf("ENOMEM after %d MiB\n", (i - 1) * 8); return 12; }
        memset(p, i, 8 << 20);
        printf("%d MiB\n", i * 8);
        fflush(stdout);
    }
    printf("allocated 256 MiB\n");
    return 0;
}
"#;

/// The memory cgroup directory rvisor makes for `rel` (v2 or v1 memory).
fn memory_dir(rel: &str) -> PathBuf {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap(), f.next().unwrap());
        let hit = if unified {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == "memory")
        };
        if hit {
            let base = if unified {
                PathBuf::from("/sys/fs/cgroup")
            } else {
                PathBuf::from("/sys/fs/cgroup/memory")
            };
            return base.join(path.trim_start_matches('/')).join(rel);
        }
    }
    panic!("no memory cgroup in {own}");
}

fn bundle(dir: &Path, hog: &Path, cgroups_path: &str) {
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": [hog],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "/", "readonly": true},
        "linux": {
            "cgroupsPath": cgroups_path,
            "resources": {"memory": {"limit": 64u64 << 20}, "pids": {"limit": 200}}
        }
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

#[test]
fn a_memory_limit_stops_a_guest_that_allocates_more() {
    let cgroup_file = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    let dir = TempDir::new("cgroups");
    let hog = common::compile_c(&dir.0, "hog", HOG);
    let rel = format!("rvisor-test-{}", common::unique());
    bundle(&dir.0, &hog, &rel);
    let cg = memory_dir(&rel);
    // The limit is in place while the container is created.
    let state = dir.0.join("state");
    let runsc = |args: &[&str]| {
        common::run(
            Command::new(RUNSC)
                .arg("--root")
                .arg(&state)
                .args(args)
                .current_dir(&dir.0),
        )
    };
    // create leaves the sandbox running with its stdio: files, not pipes.
    let log = std::fs::File::create(dir.0.join("create.out")).unwrap();
    let status = Command::new(RUNSC)
        .arg("--root")
        .arg(&state)
        .args(["create", "--bundle", ".", "hog"])
        .current_dir(&dir.0)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .status()
        .unwrap();
    let created = std::fs::read_to_string(dir.0.join("create.out")).unwrap();
    assert!(status.success(), "{created}");
    let limit = std::fs::read_to_string(cg.join(cgroup_file)).unwrap();
    assert_eq!(limit.trim(), (64u64 << 20).to_string());
    let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap();
    assert!(procs.lines().count() >= 2, "sentry and gofer in the cgroup: {procs}");
    // `runsc update` changes the limit of the live container: from a flag,
    // then from a resources document on stdin.
    let out = runsc(&["update", "--memory", "96m", "hog"]);
    assert_eq!(out.code, 0, "{out:?}");
    let limit = std::fs::read_to_string(cg.join(cgroup_file)).unwrap();
    assert_eq!(limit.trim(), (96u64 << 20).to_string());
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(&state)
        .args(["update", "--resources", "-", "hog"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!(r#"{{"memory": {{"limit": {}}}}}"#, 80u64 << 20).as_bytes(),
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let limit = std::fs::read_to_string(cg.join(cgroup_file)).unwrap();
    assert_eq!(limit.trim(), (80u64 << 20).to_string());
    let out = runsc(&["update", "--memory", "lots", "hog"]);
    assert_eq!(out.code, 125, "{out:?}");
    let out = runsc(&["delete", "--force", "hog"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!cg.exists(), "{} left behind", cg.display());

    // Run it: killed by the OOM killer (137) or refused memory (12).
    let out = runsc(&["run", "--bundle", ".", "hog2"]);
    assert!(out.code == 137 || out.code == 12, "{out:?}");
    assert!(!out.stdout.contains("allocated 256 MiB"), "{out:?}");
    assert!(out.stdout.contains("8 MiB"), "it ran: {out:?}");
    assert!(!cg.exists(), "{} left behind", cg.display());
    assert!(!state.join("hog2").exists());

    // The host is fine, and without cgroups the same program completes.
    let out = runsc(&["--ignore-cgroups", "run", "--bundle", ".", "hog3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("allocated 256 MiB"), "{out:?}");
    assert!(!cg.exists());
}
