//! Invariant 5: nothing outlives the sandbox. Killing the sentry with
//! SIGKILL in the middle of a run must take every process of the sandbox
//! with it (stubs of running programs and of background jobs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNSC: &str = env!("CARGO_BIN_EXE_runsc");

/// (pid, ppid, state, cmdline) of every process.
fn processes() -> Vec<(i32, i32, char, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else { continue };
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let state = fields.first().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        out.push((pid, ppid, state, cmdline));
    }
    out
}

/// Every live descendant of `root`.
fn descendants(root: i32) -> Vec<(i32, String)> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for (pid, ppid, state, _) in &all {
            if *ppid == parent && *state != 'Z' && !found.contains(pid) {
                found.push(*pid);
            }
        }
        i += 1;
    }
    all.into_iter()
        .filter(|(pid, _, state, _)| found[1..].contains(pid) && *state != 'Z')
        .map(|(pid, _, _, cmd)| (pid, cmd))
        .collect()
}

#[test]
fn killing_the_sentry_leaves_no_process_behind() {
    // Orphans of the sandbox are reparented to this test process, so a leak
    // cannot hide under the host's init.
    // SAFETY: prctl with integer arguments only.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }, 0);
    let me = std::process::id() as i32;
    let mut child = Command::new(RUNSC)
        .args([
            "do",
            "/bin/sh",
            "-c",
            "sleep 60 & sleep 60 & /bin/sh -c 'sleep 60' & wait",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the sandbox runs its sleeps (several stubs exist).
    let deadline = Instant::now() + Duration::from_secs(20);
    let sentry = loop {
        let tree = descendants(me);
        let sentry = tree
            .iter()
            .find(|(_, cmd)| cmd.starts_with("runsc-sandbox"))
            .map(|(p, _)| *p);
        if let (Some(s), true) = (sentry, tree.len() >= 6) {
            break s;
        }
        assert!(Instant::now() < deadline, "sandbox did not start: {tree:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // SAFETY: kill with integer arguments only.
    assert_eq!(unsafe { libc::kill(sentry, libc::SIGKILL) }, 0);
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // Reap whatever was reparented to us.
        // SAFETY: waitpid with a null status pointer.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
        let left = descendants(me);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            for (pid, _) in &left {
                // SAFETY: clean up before failing.
                unsafe { libc::kill(*pid, libc::SIGKILL) };
            }
            panic!("processes outlived the sentry: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
