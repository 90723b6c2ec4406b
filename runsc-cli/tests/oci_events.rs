//! `runsc events`: a detached container with memory and pids limits gives
//! one runc-shaped stats object with `--stats` (its memory limit and pids
//! read from its cgroup), a stream of them with `--interval`, and a clear
//! 125 for a container that is stopped or missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TempDir, RUNSC};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: u64 = 256 << 20;

fn runsc(dir: &TempDir, args: &[&str]) -> common::Out {
    common::runsc_with_state(&dir.0, &dir.0.join("state"), args)
}

/// Deletes the container even when an assertion fails.
struct Cleanup<'a>(&'a TempDir, &'static str);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = runsc(self.0, &["delete", "--force", self.1]);
    }
}

#[test]
fn events_stats_interval_and_errors() {
    let dir = TempDir::new("events");
    let rel = format!("rvisor-events-{}", common::unique());
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["sleep", "100"],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "/", "readonly": true},
        "linux": {
            "cgroupsPath": rel,
            "resources": {"memory": {"limit": LIMIT}, "pids": {"limit": 300}}
        }
    });
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
    let _cleanup = Cleanup(&dir, "ev1");
    let mut cgroups = true;
    let mut out = runsc(&dir, &["run", "--detach", "ev1"]);
    if out.code != 0 && out.stderr.contains("cgroup") {
        eprintln!(
            "skipping cgroup values: this host has no usable cgroup ({})",
            out.stderr.trim()
        );
        cgroups = false;
        out = runsc(&dir, &["--ignore-cgroups", "run", "--detach", "ev1"]);
    }
    assert_eq!(out.code, 0, "{out:?}");

    let out = runsc(&dir, &["events", "--stats", "ev1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    let ev: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], "ev1");
    assert!(ev["data"]["memory"]["usage"].is_object(), "{ev}");
    assert!(ev["data"]["cpu"]["usage"].is_object(), "{ev}");
    if cgroups {
        assert_eq!(ev["data"]["memory"]["usage"]["limit"], LIMIT, "{ev}");
        assert!(ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0, "{ev}");
        assert!(ev["data"]["pids"]["current"].as_u64().unwrap() >= 1, "{ev}");
        assert_eq!(ev["data"]["pids"]["limit"], 300, "{ev}");
    }

    // A stream every 200ms: at least two lines within a second.
    let stream = dir.0.join("stream");
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(dir.0.join("state"))
        .args(["events", "--interval", "200ms", "ev1"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stream).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(child.try_wait().unwrap().is_none(), "events exited early");
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&stream).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "{text}");
    assert!(lines.iter().all(|l| l["type"] == "stats" && l["id"] == "ev1"), "{text}");

    let bad = runsc(&dir, &["events", "--interval", "0s", "ev1"]);
    assert_eq!(bad.code, 125, "{bad:?}");

    // Stopped, then gone: one clear line and 125.
    assert_eq!(runsc(&dir, &["kill", "ev1", "KILL"]).code, 0);
    let start = Instant::now();
    loop {
        let out = runsc(&dir, &["events", "--stats", "ev1"]);
        if out.code == 125 {
            assert!(out.stderr.contains("not running"), "{out:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still running: {out:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(runsc(&dir, &["delete", "ev1"]).code, 0);
    let out = runsc(&dir, &["events", "ev1"]);
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("does not exist"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

const HOG: &str = r#"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    sleep(1);
    for (int i = 1; i <= 64; i++) {
        char *p = malloc(8 << 20);
        if (!p) return 12;
        memset(p, i, 8 << 20);
    }
    return 0;
}
"#;

#[test]
fn an_oom_kill_is_an_oom_event_and_the_stream_ends_with_the_container() {
    let dir = TempDir::new("events-oom");
    let hog = common::compile_c(&dir.0, "hog", HOG);
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "args": [hog], "env": ["PATH=/usr/bin:/bin"], "cwd": "/"},
        "root": {"path": "/", "readonly": true},
        "linux": {
            "cgroupsPath": format!("rvisor-events-{}", common::unique()),
            "resources": {"memory": {"limit": 64u64 << 20}}
        }
    });
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
    let _cleanup = Cleanup(&dir, "oom1");
    let out = runsc(&dir, &["run", "--detach", "oom1"]);
    if out.code != 0 && out.stderr.contains("cgroup") {
        eprintln!("skipping: this host has no usable cgroup ({})", out.stderr.trim());
        return;
    }
    assert_eq!(out.code, 0, "{out:?}");
    let stream = dir.0.join("stream");
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(dir.0.join("state"))
        .args(["events", "--interval", "300ms", "oom1"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stream).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("events did not end with the container");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let text = std::fs::read_to_string(&stream).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|l| l["type"] == "stats"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "oom" && l["id"] == "oom1" && l.get("data").is_none()),
        "{text}"
    );
}
