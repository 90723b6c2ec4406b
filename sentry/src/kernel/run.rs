//! Booting the kernel and the task run loop.
//!
//! Order matters: the sentry reads its own maps to place the trampoline
//! before it gives up its view of host paths; then it confines itself to
//! an empty root, drops its capabilities, has the zygote thread fork the
//! zygote, installs its seccomp allow-list, connects to the gofer, and
//! starts the init task on a thread of its own. The main
//! thread waits for the init to exit: its status is the sandbox's.

use super::signal::{self, bit, default_action, DefaultAction, SigInfo, SignalState, SIG_DFL, SIG_IGN};
use super::task::{ExitStatus, Task, TaskShared};
use super::thread_group::{ChildReport, ThreadGroup};
use super::zygote_server::ZygoteClient;
use super::{Credentials, Kernel};
use crate::boot::BootConfig;
use crate::platform::ptrace::layout::{StubLayout, TRAMPOLINE_SIZE};
use crate::platform::Event;
use crate::syscalls::{table, SyscallArgs};
use crate::{confine, loader, mm::MemoryManager, strace, vfs};
use std::collections::HashSet;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use syscalls::Errno;

/// Exit status used when the sandbox cannot start (as runc uses for its own errors).
pub const BOOT_FAILURE: i32 = 125;
/// Exit status when the program cannot be executed (as a shell reports it).
pub const EXEC_FAILURE: i32 = 126;
/// Exit status when the program does not exist (as a shell reports it).
pub const NOT_FOUND: i32 = 127;

/// `SA_RESTART`.
const SA_RESTART: u64 = 0x1000_0000;
/// `SA_NODEFER`.
const SA_NODEFER: u64 = 0x4000_0000;
/// `SA_RESETHAND`.
const SA_RESETHAND: u64 = 0x8000_0000;

/// Boots the kernel and runs the init to completion; returns the exit code.
pub fn run_sandbox(config: BootConfig, gofer_socket: OwnedFd, mount_sockets: Vec<OwnedFd>) -> i32 {
    run_sandbox_with_control(config, gofer_socket, mount_sockets, None, Vec::new())
}

