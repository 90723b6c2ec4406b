//! Booting a sandbox: the `runsc boot` entry point.
//!
//! The CLI serialises a [`BootConfig`], starts the gofer, and hands the
//! sentry the gofer's socket. [`run`] confines the sentry process, builds
//! the kernel, starts the container's init and returns its exit status.

use serde::{Deserialize, Serialize};
use std::os::fd::OwnedFd;

/// Everything the sentry needs to start the container's first process.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BootConfig {
    /// Program path (resolved inside the sandbox, `PATH` searched if it has no `/`).
    pub argv: Vec<String>,
    /// Environment, `KEY=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the sandbox.
    pub cwd: String,
    /// The sandbox's hostname (uname nodename).
    pub hostname: String,
    /// Guest credentials of the init process.
    pub uid: u32,
    /// Guest group of the init process.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// Initial umask.
    pub umask: u32,
    /// Log every guest syscall (`--strace`).
    pub strace: bool,
    /// Resource limits to set: (resource number, soft, hard).
    pub rlimits: Vec<(u32, u64, u64)>,
    /// Root filesystem writable through an in-memory overlay over the
    /// gofer's (`--overlay2=root:memory`, the default when the field is
    /// absent from the JSON); false (and `Default`): the read-only root.
    #[serde(default = "default_overlay")]
    pub overlay: bool,
    /// The root filesystem is mounted read-only (OCI `root.readonly`); with
    /// the overlay the upper layer is then not writable either.
    #[serde(default)]
    pub root_readonly: bool,
    /// The mounts on top of the root, in the order to mount them (OCI
    /// `mounts`; `runsc do --volume/--tmpfs`).
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Paths made unreadable after the mounts (OCI `linux.maskedPaths`):
    /// /dev/null over a file, an empty read-only tmpfs over a directory.
    #[serde(default)]
    pub masked_paths: Vec<String>,
    /// Paths made read-only after the mounts (OCI `linux.readonlyPaths`).
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    /// The init's capability sets before it executes its program (OCI
    /// `process.capabilities`); execve then transforms them as Linux
    /// does. Absent: what `uid` holds by default (uid 0 every capability,
    /// others none; the bounding set full).
    #[serde(default)]
    pub capabilities: Option<crate::kernel::caps::CapSets>,
    /// The init starts with `PR_SET_NO_NEW_PRIVS` (OCI
    /// `process.noNewPrivileges`).
    #[serde(default)]
    pub no_new_privileges: bool,
    /// How the guest reaches a network (`--network`); absent: the
    /// in-sentry loopback stack.
    #[serde(default)]
    pub network: NetworkMode,
    /// With [`NetworkMode::Host`]: which host network namespace the
    /// sentry's sockets live in.
    #[serde(default)]
    pub netns: HostNetns,
}

/// `--network`: where the guest's `AF_INET`/`AF_INET6` sockets live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The in-sentry loopback stack (`--network=sandbox`, the default; a
    /// userspace stack with an external interface is future work).
    #[default]
    Sandbox,
    /// The in-sentry loopback stack, nothing else (`--network=none`).
    None,
    /// Host sockets made by the sentry in its network namespace
    /// (`--network=host`, gVisor's "hostinet"): see `net::hostinet`.
    Host,
}

/// The network namespace of a [`NetworkMode::Host`] sentry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostNetns {
    /// The one the sentry was started in (`runsc do`; an OCI spec without
    /// a `network` namespace: the host's, as docker's `--network=host`).
    #[default]
    Inherited,
    /// The container's, joined by runsc before it started the sentry (an
    /// OCI `network` namespace with a `path`).
    Joined,
    /// A fresh one with only `lo` (an OCI `network` namespace without a
    /// `path`), made by the sentry before it confines itself.
    New,
}

/// One mount of the container's mount tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    /// Absolute path inside the sandbox.
    pub destination: String,
    /// What is mounted.
    pub kind: MountKind,
    /// OCI mount options (`ro`, `rw`, `nosuid`, `nodev`, `noexec`,
    /// `size=`, `mode=`, `rbind`, ...); unknown ones are ignored as runc does.
    #[serde(default)]
    pub options: Vec<String>,
}

/// The filesystem types a [`MountSpec`] can mount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host directory or file, served by a gofer of its own.
    Bind {
        /// Absolute host path.
        source: String,
    },
    /// An in-memory filesystem.
    Tmpfs,
    /// The sandbox's procfs.
    Proc,
    /// The sandbox's sysfs.
    Sysfs,
    /// Pseudo-terminal replicas.
    Devpts,
    /// POSIX message queues.
    Mqueue,
    /// A read-only view of the container's cgroup.
    Cgroup,
}

fn default_overlay() -> bool {
    true
}

/// Runs the sandbox to completion and returns the exit status the sentry
/// process must exit with (the init's status, or 128+N if a signal ended it).
/// `mount_sockets` holds one gofer socket for each `Bind` mount of
/// `config.mounts`, in order.
pub fn run(config: BootConfig, gofer_socket: OwnedFd, mount_sockets: Vec<OwnedFd>) -> i32 {
    crate::kernel::run_sandbox(config, gofer_socket, mount_sockets)
}

/// As [`run`], serving the control socket `control` (a listening
/// `SOCK_SEQPACKET` unix socket, `runsc boot --control-fd`): the init is
/// then loaded but held until a `start` request (see [`crate::control`]).
/// `preserved` become the init's fds 3, 4, ... (OCI `--preserve-fds`).
pub fn run_with_control(
    config: BootConfig,
    gofer_socket: OwnedFd,
    mount_sockets: Vec<OwnedFd>,
    control: Option<OwnedFd>,
    preserved: Vec<OwnedFd>,
) -> i32 {
    crate::kernel::run::run_sandbox_with_control(config, gofer_socket, mount_sockets, control, preserved)
}
