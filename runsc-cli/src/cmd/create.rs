//! `runsc create`: start a container's sandbox with its init loaded but
//! held until `runsc start`.
//!
//! The gofer and the sentry are spawned as in `runsc do`, plus a control
//! socket in the state directory whose listening end goes to the sentry
//! (`--control-fd 5`). `create` returns once the sentry answers a state
//! request (the init is then loaded); the sandbox lives on without it. Any
//! failure on the way removes what was made: children and state directory.

use crate::error::CliError;
use crate::launch::{self, ChildSpec, Sandbox};
use crate::logging::{self, LogConfig};
use crate::oci::hooks::{self, Stage};
use crate::oci::{self, control, spec, state, OciError};
use crate::{GlobalFlags, LogFormat};
use clap::Args;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use sentry::control::protocol::{Request, Response, Status};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Fd numbers in the children.
const CHILD_SOCKET_FD: i32 = 3;
const CHILD_CONFIG_FD: i32 = 4;
const CHILD_CONTROL_FD: i32 = 5;
/// How long the sentry may take to load the init.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `runsc create` (runc's).
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The bundle directory (holding config.json).
    #[arg(short = 'b', long, value_name = "DIR", default_value = ".")]
    pub bundle: PathBuf,
    /// Write the sandbox's pid (the sentry) to this file.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Unix socket to send the master of the container's pty to.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Accepted (the sentry never pivot_roots into the container's root).
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted (the sandbox has no host keyring).
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass this process's fds 3 .. 3+N-1 to the init as its fds 3, 4, ...
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
}

/// A sandbox `create_container` started.
pub struct Created {
    /// Its processes (our children).
    pub sandbox: Sandbox,
    /// The signals blocked in this process (for `wait_forwarding`).
    pub signals: SigSet,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The state written.
    pub state: state::StateFile,
}

/// Runs `runsc create`.
pub fn run(global: &GlobalFlags, args: CreateArgs) -> Result<u8, CliError> {
    init_logging(global)?;
    create_container(global, &args, false)?;
    Ok(0)
}

/// The runtime's own log, as `--log`/`--log-format`/`--debug` ask.
pub fn init_logging(global: &GlobalFlags) -> Result<(), CliError> {
    logging::init(&LogConfig {
        file: global.log.clone(),
        json: global.log_format == LogFormat::Json,
        debug: global.debug,
        strace: false,
    })
}

/// Undoes a half-made container when dropped while armed.
struct Undo {
    dir: Option<PathBuf>,
    pids: Vec<Pid>,
    cgroups: Vec<PathBuf>,
}

impl Undo {
    fn disarm(&mut self) {
        self.dir = None;
        self.pids.clear();
        self.cgroups.clear();
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        for pid in self.pids.drain(..) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        crate::oci::cgroup::remove_dirs(self.cgroups.iter().map(|d| d.as_path()));
        if let Some(dir) = self.dir.take() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!("removing {}: {e}", dir.display());
            }
        }
    }
}

