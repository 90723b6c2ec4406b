//! containerd's runc shim (`io.containerd.runc.v2`) with runsc as its runc
//! binary: the test starts its own containerd (own socket, root and state)
//! and uses `ctr run --runc-binary` over a local busybox rootfs
//! (`--rootfs`, so no image is needed). Skipped (with a message) when
//! containerd is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod tools;

use common::run;
use std::path::PathBuf;
use std::process::Command;
use tools::{Daemon, Scratch};

struct Containerd {
    _daemon: Daemon,
    sock: PathBuf,
    runtime: PathBuf,
    log: PathBuf,
    rootfs: PathBuf,
    _scratch: Scratch,
}

impl Containerd {
    fn new(test: &str) -> Option<Containerd> {
        if !tools::tools(test, &["/usr/bin/containerd", "/usr/bin/ctr", tools::BUSYBOX]) {
            return None;
        }
        let scratch = Scratch::new("ctrd");
        let dir = scratch.path().to_path_buf();
        let log = dir.join("runtime.log");
        let runtime = tools::logging_runtime(&dir, &log);
        let sock = dir.join("c.sock");
        // A config of its own so that the host's /etc/containerd is not read.
        let config = dir.join("config.toml");
        std::fs::write(&config, "version = 2\n").unwrap();
        let daemon = Daemon::start(
            "containerd",
            Command::new("/usr/bin/containerd")
                .arg("--config")
                .arg(&config)
                .arg("-a")
                .arg(&sock)
                .arg("--root")
                .arg(dir.join("root"))
                .arg("--state")
                .arg(dir.join("state")),
            &dir.join("containerd.log"),
            &sock,
        );
        let rootfs = tools::busybox_rootfs(&dir);
        Some(Containerd {
            _daemon: daemon,
            sock,
            runtime,
            log,
            rootfs,
            _scratch: scratch,
        })
    }

    fn ctr(&self) -> Command {
        let mut c = Command::new("/usr/bin/ctr");
        c.arg("-a").arg(&self.sock);
        c
    }

    /// `ctr run` of busybox with runsc as the shim's runc.
    fn ctr_run(&self, extra: &[&str], id: &str, args: &[&str]) -> common::Out {
        run(self
            .ctr()
            .arg("run")
            .args(["--runtime", "io.containerd.runc.v2", "--runc-binary"])
            .arg(&self.runtime)
            .args(extra)
            .arg("--rootfs")
            .arg(&self.rootfs)
            .arg(id)
            .args(args))
    }
}

#[test]
fn ctr_run_with_the_runc_shim() {
    let Some(c) = Containerd::new("ctr_run") else { return };
    let out = c.ctr_run(
        &["--rm"],
        "rvisor-ctr1",
        &["sh", "-c", "echo hi from ctr; cat /etc/os-release; exit 6"],
    );
    assert_eq!(
        out.code,
        6,
        "{out:?}\ncalls:\n{}",
        std::fs::read_to_string(&c.log).unwrap_or_default()
    );
    assert!(
        out.stdout
            .starts_with("hi from ctr\nPRETTY_NAME=\"rvisor busybox test\""),
        "{out:?}"
    );
    let calls = std::fs::read_to_string(&c.log).unwrap();
    assert!(calls.contains("--log-format json create --bundle"), "{calls}");

    // Detached, then exec, kill and delete through ctr.
    let out = c.ctr_run(&["-d"], "rvisor-ctr2", &["sh", "-c", "while true; do sleep 0.1; done"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(c.ctr().args([
        "task",
        "exec",
        "--exec-id",
        "e1",
        "rvisor-ctr2",
        "sh",
        "-c",
        "echo exec ok; exit 2",
    ]));
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "exec ok\n", "{out:?}");
    let out = run(c.ctr().args(["task", "ls"]));
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("rvisor-ctr2") && l.contains("RUNNING")),
        "{out:?}"
    );
    let pid: i32 = out
        .stdout
        .lines()
        .find(|l| l.starts_with("rvisor-ctr2"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    let out = run(c.ctr().args(["task", "kill", "-s", "SIGKILL", "rvisor-ctr2"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(tools::eventually(|| run(c.ctr().args(["task", "ls"]))
        .stdout
        .contains("STOPPED")));
    let out = run(c.ctr().args(["task", "delete", "rvisor-ctr2"]));
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(c.ctr().args(["container", "delete", "rvisor-ctr2"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(tools::eventually(|| tools::gone(pid)), "sandbox {pid} left behind");
}
