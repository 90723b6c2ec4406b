//! `runsc exec`: starting a new process in a running sandbox.

use super::protocol::{ExecRequest, Response};
use super::StartGate;
use crate::kernel::Kernel;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// Starts `req` with `fds` as its stdio (planned).
pub(super) fn exec(
    _kernel: &Arc<Kernel>,
    _gate: &StartGate,
    _req: ExecRequest,
    _fds: Vec<OwnedFd>,
    _conn: &OwnedFd,
) -> Response {
    Response::Error {
        message: "exec is not supported yet".to_string(),
    }
}
