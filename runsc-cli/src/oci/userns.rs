//! User namespaces for the sandbox's host processes (`linux.namespaces`
//! `user`, `linux.uidMappings`/`gidMappings`) and rootless mode.
//!
//! The sentry is its own kernel, so the guest never sees a host namespace;
//! a user namespace here is a *host-side* confinement: the gofer and the
//! sentry run as the namespace's root, which is an unprivileged host id
//! (e.g. 100000, or the caller in rootless mode). Each of them gets a user
//! namespace of its own with the same maps (nothing is shared between the
//! two but the maps), made at `clone` time together with the sentry's PID
//! namespace, which the user namespace then owns (see `crate::clone_spawn`).
//!
//! Decisions:
//! - The namespace must map container uid 0 and gid 0: the sandbox's
//!   processes need their capabilities in it (mount namespace, pivot_root,
//!   chroot), which only its root keeps across `execve`.
//! - File owners: the gofer stats and chowns in its namespace, so the guest
//!   sees owners as runc's container would (host files of unmapped ids show
//!   as the overflow id 65534, files of host 100000 as 0 with the map
//!   `0 100000 65536`); a file the guest creates as uid U is owned by the
//!   host id U maps to (a U the maps lack fails with EINVAL).
//! - The guest's own credentials stay the sentry's virtual ones
//!   (`process.user`), independent of the maps.
//! - Rootless (`--rootless`, or a caller that is not root by default): a
//!   spec without a user namespace gets one mapping container 0 to the
//!   caller's uid and gid; cgroups are used only if writable.

use super::OciError;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};
use std::path::PathBuf;
use thiserror::Error;

/// The kernel's limit on lines in a uid_map/gid_map (since Linux 4.15).
const MAX_EXTENTS: usize = 340;

/// What is wrong with a spec's user namespace.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UsernsError {
    /// A mapping of zero ids.
    #[error("linux.{which}[{index}]: size must not be 0")]
    ZeroSize {
        /// `uidMappings` or `gidMappings`.
        which: &'static str,
        /// The entry.
        index: usize,
    },
    /// A mapping whose range wraps past 2^32.
    #[error("linux.{which}[{index}]: range overflows 32 bits")]
    Overflow {
        /// `uidMappings` or `gidMappings`.
        which: &'static str,
        /// The entry.
        index: usize,
    },
    /// Two mappings share container or host ids.
    #[error("linux.{which}[{a}] and [{b}] overlap ({side} ids)")]
    Overlap {
        /// `uidMappings` or `gidMappings`.
        which: &'static str,
        /// The first entry.
        a: usize,
        /// The second entry.
        b: usize,
        /// `container` or `host`.
        side: &'static str,
    },
    /// More lines than the kernel accepts.
    #[error("linux.{0}: more than {MAX_EXTENTS} mappings")]
    TooMany(&'static str),
    /// A new user namespace without a mapping of one kind.
    #[error("a user namespace is requested but linux.{0} is empty")]
    NoMappings(&'static str),
    /// Mappings without a user namespace.
    #[error("linux.uidMappings/gidMappings are given but linux.namespaces has no user namespace")]
    NoNamespace,
    /// Container id 0 is not mapped.
    #[error("linux.{0} must map container id 0: the sandbox's processes run as the namespace's root")]
    NoRoot(&'static str),
}

impl From<UsernsError> for OciError {
    fn from(e: UsernsError) -> Self {
        OciError::Usage(e.to_string())
    }
}

/// One line of a uid_map/gid_map: `size` ids from `container` (inside) to
/// `host` (in runsc's namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    /// First id inside the namespace.
    pub container: u32,
    /// First id outside.
    pub host: u32,
    /// How many.
    pub size: u32,
}

/// The user namespace the gofer and the sentry run in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserNs {
    /// runsc's own (no user namespace: the behaviour without one in the spec).
    Host,
    /// A new one per process, with these maps.
    New {
        /// uid_map lines.
        uid_map: Vec<IdMap>,
        /// gid_map lines.
        gid_map: Vec<IdMap>,
    },
    /// An existing one, joined with `setns`.
    Join(PathBuf),
}