/// As [`run_sandbox`], with a control socket: the init waits for `start`.
pub fn run_sandbox_with_control(
    config: BootConfig,
    gofer_socket: OwnedFd,
    mount_sockets: Vec<OwnedFd>,
    control: Option<OwnedFd>,
    preserved: Vec<OwnedFd>,
) -> i32 {
    match boot_and_run(config, gofer_socket, mount_sockets, control, preserved) {
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
    /// A mount of the boot mount list failed.
    #[error("{0}")]
    Mount(#[from] crate::fs::mounts::BootMountError),
    /// The sentry's seccomp filter could not be installed.
    #[error("{0}")]
    Seccomp(#[from] crate::seccomp::SeccompError),
}

/// Host networking: the namespace the guest's sockets will live in, set up
/// while the sentry still holds its capabilities and sees /proc. A fresh
/// one (OCI `network` namespace without a path) gets `lo` up; one that is
/// the container's (fresh or joined by runsc) lets the guest's root bind
/// low ports. Then inet sockets become host sockets.
fn prepare_host_netns(netns: crate::boot::HostNetns) -> Result<(), Errno> {
    use crate::boot::HostNetns;
    if netns == HostNetns::New {
        // SAFETY: unshare has no memory arguments.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
            return Err(Errno::last());
        }
        crate::net::hostinet::loopback_up()?;
    }
    if netns != HostNetns::Inherited {
        crate::net::hostinet::allow_low_ports();
    }
    crate::net::hostinet::enable();
    Ok(())
}

fn boot_and_run(
    config: BootConfig,
    gofer_socket: OwnedFd,
    mount_sockets: Vec<OwnedFd>,
    control: Option<OwnedFd>,
    preserved: Vec<OwnedFd>,
) -> Result<ExitStatus, BootError> {
    let program = config.argv.first().ok_or(BootError::Config("empty argv"))?.clone();
    // Termination signals sent to the sentry from outside become guest
    // signals for the init: block them in every sentry thread (the mask is
    // inherited by threads spawned from here on) and take them on one thread.
    let forwarded = forwarded_signals();
    // SAFETY: pthread_sigmask with a valid, initialised set.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &forwarded, std::ptr::null_mut()) };
    // The layout is read from /proc/self/maps while the sentry still sees
    // it; then the sentry confines itself and drops every capability
    // before it starts a thread or forks the zygote (which, like the stubs
    // forked from it, then holds none either); the seccomp allow-list
    // comes after the zygote fork, so stubs never inherit it.
    let layout = StubLayout::discover()?;
    crate::control::server::detect_user_namespace();
    let host_net = config.network == crate::boot::NetworkMode::Host;
    if host_net {
        prepare_host_netns(config.netns).map_err(BootError::Confine)?;
    }
    confine::confine_sentry(host_net).map_err(BootError::Confine)?;
    crate::capdrop::drop_all().map_err(BootError::Confine)?;
    let zygote = ZygoteClient::start(layout)?;
    crate::seccomp::install_for(crate::seccomp::Mode::from_env(), host_net)?;

    let gofer = Arc::new(gofer::client::Client::new(gofer_socket));
    let vfs = if config.overlay {
        vfs::Vfs::new_overlay(gofer)
    } else {
        vfs::Vfs::new(gofer, config.root_readonly)
    }
    .map_err(BootError::Vfs)?;
    if config.root_readonly {
        let root = vfs.root();
        root.mount.set_flags(root.mount.flags() | vfs::mount::flags::RDONLY);
    }
    crate::fs::mounts::apply_boot_mounts(&vfs, &config.mounts, mount_sockets)?;
    crate::fs::mounts::apply_masks(&vfs, &config.masked_paths, &config.readonly_paths)?;
    let kernel = Arc::new(Kernel {
        hostname: Mutex::new(config.hostname.clone()),
        domainname: Mutex::new("(none)".to_string()),
        boot_time: std::time::Instant::now(),
        strace: config.strace,
        layout: zygote.layout.clone(),
        donor_socket: zygote.donor_socket.clone(),
        vfs: vfs.clone(),
        unsupported_reported: Mutex::new(HashSet::new()),
        table: Mutex::new(super::TaskTable::default()),
        zygote,
        init_exit: Mutex::new(None),
        init_exited: std::sync::Condvar::new(),
        futexes: super::futex::FutexTable::default(),
    });
    if !super::set_global(kernel.clone()) {
        return Err(BootError::Config("a sandbox is already running in this process"));
    }
    // With a control socket the init is held after loading until `start`.
    let gate = crate::control::StartGate::new(control.is_none());
    let init_gate = gate.clone();

    let mut limits = super::limits::Limits::default();
    for &(resource, cur, max) in &config.rlimits {
        if let Some(slot) = limits.0.get_mut(resource as usize) {
            *slot = super::limits::Limit { cur, max };
        }
    }
    let fs = vfs::FsContext::new(&vfs, config.cwd.as_bytes(), config.umask & 0o777).map_err(BootError::Vfs)?;
    let fds = vfs::FdTable::new_with_stdio().map_err(BootError::Vfs)?;
    fds.install_host_fds(3, preserved).map_err(BootError::Vfs)?;
    let handlers = Arc::new(Mutex::new(
        [super::signal::KernelSigaction::default(); super::signal::NSIG],
    ));
    let tg = ThreadGroup::new(1, 0, 1, 1, handlers, libc::SIGCHLD);
    let shared = TaskShared::new(1, tg.clone(), 0);
    {
        let mut table = kernel
            .table
            .lock()
            .map_err(|_| BootError::Config("poisoned task table"))?;
        table.alloc_pid();
        table.tasks.insert(1, shared.clone());
        table.groups.insert(1, tg.clone());
    }
    let argv: Vec<Vec<u8>> = config.argv.iter().map(|s| s.as_bytes().to_vec()).collect();
    let envp: Vec<Vec<u8>> = config.env.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut creds = Credentials::new(config.uid, config.gid, config.additional_gids.clone());
    if let Some(caps) = config.capabilities {
        creds.caps = caps.normalized();
    }
    let no_new_privs = config.no_new_privileges;

    // The init runs on its own sentry thread, which must trace its stub.
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let k2 = kernel.clone();
    std::thread::Builder::new()
        .name("task-1".into())
        .spawn(move || {
            let thread = match k2.zygote.new_stub() {
                Ok(t) => t,
                Err(e) => {
                    let _ = started_tx.send(Err(BootError::Vfs(e)));
                    return;
                }
            };
            let reserved = (k2.layout.trampoline, k2.layout.trampoline + TRAMPOLINE_SIZE);
            tg.host_pid.store(thread.tid, Ordering::SeqCst);
            shared.host_tid.store(thread.tid, Ordering::SeqCst);
            let mut task = Task {
                kernel: k2.clone(),
                shared,
                tid: 1,
                tgid: 1,
                mm: MemoryManager::new(thread.tid, reserved),
                thread,
                fs,
                fds: Arc::new(fds),
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
                let _ = started_tx.send(Err(BootError::Exec(program, e)));
                return;
            }
            let _ = started_tx.send(Ok(()));
            init_gate.wait();
            run_task(&mut task);
        })
        .map_err(|_| BootError::Config("cannot start the init thread"))?;
    started_rx
        .recv()
        .map_err(|_| BootError::Config("the init thread died"))??;
    if let Some(listener) = control {
        crate::control::spawn(listener, kernel.clone(), gate)
            .map_err(|_| BootError::Config("cannot start the control thread"))?;
    }
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || forward_signals(forwarded));

    let mut exit = kernel.init_exit.lock().map_err(|_| BootError::Config("poisoned"))?;
    while exit.is_none() {
        exit = kernel
            .init_exited
            .wait(exit)
            .map_err(|_| BootError::Config("poisoned"))?;
    }
    let status = exit.unwrap_or(ExitStatus::Exited(0));
    drop(exit);
    for g in kernel.groups() {
        super::exit::kill_host_process(&g);
    }
    Ok(status)
}

/// The signals the CLI forwards to the sentry (and a terminal may send).
fn forwarded_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGWINCH,
            // ^Z on a host terminal: the sentry must not stop; the guest's
            // foreground group gets it (see `console`).
            libc::SIGTSTP,
        ] {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Takes forwarded host signals and sends them to the init, as signals from
/// outside the sandbox (so an init without a handler is not immune to them).
fn forward_signals(set: libc::sigset_t) {
    loop {
        // SAFETY: siginfo_t is plain data; all-zero is a valid value.
        let mut host: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigwaitinfo reads `set` and writes one siginfo_t.
        let sig = unsafe { libc::sigwaitinfo(&set, &mut host) };
        if sig < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return;
        }
        // Generated by the host terminal on our fd 0 (^C, ^\, ^Z, resize):
        // for the guest's foreground process group of that terminal.
        if host.si_code == libc::SI_KERNEL && super::console::is_terminal_signal(sig) {
            if super::console::signal_foreground(super::console::tty_rdev(0), 1, sig).is_err() {
                return;
            }
            continue;
        }
        if sig == libc::SIGTSTP {
            continue;
        }
        let info = SigInfo {
            signo: sig,
            code: signal::SI_USER,
            pid: 0,
            ..SigInfo::default()
        };
        if signal::post(signal::SignalTarget::Process(1), info).is_err() {
            return;
        }
    }
}

