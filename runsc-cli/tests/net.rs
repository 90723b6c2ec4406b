//! End-to-end tests of loopback networking inside one sandbox: a server
//! and a client in the same container talk over 127.0.0.1 through the
//! sentry's in-memory stack (busybox `nc`; python's `http.server` and
//! `urllib`). The sandbox has its own port space, so fixed ports cannot
//! collide with the host's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// `runsc do /bin/sh -c SCRIPT` over the host root.
fn sandbox_sh(script: &str) -> Out {
    run(Command::new(RUNSC).args(["do", "/bin/sh", "-c", script]))
}

fn busybox() -> Option<&'static str> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

#[test]
fn busybox_nc_server_and_client_exchange_data() {
    let Some(bb) = busybox() else {
        eprintln!("skipped: no busybox on the host");
        return;
    };
    let dir = TempDir::new("net-nc");
    let out_file = dir.0.join("received");
    let script = format!(
        "{bb} nc -l -p 12345 > {out} & \
         for i in 1 2 3 4 5 6 7 8 9 10; do \
           echo 'hello over loopback' | {bb} nc 127.0.0.1 12345 && break; sleep 0.2; \
         done; wait; cat {out}",
        out = out_file.display()
    );
    let out = sandbox_sh(&script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "hello over loopback\n", "{out:?}");
}

#[test]
fn python_http_server_serves_a_file_to_urllib() {
    if !Path::new("/usr/bin/python3").exists() {
        eprintln!("skipped: no /usr/bin/python3 on the host");
        return;
    }
    let dir = TempDir::new("net-http");
    std::fs::write(dir.0.join("page.txt"), "served by rvisor\n").unwrap();
    let client = "import time, urllib.request\n\
        for i in range(100):\n\
        \x20   try:\n\
        \x20       print(urllib.request.urlopen('http://127.0.0.1:8123/page.txt', timeout=10).read().decode(), end='')\n\
        \x20       break\n\
        \x20   except OSError:\n\
        \x20       time.sleep(0.1)\n";
    let script = format!(
        "/usr/bin/python3 -m http.server 8123 --bind 127.0.0.1 --directory {d} >/dev/null 2>&1 & \
         /usr/bin/python3 -c \"$CLIENT\"; kill $!",
        d = dir.0.display()
    );
    let out = run(Command::new(RUNSC)
        .args(["do", "/bin/sh", "-c", &script])
        .env("CLIENT", client));
    assert_eq!(out.stdout, "served by rvisor\n", "{out:?}");
}

#[test]
fn python_unix_socket_server_and_client() {
    if !Path::new("/usr/bin/python3").exists() {
        eprintln!("skipped: no /usr/bin/python3 on the host");
        return;
    }
    let dir = TempDir::new("net-unix");
    let path = dir.0.join("sock");
    let script = format!(
        "import os, socket\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.bind({p:?}); s.listen(1)\n\
         if os.fork() == 0:\n\
         \x20   c = socket.socket(socket.AF_UNIX); c.connect({p:?}); c.sendall(b'ping'); c.close(); os._exit(0)\n\
         conn, _ = s.accept()\n\
         print(conn.recv(10).decode(), conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED) != 0)\n\
         os.wait()\n",
        p = path.display().to_string()
    );
    let out = run(Command::new(RUNSC).args(["do", "/usr/bin/python3", "-c", &script]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "ping True\n", "{out:?}");
}

/// Interface listing goes through the sentry's NETLINK_ROUTE socket
/// (`ip addr`) and glibc's `if_nameindex` (python): the sandbox has `lo`.
#[test]
fn interfaces_are_listed_through_netlink() {
    let Some(bb) = busybox() else {
        eprintln!("skipped: no busybox on the host");
        return;
    };
    let out = run(Command::new(RUNSC).args(["do", bb, "ip", "addr"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"),
        "{out:?}"
    );
    assert!(out.stdout.contains("inet 127.0.0.1/8 scope host lo"), "{out:?}");
    assert!(out.stdout.contains("inet6 ::1/128 scope host"), "{out:?}");
    if Path::new("/usr/bin/python3").exists() {
        let out = run(Command::new(RUNSC).args([
            "do",
            "/usr/bin/python3",
            "-c",
            "import socket; print(socket.if_nameindex(), socket.if_nametoindex('lo'))",
        ]));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, "[(1, 'lo')] 1\n", "{out:?}");
    }
}
