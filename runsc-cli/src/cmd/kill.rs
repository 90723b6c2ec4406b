//! `runsc kill [--all] ID [SIGNAL]`: send a signal to the container's init
//! (or every process), through the sentry.

use crate::error::CliError;
use crate::oci::{self, control, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use sentry::control::protocol::Request;

/// Arguments of `runsc kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Signal name (`KILL`, `SIGKILL`) or number; SIGTERM by default.
    #[arg(value_name = "SIGNAL", default_value = "SIGTERM")]
    pub signal: String,
}

/// Parses a signal as runc does: a number, or a name with or without `SIG`.
pub fn parse_signal(s: &str) -> Result<i32, OciError> {
    let bad = || OciError::BadSignal(s.to_string());
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) { Ok(n) } else { Err(bad()) };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        let off: i32 = if rt.is_empty() {
            0
        } else {
            rt.parse().map_err(|_| bad())?
        };
        let n = libc::SIGRTMIN() + off;
        return if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    format!("SIG{name}")
        .parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| bad())
}

/// Runs `runsc kill`.
pub fn run(global: &GlobalFlags, args: KillArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let signo = parse_signal(&args.signal)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = oci::current(&root, &args.id)?;
    if st.oci.status != "created" && st.oci.status != "running" && st.oci.status != "paused" {
        return Err(OciError::WrongState {
            id: args.id,
            status: st.oci.status,
            what: "container not running",
        }
        .into());
    }
    // The signal may end the sandbox before it answers.
    control::expect_ok(&dir, &args.id, &Request::Signal { signo, all: args.all }, true)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_and_numbers() {
        for s in ["9", "KILL", "SIGKILL", "kill", "sigkill"] {
            assert_eq!(parse_signal(s).ok(), Some(libc::SIGKILL), "{s}");
        }
        assert_eq!(parse_signal("TERM").ok(), Some(libc::SIGTERM));
        assert_eq!(parse_signal("SIGUSR1").ok(), Some(libc::SIGUSR1));
        assert_eq!(parse_signal("RTMIN+2").ok(), Some(libc::SIGRTMIN() + 2));
        for s in ["0", "65", "-1", "NOPE", "SIG", ""] {
            assert!(parse_signal(s).is_err(), "{s}");
        }
    }
}