/// `--rootless`: `true`, `false`, or `auto` (the default: rootless when the
/// effective uid is not 0), as runc.
pub fn rootless(flag: Option<&str>) -> Result<bool, OciError> {
    match flag {
        None | Some("auto") => Ok(!nix::unistd::geteuid().is_root()),
        Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(OciError::Usage(format!(
            "--rootless={other}: expected true, false or auto"
        ))),
    }
}

fn maps(list: Option<&Vec<LinuxIdMapping>>) -> Vec<IdMap> {
    list.into_iter()
        .flatten()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect()
}

/// Checks one map: no empty or wrapping range, no overlap on either side,
/// container id 0 present.
pub fn validate(which: &'static str, map: &[IdMap]) -> Result<(), UsernsError> {
    if map.is_empty() {
        return Err(UsernsError::NoMappings(which));
    }
    if map.len() > MAX_EXTENTS {
        return Err(UsernsError::TooMany(which));
    }
    for (index, m) in map.iter().enumerate() {
        if m.size == 0 {
            return Err(UsernsError::ZeroSize { which, index });
        }
        if m.container.checked_add(m.size - 1).is_none() || m.host.checked_add(m.size - 1).is_none() {
            return Err(UsernsError::Overflow { which, index });
        }
    }
    let end = |start: u32, size: u32| u64::from(start) + u64::from(size);
    for (a, x) in map.iter().enumerate() {
        for (b, y) in map.iter().enumerate().skip(a + 1) {
            let overlaps = |s1: u32, s2: u32| u64::from(s1) < end(s2, y.size) && u64::from(s2) < end(s1, x.size);
            if overlaps(x.container, y.container) {
                return Err(UsernsError::Overlap {
                    which,
                    a,
                    b,
                    side: "container",
                });
            }
            if overlaps(x.host, y.host) {
                return Err(UsernsError::Overlap {
                    which,
                    a,
                    b,
                    side: "host",
                });
            }
        }
    }
    if !map.iter().any(|m| m.container == 0) {
        return Err(UsernsError::NoRoot(which));
    }
    Ok(())
}

/// The user namespace `spec` asks for; in `rootless` mode one mapping
/// container 0 to the caller (`uid`, `gid`) when the spec has none.
pub fn from_spec(spec: &Spec, rootless: bool, uid: u32, gid: u32) -> Result<UserNs, UsernsError> {
    let linux = spec.linux().as_ref();
    let user = linux
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|list| list.iter().find(|n| n.typ() == LinuxNamespaceType::User));
    let uid_map = maps(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid_map = maps(linux.and_then(|l| l.gid_mappings().as_ref()));
    match user {
        Some(ns) if ns.path().is_some() => {
            // Joining: the namespace's own maps apply (runc refuses extra ones too).
            if !uid_map.is_empty() || !gid_map.is_empty() {
                tracing::debug!("linux.uidMappings/gidMappings ignored: the user namespace is joined by path");
            }
            Ok(UserNs::Join(ns.path().clone().unwrap_or_default()))
        }
        Some(_) => {
            validate("uidMappings", &uid_map)?;
            validate("gidMappings", &gid_map)?;
            Ok(UserNs::New { uid_map, gid_map })
        }
        None if !uid_map.is_empty() || !gid_map.is_empty() => Err(UsernsError::NoNamespace),
        None if rootless => {
            tracing::debug!(uid, gid, "rootless: a user namespace mapping container 0 to the caller");
            let one = |host| {
                vec![IdMap {
                    container: 0,
                    host,
                    size: 1,
                }]
            };
            Ok(UserNs::New {
                uid_map: one(uid),
                gid_map: one(gid),
            })
        }
        None => Ok(UserNs::Host),
    }
}

