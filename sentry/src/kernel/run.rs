//! Booting the kernel and the task run loop.
//!
//! Order matters: the zygote is forked before the sentry starts any thread
//! and before it gives up its view of host paths (it reads its own maps to
//! place the trampoline); then the sentry confines itself to an empty root,
//! connects to the gofer, creates the init task and runs it.

use super::{
    signal::{default_action_is_core, SignalState},
    task::ExitStatus,
    Credentials, Kernel, Task,
};
use crate::boot::BootConfig;
use crate::platform::ptrace::{layout::StubLayout, Zygote};
use crate::platform::Event;
use crate::syscalls::{table, SyscallArgs};
use crate::{confine, loader, mm::MemoryManager, strace, vfs};
use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use syscalls::Errno;

/// Exit status used when the sandbox cannot start (as runc uses for its own errors).
pub const BOOT_FAILURE: i32 = 125;
/// Exit status when the program cannot be executed (as a shell reports it).
pub const EXEC_FAILURE: i32 = 126;
/// Exit status when the program does not exist (as a shell reports it).
pub const NOT_FOUND: i32 = 127;

/// Boots the kernel and runs the init to completion; returns the exit code.
pub fn run_sandbox(config: BootConfig, gofer_socket: OwnedFd) -> i32 {
    match boot_and_run(config, gofer_socket) {
        Ok(status) => status.host_exit_code(),
        Err(BootError::Exec(path, e)) => {
            eprintln!("runsc: {path}: {}", e.description());
            if e == Errno::ENOENT {
                NOT_FOUND
            } else {
                EXEC_FAILURE
            }
        }
        Err(e) => {
            eprintln!("runsc: {e}");
            BOOT_FAILURE
        }
    }
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The platform could not create stubs.
    #[error("platform: {0}")]
    Platform(#[from] crate::platform::ptrace::PlatformError),
    /// The sentry could not confine itself.
    #[error("confining the sentry: {0}")]
    Confine(Errno),
    /// The filesystem could not be set up.
    #[error("filesystem: {0}")]
    Vfs(Errno),
    /// The program could not be loaded.
    #[error("{0}: {1}")]
    Exec(String, Errno),
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

fn boot_and_run(config: BootConfig, gofer_socket: OwnedFd) -> Result<ExitStatus, BootError> {
    let program = config.argv.first().ok_or(BootError::Config("empty argv"))?.clone();
    let layout = StubLayout::discover()?;
    let mut zygote = Zygote::create(layout)?;
    confine::confine_sentry().map_err(BootError::Confine)?;

    let gofer = Arc::new(gofer::client::Client::new(gofer_socket));
    let vfs = vfs::Vfs::new(gofer).map_err(BootError::Vfs)?;
    let kernel = Arc::new(Kernel {
        hostname: Mutex::new(config.hostname.clone()),
        domainname: Mutex::new("(none)".to_string()),
        boot_time: std::time::Instant::now(),
        strace: config.strace,
        layout: zygote.layout.clone(),
        donor_socket: zygote.donor_socket.clone(),
        vfs: vfs.clone(),
        unsupported_reported: Mutex::new(HashSet::new()),
    });

    let thread = zygote.spawn_stub()?;
    let reserved = (
        kernel.layout.trampoline,
        kernel.layout.trampoline + crate::platform::ptrace::layout::TRAMPOLINE_SIZE,
    );
    let mut limits = super::limits::Limits::default();
    for &(resource, cur, max) in &config.rlimits {
        if let Some(slot) = limits.0.get_mut(resource as usize) {
            *slot = super::limits::Limit { cur, max };
        }
    }
    let fs = vfs::FsContext::new(&vfs, config.cwd.as_bytes(), config.umask & 0o777).map_err(BootError::Vfs)?;
    let fds = vfs::FdTable::new_with_stdio().map_err(BootError::Vfs)?;
    let mut task = Task {
        kernel: kernel.clone(),
        tid: 1,
        tgid: 1,
        ppid: 0,
        mm: MemoryManager::new(thread.tid, reserved),
        thread,
        fs,
        fds: Arc::new(fds),
        creds: Credentials::new(config.uid, config.gid, config.additional_gids.clone()),
        limits,
        signals: SignalState::default(),
        clear_child_tid: 0,
        robust_list: (0, 0),
        comm: Vec::new(),
        exit_status: None,
        start_time: std::time::Instant::now(),
        no_new_privs: false,
    };
    let argv: Vec<Vec<u8>> = config.argv.iter().map(|s| s.as_bytes().to_vec()).collect();
    let envp: Vec<Vec<u8>> = config.env.iter().map(|s| s.as_bytes().to_vec()).collect();
    if let Err(e) = loader::exec::load_program(&mut task, program.as_bytes(), argv, envp) {
        task.thread.kill_process();
        return Err(BootError::Exec(program, e));
    }
    let status = run_task(&mut task);
    task.thread.kill_process();
    Ok(status)
}

/// Runs a task until it exits: switch into application code, serve the
/// syscall or fault it stops with, repeat.
pub fn run_task(task: &mut Task) -> ExitStatus {
    loop {
        let event = match task.thread.switch() {
            Ok(event) => event,
            Err(e) => {
                tracing::error!("platform failure: {e}");
                return ExitStatus::Signaled {
                    signal: libc::SIGKILL,
                    core: false,
                };
            }
        };
        match event {
            Event::Syscall { nr, args } => {
                let args = SyscallArgs { nr, args };
                let entry = table::lookup(nr);
                let result = match entry.handler {
                    Some(handler) => handler(task, &args),
                    None => {
                        task.kernel.report_unsupported(nr);
                        Err(Errno::ENOSYS)
                    }
                };
                if task.kernel.strace {
                    strace::log(task, &args, &result);
                }
                if let Some(status) = task.exit_status {
                    return status;
                }
                let raw = match result {
                    Ok(v) => v,
                    Err(e) => e.as_return(),
                };
                task.thread.set_return(raw);
            }
            Event::Fault(fault) => {
                // Handlers are not invoked yet: a fault takes the default
                // action, which for every fault signal is to dump core.
                tracing::debug!("fault {:?}", fault);
                return ExitStatus::Signaled {
                    signal: fault.signal,
                    core: default_action_is_core(fault.signal),
                };
            }
            Event::HostSignal(sig) => {
                // Asynchronous host signals never reach the guest directly.
                tracing::debug!("host signal {sig} for stub suppressed");
            }
            Event::Gone => {
                return ExitStatus::Signaled {
                    signal: libc::SIGKILL,
                    core: false,
                }
            }
        }
    }
}
