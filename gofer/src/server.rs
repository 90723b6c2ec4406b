//! The gofer's request loop: a handle table of `O_PATH` fds and one handler
//! per message.
//!
//! Confinement comes from how names are resolved, not from checking paths:
//! every lookup is `openat(dirfd, name, O_PATH | O_NOFOLLOW)` with `name` a
//! single validated component (never `..`, never containing `/`), so a walk
//! can only ever step down from a directory the server already holds, and a
//! symlink is returned as a node of its own instead of being followed.

use crate::error::GoferError;
use crate::protocol::{
    dirent_len, frame, validate_name, Encoder, Header, Request, HEADER_LEN, MAX_MESSAGE, MAX_PAYLOAD, MSG_ERROR,
    MUTATING, NAME_MAX, PATH_MAX, REPLY_FLAG,
};
use crate::sys;
use crate::types::{Attr, StatFs};
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;
use syscalls::Errno;

mod mutate;

/// The `open(2)` flags OPEN and CREATE pass on to the host.
const PASS: i32 = libc::O_ACCMODE
    | libc::O_APPEND
    | libc::O_TRUNC
    | libc::O_NONBLOCK
    | libc::O_DIRECTORY
    | libc::O_DSYNC
    | libc::O_SYNC
    | libc::O_DIRECT
    | libc::O_NOATIME
    | libc::O_LARGEFILE;

/// Most live handles; each holds a host fd.
const MAX_HANDLES: usize = 1 << 20;
/// Size of the buffer handed to `getdents64`.
const DIRENT_BUF: usize = 32 * 1024;

/// One looked-up host node.
struct Node {
    /// `O_PATH | O_NOFOLLOW` fd of the node itself.
    fd: Rc<OwnedFd>,
    /// The directory it was found in and its name there, to reopen a
    /// non-directory for I/O (`O_PATH` fds cannot be reopened directly).
    /// `None` for the root. RENAME keeps it current.
    parent: Option<Parent>,
    dev: u64,
    ino: u64,
    mode: u32,
    /// Lazily opened `O_RDONLY | O_DIRECTORY` fd for GETDENTS paging.
    dir: Option<OwnedFd>,
}

/// Where a node was found: its directory (fd and identity) and name there.
struct Parent {
    fd: Rc<OwnedFd>,
    name: Vec<u8>,
    /// (dev, ino) of the directory, to find the nodes a RENAME moves.
    id: (u64, u64),
}

impl Node {
    fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    fn fmt(&self) -> u32 {
        self.mode & libc::S_IFMT
    }

    /// Opens the node itself for I/O with `open_flags` (`O_NOFOLLOW` and
    /// `O_NONBLOCK` added): directories through their own fd, others by
    /// name in their directory, checked to still be the same node (`ESTALE`).
    /// The fd is left non-blocking only if `open_flags` asked for it.
    fn reopen(&self, open_flags: i32) -> Result<OwnedFd, Errno> {
        let flags = open_flags | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK;
        let fd = if self.is_dir() {
            sys::openat(self.fd.as_fd(), b".", flags)?
        } else {
            let p = self.parent.as_ref().ok_or(Errno::ESTALE)?;
            sys::openat(p.fd.as_fd(), &p.name, flags)?
        };
        let st = sys::fstat(fd.as_fd())?;
        if (st.st_dev, st.st_ino) != (self.dev, self.ino) {
            return Err(Errno::ESTALE);
        }
        if open_flags & libc::O_NONBLOCK == 0 {
            sys::set_status_flags(fd.as_fd(), flags & !libc::O_NONBLOCK)?;
        }
        Ok(fd)
    }
}

/// The server state for one session.
pub(crate) struct Server {
    root: Rc<OwnedFd>,
    readonly: bool,
    nodes: HashMap<u64, Node>,
    next_handle: u64,
    dirent_buf: Vec<u8>,
}

/// Serves requests on `sock` for the tree under `root` (an `O_PATH`
/// directory fd) until the peer closes the socket. With `readonly`, every
/// request that could modify the host gets `EROFS`.
pub fn serve(root: OwnedFd, sock: OwnedFd, readonly: bool) -> Result<(), GoferError> {
    let mut server = Server::new(root, readonly)?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let packet = match sys::recv_packet(sock.as_fd(), &mut buf, false) {
            Ok(p) => p,
            Err(Errno::ECONNRESET) => return Ok(()),
            Err(errno) => return Err(GoferError::Sys { what: "recvmsg", errno }),
        };
        if packet.len == 0 && !packet.truncated {
            return Ok(());
        }
        let (reply, fd) = server.handle_packet(&buf[..packet.len], packet.truncated);
        match sys::send_packet(sock.as_fd(), &reply, fd.as_ref().map(|f| f.as_fd())) {
            Ok(()) => {}
            Err(Errno::EPIPE) | Err(Errno::ECONNRESET) => return Ok(()),
            Err(errno) => return Err(GoferError::Sys { what: "sendmsg", errno }),
        }
    }
}

