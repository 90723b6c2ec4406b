//! `runsc ps ID`: the container's processes. The table shows them as the
//! sentry sees them (sandbox pids and commands). `--format json` prints
//! host pids, as runc does, because its callers (containerd's shim for
//! `docker top`) look them up in the host's process table: the processes
//! of the container's cgroup (sentry, gofer, stubs), or the sentry and the
//! gofer without one. Sandbox pids there would name unrelated host
//! processes.

use super::list::ListFormat;
use crate::error::CliError;
use crate::oci::{self, control, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use sentry::control::protocol::{Request, Response};

/// Arguments of `runsc ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output format (`json`: an array of pids, as runc prints).
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc ps`.
pub fn run(global: &GlobalFlags, args: PsArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = oci::current(&root, &args.id)?;
    let processes = match control::request(&dir, &Request::Ps, None) {
        Ok(Response::Processes { processes }) => processes,
        Ok(other) => {
            return Err(OciError::Sandbox {
                id: args.id,
                message: format!("unexpected reply {other:?}"),
            }
            .into())
        }
        Err(e) => {
            return Err(OciError::Sandbox {
                id: args.id,
                message: e.to_string(),
            }
            .into())
        }
    };
    match args.format {
        ListFormat::Json => {
            let pids = host_pids(&st.sandbox);
            println!("{}", serde_json::to_string(&pids)?);
        }
        ListFormat::Table => {
            println!("{:>7} {:>7} CMD", "PID", "PPID");
            for p in &processes {
                println!("{:>7} {:>7} {}", p.pid, p.ppid, p.comm);
            }
        }
    }
    Ok(0)
}

/// The host pids of a sandbox: its cgroup's processes, else the sentry
/// and the gofer.
fn host_pids(sandbox: &state::SandboxPids) -> Vec<i32> {
    let from_cgroup = sandbox.cgroups.first().and_then(|dir| {
        let procs = std::fs::read_to_string(std::path::Path::new(dir).join("cgroup.procs")).ok()?;
        let pids: Vec<i32> = procs.lines().filter_map(|l| l.trim().parse().ok()).collect();
        (!pids.is_empty()).then_some(pids)
    });
    from_cgroup.unwrap_or_else(|| {
        [sandbox.sentry_pid, sandbox.gofer_pid]
            .into_iter()
            .filter(|&p| p > 0)
            .collect()
    })
}
