//! End-to-end tests of `runsc do` for the processes and signals milestone:
//! pipelines, a bash script with jobs and traps, python's subprocess,
//! threading, multiprocessing, signals and fork, the exit statuses of killed
//! programs, and that no process of a sandbox outlives its `runsc do`.
//!
//! Every sandboxed run goes through a small "reaper" program (compiled here)
//! that makes itself a child subreaper, runs `runsc do`, and after runsc has
//! exited waits a grace period for any descendant left behind (orphans come
//! back to it, however deep or `setsid`ed): each one still alive then is a
//! leak, reported and killed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
const PYTHON: &str = "/usr/bin/python3";

const REAPER_SRC: &str = r#"
/* reaper REPORT PROG ARGS...: runs PROG as a child subreaper; after PROG
 * exits, waits up to 3 s for every remaining descendant to die; lists those
 * still alive into REPORT, kills them, and exits with PROG's status. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The parent pid and state letter of PID from /proc/PID/stat, or -1. */
static int stat_of(int pid, char *state) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *close = strrchr(buf, ')');
    int ppid = -1;
    if (!close || sscanf(close + 1, " %c %d", state, &ppid) != 2)
        return -1;
    return ppid;
}

static int descends_from_me(int pid) {
    char st;
    for (int depth = 0; depth < 64 && pid > 1; depth++) {
        int ppid = stat_of(pid, &st);
        if (ppid == getpid())
            return 1;
        pid = ppid;
    }
    return 0;
}

static void describe(FILE *out, int pid) {
    char path[64], cmd[512];
    char st = '?';
    int ppid = stat_of(pid, &st);
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        if (cmd[i] == 0)
            cmd[i] = ' ';
    cmd[n] = 0;
    fprintf(out, "leaked pid %d ppid %d state %c cmdline [%s]\n", pid, ppid, st, cmd);
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    FILE *report = fopen(argv[1], "w");
    if (!report || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return 2;
    pid_t child = fork();
    if (child == 0) {
        execv(argv[2], argv + 2);
        perror("reaper: execv");
        _exit(127);
    }
    int st = 0;
    while (waitpid(child, &st, 0) == -1 && errno == EINTR) {
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    long deadline = now_ms() + 3000;
    for (;;) {
        pid_t r = waitpid(-1, NULL, WNOHANG);
        if (r > 0)
            continue;
        if (r == -1 && errno == ECHILD)
            break;
        if (now_ms() > deadline)
            break;
        usleep(10000);
    }
    for (int round = 0; round < 50; round++) {
        int found = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (!isdigit((unsigned char)e->d_name[0]))
                continue;
            int pid = atoi(e->d_name);
            if (pid == getpid() || !descends_from_me(pid))
                continue;
            if (round == 0)
                describe(report, pid);
            kill(pid, SIGKILL);
            found++;
        }
        if (d)
            closedir(d);
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (!found)
            break;
        usleep(20000);
    }
    fclose(report);
    return code;
}
"#;

/// The reaper, compiled once per test process.
fn reaper() -> &'static Path {
    static REAPER: OnceLock<PathBuf> = OnceLock::new();
    REAPER.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("processes-reaper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        compile_c(&dir, "reaper", REAPER_SRC)
    })
}

/// `runsc do ARGS...` with extra environment, under the reaper; panics if any
/// process of the sandbox is still alive 3 s after runsc exited.
fn runsc_do_env(args: &[&str], envs: &[(&str, &str)]) -> Out {
    let dir = TempDir::new("leaks");
    let report = dir.0.join("report");
    let mut cmd = Command::new(reaper());
    cmd.arg(&report).arg(RUNSC).arg("do").args(args).env("LC_ALL", "C");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    let leaks = std::fs::read_to_string(&report).unwrap_or_else(|e| format!("no reaper report: {e}"));
    assert!(
        leaks.is_empty(),
        "processes of the sandbox outlived `runsc do {args:?}`:\n{leaks}\n{out:?}"
    );
    out
}

/// `runsc do ARGS...` under the leak check.
fn runsc_do(args: &[&str]) -> Out {
    runsc_do_env(args, &[])
}

/// Runs `argv` on the host.
fn native(argv: &[&str]) -> Out {
    run(Command::new(argv[0]).args(&argv[1..]).env("LC_ALL", "C"))
}

