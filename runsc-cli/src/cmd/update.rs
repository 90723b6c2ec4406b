//! `runsc update ID`: changes the cgroup limits of a running container
//! (docker update, containerd's shim `Update`, a Kubernetes resize), from
//! an OCI `linux.resources` document (`--resources FILE`, `-` for stdin)
//! and/or runc's flags, which win over the document.

use crate::error::CliError;
use crate::oci::{self, cgroup, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources};
use std::io::Read;
use std::path::PathBuf;

/// Arguments of `runsc update` (runc's, for the controllers rvisor sets).
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A JSON `linux.resources` document; `-` reads it from stdin.
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// Memory limit in bytes (suffixes k, m, g).
    #[arg(long, value_name = "BYTES")]
    pub memory: Option<String>,
    /// Maximum number of tasks.
    #[arg(long, value_name = "N")]
    pub pids_limit: Option<i64>,
    /// CPU CFS quota in microseconds per period.
    #[arg(long, value_name = "US")]
    pub cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds.
    #[arg(long, value_name = "US")]
    pub cpu_period: Option<u64>,
    /// CPU shares (relative weight).
    #[arg(long, value_name = "N")]
    pub cpu_share: Option<u64>,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc update`.
pub fn run(global: &GlobalFlags, args: UpdateArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, _) = oci::current(&root, &args.id)?;
    if !matches!(st.oci.status.as_str(), "created" | "running" | "paused") {
        return Err(OciError::WrongState {
            id: args.id.clone(),
            status: st.oci.status,
            what: "only a live container can be updated",
        }
        .into());
    }
    let resources = resources(&args)?;
    let dirs: Vec<PathBuf> = st.sandbox.cgroups.iter().map(PathBuf::from).collect();
    if dirs.is_empty() {
        return Err(OciError::Usage(format!("container {} has no cgroup to update", args.id)).into());
    }
    cgroup::update(&dirs, &resources)?;
    Ok(0)
}

/// The document, with the flags applied over it.
fn resources(args: &UpdateArgs) -> Result<LinuxResources, CliError> {
    let mut r: LinuxResources = match &args.resources {
        None => LinuxResources::default(),
        Some(path) => {
            let mut text = String::new();
            if path.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| CliError::io("reading resources from stdin", e))?;
            } else {
                text = std::fs::read_to_string(path).map_err(|e| CliError::io(path.display().to_string(), e))?;
            }
            serde_json::from_str(&text).map_err(|e| OciError::Usage(format!("--resources: {e}")))?
        }
    };
    let usage = |e: oci_spec::OciSpecError| OciError::Usage(e.to_string());
    if let Some(memory) = &args.memory {
        let limit = parse_bytes(memory).ok_or_else(|| OciError::Usage(format!("--memory {memory:?}: not a size")))?;
        // Only the limit of the memory controller is applied by rvisor.
        r.set_memory(Some(LinuxMemoryBuilder::default().limit(limit).build().map_err(usage)?));
    }
    if let Some(limit) = args.pids_limit {
        r.set_pids(Some(LinuxPidsBuilder::default().limit(limit).build().map_err(usage)?));
    }
    if args.cpu_quota.is_some() || args.cpu_period.is_some() || args.cpu_share.is_some() {
        let mut cpu = r
            .cpu()
            .clone()
            .unwrap_or_else(|| LinuxCpuBuilder::default().build().unwrap_or_default());
        if let Some(q) = args.cpu_quota {
            cpu.set_quota(Some(q));
        }
        if let Some(p) = args.cpu_period {
            cpu.set_period(Some(p));
        }
        if let Some(s) = args.cpu_share {
            cpu.set_shares(Some(s));
        }
        r.set_cpu(Some(cpu));
    }
    Ok(r)
}

/// `512`, `64k`, `100m`, `2g` (runc's units, powers of 1024).
fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: i64 = digits.parse().ok()?;
    let shift = match unit.to_ascii_lowercase().trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_runc() {
        assert_eq!(parse_bytes("512"), Some(512));
        assert_eq!(parse_bytes("64k"), Some(64 << 10));
        assert_eq!(parse_bytes("100M"), Some(100 << 20));
        assert_eq!(parse_bytes("2gb"), Some(2 << 30));
        assert_eq!(parse_bytes("x"), None);
        assert_eq!(parse_bytes("5t"), None);
    }
}
