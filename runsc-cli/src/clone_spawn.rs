//! Spawning the gofer or the sentry in a user namespace: `clone(2)` with
//! `CLONE_NEWUSER` (and `CLONE_NEWPID` for the sentry, so that its PID
//! namespace is owned by its user namespace and an unprivileged caller can
//! make both), or `setns` into a namespace given by path.
//!
//! std's `Command` cannot pass clone flags, so this is a small fork+exec of
//! its own: everything the child needs (argv, the fd plan, pipes) is made
//! before `clone`; the child makes raw system calls only:
//!
//! 1. waits on a pipe until the parent has written `/proc/CHILD/uid_map`
//!    and `gid_map` (with `deny` in `setgroups` first when unprivileged, or
//!    through `newuidmap`/`newgidmap` for maps beyond the caller's own id);
//! 2. becomes the namespace's root (`setgroups([])` where allowed,
//!    `setresgid(0)`, `setresuid(0)`): only root keeps its capabilities in
//!    the namespace across `execve`, and the gofer and the sentry need them
//!    for their mount namespace, `pivot_root` and `chroot`;
//! 3. applies the usual [`ChildPlan`] (fds, `PR_SET_PDEATHSIG` — armed
//!    after the credential change, which would clear it — process group,
//!    signal mask) and execs.
//!
//! A failing step is reported through a close-on-exec pipe; the parent
//! then reaps the child and returns the error, so nothing is left behind.

use crate::error::CliError;
use crate::launch::{ChildPlan, ChildSpec};
use crate::oci::userns::{self, IdMap, UserNs};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// Steps of the child, as reported back to the parent.
const STEP_SETNS: u32 = 1;
const STEP_SYNC: u32 = 2;
const STEP_SETGID: u32 = 3;
const STEP_SETUID: u32 = 4;
const STEP_SETUP: u32 = 5;
const STEP_EXEC: u32 = 6;

fn step_name(step: u32) -> &'static str {
    match step {
        STEP_SETNS => "setns(CLONE_NEWUSER)",
        STEP_SYNC => "waiting for the id maps",
        STEP_SETGID => "setresgid(0)",
        STEP_SETUID => "setresuid(0)",
        STEP_SETUP => "placing fds",
        STEP_EXEC => "execve",
        _ => "starting",
    }
}

/// Fails unless this process has exactly one thread: `clone`/`fork` in a
/// multi-threaded process can leave locks held forever in the child
/// (youki#3027), so every child of runsc is made before any thread exists.
pub fn ensure_single_threaded() -> Result<(), CliError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| CliError::io("/proc/self/status", e))?;
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if threads != 1 {
        return Err(CliError::io(
            format!("runsc has {threads} threads before starting the sandbox"),
            io::Error::from_raw_os_error(libc::EDEADLK),
        ));
    }
    Ok(())
}

/// Spawns one of the sandbox's processes as `runsc create` wants it: in
/// runsc's own user namespace exactly as before ([`crate::launch::spawn`];
/// with `new_pid_ns`, runsc unshares `CLONE_NEWPID` first, best effort),
/// else through [`spawn`]. Without `attached` the child outlives runsc.
pub fn spawn_sandbox_child(
    spec: ChildSpec<'_>,
    attached: bool,
    ns: &UserNs,
    new_pid_ns: bool,
) -> Result<Pid, CliError> {
    if *ns != UserNs::Host {
        return spawn(spec, attached, ns, new_pid_ns);
    }
    ensure_single_threaded()?;
    if new_pid_ns {
        // The sentry is pid 1 of a PID namespace of its own (see `runsc do`).
        if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID) {
            tracing::warn!("no PID namespace for the sentry ({e})");
        }
    }
    if attached {
        crate::launch::spawn(spec)
    } else {
        crate::launch::spawn_detached(spec)
    }
}

