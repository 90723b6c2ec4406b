//! `runsc do CMD ARGS...`: run one command in a sandbox over a root
//! filesystem (the host's `/` by default), with the caller's environment,
//! working directory and stdio. The quickest way to try rvisor.
//!
//! It starts the gofer and the sentry as children of this process, sends
//! the sentry its [`BootConfig`] through a pipe, forwards signals to it and
//! exits with its status.

use crate::error::CliError;
use crate::launch::{self, ChildSpec, Sandbox};
use crate::logging::{self, LogConfig};
use crate::oci::userns::{IdMap, UserNs};
use crate::{GlobalFlags, LogFormat};
use clap::Args;
use sentry::boot::BootConfig;
use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The PATH used when the caller has none (the usual default of shells).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The fd numbers the children find their sockets and pipe at.
const CHILD_SOCKET_FD: i32 = 3;
const CHILD_CONFIG_FD: i32 = 4;

/// Arguments of `runsc do`.
#[derive(Debug, Args)]
pub struct DoArgs {
    /// Log every guest system call.
    #[arg(long)]
    pub strace: bool,
    /// Debug log file for the sandbox (`%COMMAND%` is replaced by boot, gofer).
    #[arg(long, value_name = "FILE")]
    pub debug_log: Option<String>,
    /// Working directory inside the sandbox (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// Root filesystem of the sandbox.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Bind-mount the host path HOST at GUEST in the sandbox, read-only
    /// with `:ro` (repeatable). Writes to a writable volume reach the host.
    #[arg(long = "volume", short = 'v', value_name = "HOST:GUEST[:ro]")]
    pub volumes: Vec<String>,
    /// Mount a fresh tmpfs at GUEST with options OPTS (`size=64m,mode=1777,noexec`; repeatable).
    #[arg(long = "tmpfs", value_name = "GUEST[:OPTS]")]
    pub tmpfs: Vec<String>,
    /// The command and its arguments.
    #[arg(value_name = "CMD", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Runs `runsc do`; returns the sandboxed command's exit status.
pub fn run(global: &GlobalFlags, args: DoArgs) -> Result<u8, CliError> {
    logging::init(&LogConfig {
        file: global.log.clone(),
        json: global.log_format == LogFormat::Json,
        debug: global.debug,
        strace: false,
    })?;
    let strace = args.strace || global.strace;
    let debug_log = args.debug_log.clone().or_else(|| global.debug_log.clone());
    let rootfs =
        std::fs::canonicalize(&args.root).map_err(|e| CliError::io(format!("--root {}", args.root.display()), e))?;
    let rootfs = utf8(rootfs.as_os_str(), "--root")?;
    let mut config = boot_config(&args, Path::new(&rootfs), strace)?;
    config.overlay = overlay_flag(&global.overlay2)?;
    config.mounts = mount_specs(&args.volumes, &args.tmpfs)?;
    // Host networking stays in runsc's network namespace (the host's).
    config.network = crate::oci::netns::mode(global.network);
    let user_ns = rootless_user_ns(global, &mut config)?;
    // The gofer's mount sockets follow its io fd; the sentry's its config fd.
    let binds = launch::BindMounts::prepare(&mut config, CHILD_SOCKET_FD + 1, CHILD_CONFIG_FD + 1)?;
    let json = serde_json::to_vec(&config)?;

    let mut global_args = Vec::new();
    if global.debug {
        global_args.push("--debug".to_string());
    }
    if global.log_format == LogFormat::Json {
        global_args.extend(["--log-format".to_string(), "json".to_string()]);
    }
    let mut gofer_args = global_args.clone();
    gofer_args.extend(["gofer", "--root", &rootfs, "--io-fd", "3"].map(String::from));
    if gofer_writable(&config) {
        gofer_args.push("--rw".to_string());
    }
    gofer_args.extend(binds.gofer_args.iter().cloned());
    let mut boot_args = global_args;
    boot_args.extend(["boot", "--gofer-fd", "3", "--config-fd", "4"].map(String::from));
    boot_args.extend(binds.boot_args.iter().cloned());
    if let Some(log) = &debug_log {
        gofer_args.extend(["--debug-log".to_string(), log.clone()]);
        boot_args.extend(["--debug-log".to_string(), log.clone()]);
    }
    if strace {
        boot_args.push("--strace".to_string());
    }

    // No thread exists in this process: every fork happens here.
    let signals = launch::block_signals()?;
    let exe = Path::new("/proc/self/exe");
    let (gofer_sock, sentry_sock) = launch::seqpacket_pair()?;
    let mut gofer_fds = vec![(gofer_sock.as_fd(), CHILD_SOCKET_FD)];
    gofer_fds.extend(binds.gofer_fds());
    let gofer = crate::clone_spawn::spawn_sandbox_child(
        ChildSpec {
            program: exe,
            arg0: "runsc-gofer",
            args: gofer_args,
            fds: gofer_fds,
            new_process_group: true,
            null_stdin: true,
            unblock: Some(signals),
        },
        true,
        &user_ns,
        false,
    )?;
    drop(gofer_sock);
    let launch::BindMounts {
        gofer_ends,
        sentry_ends,
        sentry_fds: sentry_numbers,
        ..
    } = binds;
    drop(gofer_ends);
    let mut sandbox = Sandbox {
        sentry: nix::unistd::Pid::from_raw(0),
        gofer: Some(gofer),
    };
    let (config_r, config_w) = match launch::cloexec_pipe() {
        Ok(pipe) => pipe,
        Err(e) => {
            sandbox.kill_gofer();
            return Err(e);
        }
    };
    // The sentry becomes pid 1 of a PID namespace of its own: if it dies,
    // the host kernel kills every process it created (stubs included, even
    // one parked between its fork and its seize), so nothing outlives it.
    let mut sentry_fds = vec![
        (sentry_sock.as_fd(), CHILD_SOCKET_FD),
        (config_r.as_fd(), CHILD_CONFIG_FD),
    ];
    sentry_fds.extend(sentry_ends.iter().map(|fd| fd.as_fd()).zip(sentry_numbers));
    let spawned = crate::clone_spawn::spawn_sandbox_child(
        ChildSpec {
            program: exe,
            arg0: "runsc-sandbox",
            args: boot_args,
            fds: sentry_fds,
            new_process_group: false,
            null_stdin: false,
            unblock: Some(signals),
        },
        true,
        &user_ns,
        true,
    );
    drop((sentry_sock, config_r, sentry_ends));
    sandbox.sentry = match spawned {
        Ok(pid) => pid,
        Err(e) => {
            sandbox.kill_gofer();
            return Err(e);
        }
    };
    tracing::debug!(sentry = %sandbox.sentry, gofer = %gofer, "sandbox started");

    // The sentry may die before reading (EPIPE; SIGPIPE is ignored by the
    // Rust runtime): its exit status then says why, so only log this.
    let mut pipe = std::fs::File::from(config_w);
    if let Err(e) = pipe.write_all(&json) {
        tracing::warn!(%e, "writing the boot configuration to the sentry");
    }
    drop(pipe);

    let status = sandbox.wait_forwarding(&signals);
    sandbox.kill_gofer();
    let status = status?;
    tracing::debug!(?status, "sentry exited");
    if let nix::sys::wait::WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGSYS, _) = status {
        // Only the sentry's own seccomp filter kills the sentry with SIGSYS.
        eprintln!(
            "runsc: the sentry was killed by its seccomp filter (a host syscall outside its allow-list: \
             the kernel log names it, `type=1326 ... syscall=N`; {}=log logs instead of killing)",
            sentry::seccomp::MODE_ENV
        );
    }
    Ok(launch::exit_code(status))
}

