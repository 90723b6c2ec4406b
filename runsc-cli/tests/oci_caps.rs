//! End-to-end tests of OCI `process.capabilities`, `noNewPrivileges` and
//! `runsc exec --cap`: the sets the guest sees in /proc/self/status and
//! whether a capability-gated syscall (mount) works. Bundles run over the
//! host's root, read-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TempDir, RUNSC};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Docker's default capability set (no CAP_SYS_ADMIN).
const DOCKER_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];
/// Its mask.
const DOCKER_MASK: &str = "00000000a80425fb";
/// Every capability (CAP_LAST_CAP 40).
const FULL_MASK: &str = "000001ffffffffff";
/// Prints the capability lines, then tries a mount that needs CAP_SYS_ADMIN.
const PROBE: &str = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status; busybox mount -t tmpfs none /mnt; echo mount=$?";

struct Bundle {
    dir: TempDir,
    state: PathBuf,
}

impl Bundle {
    /// A bundle running `args` as root with `process` fields merged in.
    fn new(tag: &str, args: &[&str], extra: serde_json::Value) -> Bundle {
        let dir = TempDir::new(&format!("oci-caps-{tag}"));
        let mut process = serde_json::json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/bin:/bin:/usr/sbin:/sbin"],
            "cwd": "/"
        });
        for (k, v) in extra.as_object().unwrap() {
            process[k] = v.clone();
        }
        let config = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": process,
            "root": {"path": "/", "readonly": true},
            "hostname": "capbox",
            "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        });
        std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
        let state = dir.0.join("state");
        Bundle { dir, state }
    }

    fn runsc(&self, args: &[&str]) -> common::Out {
        common::runsc_with_state(&self.dir.0, &self.state, args)
    }

    fn ok(&self, args: &[&str]) -> common::Out {
        let out = self.runsc(args);
        assert_eq!(out.code, 0, "runsc {args:?}: {out:?}");
        out
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

/// The value of `Field:` in the probe's output.
fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {out:?}"))
}

fn docker_caps() -> serde_json::Value {
    serde_json::json!({
        "capabilities": {
            "bounding": DOCKER_CAPS,
            "effective": DOCKER_CAPS,
            "permitted": DOCKER_CAPS
        }
    })
}

#[test]
fn docker_default_caps_apply_to_root() {
    let b = Bundle::new("docker", &["sh", "-c", PROBE], docker_caps());
    let out = b.ok(&["run", "c1"]);
    let s = &out.stdout;
    for (name, want) in [
        ("CapInh", "0000000000000000"),
        ("CapPrm", DOCKER_MASK),
        ("CapEff", DOCKER_MASK),
        ("CapBnd", DOCKER_MASK),
        ("CapAmb", "0000000000000000"),
        ("NoNewPrivs", "0"),
    ] {
        assert_eq!(field(s, name), want, "{name}: {out:?}");
    }
    // uid 0 without CAP_SYS_ADMIN cannot mount.
    assert!(s.contains("mount=") && !s.contains("mount=0"), "{out:?}");

    // Without a capabilities section root holds every capability and can.
    let b = Bundle::new("default", &["sh", "-c", PROBE], serde_json::json!({}));
    let out = b.ok(&["run", "c2"]);
    assert_eq!(field(&out.stdout, "CapEff"), FULL_MASK, "{out:?}");
    assert_eq!(field(&out.stdout, "CapBnd"), FULL_MASK, "{out:?}");
    assert!(out.stdout.contains("mount=0"), "{out:?}");
}

#[test]
fn no_new_privileges_is_set() {
    let mut extra = docker_caps();
    extra["noNewPrivileges"] = serde_json::json!(true);
    let b = Bundle::new("nnp", &["sh", "-c", PROBE], extra);
    let out = b.ok(&["run", "c1"]);
    assert_eq!(field(&out.stdout, "NoNewPrivs"), "1", "{out:?}");
    assert_eq!(field(&out.stdout, "CapEff"), DOCKER_MASK, "{out:?}");
}

#[test]
fn exec_cap_adds_a_capability() {
    let b = Bundle::new("exec", &["sleep", "100"], docker_caps());
    b.ok(&["create", "e1"]);
    b.ok(&["start", "e1"]);
    // By default an exec'd process gets the container's sets.
    let out = b.ok(&["exec", "e1", "sh", "-c", PROBE]);
    assert_eq!(field(&out.stdout, "CapEff"), DOCKER_MASK, "{out:?}");
    assert!(
        out.stdout.contains("mount=") && !out.stdout.contains("mount=0"),
        "{out:?}"
    );
    // --cap CAP_SYS_ADMIN adds it (bounding, permitted, effective).
    let out = b.ok(&["exec", "--cap", "CAP_SYS_ADMIN", "e1", "sh", "-c", PROBE]);
    assert_eq!(field(&out.stdout, "CapEff"), "00000000a82425fb", "{out:?}");
    assert_eq!(field(&out.stdout, "CapBnd"), "00000000a82425fb", "{out:?}");
    assert!(out.stdout.contains("mount=0"), "{out:?}");
    // --no-new-privs, and an unknown capability is a clear error.
    let out = b.ok(&[
        "exec",
        "--no-new-privs",
        "e1",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    assert_eq!(field(&out.stdout, "NoNewPrivs"), "1", "{out:?}");
    let out = b.runsc(&["exec", "--cap", "CAP_FLY", "e1", "true"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("unknown capability \"CAP_FLY\""), "{out:?}");
    b.ok(&["kill", "e1", "KILL"]);
}
