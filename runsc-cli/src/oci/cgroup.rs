//! Cgroups for a sandbox (`linux.cgroupsPath`, `linux.resources`): the
//! sentry and the gofer are put in the container's cgroup before the sentry
//! boots, so every stub (the guest's address spaces) is charged there too.
//!
//! cgroup v2 (unified) and v1 (the `memory`, `pids`, `cpu` and `freezer`
//! hierarchies; hybrid hosts) are handled. Decision: `cgroupsPath`,
//! absolute or relative, is created *under the cgroup runsc itself runs
//! in*, as if in a cgroup namespace, so a runtime started inside a
//! delegated or nested cgroup never moves a sandbox out of it. A
//! systemd-style `slice:prefix:name` becomes `slice/prefix-name.scope`.

use super::OciError;
use oci_spec::runtime::LinuxResources;
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
/// The v1 hierarchies rvisor uses (`cpuacct` for the CPU time `runsc events` reports).
const V1: [&str; 5] = ["memory", "pids", "cpu", "cpuacct", "freezer"];

/// The cgroup directories of one sandbox (one on v2, one per controller on v1).
#[derive(Debug, Default)]
pub struct Cgroup {
    /// The directories, created by us.
    pub dirs: Vec<PathBuf>,
}

/// The relative path a `cgroupsPath` names (without leading `/`).
fn relative(path: Option<&str>, id: &str) -> Result<PathBuf, OciError> {
    let p = match path {
        None | Some("") => format!("rvisor/{id}"),
        Some(p) if p.contains(':') && !p.starts_with('/') => {
            let mut parts = p.splitn(3, ':');
            let (slice, prefix, name) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            format!("{slice}/{prefix}-{name}.scope")
        }
        Some(p) => p.to_string(),
    };
    let rel = PathBuf::from(p.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(OciError::Usage(format!(
            "linux.cgroupsPath {p:?}: must not contain '..'"
        )));
    }
    Ok(rel)
}

/// The cgroup of this process in hierarchy `controller` (v1) or the
/// unified one (`None`), from /proc/self/cgroup.
fn own_cgroup(controller: Option<&str>) -> PathBuf {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or_default(), f.next().unwrap_or("/"));
        let hit = match controller {
            None => ctrls.is_empty(),
            Some(c) => ctrls.split(',').any(|x| x == c),
        };
        if hit {
            return PathBuf::from(path.trim_start_matches('/'));
        }
    }
    PathBuf::new()
}

/// Whether the host has the unified hierarchy mounted at /sys/fs/cgroup.
fn unified() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

/// Whether this process may make cgroups under its own (rootless mode
/// uses cgroups only then, as runc does): its cgroup directory is
/// writable in the unified hierarchy, or in every v1 one rvisor uses.
pub fn writable() -> bool {
    let ok = |dir: PathBuf| nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_ok();
    if unified() {
        return ok(Path::new(ROOT).join(own_cgroup(None)));
    }
    let present: Vec<&str> = V1
        .iter()
        .copied()
        .filter(|c| Path::new(ROOT).join(c).join("cgroup.procs").exists())
        .collect();
    !present.is_empty()
        && present
            .iter()
            .all(|c| ok(Path::new(ROOT).join(c).join(own_cgroup(Some(c)))))
}

/// Creates the sandbox's cgroup and writes its limits. Errors only if
/// limits were asked for and cannot be set; otherwise a cgroup that
/// cannot be made is logged and skipped.
pub fn create(path: Option<&str>, id: &str, resources: Option<&LinuxResources>) -> Result<Cgroup, OciError> {
    let rel = relative(path, id)?;
    let limits = limits(resources);
    let mut cg = Cgroup::default();
    let targets: Vec<(Option<&str>, PathBuf)> = if unified() {
        vec![(None, Path::new(ROOT).join(own_cgroup(None)).join(&rel))]
    } else {
        V1.iter()
            .filter(|c| Path::new(ROOT).join(c).join("cgroup.procs").exists())
            .map(|c| (Some(*c), Path::new(ROOT).join(c).join(own_cgroup(Some(c))).join(&rel)))
            .collect()
    };
    for (controller, dir) in targets {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            if limits.is_empty() {
                tracing::warn!("cgroup {}: {e} (continuing without it)", dir.display());
                continue;
            }
            cg.remove();
            return Err(OciError::Usage(format!("cgroup {}: {e}", dir.display())));
        }
        cg.dirs.push(dir.clone());
        if let Err(e) = write_limits(&dir, controller, &limits) {
            cg.remove();
            return Err(e);
        }
    }
    Ok(cg)
}