/// Rootless (`--rootless`, or a caller that is not root): the gofer and
/// the sentry run in a user namespace whose root is the caller (as
/// `unshare -r`), and the guest is that root: the caller's files are the
/// guest's own, others' belong to the overflow id.
fn rootless_user_ns(global: &GlobalFlags, config: &mut BootConfig) -> Result<UserNs, CliError> {
    if !crate::oci::userns::rootless(global.rootless.as_deref())? {
        return Ok(UserNs::Host);
    }
    let one = |host| {
        vec![IdMap {
            container: 0,
            host,
            size: 1,
        }]
    };
    let ns = UserNs::New {
        uid_map: one(nix::unistd::geteuid().as_raw()),
        gid_map: one(nix::unistd::getegid().as_raw()),
    };
    (config.uid, config.gid) = (0, 0);
    config.additional_gids.clear();
    Ok(ns)
}

/// Builds the sentry's boot configuration from the caller's context.
fn boot_config(args: &DoArgs, rootfs: &Path, strace: bool) -> Result<BootConfig, CliError> {
    let (cmd, rest) = args.command.split_first().ok_or(CliError::NoCommand)?;
    let path_var = std::env::var_os("PATH");
    let program =
        resolve_command(cmd, rootfs, path_var.as_deref()).ok_or_else(|| CliError::CommandNotFound(cmd.clone()))?;
    let mut argv = vec![program];
    argv.extend(rest.iter().cloned());

    let mut env = Vec::new();
    for (key, value) in std::env::vars_os() {
        match (key.to_str(), value.to_str()) {
            (Some(k), Some(v)) => env.push(format!("{k}={v}")),
            _ => tracing::warn!(key = %key.to_string_lossy(), "skipping a non-UTF-8 environment variable"),
        }
    }

    let cwd = match &args.cwd {
        Some(cwd) => cwd.clone(),
        // The caller's directory only means something over the host root.
        None if rootfs == Path::new("/") => {
            let dir = std::env::current_dir().map_err(|e| CliError::io("getcwd", e))?;
            utf8(dir.as_os_str(), "the current directory")?
        }
        None => "/".to_string(),
    };
    let hostname = nix::unistd::gethostname().map_err(|e| CliError::nix("gethostname", e))?;
    let hostname = utf8(&hostname, "the hostname")?;
    let additional_gids = nix::unistd::getgroups()
        .map_err(|e| CliError::nix("getgroups", e))?
        .into_iter()
        .map(|g| g.as_raw())
        .collect();

    Ok(BootConfig {
        argv,
        env,
        cwd,
        hostname,
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
        additional_gids,
        umask: current_umask(),
        strace,
        rlimits: caller_rlimits(),
        overlay: true,
        root_readonly: false,
        mounts: Vec::new(),
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        capabilities: None,
        no_new_privileges: false,
        network: Default::default(),
        netns: Default::default(),
    })
}

