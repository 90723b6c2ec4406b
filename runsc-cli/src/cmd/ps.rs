//! `runsc ps ID`: the container's processes, as the sentry sees them
//! (sandbox pids; the guest's processes have no host pids of their own).

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
    let (_, dir) = oci::current(&root, &args.id)?;
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
            let pids: Vec<i32> = processes.iter().map(|p| p.pid).collect();
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
