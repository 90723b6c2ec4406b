//! The control server thread and the start gate that holds the init.

use super::protocol::{self, ProcessInfo, Request, Response, Status};
use crate::kernel::signal::{self, SigInfo, SignalTarget};
use crate::kernel::Kernel;
use nix::sys::socket::{accept4, getsockopt, sockopt::PeerCredentials, SockFlag};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// The id the kernel shows for a peer whose uid has no mapping in our user
/// namespace (`/proc/sys/kernel/overflowuid`, 65534 unless changed).
const OVERFLOW_UID: u32 = 65534;

/// Whether the sentry runs in a user namespace that does not map every
/// host id (set by [`detect_user_namespace`]).
static IN_USER_NAMESPACE: AtomicBool = AtomicBool::new(false);

/// Notes, while /proc is still reachable (before confinement), whether the
/// sentry runs in a user namespace of its own. There the runtime driving
/// it (root, say, when the namespace maps container 0 to host 100000) is
/// unmapped and its `SO_PEERCRED` uid reads as the overflow uid.
pub fn detect_user_namespace() {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let identity = map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    IN_USER_NAMESPACE.store(!map.is_empty() && !identity, Ordering::Relaxed);
}

/// Holds the container's init between `create` and `start`: its program
/// is loaded, but no guest instruction runs until the gate opens.
#[derive(Debug, Default)]
pub struct StartGate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl StartGate {
    /// A gate, open already (no control socket: `runsc do`) or closed.
    pub fn new(open: bool) -> Arc<StartGate> {
        Arc::new(StartGate {
            open: Mutex::new(open),
            opened: Condvar::new(),
        })
    }

    /// Lets the init run. Returns false if it was open already.
    pub fn open(&self) -> bool {
        let Ok(mut open) = self.open.lock() else {
            return false;
        };
        let was = *open;
        *open = true;
        self.opened.notify_all();
        !was
    }

    /// Whether `start` happened.
    pub fn is_open(&self) -> bool {
        self.open.lock().map(|o| *o).unwrap_or(true)
    }

    /// Blocks until the gate opens.
    pub fn wait(&self) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        while !*open {
            open = match self.opened.wait(open) {
                Ok(o) => o,
                Err(_) => return,
            };
        }
    }
}

/// Starts the control thread serving `listener` (a listening
/// `SOCK_SEQPACKET` unix socket).
pub fn spawn(listener: OwnedFd, kernel: Arc<Kernel>, gate: Arc<StartGate>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || serve(listener, kernel, gate))
        .map(|_| ())
}

fn serve(listener: OwnedFd, kernel: Arc<Kernel>, gate: Arc<StartGate>) {
    // SAFETY: geteuid has no preconditions.
    let own_uid = unsafe { libc::geteuid() };
    loop {
        let conn = match accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 returned a new fd that nothing else owns.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::ECONNABORTED) => continue,
            Err(e) => {
                tracing::warn!("control socket: accept: {e}");
                return;
            }
        };
        // The socket file is 0600, but check the peer too: only our own
        // user (or root) may drive the sandbox. In a user namespace the
        // runtime may be unmapped (the overflow uid); the file's mode,
        // owned by the runtime's user, still keeps every other user out.
        let unmapped_ok = IN_USER_NAMESPACE.load(Ordering::Relaxed);
        match getsockopt(&conn, PeerCredentials) {
            Ok(cred) if cred.uid() == own_uid || cred.uid() == 0 => {}
            Ok(cred) if unmapped_ok && cred.uid() == OVERFLOW_UID => {}
            _ => continue,
        }
        let (kernel, gate) = (kernel.clone(), gate.clone());
        // One thread per connection: `wait` and exec block until an exit.
        let _ = std::thread::Builder::new()
            .name("control-conn".into())
            .spawn(move || handle(conn, &kernel, &gate));
    }
}

fn handle(conn: OwnedFd, kernel: &Arc<Kernel>, gate: &StartGate) {
    let reply = match protocol::recv::<Request>(conn.as_fd()) {
        Ok((req, fds)) => dispatch(req, fds, &conn, kernel, gate),
        Err(e) => Response::Error { message: e.to_string() },
    };
    if let Err(e) = protocol::send(conn.as_fd(), &reply, &[]) {
        tracing::debug!("control reply: {e}");
    }
}

