//! `runsc start ID`: let a created container's init run.

use crate::error::CliError;
use crate::oci::{self, control, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use sentry::control::protocol::Request;

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
    start(&dir, &args.id)?;
    Ok(0)
}

/// Sends `start` to the sandbox in `dir`.
pub fn start(dir: &std::path::Path, id: &str) -> Result<(), CliError> {
    // The init may run and end the sandbox before it answers.
    control::expect_ok(dir, id, &Request::Start, true)
}
