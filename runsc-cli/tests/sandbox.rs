//! End-to-end tests of `runsc do` for the first milestone: programs from the
//! host root run inside the sandbox with the right output and exit status,
//! and cannot touch host processes or host files (invariant 1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Child, Command};

/// `runsc do ARGS...`.
fn runsc_do(args: &[&str]) -> Out {
    run(Command::new(RUNSC).arg("do").args(args))
}

#[test]
fn echo_prints_hello() {
    let out = runsc_do(&["/bin/echo", "hello"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hello\n", "{out:?}");
}

#[test]
fn false_exits_1() {
    let out = runsc_do(&["/bin/false"]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn null_dereference_exits_139() {
    let dir = TempDir::new("segv");
    let exe = compile_c(
        &dir.0,
        "segv",
        "int main(void) { volatile int *p = (volatile int *)0; return *p; }\n",
    );
    let out = runsc_do(&[exe.to_str().unwrap()]);
    assert_eq!(out.code, 128 + 11, "{out:?}");
}

#[test]
fn missing_program_exits_127_with_message() {
    let out = runsc_do(&["/rvisor/no/such/program"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert!(
        out.stderr.contains("/rvisor/no/such/program"),
        "message should name the program: {out:?}"
    );
}

#[test]
fn python_runs_json_and_hashlib() {
    let digest = {
        let out = run(Command::new("/usr/bin/python3")
            .args(["-c", "import hashlib; print(hashlib.sha256(b'rvisor').hexdigest())"]));
        assert_eq!(out.code, 0, "native python: {out:?}");
        out.stdout.trim().to_string()
    };
    assert_eq!(digest.len(), 64);
    let out = runsc_do(&[
        "/usr/bin/python3",
        "-c",
        "import json,hashlib,os; print(os.getpid(), hashlib.sha256(b'rvisor').hexdigest(), json.dumps({'a':[1,2]}))",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("1 {digest} {{\"a\": [1, 2]}}\n"), "{out:?}");
}

/// Runs `argv` natively and in the sandbox and checks the outputs are equal.
fn assert_same_as_native(argv: &[&str]) {
    let native = run(Command::new(argv[0]).args(&argv[1..]).env("LC_ALL", "C"));
    assert_eq!(native.code, 0, "native: {native:?}");
    let sandboxed = run(Command::new(RUNSC).arg("do").args(argv).env("LC_ALL", "C"));
    assert_eq!(sandboxed.code, 0, "sandbox: {sandboxed:?}");
    assert_eq!(
        sandboxed.stdout, native.stdout,
        "sandbox output differs from native; sandbox stderr:\n{}",
        sandboxed.stderr
    );
}

#[test]
fn cat_os_release_matches_native() {
    assert_same_as_native(&["/bin/cat", "/etc/os-release"]);
}

#[test]
fn ls_la_usr_lib_matches_native() {
    assert_same_as_native(&["/bin/ls", "-la", "/usr/lib"]);
}

#[test]
fn uname_r_differs_from_host() {
    let host = run(Command::new("uname").arg("-r"));
    assert_eq!(host.code, 0);
    let out = runsc_do(&["/bin/uname", "-r"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.trim().is_empty(), "{out:?}");
    assert_ne!(
        out.stdout, host.stdout,
        "the sandbox must not report the host kernel release"
    );
}

/// A host process killed on drop, so a failing assertion does not leak it.
struct HostSleep(Child);

impl Drop for HostSleep {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The state letter from /proc/PID/stat (after the parenthesised comm).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

const INVARIANT1_SRC: &str = r#"
/* Tries every way this milestone's sandbox could reach a host process or a
 * host file. Inside the sandbox none of this may have any host effect. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long raw_syscall3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    pid_t pid = (pid_t)atoi(argv[1]);
    const char *path = argv[2];
    const char msg[] = "escaped\n";

    printf("kill=%d\n", kill(pid, SIGKILL));
    printf("sys_kill=%ld\n", syscall(SYS_kill, pid, SIGKILL));
    printf("sys_tkill=%ld\n", syscall(SYS_tkill, pid, SIGKILL));
    printf("sys_tgkill=%ld\n", syscall(SYS_tgkill, pid, pid, SIGKILL));
    printf("asm_kill=%ld\n", raw_syscall3(SYS_kill, pid, SIGKILL, 0));
    long pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0)
        printf("pidfd_send_signal=%ld\n", syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0));

    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        printf("open_write=%zd\n", write(fd, msg, strlen(msg)));
    fd = (int)syscall(SYS_open, path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        printf("sys_open_write=%zd\n", write(fd, msg, strlen(msg)));
    fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        printf("sys_openat_write=%zd\n", write(fd, msg, strlen(msg)));
    fd = (int)syscall(SYS_creat, path, 0644);
    if (fd >= 0)
        printf("sys_creat_write=%zd\n", write(fd, msg, strlen(msg)));
    fd = (int)raw_syscall3(SYS_open, (long)path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        printf("asm_open_write=%zd\n", write(fd, msg, strlen(msg)));
    printf("done\n");
    return 0;
}
"#;

#[test]
fn invariant1_cannot_kill_host_process_or_create_host_file() {
    let dir = TempDir::new("inv1");
    let exe = compile_c(&dir.0, "inv1", INVARIANT1_SRC);
    let sleep = HostSleep(Command::new("sleep").arg("1000").spawn().unwrap());
    let pid = sleep.0.id();
    let target = PathBuf::from(format!("/tmp/rvisor-inv1-{}", unique()));
    assert!(!target.exists());

    let out = runsc_do(&[exe.to_str().unwrap(), &pid.to_string(), target.to_str().unwrap()]);
    // Look at (and clean up) the host file before any assertion can bail out.
    let exists = target.exists();
    let _ = std::fs::remove_file(&target);
    let pid_t = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid_t, 0) } == 0;
    let state = proc_state(pid);
    // The attack program must have actually run to the end inside the sandbox.
    assert!(out.stdout.contains("done"), "attack program did not run: {out:?}");
    assert!(alive, "host sleep {pid} was killed from inside the sandbox: {out:?}");
    assert!(
        matches!(state, Some(s) if s != 'Z' && s != 'X'),
        "host sleep state {state:?}: {out:?}"
    );
    assert!(!exists, "sandbox created host file {}: {out:?}", target.display());
    drop(sleep);
}

#[test]
fn strace_logs_decoded_syscalls() {
    let dir = TempDir::new("strace");
    let log = dir.0.join("debug.log");
    let out = run(Command::new(RUNSC)
        .args(["do", "--strace", "--debug-log"])
        .arg(&log)
        .arg("/bin/true"));
    assert_eq!(out.code, 0, "{out:?}");
    let mut text = out.stderr.clone();
    // The debug log may be written as the given file or a file next to it.
    if let Ok(entries) = std::fs::read_dir(&dir.0) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("debug.log") {
                text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    let decoded = text.contains("execve") || text.contains("brk(") || text.contains("openat(AT_FDCWD, \"");
    assert!(decoded, "no decoded syscall in strace output:\n{text}");
    assert!(text.contains("= "), "no syscall results in strace output:\n{text}");
}

#[test]
fn help_syscalls_prints_table_with_counts() {
    let out = run(Command::new(RUNSC).args(["help", "syscalls"]));
    assert_eq!(out.code, 0, "{out:?}");
    for name in ["read", "openat", "getpid", "mmap"] {
        assert!(
            out.stdout.lines().any(|l| l.split_whitespace().any(|w| w == name)),
            "{name} missing: {out:?}"
        );
    }
    let last = out.stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    let nums: Vec<u32> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    assert!(last.contains("syscalls:") && nums.len() == 4, "summary line: {last}");
    assert_eq!(nums[0], nums[1] + nums[2] + nums[3], "counts must add up: {last}");
    assert!(nums[0] >= 300, "x86-64 has well over 300 syscalls: {last}");
    assert!(nums[1] + nums[2] >= 50, "this milestone implements dozens: {last}");
}

#[test]
fn shebang_script_runs_with_interpreter_and_args() {
    let dir = TempDir::new("script");
    let script = dir.0.join("s.sh");
    std::fs::write(&script, "#!/bin/sh\necho script $0 $1\nexit 3\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = runsc_do(&[script.to_str().unwrap(), "arg1"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, format!("script {} arg1\n", script.display()), "{out:?}");
}

#[test]
fn static_and_static_pie_binaries_run() {
    let dir = TempDir::new("static");
    let c = dir.0.join("p.c");
    std::fs::write(
        &c,
        "#include <stdio.h>\nint main(int c, char **v) { printf(\"%s %d\\n\", v[1], c); return 5; }\n",
    )
    .unwrap();
    for flag in ["-static", "-static-pie"] {
        let exe = dir.0.join(format!("p{flag}"));
        let out = run(Command::new("gcc").arg(flag).arg("-o").arg(&exe).arg(&c));
        assert_eq!(out.code, 0, "gcc {flag}: {out:?}");
        let out = runsc_do(&[exe.to_str().unwrap(), "x"]);
        assert_eq!((out.code, out.stdout.as_str()), (5, "x 2\n"), "{flag}: {out:?}");
    }
}

#[test]
fn cwd_and_environment_reach_the_program() {
    let out = run(Command::new(RUNSC)
        .args(["do", "--cwd", "/usr/share", "/bin/sh", "-c", "pwd; echo $RVISOR_IT"])
        .env("RVISOR_IT", "from-host-env"));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "/usr/share\nfrom-host-env\n", "{out:?}");
}

#[test]
fn abort_exits_134_and_sigkill_to_self_137_below_init() {
    // Run below a shell: the sandbox's init (pid 1), like a pid-namespace
    // init on Linux, ignores signals it sends itself with no handler.
    let dir = TempDir::new("abort");
    let exe = compile_c(
        &dir.0,
        "abort",
        "#include <stdlib.h>\n#include <signal.h>\n#include <string.h>\n\
         int main(int c, char **v) { if (c > 1 && !strcmp(v[1], \"kill\")) raise(SIGKILL); abort(); }\n",
    );
    let exe = exe.to_str().unwrap();
    assert_eq!(runsc_do(&["/bin/sh", "-c", &format!("{exe}; exit $?")]).code, 134);
    assert_eq!(runsc_do(&["/bin/sh", "-c", &format!("{exe} kill; exit $?")]).code, 137);
}

/// Writes to the root land in the sandbox's in-memory overlay (the
/// default `--overlay2 root:memory`): they succeed inside and the host
/// never sees them. With `--overlay2 none` they write through to the host
/// (more in overlay2_none.rs).
#[test]
fn writes_to_the_root_never_reach_the_host() {
    let dir = TempDir::new("erofs");
    let target = dir.0.join("created-inside");
    let script = format!("echo x > {0} && cat {0}", target.display());
    let out = runsc_do(&["/bin/sh", "-c", &script]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "x\n", "{out:?}");
    assert!(!target.exists());
    let out = run(Command::new(RUNSC)
        .args(["--overlay2", "none", "do", "/bin/sh", "-c"])
        .arg(format!("echo x > {}", target.display())));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "x\n");
}
