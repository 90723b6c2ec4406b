//! The state directory: `--root/<id>/state.json` (written atomically) and
//! `control.sock`, plus the liveness checks that guard against pid reuse.

use super::OciError;
use crate::error::CliError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The OCI state of a container (`runsc state` prints this) with runc's
/// extra fields that tools read (`rootfs`, `created`, `owner`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    /// The OCI runtime spec version.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// The sandbox's pid (the sentry), 0 when not running.
    pub pid: i32,
    /// creating, created, running, paused or stopped.
    pub status: String,
    /// Absolute path of the bundle.
    pub bundle: String,
    /// Absolute path of the root filesystem.
    pub rootfs: String,
    /// Creation time, RFC 3339 in UTC.
    pub created: String,
    /// The user that created the container.
    pub owner: String,
    /// The spec's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What `state.json` holds: the OCI state and the host processes behind it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// The OCI state (its `status` is the last one recorded, not authoritative).
    #[serde(flatten)]
    pub oci: OciState,
    /// Host processes of the sandbox.
    #[serde(default)]
    pub sandbox: SandboxPids,
}

/// The host processes of a sandbox, with their start times (clock ticks
/// since boot, `/proc/PID/stat` field 22) so a reused pid is never killed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPids {
    /// The sentry.
    pub sentry_pid: i32,
    /// Its start time.
    pub sentry_start: u64,
    /// The gofer.
    pub gofer_pid: i32,
    /// Its start time.
    pub gofer_start: u64,
    /// The cgroup directories the sandbox was put in (removed by delete).
    #[serde(default)]
    pub cgroups: Vec<String>,
}

/// The state root: `--root`, else `/run/rvisor` for root and
/// `$XDG_RUNTIME_DIR/rvisor` for other users.
pub fn root_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if !nix::unistd::geteuid().is_root() {
        if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("rvisor");
        }
    }
    PathBuf::from("/run/rvisor")
}

/// The state directory of container `id`.
pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Creates the state directory of a new container (mode 0700), failing if
/// it exists.
pub fn create_dir(root: &Path, id: &str) -> Result<PathBuf, CliError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(|e| CliError::io(format!("creating {}", root.display()), e))?;
    let path = dir(root, id);
    match std::fs::DirBuilder::new().mode(0o700).create(&path) {
        Ok(()) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(OciError::Exists(id.to_string()).into()),
        Err(e) => Err(CliError::io(format!("creating {}", path.display()), e)),
    }
}

/// Writes `state.json` atomically: a temp file in the same directory,
/// fsync'ed, renamed over the old one.
pub fn write(state_dir: &Path, state: &StateFile) -> Result<(), CliError> {
    let json = serde_json::to_vec_pretty(state)?;
    let tmp = state_dir.join(format!(".state.json.{}", std::process::id()));
    let path = state_dir.join("state.json");
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::io(format!("writing {}", path.display()), e)
    })
}

/// Reads the state of container `id`; a missing directory is
/// [`OciError::NotFound`].
pub fn read(root: &Path, id: &str) -> Result<StateFile, CliError> {
    super::id::validate(id)?;
    let path = dir(root, id).join("state.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(OciError::NotFound(id.to_string()).into()),
        Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        OciError::Config {
            path,
            reason: format!("malformed: {e}"),
        }
        .into()
    })
}

/// Every container id under `root` (directories holding a state.json), sorted.
pub fn list(root: &Path) -> Result<Vec<String>, CliError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::io(format!("reading {}", root.display()), e)),
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("state.json").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|id| super::id::validate(id).is_ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// A process's start time and state letter from `/proc/PID/stat`.
pub fn proc_stat(pid: i32) -> Option<(u64, char)> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 overall is the 20th after the name (state is field 3).
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

/// Whether `pid` is still the process that started at `start` and has not
/// exited (zombies count as gone).
pub fn alive(pid: i32, start: u64) -> bool {
    matches!(proc_stat(pid), Some((s, st)) if s == start && st != 'Z' && st != 'X')
}

/// The current time in RFC 3339 (UTC, nanoseconds), as runc writes `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), now.subsec_nanos())
}

fn rfc3339(secs: u64, nanos: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The name of the calling user (its uid as a number if it has none).
pub fn owner() -> String {
    let uid = nix::unistd::geteuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(rfc3339(1_700_000_000, 123), "2023-11-14T22:13:20.000000123Z");
    }

    #[test]
    fn state_file_round_trips_and_prints_oci_names() {
        let root = std::env::temp_dir().join(format!("runsc-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = create_dir(&root, "c1").unwrap();
        assert!(matches!(
            create_dir(&root, "c1"),
            Err(CliError::Oci(OciError::Exists(_)))
        ));
        let mut s = StateFile::default();
        s.oci.id = "c1".into();
        s.oci.oci_version = "1.0.2".into();
        s.oci.status = "created".into();
        s.sandbox.sentry_pid = 42;
        write(&dir, &s).unwrap();
        assert_eq!(read(&root, "c1").unwrap(), s);
        let json = std::fs::read_to_string(dir.join("state.json")).unwrap();
        assert!(json.contains("\"ociVersion\": \"1.0.2\""), "{json}");
        assert_eq!(list(&root).unwrap(), ["c1"]);
        assert!(matches!(read(&root, "c2"), Err(CliError::Oci(OciError::NotFound(_)))));
        assert!(read(&root, "../x").is_err());
        // No temp file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn liveness_uses_the_start_time() {
        let me = std::process::id() as i32;
        let (start, state) = proc_stat(me).unwrap();
        assert_ne!(state, 'Z');
        assert!(alive(me, start));
        assert!(!alive(me, start + 1));
        assert!(!alive(0, 0));
    }
}
