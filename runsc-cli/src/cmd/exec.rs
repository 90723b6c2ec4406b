//! `runsc exec`: run a new process in a running container.
//!
//! The sentry starts the process with this command's stdin, stdout and
//! stderr (passed over the control socket with `SCM_RIGHTS`). This host
//! process stays attached: it relays the signals it receives to the
//! process and exits with its status. With `--detach` a forked copy does
//! that in the background and its pid (a real host pid, as containerd's
//! shim expects) goes to `--pid-file`.

use crate::error::CliError;
use crate::oci::{self, console, control, spec, state, OciError};
use crate::GlobalFlags;
use clap::Args;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use oci_spec::runtime::Process;
use sentry::control::protocol::{self, ExecRequest, Request, Response};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// Signals relayed to the exec'd process (^Z only when our terminal sent it).
const RELAYED: [Signal; 8] = [
    Signal::SIGTSTP,
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// Arguments of `runsc exec` (runc's).
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// A JSON file holding the OCI `process` to run (instead of CMD).
    #[arg(short = 'p', long, value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// Extra environment, `KEY=VALUE` (repeatable).
    #[arg(short = 'e', long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// `uid[:gid]` to run as.
    #[arg(short = 'u', long, value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Supplementary group (repeatable).
    #[arg(short = 'g', long, value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Allocate a pty.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Unix socket to send the pty master to.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Return once the process started; a background runsc waits for it.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Write the host pid of the attached runsc process to this file.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// A capability to add to the container's (repeatable; modelled in
    /// the sentry, like every capability of the sandbox).
    #[arg(short = 'c', long, value_name = "CAP")]
    pub cap: Vec<String>,
    /// Start the process with no_new_privs set.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Pass this process's fds 3 .. 3+N-1 to the process as its fds 3, ...
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// The container id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The command and its arguments.
    #[arg(value_name = "CMD", num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Runs `runsc exec`.
pub fn run(global: &GlobalFlags, args: ExecArgs) -> Result<u8, CliError> {
    super::create::init_logging(global)?;
    let root = state::root_dir(global.root.as_deref());
    let (st, dir) = oci::current(&root, &args.id)?;
    if st.oci.status != "running" {
        return Err(OciError::WrongState {
            id: args.id,
            status: st.oci.status,
            what: "exec needs a running container",
        }
        .into());
    }
    let (req, terminal) = build_request(&args, Path::new(&st.oci.bundle))?;
    let pty = match (terminal, &args.console_socket) {
        (true, Some(socket)) => {
            let pty = console::open(None)?;
            console::send_master(socket, &pty.master)?;
            Some(pty.replica)
        }
        (false, Some(_)) => return Err(OciError::Usage("--console-socket needs --tty".into()).into()),
        // `runsc exec -t` on a terminal: the process shares ours.
        (true, None) | (false, None) => None,
    };
    if args.preserve_fds as usize > protocol::MAX_FDS - 3 {
        return Err(OciError::Usage(format!("--preserve-fds {}: too many", args.preserve_fds)).into());
    }
    let preserved: Vec<RawFd> = super::create::preserved_fds(args.preserve_fds)?
        .iter()
        .map(|fd| fd.as_raw_fd())
        .collect();
    if !args.detach {
        if let Some(path) = &args.pid_file {
            super::create::write_pid_file(path, std::process::id() as i32)?;
        }
        return attach(&dir, &args.id, req, None, pty, &preserved);
    }
    // --detach: a forked child stays attached; the parent returns once the
    // process started (or reports why it did not).
    let (ready_r, ready_w) = crate::launch::cloexec_pipe()?;
    // SAFETY: runsc has no threads, so the child may run arbitrary code.
    match unsafe { nix::unistd::fork() }.map_err(|e| CliError::nix("fork", e))? {
        nix::unistd::ForkResult::Child => {
            drop(ready_r);
            let _ = nix::unistd::setsid();
            let code = match attach(&dir, &args.id, req, Some(ready_w), pty, &preserved) {
                Ok(code) => code,
                Err(_) => crate::error::EXIT_RUNTIME_ERROR,
            };
            std::process::exit(i32::from(code));
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(ready_w);
            let mut msg = String::new();
            let _ = std::fs::File::from(ready_r).read_to_string(&mut msg);
            match msg.strip_prefix("ok") {
                Some(_) => {
                    if let Some(path) = &args.pid_file {
                        super::create::write_pid_file(path, child.as_raw())?;
                    }
                    Ok(0)
                }
                None => {
                    let _ = nix::sys::wait::waitpid(child, None);
                    if let Some(code) = msg.strip_prefix("exit ").and_then(|c| c.parse().ok()) {
                        return Err(CliError::Exit(code));
                    }
                    Err(OciError::Sandbox {
                        id: args.id,
                        message: msg.strip_prefix("error ").unwrap_or("exec failed").to_string(),
                    }
                    .into())
                }
            }
        }
    }
}

/// The process to start: `--process FILE`, else the container's own
/// `process` with CMD, `--env`, `--cwd`, `--user` applied (as runc does).
fn build_request(args: &ExecArgs, bundle: &Path) -> Result<(ExecRequest, bool), CliError> {
    let container = spec::load(bundle)?;
    let prepared = spec::prepare(&container, bundle, "")?;
    let process: Process = match &args.process {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| CliError::io(format!("--process {}", path.display()), e))?;
            serde_json::from_slice(&bytes).map_err(|e| OciError::Config {
                path: path.clone(),
                reason: format!("malformed: {e}"),
            })?
        }
        None => container.process().clone().unwrap_or_default(),
    };
    let mut argv = if args.process.is_some() {
        process.args().clone().unwrap_or_default()
    } else {
        args.command.clone()
    };
    if argv.is_empty() {
        return Err(OciError::Usage("exec: no command given".into()).into());
    }
    let mut env = process.env().clone().unwrap_or_default();
    for e in &args.env {
        let key = e.split('=').next().unwrap_or_default();
        env.retain(|old| old.split('=').next() != Some(key));
        env.push(e.clone());
    }
    let user = process.user();
    let (mut uid, mut gid) = (user.uid(), user.gid());
    if let Some(u) = &args.user {
        let bad = || OciError::Usage(format!("--user {u}: expected uid[:gid]"));
        let (us, gs) = u.split_once(':').map_or((u.as_str(), None), |(a, b)| (a, Some(b)));
        uid = us.parse().map_err(|_| bad())?;
        if let Some(g) = gs {
            gid = g.parse().map_err(|_| bad())?;
        }
    }
    let mut additional_gids = user.additional_gids().clone().unwrap_or_default();
    additional_gids.extend(&args.additional_gids);
    argv[0] = spec::resolve_program(&argv[0], &env, &prepared.rootfs, &prepared.config.mounts);
    let terminal = args.tty || (args.process.is_some() && process.terminal().unwrap_or(false));
    // Capabilities: the --process file's, else the container's; --cap adds.
    let cap_err = |e: sentry::kernel::caps::UnknownCap| OciError::Usage(e.to_string());
    let mut capabilities = match process.capabilities() {
        Some(c) if args.process.is_some() => oci::caps::from_spec(Some(c)).map_err(cap_err)?,
        _ => prepared.config.capabilities,
    };
    if !args.cap.is_empty() {
        let base = capabilities.unwrap_or_else(|| sentry::kernel::caps::CapSets::default_for(uid));
        capabilities = Some(oci::caps::add_exec_caps(base, &args.cap).map_err(cap_err)?);
    }
    let no_new_privileges = args.no_new_privs
        || if args.process.is_some() {
            process.no_new_privileges().unwrap_or(false)
        } else {
            prepared.config.no_new_privileges
        };
    let req = ExecRequest {
        argv,
        env,
        cwd: args
            .cwd
            .clone()
            .unwrap_or_else(|| process.cwd().to_string_lossy().into_owned()),
        uid,
        gid,
        additional_gids,
        umask: user.umask().unwrap_or(0o022),
        capabilities,
        no_new_privileges,
    };
    Ok((req, terminal))
}

