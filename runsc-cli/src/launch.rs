//! Starting the sandbox's processes: the gofer/sentry socketpair, the
//! config pipe, spawning children with fds placed at fixed numbers, and
//! waiting for the sentry while forwarding signals to it.
//!
//! Everything here runs before any thread exists (fork in a multi-threaded
//! process is a known hazard, youki#3027). Signal forwarding therefore uses
//! blocked signals and `sigtimedwait` in the main thread instead of a
//! signal-handling thread.

use crate::error::CliError;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Signals that runsc forwards to the sentry (as runc forwards to the init).
pub const FORWARDED: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

/// The most fds a child can be given (keeps the pre-exec code allocation-free).
const MAX_FDS: usize = 64;

/// A `SOCK_SEQPACKET` unix socketpair, both ends close-on-exec: one end for
/// the gofer, one for the sentry.
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd), CliError> {
    let mut fds = [-1; 2];
    // SAFETY: socketpair writes two fds into the 2-element array we own.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(CliError::io(
            "socketpair(AF_UNIX, SOCK_SEQPACKET)",
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: both fds were just created by socketpair and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A close-on-exec pipe, `(read end, write end)`.
pub fn cloexec_pipe() -> Result<(OwnedFd, OwnedFd), CliError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| CliError::nix("pipe2", e))
}

/// The gofer sockets of a sandbox's bind mounts (one socketpair per `Bind`
/// mount of the boot configuration, in order).
#[derive(Debug, Default)]
pub struct BindMounts {
    /// The gofer ends of the mounts' sockets (drop them once the gofer runs).
    pub gofer_ends: Vec<OwnedFd>,
    /// The sentry ends (drop them once the sentry runs).
    pub sentry_ends: Vec<OwnedFd>,
    /// `--mount SRC:FD[:ro]` arguments for `runsc gofer`.
    pub gofer_args: Vec<String>,
    /// `--mount-fds N,M,...` arguments for `runsc boot` (empty without binds).
    pub boot_args: Vec<String>,
    /// The fd numbers of the gofer ends in the gofer.
    gofer_fds: Vec<RawFd>,
    /// The fd numbers of the sentry ends in the sentry.
    pub sentry_fds: Vec<RawFd>,
}

impl BindMounts {
    /// Makes a socket for every bind mount of `config`, whose ends will sit
    /// at fds `gofer_first`, `gofer_first + 1`, ... in the gofer and
    /// `sentry_first`, ... in the sentry. A source that does not exist is
    /// an error; one that is not a directory is marked for the sentry (it
    /// cannot look at host paths itself), since the gofer serves a file
    /// inside a directory of its own.
    pub fn prepare(
        config: &mut sentry::boot::BootConfig,
        gofer_first: RawFd,
        sentry_first: RawFd,
    ) -> Result<BindMounts, CliError> {
        let mut out = BindMounts::default();
        for spec in &mut config.mounts {
            let sentry::boot::MountKind::Bind { source } = &spec.kind else {
                continue;
            };
            let meta = std::fs::metadata(source).map_err(|e| CliError::io(format!("bind mount source {source}"), e))?;
            let file_bind = sentry::fs::mounts::FILE_BIND_OPTION;
            if !meta.is_dir() && !spec.options.iter().any(|o| o == file_bind) {
                spec.options.push(file_bind.to_string());
            }
            let ro = sentry::fs::mounts::parse_options(&spec.options).flags & sentry::vfs::mount::flags::RDONLY != 0;
            let i = out.gofer_ends.len() as RawFd;
            let (g, sfd) = (gofer_first + i, sentry_first + i);
            out.gofer_args.push("--mount".into());
            out.gofer_args
                .push(format!("{source}:{g}{}", if ro { ":ro" } else { "" }));
            out.gofer_fds.push(g);
            out.sentry_fds.push(sfd);
            let (gofer_end, sentry_end) = seqpacket_pair()?;
            out.gofer_ends.push(gofer_end);
            out.sentry_ends.push(sentry_end);
        }
        if !out.sentry_fds.is_empty() {
            let list: Vec<String> = out.sentry_fds.iter().map(|fd| fd.to_string()).collect();
            out.boot_args = vec!["--mount-fds".into(), list.join(",")];
        }
        Ok(out)
    }

    /// The gofer's fd placements.
    pub fn gofer_fds(&self) -> Vec<(BorrowedFd<'_>, RawFd)> {
        self.gofer_ends
            .iter()
            .map(|g| g.as_fd())
            .zip(self.gofer_fds.iter().copied())
            .collect()
    }
}

