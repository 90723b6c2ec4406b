//! `runsc pause ID` and `runsc resume ID`: freeze every process of a
//! running container, and thaw a paused one. The sentry keeps the state;
//! `runsc state` then reports `paused`.

use crate::error::CliError;
use crate::oci::{self, control, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use sentry::control::protocol::Request;

/// Arguments of `runsc pause` and `runsc resume`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc pause`.
pub fn pause(global: &GlobalFlags, args: PauseArgs) -> Result<u8, CliError> {
    request(
        global,
        &args.id,
        "running",
        Request::Pause,
        "only a running container can be paused",
    )
}

/// Runs `runsc resume`.
pub fn resume(global: &GlobalFlags, args: PauseArgs) -> Result<u8, CliError> {
    request(
        global,
        &args.id,
        "paused",
        Request::Resume,
        "only a paused container can be resumed",
    )
}

fn request(global: &GlobalFlags, id: &str, need: &str, req: Request, what: &'static str) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = oci::current(&root, id)?;
    if st.oci.status != need {
        return Err(OciError::WrongState {
            id: id.to_string(),
            status: st.oci.status,
            what,
        }
        .into());
    }
    control::expect_ok(&dir, id, &req, false)?;
    Ok(0)
}
