//! `--network` and the OCI `network` namespace: which network namespace a
//! sentry with host networking (`--network=host`) lives in.
//!
//! - No `network` entry (docker/podman `--network=host`, `runsc do`): the
//!   namespace runsc runs in, the host's.
//! - An entry with a `path` (podman, docker and CNI make the namespace and
//!   pass it): runsc opens it while checking the bundle and enters it with
//!   `setns(CLONE_NEWNET)` just around the sentry's spawn ([`Entered`]),
//!   then returns to its own. Joining in runsc rather than in the sentry
//!   works for every sentry: one in a new user namespace could not join a
//!   namespace owned by the host's user namespace, and runsc has not yet
//!   given up its capabilities. The sentry's children inherit it.
//! - An entry without a path: a fresh namespace with only `lo` (up), made
//!   by the sentry itself, as runc would make one.
//!
//! The other modes ignore the entry: the sentry always makes its own empty
//! namespace and serves its loopback stack in memory.

use crate::error::CliError;
use crate::{oci::OciError, Network};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use sentry::boot::{HostNetns, NetworkMode};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};

/// The sentry's mode for `--network`.
pub fn mode(network: Network) -> NetworkMode {
    match network {
        Network::None => NetworkMode::None,
        Network::Host => NetworkMode::Host,
        Network::Sandbox => NetworkMode::Sandbox,
    }
}

/// Where a host-networking container's sentry lives, and the namespace to
/// join (opened now, so a bad path fails before anything is started).
pub fn plan(spec: &Spec, network: Network) -> Result<(HostNetns, Option<File>), CliError> {
    if network != Network::Host {
        return Ok((HostNetns::Inherited, None));
    }
    let entry = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|nss| nss.iter().find(|ns| ns.typ() == LinuxNamespaceType::Network).cloned());
    match entry {
        None => Ok((HostNetns::Inherited, None)),
        Some(ns) => match ns.path() {
            None => Ok((HostNetns::New, None)),
            Some(path) => {
                let file = File::open(path)
                    .map_err(|e| OciError::Usage(format!("network namespace {}: {e}", path.display())))?;
                Ok((HostNetns::Joined, Some(file)))
            }
        },
    }
}

/// runsc inside another network namespace until dropped.
pub struct Entered {
    original: File,
}

impl Entered {
    /// Enters `target` (a network namespace file), remembering the current one.
    pub fn enter(target: &File) -> Result<Entered, CliError> {
        let original =
            File::open("/proc/thread-self/ns/net").map_err(|e| CliError::io("/proc/thread-self/ns/net", e))?;
        nix::sched::setns(target.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| CliError::nix("setns(CLONE_NEWNET) into the container's network namespace", e))?;
        Ok(Entered { original })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Err(e) = nix::sched::setns(self.original.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET) {
            tracing::warn!(
                fd = self.original.as_raw_fd(),
                "returning to runsc's network namespace: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(namespaces: &str) -> Spec {
        serde_json::from_str(&format!(
            r#"{{"ociVersion": "1.0.2", "root": {{"path": "rootfs"}}, "linux": {{"namespaces": {namespaces}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_network_entry_decides_the_namespace() {
        let none = spec(r#"[{"type": "pid"}]"#);
        assert_eq!(plan(&none, Network::Host).unwrap().0, HostNetns::Inherited);
        let fresh = spec(r#"[{"type": "network"}]"#);
        assert_eq!(plan(&fresh, Network::Host).unwrap().0, HostNetns::New);
        let joined = spec(r#"[{"type": "network", "path": "/proc/self/ns/net"}]"#);
        let (netns, file) = plan(&joined, Network::Host).unwrap();
        assert_eq!(netns, HostNetns::Joined);
        assert!(file.is_some());
        // Other modes ignore the entry.
        let (netns, file) = plan(&joined, Network::Sandbox).unwrap();
        assert_eq!(netns, HostNetns::Inherited);
        assert!(file.is_none());
        let missing = spec(r#"[{"type": "network", "path": "/nonexistent/ns"}]"#);
        let err = plan(&missing, Network::Host).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ns"), "{err}");
    }
}
