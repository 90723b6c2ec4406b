//! `config.json` (the OCI runtime spec of a bundle) to the sentry's
//! [`BootConfig`].
//!
//! Everything the sentry cannot honour is refused here with a message
//! naming the field, before any process is started.

use super::OciError;
use oci_spec::runtime::{Mount, PosixRlimitType, Spec};
use sentry::boot::{BootConfig, MountKind, MountSpec};
use std::path::{Path, PathBuf};

/// The largest `config.json` accepted.
const MAX_CONFIG: u64 = 16 << 20;

/// What `create` needs from a bundle.
#[derive(Debug)]
pub struct Prepared {
    /// The sentry's configuration.
    pub config: BootConfig,
    /// The root filesystem on the host (canonical).
    pub rootfs: PathBuf,
    /// `process.terminal`.
    pub terminal: bool,
    /// `annotations`, for the state.
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// Reads and parses `BUNDLE/config.json`.
pub fn load(bundle: &Path) -> Result<Spec, OciError> {
    use std::io::Read;
    let path = bundle.join("config.json");
    let err = |reason: String| OciError::Config {
        path: path.clone(),
        reason,
    };
    let file = std::fs::File::open(&path).map_err(|e| err(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG)
        .read_to_end(&mut bytes)
        .map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| err(format!("malformed: {e}")))
}

/// Converts a parsed spec. `bundle` anchors the relative `root.path` and
/// bind sources; `host_hostname` is used when the spec sets none.
pub fn prepare(spec: &Spec, bundle: &Path, host_hostname: &str) -> Result<Prepared, OciError> {
    let cfg_err = |reason: String| OciError::Config {
        path: bundle.join("config.json"),
        reason,
    };
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| cfg_err("process is missing".into()))?;
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(cfg_err("process.args must not be empty".into()));
    }
    let cwd = process.cwd().to_str().unwrap_or_default().to_string();
    if !cwd.starts_with('/') {
        return Err(cfg_err(format!("process.cwd {cwd:?} is not an absolute path")));
    }
    let env = process.env().clone().unwrap_or_default();
    let user = process.user();
    let mut rlimits = Vec::new();
    for r in process.rlimits().iter().flatten() {
        if r.soft() > r.hard() {
            return Err(cfg_err(format!("rlimit {:?}: soft limit above hard limit", r.typ())));
        }
        rlimits.push((rlimit_number(r.typ()), r.soft(), r.hard()));
    }
    let capabilities = super::caps::from_spec(process.capabilities().as_ref())
        .map_err(|e| cfg_err(format!("process.capabilities: {e}")))?;

    let root = spec.root().as_ref().ok_or_else(|| cfg_err("root is missing".into()))?;
    let root_path = bundle.join(root.path());
    let rootfs = std::fs::canonicalize(&root_path)
        .map_err(|e| OciError::Usage(format!("root.path {}: {e}", root_path.display())))?;
    if !rootfs.is_dir() {
        return Err(OciError::Usage(format!(
            "root.path {}: not a directory",
            root_path.display()
        )));
    }

    let mut mounts = Vec::new();
    for m in spec.mounts().iter().flatten() {
        mounts.push(mount_spec(m, bundle)?);
    }
    if let Some(linux) = spec.linux() {
        for ns in linux.namespaces().iter().flatten() {
            // The sentry is its own kernel: every namespace kind is
            // private to the sandbox already. Joining a host namespace
            // by path is accepted and has no effect on the guest.
            tracing::debug!(kind = ?ns.typ(), path = ?ns.path(), "namespace");
        }
    }

    let program = resolve_program(&args[0], &env, &rootfs, &mounts);
    let mut argv = args.clone();
    argv[0] = program;
    let hostname = spec
        .hostname()
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| host_hostname.to_string());
    let config = BootConfig {
        argv,
        env,
        cwd,
        hostname,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask().unwrap_or(0o022) & 0o777,
        strace: false,
        rlimits,
        overlay: true,
        root_readonly: root.readonly().unwrap_or(false),
        mounts,
        masked_paths: spec
            .linux()
            .as_ref()
            .and_then(|l| l.masked_paths().clone())
            .unwrap_or_default(),
        readonly_paths: spec
            .linux()
            .as_ref()
            .and_then(|l| l.readonly_paths().clone())
            .unwrap_or_default(),
        capabilities,
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        network: Default::default(),
        netns: Default::default(),
    };
    Ok(Prepared {
        config,
        rootfs,
        terminal: process.terminal().unwrap_or(false),
        annotations: spec.annotations().clone().unwrap_or_default().into_iter().collect(),
    })
}

