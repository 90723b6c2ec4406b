//! Invariant 4: the sentry of a running sandbox is boxed in. Every one of
//! its threads runs under its seccomp filters (three more than runsc's
//! own), with `no_new_privs` and no capability left in any set; the
//! zygote and the stubs, forked after the drop, hold none either.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNSC: &str = env!("CARGO_BIN_EXE_runsc");

/// The `Key: value` lines of /proc/PID[/task/TID]/status.
fn status(path: &str) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(format!("{path}/status")).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect(),
    )
}

/// The children of every thread of `pid` (the zygote is a child of the
/// sentry's `zygote` thread, not of its main thread).
fn children(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(text.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
    }
    out
}

fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

fn thread_names(pid: i32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect()
}

fn field<'a>(st: &'a HashMap<String, String>, key: &str) -> &'a str {
    st.get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {key} in {st:?}"))
}

#[test]
fn sentry_threads_are_seccomped_without_capabilities() {
    check_confinement(&[]);
}

/// With host networking the sentry keeps the host's network namespace but
/// is boxed in the same way (its allow-list only grows by socket calls).
#[test]
fn host_network_sentry_is_seccomped_without_capabilities() {
    check_confinement(&["--network=host"]);
}

fn check_confinement(global: &[&str]) {
    let me = status("/proc/self").unwrap();
    let own_filters: u32 = me.get("Seccomp_filters").and_then(|v| v.parse().ok()).unwrap_or(0);
    // The bounding set can only be emptied by a sentry started with
    // CAP_SETPCAP (bit 8), as this test normally is (root).
    let may_drop_bounding = u64::from_str_radix(field(&me, "CapEff"), 16).unwrap() & (1 << 8) != 0;

    let mut child = Command::new(RUNSC)
        .args(global)
        .args(["do", "/bin/sh", "-c", "sleep 60 & wait"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let runsc = child.id() as i32;
    // Wait until the sentry runs the guest: its init thread and the stub
    // of the background sleep exist.
    let deadline = Instant::now() + Duration::from_secs(30);
    let sentry = loop {
        let sentry = children(runsc)
            .into_iter()
            .find(|&p| cmdline(p).starts_with("runsc-sandbox"));
        if let Some(s) = sentry {
            let names = thread_names(s);
            if names.iter().any(|n| n == "task-1") && names.iter().filter(|n| n.starts_with("task-")).count() >= 2 {
                break s;
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("sandbox did not start: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let mut threads = 0;
    for task in std::fs::read_dir(format!("/proc/{sentry}/task")).unwrap().flatten() {
        let path = task.path().to_string_lossy().into_owned();
        let Some(st) = status(&path) else { continue };
        threads += 1;
        let who = format!("sentry thread {} ({})", field(&st, "Pid"), field(&st, "Name"));
        assert_eq!(field(&st, "Seccomp"), "2", "{who}");
        if let Some(n) = st.get("Seccomp_filters") {
            assert_eq!(n.parse::<u32>().unwrap(), own_filters + 3, "{who}");
        }
        assert_eq!(field(&st, "NoNewPrivs"), "1", "{who}");
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            assert_eq!(u64::from_str_radix(field(&st, set), 16).unwrap(), 0, "{who}: {set}");
        }
        if may_drop_bounding {
            assert_eq!(
                u64::from_str_radix(field(&st, "CapBnd"), 16).unwrap(),
                0,
                "{who}: CapBnd"
            );
        }
    }
    // The main thread, the zygote's tracer, task-1, the sleep's task, ...
    assert!(threads >= 4, "only {threads} sentry threads");

    // The zygote and the stubs: no capabilities, their own filter only
    // (forked before the sentry's was installed).
    let mut stubs = 0;
    let mut queue = children(sentry);
    while let Some(pid) = queue.pop() {
        queue.extend(children(pid));
        let Some(st) = status(&format!("/proc/{pid}")) else {
            continue;
        };
        stubs += 1;
        assert_eq!(field(&st, "Seccomp"), "2", "stub {pid}");
        if let Some(n) = st.get("Seccomp_filters") {
            assert_eq!(n.parse::<u32>().unwrap(), own_filters + 1, "stub {pid}");
        }
        assert_eq!(u64::from_str_radix(field(&st, "CapEff"), 16).unwrap(), 0, "stub {pid}");
        assert_eq!(u64::from_str_radix(field(&st, "CapPrm"), 16).unwrap(), 0, "stub {pid}");
    }
    assert!(stubs >= 3, "zygote + 2 stubs expected, found {stubs}");

    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn confined_sentry_still_runs_programs_to_completion() {
    // Threads, pipes, fork+exec, file reads through the gofer and the exit
    // status all pass under the filter (a missing syscall kills the sentry
    // with SIGSYS: runsc would report 159).
    let out = Command::new(RUNSC)
        .args([
            "do",
            "/bin/sh",
            "-c",
            "head -c 100 /etc/passwd | wc -c; cat /proc/self/status | grep -c Pid; exit 7",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(stdout.starts_with("100\n"), "{stdout}");
}
