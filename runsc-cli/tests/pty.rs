//! End-to-end tests of pseudo-terminals inside `runsc do`: python's
//! `pty.fork()` runs a child on a terminal whose output the parent reads
//! and which a ^C written to the master interrupts; line editing and echo
//! as an interactive program sees them; and util-linux `script`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const PYTHON: &str = "/usr/bin/python3";

fn runsc_do(args: &[&str]) -> Out {
    run(Command::new(RUNSC).arg("do").args(args).env("LC_ALL", "C"))
}

fn have(path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    eprintln!("skipped: {path} is missing");
    false
}

/// Python helpers shared by the scripts: read the master until a marker
/// (EIO is the end of a pty's output).
const PY_PRELUDE: &str = r#"
import os, pty, signal, sys, time
def read_until(fd, marker, limit=10.0):
    out = b""
    end = time.time() + limit
    while marker not in out and time.time() < end:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out
"#;

#[test]
fn ctrl_c_on_a_pty_kills_sleep() {
    if !have(PYTHON) || !have("/bin/sleep") {
        return;
    }
    let script = format!(
        "{PY_PRELUDE}
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.write(1, b'READY\\n')
    os.execv('/bin/sleep', ['sleep', '100'])
seen = read_until(fd, b'READY')
time.sleep(0.3)
start = time.time()
os.write(fd, b'\\x03')
_, status = os.waitpid(pid, 0)
rest = read_until(fd, b'^C', 2.0)
print('seen', seen)
print('signaled', os.WIFSIGNALED(status), os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
print('fast', time.time() - start < 5)
print('echo', b'^C' in rest)
"
    );
    let out = runsc_do(&[PYTHON, "-c", &script]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("seen b'READY\\r\\n'"), "{out:?}");
    assert!(out.stdout.contains("signaled True 2"), "{out:?}");
    assert!(out.stdout.contains("fast True"), "{out:?}");
    assert!(out.stdout.contains("echo True"), "{out:?}");
}

#[test]
fn ctrl_c_raises_keyboard_interrupt_and_input_is_line_edited() {
    if !have(PYTHON) {
        return;
    }
    let script = format!(
        "{PY_PRELUDE}
pid, fd = pty.fork()
if pid == 0:
    name = input('name? ')
    print('hello <' + name + '>', flush=True)
    print('tty', os.ttyname(0), os.isatty(1), os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpid(), flush=True)
    try:
        print('LOOP', flush=True)
        while True:
            time.sleep(0.05)
    except KeyboardInterrupt:
        print('GOT-KBI', flush=True)
        os._exit(7)
out = read_until(fd, b'name? ')
os.write(fd, b'wrold\\x7f\\x7f\\x7f\\x7forld\\r')
out += read_until(fd, b'LOOP')
os.write(fd, b'\\x03')
out += read_until(fd, b'GOT-KBI')
_, status = os.waitpid(pid, 0)
sys.stdout.write(repr(out) + '\\n')
print('exit', os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)
"
    );
    let out = runsc_do(&[PYTHON, "-c", &script]);
    assert_eq!(out.code, 0, "{out:?}");
    // The echo of the edited line, then the program's answer.
    assert!(
        out.stdout
            .contains("name? wrold\\x08 \\x08\\x08 \\x08\\x08 \\x08\\x08 \\x08orld\\r\\nhello <world>\\r\\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("tty /dev/pts/0 True True True"), "{out:?}");
    assert!(out.stdout.contains("LOOP") && out.stdout.contains("^C"), "{out:?}");
    assert!(out.stdout.contains("GOT-KBI"), "{out:?}");
    assert!(out.stdout.contains("exit 7"), "{out:?}");
}

#[test]
fn master_close_hangs_up_the_session() {
    if !have(PYTHON) {
        return;
    }
    let script = format!(
        "{PY_PRELUDE}
r, w = os.pipe()
pid, fd = pty.fork()
if pid == 0:
    os.close(r)
    def hup(sig, frame):
        os.write(w, b'HUP')
        os._exit(3)
    signal.signal(signal.SIGHUP, hup)
    os.write(1, b'READY\\n')
    while True:
        time.sleep(0.05)
os.close(w)
read_until(fd, b'READY')
os.close(fd)
got = os.read(r, 10)
_, status = os.waitpid(pid, 0)
print('got', got, os.WEXITSTATUS(status))
"
    );
    let out = runsc_do(&[PYTHON, "-c", &script]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("got b'HUP' 3"), "{out:?}");
}

#[test]
fn script_runs_a_command_on_a_pty() {
    if !have("/usr/bin/script") || !have("/bin/sh") {
        return;
    }
    let out = runsc_do(&["/usr/bin/script", "-qec", "tty; stty size; echo done", "/dev/null"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("/dev/pts/"), "{out:?}");
    assert!(out.stdout.contains("done"), "{out:?}");
}
