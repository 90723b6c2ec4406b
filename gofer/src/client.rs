//! The sentry's side of the protocol: a blocking, thread-safe client.
//!
//! One request is in flight at a time (a mutex around the socket); each
//! request carries a fresh tag and the reply must echo it. Any transport or
//! framing failure marks the client broken, and every later call returns
//! `EIO`: a gofer that misbehaves yields errors, never a panic.

use crate::protocol::{
    frame, validate_name, validate_xattr_name, Decoder, Header, Request, MAX_CLOSE_HANDLES, MAX_MESSAGE,
    MAX_WALK_NAMES, MAX_XATTR_LIST, MAX_XATTR_VALUE, MSG_ERROR, PATH_MAX, REPLY_FLAG,
};
use crate::sys;
use crate::types::{Attr, AttrChange, DirEntry, Handle, StatFs};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;
use syscalls::Errno;

struct Inner {
    sock: OwnedFd,
    tag: u64,
    broken: bool,
    buf: Vec<u8>,
}

/// A connection to a gofer. `Sync`: share it between sentry threads.
pub struct Client {
    inner: Mutex<Inner>,
}

/// A successful reply: payload and donated fds.
struct Reply {
    payload: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl Client {
    /// Wraps the sentry's end of the gofer socketpair.
    pub fn new(sock: OwnedFd) -> Client {
        Client {
            inner: Mutex::new(Inner {
                sock,
                tag: 0,
                broken: false,
                buf: vec![0u8; MAX_MESSAGE],
            }),
        }
    }

    /// One round trip. Errors from the gofer come back as their errno;
    /// transport failures as `EIO`.
    fn call(&self, req: &Request) -> Result<Reply, Errno> {
        let mut guard = self.inner.lock().map_err(|_| Errno::EIO)?;
        let inner = &mut *guard;
        if inner.broken {
            return Err(Errno::EIO);
        }
        inner.tag = inner.tag.wrapping_add(1);
        let tag = inner.tag;
        let packet = frame(req.id(), tag, &req.encode());
        if packet.len() > MAX_MESSAGE {
            return Err(Errno::EINVAL);
        }
        let result = exchange(inner, &packet, req.id(), tag);
        if matches!(result, Err(Broken)) {
            inner.broken = true;
        }
        match result {
            Ok(r) => r,
            Err(Broken) => Err(Errno::EIO),
        }
    }

    /// Gets a handle for the root of the served tree.
    pub fn attach(&self) -> Result<(Handle, Attr), Errno> {
        let r = self.call(&Request::Attach)?;
        decode(&r.payload, |d| Ok((d.u64()?, d.attr()?)))
    }

    /// Looks up `names` one component at a time under `dir`, in one round
    /// trip per [`MAX_WALK_NAMES`] names. Returns the nodes of the longest
    /// existing prefix: it stops (without error) at the first missing name
    /// or after a node that is not a directory (a symlink is returned, not
    /// followed). Invalid names give `EINVAL` before anything is sent.
    pub fn walk(&self, dir: Handle, names: &[&[u8]]) -> Result<Vec<(Handle, Attr)>, Errno> {
        for name in names {
            validate_name(name)?;
        }
        let mut out: Vec<(Handle, Attr)> = Vec::new();
        let mut cur = dir;
        for chunk in names.chunks(MAX_WALK_NAMES) {
            let req = Request::Walk {
                dir: cur,
                names: chunk.iter().map(|n| n.to_vec()).collect(),
            };
            let got = self.call(&req).and_then(|r| {
                decode(&r.payload, |d| {
                    let m = d.count(chunk.len())?;
                    let mut v = Vec::with_capacity(m);
                    for _ in 0..m {
                        v.push((d.u64()?, d.attr()?));
                    }
                    Ok(v)
                })
            });
            let got = match got {
                Ok(g) => g,
                Err(e) => {
                    self.close(&out.iter().map(|(h, _)| *h).collect::<Vec<_>>());
                    return Err(e);
                }
            };
            let complete = got.len() == chunk.len();
            let last_dir = got.last().is_some_and(|(_, a)| a.is_dir());
            out.extend(got);
            match out.last() {
                Some((h, _)) if complete && last_dir => cur = *h,
                _ => break,
            }
        }
        Ok(out)
    }

    /// Fresh attributes of a node.
    pub fn stat(&self, h: Handle) -> Result<Attr, Errno> {
        let r = self.call(&Request::Stat(h))?;
        decode(&r.payload, |d| d.attr())
    }

    /// Opens a node for I/O and returns the donated host fd. Write flags on a
    /// read-only gofer give `EROFS`.
    pub fn open(&self, h: Handle, flags: i32) -> Result<OwnedFd, Errno> {
        let mut r = self.call(&Request::Open {
            handle: h,
            flags: flags as u32,
        })?;
        if !r.payload.is_empty() || r.fds.len() != 1 {
            return Err(Errno::EIO);
        }
        r.fds.pop().ok_or(Errno::EIO)
    }

    /// The target of a symlink node (`EINVAL` for other nodes).
    pub fn readlink(&self, h: Handle) -> Result<Vec<u8>, Errno> {
        let r = self.call(&Request::Readlink(h))?;
        decode(&r.payload, |d| Ok(d.bytes(PATH_MAX)?.to_vec()))
    }

    /// Up to `max_entries` entries of `dir` after `cookie` (0 = start),
    /// without `.` and `..`, in the host's stable order. Fewer entries than
    /// asked for means the end of the directory was reached. Resume with the
    /// `off` of the last entry.
    pub fn getdents(&self, dir: Handle, cookie: u64, max_entries: usize) -> Result<Vec<DirEntry>, Errno> {
        let mut out = Vec::new();
        let mut cookie = cookie;
        while out.len() < max_entries {
            let want = u32::try_from(max_entries - out.len()).unwrap_or(u32::MAX);
            let r = self.call(&Request::Getdents { dir, cookie, max: want })?;
            let (eof, entries) = decode(&r.payload, |d| {
                let eof = d.u8()? != 0;
                let m = d.count(want as usize)?;
                let mut v = Vec::with_capacity(m);
                for _ in 0..m {
                    v.push(d.dirent()?);
                }
                Ok((eof, v))
            })?;
            let Some(last) = entries.last() else { break };
            cookie = last.off;
            out.extend(entries);
            if eof {
                break;
            }
        }
        Ok(out)
    }

    /// Statistics of the filesystem holding `h`.
    pub fn statfs(&self, h: Handle) -> Result<StatFs, Errno> {
        let r = self.call(&Request::Statfs(h))?;
        decode(&r.payload, |d| d.statfs())
    }

    /// Releases handles (best effort: errors are ignored).
    pub fn close(&self, handles: &[Handle]) {
        for chunk in handles.chunks(MAX_CLOSE_HANDLES) {
            if let Err(e) = self.call(&Request::Close(chunk.to_vec())) {
                tracing::debug!(errno = %e, "gofer close failed");
            }
        }
    }
}

/// The write path and extended attributes (see the protocol's table). Names
/// are checked here too, so a bad one never leaves the sentry.
impl Client {
    /// A reply of `u64 handle, Attr`.
    fn new_node(&self, req: &Request) -> Result<(Handle, Attr), Errno> {
        let r = self.call(req)?;
        if !r.fds.is_empty() {
            return Err(Errno::EIO);
        }
        decode(&r.payload, |d| Ok((d.u64()?, d.attr()?)))
    }

