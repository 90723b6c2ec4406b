//! End-to-end tests of the OCI commands: bundles in temp dirs (root "/"
//! read-only), driven through `runsc --root TMP create/start/state/kill/
//! delete/run/list`, checking statuses, exit codes, and that nothing
//! (process or state directory) is left behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TempDir, RUNSC};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A bundle whose config.json runs `args` over the host's root, read-only.
struct Bundle {
    dir: TempDir,
    state: PathBuf,
}

impl Bundle {
    fn new(tag: &str, args: &[&str]) -> Bundle {
        let dir = TempDir::new(&format!("oci-{tag}"));
        let config = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": ["PATH=/usr/bin:/bin", "FOO=bar"],
                "cwd": "/"
            },
            "root": {"path": "/", "readonly": true},
            "hostname": "ocibox",
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]}
        });
        Self::with_config(dir, &config.to_string())
    }

    fn with_config(dir: TempDir, config: &str) -> Bundle {
        std::fs::write(dir.0.join("config.json"), config).unwrap();
        let state = dir.0.join("state");
        Bundle { dir, state }
    }

    /// Runs `runsc --root STATE ARGS` in the bundle directory.
    fn runsc(&self, args: &[&str]) -> common::Out {
        common::runsc_with_state(&self.dir.0, &self.state, args)
    }

    fn ok(&self, args: &[&str]) -> common::Out {
        let out = self.runsc(args);
        assert_eq!(out.code, 0, "runsc {args:?}: {out:?}");
        out
    }

    fn state(&self, id: &str) -> serde_json::Value {
        let out = self.ok(&["state", id]);
        serde_json::from_str(&out.stdout).unwrap()
    }

    fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    fn wait_status(&self, id: &str, want: &str) {
        let start = Instant::now();
        while self.status(id) != want {
            assert!(start.elapsed() < Duration::from_secs(30), "{id} never became {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bundle {
    /// A failed test must not leave sandboxes running.
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

/// True while `pid` is a live (non-zombie) process.
fn process_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let after = &stat[stat.rfind(')').unwrap() + 1..];
            !after.trim_start().starts_with('Z')
        }
        Err(_) => false,
    }
}

fn wait_gone(pid: i64) {
    let start = Instant::now();
    while process_alive(pid) {
        assert!(start.elapsed() < Duration::from_secs(10), "pid {pid} still alive");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn nothing_left(b: &Bundle, id: &str) {
    assert!(!b.state.join(id).exists(), "state dir of {id} left behind");
}

#[test]
fn lifecycle_statuses_kill_and_delete() {
    // (Not `sh -c '...; exec sleep'`: a SIGKILL that lands during the
    // init's execve is lost by the sentry today, a known bug.)
    let b = Bundle::new("life", &["sleep", "100"]);
    let pid_file = b.dir.0.join("pid");
    b.ok(&[
        "create",
        "--bundle",
        ".",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "c1",
    ]);
    let st = b.state("c1");
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], "c1");
    assert_eq!(st["ociVersion"], "1.0.2");
    assert_eq!(st["rootfs"], "/");
    assert_eq!(st["bundle"], b.dir.0.canonicalize().unwrap().to_str().unwrap());
    assert!(st["created"].as_str().unwrap().ends_with('Z'));
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0 && process_alive(pid));
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    // The control socket is private to the owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(b.state.join("c1/control.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Created but not started: the init has not run a single instruction.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(b.status("c1"), "created");

    // A second create with the same id fails and leaves the first alone.
    let dup = b.runsc(&["create", "c1"]);
    assert_eq!(dup.code, 125, "{dup:?}");
    assert!(dup.stderr.contains("already exists"), "{dup:?}");
    assert_eq!(b.status("c1"), "created");

    b.ok(&["start", "c1"]);
    assert_eq!(b.status("c1"), "running");
    let again = b.runsc(&["start", "c1"]);
    assert_eq!(again.code, 125, "{again:?}");
    // Running: delete without --force refuses.
    let del = b.runsc(&["delete", "c1"]);
    assert_eq!(del.code, 125, "{del:?}");
    assert!(del.stderr.contains("running"), "{del:?}");

    b.ok(&["kill", "c1", "KILL"]);
    b.wait_status("c1", "stopped");
    assert_eq!(b.state("c1")["pid"], 0);
    wait_gone(pid);
    let k = b.runsc(&["kill", "c1", "9"]);
    assert_eq!(k.code, 125, "{k:?}");
    b.ok(&["delete", "c1"]);
    nothing_left(&b, "c1");
    let gone = b.runsc(&["state", "c1"]);
    assert_eq!(gone.code, 125);
    assert!(gone.stderr.contains("does not exist"), "{gone:?}");
}

