//! Running a program with a timeout and capturing its output.
//!
//! The child gets its own process group so that a timeout (or leftovers after
//! it exits, like a sandbox's helper processes) can be killed as a whole;
//! otherwise a lingering grandchild holding the stdout pipe would hang us.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Exited with this status, or 128+N when signal N ended it (the shell's
    /// convention, which `runsc do` also follows).
    Exited(i32),
    /// Did not finish within the timeout and was killed.
    TimedOut,
    /// Could not be started.
    SpawnFailed(String),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(c) if *c > 128 => write!(f, "exit status {c} (signal {})", c - 128),
            Status::Exited(c) => write!(f, "exit status {c}"),
            Status::TimedOut => write!(f, "timed out"),
            Status::SpawnFailed(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// How it ended.
    pub status: Status,
    /// Captured standard output (lossy UTF-8).
    pub stdout: String,
    /// Captured standard error (lossy UTF-8).
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

fn read_all<R: Read + Send + 'static>(reader: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = reader {
            // A read error just truncates the capture.
            let _ = r.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Sends SIGKILL to every process in group `pgid`.
fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) with a negative pid only sends a signal to the process
    // group we created for our own child; it touches no memory.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Runs `cmd` (stdin from /dev/null, stdout and stderr captured) and kills
/// its process group if it outlives `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> RunOutput {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return RunOutput {
                status: Status::SpawnFailed(e.to_string()),
                stdout: String::new(),
                stderr: String::new(),
                elapsed: start.elapsed(),
            }
        }
    };
    let pid = child.id();
    let out = read_all(child.stdout.take());
    let err = read_all(child.stderr.take());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let res = child.wait();
        let _ = tx.send((res, start.elapsed()));
    });
    let (status, elapsed) = match rx.recv_timeout(timeout) {
        Ok((Ok(st), elapsed)) => {
            let code = st.code().or_else(|| st.signal().map(|s| 128 + s)).unwrap_or(-1);
            (Status::Exited(code), elapsed)
        }
        Ok((Err(e), elapsed)) => (Status::SpawnFailed(format!("wait failed: {e}")), elapsed),
        Err(_) => {
            kill_group(pid);
            // Reap it so no zombie stays behind.
            let _ = rx.recv_timeout(Duration::from_secs(5));
            (Status::TimedOut, start.elapsed())
        }
    };
    // Anything still alive in the group (e.g. sandbox helpers) goes too.
    kill_group(pid);
    RunOutput {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let out = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.status, Status::Exited(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn signal_death_is_128_plus_n() {
        let out = run(
            Command::new("sh").args(["-c", "kill -SEGV $$"]),
            Duration::from_secs(10),
        );
        assert_eq!(out.status, Status::Exited(128 + 11));
    }

    #[test]
    fn timeout_kills_whole_group() {
        // The grandchild keeps stdout open; without the group kill we would hang.
        let out = run(
            Command::new("sh").args(["-c", "sleep 30 & sleep 30"]),
            Duration::from_millis(300),
        );
        assert_eq!(out.status, Status::TimedOut);
        assert!(out.elapsed < Duration::from_secs(10));
    }

    #[test]
    fn missing_program_is_spawn_failure() {
        let out = run(&mut Command::new("/rvisor/no/such/program"), Duration::from_secs(1));
        assert!(matches!(out.status, Status::SpawnFailed(_)));
    }
}