/// Runs a task until it exits: deliver signals, switch into application
/// code, serve the syscall or fault it stops with, repeat.
pub fn run_task(task: &mut Task) {
    super::set_current_task(task.shared.clone());
    if let Ok(mut mm) = task.shared.mm.lock() {
        *mm = Some(task.mm.clone());
    }
    task.shared.robust_list.store(task.robust_list.0, Ordering::SeqCst);
    task.shared.host_tid.store(task.thread.tid, Ordering::SeqCst);
    task.shared.mask.store(task.signals.mask, Ordering::SeqCst);
    let mut pending_restart: Option<Errno> = None;
    loop {
        crate::fs::proc::publish(task);
        if task.shared.is_killed() || task.exit_status.is_some() {
            break;
        }
        job_control_stop(task);
        if task.shared.is_killed() {
            break;
        }
        deliver_signals(task, pending_restart.take());
        if task.shared.is_killed() || task.exit_status.is_some() {
            break;
        }
        task.shared.in_guest.store(true, Ordering::SeqCst);
        if super::freeze::is_frozen() {
            // `runsc pause`: wait here, outside the guest.
            task.shared.in_guest.store(false, Ordering::SeqCst);
            let shared = task.shared.clone();
            super::freeze::wait_while_frozen(|| shared.is_killed());
            continue;
        }
        if task.shared.waker.is_interrupted() && has_deliverable(task) {
            task.shared.in_guest.store(false, Ordering::SeqCst);
            continue;
        }
        let event = task.thread.switch();
        task.shared.in_guest.store(false, Ordering::SeqCst);
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                tracing::error!("platform failure: {e}");
                super::exit::kill_group(
                    &task.shared.tg,
                    ExitStatus::Signaled {
                        signal: libc::SIGKILL,
                        core: false,
                    },
                );
                break;
            }
        };
        match event {
            Event::Syscall { nr, args } => {
                let args = SyscallArgs { nr, args };
                let result = dispatch(task, &args);
                if task.kernel.strace {
                    strace::log(task, &args, &result);
                }
                match result {
                    Err(e) if is_restart(e) => pending_restart = Some(e),
                    Ok(v) => task.thread.set_return(v),
                    Err(e) => task.thread.set_return(e.as_return()),
                }
            }
            Event::Fault(fault) => {
                tracing::debug!(
                    tid = task.tid,
                    signal = fault.signal,
                    code = fault.code,
                    addr = format_args!("{:#x}", fault.addr),
                    rip = format_args!("{:#x}", task.thread.regs().rip),
                    killed = task.shared.is_killed(),
                    "guest fault"
                );
                force_signal(
                    task,
                    SigInfo {
                        signo: fault.signal,
                        code: fault.code,
                        addr_or_value: fault.addr,
                        ..SigInfo::default()
                    },
                )
            }
            Event::HostSignal(_) => {}
            Event::Gone => {
                if !task.shared.is_killed() {
                    super::exit::kill_group(
                        &task.shared.tg,
                        ExitStatus::Signaled {
                            signal: libc::SIGKILL,
                            core: false,
                        },
                    );
                }
                break;
            }
        }
    }
    if task.exit_status.is_none() {
        task.exit_status = task.shared.tg.state.lock().ok().and_then(|s| s.exiting);
    }
    super::exit::task_exited(task);
}

