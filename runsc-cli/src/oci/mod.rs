//! The OCI runtime side of `runsc`: container ids, `config.json`, the state
//! directory and the client end of the sentry's control socket. The
//! commands themselves live in `cmd/` (create, start, state, ...).

pub mod caps;
pub mod cgroup;
pub mod console;
pub mod control;
pub mod error;
pub mod hooks;
pub mod id;
pub mod netns;
pub mod spec;
pub mod state;
pub mod stats;
pub mod userns;

pub use error::OciError;

use crate::error::CliError;
use std::path::{Path, PathBuf};

/// Reads container `id`'s state and sets its status (and pid) from the
/// sentry's answer: `stopped` with pid 0 when the sandbox no longer answers.
pub fn current(root: &Path, id: &str) -> Result<(state::StateFile, PathBuf), CliError> {
    let mut st = state::read(root, id)?;
    let dir = state::dir(root, id);
    match control::query_status(&dir) {
        Some(status) => st.oci.status = control::status_name(status).to_string(),
        // A create still in progress (its process is alive) is "creating".
        None if st.oci.status == "creating" && st.sandbox.sentry_pid == 0 => {}
        None => {
            st.oci.status = "stopped".to_string();
            st.oci.pid = 0;
        }
    }
    Ok((st, dir))
}
