//! End-to-end tests: a server thread on a socketpair over a temporary tree,
//! driven by the real client (and by raw packets for the hostile cases).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{build_tree, open_path_dir, TempDir, BIG};
use gofer::protocol::{self, frame, Encoder, Header, MAX_MESSAGE, MSG_ERROR, MSG_WALK, REPLY_FLAG};
use gofer::{serve, socketpair, Client, GoferError};
use std::collections::HashSet;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::thread::JoinHandle;
use syscalls::Errno;

struct Fixture {
    client: Option<Client>,
    server: Option<JoinHandle<Result<(), GoferError>>>,
    root: PathBuf,
    _dir: TempDir,
}

impl Fixture {
    fn start(readonly: bool, big: bool) -> Fixture {
        let dir = TempDir::new("srv");
        let root = build_tree(dir.path(), big);
        let (ours, theirs) = socketpair().unwrap();
        let root_fd = open_path_dir(&root);
        let server = std::thread::spawn(move || serve(root_fd, theirs, readonly));
        Fixture {
            client: Some(Client::new(ours)),
            server: Some(server),
            root,
            _dir: dir,
        }
    }

    /// A server whose socket the test drives by hand.
    fn start_raw(readonly: bool) -> (OwnedFd, JoinHandle<Result<(), GoferError>>, TempDir) {
        let dir = TempDir::new("raw");
        let root = build_tree(dir.path(), false);
        let (ours, theirs) = socketpair().unwrap();
        let root_fd = open_path_dir(&root);
        let server = std::thread::spawn(move || serve(root_fd, theirs, readonly));
        (ours, server, dir)
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Closing the client's socket ends the server loop cleanly.
        drop(self.client.take());
        if let Some(s) = self.server.take() {
            let r = s.join().unwrap();
            if !std::thread::panicking() {
                assert!(r.is_ok(), "server ended with {r:?}");
            }
        }
    }
}

fn read_all(fd: OwnedFd) -> Vec<u8> {
    let mut f = std::fs::File::from(fd);
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn attach_walk_stat_open_read() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, rattr) = c.attach().unwrap();
    assert!(rattr.is_dir());
    let host = std::fs::metadata(&fx.root).unwrap();
    assert_eq!(rattr.ino, std::os::unix::fs::MetadataExt::ino(&host));

    let nodes = c.walk(root, &[b"a", b"b", b"c", b"deep.txt"]).unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(nodes[..3].iter().all(|(_, a)| a.is_dir()));
    let (deep, dattr) = nodes[3];
    assert_eq!(dattr.size, 4);
    assert_eq!(dattr.mode & libc::S_IFMT, libc::S_IFREG);
    assert_eq!(c.stat(deep).unwrap(), dattr);
    assert_eq!(read_all(c.open(deep, libc::O_RDONLY).unwrap()), b"deep");

    let hello = c.walk(root, &[b"hello.txt"]).unwrap()[0].0;
    let fd = c.open(hello, libc::O_RDONLY).unwrap();
    // The donated fd is close-on-exec and blocking (O_NONBLOCK is only used internally).
    // SAFETY: fcntl on a live fd.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_eq!(fl & libc::O_NONBLOCK, 0);
    assert_eq!(read_all(fd), b"hello gofer\n");

    // Directories can be opened for reading.
    let adir = c.open(nodes[0].0, libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
    assert!(adir.as_raw_fd() >= 0);
    // The root itself can be opened too.
    assert!(c.open(root, libc::O_RDONLY).is_ok());
    // Walking from a non-directory handle is ENOTDIR.
    assert_eq!(c.walk(deep, &[b"x"]), Err(Errno::ENOTDIR));
    // Empty walk is a no-op.
    assert_eq!(c.walk(root, &[]).unwrap(), vec![]);
}

#[test]
fn walk_stops_at_missing_name_and_at_non_directories() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let got = c.walk(root, &[b"a", b"nope", b"c"]).unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].1.is_dir());
    assert_eq!(c.walk(root, &[b"missing"]).unwrap().len(), 0);
    // A regular file in the middle: stop after it.
    let got = c.walk(root, &[b"hello.txt", b"x", b"y"]).unwrap();
    assert_eq!(got.len(), 1);
    // Long walks are chunked transparently and still stop correctly.
    let mut names: Vec<&[u8]> = vec![b"a", b"b", b"c"];
    names.extend(vec![&b"zz"[..]; 300]);
    assert_eq!(c.walk(root, &names).unwrap().len(), 3);
}

