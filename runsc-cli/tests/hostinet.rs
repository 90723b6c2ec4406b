//! End-to-end tests of host networking (`--network=host`): the guest's
//! TCP and UDP sockets are host sockets, so servers and clients on the
//! host and in the sandbox reach each other; the default and `none` modes
//! stay isolated; an OCI bundle's `network` namespace is the one the
//! sandbox's sockets live in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PYTHON: &str = "/usr/bin/python3";

fn have_python() -> bool {
    if Path::new(PYTHON).exists() {
        return true;
    }
    eprintln!("skipped: no {PYTHON} on the host");
    false
}

fn busybox() -> Option<&'static str> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// `runsc GLOBAL... do python3 -c SCRIPT ARGS...`.
fn python(global: &[&str], script: &str, args: &[&str]) -> Out {
    run(Command::new(RUNSC)
        .args(global)
        .args(["do", PYTHON, "-c", script])
        .args(args))
}

/// A port free on the host right now (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A sandbox running in the background whose stdout is read line by line.
struct Background {
    child: Child,
    lines: BufReader<std::process::ChildStdout>,
}

impl Background {
    fn start(cmd: &mut Command) -> Background {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap());
        Background { child, lines }
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.lines.read_line(&mut l).unwrap();
        if l.is_empty() {
            let mut err = String::new();
            let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the sandbox ended early: {err}");
        }
        l.trim_end().to_string()
    }

    fn finish(mut self) -> (i32, String) {
        let mut rest = String::new();
        self.lines.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), rest)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A host TCP server on 127.0.0.1 answering one connection: it reads a
/// line and replies `host got <line>`. Returns its port and a handle that
/// says whether a connection came.
fn host_tcp_server() -> (u16, std::thread::JoinHandle<bool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let t = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        let (c, _) = loop {
            match l.accept() {
                Ok(c) => break c,
                Err(_) if start.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return false,
            }
        };
        c.set_nonblocking(false).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut r = BufReader::new(c.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let mut c = c;
        c.write_all(format!("host got {}", line.trim_end()).as_bytes()).unwrap();
        true
    });
    (port, t)
}

#[test]
fn guest_connects_to_a_host_tcp_server() {
    let Some(bb) = busybox() else {
        eprintln!("skipped: no busybox on the host");
        return;
    };
    let (port, server) = host_tcp_server();
    let out = run(Command::new(RUNSC).args([
        "--network=host",
        "do",
        "/bin/sh",
        "-c",
        &format!("echo hello-from-guest | {bb} nc 127.0.0.1 {port}"),
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "host got hello-from-guest", "{out:?}");
    assert!(server.join().unwrap());
}

#[test]
fn host_client_reaches_a_guest_tcp_server_on_the_wildcard() {
    if !have_python() {
        return;
    }
    let port = free_port();
    // A dual-stack listener on ::, with options a server sets, accept's
    // peer address, blocking reads and a reply.
    let script = "import socket, sys\n\
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n\
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1\n\
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n\
        s.bind(('::', int(sys.argv[1])))\n\
        s.listen(8)\n\
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1\n\
        print('ready', flush=True)\n\
        c, peer = s.accept()\n\
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n\
        data = b''\n\
        while not data.endswith(b'\\n'):\n\
        \x20   data += c.recv(100)\n\
        c.sendall(b'guest got ' + data)\n\
        c.close()\n\
        print('peer', peer[0], data.decode().strip(), flush=True)\n";
    let mut bg = Background::start(
        Command::new(RUNSC)
            .args(["--network=host", "do", PYTHON, "-c", script])
            .arg(port.to_string()),
    );
    assert_eq!(bg.line(), "ready");
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(b"ping\n").unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "guest got ping\n");
    let (code, rest) = bg.finish();
    assert_eq!(code, 0, "{rest}");
    assert_eq!(rest, "peer ::ffff:127.0.0.1 ping\n");
}

#[test]
fn udp_echo_both_ways() {
    if !have_python() {
        return;
    }
    // The host's echo server.
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    let host_port = host.local_addr().unwrap().port();
    host.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 100];
        let (n, from) = host.recv_from(&mut buf).unwrap();
        host.send_to(&buf[..n].to_ascii_uppercase(), from).unwrap();
    });
    let guest_port = free_port();
    // The guest asks the host's echo server, then serves one echo itself;
    // its receive timeout (SO_RCVTIMEO, kept by the sentry) bounds both.
    let script = "import socket, sys\n\
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        u.settimeout(20)\n\
        u.sendto(b'to-host', ('127.0.0.1', int(sys.argv[1])))\n\
        data, src = u.recvfrom(100)\n\
        print('reply', data.decode(), src[1] == int(sys.argv[1]), flush=True)\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.bind(('0.0.0.0', int(sys.argv[2])))\n\
        print('ready', flush=True)\n\
        s.settimeout(20)\n\
        data, src = s.recvfrom(100)\n\
        s.sendto(data[::-1], src)\n";
    let mut bg = Background::start(
        Command::new(RUNSC)
            .args(["--network=host", "do", PYTHON, "-c", script])
            .args([host_port.to_string(), guest_port.to_string()]),
    );
    assert_eq!(bg.line(), "reply TO-HOST True");
    assert_eq!(bg.line(), "ready");
    echo.join().unwrap();
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.send_to(b"abc", ("127.0.0.1", guest_port)).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"cba");
    assert_eq!(from.port(), guest_port);
    let (code, rest) = bg.finish();
    assert_eq!(code, 0, "{rest}");
}