/// Whether the gofer serves the root read-write: only without the overlay
/// (whose lower layer must never change) and when the root is not
/// read-only.
pub fn gofer_writable(config: &BootConfig) -> bool {
    !config.overlay && !config.root_readonly
}

/// The boot mounts of `--volume HOST:GUEST[:ro]` and `--tmpfs GUEST[:OPTS]`
/// (volumes first, each list in order).
pub fn mount_specs(volumes: &[String], tmpfs: &[String]) -> Result<Vec<sentry::boot::MountSpec>, CliError> {
    use sentry::boot::{MountKind, MountSpec};
    let bad = |flag: &str, v: &str, why: &str| {
        CliError::io(
            format!("{flag} {v}"),
            std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string()),
        )
    };
    let mut out = Vec::new();
    for v in volumes {
        let (rest, ro) = match v.strip_suffix(":ro") {
            Some(r) => (r, true),
            None => (v.strip_suffix(":rw").unwrap_or(v), false),
        };
        let (host, guest) = rest
            .split_once(':')
            .ok_or_else(|| bad("--volume", v, "expected HOST:GUEST[:ro]"))?;
        if !guest.starts_with('/') {
            return Err(bad("--volume", v, "the guest path must be absolute"));
        }
        let source = std::fs::canonicalize(host).map_err(|e| CliError::io(format!("--volume {v}"), e))?;
        let source = utf8(source.as_os_str(), "--volume")?;
        let mut options = vec!["rbind".to_string()];
        if ro {
            options.push("ro".to_string());
        }
        out.push(MountSpec {
            destination: guest.to_string(),
            kind: MountKind::Bind { source },
            options,
        });
    }
    for t in tmpfs {
        let (guest, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        if !guest.starts_with('/') {
            return Err(bad("--tmpfs", t, "the guest path must be absolute"));
        }
        out.push(MountSpec {
            destination: guest.to_string(),
            kind: MountKind::Tmpfs,
            options: opts.split(',').filter(|o| !o.is_empty()).map(String::from).collect(),
        });
    }
    Ok(out)
}

