//! `runsc features`: what this runtime supports, in runc's JSON format
//! (the OCI runtime-spec "features" document).

use crate::error::CliError;
use crate::GlobalFlags;
use clap::Args;

/// Arguments of `runsc features` (none).
#[derive(Debug, Args)]
pub struct FeaturesArgs {}

/// The features document.
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": oci_spec::runtime::version(),
        "hooks": [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ],
        "mountOptions": ["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "mode", "size"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": [],
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}}
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.io.github.rvisor.version": env!("CARGO_PKG_VERSION"),
            "io.github.rvisor.platform": "ptrace",
            "io.github.rvisor.sandbox": "userspace kernel (sentry) and gofer"
        }
    })
}

/// Runs `runsc features`.
pub fn run(_global: &GlobalFlags, _args: FeaturesArgs) -> Result<u8, CliError> {
    println!("{}", serde_json::to_string_pretty(&features())?);
    Ok(0)
}