#[test]
fn blocking_calls_are_interrupted_by_signals_and_time_out() {
    if !have_python() {
        return;
    }
    // A blocking accept with SIGALRM: the handler runs and Python sees
    // EINTR (it retries after the handler raises); SO_RCVTIMEO: EAGAIN
    // after the timeout; poll() wakes on data from the host.
    let script = "import socket, signal, select, time\n\
        class Alarm(Exception): pass\n\
        def on_alarm(*a): raise Alarm()\n\
        signal.signal(signal.SIGALRM, on_alarm)\n\
        s = socket.socket()\n\
        s.bind(('127.0.0.1', 0)); s.listen(1)\n\
        signal.setitimer(signal.ITIMER_REAL, 0.3)\n\
        t = time.time()\n\
        try:\n\
        \x20   s.accept()\n\
        except Alarm:\n\
        \x20   print('interrupted', round(time.time() - t, 1) >= 0.2, flush=True)\n\
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        u.bind(('127.0.0.1', 0))\n\
        u.settimeout(0.3)\n\
        t = time.time()\n\
        try:\n\
        \x20   u.recv(10)\n\
        except socket.timeout:\n\
        \x20   print('timeout', time.time() - t >= 0.25, flush=True)\n\
        u.settimeout(None)\n\
        v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        p = select.poll(); p.register(u, select.POLLIN)\n\
        print('idle', p.poll(100), flush=True)\n\
        v.sendto(b'x', u.getsockname())\n\
        print('ready', [e for _, e in p.poll(5000)] == [select.POLLIN], flush=True)\n";
    let out = python(&["--network=host"], script, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "interrupted True\ntimeout True\nidle []\nready True\n",
        "{out:?}"
    );
}

#[test]
fn default_and_none_modes_cannot_reach_the_host() {
    if !have_python() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let script = "import socket, sys\n\
        try:\n\
        \x20   socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n\
        \x20   print('connected')\n\
        except OSError as e:\n\
        \x20   print('errno', e.errno)\n";
    for global in [&[][..], &["--network=none"], &["--network=sandbox"]] {
        let out = python(global, script, &[&port]);
        assert_eq!(out.code, 0, "{global:?}: {out:?}");
        assert_eq!(
            out.stdout,
            format!("errno {}\n", libc::ECONNREFUSED),
            "{global:?}: {out:?}"
        );
    }
    assert!(l.accept().is_err(), "a sandbox reached the host's listener");
    // The same program reaches it with host networking.
    let out = python(&["--network=host"], script, &[&port]);
    assert_eq!(out.stdout, "connected\n", "{out:?}");
    assert!(l.accept().is_ok());
}

/// A process holding a network namespace of its own (`unshare --net`)
/// with `lo` up and a TCP server on 127.0.0.1:PORT that answers
/// `inside-netns` to one connection.
fn netns_holder(port: u16) -> Option<Background> {
    if !Path::new("/usr/bin/unshare").exists() {
        eprintln!("skipped: no unshare");
        return None;
    }
    let script = "import socket, fcntl, struct, sys\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        req = struct.pack('16sH22x', b'lo', 0)\n\
        flags = struct.unpack('16sH22x', fcntl.ioctl(s, 0x8913, req))[1]\n\
        fcntl.ioctl(s, 0x8914, struct.pack('16sH22x', b'lo', flags | 1))\n\
        l = socket.socket(); l.bind(('127.0.0.1', int(sys.argv[1]))); l.listen(1)\n\
        print('ready', flush=True)\n\
        l.settimeout(60)\n\
        c, _ = l.accept(); c.sendall(b'inside-netns'); c.close()\n\
        print('served', flush=True)\n";
    let mut bg = Background::start(
        Command::new("/usr/bin/unshare")
            .args(["--net", PYTHON, "-c", script])
            .arg(port.to_string()),
    );
    if bg.line() != "ready" {
        return None;
    }
    Some(bg)
}