/// Writes the limits that belong in `dir`, a v2 cgroup (`controller`
/// `None`) or one of v1 controller `controller`.
fn write_limits(dir: &Path, controller: Option<&str>, limits: &[Limit]) -> Result<(), OciError> {
    for (ctrl, v1_file, v1_value, v2_file, v2_value) in limits {
        let (file, value) = match controller {
            None if v2_file.is_empty() => continue,
            None => (v2_file, v2_value),
            Some(c) if c == *ctrl => (v1_file, v1_value),
            Some(_) => continue,
        };
        if controller.is_none() {
            // Delegate the controller to children of the parent first.
            if let Some(parent) = dir.parent() {
                let _ = std::fs::write(parent.join("cgroup.subtree_control"), format!("+{ctrl}"));
            }
        }
        std::fs::write(dir.join(file), value)
            .map_err(|e| OciError::Usage(format!("cgroup {}/{file} = {value}: {e}", dir.display())))?;
    }
    Ok(())
}

/// `runsc update`: writes new limits into a container's existing cgroup
/// directories (as recorded in its state). Only the limits given change.
pub fn update(dirs: &[PathBuf], resources: &LinuxResources) -> Result<(), OciError> {
    let limits = limits(Some(resources));
    for dir in dirs {
        // A v1 directory is /sys/fs/cgroup/<controller>/...; v2 has none.
        let controller = dir
            .strip_prefix(ROOT)
            .ok()
            .and_then(|rel| rel.components().next())
            .and_then(|c| c.as_os_str().to_str())
            .filter(|c| V1.contains(c));
        write_limits(dir, controller, &limits)?;
    }
    Ok(())
}

/// One limit: the controller, then the v1 file and value, then the v2 ones.
type Limit = (&'static str, &'static str, String, &'static str, String);

/// The limits asked for.
fn limits(resources: Option<&LinuxResources>) -> Vec<Limit> {
    let mut out = Vec::new();
    let Some(r) = resources else { return out };
    if let Some(limit) = r.memory().as_ref().and_then(|m| m.limit()).filter(|l| *l > 0) {
        out.push((
            "memory",
            "memory.limit_in_bytes",
            limit.to_string(),
            "memory.max",
            limit.to_string(),
        ));
    }
    if let Some(p) = r.pids().as_ref().filter(|p| p.limit() > 0) {
        out.push((
            "pids",
            "pids.max",
            p.limit().to_string(),
            "pids.max",
            p.limit().to_string(),
        ));
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s > 0) {
            // cgroup v2's weight from v1 shares (the conversion runc uses).
            let weight = 1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142;
            out.push((
                "cpu",
                "cpu.shares",
                shares.to_string(),
                "cpu.weight",
                weight.to_string(),
            ));
        }
        if let Some(quota) = c.quota().filter(|q| *q > 0) {
            let period = c.period().unwrap_or(100_000);
            out.push((
                "cpu",
                "cpu.cfs_quota_us",
                quota.to_string(),
                "cpu.max",
                format!("{quota} {period}"),
            ));
            if c.period().is_some() {
                out.insert(
                    out.len() - 1,
                    ("cpu", "cpu.cfs_period_us", period.to_string(), "", String::new()),
                );
            }
        }
    }
    out
}

impl Cgroup {
    /// Moves host process `pid` into every directory.
    pub fn add(&self, pid: i32) -> Result<(), OciError> {
        for dir in &self.dirs {
            std::fs::write(dir.join("cgroup.procs"), pid.to_string())
                .map_err(|e| OciError::Usage(format!("cgroup {}: adding pid {pid}: {e}", dir.display())))?;
        }
        Ok(())
    }

    /// Removes the directories (they must be empty of processes).
    pub fn remove(&self) {
        remove_dirs(self.dirs.iter().map(|d| d.as_path()));
    }
}

/// Removes cgroup directories, retrying briefly while the kernel finishes
/// tearing down exited processes.
pub fn remove_dirs<'a>(dirs: impl Iterator<Item = &'a Path>) {
    for dir in dirs {
        for _ in 0..100 {
            match std::fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_paths_are_relative_and_checked() {
        assert_eq!(relative(None, "c1").ok(), Some(PathBuf::from("rvisor/c1")));
        assert_eq!(relative(Some("/a/b"), "c").ok(), Some(PathBuf::from("a/b")));
        assert_eq!(relative(Some("a/b"), "c").ok(), Some(PathBuf::from("a/b")));
        assert_eq!(
            relative(Some("system.slice:docker:abc"), "c").ok(),
            Some(PathBuf::from("system.slice/docker-abc.scope"))
        );
        assert!(relative(Some("/a/../../etc"), "c").is_err());
    }
}