#[test]
fn run_exits_with_the_init_status_and_cleans_up() {
    let b = Bundle::new("run", &["sh", "-c", "echo hi; exit 3"]);
    let out = b.runsc(&["run", "r1"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "hi\n");
    nothing_left(&b, "r1");
    // An init killed by SIGTERM from outside (runsc kill): 128+15, as
    // conmon and shims expect from the OCI pid.
    let b = Bundle::new("run-sig", &["sleep", "100"]);
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(&b.state)
        .args(["run", "r2"])
        .current_dir(&b.dir.0)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while b.runsc(&["state", "r2"]).stdout.find("running").is_none() {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    b.ok(&["kill", "r2", "TERM"]);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    nothing_left(&b, "r2");
}

#[test]
fn created_container_killed_with_term_stops_without_running() {
    let b = Bundle::new("created-kill", &["sh", "-c", "echo SHOULD-NOT-RUN"]);
    b.ok(&["create", "k1"]);
    let pid = b.state("k1")["pid"].as_i64().unwrap();
    b.ok(&["kill", "k1"]);
    b.wait_status("k1", "stopped");
    wait_gone(pid);
    b.ok(&["delete", "k1"]);
    nothing_left(&b, "k1");
    let out = std::fs::read_dir(&b.dir.0)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("out-"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<String>();
    assert!(!out.contains("SHOULD-NOT-RUN"), "{out}");
}

#[test]
fn detached_run_list_and_forced_delete() {
    let b = Bundle::new("detach", &["sleep", "100"]);
    b.ok(&["run", "--detach", "d1"]);
    b.ok(&["create", "d2"]);
    assert_eq!(b.status("d1"), "running");
    let list = b.ok(&["list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let statuses: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().into(), s["status"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        statuses,
        [("d1".into(), "running".into()), ("d2".into(), "created".into())]
    );
    assert_eq!(b.ok(&["list", "-q"]).stdout, "d1\nd2\n");
    let table = b.ok(&["list"]).stdout;
    assert!(
        table.starts_with("ID ") && table.contains("d1") && table.contains("running"),
        "{table}"
    );

    let p1 = b.state("d1")["pid"].as_i64().unwrap();
    let p2 = b.state("d2")["pid"].as_i64().unwrap();
    b.ok(&["delete", "--force", "d1"]);
    // A created container can be deleted without --force (its init never ran).
    b.ok(&["delete", "d2"]);
    assert!(!process_alive(p1) && !process_alive(p2));
    nothing_left(&b, "d1");
    nothing_left(&b, "d2");
    assert_eq!(b.ok(&["list", "-q"]).stdout, "");
    // --force on a container that does not exist is not an error.
    b.ok(&["delete", "--force", "nosuch"]);
    assert_eq!(b.runsc(&["delete", "nosuch"]).code, 125);
}

/// A failing create prints exactly one line and leaves nothing behind.
fn create_fails(b: &Bundle, id: &str, code: i32, needle: &str) {
    let out = b.runsc(&["create", id]);
    assert_eq!(out.code, code, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains(needle), "{out:?}");
    nothing_left(b, id);
}

#[test]
fn failed_creates_are_one_clear_error_and_leave_nothing() {
    let b = Bundle::with_config(
        TempDir::new("oci-bad-json"),
        "{\"ociVersion\": \"1.0.2\", \"process\": ",
    );
    create_fails(&b, "x1", 125, "config.json: malformed: EOF while parsing");

    let base = |root: &str, args: serde_json::Value, mounts: serde_json::Value| {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"user": {"uid": 0, "gid": 0}, "args": args, "cwd": "/", "env": ["PATH=/bin:/usr/bin"]},
            "root": {"path": root, "readonly": true},
            "mounts": mounts
        })
        .to_string()
    };
    let b = Bundle::with_config(
        TempDir::new("oci-bad-root"),
        &base("no/such/rootfs", serde_json::json!(["true"]), serde_json::json!([])),
    );
    create_fails(&b, "x2", 125, "root.path");
    let b = Bundle::with_config(
        TempDir::new("oci-bad-mount"),
        &base(
            "/",
            serde_json::json!(["true"]),
            serde_json::json!([{"destination": "/mnt", "type": "ext4", "source": "/dev/sda1"}]),
        ),
    );
    create_fails(&b, "x3", 125, "mount /mnt: unsupported filesystem type \"ext4\"");
    // The sandbox starts but the program does not exist: the sentry's own
    // message, its exit status, and the sandbox and state dir are gone.
    let b = Bundle::with_config(
        TempDir::new("oci-bad-prog"),
        &base("/", serde_json::json!(["/no/such/program"]), serde_json::json!([])),
    );
    create_fails(&b, "x4", 127, "/no/such/program");
    assert!(!Path::new(&b.state).join("x4").exists());
}

#[test]
fn container_ids_are_validated() {
    let b = Bundle::new("ids", &["true"]);
    for id in ["../x", "a/b", "..", ".", "a b"] {
        let out = b.runsc(&["create", id]);
        assert_eq!(out.code, 125, "{id}: {out:?}");
        assert!(out.stderr.contains("invalid container id"), "{out:?}");
        let st = b.runsc(&["state", id]);
        assert_eq!(st.code, 125, "{id}: {st:?}");
    }
    assert!(!b.state.exists() || std::fs::read_dir(&b.state).unwrap().count() == 0);
}

#[test]
fn spec_features_and_version() {
    let b = Bundle::new("spec", &["true"]);
    let dir = TempDir::new("oci-spec");
    b.ok(&["spec", "--bundle", dir.0.to_str().unwrap()]);
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(spec["root"]["path"], "rootfs");
    // Refuses to overwrite.
    assert_eq!(b.runsc(&["spec", "--bundle", dir.0.to_str().unwrap()]).code, 125);
    let f: serde_json::Value = serde_json::from_str(&b.ok(&["features"]).stdout).unwrap();
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert!(b.ok(&["--version"]).stdout.contains("spec: 1."));
}

#[test]
fn exec_runs_processes_in_a_running_container() {
    let b = Bundle::new("exec", &["sleep", "100"]);
    // Not running yet: exec is refused.
    b.ok(&["create", "e1"]);
    let early = b.runsc(&["exec", "e1", "true"]);
    assert_eq!(early.code, 125, "{early:?}");
    b.ok(&["start", "e1"]);
    // The container's env, plus --env; --cwd; the exit status comes back.
    let out = b.runsc(&[
        "exec",
        "--cwd",
        "/tmp",
        "--env",
        "X=42",
        "e1",
        "sh",
        "-c",
        "echo $(pwd) $FOO $X $(id -u); exit 5",
    ]);
    assert_eq!(out.code, 5, "{out:?}");
    assert_eq!(out.stdout, "/tmp bar 42 0\n");
    let out = b.ok(&["exec", "--user", "1000:100", "e1", "sh", "-c", "echo $(id -u):$(id -g)"]);
    assert_eq!(out.stdout, "1000:100\n");
    // The exec'd process lives in the sandbox's PID namespace, next to the init.
    let out = b.ok(&["exec", "e1", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"]);
    assert!(out.stdout.trim().ends_with("bin/sleep 100"), "{out:?}");
    // A missing program: the shell's 127 and one message.
    let out = b.runsc(&["exec", "e1", "no-such-program"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert!(out.stderr.contains("no-such-program"), "{out:?}");
    // --detach: a host process waits for it; its pid is in --pid-file.
    let pid_file = b.dir.0.join("exec.pid");
    b.ok(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "e1",
        "sleep",
        "1",
    ]);
    let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(process_alive(pid));
    wait_gone(pid);
    // Signals to the attached runsc reach the process.
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(&b.state)
        .args(["exec", "e1", "sh", "-c", "trap 'exit 7' TERM; sleep 30 & wait"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(7));
    // ps lists sandbox pids: the init (1) and the trap shell's orphaned
    // `sleep 30`, which outlives its parent as on Linux.
    let table = b.ok(&["ps", "e1"]).stdout;
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].trim_start().starts_with("1 "), "{table}");
    assert!(table.contains("sleep"), "{table}");
    // The JSON form is runc's: host pids (docker top looks them up in the
    // host's process table), the sentry's among them, all live.
    let ps: serde_json::Value = serde_json::from_str(&b.ok(&["ps", "--format", "json", "e1"]).stdout).unwrap();
    let pids = ps.as_array().unwrap();
    assert!(pids.contains(&b.state("e1")["pid"]), "{ps}");
    assert!(pids.len() >= 2, "{ps}");
    for pid in pids {
        assert!(process_alive(pid.as_i64().unwrap()), "{ps}");
    }
    b.ok(&["kill", "e1", "SIGKILL"]);
    b.wait_status("e1", "stopped");
    b.ok(&["delete", "e1"]);
    nothing_left(&b, "e1");
}

/// The way SDKs that wrap runsc drive it: a bundle whose root is an empty,
/// read-only directory with the host's /usr, /lib, /lib64 and /bin
/// bind-mounted read-only and a writable tmpfs, `run --bundle --detach`,
/// then `exec --cwd --env`, then `kill ID SIGKILL` and `delete --force`.
#[test]
fn sdk_style_run_detach_exec_kill_delete_with_host_bind_mounts() {
    let dir = TempDir::new("oci-sdk");
    let rootfs = dir.0.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    let mut mounts = vec![
        serde_json::json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        serde_json::json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["size=16m"]}),
    ];
    for host in ["/usr", "/lib", "/lib64", "/bin"] {
        if Path::new(host).exists() {
            mounts.push(serde_json::json!({
                "destination": host, "type": "bind", "source": host,
                "options": ["rbind", "ro", "nosuid", "nodev"]
            }));
        }
    }
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sleep", "1000"],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "sdkbox",
        "mounts": mounts,
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}
    });
    let b = Bundle::with_config(dir, &config.to_string());
    let bundle = b.dir.0.to_str().unwrap().to_string();
    b.ok(&["run", "--bundle", &bundle, "--detach", "sdk1"]);
    assert_eq!(b.status("sdk1"), "running");
    let out = b.ok(&[
        "exec",
        "--cwd",
        "/tmp",
        "--env",
        "GREETING=hello",
        "sdk1",
        "sh",
        "-c",
        "echo $GREETING from $(pwd); echo data > f; cat f; touch /usr/x 2>/dev/null || echo ro-usr; \
         touch /newfile 2>/dev/null || echo ro-root; ls /bin/sh",
    ]);
    assert_eq!(
        out.stdout, "hello from /tmp\ndata\nro-usr\nro-root\n/bin/sh\n",
        "{out:?}"
    );
    let pid = b.state("sdk1")["pid"].as_i64().unwrap();
    b.ok(&["kill", "sdk1", "SIGKILL"]);
    wait_gone(pid);
    b.ok(&["delete", "--force", "sdk1"]);
    nothing_left(&b, "sdk1");
    // Nothing was created in the read-only root on the host.
    assert_eq!(std::fs::read_dir(&rootfs).unwrap().count(), 0);
}