/// Creates container `args.id`. With `attached` the children die with
/// this process (`runsc run` without `--detach`); otherwise they outlive it.
pub fn create_container(global: &GlobalFlags, args: &CreateArgs, attached: bool) -> Result<Created, CliError> {
    oci::id::validate(&args.id)?;
    let preserved = preserved_fds(args.preserve_fds)?;
    let bundle = std::fs::canonicalize(&args.bundle)
        .map_err(|e| CliError::io(format!("bundle {}", args.bundle.display()), e))?;
    let spec = spec::load(&bundle)?;
    let host = nix::unistd::gethostname().map_err(|e| CliError::nix("gethostname", e))?;
    let mut prepared = spec::prepare(&spec, &bundle, &host.to_string_lossy())?;
    let pty = terminal(&spec, prepared.terminal, args.console_socket.as_deref(), attached)?;
    prepared.config.overlay = super::do_cmd::overlay_flag(&global.overlay2)?;
    prepared.config.strace = global.strace;
    prepared.config.network = oci::netns::mode(global.network);
    let (netns, join_netns) = oci::netns::plan(&spec, global.network)?;
    prepared.config.netns = netns;
    // Bind mounts: one socket per mount, served by the gofer (after its io
    // fd) and handed to the sentry (after its control fd).
    let binds = launch::BindMounts::prepare(&mut prepared.config, CHILD_SOCKET_FD + 1, CHILD_CONTROL_FD + 1)?;
    let json = serde_json::to_vec(&prepared.config)?;
    let rootfs = prepared
        .rootfs
        .to_str()
        .ok_or_else(|| OciError::Usage("root.path is not UTF-8".into()))?
        .to_string();

    let rootless = oci::userns::rootless(global.rootless.as_deref())?;
    let (euid, egid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    let user_ns = oci::userns::from_spec(&spec, rootless, euid, egid).map_err(OciError::from)?;

    let root = state::root_dir(global.root.as_deref());
    let state_dir = state::create_dir(&root, &args.id)?;
    let mut undo = Undo {
        dir: Some(state_dir.clone()),
        pids: Vec::new(),
        cgroups: Vec::new(),
    };
    let mut st = state::StateFile {
        oci: state::OciState {
            oci_version: spec.version().clone(),
            id: args.id.clone(),
            pid: 0,
            status: "creating".into(),
            bundle: bundle.to_string_lossy().into_owned(),
            rootfs: rootfs.clone(),
            created: state::now_rfc3339(),
            owner: state::owner(),
            annotations: prepared.annotations.clone(),
        },
        sandbox: state::SandboxPids::default(),
    };
    state::write(&state_dir, &st)?;
    let listener = control::listen_at(&state_dir)?;

    let (mut gofer_args, mut boot_args) = child_args(global, &rootfs);
    if super::do_cmd::gofer_writable(&prepared.config) {
        gofer_args.push("--rw".to_string());
    }
    gofer_args.extend(binds.gofer_args.iter().cloned());
    boot_args.extend(binds.boot_args.iter().cloned());
    if pty.is_some() {
        boot_args.push("--console".to_string());
    }
    // In the spec's user namespace, if any (oci/userns.rs, clone_spawn.rs).
    let spawn =
        |spec: ChildSpec<'_>, new_pid_ns| crate::clone_spawn::spawn_sandbox_child(spec, attached, &user_ns, new_pid_ns);
    // No thread exists in this process: every fork happens here.
    let signals = launch::block_signals()?;
    let exe = Path::new("/proc/self/exe");
    let (gofer_sock, sentry_sock) = launch::seqpacket_pair()?;
    // The gofer never writes the container's output. A detached gofer must
    // not hold create's stdout/stderr either: callers (containerd's shim)
    // read them until EOF, and the gofer lives as long as the sandbox. Its
    // messages then go to --log (or nowhere).
    let devnull = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .map_err(|e| CliError::io("/dev/null", e))?;
    let gofer_err = match (&global.log, attached) {
        (_, true) => None,
        (Some(log), false) => std::fs::OpenOptions::new().create(true).append(true).open(log).ok(),
        (None, false) => devnull.try_clone().ok(),
    };
    let mut gofer_fds = vec![(gofer_sock.as_fd(), CHILD_SOCKET_FD), (devnull.as_fd(), 1)];
    if let Some(f) = &gofer_err {
        gofer_fds.push((f.as_fd(), 2));
    }
    gofer_fds.extend(binds.gofer_fds());
    let gofer = spawn(
        ChildSpec {
            program: exe,
            arg0: "runsc-gofer",
            args: gofer_args,
            fds: gofer_fds,
            new_process_group: true,
            null_stdin: true,
            unblock: Some(signals),
        },
        false,
    )?;
    undo.pids.push(gofer);
    drop(gofer_sock);
    let launch::BindMounts {
        gofer_ends,
        sentry_ends,
        sentry_fds: sentry_numbers,
        ..
    } = binds;
    drop(gofer_ends);
    let (config_r, config_w) = launch::cloexec_pipe()?;
    let cgroup = if global.ignore_cgroups || (rootless && !crate::oci::cgroup::writable()) {
        if !global.ignore_cgroups {
            tracing::debug!("rootless: no writable cgroup, running without one");
        }
        crate::oci::cgroup::Cgroup::default()
    } else {
        let linux = spec.linux().as_ref();
        crate::oci::cgroup::create(
            linux.and_then(|l| l.cgroups_path().as_ref()).and_then(|p| p.to_str()),
            &args.id,
            linux.and_then(|l| l.resources().as_ref()),
        )?
    };
    undo.cgroups.clone_from(&cgroup.dirs);
    cgroup.add(gofer.as_raw())?;
    let mut fds = vec![
        (sentry_sock.as_fd(), CHILD_SOCKET_FD),
        (config_r.as_fd(), CHILD_CONFIG_FD),
        (listener.as_fd(), CHILD_CONTROL_FD),
    ];
    fds.extend(
        sentry_ends
            .iter()
            .map(|fd| fd.as_fd())
            .zip(sentry_numbers.iter().copied()),
    );
    if let Some(pty) = &pty {
        // The pty replica is the container's stdin, stdout and stderr.
        fds.extend([0, 1, 2].map(|n| (pty.replica.as_fd(), n)));
    }
    if !preserved.is_empty() {
        let first = fds.iter().map(|&(_, n)| n).max().unwrap_or(CHILD_CONTROL_FD) + 1;
        let numbers: Vec<i32> = (first..).take(preserved.len()).collect();
        boot_args.push(format!(
            "--preserved-fds={}",
            numbers.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
        ));
        fds.extend(preserved.iter().copied().zip(numbers));
    }
    // Host networking in the container's network namespace: the sentry is
    // started inside it (oci/netns.rs); runsc returns to its own after.
    let entered = join_netns.as_ref().map(oci::netns::Entered::enter).transpose()?;
    let sentry = spawn(
        ChildSpec {
            program: exe,
            arg0: "runsc-sandbox",
            args: boot_args,
            fds,
            new_process_group: false,
            null_stdin: false,
            unblock: Some(signals),
        },
        true,
    )?;
    drop(entered);
    undo.pids.insert(0, sentry);
    // Before it reads its configuration, so before it forks any stub.
    cgroup.add(sentry.as_raw())?;
    // Only the sentry may hold the listener: if it dies, connecting fails.
    drop((sentry_sock, config_r, listener, sentry_ends));
    let mut pipe = std::fs::File::from(config_w);
    if let Err(e) = pipe.write_all(&json) {
        tracing::debug!(%e, "writing the boot configuration");
    }
    drop(pipe);
    if let (Some(pty), Some(socket)) = (&pty, &args.console_socket) {
        crate::oci::console::send_master(socket, &pty.master)?;
    }
    drop(pty);

    match control::request(&state_dir, &Request::State, Some(READY_TIMEOUT)) {
        Ok(Response::State {
            status: Status::Created,
        }) => {}
        other => {
            tracing::debug!(?other, "the sandbox did not come up");
            return Err(boot_failure(sentry, &mut undo));
        }
    }

    st.oci.pid = sentry.as_raw();
    st.oci.status = "created".into();
    // The sandbox exists: the create-time hooks (a failure undoes it all).
    for stage in [Stage::Prestart, Stage::CreateRuntime, Stage::CreateContainer] {
        hooks::run_stage(&spec, stage, &st.oci).map_err(OciError::from)?;
    }
    st.sandbox = state::SandboxPids {
        sentry_pid: sentry.as_raw(),
        sentry_start: state::proc_stat(sentry.as_raw()).map_or(0, |s| s.0),
        gofer_pid: gofer.as_raw(),
        gofer_start: state::proc_stat(gofer.as_raw()).map_or(0, |s| s.0),
        cgroups: cgroup.dirs.iter().map(|d| d.to_string_lossy().into_owned()).collect(),
    };
    state::write(&state_dir, &st)?;
    if let Some(path) = &args.pid_file {
        write_pid_file(path, sentry.as_raw())?;
    }
    undo.disarm();
    Ok(Created {
        sandbox: Sandbox {
            sentry,
            gofer: Some(gofer),
        },
        signals,
        state_dir,
        state: st,
    })
}

/// This process's fds 3 .. 3+`count`-1 (`--preserve-fds`), each checked
/// to be open. They stay open (and ours) until the sentry has them.
pub fn preserved_fds(count: u32) -> Result<Vec<std::os::fd::BorrowedFd<'static>>, CliError> {
    let last = 3i32
        .checked_add_unsigned(count)
        .filter(|&end| end <= 3 + 1024)
        .ok_or_else(|| OciError::Usage(format!("--preserve-fds {count}: too many")))?;
    (3..last)
        .map(|fd| {
            // SAFETY: F_GETFD only queries the fd table.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Err(OciError::Usage(format!("--preserve-fds {count}: fd {fd} is not open")).into());
            }
            // SAFETY: the fd is open; it was handed to this short-lived
            // process for the container and nothing here closes it.
            Ok(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
        })
        .collect()
}

