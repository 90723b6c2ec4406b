//! `runsc wait ID` (gVisor's): block until the container's init exits and
//! print `{"id": ID, "exitStatus": N}` (N is 128+S for signal S).

use crate::error::CliError;
use crate::oci::{self, control, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use sentry::control::protocol::{Request, Response};

/// Arguments of `runsc wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc wait`.
pub fn run(global: &GlobalFlags, args: WaitArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = oci::current(&root, &args.id)?;
    if st.oci.status == "stopped" {
        return Err(OciError::WrongState {
            id: args.id,
            status: st.oci.status,
            what: "its sandbox is gone, so its exit status is no longer known",
        }
        .into());
    }
    match control::request(&dir, &Request::Wait, None) {
        Ok(Response::Exited { code }) => {
            println!("{}", serde_json::json!({"id": args.id, "exitStatus": code}));
            Ok(0)
        }
        Ok(Response::Error { message }) => Err(OciError::Sandbox { id: args.id, message }.into()),
        Ok(other) => Err(OciError::Sandbox {
            id: args.id,
            message: format!("unexpected reply {other:?}"),
        }
        .into()),
        Err(e) => Err(OciError::Sandbox {
            id: args.id,
            message: e.to_string(),
        }
        .into()),
    }
}
