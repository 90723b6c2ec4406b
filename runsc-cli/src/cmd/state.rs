//! `runsc state ID`: print the OCI state, its status asked from the sentry.

use crate::error::CliError;
use crate::oci::{self, state};
use crate::GlobalFlags;
use clap::Args;

/// Arguments of `runsc state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// Runs `runsc state`.
pub fn run(global: &GlobalFlags, args: StateArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, _) = oci::current(&root, &args.id)?;
    println!("{}", serde_json::to_string_pretty(&st.oci)?);
    Ok(0)
}