#[test]
fn symlinks_are_returned_not_followed() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let got = c.walk(root, &[b"escape", b"passwd"]).unwrap();
    assert_eq!(got.len(), 1, "walk must stop at the symlink");
    let (esc, attr) = got[0];
    assert!(attr.is_symlink());
    assert_eq!(c.readlink(esc).unwrap(), b"/../../../etc");
    assert_eq!(c.open(esc, libc::O_RDONLY).unwrap_err(), Errno::ELOOP);
    let (link, _) = c.walk(root, &[b"link"]).unwrap()[0];
    assert_eq!(c.readlink(link).unwrap(), b"hello.txt");
    // readlink of a non-symlink is EINVAL, like readlink(2).
    assert_eq!(c.readlink(root), Err(Errno::EINVAL));
}

#[test]
fn getdents_pages_a_big_directory_exactly_once() {
    let fx = Fixture::start(true, true);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let (big, _) = c.walk(root, &[b"big"]).unwrap()[0];

    let start = std::time::Instant::now();
    let mut seen = HashSet::new();
    let mut cookie = 0;
    let mut pages = 0;
    loop {
        let page = c.getdents(big, cookie, 777).unwrap();
        assert!(page.len() <= 777);
        let Some(last) = page.last() else { break };
        cookie = last.off;
        pages += 1;
        for e in page {
            assert_eq!(e.dtype, libc::DT_REG);
            assert!(
                seen.insert(e.name.clone()),
                "duplicate {:?}",
                String::from_utf8_lossy(&e.name)
            );
        }
    }
    assert_eq!(seen.len(), BIG);
    assert!(pages >= BIG / 777);
    for i in 0..BIG {
        assert!(seen.contains(format!("f{i:05}").as_bytes()));
    }

    // One call for everything (the client pages over 64 KiB messages itself).
    let all = c.getdents(big, 0, usize::MAX).unwrap();
    assert_eq!(all.len(), BIG);
    // Resuming from the middle gives exactly the rest.
    let rest = c.getdents(big, all[4999].off, usize::MAX).unwrap();
    assert_eq!(rest, all[5000..].to_vec());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "too slow: {:?}",
        start.elapsed()
    );

    // Small directory: no "." / "..".
    let names: HashSet<Vec<u8>> = c.getdents(root, 0, 100).unwrap().into_iter().map(|e| e.name).collect();
    let want: HashSet<Vec<u8>> = [&b"a"[..], b"hello.txt", b"escape", b"link", b"big"]
        .iter()
        .map(|n| n.to_vec())
        .collect();
    assert_eq!(names, want);
    assert_eq!(c.getdents(root, 0, 0).unwrap(), vec![]);
    let (hello, _) = c.walk(root, &[b"hello.txt"]).unwrap()[0];
    assert_eq!(c.getdents(hello, 0, 10), Err(Errno::ENOTDIR));
}

#[test]
fn statfs_matches_host() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let s = c.statfs(root).unwrap();
    let host = nix::sys::statfs::statfs(&fx.root).unwrap();
    assert_eq!(s.fs_type, host.filesystem_type().0);
    assert_eq!(s.bsize, host.block_size());
    assert_eq!(s.blocks, host.blocks());
    assert!(s.namelen > 0);
}

#[test]
fn write_flags_are_erofs_when_readonly() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let (hello, _) = c.walk(root, &[b"hello.txt"]).unwrap()[0];
    for flags in [
        libc::O_WRONLY,
        libc::O_RDWR,
        libc::O_RDONLY | libc::O_TRUNC,
        libc::O_RDONLY | libc::O_APPEND,
        libc::O_RDONLY | libc::O_CREAT,
    ] {
        assert_eq!(c.open(hello, flags).unwrap_err(), Errno::EROFS, "flags {flags:#o}");
    }
    assert_eq!(std::fs::read(fx.root.join("hello.txt")).unwrap(), b"hello gofer\n");
    assert_eq!(c.open(hello, libc::O_PATH).unwrap_err(), Errno::EINVAL);
}

#[test]
fn writable_gofer_opens_for_write() {
    let fx = Fixture::start(false, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let (hello, _) = c.walk(root, &[b"hello.txt"]).unwrap()[0];
    let fd = c.open(hello, libc::O_WRONLY | libc::O_TRUNC).unwrap();
    std::io::Write::write_all(&mut std::fs::File::from(fd), b"new").unwrap();
    assert_eq!(std::fs::read(fx.root.join("hello.txt")).unwrap(), b"new");
}

#[test]
fn invalid_names_are_einval() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    for bad in [&b".."[..], b"a/b", b"", b".", b"x\0y"] {
        assert_eq!(c.walk(root, &[bad]), Err(Errno::EINVAL), "{bad:?}");
        assert_eq!(c.walk(root, &[b"a", bad]), Err(Errno::EINVAL), "{bad:?}");
    }
    assert_eq!(c.walk(root, &[&[b'n'; 300][..]]), Err(Errno::ENAMETOOLONG));
}