/// `--overlay2`: `root:memory` (the default; `all:memory` too) gives the
/// sandbox a writable root whose changes live in memory, `none` writes
/// through to the host's root (read-only only if the root is). Other media
/// (`root:self`, a directory) are not supported.
pub fn overlay_flag(value: &str) -> Result<bool, CliError> {
    match value {
        "none" => Ok(false),
        "root:memory" | "all:memory" => Ok(true),
        _ => Err(CliError::Io {
            context: format!("--overlay2 {value}"),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "supported values are root:memory and none",
            ),
        }),
    }
}

/// The caller's resource limits, which the sandboxed program inherits as a
/// program started from the caller's shell would.
fn caller_rlimits() -> Vec<(u32, u64, u64)> {
    (0..sentry::kernel::limits::RLIM_NLIMITS as u32)
        .filter_map(|resource| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes one struct rlimit into `limit`.
            let ok = unsafe { libc::getrlimit(resource as _, &mut limit) } == 0;
            ok.then_some((resource, limit.rlim_cur, limit.rlim_max))
        })
        .collect()
}

/// Finds `cmd` like a shell does: a name with a `/` is taken as is, else
/// the first executable regular file `DIR/cmd` for DIR in `PATH`, looked
/// up under `rootfs`. Returns the path as the sandbox sees it.
pub fn resolve_command(cmd: &str, rootfs: &Path, path_var: Option<&OsStr>) -> Option<String> {
    if cmd.is_empty() {
        return None;
    }
    if cmd.contains('/') {
        return Some(cmd.to_string());
    }
    let path_var = path_var.unwrap_or(OsStr::new(DEFAULT_PATH));
    for dir in path_var.as_bytes().split(|&b| b == b':') {
        // POSIX: an empty PATH entry means the current directory.
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let in_sandbox = dir.join(cmd);
        let on_host = match in_sandbox.strip_prefix("/") {
            Ok(rel) => rootfs.join(rel),
            Err(_) => in_sandbox.clone(),
        };
        if is_executable(&on_host) {
            if let Some(s) = in_sandbox.to_str() {
                return Some(s.to_string());
            }
        }
    }
    None
}

fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) => meta.is_file() && meta.permissions().mode() & 0o111 != 0,
        Err(_) => false,
    }
}

/// The process umask (read by setting and restoring it; single-threaded here).
fn current_umask() -> u32 {
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(old);
    old.bits()
}