/// An OCI bundle over the host's root running `python3 -c SCRIPT ARGS` with
/// the given `linux.namespaces`.
fn bundle(dir: &TempDir, script: &str, args: &[String], namespaces: serde_json::Value) {
    let mut argv = vec![PYTHON.to_string(), "-c".to_string(), script.to_string()];
    argv.extend(args.iter().cloned());
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": argv,
            "env": ["PATH=/usr/bin:/bin"],
            "cwd": "/"
        },
        "root": {"path": "/", "readonly": true},
        "linux": {"namespaces": namespaces}
    });
    std::fs::write(dir.0.join("config.json"), config.to_string()).unwrap();
}

/// Connects to 127.0.0.1:PORT for each port argument and prints what it
/// read or the errno.
const PROBE: &str = "import socket, sys\n\
    for p in sys.argv[1:]:\n\
    \x20   try:\n\
    \x20       c = socket.create_connection(('127.0.0.1', int(p)), timeout=10)\n\
    \x20       print(c.recv(100).decode() or 'eof')\n\
    \x20   except OSError as e:\n\
    \x20       print('errno', e.errno)\n";

#[test]
fn oci_network_namespace_path_is_joined() {
    if !have_python() || !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root and python3");
        return;
    }
    let inside = free_port();
    let Some(holder) = netns_holder(inside) else { return };
    let (host_port, host_server) = host_tcp_server();
    let dir = TempDir::new("hostinet-netns");
    let netns = format!("/proc/{}/ns/net", holder.child.id());
    bundle(
        &dir,
        PROBE,
        &[inside.to_string(), host_port.to_string()],
        serde_json::json!([{"type": "pid"}, {"type": "mount"}, {"type": "network", "path": netns}]),
    );
    let state = dir.0.join("state");
    let out = runsc_with_state(&dir.0, &state, &["--network=host", "run", &format!("ns{}", unique())]);
    assert_eq!(out.code, 0, "{out:?}");
    // The server in the joined namespace answers; the host's loopback,
    // another namespace's, refuses.
    assert_eq!(
        out.stdout,
        format!("inside-netns\nerrno {}\n", libc::ECONNREFUSED),
        "{out:?}"
    );
    let (code, rest) = holder.finish();
    assert_eq!((code, rest.as_str()), (0, "served\n"));
    // Unblock the host server thread with a connection of our own.
    let _ = TcpStream::connect(("127.0.0.1", host_port)).map(|mut c| c.write_all(b"x\n"));
    assert!(host_server.join().unwrap());
}

#[test]
fn oci_network_namespace_without_path_is_fresh_with_loopback() {
    if !have_python() || !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root and python3");
        return;
    }
    let (host_port, host_server) = host_tcp_server();
    // In a fresh namespace lo is up: the guest talks to itself over host
    // sockets, and the host's listener is out of reach.
    let script = "import socket, sys\n\
        l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n\
        c = socket.create_connection(l.getsockname(), timeout=10)\n\
        a, _ = l.accept(); a.sendall(b'self')\n\
        print(c.recv(10).decode())\n\
        l2 = socket.socket(); l2.bind(('0.0.0.0', 80)); print('port 80 ok')\n\
        try:\n\
        \x20   socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)\n\
        except OSError as e:\n\
        \x20   print('errno', e.errno)\n";
    let dir = TempDir::new("hostinet-freshns");
    bundle(
        &dir,
        script,
        &[host_port.to_string()],
        serde_json::json!([{"type": "pid"}, {"type": "mount"}, {"type": "network"}]),
    );
    let state = dir.0.join("state");
    let out = runsc_with_state(
        &dir.0,
        &state,
        &["--network=host", "run", &format!("fresh{}", unique())],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("self\nport 80 ok\nerrno {}\n", libc::ECONNREFUSED),
        "{out:?}"
    );
    let _ = TcpStream::connect(("127.0.0.1", host_port)).map(|mut c| c.write_all(b"x\n"));
    assert!(host_server.join().unwrap());
}