/// Runs `argv` natively and in the sandbox; both must exit 0 with equal stdout.
fn assert_same_as_native(argv: &[&str]) -> String {
    let host = native(argv);
    assert_eq!(host.code, 0, "native run failed: {host:?}");
    let sandboxed = runsc_do(argv);
    assert_eq!(sandboxed.code, 0, "sandbox: {sandboxed:?}");
    assert_eq!(
        sandboxed.stdout, host.stdout,
        "sandbox output differs from native; sandbox stderr:\n{}",
        sandboxed.stderr
    );
    host.stdout
}

#[test]
fn pipeline_ls_sort_wc_matches_native() {
    let out = assert_same_as_native(&["/bin/sh", "-c", "ls /usr/bin | sort | wc -l"]);
    let n: u32 = out.trim().parse().unwrap();
    assert!(n > 10, "{out}");
}

#[test]
fn init_is_pid_1_with_parent_0_and_children_see_it() {
    let out = runsc_do(&["/bin/sh", "-c", "echo $$ $PPID; /bin/sh -c 'echo $PPID'"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "1 0\n1\n", "{out:?}");
}

const BASH_SCRIPT: &str = r#"set -u
echo "start"
x=$(echo inner; (echo sub))
echo "cmd: $x" | tr '\n' ' '; echo
(exit 3); echo "subshell status $?"
echo a b | { read -r p q; echo "read: $q $p"; }
trap 'echo got INT' INT
kill -INT $$
echo "after INT"
trap - INT
(exit 4) & p2=$!
wait $p2; echo "bg status $?"
sleep 100 & p3=$!
kill -TERM $p3
wait $p3; echo "killed status $?"
{ for i in 1 2 3; do (echo "job $i") & done; wait; } | sort
( trap 'echo sub got TERM; exit 9' TERM; kill -TERM $BASHPID; echo unreachable ); echo "sub trap status $?"
f() { local n=$1; [ "$n" -le 1 ] && { echo 1; return; }; echo $(( n * $(f $((n-1))) )); }
echo "fact: $(f 6)"
echo "jobs left: $(jobs -p | wc -l)"
echo "end"
"#;

#[test]
fn bash_script_with_jobs_traps_and_subshells_matches_native() {
    let dir = TempDir::new("bash");
    let script = dir.0.join("script.sh");
    std::fs::write(&script, BASH_SCRIPT).unwrap();
    let out = assert_same_as_native(&["/bin/bash", script.to_str().unwrap()]);
    assert!(
        out.contains("got INT\n") && out.contains("killed status 143\n"),
        "{out}"
    );
    assert!(out.ends_with("end\n"), "{out}");
}

const PY_SUBPROCESS: &str = r#"
import subprocess
r = subprocess.run(['echo', 'x'], capture_output=True, text=True)
print(repr(r.stdout), r.returncode)
print(subprocess.run(['sh', '-c', 'exit 3']).returncode)
print(subprocess.check_output('echo $((6*7))', shell=True).decode().strip())
p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print(p.communicate(b'piped through cat')[0].decode(), p.returncode)
p = subprocess.Popen(['sleep', '100'])
p.terminate()
print('terminated', p.wait())
"#;

#[test]
fn python_subprocess_matches_native() {
    let out = assert_same_as_native(&[PYTHON, "-c", PY_SUBPROCESS]);
    assert!(out.starts_with("'x\\n' 0\n3\n42\n"), "{out}");
}

const PY_THREADS: &str = r#"
import threading
lock = threading.Lock()
count = 0
def work():
    global count
    for _ in range(10000):
        with lock:
            count += 1
ts = [threading.Thread(target=work) for _ in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print('count', count)
cond = threading.Condition()
items, done = [], []
def producer():
    for i in range(100):
        with cond:
            items.append(i)
            cond.notify()
def consumer():
    got = total = 0
    while got < 100:
        with cond:
            while not items:
                cond.wait()
            total += items.pop(0)
            got += 1
    done.append(total)
c = threading.Thread(target=consumer); p = threading.Thread(target=producer)
c.start(); p.start(); p.join(); c.join()
print('sum', done[0])
ev = threading.Event()
t = threading.Timer(0.05, ev.set); t.start()
print('event', ev.wait(5))
t.join()
print('threads', threading.active_count())
"#;

#[test]
fn python_threading_lock_and_condition_matches_native() {
    let out = assert_same_as_native(&[PYTHON, "-c", PY_THREADS]);
    assert_eq!(out, "count 80000\nsum 4950\nevent True\nthreads 1\n");
}

/// multiprocessing's Pool needs POSIX semaphores (sem_open in /dev/shm).
const PY_MULTIPROCESSING: &str = r#"
import multiprocessing
def sq(x):
    return x * x
if __name__ == '__main__':
    with multiprocessing.Pool(2) as pool:
        print(pool.map(sq, range(10)))
    q = multiprocessing.Queue()
    pr = multiprocessing.Process(target=q.put, args=('from child',))
    pr.start(); print(q.get(timeout=10)); pr.join(); print('exitcode', pr.exitcode)
"#;

#[test]
fn python_multiprocessing_pool_matches_native() {
    let out = assert_same_as_native(&[PYTHON, "-c", PY_MULTIPROCESSING]);
    assert!(out.starts_with("[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n"), "{out}");
}

const PY_SIGNALS: &str = r#"
import os, signal, time
got = []
def h(sig, frame):
    got.append(sig)
signal.signal(signal.SIGALRM, h)
signal.alarm(1)
t0 = time.monotonic()
signal.pause()
print('alarm', got == [signal.SIGALRM], 0.5 < time.monotonic() - t0 < 5)
signal.signal(signal.SIGUSR1, h)
os.kill(os.getpid(), signal.SIGUSR1)
print('usr1', got[-1] == signal.SIGUSR1)
signal.setitimer(signal.ITIMER_REAL, 0.05)
time.sleep(0.5)
print('itimer', got.count(signal.SIGALRM))
"#;

#[test]
fn python_signal_alarm_and_handlers_match_native() {
    let out = assert_same_as_native(&[PYTHON, "-c", PY_SIGNALS]);
    assert_eq!(out, "alarm True True\nusr1 True\nitimer 2\n");
}

const PY_FORK: &str = r#"
import os, signal, time
pid = os.fork()
if pid == 0:
    os._exit(7)
wpid, st = os.waitpid(pid, 0)
print('exit', wpid == pid, os.WIFEXITED(st), os.WEXITSTATUS(st))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b'%d %d' % (os.getppid(), os.getpid()))
    os._exit(0)
os.close(w)
ppid, cpid = map(int, os.read(r, 100).split())
os.waitpid(pid, 0)
print('ids', ppid == os.getpid(), cpid == pid)
pid = os.fork()
if pid == 0:
    time.sleep(100)
    os._exit(0)
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print('killed', os.WIFSIGNALED(st), os.WTERMSIG(st) == signal.SIGTERM)
try:
    os.waitpid(-1, 0)
except ChildProcessError:
    print('echild')
"#;

#[test]
fn python_fork_and_waitpid_match_native() {
    let out = assert_same_as_native(&[PYTHON, "-c", PY_FORK]);
    assert_eq!(out, "exit True True 7\nids True True\nkilled True True\nechild\n");
}

const DIE_SRC: &str = r#"
#include <signal.h>
#include <string.h>
#include <unistd.h>
/* die kill|term|segv [nofork]: unless "nofork", first leaves a child sleeping
 * (which must not outlive the sandbox); then ends itself with the signal. */
int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    if (argc == 2 && fork() == 0) {
        for (;;)
            pause();
    }
    usleep(50000);
    if (!strcmp(argv[1], "kill"))
        raise(SIGKILL);
    if (!strcmp(argv[1], "term"))
        raise(SIGTERM);
    if (!strcmp(argv[1], "segv")) {
        volatile int *p = (volatile int *)8;
        *p = 1;
    }
    return 3;
}
"#;