fn utf8(s: &OsStr, what: &'static str) -> Result<String, CliError> {
    s.to_str().map(str::to_string).ok_or_else(|| CliError::NotUtf8 {
        what,
        value: s.to_string_lossy().into_owned(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::fs;

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("runsc-do-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("usr/bin")).unwrap();
        dir
    }

    fn touch(path: &Path, mode: u32) {
        fs::write(path, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn names_with_a_slash_are_not_searched() {
        assert_eq!(resolve_command("./x", Path::new("/"), None).as_deref(), Some("./x"));
        assert_eq!(
            resolve_command("/no/such", Path::new("/"), None).as_deref(),
            Some("/no/such")
        );
        assert_eq!(resolve_command("", Path::new("/"), None), None);
    }

    #[test]
    fn path_is_searched_in_order_under_the_rootfs() {
        let root = temp_root("order");
        touch(&root.join("usr/bin/tool"), 0o755);
        touch(&root.join("bin/tool"), 0o755);
        touch(&root.join("bin/plain"), 0o644);
        let path = OsStr::new("/usr/bin:/bin");
        assert_eq!(
            resolve_command("tool", &root, Some(path)).as_deref(),
            Some("/usr/bin/tool")
        );
        assert_eq!(
            resolve_command("tool", &root, Some(OsStr::new("/bin:/usr/bin"))).as_deref(),
            Some("/bin/tool")
        );
        // Not executable, and missing: not found.
        assert_eq!(resolve_command("plain", &root, Some(path)), None);
        assert_eq!(resolve_command("nosuch", &root, Some(path)), None);
        // Directories are not commands.
        assert_eq!(resolve_command("bin", &root, Some(OsStr::new("/"))), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn host_commands_resolve_with_the_default_path() {
        assert_eq!(
            resolve_command("sh", Path::new("/"), Some(OsStr::new("/bin"))).as_deref(),
            Some("/bin/sh")
        );
        assert!(resolve_command("sh", Path::new("/"), None).is_some());
    }

    #[test]
    fn boot_config_reflects_the_caller() {
        let args = DoArgs {
            strace: false,
            debug_log: None,
            cwd: Some("/tmp".into()),
            root: "/".into(),
            volumes: Vec::new(),
            tmpfs: Vec::new(),
            command: vec!["/bin/echo".into(), "a".into(), "b".into()],
        };
        let config = boot_config(&args, Path::new("/"), true).unwrap();
        assert_eq!(config.argv, ["/bin/echo", "a", "b"]);
        assert_eq!(config.cwd, "/tmp");
        assert!(config.strace);
        assert_eq!(config.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(config.umask, current_umask());
        assert!(config
            .env
            .iter()
            .any(|e| e.starts_with("PATH=") || std::env::var_os("PATH").is_none()));
        // The caller's limits are passed on.
        let nofile = config.rlimits.iter().find(|r| r.0 == libc::RLIMIT_NOFILE).copied();
        let mut own = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one struct rlimit into `own`.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut own) }, 0);
        assert_eq!(nofile, Some((libc::RLIMIT_NOFILE, own.rlim_cur, own.rlim_max)));
        // The gofer writes only without the overlay and over a writable root.
        let mut config = config;
        assert!(!gofer_writable(&config));
        config.overlay = false;
        assert!(gofer_writable(&config));
        config.root_readonly = true;
        assert!(!gofer_writable(&config));
    }

    #[test]
    fn volume_and_tmpfs_flags() {
        let specs = mount_specs(
            &["/tmp:/data:ro".to_string(), "/:/host".to_string()],
            &["/scratch:size=1m,noexec".to_string(), "/t".to_string()],
        )
        .unwrap();
        assert_eq!(specs.len(), 4);
        assert_eq!(specs[0].destination, "/data");
        let tmp = fs::canonicalize("/tmp").unwrap();
        assert_eq!(
            specs[0].kind,
            sentry::boot::MountKind::Bind {
                source: tmp.to_str().unwrap().to_string()
            }
        );
        assert!(specs[0].options.contains(&"ro".to_string()));
        assert!(!specs[1].options.contains(&"ro".to_string()));
        assert_eq!(specs[2].kind, sentry::boot::MountKind::Tmpfs);
        assert_eq!(specs[2].options, ["size=1m", "noexec"]);
        assert!(specs[3].options.is_empty());
        assert!(mount_specs(&["/tmp".into()], &[]).is_err());
        assert!(mount_specs(&["/tmp:rel".into()], &[]).is_err());
        assert!(mount_specs(&["/no/such/dir:/x".into()], &[]).is_err());
        assert!(mount_specs(&[], &["rel".into()]).is_err());
    }

    #[test]
    fn overlay2_values() {
        assert!(overlay_flag("root:memory").unwrap());
        assert!(overlay_flag("all:memory").unwrap());
        assert!(!overlay_flag("none").unwrap());
        let err = overlay_flag("root:/some/dir").unwrap_err();
        assert_eq!(err.exit_code(), 125);
        assert!(err.to_string().contains("--overlay2 root:/some/dir"), "{err}");
    }

    #[test]
    fn unknown_commands_are_not_found_with_exit_127() {
        let args = DoArgs {
            strace: false,
            debug_log: None,
            cwd: None,
            root: "/".into(),
            volumes: Vec::new(),
            tmpfs: Vec::new(),
            command: vec!["rvisor-no-such-command-xyz".into()],
        };
        let err = boot_config(&args, Path::new("/"), false).unwrap_err();
        assert_eq!(err.to_string(), "rvisor-no-such-command-xyz: command not found");
        assert_eq!(err.exit_code(), 127);
    }
}