#[test]
fn server_rejects_bad_names_sent_on_the_wire() {
    // The client validates names too; make sure the server does not rely on it.
    let (sock, server, _dir) = Fixture::start_raw(true);
    let attach = frame(protocol::MSG_ATTACH, 1, &[]);
    let reply = roundtrip(&sock, &attach).unwrap();
    let (h, payload) = Header::decode(&reply).unwrap();
    assert_eq!(h.id, protocol::MSG_ATTACH | REPLY_FLAG);
    let root = u64::from_le_bytes(payload[..8].try_into().unwrap());
    for (i, bad) in [&b".."[..], b"../outside.txt", b"a/../..", b"", b"."]
        .iter()
        .enumerate()
    {
        let mut e = Encoder::new();
        e.u64(root).u32(1).bytes(bad);
        let tag = 10 + i as u64;
        let reply = roundtrip(&sock, &frame(MSG_WALK, tag, &e.buf)).unwrap();
        assert_eq!(error_of(&reply, tag), Some(libc::EINVAL), "{bad:?}");
    }
    // A mutating message on a read-only gofer.
    let reply = roundtrip(&sock, &frame(protocol::MSG_UNLINK, 99, &[0; 12])).unwrap();
    assert_eq!(error_of(&reply, 99), Some(libc::EROFS));
    // An unknown message.
    let reply = roundtrip(&sock, &frame(4242, 100, &[])).unwrap();
    assert_eq!(error_of(&reply, 100), Some(libc::ENOSYS));
    // A bad handle.
    let reply = roundtrip(&sock, &frame(protocol::MSG_STAT, 101, &777u64.to_le_bytes())).unwrap();
    assert_eq!(error_of(&reply, 101), Some(libc::EBADF));
    drop(sock);
    assert!(server.join().unwrap().is_ok());
}

#[test]
fn close_releases_handles() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let nodes = c.walk(root, &[b"a", b"b"]).unwrap();
    let hs: Vec<u64> = nodes.iter().map(|(h, _)| *h).collect();
    c.close(&hs);
    assert_eq!(c.stat(hs[0]), Err(Errno::EBADF));
    // The root is still fine, and so is a fresh walk.
    assert!(c.stat(root).unwrap().is_dir());
    assert_eq!(c.walk(root, &[b"a", b"b"]).unwrap().len(), 2);
    c.close(&[12345]); // unknown: ignored
}

#[test]
fn replaced_file_is_stale() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let (hello, _) = c.walk(root, &[b"hello.txt"]).unwrap()[0];
    std::fs::write(fx.root.join("other"), b"other").unwrap();
    std::fs::rename(fx.root.join("other"), fx.root.join("hello.txt")).unwrap();
    assert_eq!(c.open(hello, libc::O_RDONLY).unwrap_err(), Errno::ESTALE);
}

#[test]
fn fifo_open_does_not_block() {
    let fx = Fixture::start(true, false);
    nix::unistd::mkfifo(&fx.root.join("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    let (fifo, attr) = c.walk(root, &[b"fifo"]).unwrap()[0];
    assert_eq!(attr.mode & libc::S_IFMT, libc::S_IFIFO);
    // No writer: a blocking open would hang the whole gofer.
    assert!(c.open(fifo, libc::O_RDONLY).is_ok());
    assert!(c.stat(root).is_ok());
}

#[test]
fn client_is_shared_between_threads() {
    let fx = Fixture::start(true, false);
    let c = fx.c();
    let (root, _) = c.attach().unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..200 {
                    let n = c.walk(root, &[b"a", b"b", b"c", b"deep.txt"]).unwrap();
                    assert_eq!(n.len(), 4);
                    assert_eq!(c.stat(n[3].0).unwrap().size, 4);
                    c.close(&n.iter().map(|(h, _)| *h).collect::<Vec<_>>());
                }
            });
        }
    });
}