fn dispatch(task: &mut Task, args: &SyscallArgs) -> Result<u64, Errno> {
    match table::lookup(args.nr).handler {
        Some(handler) => handler(task, args),
        None => {
            task.kernel.report_unsupported(args.nr);
            Err(Errno::ENOSYS)
        }
    }
}

fn is_restart(e: Errno) -> bool {
    matches!(
        e,
        Errno::ERESTARTSYS | Errno::ERESTARTNOINTR | Errno::ERESTARTNOHAND | Errno::ERESTART_RESTARTBLOCK
    )
}

/// True when a signal not blocked by the task is pending for it.
fn has_deliverable(task: &Task) -> bool {
    let mask = task.signals.mask;
    let own = task.shared.pending.lock().map(|p| p.set).unwrap_or(0);
    let group = task.shared.tg.state.lock().map(|s| s.pending.set).unwrap_or(0);
    (own | group) & !mask != 0
}

/// A synchronous fault: delivered even if blocked or ignored (Linux's
/// force_sig: the disposition is reset to default in that case).
fn force_signal(task: &mut Task, info: SigInfo) {
    let sig = info.signo;
    let blocked = task.signals.mask & bit(sig) != 0;
    let action = task.shared.tg.action(sig);
    if blocked || action.handler == SIG_IGN {
        if let Ok(mut h) = task.shared.tg.handlers.lock() {
            if let Some(a) = h.get_mut((sig - 1) as usize) {
                *a = Default::default();
            }
        }
        let mask = task.signals.mask & !bit(sig);
        task.set_sigmask(mask);
    }
    if let Ok(mut p) = task.shared.pending.lock() {
        p.discard(bit(sig));
        p.enqueue(info);
    }
    task.shared.waker.set_interrupted(true);
}

/// Sleeps while the group is stopped by job control (SIGKILL ends it).
fn job_control_stop(task: &mut Task) {
    let tg = task.shared.tg.clone();
    while tg.state.lock().map(|s| s.stopped).unwrap_or(false) && !task.shared.is_killed() {
        let _ = super::wait::block_until(
            &[&tg.stop_events],
            Some(std::time::Instant::now() + std::time::Duration::from_millis(100)),
            || (!tg.state.lock().map(|s| s.stopped).unwrap_or(false)).then_some(()),
        );
    }
}

/// Takes the next deliverable signal: thread-directed first, then the group's.
fn dequeue(task: &Task) -> Option<SigInfo> {
    let mask = task.signals.mask;
    let own = task.shared.pending.lock().ok()?.dequeue(mask);
    let mut info = match own {
        Some(i) => i,
        None => task.shared.tg.state.lock().ok()?.pending.dequeue(mask)?,
    };
    signal::on_dequeue(task.tgid, &mut info);
    Some(info)
}