/// The container's pty, if `process.terminal` asks for one: opened here,
/// its master sent over `--console-socket` once the sentry holds the
/// replica. A foreground `runsc run` on a terminal without a console
/// socket shares its own terminal instead (as `runsc do` does).
fn terminal(
    spec: &oci_spec::runtime::Spec,
    terminal: bool,
    socket: Option<&Path>,
    attached: bool,
) -> Result<Option<crate::oci::console::Pty>, CliError> {
    match (terminal, socket) {
        (false, None) => Ok(None),
        (false, Some(_)) => {
            Err(OciError::Usage("--console-socket needs process.terminal set to true in config.json".into()).into())
        }
        (true, Some(_)) => {
            let size = spec
                .process()
                .as_ref()
                .and_then(|p| p.console_size())
                .map(|b| (b.height() as u16, b.width() as u16));
            Ok(Some(crate::oci::console::open(size)?))
        }
        // SAFETY: isatty only queries fd 0.
        (true, None) if attached && unsafe { libc::isatty(0) } == 1 => Ok(None),
        (true, None) => Err(OciError::Usage(
            "process.terminal needs --console-socket (or a foreground `runsc run` on a terminal)".into(),
        )
        .into()),
    }
}

/// The sentry died (or hung) before it was ready: collect its status.
/// It printed its own error (`runsc: PATH: No such file or directory`),
/// so only its exit code is passed on.
fn boot_failure(sentry: Pid, undo: &mut Undo) -> CliError {
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        match waitpid(sentry, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(WaitStatus::StillAlive) => {
                let _ = kill(sentry, Signal::SIGKILL);
                let _ = waitpid(sentry, None);
                break None;
            }
            Ok(s) => break Some(s),
            Err(_) => break None,
        }
    };
    undo.pids.retain(|p| *p != sentry);
    match status {
        Some(WaitStatus::Exited(_, code)) if code != 0 => CliError::Exit(code as u8),
        _ => OciError::Sandbox {
            id: undo
                .dir
                .as_ref()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            message: "the sandbox failed to start".into(),
        }
        .into(),
    }
}

/// The command lines of the gofer and the sentry.
fn child_args(global: &GlobalFlags, rootfs: &str) -> (Vec<String>, Vec<String>) {
    let mut common = Vec::new();
    if global.debug {
        common.push("--debug".to_string());
    }
    if global.log_format == LogFormat::Json {
        common.extend(["--log-format".to_string(), "json".to_string()]);
    }
    let mut gofer = common.clone();
    gofer.extend(["gofer", "--root", rootfs, "--io-fd", "3"].map(String::from));
    let mut boot = common;
    boot.extend(["boot", "--gofer-fd", "3", "--config-fd", "4", "--control-fd", "5"].map(String::from));
    if let Some(log) = &global.debug_log {
        gofer.extend(["--debug-log".to_string(), log.clone()]);
        boot.extend(["--debug-log".to_string(), log.clone()]);
    }
    if global.strace {
        boot.push("--strace".to_string());
    }
    (gofer, boot)
}

/// Writes `pid` to `path` atomically (temp file + rename), as runc does.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), CliError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::io(format!("writing --pid-file {}", path.display()), e))
}