    /// A reply with an empty payload.
    fn empty(&self, req: &Request) -> Result<(), Errno> {
        let r = self.call(req)?;
        if !r.payload.is_empty() || !r.fds.is_empty() {
            return Err(Errno::EIO);
        }
        Ok(())
    }

    /// Creates (or with `flags` lacking `O_EXCL`, opens an existing) regular
    /// file `name` in `dir` with permission bits `mode` and `owner`; returns
    /// its handle, attributes and a host fd opened with `flags`.
    pub fn create(
        &self,
        dir: Handle,
        name: &[u8],
        flags: i32,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<(Handle, Attr, OwnedFd), Errno> {
        validate_name(name)?;
        let mut r = self.call(&Request::Create {
            dir,
            name: name.to_vec(),
            flags: flags as u32,
            mode,
            uid: owner.0,
            gid: owner.1,
        })?;
        if r.fds.len() != 1 {
            return Err(Errno::EIO);
        }
        let (h, attr) = decode(&r.payload, |d| Ok((d.u64()?, d.attr()?)))?;
        let fd = r.fds.pop().ok_or(Errno::EIO)?;
        Ok((h, attr, fd))
    }

    /// Makes the directory `name` in `dir`.
    pub fn mkdir(&self, dir: Handle, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        validate_name(name)?;
        self.new_node(&Request::Mkdir {
            dir,
            name: name.to_vec(),
            mode,
            uid: owner.0,
            gid: owner.1,
        })
    }

    /// Makes a FIFO, socket node or empty regular file (`mode` holds the type).
    pub fn mknod(&self, dir: Handle, name: &[u8], mode: u32, owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        validate_name(name)?;
        self.new_node(&Request::Mknod {
            dir,
            name: name.to_vec(),
            mode,
            uid: owner.0,
            gid: owner.1,
        })
    }

    /// Makes the symlink `name` in `dir` pointing at `target`.
    pub fn symlink(&self, dir: Handle, name: &[u8], target: &[u8], owner: (u32, u32)) -> Result<(Handle, Attr), Errno> {
        validate_name(name)?;
        if target.len() > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        self.new_node(&Request::Symlink {
            dir,
            name: name.to_vec(),
            target: target.to_vec(),
            uid: owner.0,
            gid: owner.1,
        })
    }

    /// Gives the node `target` the new name `name` in `dir`.
    pub fn link(&self, target: Handle, dir: Handle, name: &[u8]) -> Result<(Handle, Attr), Errno> {
        validate_name(name)?;
        self.new_node(&Request::Link {
            target,
            dir,
            name: name.to_vec(),
        })
    }

    /// Removes `name` from `dir` (`flags`: 0 or `AT_REMOVEDIR`).
    pub fn unlink(&self, dir: Handle, name: &[u8], flags: i32) -> Result<(), Errno> {
        validate_name(name)?;
        self.empty(&Request::Unlink {
            dir,
            name: name.to_vec(),
            flags: flags as u32,
        })
    }

    /// Renames `old_dir/old_name` to `new_dir/new_name` (renameat2 `flags`).
    pub fn rename(
        &self,
        old_dir: Handle,
        old_name: &[u8],
        new_dir: Handle,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        validate_name(old_name)?;
        validate_name(new_name)?;
        self.empty(&Request::Rename {
            old_dir,
            old_name: old_name.to_vec(),
            new_dir,
            new_name: new_name.to_vec(),
            flags,
        })
    }

    /// Changes size, owner, mode and times in one round trip; returns the
    /// attributes after the change.
    pub fn setattr(&self, h: Handle, change: &AttrChange) -> Result<Attr, Errno> {
        let r = self.call(&Request::SetAttr {
            handle: h,
            change: *change,
        })?;
        decode(&r.payload, |d| d.attr())
    }

    /// The whole value of the extended attribute `name`.
    pub fn getxattr(&self, h: Handle, name: &[u8]) -> Result<Vec<u8>, Errno> {
        validate_xattr_name(name)?;
        let r = self.call(&Request::GetXattr {
            handle: h,
            name: name.to_vec(),
        })?;
        decode(&r.payload, |d| Ok(d.bytes(MAX_XATTR_VALUE)?.to_vec()))
    }

    /// The names of the node's extended attributes, each NUL-terminated.
    pub fn listxattr(&self, h: Handle) -> Result<Vec<u8>, Errno> {
        let r = self.call(&Request::ListXattr(h))?;
        decode(&r.payload, |d| Ok(d.bytes(MAX_XATTR_LIST)?.to_vec()))
    }

    /// Sets an extended attribute (`flags`: `XATTR_CREATE`, `XATTR_REPLACE`).
    pub fn setxattr(&self, h: Handle, name: &[u8], value: &[u8], flags: i32) -> Result<(), Errno> {
        validate_xattr_name(name)?;
        if value.len() > MAX_XATTR_VALUE {
            return Err(Errno::E2BIG);
        }
        self.empty(&Request::SetXattr {
            handle: h,
            name: name.to_vec(),
            value: value.to_vec(),
            flags: flags as u32,
        })
    }

    /// Removes an extended attribute.
    pub fn removexattr(&self, h: Handle, name: &[u8]) -> Result<(), Errno> {
        validate_xattr_name(name)?;
        self.empty(&Request::RemoveXattr {
            handle: h,
            name: name.to_vec(),
        })
    }
}

/// The connection can no longer be trusted to be in sync.
struct Broken;

/// Sends `packet` and reads its reply. The outer error means the
/// connection is broken; the inner result is the gofer's answer.
fn exchange(inner: &mut Inner, packet: &[u8], id: u32, tag: u64) -> Result<Result<Reply, Errno>, Broken> {
    sys::send_packet(inner.sock.as_fd(), packet, None).map_err(|_| Broken)?;
    let p = sys::recv_packet(inner.sock.as_fd(), &mut inner.buf, true).map_err(|_| Broken)?;
    if p.len == 0 || p.truncated {
        return Err(Broken);
    }
    let (h, payload) = Header::decode(&inner.buf[..p.len]).map_err(|_| Broken)?;
    if h.tag != tag {
        return Err(Broken);
    }
    if h.id == MSG_ERROR {
        let errno = decode(payload, |d| d.u32()).map_err(|_| Broken)?;
        return Ok(Err(match errno {
            1..=4095 => Errno(errno as i32),
            _ => Errno::EIO,
        }));
    }
    if h.id != id | REPLY_FLAG {
        return Err(Broken);
    }
    Ok(Ok(Reply {
        payload: payload.to_vec(),
        fds: p.fds,
    }))
}

/// Decodes a whole payload; any shortfall or leftover is `EIO`.
fn decode<T>(
    payload: &[u8],
    f: impl FnOnce(&mut Decoder<'_>) -> Result<T, crate::protocol::DecodeError>,
) -> Result<T, Errno> {
    let mut d = Decoder::new(payload);
    let v = f(&mut d).map_err(|_| Errno::EIO)?;
    d.finish().map_err(|_| Errno::EIO)?;
    Ok(v)
}
