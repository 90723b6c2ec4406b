//! End-to-end tests of user namespaces and rootless mode: a spec with a
//! user namespace run by root (container 0 = host 100000), the whole
//! lifecycle run by an unprivileged user (uid 65534) from a bundle made by
//! `runsc spec --rootless`, and malformed mappings. Bundles are busybox
//! root filesystems (tests/tools). Needs root, like the other OCI tests;
//! tests that need user namespaces pass with a printed reason where the
//! host has none.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod tools;

use common::{TempDir, RUNSC};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The unprivileged user of the rootless tests.
const NOBODY: u32 = 65534;
/// The host id container 0 maps to in the root-run tests.
const BASE: u32 = 100000;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Why user namespaces cannot be used here (by `uid` if given), if so.
fn no_userns(uid: Option<u32>) -> Option<String> {
    if !is_root() {
        return Some("the tests run as root (they switch users themselves)".into());
    }
    if std::fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone").is_ok_and(|v| v.trim() == "0")
        && uid.is_some()
    {
        return Some("kernel.unprivileged_userns_clone is 0".into());
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "true"]);
    if let Some(u) = uid {
        cmd.uid(u).gid(u);
    }
    match cmd.stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => None,
        Ok(_) => Some(format!("`unshare --user` fails for uid {}", uid.unwrap_or(0))),
        Err(e) => Some(format!("no unshare(1): {e}")),
    }
}

/// A busybox bundle in a temp dir with config `config` (a JSON object
/// whose `root` is set here).
fn bundle(tag: &str, mut config: serde_json::Value) -> TempDir {
    let dir = TempDir::new(&format!("userns-{tag}"));
    tools::busybox_rootfs(&dir.0);
    config["root"] = serde_json::json!({"path": "rootfs", "readonly": true});
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
    dir
}

/// A config running `args` in a user namespace with the given maps.
fn config(args: &[&str], uid_maps: serde_json::Value, gid_maps: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin"],
            "cwd": "/"
        },
        "hostname": "userns",
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "user"}],
            "uidMappings": uid_maps,
            "gidMappings": gid_maps
        }
    })
}

fn range(container: u32, host: u32, size: u32) -> serde_json::Value {
    serde_json::json!([{"containerID": container, "hostID": host, "size": size}])
}

fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat[stat.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_gone(pid: i64) {
    let start = Instant::now();
    while alive(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "pid {pid} outlived its sandbox"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `Uid:` line's real uid of a host process.
fn host_uid(pid: i64) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `/proc/PID/uid_map` with whitespace normalized.
fn uid_map(pid: i64) -> String {
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    map.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ns(pid: &str, kind: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap()
}

/// The sentry's and gofer's pids from the state file.
fn sandbox_pids(state_dir: &Path) -> (i64, i64) {
    let text = std::fs::read_to_string(state_dir.join("state.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        v["sandbox"]["sentry_pid"].as_i64().unwrap(),
        v["sandbox"]["gofer_pid"].as_i64().unwrap(),
    )
}

#[test]
fn root_with_a_user_namespace_maps_container_root_to_host_100000() {
    if let Some(why) = no_userns(None) {
        eprintln!("SKIP: {why}");
        return;
    }
    let maps = range(0, BASE, 65536);
    let script = "id; cat /proc/self/uid_map; echo hello > /data/new; ls -ln /data";
    let b = bundle("root", config(&["sh", "-c", script], maps.clone(), maps.clone()));
    // A writable bind mount owned by the namespace's root, holding one file
    // of a host id the namespace does not map.
    let data = b.0.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("hostfile"), "x").unwrap();
    std::os::unix::fs::chown(&data, Some(BASE), Some(BASE)).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.0.join("config.json")).unwrap()).unwrap();
    cfg["mounts"] = serde_json::json!([{
        "destination": "/data", "type": "bind", "source": data, "options": ["rbind", "rw"]
    }]);
    std::fs::write(b.0.join("config.json"), cfg.to_string()).unwrap();
    let state = b.0.join("state");

    let out = common::runsc_with_state(&b.0, &state, &["run", "u1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    // The guest is root of its own kernel, whose user namespace is the initial one.
    assert!(
        lines.next().is_some_and(|l| l.starts_with("uid=0(root) gid=0(root)")),
        "{out:?}"
    );
    assert_eq!(
        lines.next().map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["0", "0", "4294967295"]),
        "{out:?}"
    );
    // The new file belongs to host 100000 (the guest's uid 0, mapped).
    let meta = std::fs::metadata(data.join("new")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (BASE, BASE));
    assert_eq!(std::fs::read_to_string(data.join("new")).unwrap(), "hello\n");
    // The guest sees owners as the namespace does: its file as 0, the host
    // root's (unmapped) as the overflow id.
    let owners = |name: &str| {
        let line = out.stdout.lines().find(|l| l.ends_with(&format!(" {name}"))).unwrap();
        line.split_whitespace().skip(2).take(2).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(owners("new"), "0 0", "{out:?}");
    assert_eq!(owners("hostfile"), "65534 65534", "{out:?}");
    assert!(!state.join("u1").exists());

    // A living sandbox: both processes are in user namespaces with the
    // map, run as host 100000, and the sentry has a PID namespace.
    cfg["process"]["args"] = serde_json::json!(["sleep", "100"]);
    std::fs::write(b.0.join("config.json"), cfg.to_string()).unwrap();
    let out = common::runsc_with_state(&b.0, &state, &["create", "u2"]);
    assert_eq!(out.code, 0, "{out:?}");
    let (sentry, gofer) = sandbox_pids(&state.join("u2"));
    for pid in [sentry, gofer] {
        assert_eq!(uid_map(pid), "0 100000 65536");
        assert_eq!(host_uid(pid), BASE);
        assert_ne!(ns(&pid.to_string(), "user"), ns("self", "user"));
    }
    assert_ne!(ns(&sentry.to_string(), "user"), ns(&gofer.to_string(), "user"));
    assert_ne!(ns(&sentry.to_string(), "pid"), ns("self", "pid"));
    let out = common::runsc_with_state(&b.0, &state, &["start", "u2"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = common::runsc_with_state(&b.0, &state, &["kill", "u2", "KILL"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = common::runsc_with_state(&b.0, &state, &["delete", "--force", "u2"]);
    assert_eq!(out.code, 0, "{out:?}");
    wait_gone(sentry);
    wait_gone(gofer);
    assert!(!state.join("u2").exists());
}

/// A runsc that uid 65534 can execute: the build's own, or, when it sits
/// under a directory that user cannot enter (a clone in a 0700 home), a
/// hard link (else a copy) of it in a world-readable temp directory.
fn runsc_for_nobody() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let runs = Command::new(RUNSC)
            .arg("--version")
            .uid(NOBODY)
            .gid(NOBODY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if runs {
            return RUNSC.to_string();
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("rvisor-nobody-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("runsc");
        let _ = std::fs::remove_file(&copy);
        if std::fs::hard_link(RUNSC, &copy).is_err() {
            std::fs::copy(RUNSC, &copy).unwrap();
        }
        copy.to_string_lossy().into_owned()
    })
}

/// Runs runsc as uid/gid 65534 (no supplementary groups) in `dir`, with
/// `XDG_RUNTIME_DIR=xdg` and no `--root`, output in files there.
fn runsc_as_nobody(dir: &Path, xdg: &Path, args: &[&str]) -> common::Out {
    let n = common::unique();
    let (o, e) = (dir.join(format!("out-{n}")), dir.join(format!("err-{n}")));
    let start = Instant::now();
    let mut child = Command::new(runsc_for_nobody())
        .args(args)
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", xdg)
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < common::TIMEOUT, "timed out: runsc {args:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    common::Out {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&o).unwrap(),
        stderr: std::fs::read_to_string(&e).unwrap(),
        elapsed: start.elapsed(),
    }
}

#[test]
fn rootless_lifecycle_as_an_unprivileged_user() {
    if let Some(why) = no_userns(Some(NOBODY)) {
        eprintln!("SKIP: {why}");
        return;
    }
    let dir = TempDir::new("rootless");
    tools::busybox_rootfs(&dir.0);
    let xdg = dir.0.join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    for p in [&dir.0, &xdg] {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    // The bundle as `runsc spec --rootless` writes it (container 0 is the
    // caller), with a command instead of a terminal shell.
    let out = runsc_as_nobody(&dir.0, &xdg, &["spec", "--rootless"]);
    assert_eq!(out.code, 0, "{out:?}");
    let path = dir.0.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(cfg["linux"]["uidMappings"][0]["hostID"], NOBODY);
    cfg["process"]["terminal"] = false.into();
    cfg["process"]["args"] = serde_json::json!(["sh", "-c", "echo hi; id; exit 3"]);
    std::fs::write(&path, cfg.to_string()).unwrap();
    let state_root = xdg.join("rvisor");

    let out = runsc_as_nobody(&dir.0, &xdg, &["run", "r1"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.starts_with("hi\nuid=0(root) gid=0(root)"), "{out:?}");
    assert!(
        state_root.is_dir(),
        "the state root defaults to $XDG_RUNTIME_DIR/rvisor"
    );
    assert!(!state_root.join("r1").exists());

    cfg["process"]["args"] = serde_json::json!(["sleep", "100"]);
    std::fs::write(&path, cfg.to_string()).unwrap();
    let out = runsc_as_nobody(&dir.0, &xdg, &["create", "r2"]);
    assert_eq!(out.code, 0, "{out:?}");
    let (sentry, gofer) = sandbox_pids(&state_root.join("r2"));
    for pid in [sentry, gofer] {
        assert_eq!(host_uid(pid), NOBODY);
        assert_eq!(uid_map(pid), format!("0 {NOBODY} 1"));
    }
    let state = |out: common::Out| -> serde_json::Value {
        assert_eq!(out.code, 0, "{out:?}");
        serde_json::from_str(&out.stdout).unwrap()
    };
    let st = state(runsc_as_nobody(&dir.0, &xdg, &["state", "r2"]));
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"].as_i64(), Some(sentry));
    assert_eq!(runsc_as_nobody(&dir.0, &xdg, &["start", "r2"]).code, 0);
    assert_eq!(
        state(runsc_as_nobody(&dir.0, &xdg, &["state", "r2"]))["status"],
        "running"
    );
    assert_eq!(runsc_as_nobody(&dir.0, &xdg, &["kill", "r2", "KILL"]).code, 0);
    let start = Instant::now();
    while state(runsc_as_nobody(&dir.0, &xdg, &["state", "r2"]))["status"] != "stopped" {
        assert!(start.elapsed() < Duration::from_secs(30), "r2 never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = runsc_as_nobody(&dir.0, &xdg, &["delete", "r2"]);
    assert_eq!(out.code, 0, "{out:?}");
    wait_gone(sentry);
    wait_gone(gofer);
    assert!(!state_root.join("r2").exists());
}

#[test]
fn malformed_mappings_are_one_clear_error_and_leave_nothing() {
    if !is_root() {
        eprintln!("SKIP: the OCI tests run as root");
        return;
    }
    let cases = [
        (range(0, BASE, 0), "linux.uidMappings[0]: size must not be 0"),
        (
            serde_json::json!([
                {"containerID": 0, "hostID": BASE, "size": 100},
                {"containerID": 50, "hostID": 300000, "size": 10}
            ]),
            "linux.uidMappings[0] and [1] overlap (container ids)",
        ),
        (range(1, BASE, 10), "linux.uidMappings must map container id 0"),
    ];
    for (i, (maps, needle)) in cases.into_iter().enumerate() {
        let b = bundle("bad", config(&["true"], maps, range(0, BASE, 65536)));
        let state = b.0.join("state");
        let id = format!("bad{i}");
        let out = common::runsc_with_state(&b.0, &state, &["create", &id]);
        assert_eq!(out.code, 125, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains(needle), "{needle}: {out:?}");
        assert!(!state.join(&id).exists(), "{out:?}");
    }
    // A namespace joined by a path that does not exist.
    let mut cfg = config(&["true"], range(0, BASE, 1), range(0, BASE, 1));
    cfg["linux"]["namespaces"] = serde_json::json!([{"type": "user", "path": "/no/such/userns"}]);
    cfg.as_object_mut().unwrap()["linux"]
        .as_object_mut()
        .unwrap()
        .remove("uidMappings");
    cfg["linux"].as_object_mut().unwrap().remove("gidMappings");
    let b = bundle("join", cfg);
    let state = b.0.join("state");
    let out = common::runsc_with_state(&b.0, &state, &["create", "j1"]);
    assert_eq!(out.code, 125, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("/no/such/userns"), "{out:?}");
    assert!(!state.join("j1").exists(), "{out:?}");
}

#[test]
fn joining_a_user_namespace_by_path() {
    if let Some(why) = no_userns(None) {
        eprintln!("SKIP: {why}");
        return;
    }
    // A process holding a user namespace, which the test maps (container
    // 0 to 100000) as its parent would.
    let mut holder = Command::new("unshare")
        .args(["--user", "sleep", "100"])
        .spawn()
        .unwrap();
    let pid = holder.id();
    let start = Instant::now();
    while ns(&pid.to_string(), "user") == ns("self", "user") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "unshare --user never unshared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for file in ["uid_map", "gid_map"] {
        std::fs::write(format!("/proc/{pid}/{file}"), "0 100000 65536").unwrap();
    }
    let mut cfg = config(&["id"], range(0, BASE, 1), range(0, BASE, 1));
    cfg["linux"]["namespaces"] = serde_json::json!([{"type": "user", "path": format!("/proc/{pid}/ns/user")}]);
    let b = bundle("joined", cfg);
    let state = b.0.join("state");
    let out = common::runsc_with_state(&b.0, &state, &["create", "j2"]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.code, 0, "{out:?}");
    let (sentry, gofer) = sandbox_pids(&state.join("j2"));
    assert_eq!(ns(&sentry.to_string(), "user"), ns(&gofer.to_string(), "user"));
    assert_eq!(uid_map(sentry), "0 100000 65536");
    assert_eq!(host_uid(sentry), BASE);
    let out = common::runsc_with_state(&b.0, &state, &["delete", "--force", "j2"]);
    assert_eq!(out.code, 0, "{out:?}");
    wait_gone(sentry);
    wait_gone(gofer);
}

#[test]
fn an_attached_run_in_a_user_namespace_dies_with_runsc() {
    if let Some(why) = no_userns(None) {
        eprintln!("SKIP: {why}");
        return;
    }
    let maps = range(0, BASE, 65536);
    let b = bundle("pdeath", config(&["sleep", "100"], maps.clone(), maps));
    let state = b.0.join("state");
    let mut runsc = Command::new(RUNSC)
        .arg("--root")
        .arg(&state)
        .args(["run", "d1"])
        .current_dir(&b.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let (sentry, gofer) = loop {
        let pids = std::fs::read_to_string(state.join("d1/state.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|v| (v["sandbox"]["sentry_pid"].as_i64(), v["sandbox"]["gofer_pid"].as_i64()));
        if let Some((Some(s), Some(g))) = pids.filter(|p| p.0.unwrap_or(0) != 0) {
            break (s, g);
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the sandbox never came up");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(uid_map(sentry), "0 100000 65536");
    // PR_SET_PDEATHSIG survives the children's switch to the namespace's root.
    runsc.kill().unwrap();
    runsc.wait().unwrap();
    wait_gone(sentry);
    wait_gone(gofer);
    let out = common::runsc_with_state(&b.0, &state, &["delete", "--force", "d1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!state.join("d1").exists());
}

#[test]
fn rootless_do_runs_the_guest_as_the_namespace_root() {
    if let Some(why) = no_userns(Some(NOBODY)) {
        eprintln!("SKIP: {why}");
        return;
    }
    let dir = TempDir::new("rootless-do");
    let rootfs = tools::busybox_rootfs(&dir.0);
    let vol = dir.0.join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::os::unix::fs::chown(&vol, Some(NOBODY), Some(NOBODY)).unwrap();
    let out = common::run(
        Command::new(runsc_for_nobody())
            .arg("do")
            .arg("--root")
            .arg(&rootfs)
            .arg("-v")
            .arg(format!("{}:/w", vol.display()))
            .args(["sh", "-c", "id -u; ls -ln /bin/busybox; echo x > /w/f; exit 4"])
            .uid(NOBODY)
            .gid(NOBODY),
    );
    assert_eq!(out.code, 4, "{out:?}");
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("0"), "{out:?}");
    // busybox belongs to host root, which the namespace does not map.
    let owner: Vec<&str> = lines.next().unwrap().split_whitespace().skip(2).take(2).collect();
    assert_eq!(owner, ["65534", "65534"], "{out:?}");
    let meta = std::fs::metadata(vol.join("f")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY));
}