fn dispatch(req: Request, fds: Vec<OwnedFd>, conn: &OwnedFd, kernel: &Arc<Kernel>, gate: &StartGate) -> Response {
    tracing::debug!(?req, "control request");
    match req {
        Request::State => Response::State {
            status: status(kernel, gate),
        },
        Request::Start => match status(kernel, gate) {
            Status::Created => {
                gate.open();
                Response::Ok
            }
            other => error(format!("cannot start a container that is {}", status_name(other))),
        },
        Request::Signal { signo, all } => signal_init(kernel, gate, signo, all),
        Request::SignalProcess { pid, signo } => {
            if !(1..=64).contains(&signo) {
                return error(format!("invalid signal {signo}"));
            }
            match signal::post(SignalTarget::Process(pid), outside_signal(signo)) {
                Ok(()) => Response::Ok,
                Err(e) => error(format!("pid {pid}: {}", e.description())),
            }
        }
        Request::SignalTerminal { rdev, pid, signo } => {
            if !crate::kernel::console::is_terminal_signal(signo) {
                return error(format!("signal {signo} is not a terminal signal"));
            }
            match crate::kernel::console::signal_foreground(Some(rdev), pid, signo) {
                Ok(()) => Response::Ok,
                Err(e) => error(format!("pid {pid}: {}", e.description())),
            }
        }
        Request::Wait => match wait_init(kernel) {
            Some(code) => Response::Exited { code },
            None => error("the kernel state is poisoned".to_string()),
        },
        Request::Ps => Response::Processes {
            processes: processes(kernel),
        },
        Request::Exec(req) => super::exec::exec(kernel, gate, req, fds, conn),
        Request::Pause => match status(kernel, gate) {
            Status::Running => {
                crate::kernel::freeze::freeze(kernel);
                Response::Ok
            }
            other => error(format!("cannot pause a container that is {}", status_name(other))),
        },
        Request::Resume => match status(kernel, gate) {
            Status::Paused => {
                crate::kernel::freeze::thaw();
                Response::Ok
            }
            other => error(format!("cannot resume a container that is {}", status_name(other))),
        },
    }
}

fn error(message: String) -> Response {
    Response::Error { message }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Created => "created",
        Status::Running => "running",
        Status::Paused => "paused",
        Status::Stopped => "stopped",
    }
}

/// The container's status: stopped once the init has exited, created
/// until `start`, paused while frozen, running otherwise.
fn status(kernel: &Kernel, gate: &StartGate) -> Status {
    if kernel.init_exit.lock().map(|e| e.is_some()).unwrap_or(true) {
        Status::Stopped
    } else if !gate.is_open() {
        Status::Created
    } else if crate::kernel::freeze::is_frozen() {
        Status::Paused
    } else {
        Status::Running
    }
}

/// A signal as sent from outside the sandbox (sender pid 0, SI_USER), so
/// an init without a handler is not immune to it.
fn outside_signal(signo: i32) -> SigInfo {
    SigInfo {
        signo,
        code: signal::SI_USER,
        pid: 0,
        ..SigInfo::default()
    }
}

/// Whether a signal's default action ends the process.
fn is_fatal(signo: i32) -> bool {
    use crate::kernel::signal::{default_action, DefaultAction};
    signo == libc::SIGKILL || matches!(default_action(signo), DefaultAction::Terminate | DefaultAction::Core)
}

fn signal_init(kernel: &Kernel, gate: &StartGate, signo: i32, all: bool) -> Response {
    if !(0..=64).contains(&signo) {
        return error(format!("invalid signal {signo}"));
    }
    if status(kernel, gate) == Status::Stopped {
        return error("container not running".to_string());
    }
    if signo == 0 {
        return Response::Ok;
    }
    let targets: Vec<i32> = if all {
        kernel
            .groups()
            .iter()
            .filter(|g| g.state.lock().map(|s| s.zombie.is_none()).unwrap_or(false))
            .map(|g| g.tgid)
            .collect()
    } else {
        vec![1]
    };
    for tgid in targets {
        if let Err(e) = signal::post(SignalTarget::Process(tgid), outside_signal(signo)) {
            tracing::debug!("signal {signo} to {tgid}: {e:?}");
        }
    }
    // A held init that is sent a fatal signal dies before its first
    // instruction: let it reach the signal delivery in its run loop.
    if !gate.is_open() && is_fatal(signo) {
        gate.open();
    }
    Response::Ok
}

/// Blocks until the init exits; its shell-style exit code.
fn wait_init(kernel: &Kernel) -> Option<i32> {
    let mut exit = kernel.init_exit.lock().ok()?;
    loop {
        if let Some(status) = *exit {
            return Some(status.host_exit_code());
        }
        exit = kernel.init_exited.wait(exit).ok()?;
    }
}

fn processes(kernel: &Kernel) -> Vec<ProcessInfo> {
    let mut out: Vec<ProcessInfo> = kernel
        .groups()
        .iter()
        .filter_map(|g| {
            let ppid = {
                let s = g.state.lock().ok()?;
                if s.zombie.is_some() {
                    return None;
                }
                s.parent
            };
            let comm = kernel
                .task(g.tgid)
                .map(|t| String::from_utf8_lossy(&t.proc.snapshot().comm).into_owned())
                .unwrap_or_default();
            Some(ProcessInfo {
                pid: g.tgid,
                ppid,
                comm,
            })
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}