type Reply = (Vec<u8>, Option<OwnedFd>);

impl Server {
    pub(crate) fn new(root: OwnedFd, readonly: bool) -> Result<Server, GoferError> {
        let st = sys::fstat(root.as_fd()).map_err(|errno| GoferError::Sys {
            what: "fstat(root)",
            errno,
        })?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(GoferError::Sys {
                what: "root",
                errno: Errno::ENOTDIR,
            });
        }
        Ok(Server {
            root: Rc::new(root),
            readonly,
            nodes: HashMap::new(),
            next_handle: 1,
            dirent_buf: vec![0u8; DIRENT_BUF],
        })
    }

    /// Turns one received packet into one reply packet (and maybe an fd).
    /// Never panics, whatever the bytes.
    pub(crate) fn handle_packet(&mut self, packet: &[u8], truncated: bool) -> Reply {
        // Echo the tag whenever the header is long enough to hold one.
        let tag = packet
            .get(8..HEADER_LEN)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0);
        if truncated {
            return (error_reply(tag, Errno::EINVAL), None);
        }
        let (header, payload) = match Header::decode(packet) {
            Ok(v) => v,
            Err(_) => return (error_reply(tag, Errno::EINVAL), None),
        };
        match self.dispatch(header.id, payload) {
            Ok((body, fd)) => (frame(header.id | REPLY_FLAG, tag, &body), fd),
            Err(e) => (error_reply(tag, e), None),
        }
    }

    fn dispatch(&mut self, id: u32, payload: &[u8]) -> Result<Reply, Errno> {
        // A read-only gofer refuses changes before looking at the payload.
        if self.readonly && MUTATING.contains(&id) {
            return Err(Errno::EROFS);
        }
        let req = match Request::decode(id, payload) {
            Ok(Some(r)) => r,
            Ok(None) => return Err(Errno::ENOSYS),
            Err(e) => return Err(Errno::from(e)),
        };
        let mut e = Encoder::new();
        match req {
            Request::Attach => {
                let (h, attr) = self.attach()?;
                e.u64(h).attr(&attr);
            }
            Request::Walk { dir, names } => {
                let nodes = self.walk(dir, &names)?;
                e.u32(nodes.len() as u32);
                for (h, attr) in nodes {
                    e.u64(h).attr(&attr);
                }
            }
            Request::Stat(h) => {
                let st = sys::fstat(self.node(h)?.fd.as_fd())?;
                e.attr(&Attr::from(&st));
            }
            Request::Open { handle, flags } => {
                let fd = self.open(handle, flags as i32)?;
                return Ok((Vec::new(), Some(fd)));
            }
            Request::Readlink(h) => {
                let node = self.node(h)?;
                if node.mode & libc::S_IFMT != libc::S_IFLNK {
                    return Err(Errno::EINVAL);
                }
                let target = sys::readlink_fd(node.fd.as_fd(), PATH_MAX)?;
                e.bytes(&target);
            }
            Request::Getdents { dir, cookie, max } => return Ok((self.getdents(dir, cookie, max as usize)?, None)),
            Request::Statfs(h) => {
                let st = sys::fstatfs(self.node(h)?.fd.as_fd())?;
                e.statfs(&StatFs::from(&st));
            }
            Request::Close(handles) => {
                for h in handles {
                    self.nodes.remove(&h);
                }
            }
            other => return self.dispatch_more(other),
        }
        Ok((e.buf, None))
    }

    fn node(&self, h: u64) -> Result<&Node, Errno> {
        self.nodes.get(&h).ok_or(Errno::EBADF)
    }

    fn insert(&mut self, nodes: Vec<Node>) -> Result<Vec<u64>, Errno> {
        if self.nodes.len() + nodes.len() > MAX_HANDLES {
            return Err(Errno::ENFILE);
        }
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            let h = self.next_handle;
            self.next_handle += 1;
            self.nodes.insert(h, node);
            out.push(h);
        }
        Ok(out)
    }

    fn attach(&mut self) -> Result<(u64, Attr), Errno> {
        let fd = sys::openat(self.root.as_fd(), b".", libc::O_PATH | libc::O_DIRECTORY)?;
        let st = sys::fstat(fd.as_fd())?;
        let node = Node {
            fd: Rc::new(fd),
            parent: None,
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            dir: None,
        };
        let h = self.insert(vec![node])?;
        Ok((h[0], Attr::from(&st)))
    }

    fn walk(&mut self, dir: u64, names: &[Vec<u8>]) -> Result<Vec<(u64, Attr)>, Errno> {
        for name in names {
            validate_name(name)?;
        }
        let start = self.node(dir)?;
        if !start.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let mut cur = Rc::clone(&start.fd);
        let mut cur_id = (start.dev, start.ino);
        let mut found: Vec<Node> = Vec::new();
        let mut attrs = Vec::new();
        for name in names {
            let fd = match sys::openat(cur.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => break,
                Err(e) => return Err(e),
            };
            let st = sys::fstat(fd.as_fd())?;
            let fd = Rc::new(fd);
            let node = Node {
                fd: Rc::clone(&fd),
                parent: Some(Parent {
                    fd: cur,
                    name: name.clone(),
                    id: cur_id,
                }),
                dev: st.st_dev,
                ino: st.st_ino,
                mode: st.st_mode,
                dir: None,
            };
            let is_dir = node.is_dir();
            found.push(node);
            attrs.push(Attr::from(&st));
            if !is_dir {
                break;
            }
            cur = fd;
            cur_id = (st.st_dev, st.st_ino);
        }
        let handles = self.insert(found)?;
        Ok(handles.into_iter().zip(attrs).collect())
    }

    fn open(&mut self, h: u64, flags: i32) -> Result<OwnedFd, Errno> {
        let acc = flags & libc::O_ACCMODE;
        if acc == libc::O_ACCMODE || flags & libc::O_PATH != 0 {
            return Err(Errno::EINVAL);
        }
        let writes = acc != libc::O_RDONLY || flags & (libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND) != 0;
        if writes && self.readonly {
            return Err(Errno::EROFS);
        }
        let node = self.node(h)?;
        match node.mode & libc::S_IFMT {
            libc::S_IFREG | libc::S_IFDIR | libc::S_IFIFO => {}
            libc::S_IFLNK => return Err(Errno::ELOOP),
            libc::S_IFSOCK => return Err(Errno::ENXIO),
            // Host device nodes are never handed out; the sentry has its own /dev.
            _ => return Err(Errno::EPERM),
        }
        // O_NONBLOCK while opening (added by reopen): a node swapped for a
        // FIFO must not block the server.
        node.reopen(flags & PASS)
    }

    fn getdents(&mut self, h: u64, cookie: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let node = self.nodes.get_mut(&h).ok_or(Errno::EBADF)?;
        if !node.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if node.dir.is_none() {
            let fd = sys::openat(
                node.fd.as_fd(),
                b".",
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            )?;
            node.dir = Some(fd);
        }
        let dir: BorrowedFd<'_> = node.dir.as_ref().ok_or(Errno::EIO)?.as_fd();
        sys::seek_dir(dir, cookie)?;
        // Payload: u8 eof, u32 count, entries.
        let budget = MAX_PAYLOAD - 5;
        let mut entries = Encoder::new();
        let mut count: u32 = 0;
        let mut eof = false;
        'fill: while (count as usize) < max {
            let n = sys::getdents64(dir, &mut self.dirent_buf)?;
            if n == 0 {
                eof = true;
                break;
            }
            let mut pos = 0;
            while pos < n {
                let Some(rec) = self.dirent_buf.get(pos..n).and_then(sys::parse_dirent) else {
                    return Err(Errno::EIO);
                };
                pos += rec.reclen;
                if rec.name == b"." || rec.name == b".." {
                    continue;
                }
                if rec.name.len() > NAME_MAX {
                    tracing::warn!(len = rec.name.len(), "skipping over-long directory entry name");
                    continue;
                }
                if count as usize >= max || entries.buf.len() + dirent_len(rec.name.len()) > budget {
                    break 'fill;
                }
                entries.u64(rec.ino).u64(rec.off).u8(rec.dtype).bytes(rec.name);
                count += 1;
            }
        }
        let mut e = Encoder::new();
        e.u8(u8::from(eof)).u32(count);
        e.buf.extend_from_slice(&entries.buf);
        Ok(e.buf)
    }
}

fn error_reply(tag: u64, e: Errno) -> Vec<u8> {
    frame(MSG_ERROR, tag, &(e.0 as u32).to_le_bytes())
}