/// A program (not the init: the shell forks it) killed by SIGKILL, SIGTERM or
/// SIGSEGV makes `runsc do sh -c PROG` exit 137, 143, 139 as natively; the
/// sleeping child it left behind dies with the sandbox.
#[test]
fn killed_programs_exit_128_plus_signal() {
    let dir = TempDir::new("die");
    let exe = compile_c(&dir.0, "die", DIE_SRC);
    let exe = exe.to_str().unwrap();
    for (mode, code) in [("kill", 137), ("term", 143), ("segv", 139)] {
        let host = native(&["/bin/sh", "-c", &format!("{exe} {mode} nofork")]);
        assert_eq!(host.code, code, "native {mode}: {host:?}");
        let out = runsc_do(&["/bin/sh", "-c", &format!("{exe} {mode}")]);
        assert_eq!(out.code, code, "{mode}: {out:?}");
    }
}

/// The init itself dies of a fault (SIGSEGV is forced): 139, children gone.
#[test]
fn init_killed_by_fault_exits_139() {
    let dir = TempDir::new("die-init");
    let exe = compile_c(&dir.0, "die", DIE_SRC);
    let out = runsc_do(&[exe.to_str().unwrap(), "segv"]);
    assert_eq!(out.code, 139, "{out:?}");
}

