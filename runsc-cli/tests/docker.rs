//! docker with rvisor as a runtime: the test starts its own dockerd
//! (`--add-runtime rvisor=PATH`, its own data root, exec root and socket,
//! no bridge or iptables), imports a local busybox rootfs, and checks
//! `docker run --runtime rvisor --rm`, a detached container with
//! `docker exec`, `docker stop` and `docker rm`. Skipped (with a message)
//! when docker.io is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod tools;

use common::run;
use std::path::PathBuf;
use std::process::Command;
use tools::{Daemon, Scratch};

/// The docker CLI of Debian's docker.io (another `docker` may be first in PATH).
const DOCKER: &str = "/usr/bin/docker";
const DOCKERD: &str = "/usr/sbin/dockerd";

struct Docker {
    // Field order: the daemon stops before the scratch dir goes.
    _daemon: Daemon,
    sock: PathBuf,
    log: PathBuf,
    scratch: Scratch,
}

impl Docker {
    fn new(test: &str) -> Option<Docker> {
        if !tools::tools(test, &[DOCKER, DOCKERD, "/usr/bin/containerd", tools::BUSYBOX]) {
            return None;
        }
        // Short paths: unix socket paths are limited to 108 bytes.
        let scratch = Scratch::new("dk");
        let dir = scratch.path().to_path_buf();
        let log = dir.join("runtime.log");
        let runtime = tools::logging_runtime(&dir, &log);
        let sock = dir.join("d.sock");
        let daemon = Daemon::start(
            "dockerd",
            Command::new(DOCKERD)
                .arg("--data-root")
                .arg(dir.join("data"))
                .arg("--exec-root")
                .arg(dir.join("x"))
                .arg("--pidfile")
                .arg(dir.join("d.pid"))
                .arg("-H")
                .arg(format!("unix://{}", sock.display()))
                .args([
                    "--bridge",
                    "none",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--ip-masq=false",
                ])
                .args(["--storage-driver", "vfs", "--containerd-namespace", "rvisor-test"])
                .args(["--containerd-plugins-namespace", "rvisor-test-plugins"])
                .arg("--add-runtime")
                .arg(format!("rvisor={}", runtime.display())),
            &dir.join("dockerd.log"),
            &sock,
        );
        let d = Docker {
            _daemon: daemon,
            sock,
            log,
            scratch,
        };
        // The socket exists a moment before the API answers.
        assert!(
            tools::eventually(|| run(d.cmd().arg("version")).code == 0),
            "dockerd does not answer"
        );
        let tar = tools::tarball(&tools::busybox_rootfs(&dir));
        let out = run(d
            .cmd()
            .args(["import", "-c", "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
            .arg(&tar)
            .arg("rvisor-busybox:latest"));
        assert_eq!(out.code, 0, "docker import: {out:?}");
        Some(d)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(DOCKER);
        c.arg("-H").arg(format!("unix://{}", self.sock.display()));
        c
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let out = run(self.cmd().args(["ps", "-aq"]));
        for id in out.stdout.split_whitespace() {
            let _ = run(self.cmd().args(["rm", "-f", id]));
        }
    }
}

#[test]
fn docker_run_exec_stop_rm() {
    let Some(d) = Docker::new("docker") else { return };
    let _ = &d.scratch;

    let out = run(d.cmd().args([
        "run",
        "--runtime",
        "rvisor",
        "--network",
        "none",
        "--rm",
        "rvisor-busybox",
        "cat",
        "/etc/os-release",
    ]));
    assert_eq!(out.code, 0, "{out:?}\ncalls:\n{}", d.calls());
    assert!(out.stdout.contains("PRETTY_NAME=\"rvisor busybox test\""), "{out:?}");
    // containerd's shim drove runsc with runc's global flags.
    let calls = d.calls();
    assert!(calls.contains("--log-format json create --bundle"), "{calls}");

    let out = run(d.cmd().args([
        "run",
        "--runtime",
        "rvisor",
        "--network",
        "none",
        "--rm",
        "rvisor-busybox",
        "sh",
        "-c",
        "exit 9",
    ]));
    assert_eq!(out.code, 9, "{out:?}");

    let out = run(d.cmd().args([
        "run",
        "-d",
        "--runtime",
        "rvisor",
        "--network",
        "none",
        "--name",
        "rvisor-d",
        "rvisor-busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(d
        .cmd()
        .args(["inspect", "--format", "{{.State.Pid}} {{.State.Status}}", "rvisor-d"]));
    let (pid, status) = out.stdout.trim().split_once(' ').unwrap();
    let pid: i32 = pid.parse().unwrap();
    assert_eq!(status, "running", "{out:?}");

    let out = run(d.cmd().args([
        "exec",
        "-e",
        "Y=7",
        "-w",
        "/tmp",
        "rvisor-d",
        "sh",
        "-c",
        "echo exec $Y $(pwd); exit 5",
    ]));
    assert_eq!(out.code, 5, "{out:?}\ncalls:\n{}", d.calls());
    assert_eq!(out.stdout, "exec 7 /tmp\n", "{out:?}");
    // A detached exec runs in the background of the same sandbox.
    let out = run(d
        .cmd()
        .args(["exec", "-d", "rvisor-d", "sh", "-c", "echo bg > /tmp/bg"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(tools::eventually(|| run(d
        .cmd()
        .args(["exec", "rvisor-d", "cat", "/tmp/bg"]))
    .stdout
        == "bg\n"));

    // docker top lists the sandbox's host processes (runsc ps --format
    // json gives host pids, which dockerd finds in the host's `ps`).
    let out = run(d.cmd().args(["top", "rvisor-d"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("runsc-sandbox"), "{out:?}");
    assert!(out.stdout.lines().count() >= 3, "{out:?}");

    // docker update reaches runsc update through the shim, which writes
    // the new limit into the container's cgroup.
    let out = run(d
        .cmd()
        .args(["update", "--memory", "100m", "--memory-swap", "200m", "rvisor-d"]));
    assert_eq!(out.code, 0, "{out:?}\ncalls:\n{}", d.calls());
    assert!(d.calls().contains(" update --resources - "), "{}", d.calls());

    let out = run(d.cmd().args(["stop", "-t", "20", "rvisor-d"]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(d.cmd().args([
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        "rvisor-d",
    ]));
    assert_eq!(out.stdout.trim(), "exited 0", "{out:?}");
    let out = run(d.cmd().args(["logs", "rvisor-d"]));
    assert_eq!(out.stdout, "up\n", "{out:?}");
    let out = run(d.cmd().args(["rm", "rvisor-d"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(tools::eventually(|| tools::gone(pid)), "sandbox {pid} left behind");
}

/// `docker run -it` and `docker exec -it` on a terminal (tmux), through
/// containerd's shim and its console socket.
#[test]
fn docker_run_and_exec_interactive_under_tmux() {
    let Some(d) = Docker::new("docker_tty") else { return };
    if tools::tool("docker_tty", &["/usr/bin/tmux"]).is_none() {
        return;
    }
    let docker = |args: &str| format!("{DOCKER} -H unix://{} {args}", d.sock.display());
    let out = run(Command::new("sh").arg("-c").arg(docker(
        "run -d --runtime rvisor --network none --name rvisor-tty rvisor-busybox sleep 1000",
    )));
    assert_eq!(out.code, 0, "{out:?}");
    tools::interactive_shell_session(
        "docker-run",
        &docker("run -it --rm --runtime rvisor --network none rvisor-busybox sh"),
        true,
    );
    tools::interactive_shell_session("docker-exec", &docker("exec -it rvisor-tty sh"), false);
}
