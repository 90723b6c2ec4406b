//! OCI hooks (`config.json` `hooks`): host programs the runtime runs at
//! fixed points of a container's life, each with the container's state
//! JSON on its stdin and the bundle as its working directory.
//!
//! A hook that cannot be started, exits non-zero or outlives its
//! `timeout` (it is then killed, with its process group) is an error; the
//! callers decide whether that fails the command (create-time and
//! startContainer hooks) or is only logged (poststart, poststop).

use super::state::OciState;
use oci_spec::runtime::{Hook, Spec};
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

/// The points of the lifecycle where hooks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Deprecated; run with createRuntime, before it.
    Prestart,
    /// After the sandbox exists, in `create`.
    CreateRuntime,
    /// Right after createRuntime, in `create`.
    CreateContainer,
    /// In `start`, before the init is released (run on the host).
    StartContainer,
    /// After the init started.
    Poststart,
    /// After the container is deleted.
    Poststop,
}

impl Stage {
    /// The spec's name of the stage.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::CreateContainer => "createContainer",
            Stage::StartContainer => "startContainer",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }
}

/// A hook that failed.
#[derive(Debug, Error)]
#[error("{stage} hook {path}: {reason}")]
pub struct HookError {
    /// The stage's name.
    pub stage: &'static str,
    /// The hook's path.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// The hooks of `stage` in `spec`, in order.
pub fn of_stage(spec: &Spec, stage: Stage) -> Vec<Hook> {
    let Some(hooks) = spec.hooks() else {
        return Vec::new();
    };
    #[allow(deprecated)]
    let list = match stage {
        Stage::Prestart => hooks.prestart(),
        Stage::CreateRuntime => hooks.create_runtime(),
        Stage::CreateContainer => hooks.create_container(),
        Stage::StartContainer => hooks.start_container(),
        Stage::Poststart => hooks.poststart(),
        Stage::Poststop => hooks.poststop(),
    };
    list.clone().unwrap_or_default()
}

/// Runs every hook of `stage` in order with `state` on stdin; stops at the
/// first failure.
pub fn run_stage(spec: &Spec, stage: Stage, state: &OciState) -> Result<(), HookError> {
    let hooks = of_stage(spec, stage);
    if hooks.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_vec(state).map_err(|e| HookError {
        stage: stage.name(),
        path: String::new(),
        reason: format!("encoding the state: {e}"),
    })?;
    let bundle = Path::new(&state.bundle);
    for hook in &hooks {
        run(hook, stage.name(), &json, bundle)?;
    }
    Ok(())
}

/// Like [`run_stage`] but only logs a failure (poststart, poststop).
pub fn run_stage_logged(spec: &Spec, stage: Stage, state: &OciState) {
    if let Err(e) = run_stage(spec, stage, state) {
        tracing::warn!("{e}");
        eprintln!("runsc: warning: {e}");
    }
}

/// Runs one hook: `path` with `args` (args[0] is its argv[0]) and exactly
/// `env`, `stdin` written to its stdin, in `cwd`, killed after `timeout`.
pub fn run(hook: &Hook, stage: &'static str, stdin: &[u8], cwd: &Path) -> Result<(), HookError> {
    let path = hook.path();
    let err = |reason: String| HookError {
        stage,
        path: path.display().to_string(),
        reason,
    };
    if !path.is_absolute() {
        return Err(err("the path is not absolute".into()));
    }
    let timeout = match hook.timeout() {
        None => None,
        Some(t) if t > 0 => Some(Duration::from_secs(t as u64)),
        Some(t) => return Err(err(format!("timeout {t} is not greater than zero"))),
    };
    let mut cmd = Command::new(path);
    let args = hook.args().clone().unwrap_or_default();
    if let Some((arg0, rest)) = args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        match kv.split_once('=') {
            Some((k, v)) => cmd.env(k, v),
            None => cmd.env(kv, ""),
        };
    }
    // Its own process group, so a timeout kills what it started too. The
    // runtime's stdout may be a pipe its caller reads to EOF: not the hook's.
    cmd.current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0);
    own_pid_namespace();
    let mut child = cmd.spawn().map_err(|e| err(e.to_string()))?;
    // Written without blocking from the wait loop: a hook that does not
    // read must not stall us past its timeout. (No thread: `create` is in
    // a fresh PID namespace by now, where threads cannot be created.)
    let mut pipe = child.stdin.take();
    if let Some(p) = &pipe {
        let fd = std::os::fd::AsRawFd::as_raw_fd(p);
        let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    }
    let mut written = 0;
    let start = Instant::now();
    let status = loop {
        if let Some(p) = &mut pipe {
            match p.write(&stdin[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // The hook closed its stdin (EPIPE): it does not want more.
                Err(_) => written = stdin.len(),
            }
            if written >= stdin.len() {
                pipe = None;
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(err(format!("waiting: {e}"))),
        }
        if let Some(t) = timeout.filter(|t| start.elapsed() >= *t) {
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
            return Err(err(format!("timed out after {}s (killed)", t.as_secs())));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(err(format!("exited with status {code}"))),
        (None, Some(sig)) => Err(err(format!("killed by signal {sig}"))),
        (None, None) => Err(err(format!("ended with {status}"))),
    }
}

/// `create` (and `run`) moved its future children into the sandbox's PID
/// namespace, which is gone once the sentry exits: hooks are host
/// processes, so they go back to this process's own namespace.
fn own_pid_namespace() {
    let (Ok(own), Ok(children)) = (
        std::fs::read_link("/proc/self/ns/pid"),
        std::fs::read_link("/proc/self/ns/pid_for_children"),
    ) else {
        return;
    };
    if own == children {
        return;
    }
    match std::fs::File::open("/proc/self/ns/pid") {
        Ok(f) => {
            if let Err(e) = nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWPID) {
                tracing::warn!("hooks stay in the sandbox's PID namespace ({e})");
            }
        }
        Err(e) => tracing::warn!("/proc/self/ns/pid: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oci_spec::runtime::HookBuilder;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("runsc-hooks-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn script(dir: &Path, body: &str) -> PathBuf {
        let p = dir.join("hook.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn hook(path: &Path, args: &[&str], timeout: Option<i64>) -> Hook {
        let mut b = HookBuilder::default()
            .path(path)
            .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .env(vec!["HOOKVAR=v1".to_string()]);
        if let Some(t) = timeout {
            b = b.timeout(t);
        }
        b.build().unwrap()
    }

    #[test]
    fn a_hook_gets_the_state_on_stdin_its_args_env_and_cwd() {
        let dir = temp("ok");
        let out = dir.join("out");
        let p = script(&dir, "cat > \"$1\"; echo \"$HOOKVAR $(pwd) $0\" >> \"$1\"");
        let h = hook(&p, &["myhook", out.to_str().unwrap()], Some(5));
        run(&h, "createRuntime", b"{\"id\":\"c1\"}\n", &dir).unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            got,
            format!("{{\"id\":\"c1\"}}\nv1 {} {}\n", dir.display(), p.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_hook_is_an_error_naming_it() {
        let dir = temp("fail");
        let p = script(&dir, "exit 3");
        let e = run(&hook(&p, &["x"], None), "poststart", b"{}", &dir).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("poststart") && msg.contains(&*p.to_string_lossy()),
            "{msg}"
        );
        assert!(msg.contains("status 3"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_hook_past_its_timeout_is_killed() {
        let dir = temp("timeout");
        let marker = dir.join("marker");
        let p = script(&dir, &format!("sleep 5; touch {}", marker.display()));
        let start = Instant::now();
        let e = run(&hook(&p, &["x"], Some(1)), "prestart", b"{}", &dir).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
        assert!(e.to_string().contains("timed out"), "{e}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!marker.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn relative_paths_and_bad_timeouts_are_refused() {
        let dir = temp("bad");
        assert!(run(&hook(Path::new("rel"), &[], None), "poststop", b"", &dir).is_err());
        let p = script(&dir, "exit 0");
        assert!(run(&hook(&p, &[], Some(0)), "poststop", b"", &dir).is_err());
        assert!(run(&hook(&p, &[], None), "poststop", b"", &dir).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
