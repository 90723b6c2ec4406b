//! podman with rvisor as its OCI runtime (`podman --runtime PATH`): an
//! image imported from a local busybox rootfs, `run --rm` with an exit
//! status, `run -d` + `exec` + `stop` + `rm`, and `run -it` on a pty.
//! Each test has its own podman storage under a temp dir; nothing is
//! pulled. Skipped (with a message) when podman is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod tools;

use common::run;
use std::path::{Path, PathBuf};
use std::process::Command;
use tools::Scratch;

/// podman needs these here: the tests run without CAP_SYS_RESOURCE, and
/// podman's defaults raise the limits above the current hard ones.
const ULIMITS: [&str; 4] = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"];

struct Podman {
    scratch: Scratch,
    runtime: PathBuf,
    log: PathBuf,
}

impl Podman {
    fn new(test: &str) -> Option<Podman> {
        if !tools::tools(test, &["/usr/bin/podman", "/usr/bin/conmon", tools::BUSYBOX]) {
            return None;
        }
        let scratch = Scratch::new(&format!("podman-{test}"));
        let log = scratch.path().join("runtime.log");
        let runtime = tools::logging_runtime(scratch.path(), &log);
        let p = Podman { scratch, runtime, log };
        let rootfs = tools::busybox_rootfs(p.scratch.path());
        let tar = tools::tarball(&rootfs);
        let out = run(p
            .cmd()
            .args(["import", "--change", "ENV=PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
            .arg(&tar)
            .arg("rvisor-busybox:latest"));
        assert_eq!(out.code, 0, "podman import: {out:?}");
        Some(p)
    }

    /// `podman` with this test's storage, cgroupfs and runsc as the runtime.
    fn cmd(&self) -> Command {
        let dir = self.scratch.path();
        let mut c = Command::new("/usr/bin/podman");
        c.arg("--root")
            .arg(dir.join("storage"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .arg("--tmpdir")
            .arg(dir.join("tmp"))
            .arg("--runtime")
            .arg(&self.runtime);
        c
    }

    fn run_args(&self) -> Command {
        let mut c = self.cmd();
        c.args(["run", "--network", "none"]).args(ULIMITS);
        c
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = run(self.cmd().args(["rm", "--all", "--force", "--time", "0"]));
    }
}

#[test]
fn podman_run_rm_prints_and_exits_with_the_status() {
    let Some(p) = Podman::new("run_rm") else { return };
    let out = run(p
        .run_args()
        .args(["--rm", "rvisor-busybox", "sh", "-c", "echo hi; exit 3"]));
    assert_eq!(out.code, 3, "{out:?}\ncalls:\n{}", p.calls());
    assert_eq!(out.stdout, "hi\n", "{out:?}");
    // podman drove the runc command line: create, start, delete.
    let calls = p.calls();
    assert!(calls.contains("create --bundle"), "{calls}");
    assert!(calls.contains("start "), "{calls}");
    assert!(calls.contains("delete"), "{calls}");

    // The container sees the image's files, podman's environment and hostname.
    let out = run(p.run_args().args([
        "--rm",
        "--hostname",
        "podbox",
        "-e",
        "GREETING=hello",
        "rvisor-busybox",
        "sh",
        "-c",
        "cat /etc/os-release; echo $GREETING; hostname; id -u",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("rvisor busybox test"), "{out:?}");
    assert!(out.stdout.contains("hello\npodbox\n0\n"), "{out:?}");

    // A program that does not exist: podman's 127.
    let out = run(p.run_args().args(["--rm", "rvisor-busybox", "/no/such/program"]));
    assert_eq!(out.code, 127, "{out:?}");
}

#[test]
fn podman_detached_exec_stop_rm() {
    let Some(p) = Podman::new("detached") else { return };
    let out = run(p.run_args().args([
        "-d",
        "--name",
        "rvisor-detached",
        "rvisor-busybox",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(p.cmd().args([
        "inspect",
        "--format",
        "{{.State.Pid}} {{.State.Status}}",
        "rvisor-detached",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    let mut fields = out.stdout.split_whitespace();
    let pid: i32 = fields.next().unwrap().parse().unwrap();
    assert_eq!(fields.next(), Some("running"), "{out:?}");
    assert!(pid > 0 && !tools::gone(pid));

    let out = run(p.cmd().args([
        "exec",
        "-e",
        "X=42",
        "-w",
        "/tmp",
        "rvisor-detached",
        "sh",
        "-c",
        "echo in exec $X $(pwd); exit 4",
    ]));
    assert_eq!(out.code, 4, "{out:?}\ncalls:\n{}", p.calls());
    assert_eq!(out.stdout, "in exec 42 /tmp\n", "{out:?}");
    // The exec'd shell sees the init (pid 1) in the same sandbox.
    let out = run(p.cmd().args([
        "exec",
        "rvisor-detached",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("sh -c trap"), "{out:?}");

    let out = run(p.cmd().args(["stop", "--time", "20", "rvisor-detached"]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(p.cmd().args([
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "rvisor-detached",
    ]));
    // The trap ran: SIGTERM reached the init, which exited 0.
    assert_eq!(out.stdout.trim(), "exited 0", "{out:?}");
    let out = run(p.cmd().args(["logs", "rvisor-detached"]));
    assert_eq!(out.stdout, "started\ngot TERM\n", "{out:?}");
    let out = run(p.cmd().args(["rm", "rvisor-detached"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        tools::eventually(|| tools::gone(pid)),
        "the sandbox {pid} is still there"
    );
    let calls = p.calls();
    assert!(calls.contains("exec "), "{calls}");
    assert!(calls.contains("kill "), "{calls}");
}

#[test]
fn podman_stop_kills_a_container_ignoring_sigterm() {
    let Some(p) = Podman::new("stop_kill") else { return };
    let out = run(p.run_args().args([
        "-d",
        "--name",
        "rvisor-stubborn",
        "rvisor-busybox",
        "sh",
        "-c",
        "trap '' TERM; while true; do sleep 0.1; done",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(p
        .cmd()
        .args(["inspect", "--format", "{{.State.Pid}} {{.Id}}", "rvisor-stubborn"]));
    let (pid, id) = out.stdout.trim().split_once(' ').unwrap();
    let pid: i32 = pid.parse().unwrap();
    // podman passes no --root: runsc keeps the state in /run/rvisor.
    let state = Path::new("/run/rvisor").join(id);
    assert!(state.join("state.json").exists(), "{}", state.display());
    let out = run(p.cmd().args(["stop", "--time", "1", "rvisor-stubborn"]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(p
        .cmd()
        .args(["inspect", "--format", "{{.State.ExitCode}}", "rvisor-stubborn"]));
    assert_eq!(out.stdout.trim(), "137", "{out:?}");
    let out = run(p.cmd().args(["rm", "rvisor-stubborn"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(tools::eventually(|| tools::gone(pid)));
    assert!(!state.exists(), "{} left behind", state.display());
}

/// `podman run -it` and `podman exec -it` on a terminal (tmux): the shell
/// is interactive on a pty (job control on), reads what is typed, sees the
/// terminal's size, and ^C interrupts the foreground job, not the shell.
#[test]
fn podman_run_and_exec_interactive_under_tmux() {
    let Some(p) = Podman::new("tty") else { return };
    if tools::tool("podman_tty", &["/usr/bin/tmux"]).is_none() {
        return;
    }
    let podman = |args: &str| {
        let c = p.cmd();
        let mut line: Vec<String> = vec![c.get_program().to_string_lossy().into_owned()];
        line.extend(c.get_args().map(|a| a.to_string_lossy().into_owned()));
        format!("{} {args}", line.join(" "))
    };
    let ulimits = ULIMITS.join(" ");
    for (tag, prepare, command) in [
        (
            "run",
            None,
            format!("run -it --rm --network none {ulimits} rvisor-busybox sh"),
        ),
        (
            "exec",
            Some(format!(
                "run -d --name rvisor-tty --network none {ulimits} rvisor-busybox sleep 1000"
            )),
            "exec -it rvisor-tty sh".to_string(),
        ),
    ] {
        if let Some(prepare) = prepare {
            let out = run(Command::new("sh").arg("-c").arg(podman(&prepare)));
            assert_eq!(out.code, 0, "{out:?}");
        }
        tools::interactive_shell_session(tag, &podman(&command), tag == "run");
    }
}

#[test]
fn podman_host_network_reaches_a_host_server() {
    let Some(p) = Podman::new("hostnet") else { return };
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).unwrap();
        c.write_all(b"host says hi\n").unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    // runsc's own --network=host (passed by podman on every call) with
    // podman's host network: the container's TCP socket is a host socket.
    let out = run(p
        .cmd()
        .args(["--runtime-flag", "network=host", "run", "--network", "host"])
        .args(ULIMITS)
        .args(["--rm", "rvisor-busybox", "sh", "-c"])
        .arg(format!("echo from-podman | busybox nc 127.0.0.1 {port}")));
    assert_eq!(out.code, 0, "{out:?}\ncalls:\n{}", p.calls());
    assert_eq!(out.stdout, "host says hi\n", "{out:?}");
    assert_eq!(server.join().unwrap(), "from-podman\n");
    assert!(p.calls().contains("--network=host"), "{}", p.calls());
}
