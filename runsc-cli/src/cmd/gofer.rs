//! `runsc gofer` (internal): the file server process. It serves the
//! sentry's requests on `--io-fd` until the sentry closes the socket.

use crate::error::CliError;
use crate::logging::{self, LogConfig};
use crate::GlobalFlags;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `runsc gofer`.
#[derive(Debug, Args)]
pub struct GoferArgs {
    /// Root directory the gofer serves (the container's rootfs).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// The fd of the gofer's end of the seqpacket socket to the sentry.
    #[arg(long, value_name = "N")]
    pub io_fd: i32,
    /// Serve the root read-write (`--overlay2=none` over a root that is not
    /// read-only); without it every change is EROFS.
    #[arg(long)]
    pub rw: bool,
    /// Debug log file (`%COMMAND%` is replaced by `gofer`).
    #[arg(long, value_name = "FILE")]
    pub debug_log: Option<String>,
}

/// Runs the gofer; returns its exit status (0 when the sentry hung up).
pub fn run(global: &GlobalFlags, args: GoferArgs) -> Result<u8, CliError> {
    let debug_log = args.debug_log.as_deref().or(global.debug_log.as_deref());
    logging::init(&LogConfig::for_command(
        debug_log,
        global.log_format,
        global.debug,
        false,
        "gofer",
    ))?;
    let sock = super::take_fd("io-fd", args.io_fd)?;
    tracing::debug!(root = %args.root.display(), rw = args.rw, "gofer starting");
    gofer::sandbox::run(&args.root, sock, !args.rw).map_err(|e| CliError::Gofer(e.to_string()))?;
    tracing::debug!("gofer: sentry closed the connection");
    Ok(0)
}
