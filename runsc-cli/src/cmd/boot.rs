//! `runsc boot` (internal): the sentry process. Reads its [`BootConfig`]
//! from a pipe, then hands over to the sentry library for good.

use crate::error::CliError;
use crate::logging::{self, LogConfig};
use crate::GlobalFlags;
use clap::Args;
use sentry::boot::BootConfig;
use std::io::Read;

/// Arguments of `runsc boot`.
#[derive(Debug, Args)]
pub struct BootArgs {
    /// The fd of the sentry's end of the seqpacket socket to the gofer.
    #[arg(long, value_name = "N")]
    pub gofer_fd: i32,
    /// The fd to read the JSON boot configuration from (until EOF).
    #[arg(long, value_name = "M")]
    pub config_fd: i32,
    /// Debug log file (`%COMMAND%` is replaced by `boot`).
    #[arg(long, value_name = "FILE")]
    pub debug_log: Option<String>,
    /// Log every guest system call.
    #[arg(long)]
    pub strace: bool,
    /// The fd of a listening control socket (`runsc create`): the init is
    /// held until a `start` request on it.
    #[arg(long, value_name = "C")]
    pub control_fd: Option<i32>,
    /// The sockets to the gofer for the bind mounts of the configuration,
    /// in the order of its `Bind` mounts.
    #[arg(long, value_name = "N,M,...", value_delimiter = ',')]
    pub mount_fds: Vec<i32>,
    /// Fds 0-2 are the replica of the container's pty (OCI
    /// `process.terminal`): make it the sentry's controlling terminal, so
    /// that ^C and resizes come to the sentry, which routes them to the guest.
    #[arg(long)]
    pub console: bool,
    /// Fds that become the init's fds 3, 4, ... in this order
    /// (`runsc create --preserve-fds`).
    #[arg(long, value_name = "N,M,...", value_delimiter = ',')]
    pub preserved_fds: Vec<i32>,
}

/// Upper bound on the config size: a config is argv + env, far below this.
const MAX_CONFIG: u64 = 64 << 20;

/// Boots the sandbox and exits the process with the container's status.
pub fn run(global: &GlobalFlags, args: BootArgs) -> Result<u8, CliError> {
    let strace = args.strace || global.strace;
    let debug_log = args.debug_log.as_deref().or(global.debug_log.as_deref());
    logging::init(&LogConfig::for_command(
        debug_log,
        global.log_format,
        global.debug,
        strace,
        "boot",
    ))?;
    if args.gofer_fd == args.config_fd {
        return Err(CliError::SameFd("gofer-fd", "config-fd"));
    }
    if args.mount_fds.contains(&args.gofer_fd) || args.mount_fds.contains(&args.config_fd) {
        return Err(CliError::SameFd("mount-fds", "gofer-fd/config-fd"));
    }
    let config_fd = super::take_fd("config-fd", args.config_fd)?;
    let gofer = super::take_fd("gofer-fd", args.gofer_fd)?;
    let control = match args.control_fd {
        Some(fd) if fd == args.gofer_fd || fd == args.config_fd || args.mount_fds.contains(&fd) => {
            return Err(CliError::SameFd("control-fd", "gofer-fd"))
        }
        Some(fd) => Some(super::take_fd("control-fd", fd)?),
        None => None,
    };
    let mount_sockets = args
        .mount_fds
        .iter()
        .map(|&fd| super::take_fd("mount-fds", fd))
        .collect::<Result<Vec<_>, _>>()?;
    let reserved = [args.gofer_fd, args.config_fd, args.control_fd.unwrap_or(-1)];
    if args
        .preserved_fds
        .iter()
        .any(|fd| reserved.contains(fd) || args.mount_fds.contains(fd))
    {
        return Err(CliError::SameFd("preserved-fds", "another fd flag"));
    }
    let preserved = args
        .preserved_fds
        .iter()
        .map(|&fd| super::take_fd("preserved-fds", fd))
        .collect::<Result<Vec<_>, _>>()?;
    if args.console {
        crate::oci::console::make_controlling(0)?;
    }
    let mut config = read_config(std::fs::File::from(config_fd))?;
    config.strace |= strace;
    tracing::debug!(argv = ?config.argv, cwd = %config.cwd, "booting sandbox");
    let status = sentry::boot::run_with_control(config, gofer, mount_sockets, control, preserved);
    std::process::exit(status)
}

/// Reads and parses the config (bounded, so a broken parent cannot make
/// the sentry allocate without limit).
fn read_config(reader: impl Read) -> Result<BootConfig, CliError> {
    let mut buf = Vec::new();
    reader
        .take(MAX_CONFIG)
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io("reading the boot configuration", e))?;
    Ok(serde_json::from_slice(&buf)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_round_trips_through_json() {
        let config = BootConfig {
            argv: vec!["/bin/echo".into(), "hi".into()],
            env: vec!["A=B".into()],
            cwd: "/tmp".into(),
            hostname: "h".into(),
            uid: 1,
            gid: 2,
            additional_gids: vec![3],
            umask: 0o22,
            strace: true,
            rlimits: vec![(7, 1024, 4096)],
            overlay: false,
            root_readonly: true,
            mounts: vec![sentry::boot::MountSpec {
                destination: "/data".into(),
                kind: sentry::boot::MountKind::Bind { source: "/srv".into() },
                options: vec!["ro".into()],
            }],
            masked_paths: vec!["/proc/kcore".into()],
            readonly_paths: vec!["/proc/sys".into()],
            capabilities: Some(sentry::kernel::caps::CapSets::default_for(5)),
            no_new_privileges: true,
            network: sentry::boot::NetworkMode::Host,
            netns: sentry::boot::HostNetns::Joined,
        };
        let json = serde_json::to_vec(&config).unwrap();
        let back = read_config(json.as_slice()).unwrap();
        assert_eq!(back.argv, config.argv);
        assert_eq!(back.rlimits, config.rlimits);
        assert_eq!((back.uid, back.gid, back.umask, back.strace), (1, 2, 0o22, true));
        assert!(!back.overlay);
        assert!(back.root_readonly);
        assert_eq!(back.mounts, config.mounts);
        assert_eq!(
            (back.network, back.netns),
            (sentry::boot::NetworkMode::Host, sentry::boot::HostNetns::Joined)
        );
        assert_eq!(back.capabilities, config.capabilities);
        assert!(back.no_new_privileges);
        // A configuration without the field gets the default: the overlay.
        let old: BootConfig = serde_json::from_str(
            r#"{"argv":["/bin/true"],"env":[],"cwd":"/","hostname":"h","uid":0,"gid":0,
                "additional_gids":[],"umask":18,"strace":false,"rlimits":[]}"#,
        )
        .unwrap();
        assert!(old.overlay);
        assert!(old.capabilities.is_none() && !old.no_new_privileges);
    }

    #[test]
    fn bad_json_is_a_clear_runtime_error() {
        let err = read_config(&b"{\"argv\": [1"[..]).unwrap_err();
        assert!(matches!(err, CliError::BadConfig(_)));
        assert_eq!(err.exit_code(), 125);
        assert!(err.to_string().starts_with("invalid boot configuration"));
        assert!(read_config(&b""[..]).is_err());
    }
}