/// Blocks the forwarded signals and SIGCHLD in the calling thread so that
/// [`wait_forwarding`] can collect them with `sigtimedwait`. Call before
/// spawning: [`spawn`] unblocks them again in the children.
pub fn block_signals() -> Result<SigSet, CliError> {
    let mut set = SigSet::empty();
    for sig in FORWARDED {
        set.add(sig);
    }
    set.add(Signal::SIGCHLD);
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .map_err(|e| CliError::nix("blocking signals", e))?;
    Ok(set)
}

/// How to start one child process.
pub struct ChildSpec<'a> {
    /// The executable (`/proc/self/exe` for runsc's own children).
    pub program: &'a Path,
    /// `argv[0]` as the child sees it (shows in `ps`).
    pub arg0: &'a str,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// `(fd in this process, fd number in the child)`.
    pub fds: Vec<(BorrowedFd<'a>, RawFd)>,
    /// Put the child in its own process group, so terminal signals (^C)
    /// reach only the sentry's group and not, say, the gofer.
    pub new_process_group: bool,
    /// Give the child /dev/null as stdin instead of ours.
    pub null_stdin: bool,
    /// Signals to unblock in the child (those [`block_signals`] blocked).
    pub unblock: Option<SigSet>,
}

/// Spawns a child with its fds placed at the requested numbers, every other
/// inherited fd above them made close-on-exec, and `PR_SET_PDEATHSIG(SIGKILL)`
/// so it cannot outlive this process. Returns its pid.
pub fn spawn(spec: ChildSpec<'_>) -> Result<Pid, CliError> {
    spawn_with(spec, true)
}

/// As [`spawn`], but the child outlives this process (no
/// `PR_SET_PDEATHSIG`): `runsc create` returns while the sandbox lives on.
pub fn spawn_detached(spec: ChildSpec<'_>) -> Result<Pid, CliError> {
    spawn_with(spec, false)
}

fn spawn_with(spec: ChildSpec<'_>, die_with_parent: bool) -> Result<Pid, CliError> {
    let plan = ChildPlan::new(&spec, die_with_parent)?;
    let mut cmd = Command::new(spec.program);
    cmd.arg0(spec.arg0).args(spec.args.iter().map(OsStr::new));
    if spec.null_stdin {
        cmd.stdin(Stdio::null());
    }
    // SAFETY: the closure runs in the forked child before exec and only
    // makes async-signal-safe calls on data copied before the fork (see
    // `ChildPlan::apply`); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || plan.apply());
    }
    let child = cmd.spawn().map_err(|e| {
        CliError::io(
            format!("starting {} {}", spec.arg0, spec.args.first().map_or("", |s| s)),
            e,
        )
    })?;
    let pid =
        i32::try_from(child.id()).map_err(|_| CliError::io("child pid", io::Error::from_raw_os_error(libc::ERANGE)))?;
    // The child is reaped with waitpid by pid; dropping `child` does not wait.
    Ok(Pid::from_raw(pid))
}

/// What a child does between fork and exec, prepared before the fork so
/// that [`ChildPlan::apply`] allocates nothing.
#[derive(Clone, Copy)]
pub(crate) struct ChildPlan {
    map: [(RawFd, RawFd); MAX_FDS],
    count: usize,
    lowest_free: RawFd,
    parent: libc::pid_t,
    die_with_parent: bool,
    new_pgroup: bool,
    unblock: Option<SigSet>,
}

impl ChildPlan {
    /// The first fd number that is no target of the plan.
    pub(crate) fn lowest_free(&self) -> RawFd {
        self.lowest_free
    }

    /// The plan for `spec`.
    pub(crate) fn new(spec: &ChildSpec<'_>, die_with_parent: bool) -> Result<ChildPlan, CliError> {
        if spec.fds.len() > MAX_FDS {
            return Err(CliError::io("spawn", io::Error::from_raw_os_error(libc::E2BIG)));
        }
        let mut map = [(-1, -1); MAX_FDS];
        for (slot, (fd, target)) in map.iter_mut().zip(&spec.fds) {
            *slot = (fd.as_raw_fd(), *target);
        }
        Ok(ChildPlan {
            map,
            count: spec.fds.len(),
            lowest_free: spec.fds.iter().map(|(_, t)| *t).max().unwrap_or(2).max(2) + 1,
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            die_with_parent,
            new_pgroup: spec.new_process_group,
            unblock: spec.unblock,
        })
    }