/// `pause` freezes every process (its output stops growing and `state`
/// says paused), `resume` lets it go on, and a paused container can still
/// be killed.
#[test]
fn pause_freezes_and_resume_thaws() {
    let b = Bundle::new("pause", &["sh", "-c", "while true; do echo tick; sleep 0.02; done"]);
    let out_path = b.dir.0.join("ticks");
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(&b.state)
        .args(["run", "--detach", "p1"])
        .current_dir(&b.dir.0)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let ticks = || std::fs::read_to_string(&out_path).unwrap().lines().count();
    let start = Instant::now();
    while ticks() < 3 {
        assert!(start.elapsed() < Duration::from_secs(30), "no output");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(b.runsc(&["resume", "p1"]).code, 125, "resume of a running container");
    b.ok(&["pause", "p1"]);
    assert_eq!(b.status("p1"), "paused");
    std::thread::sleep(Duration::from_millis(100));
    let frozen = ticks();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ticks(), frozen, "output grew while paused");
    assert_eq!(b.runsc(&["pause", "p1"]).code, 125, "pause of a paused container");
    b.ok(&["resume", "p1"]);
    assert_eq!(b.status("p1"), "running");
    let start = Instant::now();
    while ticks() < frozen + 3 {
        assert!(start.elapsed() < Duration::from_secs(30), "no output after resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    b.ok(&["pause", "p1"]);
    let pid = b.state("p1")["pid"].as_i64().unwrap();
    b.ok(&["kill", "p1", "KILL"]);
    wait_gone(pid);
    b.ok(&["delete", "--force", "p1"]);
    nothing_left(&b, "p1");
}

/// `linux.maskedPaths` hide files (/dev/null over them) and directories
/// (an empty read-only tmpfs); `linux.readonlyPaths` refuse writes; paths
/// that do not exist are skipped.
#[test]
fn masked_and_readonly_paths() {
    let dir = TempDir::new("oci-mask");
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c",
                "wc -c < /etc/passwd; ls /usr/share/doc | wc -l; touch /usr/share/doc/x 2>/dev/null || echo masked-ro; \
                 touch /var/tmp/rvisor-ro 2>/dev/null || echo ro; touch /opt/rvisor-rw && echo rw"],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "/", "readonly": false},
        "linux": {
            "maskedPaths": ["/etc/passwd", "/usr/share/doc", "/no/such/path"],
            "readonlyPaths": ["/var/tmp", "/no/such/dir"]
        }
    });
    let b = Bundle::with_config(dir, &config.to_string());
    let out = b.ok(&["run", "masked"]);
    assert_eq!(out.stdout, "0\n0\nmasked-ro\nro\nrw\n", "{out:?}");
    nothing_left(&b, "masked");
}

