//! `runsc exec`: starting a new process in a running sandbox.
//!
//! The process is a new session leader whose parent is outside the sandbox
//! (ppid 0, as gVisor and runc's exec'd processes see it); its stdio are
//! the three host fds the CLI passed with `SCM_RIGHTS`. It is reaped at
//! exit (no sandbox parent waits for it) and its status goes back on the
//! request's connection.

use super::protocol::{self, ExecRequest, Response};
use super::StartGate;
use crate::kernel::signal::SignalState;
use crate::kernel::task::{ExitStatus, Task, TaskShared};
use crate::kernel::thread_group::ThreadGroup;
use crate::kernel::{Credentials, Kernel};
use crate::platform::ptrace::layout::TRAMPOLINE_SIZE;
use crate::vfs::{FdTable, FsContext};
use crate::{loader, mm::MemoryManager};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use syscalls::Errno;

/// Starts `req` with `fds` (stdin, stdout, stderr) as its stdio, replies
/// `Started` on `conn`, and returns the final `Exited` reply.
pub(super) fn exec(
    kernel: &Arc<Kernel>,
    gate: &StartGate,
    req: ExecRequest,
    fds: Vec<OwnedFd>,
    conn: &OwnedFd,
) -> Response {
    if !gate.is_open() {
        return error("the container has not been started".into());
    }
    if kernel.init_exit.lock().map(|e| e.is_some()).unwrap_or(true) {
        return error("the container has stopped".into());
    }
    // Stdio, then any fds the caller preserves (`exec --preserve-fds`):
    // the process gets them as 0, 1, 2, 3, ...
    if fds.len() < 3 {
        return error(format!("exec needs 3 stdio fds, got {}", fds.len()));
    }
    let stderr = fds.get(2).and_then(|fd| fd.try_clone().ok());
    let (pid, tg) = match start(kernel, req, fds) {
        Ok(started) => started,
        // The program could not be loaded: say so on its stderr, as a
        // shell would, and answer with a shell's status (127, 126).
        Err(StartError::Exec(path, e)) => {
            if let Some(fd) = stderr {
                use std::io::Write;
                let _ = std::fs::File::from(fd).write_all(format!("runsc: {path}: {}\n", e.description()).as_bytes());
            }
            let code = if e == Errno::ENOENT { 127 } else { 126 };
            return Response::Exited { code };
        }
        Err(StartError::Other(message)) => return error(message),
    };
    if let Err(e) = protocol::send(conn.as_fd(), &Response::Started { pid }, &[]) {
        tracing::debug!("exec reply: {e}");
    }
    // No sandbox parent waits for it: it is reaped at exit (removed from the
    // table) and its final status stays in its thread group.
    loop {
        let gone = kernel.group(pid).is_none_or(|g| !Arc::ptr_eq(&g, &tg));
        if gone {
            let status = tg.state.lock().ok().and_then(|s| s.exiting);
            let code = status.unwrap_or(ExitStatus::Signaled {
                signal: libc::SIGKILL,
                core: false,
            });
            return Response::Exited {
                code: code.host_exit_code(),
            };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn error(message: String) -> Response {
    Response::Error { message }
}

/// Why a process could not be started.
enum StartError {
    /// The program could not be loaded.
    Exec(String, Errno),
    /// Anything else.
    Other(String),
}

impl From<&str> for StartError {
    fn from(s: &str) -> Self {
        StartError::Other(s.to_string())
    }
}

impl From<String> for StartError {
    fn from(s: String) -> Self {
        StartError::Other(s)
    }
}

/// Creates the process: a pid, a thread group, a sentry thread that forks
/// a fresh stub, loads the program and runs it.
fn start(kernel: &Arc<Kernel>, req: ExecRequest, fds: Vec<OwnedFd>) -> Result<(i32, Arc<ThreadGroup>), StartError> {
    let program = req.argv.first().cloned().ok_or("empty argv")?;
    let fs = FsContext::new(&kernel.vfs, req.cwd.as_bytes(), req.umask & 0o777)
        .map_err(|e| format!("cwd {}: {}", req.cwd, e.description()))?;
    let table = FdTable::new();
    table
        .install_host_fds(0, fds)
        .map_err(|e| format!("stdio: {}", e.description()))?;
    let limits = kernel.task(1).map(|t| t.proc.snapshot().limits).unwrap_or_default();
    let handlers = Arc::new(Mutex::new(
        [crate::kernel::signal::KernelSigaction::default(); crate::kernel::signal::NSIG],
    ));
    let (pid, tg, shared) = {
        let mut t = kernel.table.lock().map_err(|_| "poisoned task table")?;
        let pid = t.alloc_pid().ok_or("no free pid")?;
        let tg = ThreadGroup::new(pid, 0, pid, pid, handlers, libc::SIGCHLD);
        let shared = TaskShared::new(pid, tg.clone(), 0);
        t.tasks.insert(pid, shared.clone());
        t.groups.insert(pid, tg.clone());
        (pid, tg, shared)
    };
    let mut creds = Credentials::new(req.uid, req.gid, req.additional_gids.clone());
    if let Some(caps) = req.capabilities {
        creds.caps = caps.normalized();
    }
    let no_new_privs = req.no_new_privileges;
    let argv: Vec<Vec<u8>> = req.argv.iter().map(|s| s.as_bytes().to_vec()).collect();
    let envp: Vec<Vec<u8>> = req.env.iter().map(|s| s.as_bytes().to_vec()).collect();
    let (tx, rx) = std::sync::mpsc::channel::<Result<(), Errno>>();
    let k2 = kernel.clone();
    let tg2 = tg.clone();
    let spawned = std::thread::Builder::new().name(format!("task-{pid}")).spawn(move || {
        let thread = match k2.zygote.new_stub() {
            Ok(t) => t,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let reserved = (k2.layout.trampoline, k2.layout.trampoline + TRAMPOLINE_SIZE);
        tg2.host_pid.store(thread.tid, Ordering::SeqCst);
        shared.host_tid.store(thread.tid, Ordering::SeqCst);
        let mut task = Task {
            kernel: k2.clone(),
            shared,
            tid: pid,
            tgid: pid,
            mm: MemoryManager::new(thread.tid, reserved),
            thread,
            fs,
            fds: Arc::new(table),
            creds,
            limits,
            signals: SignalState::default(),
            clear_child_tid: 0,
            robust_list: (0, 0),
            comm: Vec::new(),
            exit_status: None,
            start_time: std::time::Instant::now(),
            no_new_privs,
            restart: None,
            saved_mask: None,
        };
        if let Err(e) = loader::exec::load_program(&mut task, program.as_bytes(), argv, envp) {
            task.thread.kill_process();
            let _ = tx.send(Err(e));
            return;
        }
        let _ = tx.send(Ok(()));
        crate::kernel::run::run_task(&mut task);
    });
    let outcome = match spawned {
        Ok(_) => rx.recv().unwrap_or(Err(Errno::EAGAIN)),
        Err(_) => Err(Errno::EAGAIN),
    };
    if let Err(e) = outcome {
        if let Ok(mut t) = kernel.table.lock() {
            t.tasks.remove(&pid);
            t.groups.remove(&pid);
        }
        return Err(StartError::Exec(req.argv[0].clone(), e));
    }
    Ok((pid, tg))
}