    /// Places the fds, makes every other fd close-on-exec, arms
    /// `PR_SET_PDEATHSIG` (checking the parent is still there), joins a new
    /// process group and unblocks the signals, as the plan says.
    ///
    /// # Safety
    /// Only for a freshly forked child of a single-threaded parent, before
    /// exec: it makes async-signal-safe calls only (fcntl, dup2, syscall,
    /// prctl, getppid, sigprocmask, setpgid) and allocates nothing.
    pub(crate) unsafe fn apply(&self) -> io::Result<()> {
        // SAFETY: the caller guarantees a fresh child before exec; every
        // call is async-signal-safe and uses only data held by the plan.
        unsafe {
            let (map, count, lowest_free) = (&self.map, self.count, self.lowest_free);
            let mut tmp = [-1; MAX_FDS];
            // First move every source above all targets so that placing one
            // fd can never clobber another source (e.g. a swap of 3 and 4).
            for i in 0..count {
                let fd = libc::fcntl(map[i].0, libc::F_DUPFD_CLOEXEC, lowest_free);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                tmp[i] = fd;
            }
            for i in 0..count {
                // dup2 clears FD_CLOEXEC on the target: it survives exec.
                if libc::dup2(tmp[i], map[i].1) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // Nothing else this process holds may leak into the child. Use
            // CLOEXEC rather than closing: std's exec-error pipe lives there.
            // Errors (old kernels without close_range) are not fatal.
            for fd in 3..lowest_free {
                if !map[..count].iter().any(|&(_, target)| target == fd) {
                    // EBADF for fds that are not open is expected.
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            libc::syscall(
                libc::SYS_close_range,
                lowest_free as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if self.die_with_parent {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before PDEATHSIG was armed. (In a
                // new PID namespace the parent is outside it and shows as 0.)
                let ppid = libc::getppid();
                if ppid != self.parent && ppid != 0 {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            if self.new_pgroup && libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(set) = &self.unblock {
                if libc::sigprocmask(libc::SIG_UNBLOCK, set.as_ref(), std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

/// The processes of one sandbox, as seen from runsc.
#[derive(Debug)]
pub struct Sandbox {
    /// The sentry (`runsc boot`).
    pub sentry: Pid,
    /// The gofer (`runsc gofer`), `None` once reaped.
    pub gofer: Option<Pid>,
}

impl Sandbox {
    /// Waits for the sentry to exit, forwarding the [`FORWARDED`] signals
    /// that runsc receives to it, and returns its wait status. `signals`
    /// must be the set returned by [`block_signals`].
    pub fn wait_forwarding(&mut self, signals: &SigSet) -> Result<WaitStatus, CliError> {
        loop {
            // The sentry first: when it exits, the gofer sees EOF and exits too.
            match waitpid(self.sentry, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(status),
                Ok(_) => {}
                Err(e) => return Err(CliError::nix("waiting for the sentry", e)),
            }
            if let Some(pid) = self.gofer {
                match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => {}
                    Ok(WaitStatus::Exited(_, 0)) => {
                        tracing::debug!("gofer exited");
                        self.gofer = None;
                    }
                    Ok(status) => {
                        tracing::warn!(?status, "gofer died while the sentry runs");
                        self.gofer = None;
                    }
                    Err(e) => {
                        tracing::warn!(%e, "waitpid(gofer)");
                        self.gofer = None;
                    }
                }
            }
            if let Some((sig, from_terminal)) = next_signal(signals)? {
                // A terminal's ^C/^\ is sent by the kernel to the whole
                // foreground process group, which holds the sentry already.
                if sig != Signal::SIGCHLD && !from_terminal {
                    tracing::debug!(?sig, "forwarding signal to the sentry");
                    if let Err(e) = kill(self.sentry, sig) {
                        tracing::warn!(%e, ?sig, "forwarding signal to the sentry");
                    }
                }
            }
        }
    }

    /// Kills the gofer (if still running) and reaps it.
    pub fn kill_gofer(&mut self) {
        if let Some(pid) = self.gofer.take() {
            let _ = kill(pid, Signal::SIGKILL);
            if let Err(e) = waitpid(pid, None) {
                tracing::warn!(%e, "reaping the gofer");
            }
        }
    }
}

/// Waits up to a second for one of `signals`; returns it and whether the
/// kernel sent it (a terminal signal) rather than a process.
fn next_signal(signals: &SigSet) -> Result<Option<(Signal, bool)>, CliError> {
    let timeout = libc::timespec { tv_sec: 1, tv_nsec: 0 };
    // SAFETY: siginfo_t is plain data; an all-zero value is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: the set, info and timeout pointers are valid for the call.
    let rc = unsafe { libc::sigtimedwait(signals.as_ref(), &mut info, &timeout) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
            _ => Err(CliError::io("sigtimedwait", err)),
        };
    }
    let from_terminal = info.si_code == libc::SI_KERNEL;
    Ok(Signal::try_from(rc).ok().map(|s| (s, from_terminal)))
}

/// The exit status runsc reports for a sentry wait status: its exit code,
/// or 128+N if signal N killed it (the shell convention).
pub fn exit_code(status: WaitStatus) -> u8 {
    match status {
        WaitStatus::Exited(_, code) => (code & 0xff) as u8,
        WaitStatus::Signaled(_, sig, _) => (128 + (sig as i32 & 0x7f)) as u8,
        _ => crate::error::EXIT_RUNTIME_ERROR,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    fn sh(script: &str, fds: Vec<(BorrowedFd<'_>, RawFd)>) -> Pid {
        spawn(ChildSpec {
            program: Path::new("/bin/sh"),
            arg0: "sh",
            args: vec!["-c".into(), script.into()],
            fds,
            new_process_group: false,
            null_stdin: true,
            unblock: None,
        })
        .unwrap()
    }

    #[test]
    fn exit_code_maps_signals_to_128_plus_n() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 0)), 0);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 42)), 42);
        assert_eq!(exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)), 137);
        assert_eq!(exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, true)), 143);
    }

    #[test]
    fn seqpacket_pair_keeps_message_boundaries() {
        let (a, b) = seqpacket_pair().unwrap();
        nix::unistd::write(&a, b"one").unwrap();
        nix::unistd::write(&a, b"two!").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(nix::unistd::read(b.as_raw_fd(), &mut buf).unwrap(), 3);
        assert_eq!(nix::unistd::read(b.as_raw_fd(), &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"two!");
    }

    #[test]
    fn fds_are_placed_even_when_they_swap() {
        let (r1, w1) = cloexec_pipe().unwrap();
        let (r2, w2) = cloexec_pipe().unwrap();
        let (n1, n2) = (w1.as_raw_fd(), w2.as_raw_fd());
        // w1 goes to w2's number and w2 to w1's: a naive dup2 loop would
        // overwrite w2 before placing it.
        let pid = sh(
            &format!("printf one >&{n2}; printf two >&{n1}"),
            vec![(w1.as_fd(), n2), (w2.as_fd(), n1)],
        );
        drop((w1, w2));
        let status = waitpid(pid, None).unwrap();
        assert_eq!(exit_code(status), 0);
        let (mut s1, mut s2) = (String::new(), String::new());
        std::fs::File::from(r1).read_to_string(&mut s1).unwrap();
        std::fs::File::from(r2).read_to_string(&mut s2).unwrap();
        assert_eq!((s1.as_str(), s2.as_str()), ("one", "two"));
    }

    #[test]
    fn unmapped_fds_do_not_leak_into_the_child() {
        let (r, w) = cloexec_pipe().unwrap();
        let (_r2, w2) = cloexec_pipe().unwrap();
        // Clear CLOEXEC on w2: close_range must still keep it from the child.
        nix::fcntl::fcntl(
            w2.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .unwrap();
        let leaked = w2.as_raw_fd();
        let target = leaked.max(w.as_raw_fd()) + 1;
        // Compare the pipe itself, not just the number: the shell may use
        // that fd number for its own purposes (saved fds during redirects),
        // and parallel tests make fd numbers large.
        let ino = nix::sys::stat::fstat(w2.as_raw_fd()).unwrap().st_ino;
        let pid = sh(
            &format!(
                "if [ \"$(readlink /proc/self/fd/{leaked})\" = 'pipe:[{ino}]' ]; \
                 then echo leak >&{target}; else echo ok >&{target}; fi"
            ),
            vec![(w.as_fd(), target)],
        );
        drop(w);
        waitpid(pid, None).unwrap();
        let mut out = String::new();
        std::fs::File::from(r).read_to_string(&mut out).unwrap();
        assert_eq!(out.trim(), "ok");
    }

    #[test]
    fn wait_returns_the_sentry_status_and_kill_gofer_reaps() {
        let sentry = sh("exit 7", vec![]);
        let gofer = sh("sleep 30", vec![]);
        let mut sandbox = Sandbox {
            sentry,
            gofer: Some(gofer),
        };
        let set = SigSet::empty();
        let status = sandbox.wait_forwarding(&set).unwrap();
        assert_eq!(exit_code(status), 7);
        sandbox.kill_gofer();
        assert!(sandbox.gofer.is_none());
        // Reaped: the pid is no longer our child.
        assert!(waitpid(gofer, Some(WaitPidFlag::WNOHANG)).is_err());
    }

    #[test]
    fn a_sentry_killed_by_a_signal_gives_128_plus_n() {
        let sentry = sh("kill -TERM $$", vec![]);
        let mut sandbox = Sandbox { sentry, gofer: None };
        let status = sandbox.wait_forwarding(&SigSet::empty()).unwrap();
        assert_eq!(exit_code(status), 143);
    }
}
