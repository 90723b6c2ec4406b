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
    /// A bind mount to serve besides the root: the host path SRC on the
    /// socket at fd FD, read-only with `:ro` (repeatable).
    #[arg(long = "mount", value_name = "SRC:FD[:ro]")]
    pub mounts: Vec<String>,
}

/// Parses `SRC:FD[:ro]` (SRC may itself contain colons).
pub fn parse_mount_arg(arg: &str) -> Result<(PathBuf, i32, bool), CliError> {
    let bad = || {
        CliError::io(
            format!("--mount {arg}"),
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "expected SRC:FD or SRC:FD:ro"),
        )
    };
    let (rest, ro) = match arg.strip_suffix(":ro") {
        Some(r) => (r, true),
        None => (arg.strip_suffix(":rw").unwrap_or(arg), false),
    };
    let (src, fd) = rest.rsplit_once(':').ok_or_else(bad)?;
    let fd: i32 = fd.parse().map_err(|_| bad())?;
    if src.is_empty() {
        return Err(bad());
    }
    Ok((PathBuf::from(src), fd, ro))
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
    let mut mounts = Vec::new();
    for m in &args.mounts {
        let (source, fd, readonly) = parse_mount_arg(m)?;
        if fd == args.io_fd {
            return Err(CliError::SameFd("io-fd", "mount"));
        }
        let sock = super::take_fd("mount", fd)?;
        mounts.push(gofer::sandbox::MountServe { source, sock, readonly });
    }
    let sock = super::take_fd("io-fd", args.io_fd)?;
    tracing::debug!(root = %args.root.display(), rw = args.rw, mounts = mounts.len(), "gofer starting");
    gofer::sandbox::run(&args.root, sock, !args.rw, mounts).map_err(|e| CliError::Gofer(e.to_string()))?;
    tracing::debug!("gofer: sentry closed the connection");
    Ok(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn mount_args() {
        assert_eq!(parse_mount_arg("/srv:5").unwrap(), (PathBuf::from("/srv"), 5, false));
        assert_eq!(parse_mount_arg("/srv:6:ro").unwrap(), (PathBuf::from("/srv"), 6, true));
        assert_eq!(parse_mount_arg("/a:b:7:rw").unwrap(), (PathBuf::from("/a:b"), 7, false));
        assert!(parse_mount_arg("/srv").is_err());
        assert!(parse_mount_arg(":5").is_err());
        assert!(parse_mount_arg("/srv:x:ro").is_err());
    }
}
