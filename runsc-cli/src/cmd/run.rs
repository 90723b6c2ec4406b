//! `runsc run`: create and start a container; without `--detach`, wait for
//! it (forwarding signals), delete it and exit with its status.

use super::create::{self, CreateArgs};
use crate::error::CliError;
use crate::launch;
use crate::GlobalFlags;
use clap::Args;

/// Arguments of `runsc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Return once the container runs, leaving it in the background.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Everything `create` takes.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// Runs `runsc run`.
pub fn run(global: &GlobalFlags, args: RunArgs) -> Result<u8, CliError> {
    create::init_logging(global)?;
    let mut created = create::create_container(global, &args.create, !args.detach)?;
    if let Err(e) = super::start::start_with_hooks(&created.state_dir, &created.state) {
        if !args.detach {
            let _ = nix::sys::signal::kill(created.sandbox.sentry, nix::sys::signal::Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(created.sandbox.sentry, None);
            created.sandbox.kill_gofer();
        }
        let _ = super::delete::kill_and_remove(&created.state, &created.state_dir);
        return Err(e);
    }
    if args.detach {
        return Ok(0);
    }
    let status = created.sandbox.wait_forwarding(&created.signals);
    created.sandbox.kill_gofer();
    crate::oci::cgroup::remove_dirs(created.state.sandbox.cgroups.iter().map(std::path::Path::new));
    if let Err(e) = std::fs::remove_dir_all(&created.state_dir) {
        tracing::warn!("removing {}: {e}", created.state_dir.display());
    }
    super::delete::poststop(&created.state);
    Ok(launch::exit_code(status?))
}
