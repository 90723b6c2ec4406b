//! `runsc start ID`: let a created container's init run.

use crate::error::CliError;
use crate::oci::{self, control, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use sentry::control::protocol::{ProtocolError, Request, Response};

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
    match control::request(dir, &Request::Start, None) {
        Ok(Response::Ok) => Ok(()),
        // The init ran and ended the sandbox before it could answer.
        Err(control::ControlError::Protocol(ProtocolError::Closed)) => Ok(()),
        Ok(Response::Error { message }) => Err(OciError::Sandbox {
            id: id.to_string(),
            message,
        }
        .into()),
        Ok(other) => Err(OciError::Sandbox {
            id: id.to_string(),
            message: format!("unexpected reply {other:?}"),
        }
        .into()),
        Err(e) => Err(OciError::Sandbox {
            id: id.to_string(),
            message: e.to_string(),
        }
        .into()),
    }
}