/// One OCI mount. The type decides the kind, except that a `bind` or
/// `rbind` option makes any mount a bind mount (as runc does).
fn mount_spec(m: &Mount, bundle: &Path) -> Result<MountSpec, OciError> {
    let destination = m.destination().to_str().unwrap_or_default().to_string();
    let bad = |reason: String| OciError::Usage(format!("mount {destination}: {reason}"));
    if !destination.starts_with('/') {
        return Err(bad("destination is not an absolute path".into()));
    }
    let options = m.options().clone().unwrap_or_default();
    let typ = m.typ().clone().unwrap_or_default();
    let is_bind = typ == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    let kind = if is_bind {
        let source = m
            .source()
            .as_ref()
            .ok_or_else(|| bad("bind mount without source".into()))?;
        let source = bundle.join(source);
        if std::fs::symlink_metadata(&source).is_err() {
            return Err(bad(format!("source {}: no such file or directory", source.display())));
        }
        let source = source
            .to_str()
            .ok_or_else(|| bad("source is not UTF-8".into()))?
            .to_string();
        MountKind::Bind { source }
    } else {
        match typ.as_str() {
            "tmpfs" => MountKind::Tmpfs,
            "proc" => MountKind::Proc,
            "sysfs" => MountKind::Sysfs,
            "devpts" => MountKind::Devpts,
            "mqueue" => MountKind::Mqueue,
            "cgroup" | "cgroup2" => MountKind::Cgroup,
            "" => return Err(bad("no type and no bind option".into())),
            other => return Err(bad(format!("unsupported filesystem type {other:?}"))),
        }
    };
    Ok(MountSpec {
        destination,
        kind,
        options,
    })
}

/// Resolves a program name without `/` along the `PATH` of `env`, looking
/// at the host paths behind the sandbox's root and bind mounts. Unfound
/// names are left alone: the sentry then reports them.
pub fn resolve_program(name: &str, env: &[String], rootfs: &Path, mounts: &[MountSpec]) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        let inside = format!("{}/{name}", dir.trim_end_matches('/'));
        if let Some(host) = host_path(&inside, rootfs, mounts) {
            use std::os::unix::fs::PermissionsExt;
            if std::fs::metadata(&host).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
                return inside;
            }
        }
    }
    name.to_string()
}

/// The host path behind a sandbox path: the bind mount with the longest
/// matching destination, else the rootfs.
fn host_path(inside: &str, rootfs: &Path, mounts: &[MountSpec]) -> Option<PathBuf> {
    let mut best: Option<(usize, PathBuf)> = None;
    for m in mounts {
        let MountKind::Bind { source } = &m.kind else {
            continue;
        };
        let dest = m.destination.trim_end_matches('/');
        let rest = match inside.strip_prefix(dest) {
            Some(r) if r.is_empty() || r.starts_with('/') => r,
            _ => continue,
        };
        if best.as_ref().is_none_or(|(len, _)| dest.len() >= *len) {
            best = Some((dest.len(), Path::new(source).join(rest.trim_start_matches('/'))));
        }
    }
    match best {
        Some((_, p)) => Some(p),
        None => Some(rootfs.join(inside.trim_start_matches('/'))),
    }
}