/// Spawns `spec` in the user namespace `ns` (a new one with its maps, or
/// one joined by path), in a new PID namespace too with `new_pid_ns`.
/// With `die_with_parent` the child gets `PR_SET_PDEATHSIG(SIGKILL)`.
pub fn spawn(spec: ChildSpec<'_>, die_with_parent: bool, ns: &UserNs, new_pid_ns: bool) -> Result<Pid, CliError> {
    let what = format!("starting {} in a user namespace", spec.arg0);
    let err = |e: io::Error| CliError::io(what.clone(), e);
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| err(io::Error::from_raw_os_error(libc::EINVAL)));
    let program = cstr(spec.program.as_os_str().as_bytes())?;
    let mut argv = vec![cstr(spec.arg0.as_bytes())?];
    for a in &spec.args {
        argv.push(cstr(a.as_bytes())?);
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());

    let devnull = if spec.null_stdin {
        Some(std::fs::File::open("/dev/null").map_err(|e| CliError::io("/dev/null", e))?)
    } else {
        None
    };
    let mut fds = spec.fds.clone();
    if let Some(null) = &devnull {
        fds.push((null.as_fd(), 0));
    }
    let plan = ChildPlan::new(
        &ChildSpec {
            program: spec.program,
            arg0: spec.arg0,
            args: Vec::new(),
            fds,
            new_process_group: spec.new_process_group,
            null_stdin: false,
            unblock: spec.unblock,
        },
        die_with_parent,
    )?;
    let high_fd = plan.lowest_free();

    let mut flags = libc::SIGCHLD as libc::c_ulong;
    let join = match ns {
        UserNs::Host => None,
        UserNs::New { .. } => {
            flags |= libc::CLONE_NEWUSER as libc::c_ulong;
            None
        }
        UserNs::Join(path) => {
            let f =
                std::fs::File::open(path).map_err(|e| CliError::io(format!("user namespace {}", path.display()), e))?;
            Some(OwnedFd::from(f))
        }
    };
    ensure_single_threaded()?;
    if new_pid_ns {
        // A joined namespace is entered after clone, so the PID namespace
        // is owned by ours: only root may make it.
        if join.is_some() && !nix::unistd::geteuid().is_root() {
            tracing::warn!(
                "no PID namespace for {} (joining a user namespace unprivileged)",
                spec.arg0
            );
        } else {
            flags |= libc::CLONE_NEWPID as libc::c_ulong;
        }
    }
    let join_fd: RawFd = join.as_ref().map_or(-1, |f| f.as_raw_fd());
    let (sync_r, sync_w) = crate::launch::cloexec_pipe()?;
    let (err_r, err_w) = crate::launch::cloexec_pipe()?;
    let wait_for_maps = matches!(ns, UserNs::New { .. });
    let fds = ChildFds {
        sync_r: sync_r.as_raw_fd(),
        sync_w: sync_w.as_raw_fd(),
        err_r: err_r.as_raw_fd(),
        err_w: err_w.as_raw_fd(),
        join: join_fd,
        high: high_fd,
    };

    // SAFETY: a fork-like clone (no CLONE_VM, no new stack: the child runs
    // on a copy of this stack) of a process with one thread (checked
    // above). The child only runs `child_main`, which never returns.
    let rc = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if rc == 0 {
        // SAFETY: we are the freshly cloned child; every pointer refers to
        // data prepared before clone, still valid in our copy of memory.
        unsafe { child_main(&fds, wait_for_maps, &plan, &program, argv_ptrs.as_ptr()) }
    }
    if rc < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    let pid = Pid::from_raw(rc as libc::pid_t);
    drop((sync_r, err_w, join, devnull));
    let fail = |e: CliError| {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        e
    };
    if let UserNs::New { uid_map, gid_map } = ns {
        write_maps(pid, uid_map, gid_map).map_err(fail)?;
    }
    // Let the child go on (EOF would stop it: the parent failed). A child
    // that joins a namespace does not wait, and may have closed its end.
    let mut sync = std::fs::File::from(sync_w);
    if wait_for_maps {
        if let Err(e) = sync.write_all(b"1") {
            return Err(fail(err(e)));
        }
    }
    drop(sync);
    let mut report = [0u8; 8];
    let mut got = 0;
    let mut pipe = std::fs::File::from(err_r);
    while got < report.len() {
        match pipe.read(&mut report[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(err(e))),
        }
    }
    if got == 0 {
        // EOF: the exec succeeded (the pipe was close-on-exec).
        return Ok(pid);
    }
    let _ = waitpid(pid, None);
    let step = u32::from_ne_bytes([report[0], report[1], report[2], report[3]]);
    let errno = i32::from_ne_bytes([report[4], report[5], report[6], report[7]]);
    let context = match (step, ns) {
        (STEP_SETNS, UserNs::Join(path)) => format!("joining user namespace {}", path.display()),
        (STEP_SETUID | STEP_SETGID, UserNs::Join(path)) => {
            format!("{}: user namespace {} must map id 0", step_name(step), path.display())
        }
        _ => format!("{what}: {}", step_name(step)),
    };
    Err(CliError::io(context, io::Error::from_raw_os_error(errno)))
}

/// The pipe ends and fds the child uses before its [`ChildPlan`].
struct ChildFds {
    sync_r: RawFd,
    sync_w: RawFd,
    err_r: RawFd,
    err_w: RawFd,
    join: RawFd,
    /// Fds from here on are never a target of the plan.
    high: RawFd,
}