/// The text written to `/proc/PID/uid_map` or `gid_map`.
pub fn map_text(map: &[IdMap]) -> String {
    map.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

/// Whether `map` is the one thing an unprivileged process may write
/// itself: its own id, once.
pub fn only_own_id(map: &[IdMap], own: u32) -> bool {
    matches!(map, [IdMap { host, size: 1, .. }] if *host == own)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(linux: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "linux": linux,
        }))
        .unwrap()
    }

    fn m(container: u32, host: u32, size: u32) -> IdMap {
        IdMap { container, host, size }
    }

    #[test]
    fn a_user_namespace_with_maps() {
        let s = spec(serde_json::json!({
            "namespaces": [{"type": "pid"}, {"type": "user"}],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        }));
        let ns = from_spec(&s, false, 0, 0).unwrap();
        assert_eq!(
            ns,
            UserNs::New {
                uid_map: vec![m(0, 100000, 65536)],
                gid_map: vec![m(0, 100000, 65536)]
            }
        );
        assert_eq!(
            map_text(&[m(0, 100000, 65536), m(70000, 5, 1)]),
            "0 100000 65536\n70000 5 1\n"
        );
    }

    #[test]
    fn no_user_namespace_and_rootless() {
        let s = spec(serde_json::json!({"namespaces": [{"type": "pid"}]}));
        assert_eq!(from_spec(&s, false, 1000, 1000).unwrap(), UserNs::Host);
        assert_eq!(
            from_spec(&s, true, 1000, 1001).unwrap(),
            UserNs::New {
                uid_map: vec![m(0, 1000, 1)],
                gid_map: vec![m(0, 1001, 1)]
            }
        );
        let joined = spec(serde_json::json!({"namespaces": [{"type": "user", "path": "/proc/1/ns/user"}]}));
        assert_eq!(
            from_spec(&joined, true, 0, 0).unwrap(),
            UserNs::Join("/proc/1/ns/user".into())
        );
    }

    #[test]
    fn malformed_maps_are_refused() {
        let bad = |uid: serde_json::Value| {
            let s = spec(serde_json::json!({
                "namespaces": [{"type": "user"}],
                "uidMappings": uid,
                "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 1}],
            }));
            from_spec(&s, false, 0, 0).unwrap_err()
        };
        assert_eq!(
            bad(serde_json::json!([{"containerID": 0, "hostID": 1, "size": 0}])),
            UsernsError::ZeroSize {
                which: "uidMappings",
                index: 0
            }
        );
        let overlap = bad(serde_json::json!([
            {"containerID": 0, "hostID": 100000, "size": 10},
            {"containerID": 5, "hostID": 200000, "size": 10}
        ]));
        assert_eq!(
            overlap.to_string(),
            "linux.uidMappings[0] and [1] overlap (container ids)"
        );
        assert!(matches!(
            bad(serde_json::json!([
                {"containerID": 0, "hostID": 100000, "size": 10},
                {"containerID": 10, "hostID": 100009, "size": 1}
            ])),
            UsernsError::Overlap { side: "host", .. }
        ));
        assert!(matches!(
            bad(serde_json::json!([{"containerID": 4294967295u32, "hostID": 1, "size": 2}])),
            UsernsError::Overflow { .. }
        ));
        assert_eq!(
            bad(serde_json::json!([{"containerID": 1, "hostID": 1000, "size": 1}])),
            UsernsError::NoRoot("uidMappings")
        );
        assert_eq!(bad(serde_json::json!([])), UsernsError::NoMappings("uidMappings"));
        // Adjacent ranges do not overlap.
        validate("uidMappings", &[m(0, 100, 10), m(10, 110, 10)]).unwrap();
        // Mappings without the namespace.
        let s = spec(serde_json::json!({
            "namespaces": [{"type": "pid"}],
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 1}],
        }));
        assert_eq!(from_spec(&s, false, 0, 0).unwrap_err(), UsernsError::NoNamespace);
    }

    #[test]
    fn rootless_flag_values() {
        assert!(rootless(Some("true")).unwrap());
        assert!(!rootless(Some("false")).unwrap());
        assert_eq!(rootless(None).unwrap(), !nix::unistd::geteuid().is_root());
        assert_eq!(rootless(Some("auto")).unwrap(), rootless(None).unwrap());
        assert!(rootless(Some("maybe")).is_err());
        assert!(only_own_id(&[m(0, 1000, 1)], 1000));
        assert!(!only_own_id(&[m(0, 1000, 2)], 1000));
        assert!(!only_own_id(&[m(0, 1000, 1), m(1, 5, 1)], 1000));
    }
}
