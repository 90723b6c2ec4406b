//! `process.terminal` with `--console-socket`: the pty master arrives over
//! the socket with `SCM_RIGHTS`, the container's stdio is the replica (a
//! terminal of the size in `consoleSize`), and what the container writes
//! comes out of the master; `exec --tty` likewise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TempDir, RUNSC};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Accepts one connection on `listener` and returns the fd it carries.
fn receive_master(listener: &UnixListener) -> OwnedFd {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 64];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel installed this fd for us.
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd in the console message");
}

/// Reads the master until `want` shows up (or 20 s pass).
fn read_until(master: &OwnedFd, want: &str) -> String {
    let mut file = std::fs::File::from(master.try_clone().unwrap());
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains(want) {
        let mut buf = [0u8; 1024];
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn the_console_master_goes_over_the_socket_and_the_replica_is_the_containers_terminal() {
    let dir = TempDir::new("console");
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": true,
            "consoleSize": {"height": 33, "width": 111},
            "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", "test -t 0 && test -t 1 && stty size; read line; echo got $line; sleep 1000"],
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "/", "readonly": true}
    });
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
    let sock = dir.0.join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let state = dir.0.join("state");
    let runsc = || {
        let mut c = Command::new(RUNSC);
        c.arg("--root").arg(&state).current_dir(&dir.0).stdin(Stdio::null());
        c
    };
    let status = runsc()
        .args(["run", "--detach", "--console-socket"])
        .arg(&sock)
        .arg("tty1")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let master = receive_master(&listener);
    let screen = read_until(&master, "33 111");
    assert!(screen.contains("33 111"), "{screen:?}");
    nix::unistd::write(&master, b"hello\n").unwrap();
    // The line discipline echoes the input, then the shell answers.
    let screen = read_until(&master, "got hello");
    assert!(screen.contains("got hello\r\n"), "{screen:?}");

    // exec --tty: a second pty, its own master over the socket.
    let exec = runsc()
        .args(["exec", "--tty", "--detach", "--console-socket"])
        .arg(&sock)
        .args(["tty1", "sh", "-c", "test -t 0 && echo exec-on-a-tty; sleep 1000"])
        .status()
        .unwrap();
    assert!(exec.success());
    let master2 = receive_master(&listener);
    let screen = read_until(&master2, "exec-on-a-tty");
    assert!(screen.contains("exec-on-a-tty"), "{screen:?}");

    let out = common::run(runsc().args(["delete", "--force", "tty1"]));
    assert_eq!(out.code, 0, "{out:?}");
}