/// Delivers pending signals: ignores, default actions, or one handler frame.
/// `restart` is the restart errno of an interrupted syscall, if any.
fn deliver_signals(task: &mut Task, restart: Option<Errno>) {
    let mut restart = restart;
    while let Some(info) = dequeue(task) {
        let sig = info.signo;
        let action = task.shared.tg.action(sig);
        if action.handler == SIG_IGN {
            continue;
        }
        if action.handler == SIG_DFL {
            match default_action(sig) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => {
                    group_stop(task, sig);
                    continue;
                }
                DefaultAction::Terminate | DefaultAction::Core => {
                    // The init of a PID namespace ignores signals from inside
                    // it that have no handler; faults and SIGKILL still end it.
                    let from_kernel = info.code > 0 || info.code == signal::SI_KERNEL;
                    if task.tgid == 1 && !from_kernel && sig != libc::SIGKILL && info.pid != 0 {
                        continue;
                    }
                    let status = ExitStatus::Signaled {
                        signal: sig,
                        core: default_action(sig) == DefaultAction::Core,
                    };
                    task.exit_status = Some(status);
                    super::exit::kill_group(&task.shared.tg, status);
                    return;
                }
            }
        }
        // A handler: decide the fate of an interrupted syscall, then build the frame.
        if let Some(e) = restart.take() {
            let do_restart = e == Errno::ERESTARTNOINTR || (e == Errno::ERESTARTSYS && action.flags & SA_RESTART != 0);
            let regs = task.thread.regs_mut();
            if do_restart {
                regs.rax = regs.orig_rax;
                regs.rip -= 2;
            } else {
                regs.rax = Errno::EINTR.as_return();
            }
        }
        if let Err(e) = setup_frame(task, &info, action) {
            tracing::debug!("signal frame for {sig} failed: {e}");
            let status = ExitStatus::Signaled {
                signal: libc::SIGSEGV,
                core: true,
            };
            task.exit_status = Some(status);
            super::exit::kill_group(&task.shared.tg, status);
            return;
        }
        // A handler ran: an interrupted sleep is no longer restartable.
        super::timers::clear_restart_block();
        if action.flags & SA_RESETHAND != 0 {
            if let Ok(mut h) = task.shared.tg.handlers.lock() {
                if let Some(a) = h.get_mut((sig - 1) as usize) {
                    *a = Default::default();
                }
            }
        }
        let mut mask = task.signals.mask | action.mask;
        if action.flags & SA_NODEFER == 0 {
            mask |= bit(sig);
        }
        task.set_sigmask(mask);
        break;
    }
    if let Some(e) = restart {
        // No handler ran: the call restarts transparently.
        let regs = task.thread.regs_mut();
        if e == Errno::ERESTART_RESTARTBLOCK {
            regs.rax = libc::SYS_restart_syscall as u64;
        } else {
            regs.rax = regs.orig_rax;
        }
        regs.rip -= 2;
    }
    if let Some(saved) = task.saved_mask.take() {
        // sigsuspend/ppoll: a handler frame would have saved and consumed
        // the original mask; with no handler it comes back now.
        task.set_sigmask(saved);
    }
    signal::recalc_pending(&task.shared);
}

/// Starts a job-control stop of the whole group.
fn group_stop(task: &mut Task, sig: i32) {
    let tg = task.shared.tg.clone();
    let (parent, threads) = match tg.state.lock() {
        Ok(mut s) => {
            if s.exiting.is_some() {
                return;
            }
            s.stopped = true;
            s.report = Some(ChildReport::Stopped(sig));
            (s.parent, s.threads.clone())
        }
        Err(_) => return,
    };
    for tid in threads {
        if tid != task.tid {
            if let Some(t) = task.kernel.task(tid) {
                t.kick();
            }
        }
    }
    super::exit::notify_parent_of_change(tg.tgid, parent, libc::CLD_STOPPED, sig);
}

/// Builds a handler frame on the guest stack and points the thread at the handler.
fn setup_frame(task: &mut Task, info: &SigInfo, action: signal::KernelSigaction) -> Result<(), Errno> {
    let fpstate = crate::platform::ptrace::fpu::get_fpstate(task.thread.tid)?;
    let saved_mask = task.saved_mask.unwrap_or(task.signals.mask);
    let regs = *task.thread.regs();
    let delivery = super::sigframe::SignalDelivery {
        regs: &regs,
        fpstate: &fpstate,
        info,
        handler: action.handler,
        flags: action.flags,
        restorer: action.restorer,
        saved_mask,
        altstack: task.signals.altstack,
    };
    let frame = super::sigframe::build_frame(&delivery)?;
    task.mm.write(frame.addr, &frame.bytes)?;
    *task.thread.regs_mut() = frame.regs;
    crate::platform::ptrace::fpu::set_fpstate(task.thread.tid, &frame.handler_fpstate)?;
    if let Some(alt) = frame.altstack_after {
        task.signals.altstack = alt;
    }
    if task.saved_mask.is_some() {
        task.saved_mask = None;
    }
    Ok(())
}
