//! `runsc delete [--force] ID`: remove a container, killing its sandbox if
//! it was never started (or with `--force`).

use crate::error::CliError;
use crate::oci::{self, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

/// Arguments of `runsc delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill a running container first; no error if it does not exist.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc delete`.
pub fn run(global: &GlobalFlags, args: DeleteArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = match oci::current(&root, &args.id) {
        Ok(found) => found,
        Err(CliError::Oci(OciError::NotFound(_))) if args.force => return Ok(0),
        Err(e) => return Err(e),
    };
    if matches!(st.oci.status.as_str(), "running" | "paused") && !args.force {
        return Err(OciError::WrongState {
            id: args.id,
            status: st.oci.status,
            what: "cannot delete a running container without --force",
        }
        .into());
    }
    kill_and_remove(&st, &dir)?;
    poststop(&st);
    Ok(0)
}

/// Runs the poststop hooks of the deleted container `st` (re-read from its
/// bundle's config.json); failures are only logged.
pub fn poststop(st: &state::StateFile) {
    match crate::oci::spec::load(Path::new(&st.oci.bundle)) {
        Ok(spec) => {
            let mut oci = st.oci.clone();
            oci.status = "stopped".into();
            crate::oci::hooks::run_stage_logged(&spec, crate::oci::hooks::Stage::Poststop, &oci);
        }
        Err(e) => tracing::warn!("no poststop hooks run: {e}"),
    }
}

/// SIGKILLs the sandbox's processes that are still the ones recorded
/// (their start times match), waits until they are gone, and removes the
/// state directory.
pub fn kill_and_remove(st: &state::StateFile, dir: &Path) -> Result<(), CliError> {
    let procs = [
        (st.sandbox.sentry_pid, st.sandbox.sentry_start),
        (st.sandbox.gofer_pid, st.sandbox.gofer_start),
    ];
    for (pid, start) in procs {
        if state::alive(pid, start) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    // Not our children: poll until they are gone (or zombies, which hold
    // no resources of the sandbox any more).
    let deadline = Instant::now() + Duration::from_secs(10);
    while procs.iter().any(|&(pid, start)| state::alive(pid, start)) {
        if Instant::now() > deadline {
            return Err(CliError::io(
                "waiting for the sandbox to exit",
                std::io::Error::from_raw_os_error(libc::ETIMEDOUT),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    crate::oci::cgroup::remove_dirs(st.sandbox.cgroups.iter().map(Path::new));
    std::fs::remove_dir_all(dir).map_err(|e| CliError::io(format!("removing {}", dir.display()), e))
}
