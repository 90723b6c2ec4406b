//! `runsc start ID`: let a created container's init run.

use crate::error::CliError;
use crate::oci::hooks::{self, Stage};
use crate::oci::{self, control, spec, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sentry::control::protocol::Request;
use std::path::Path;

/// Arguments of `runsc start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc start`.
pub fn run(global: &GlobalFlags, args: StartArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = oci::current(&root, &args.id)?;
    if st.oci.status != "created" {
        return Err(OciError::WrongState {
            id: args.id,
            status: st.oci.status,
            what: "only a created container can be started",
        }
        .into());
    }
    start_with_hooks(&dir, &st)?;
    Ok(0)
}

/// Starts the created container `st` in `dir` with its startContainer
/// hooks before (a failure kills the sandbox: the container is then
/// stopped) and its poststart hooks after (failures only logged).
/// startContainer hooks run on the host, not inside the sandbox.
pub fn start_with_hooks(dir: &Path, st: &state::StateFile) -> Result<(), CliError> {
    let spec = match spec::load(Path::new(&st.oci.bundle)) {
        Ok(spec) => Some(spec),
        Err(e) => {
            tracing::warn!("no hooks run: {e}");
            None
        }
    };
    if let Some(spec) = &spec {
        let mut oci = st.oci.clone();
        oci.status = "created".into();
        if let Err(e) = hooks::run_stage(spec, Stage::StartContainer, &oci) {
            kill_sandbox(st);
            return Err(OciError::from(e).into());
        }
    }
    start(dir, &st.oci.id)?;
    if let Some(spec) = &spec {
        let mut oci = st.oci.clone();
        oci.status = "running".into();
        hooks::run_stage_logged(spec, Stage::Poststart, &oci);
    }
    Ok(())
}

/// SIGKILLs the sandbox's processes that are still the recorded ones.
fn kill_sandbox(st: &state::StateFile) {
    for (pid, start) in [
        (st.sandbox.sentry_pid, st.sandbox.sentry_start),
        (st.sandbox.gofer_pid, st.sandbox.gofer_start),
    ] {
        if state::alive(pid, start) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Sends `start` to the sandbox in `dir`.
pub fn start(dir: &Path, id: &str) -> Result<(), CliError> {
    // The init may run and end the sandbox before it answers.
    control::expect_ok(dir, id, &Request::Start, true)
}