/// `--preserve-fds N`: the caller's fds 3 .. 3+N-1 are the init's fds 3, ...
/// (socket activation, podman `--preserve-fds`); a closed one is refused.
#[test]
fn preserved_fds_reach_the_init() {
    let b = Bundle::new(
        "preserve",
        &["sh", "-c", "read line <&3; echo \"got $line\" >&4; echo out"],
    );
    std::fs::write(b.dir.0.join("in"), "from fd 3\n").unwrap();
    let script = format!(
        "exec '{RUNSC}' --root '{}' run --preserve-fds 2 p1 3<in 4>written",
        b.state.display()
    );
    let out = common::run(Command::new("sh").arg("-c").arg(&script).current_dir(&b.dir.0));
    assert_eq!((out.code, out.stdout.as_str()), (0, "out\n"), "{out:?}");
    let written = std::fs::read_to_string(b.dir.0.join("written")).unwrap();
    assert_eq!(written, "got from fd 3\n");
    nothing_left(&b, "p1");

    let script = format!(
        "exec '{RUNSC}' --root '{}' run --preserve-fds 2 p2 3<in 4<&-",
        b.state.display()
    );
    let out = common::run(Command::new("sh").arg("-c").arg(&script).current_dir(&b.dir.0));
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("fd 4 is not open"), "{out:?}");
    nothing_left(&b, "p2");

    // exec --preserve-fds: the same for a process started in a running
    // container.
    let b = Bundle::new("preserve-exec", &["sleep", "100"]);
    std::fs::write(b.dir.0.join("in"), "exec fd 3\n").unwrap();
    b.ok(&["run", "--detach", "p3"]);
    let script = format!(
        "exec '{RUNSC}' --root '{}' exec --preserve-fds 1 p3 sh -c 'read l <&3; echo \"got $l\"' 3<in",
        b.state.display()
    );
    let out = common::run(Command::new("sh").arg("-c").arg(&script).current_dir(&b.dir.0));
    assert_eq!((out.code, out.stdout.as_str()), (0, "got exec fd 3\n"), "{out:?}");
    b.ok(&["delete", "--force", "p3"]);
    nothing_left(&b, "p3");
}