/// Linux pid-namespace init semantics: signals with the default action sent
/// by processes inside the namespace (the init itself included) are not
/// delivered to the init, so raise(SIGKILL) and raise(SIGTERM) return and the
/// program goes on to exit 3.
#[test]
fn init_ignores_default_action_signals_from_inside() {
    let dir = TempDir::new("die-init");
    let exe = compile_c(&dir.0, "die", DIE_SRC);
    for mode in ["kill", "term"] {
        let out = runsc_do(&[exe.to_str().unwrap(), mode]);
        assert_eq!(out.code, 3, "{mode}: {out:?}");
    }
}

#[test]
fn shell_reports_children_killed_by_signals_like_native() {
    let dir = TempDir::new("segv");
    let segv = compile_c(
        &dir.0,
        "segv",
        "int main(void) { volatile int *p = (volatile int *)8; return *p; }\n",
    );
    let script = format!(
        "sleep 100 & kill -KILL $!; wait $!; echo $?; sleep 100 & kill -TERM $!; wait $!; echo $?; {} 2>/dev/null; echo $?",
        segv.display()
    );
    let out = assert_same_as_native(&["/bin/sh", "-c", &script]);
    assert_eq!(out, "137\n143\n139\n");
}

#[test]
fn background_processes_die_when_init_exits() {
    let marker = format!("rvisor-proc-it-{}", unique());
    let out = runsc_do_env(
        &[
            "/bin/sh",
            "-c",
            "sleep 1000 & sleep 1000 & (setsid sleep 1000 &); echo started",
        ],
        &[("RVISOR_TEST_MARKER", &marker)],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "started\n", "{out:?}");
    assert!(
        out.elapsed < Duration::from_secs(30),
        "runsc waited for the background sleeps: {out:?}"
    );
    // Belt and braces besides the reaper: no host process carries the marker.
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ.windows(marker.len()).any(|w| w == marker.as_bytes()) {
            found.push(pid);
        }
    }
    assert!(found.is_empty(), "processes with the test's marker survive: {found:?}");
}

/// gcc runs cc1, as and collect2/ld as children; the output goes to the
/// sandbox's /dev/shm tmpfs, and the compiled program then runs inside the
/// sandbox.
#[test]
fn gcc_compiles_and_runs_a_program_inside_the_sandbox() {
    let dir = TempDir::new("gcc");
    let src = dir.0.join("t.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 6 * 7); return 0; }\n",
    )
    .unwrap();
    let script = format!("gcc -O1 -o /dev/shm/t {} && /dev/shm/t", src.display());
    let out = runsc_do_env(&["/bin/sh", "-c", &script], &[("TMPDIR", "/dev/shm")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "42\n", "{out:?}");
}

/// `make -j2` of a multi-file C project (parallel gcc children, posix_spawn
/// through clone(CLONE_VM|CLONE_VFORK)), built in /dev/shm inside the sandbox.
#[test]
fn make_j2_builds_a_multi_file_project_inside_the_sandbox() {
    let dir = TempDir::new("make");
    let files = [
        ("a.c", "int add(int a, int b) { return a + b; }\n"),
        ("b.c", "int mul(int a, int b) { return a * b; }\n"),
        ("main.c", "#include <stdio.h>\nint add(int, int); int mul(int, int);\nint main(void) { printf(\"%d %d\\n\", add(2, 3), mul(4, 5)); return 0; }\n"),
        ("Makefile", "app: a.o b.o main.o\n\t$(CC) -o $@ $^\n%.o: %.c\n\t$(CC) -c -o $@ $<\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.0.join(name), text).unwrap();
    }
    let script = format!(
        "cp -r {} /dev/shm/proj && cd /dev/shm/proj && make -j2 && ./app",
        dir.0.display()
    );
    let out = runsc_do_env(&["/bin/sh", "-c", &script], &[("TMPDIR", "/dev/shm")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("5 20\n"), "{out:?}");
}