/// Starts the process with our stdio, relays signals to it until it
/// exits, and returns its exit code. `ready` gets `ok PID` or `error MSG`.
/// With `pty` (the replica of the process's terminal) this process makes
/// it its controlling terminal, so that the signals its line discipline
/// generates come here and go on to the guest's foreground group on it.
/// `preserved` follow stdio (`--preserve-fds`).
fn attach(
    dir: &Path,
    id: &str,
    req: ExecRequest,
    ready: Option<OwnedFd>,
    pty: Option<OwnedFd>,
    preserved: &[RawFd],
) -> Result<u8, CliError> {
    let mut set = SigSet::empty();
    for sig in RELAYED {
        set.add(sig);
    }
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .map_err(|e| CliError::nix("blocking signals", e))?;
    let fail = |message: String, ready: Option<OwnedFd>| -> CliError {
        if let Some(r) = ready {
            let _ = std::fs::File::from(r).write_all(format!("error {message}").as_bytes());
        }
        OciError::Sandbox {
            id: id.to_string(),
            message,
        }
        .into()
    };
    let mut fds: Vec<RawFd> = match &pty {
        Some(replica) => vec![replica.as_raw_fd(); 3],
        None => vec![0, 1, 2],
    };
    fds.extend_from_slice(preserved);
    let rdev = pty.as_ref().and_then(|r| {
        if let Err(e) = console::make_controlling(r.as_raw_fd()) {
            tracing::debug!("exec terminal: {e}");
        }
        console::rdev(r.as_raw_fd())
    });
    let (reply, conn) = match control::request_on(dir, &Request::Exec(req), &fds, None) {
        Ok(r) => r,
        Err(e) => return Err(fail(e.to_string(), ready)),
    };
    let pid = match reply {
        Response::Started { pid } => pid,
        Response::Error { message } => return Err(fail(message, ready)),
        // It could not be loaded; the sandbox wrote why on our stderr.
        Response::Exited { code } => {
            if let Some(r) = ready {
                let _ = std::fs::File::from(r).write_all(format!("exit {code}").as_bytes());
            }
            return Err(CliError::Exit((code & 0xff) as u8));
        }
        other => return Err(fail(format!("unexpected reply {other:?}"), ready)),
    };
    if let Some(r) = ready {
        // Detached: the sentry holds the process's stdio now. Let go of
        // ours, which callers may read until EOF (containerd's shim does).
        if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
            for fd in 0..=2 {
                let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
            }
        }
        let _ = std::fs::File::from(r).write_all(format!("ok {pid}").as_bytes());
    }
    loop {
        let mut fds = [PollFd::new(conn.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(n) if n > 0 => {
                return match protocol::recv::<Response>(conn.as_fd()) {
                    Ok((Response::Exited { code }, _)) => Ok((code & 0xff) as u8),
                    Ok((other, _)) => Err(OciError::Sandbox {
                        id: id.to_string(),
                        message: format!("unexpected reply {other:?}"),
                    }
                    .into()),
                    // The sandbox ended (the container stopped): killed.
                    Err(_) => Ok(128 + libc::SIGKILL as u8),
                };
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(CliError::nix("poll", e)),
        }
        while let Some((sig, from_terminal)) = pending_signal(&set) {
            let req = match rdev {
                Some(rdev) if from_terminal => Request::SignalTerminal { rdev, pid, signo: sig },
                _ if sig == libc::SIGTSTP => continue,
                _ => Request::SignalProcess { pid, signo: sig },
            };
            if let Err(e) = control::request(dir, &req, None) {
                tracing::debug!("relaying signal {sig}: {e}");
            }
        }
    }
}

/// A pending signal of `set`, without waiting, and whether the kernel
/// (our controlling terminal) generated it.
fn pending_signal(set: &SigSet) -> Option<(i32, bool)> {
    let timeout = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: the set, info and timeout pointers are valid for the call.
    let rc = unsafe { libc::sigtimedwait(set.as_ref(), &mut info, &timeout) };
    (rc > 0).then_some((rc, info.si_code == libc::SI_KERNEL))
}