/// The Linux resource number of an OCI rlimit type.
fn rlimit_number(typ: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    match typ {
        RlimitCpu => 0,
        RlimitFsize => 1,
        RlimitData => 2,
        RlimitStack => 3,
        RlimitCore => 4,
        RlimitRss => 5,
        RlimitNproc => 6,
        RlimitNofile => 7,
        RlimitMemlock => 8,
        RlimitAs => 9,
        RlimitLocks => 10,
        RlimitSigpending => 11,
        RlimitMsgqueue => 12,
        RlimitNice => 13,
        RlimitRtprio => 14,
        RlimitRttime => 15,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bundle(tag: &str, json: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("runsc-spec-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("rootfs/bin")).unwrap();
        std::fs::write(dir.join("config.json"), json).unwrap();
        dir
    }

    const GOOD: &str = r#"{
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6], "umask": 63},
            "args": ["sh", "-c", "echo hi"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/tmp",
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"]},
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "box",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup"},
            {"destination": "/data", "type": "none", "source": "/tmp", "options": ["rbind", "ro"]},
            {"destination": "/bin", "type": "bind", "source": "/bin"}
        ],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": "/proc/1/ns/net"}]}
    }"#;

    #[test]
    fn a_full_config_converts() {
        let dir = bundle("good", GOOD);
        let spec = load(&dir).unwrap();
        let p = prepare(&spec, &dir, "host").unwrap();
        let c = &p.config;
        // sh is found through the bind mount of the host's /bin.
        assert_eq!(c.argv, ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(c.env, ["PATH=/usr/bin:/bin", "TERM=xterm"]);
        assert_eq!((c.cwd.as_str(), c.hostname.as_str()), ("/tmp", "box"));
        assert_eq!((c.uid, c.gid, c.umask), (1000, 100, 0o77));
        assert_eq!(c.additional_gids, [5, 6]);
        assert_eq!(c.rlimits, [(7, 512, 1024)]);
        let caps = c.capabilities.unwrap();
        assert_eq!((caps.bounding.0, caps.permitted.0, caps.inheritable.0), (0x21, 0x20, 0));
        assert!(c.no_new_privileges);
        assert!(c.root_readonly && !p.terminal);
        assert_eq!(p.rootfs, std::fs::canonicalize(dir.join("rootfs")).unwrap());
        let kinds: Vec<_> = c
            .mounts
            .iter()
            .map(|m| (m.destination.as_str(), m.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("/proc", MountKind::Proc),
                ("/dev", MountKind::Tmpfs),
                ("/sys/fs/cgroup", MountKind::Cgroup),
                ("/data", MountKind::Bind { source: "/tmp".into() }),
                ("/bin", MountKind::Bind { source: "/bin".into() }),
            ]
        );
        assert_eq!(c.mounts[1].options, ["nosuid", "mode=755"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn prepare_err(tag: &str, json: &str) -> String {
        let dir = bundle(tag, json);
        let out = load(&dir).and_then(|s| prepare(&s, &dir, "h"));
        std::fs::remove_dir_all(&dir).unwrap();
        out.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn malformed_configs_are_clear_errors() {
        let e = prepare_err("json", "{\"ociVersion\": ");
        assert!(e.contains("config.json: malformed: EOF while parsing"), "{e}");
        let e = prepare_err("noproc", r#"{"ociVersion": "1.0.2", "root": {"path": "rootfs"}}"#);
        assert!(e.ends_with("config.json: process is missing"), "{e}");
        let e = prepare_err(
            "noargs",
            r#"{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": []}, "root": {"path": "rootfs"}}"#,
        );
        assert!(e.ends_with("process.args must not be empty"), "{e}");
        let e = prepare_err(
            "badroot",
            r#"{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"]}, "root": {"path": "nosuch"}}"#,
        );
        assert!(e.starts_with("root.path ") && e.contains("No such file"), "{e}");
        let e = prepare_err(
            "badmount",
            r#"{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"]},
                "root": {"path": "rootfs"}, "mounts": [{"destination": "/x", "type": "ext4", "source": "/dev/sda"}]}"#,
        );
        assert_eq!(e, "mount /x: unsupported filesystem type \"ext4\"");
        let e = prepare_err(
            "badrlimit",
            r#"{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"],
                "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]}, "root": {"path": "rootfs"}}"#,
        );
        assert!(e.contains("malformed: unknown variant `RLIMIT_BOGUS`"), "{e}");
        let e = prepare_err(
            "badcap",
            r#"{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"],
                "capabilities": {"bounding": ["CAP_FLY"]}}, "root": {"path": "rootfs"}}"#,
        );
        assert!(e.contains("malformed: no variant for CAP_FLY"), "{e}");
        let e = prepare_err(
            "nobindsrc",
            r#"{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": ["x"]},
                "root": {"path": "rootfs"}, "mounts": [{"destination": "/x", "type": "bind", "source": "/no/such/dir"}]}"#,
        );
        assert_eq!(e, "mount /x: source /no/such/dir: no such file or directory");
    }

    #[test]
    fn missing_config_names_the_file() {
        let dir = std::env::temp_dir().join(format!("runsc-spec-none-{}", std::process::id()));
        let e = load(&dir).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("config.json: No such file"), "{e}");
    }
}
