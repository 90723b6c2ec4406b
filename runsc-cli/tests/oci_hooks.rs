//! End-to-end tests of OCI hooks: a bundle whose config.json has a hook at
//! every stage logging "stage status pid" (read from the state JSON on its
//! stdin) to a file, driven through create/start/kill/delete and run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TempDir, RUNSC};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STAGES: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

struct Bundle {
    dir: TempDir,
    state: PathBuf,
    log: PathBuf,
}

/// A hook logging "STAGE STATUS PID CWD" to `log`, then exiting `code`.
fn hook(stage: &str, log: &Path, code: i32) -> serde_json::Value {
    let script = format!(
        "s=$(cat); st=$(echo \"$s\" | sed 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/'); \
         pid=$(echo \"$s\" | sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/'); \
         echo \"$1 $st $pid $(pwd)\" >> {}; exit {code}",
        log.display()
    );
    serde_json::json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", script, "sh", stage],
        "env": ["PATH=/usr/bin:/bin"],
        "timeout": 10
    })
}

impl Bundle {
    /// `fail` names a stage whose hook exits 7.
    fn new(tag: &str, args: &[&str], fail: Option<&str>) -> Bundle {
        let dir = TempDir::new(&format!("hooks-{tag}"));
        let log = dir.0.join("hooks.log");
        let mut hooks = serde_json::Map::new();
        for stage in STAGES {
            let code = if fail == Some(stage) { 7 } else { 0 };
            hooks.insert(stage.to_string(), serde_json::json!([hook(stage, &log, code)]));
        }
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
            "hooks": hooks,
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        });
        std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
        let state = dir.0.join("state");
        Bundle { dir, state, log }
    }

    fn runsc(&self, args: &[&str]) -> common::Out {
        common::runsc_with_state(&self.dir.0, &self.state, args)
    }

    fn ok(&self, args: &[&str]) -> common::Out {
        let out = self.runsc(args);
        assert_eq!(out.code, 0, "runsc {args:?}: {out:?}");
        out
    }

    fn state(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", id]).stdout).unwrap()
    }

    /// The log's lines as (stage, status, pid), checking each hook ran in
    /// the bundle.
    fn logged(&self) -> Vec<(String, String, i64)> {
        let bundle = self.dir.0.canonicalize().unwrap();
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                assert_eq!(f.len(), 4, "{l}");
                assert_eq!(Path::new(f[3]), bundle, "{l}");
                (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap_or(-1))
            })
            .collect()
    }

    fn stages(&self) -> Vec<(String, String)> {
        self.logged().into_iter().map(|(s, st, _)| (s, st)).collect()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        for entry in std::fs::read_dir(&self.state).into_iter().flatten().flatten() {
            let _ = Command::new(RUNSC)
                .arg("--root")
                .arg(&self.state)
                .args(["delete", "--force"])
                .arg(entry.file_name())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn process_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat[stat.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_status(b: &Bundle, id: &str, want: &str) {
    let start = Instant::now();
    while b.state(id)["status"] != want {
        assert!(start.elapsed() < Duration::from_secs(30), "{id} never became {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const CREATE: [(&str, &str); 3] = [
    ("prestart", "created"),
    ("createRuntime", "created"),
    ("createContainer", "created"),
];

#[test]
fn hooks_run_in_order_with_the_state_through_create_start_kill_delete() {
    let b = Bundle::new("life", &["sleep", "100"], None);
    b.ok(&["create", "--bundle", ".", "h1"]);
    let pid = b.state("h1")["pid"].as_i64().unwrap();
    assert_eq!(b.stages(), pairs(&CREATE));
    assert!(b.logged().iter().all(|l| l.2 == pid), "{:?}", b.logged());
    assert_eq!(b.state("h1")["status"], "created");

    b.ok(&["start", "h1"]);
    let mut want = CREATE.to_vec();
    want.extend([("startContainer", "created"), ("poststart", "running")]);
    assert_eq!(b.stages(), pairs(&want));
    assert!(b.logged().iter().all(|l| l.2 == pid), "{:?}", b.logged());

    b.ok(&["kill", "h1", "KILL"]);
    wait_status(&b, "h1", "stopped");
    assert_eq!(b.stages().len(), 5, "no hook runs at kill");
    b.ok(&["delete", "h1"]);
    want.push(("poststop", "stopped"));
    assert_eq!(b.stages(), pairs(&want));
    assert!(!b.state.join("h1").exists());
}

#[test]
fn run_runs_every_stage() {
    let b = Bundle::new("run", &["true"], None);
    b.ok(&["run", "--bundle", ".", "h2"]);
    let mut want = CREATE.to_vec();
    want.extend([
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ]);
    assert_eq!(b.stages(), pairs(&want));
    assert!(!b.state.join("h2").exists());
}

#[test]
fn a_failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let b = Bundle::new("failcr", &["sleep", "100"], Some("createRuntime"));
    let out = b.runsc(&["create", "--bundle", ".", "h3"]);
    assert_eq!(out.code, 125, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(
        out.stderr.contains("createRuntime") && out.stderr.contains("status 7"),
        "{out:?}"
    );
    // createContainer never ran; the sandbox the hooks saw is gone.
    assert_eq!(b.stages(), pairs(&CREATE[..2]));
    let pid = b.logged()[0].2;
    assert!(pid > 0);
    assert!(!process_alive(pid), "sandbox {pid} left running");
    assert!(!b.state.join("h3").exists(), "state dir left behind");
}

#[test]
fn a_failing_start_container_hook_fails_start_and_stops_the_container() {
    let b = Bundle::new("failsc", &["sleep", "100"], Some("startContainer"));
    b.ok(&["create", "--bundle", ".", "h4"]);
    let out = b.runsc(&["start", "h4"]);
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("startContainer"), "{out:?}");
    wait_status(&b, "h4", "stopped");
    // poststart did not run.
    assert_eq!(b.stages().last().unwrap().0, "startContainer");
    b.ok(&["delete", "h4"]);
    assert_eq!(b.stages().last().unwrap().0, "poststop");
}

#[test]
fn a_failing_poststart_hook_is_only_a_warning() {
    let b = Bundle::new("failps", &["sleep", "100"], Some("poststart"));
    b.ok(&["create", "--bundle", ".", "h5"]);
    let out = b.ok(&["start", "h5"]);
    assert!(
        out.stderr.contains("warning") && out.stderr.contains("poststart"),
        "{out:?}"
    );
    assert_eq!(b.state("h5")["status"], "running");
    b.ok(&["delete", "--force", "h5"]);
    assert_eq!(b.stages().last().unwrap().0, "poststop");
}
