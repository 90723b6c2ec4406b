//! `runsc spec`: write a default `config.json` into the bundle, like
//! `runc spec` (`sh` on a terminal over `rootfs`).

use crate::error::CliError;
use crate::oci::OciError;
use crate::GlobalFlags;
use clap::Args;
use oci_spec::runtime::Spec;
use std::path::PathBuf;

/// Arguments of `runsc spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Directory to write config.json into.
    #[arg(short = 'b', long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    /// A spec for a container started by an unprivileged user.
    #[arg(long)]
    pub rootless: bool,
}

/// The default spec: oci-spec's (runc's mounts, namespaces, masked paths)
/// running `sh` on a terminal.
pub fn default_spec(rootless: bool) -> Result<Spec, CliError> {
    let mut spec = if rootless {
        Spec::rootless(nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
    } else {
        Spec::default()
    };
    spec.set_hostname(Some("rvisor".into()));
    if let Some(process) = spec.process_mut() {
        process.set_args(Some(vec!["sh".into()]));
        process.set_terminal(Some(true));
    }
    Ok(spec)
}

/// Runs `runsc spec`.
pub fn run(_global: &GlobalFlags, args: SpecArgs) -> Result<u8, CliError> {
    let path = args.bundle.join("config.json");
    if path.exists() {
        return Err(OciError::Usage(format!("{} already exists", path.display())).into());
    }
    // An explicit global `--rootless[=true|auto]` counts too (auto: not root).
    let global_rootless = _global.rootless.is_some() && crate::oci::userns::rootless(_global.rootless.as_deref())?;
    let spec = default_spec(args.rootless || global_rootless)?;
    let json = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, json + "\n").map_err(|e| CliError::io(format!("writing {}", path.display()), e))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_spec_is_valid_for_create_but_asks_for_a_terminal() {
        let spec = default_spec(false).unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        let back: Spec = serde_json::from_str(&json).unwrap();
        let process = back.process().as_ref().unwrap();
        assert_eq!(process.args().as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(process.terminal(), Some(true));
        assert_eq!(back.root().as_ref().unwrap().path(), &PathBuf::from("rootfs"));
        assert!(back
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .any(|m| m.destination() == &PathBuf::from("/proc")));
        let rootless = default_spec(true).unwrap();
        assert!(rootless
            .linux()
            .as_ref()
            .unwrap()
            .uid_mappings()
            .as_ref()
            .is_some_and(|m| !m.is_empty()));
    }
}