/// The child side: never returns.
///
/// # Safety
/// Only in the child of a fork-like clone of a single-threaded process,
/// with `argv` a NULL-terminated array of valid C strings.
unsafe fn child_main(
    fds: &ChildFds,
    wait_for_maps: bool,
    plan: &ChildPlan,
    program: &CString,
    argv: *const *const libc::c_char,
) -> ! {
    // SAFETY: the caller guarantees a fresh single-threaded child; only
    // raw, async-signal-safe system calls on data prepared before clone.
    unsafe {
        libc::close(fds.sync_w);
        libc::close(fds.err_r);
        // The report pipe must survive the fd placement: move it above every target.
        let report = match libc::fcntl(fds.err_w, libc::F_DUPFD_CLOEXEC, fds.high) {
            r if r >= 0 => r,
            _ => fds.err_w,
        };
        let fail = |step: u32| -> ! {
            let errno = *libc::__errno_location();
            let mut msg = [0u8; 8];
            msg[..4].copy_from_slice(&step.to_ne_bytes());
            msg[4..].copy_from_slice(&errno.to_ne_bytes());
            libc::write(report, msg.as_ptr().cast(), msg.len());
            libc::_exit(127)
        };
        if fds.join >= 0 && libc::setns(fds.join, libc::CLONE_NEWUSER) != 0 {
            fail(STEP_SETNS);
        }
        if wait_for_maps {
            let mut byte = 0u8;
            loop {
                let n = libc::read(fds.sync_r, (&mut byte as *mut u8).cast(), 1);
                if n == 1 {
                    break;
                }
                if n < 0 && *libc::__errno_location() == libc::EINTR {
                    continue;
                }
                // The parent failed to write the maps (and reports it itself).
                libc::_exit(127);
            }
        }
        libc::close(fds.sync_r);
        if fds.join >= 0 {
            libc::close(fds.join);
        }
        // Drop the host's supplementary groups (refused, harmlessly, where
        // setgroups is denied: rootless).
        libc::setgroups(0, std::ptr::null());
        if libc::setresgid(0, 0, 0) != 0 {
            fail(STEP_SETGID);
        }
        if libc::setresuid(0, 0, 0) != 0 {
            fail(STEP_SETUID);
        }
        if plan.apply().is_err() {
            fail(STEP_SETUP);
        }
        // The Rust runtime ignores SIGPIPE; an ignored disposition would be
        // inherited across exec (std's spawn resets it the same way).
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::execv(program.as_ptr(), argv);
        fail(STEP_EXEC)
    }
}

/// Writes the child's uid_map and gid_map: directly when runsc is root or
/// the map is the caller's own id alone (then `setgroups` is denied first,
/// as the kernel requires of an unprivileged writer), else through the
/// setuid helpers `newuidmap`/`newgidmap` (which check /etc/subuid).
fn write_maps(pid: Pid, uid_map: &[IdMap], gid_map: &[IdMap]) -> Result<(), CliError> {
    let root = nix::unistd::geteuid().is_root();
    let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    let proc_file = |name: &str| format!("/proc/{pid}/{name}");
    let write = |name: &str, text: &str| {
        std::fs::write(proc_file(name), text)
            .map_err(|e| CliError::io(format!("writing {} ({text:?})", proc_file(name)), e))
    };
    if root || userns::only_own_id(gid_map, gid) {
        if !root {
            write("setgroups", "deny")?;
        }
        write("gid_map", &userns::map_text(gid_map))?;
    } else {
        helper("newgidmap", pid, gid_map, gid)?;
    }
    if root || userns::only_own_id(uid_map, uid) {
        write("uid_map", &userns::map_text(uid_map))?;
    } else {
        helper("newuidmap", pid, uid_map, uid)?;
    }
    Ok(())
}

/// Runs `newuidmap`/`newgidmap PID CONTAINER HOST SIZE...`.
fn helper(name: &str, pid: Pid, map: &[IdMap], own: u32) -> Result<(), CliError> {
    let args: Vec<String> = map
        .iter()
        .flat_map(|m| [m.container, m.host, m.size].map(|n| n.to_string()))
        .collect();
    let context = || {
        format!(
            "user namespace map {:?}: an unprivileged caller (id {own}) may map only its own id, or others through {name} (/etc/subuid, /etc/subgid)",
            userns::map_text(map).trim_end()
        )
    };
    let out = std::process::Command::new(name)
        .arg(pid.to_string())
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| CliError::io(context(), e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(CliError::io(
            context(),
            io::Error::new(io::ErrorKind::PermissionDenied, format!("{name}: {msg}")),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    #[test]
    fn tests_run_single_threaded_or_are_refused() {
        // The test harness has threads: the check must see them.
        let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
        assert_eq!(ensure_single_threaded().is_ok(), threads == 1);
    }

    #[test]
    fn a_missing_namespace_path_is_a_clear_error() {
        let e = ChildSpec {
            program: Path::new("/bin/true"),
            arg0: "true",
            args: Vec::new(),
            fds: Vec::new(),
            new_process_group: false,
            null_stdin: true,
            unblock: None,
        };
        let err = spawn(e, true, &UserNs::Join("/no/such/ns".into()), false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("user namespace /no/such/ns: No such file"), "{msg}");
    }
}