#[test]
fn broken_socket_gives_eio() {
    let (ours, theirs) = socketpair().unwrap();
    drop(theirs);
    let c = Client::new(ours);
    assert_eq!(c.attach().unwrap_err(), Errno::EIO);
    assert_eq!(c.stat(1).unwrap_err(), Errno::EIO);
    c.close(&[1]);

    // A peer that answers garbage also gives EIO, and the client stays broken.
    let (ours, theirs) = socketpair().unwrap();
    let t = std::thread::spawn(move || {
        let mut buf = vec![0u8; MAX_MESSAGE];
        // SAFETY: recv into a buffer we own.
        let n = unsafe { libc::recv(theirs.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(n > 0);
        let junk = frame(protocol::MSG_ATTACH | REPLY_FLAG, 999, &[1, 2, 3]);
        // SAFETY: send from a buffer we own.
        unsafe { libc::send(theirs.as_raw_fd(), junk.as_ptr().cast(), junk.len(), 0) };
        theirs
    });
    let c = Client::new(ours);
    assert_eq!(c.attach().unwrap_err(), Errno::EIO);
    let _theirs = t.join().unwrap();
    assert_eq!(c.attach().unwrap_err(), Errno::EIO);
}

/// Sends one packet and waits (bounded) for the reply. `None` if the server
/// closed the socket.
fn roundtrip(sock: &OwnedFd, packet: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: send from a buffer we own.
    let n = unsafe {
        libc::send(
            sock.as_raw_fd(),
            packet.as_ptr().cast(),
            packet.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        return None;
    }
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, 5000) };
    assert!(r > 0, "server did not answer within 5s");
    let mut buf = vec![0u8; MAX_MESSAGE];
    // SAFETY: recv into a buffer we own.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n <= 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

fn error_of(reply: &[u8], tag: u64) -> Option<i32> {
    let (h, payload) = Header::decode(reply).ok()?;
    assert_eq!(h.tag, tag);
    (h.id == MSG_ERROR).then(|| u32::from_le_bytes(payload.try_into().unwrap()) as i32)
}

#[test]
fn fuzzed_messages_get_errors_and_serving_continues() {
    let (sock, server, _dir) = Fixture::start_raw(true);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Valid requests to mutate from.
    let seeds: Vec<Vec<u8>> = vec![
        frame(protocol::MSG_ATTACH, 1, &[]),
        {
            let mut e = Encoder::new();
            e.u64(1).u32(2).bytes(b"a").bytes(b"b");
            frame(MSG_WALK, 2, &e.buf)
        },
        frame(protocol::MSG_STAT, 3, &1u64.to_le_bytes()),
        frame(protocol::MSG_OPEN, 4, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        frame(
            protocol::MSG_GETDENTS,
            5,
            &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0],
        ),
        frame(protocol::MSG_CLOSE, 6, &[1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]),
    ];
    let mut replies = 0;
    for i in 0..3000u32 {
        let r = next();
        let mut msg = match i % 4 {
            // Pure noise (never empty: an empty packet means "goodbye").
            0 => (0..1 + r % 100).map(|_| next() as u8).collect::<Vec<u8>>(),
            // A truncated valid message.
            1 => {
                let s = &seeds[(r % seeds.len() as u64) as usize];
                s[..1.max((next() as usize) % s.len())].to_vec()
            }
            // A valid message with flipped bytes.
            2 => {
                let mut s = seeds[(r % seeds.len() as u64) as usize].clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() as usize) % s.len();
                    s[at] ^= next() as u8 | 1;
                }
                s
            }
            // Well-framed header, random id and payload.
            _ => {
                let payload: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
                frame((next() % 40) as u32, u64::from(i), &payload)
            }
        };
        if msg.is_empty() {
            msg.push(0);
        }
        let reply = roundtrip(&sock, &msg).expect("server closed the socket on a fuzzed message");
        let (h, payload) = Header::decode(&reply).expect("reply is well framed");
        assert!(h.id == MSG_ERROR || h.id & REPLY_FLAG != 0);
        if h.id == MSG_ERROR {
            assert_eq!(payload.len(), 4);
        }
        replies += 1;
    }
    assert_eq!(replies, 3000);
    // An oversized packet is rejected, not truncated and misread.
    let huge = frame(protocol::MSG_STAT, 7, &vec![0u8; MAX_MESSAGE]);
    assert_eq!(error_of(&roundtrip(&sock, &huge).unwrap(), 7), Some(libc::EINVAL));
    // Fds sent to the server are dropped, and the request is refused.
    {
        let attach = frame(protocol::MSG_ATTACH, 8, &[]);
        let devnull = std::fs::File::open("/dev/null").unwrap();
        let fds = [devnull.as_raw_fd()];
        let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
        nix::sys::socket::sendmsg::<()>(
            sock.as_raw_fd(),
            &[std::io::IoSlice::new(&attach)],
            &cmsg,
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        let mut buf = vec![0u8; MAX_MESSAGE];
        // SAFETY: recv into a buffer we own.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(n > 0);
        assert_eq!(error_of(&buf[..n as usize], 8), Some(libc::EINVAL));
    }

    // The same connection still serves valid requests through the client.
    let c = Client::new(sock);
    let (root, _) = c.attach().unwrap();
    let nodes = c.walk(root, &[b"a", b"b", b"c", b"deep.txt"]).unwrap();
    assert_eq!(nodes.len(), 4);
    assert_eq!(read_all(c.open(nodes[3].0, libc::O_RDONLY).unwrap()), b"deep");
    drop(c);
    assert!(server.join().unwrap().is_ok());
}
