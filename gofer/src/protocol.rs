//! The sentry <-> gofer wire protocol: the contract between the two processes.
//!
//! # Transport and framing
//!
//! One `SOCK_SEQPACKET` unix socketpair. Every request and every reply is one
//! packet (so message boundaries come from the socket) of at most
//! [`MAX_MESSAGE`] bytes: a 16-byte [`Header`] followed by `len` payload bytes.
//!
//! ```text
//! offset 0  u32 id    message id (request) / id | REPLY_FLAG (reply) / MSG_ERROR
//! offset 4  u32 len   payload length; must equal packet length - 16
//! offset 8  u64 tag   chosen by the client, echoed in the reply
//! ```
//!
//! All integers are little-endian. A byte string is `u32 length` + bytes.
//! Requests are strictly one at a time: the client sends a request and reads
//! exactly one reply with the same tag. A zero-length packet (or the peer
//! closing the socket) ends the session.
//!
//! Errors: a reply with id [`MSG_ERROR`] carries `u32 errno`. A malformed
//! request (short header, bad length, truncated or trailing payload, unknown
//! id) gets `MSG_ERROR` with `EINVAL` (`ENOSYS` for an unknown but well-framed
//! id); the server keeps serving. Fds sent *to* the gofer are discarded by the
//! kernel and the request is refused with `EINVAL`. A host fd is donated with `SCM_RIGHTS` on the
//! reply packet (only [`MSG_OPEN`] does this).
//!
//! # Messages (request payload -> reply payload)
//!
//! | id | name     | request                                   | reply |
//! |----|----------|-------------------------------------------|-------|
//! | 1  | ATTACH   | (empty)                                   | `u64 handle, Attr` of the root |
//! | 2  | WALK     | `u64 dir, u32 n, n x name`                | `u32 m, m x (u64 handle, Attr)` |
//! | 3  | STAT     | `u64 handle`                              | `Attr` |
//! | 4  | OPEN     | `u64 handle, u32 flags`                   | (empty) + one fd via `SCM_RIGHTS` |
//! | 5  | READLINK | `u64 handle`                              | `bytes target` |
//! | 6  | GETDENTS | `u64 dir, u64 cookie, u32 max`            | `u8 eof, u32 m, m x (u64 ino, u64 off, u8 type, bytes name)` |
//! | 7  | STATFS   | `u64 handle`                              | `StatFs` |
//! | 8  | CLOSE    | `u32 n, n x u64 handle`                   | (empty) |
//! | 9  | GETXATTR | `u64 handle, bytes name`                  | `bytes value` |
//! | 10 | LISTXATTR| `u64 handle`                              | `bytes names` (each NUL-terminated) |
//! | 16 | CREATE   | `u64 dir, bytes name, u32 flags, u32 mode, u32 uid, u32 gid` | `u64 handle, Attr` + one fd via `SCM_RIGHTS` |
//! | 17 | MKDIR    | `u64 dir, bytes name, u32 mode, u32 uid, u32 gid` | `u64 handle, Attr` |
//! | 18 | MKNOD    | `u64 dir, bytes name, u32 mode, u32 uid, u32 gid` | `u64 handle, Attr` |
//! | 19 | SYMLINK  | `u64 dir, bytes name, bytes target, u32 uid, u32 gid` | `u64 handle, Attr` |
//! | 20 | LINK     | `u64 target, u64 dir, bytes name`         | `u64 handle, Attr` |
//! | 21 | UNLINK   | `u64 dir, bytes name, u32 flags`          | (empty) |
//! | 22 | RENAME   | `u64 old_dir, bytes old_name, u64 new_dir, bytes new_name, u32 flags` | (empty) |
//! | 23 | SETATTR  | `u64 handle, AttrChange`                  | `Attr` (after the change) |
//! | 24 | SETXATTR | `u64 handle, bytes name, bytes value, u32 flags` | (empty) |
//! | 25 | REMOVEXATTR | `u64 handle, bytes name`               | (empty) |
//!
//! `Attr` is 116 bytes: `u64 dev, u64 ino, u32 mode, u64 nlink, u32 uid,
//! u32 gid, u64 rdev, i64 size, i64 blksize, i64 blocks, (i64 sec, i64 nsec)
//! atime, mtime, ctime`. `StatFs` is `i64 type, i64 bsize, u64 blocks,
//! u64 bfree, u64 bavail, u64 files, u64 ffree, i32 fsid[2], i64 namelen,
//! i64 frsize, i64 flags`.
//!
//! WALK: names are single path components (not empty, `.`, `..`, no `/` or
//! NUL, at most 255 bytes; else `EINVAL` / `ENAMETOOLONG`), at most
//! [`MAX_WALK_NAMES`] per request. The reply holds the nodes of the longest
//! existing prefix: it stops at the first missing name and after the first
//! node that is not a directory (symlinks are returned, never followed).
//!
//! OPEN: `flags` are `open(2)` flags; the node is reopened relative to its
//! parent directory fd (directories via `"."`) with `O_NOFOLLOW` and must
//! still be the same (dev, ino), else `ESTALE`. Write access, `O_CREAT`,
//! `O_TRUNC` or `O_APPEND` give `EROFS` on a read-only gofer; `O_PATH` gives
//! `EINVAL`; symlinks `ELOOP`, sockets `ENXIO`, device nodes `EPERM` (the
//! sentry has its own /dev). FIFOs are opened without blocking the gofer.
//!
//! GETDENTS: entries after `cookie` (0 = start), without `.` and `..`; `off`
//! of an entry is the cookie that resumes after it. `eof = 1` means the
//! directory has no entries after the last one returned.
//!
//! Ids 11..=15 are reserved for more read-only messages, 16..=63 for
//! mutations (see [`MUTATING`]), which a read-only gofer answers with
//! `EROFS` before even decoding the payload.
//!
//! # Messages that change the tree
//!
//! Every name is one component checked with [`validate_name`]; every host
//! call is an `*at` call relative to a directory fd the gofer holds, with
//! `AT_SYMLINK_NOFOLLOW` / `O_NOFOLLOW` or on the node's own `O_PATH` fd
//! (`AT_EMPTY_PATH`), so no mutation follows a symlink or leaves the root.
//! New nodes get the requested owner (`fchown`, the gofer is root on the
//! host) and exactly the requested permission bits (the gofer's umask does
//! not apply). Nodes created by CREATE, MKDIR, MKNOD, SYMLINK and LINK come
//! back as new handles, as WALK returns them.
//!
//! CREATE: `flags` are `open(2)` flags of the donated fd (the access mode,
//! `O_TRUNC`, `O_APPEND`, ...). With `O_EXCL` an existing name is `EEXIST`;
//! without it an existing regular file is opened (and keeps its mode and
//! owner), a symlink is `ELOOP`. `mode` holds permission bits only.
//!
//! MKNOD: `mode` holds the type: `S_IFIFO`, `S_IFSOCK`, or `S_IFREG` / 0 (an
//! empty regular file). Device nodes are `EPERM`, other types `EINVAL`.
//!
//! SYMLINK: `target` is stored as is (1..=[`PATH_MAX`] bytes, no NUL; empty
//! is `ENOENT`); the gofer never follows it.
//!
//! LINK: a new name in `dir` for the node `target` (not a directory: `EPERM`).
//!
//! UNLINK: `flags` is 0 (a non-directory; `EISDIR` for a directory) or
//! `AT_REMOVEDIR` (an empty directory); others `EINVAL`.
//!
//! RENAME: `renameat2(2)` flags `RENAME_NOREPLACE` (1) and
//! `RENAME_EXCHANGE` (2); `RENAME_WHITEOUT` and unknown bits are `EINVAL`.
//! Handles of renamed nodes stay valid and follow the node.
//!
//! SETATTR: `AttrChange` is `u32 valid, u32 mode, u32 uid, u32 gid, u64 size,
//! (i64 sec, i64 nsec) atime, mtime`; `valid` is a mask of the `SETATTR_*`
//! bits saying which fields apply (unknown bits `EINVAL`). The size (regular
//! files only: `EISDIR`, `EINVAL`) is applied first, then the owner, the
//! mode (`EOPNOTSUPP` on a symlink) and the times; a time's `nsec` may be
//! `UTIME_NOW` or `UTIME_OMIT` as in `utimensat(2)`.
//!
//! GETXATTR, LISTXATTR, SETXATTR, REMOVEXATTR: names are 1..=255 bytes
//! without NUL (else `ERANGE`), values at most [`MAX_XATTR_VALUE`] bytes
//! (`E2BIG`), listings at most [`MAX_XATTR_LIST`] bytes (`E2BIG`); the
//! sentry applies the caller's buffer size (`ERANGE`) itself. SETXATTR
//! `flags` are `XATTR_CREATE` / `XATTR_REPLACE`. Attributes are read and
//! changed on regular files and directories; on symlinks, FIFOs, sockets
//! and device nodes a get is `ENODATA`, a listing empty, a change `EPERM`.

use crate::types::{Attr, AttrChange, DirEntry, StatFs};
use syscalls::Errno;

/// Size of the fixed header in front of every message.
pub const HEADER_LEN: usize = 16;
/// Largest packet (header + payload) either side sends or accepts.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Largest payload.
pub const MAX_PAYLOAD: usize = MAX_MESSAGE - HEADER_LEN;
/// Most names in one WALK request (keeps request and reply under the limit).
pub const MAX_WALK_NAMES: usize = 128;
/// Most handles in one CLOSE request.
pub const MAX_CLOSE_HANDLES: usize = 4096;
/// Longest single name component.
pub const NAME_MAX: usize = 255;
/// Longest symlink target.
pub const PATH_MAX: usize = 4096;
/// Encoded size of an [`Attr`].
pub const ATTR_LEN: usize = 116;
/// Longest extended attribute name (`XATTR_NAME_MAX`).
pub const XATTR_NAME_MAX: usize = 255;
/// Largest extended attribute value that fits in one message.
pub const MAX_XATTR_VALUE: usize = 60 * 1024;
/// Largest extended attribute listing that fits in one message.
pub const MAX_XATTR_LIST: usize = 60 * 1024;

/// SETATTR: `mode` applies.
pub const SETATTR_MODE: u32 = 1;
/// SETATTR: `uid` applies.
pub const SETATTR_UID: u32 = 2;
/// SETATTR: `gid` applies.
pub const SETATTR_GID: u32 = 4;
/// SETATTR: `size` applies.
pub const SETATTR_SIZE: u32 = 8;
/// SETATTR: `atime` applies.
pub const SETATTR_ATIME: u32 = 16;
/// SETATTR: `mtime` applies.
pub const SETATTR_MTIME: u32 = 32;
/// Every SETATTR bit.
pub const SETATTR_ALL: u32 = 63;

/// Set in the id of a successful reply.
pub const REPLY_FLAG: u32 = 0x8000_0000;
/// Id of an error reply (payload: `u32 errno`).
pub const MSG_ERROR: u32 = 0xffff_ffff;

/// Get a handle for the root.
pub const MSG_ATTACH: u32 = 1;
/// Batched lookup of path components.
pub const MSG_WALK: u32 = 2;
/// Attributes of a node.
pub const MSG_STAT: u32 = 3;
/// Open a node for I/O; the reply donates a host fd.
pub const MSG_OPEN: u32 = 4;
/// Target of a symlink node.
pub const MSG_READLINK: u32 = 5;
/// One page of directory entries.
pub const MSG_GETDENTS: u32 = 6;
/// Filesystem statistics.
pub const MSG_STATFS: u32 = 7;
/// Release handles.
pub const MSG_CLOSE: u32 = 8;
/// Read an extended attribute.
pub const MSG_GETXATTR: u32 = 9;
/// List extended attributes.
pub const MSG_LISTXATTR: u32 = 10;
/// Create and open a regular file.
pub const MSG_CREATE: u32 = 16;
/// Make a directory.
pub const MSG_MKDIR: u32 = 17;
/// Make a FIFO, socket node or empty regular file.
pub const MSG_MKNOD: u32 = 18;
/// Make a symlink.
pub const MSG_SYMLINK: u32 = 19;
/// Make a hard link.
pub const MSG_LINK: u32 = 20;
/// Remove a name (file or directory).
pub const MSG_UNLINK: u32 = 21;
/// Rename or exchange.
pub const MSG_RENAME: u32 = 22;
/// Change mode/owner/size/times in one message.
pub const MSG_SETATTR: u32 = 23;
/// Set an extended attribute.
pub const MSG_SETXATTR: u32 = 24;
/// Remove an extended attribute.
pub const MSG_REMOVEXATTR: u32 = 25;
/// Reserved: flush a node to stable storage.
pub const MSG_FSYNC: u32 = 26;
/// Reserved: bind a host unix socket (`--host-uds`).
pub const MSG_BIND: u32 = 32;
/// Reserved: connect to a host unix socket (`--host-uds`).
pub const MSG_CONNECT: u32 = 33;

/// Messages that modify the host filesystem: `EROFS` on a read-only gofer.
pub const MUTATING: &[u32] = &[
    MSG_CREATE,
    MSG_MKDIR,
    MSG_MKNOD,
    MSG_SYMLINK,
    MSG_LINK,
    MSG_UNLINK,
    MSG_RENAME,
    MSG_SETATTR,
    MSG_SETXATTR,
    MSG_REMOVEXATTR,
    MSG_BIND,
];

/// Why a message could not be decoded. The server answers these with
/// `EINVAL`; the client treats them as a broken gofer (`EIO`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The packet or a field ends early.
    #[error("message truncated")]
    Truncated,
    /// Bytes left over after the last field.
    #[error("trailing bytes in message")]
    Trailing,
    /// The header's length does not match the packet.
    #[error("header length {0} does not match payload length {1}")]
    BadLength(u32, usize),
    /// A count or length exceeds the protocol limit.
    #[error("field exceeds protocol limit")]
    TooLarge,
}

impl From<DecodeError> for Errno {
    fn from(_: DecodeError) -> Errno {
        Errno::EINVAL
    }
}

/// The fixed message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Message id (see the `MSG_*` constants).
    pub id: u32,
    /// Payload length.
    pub len: u32,
    /// Request tag, echoed in the reply.
    pub tag: u64,
}

impl Header {
    /// Appends the header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.tag.to_le_bytes());
    }

    /// Splits a packet into its header and payload, checking the length.
    pub fn decode(packet: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
        let mut d = Decoder::new(packet);
        let id = d.u32()?;
        let len = d.u32()?;
        let tag = d.u64()?;
        let payload = d.rest();
        if len as usize != payload.len() {
            return Err(DecodeError::BadLength(len, payload.len()));
        }
        Ok((Header { id, len, tag }, payload))
    }
}

/// Builds a complete packet: header + payload.
pub fn frame(id: u32, tag: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    // Payloads are bounded by MAX_PAYLOAD by every producer; saturate anyway.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    Header { id, len, tag }.encode(&mut out);
    out.extend_from_slice(payload);
    out
}

/// Appends little-endian fields to a buffer.
#[derive(Default)]
pub struct Encoder {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }
    /// Appends a byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Appends a u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends an i32.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends an i64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a length-prefixed byte string (callers bound the length).
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v);
        self
    }
    /// Appends an [`Attr`] ([`ATTR_LEN`] bytes).
    pub fn attr(&mut self, a: &Attr) -> &mut Self {
        self.u64(a.dev)
            .u64(a.ino)
            .u32(a.mode)
            .u64(a.nlink)
            .u32(a.uid)
            .u32(a.gid);
        self.u64(a.rdev).i64(a.size).i64(a.blksize).i64(a.blocks);
        for (s, ns) in [a.atime, a.mtime, a.ctime] {
            self.i64(s).i64(ns);
        }
        self
    }
    /// Appends a [`StatFs`].
    pub fn statfs(&mut self, s: &StatFs) -> &mut Self {
        self.i64(s.fs_type)
            .i64(s.bsize)
            .u64(s.blocks)
            .u64(s.bfree)
            .u64(s.bavail);
        self.u64(s.files).u64(s.ffree).i32(s.fsid[0]).i32(s.fsid[1]);
        self.i64(s.namelen).i64(s.frsize).i64(s.flags)
    }
}

/// Reads little-endian fields from a byte slice with bounds checks.
pub struct Decoder<'a> {
    buf: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// Decodes from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    /// Reads a u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// Reads a u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// Reads an i32.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    /// Reads a u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Reads an i64.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(DecodeError::TooLarge);
        }
        self.take(len)
    }
    /// Reads a count and checks it against `max`.
    pub fn count(&mut self, max: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(DecodeError::TooLarge);
        }
        Ok(n)
    }
    /// Reads an [`Attr`].
    pub fn attr(&mut self) -> Result<Attr, DecodeError> {
        Ok(Attr {
            dev: self.u64()?,
            ino: self.u64()?,
            mode: self.u32()?,
            nlink: self.u64()?,
            uid: self.u32()?,
            gid: self.u32()?,
            rdev: self.u64()?,
            size: self.i64()?,
            blksize: self.i64()?,
            blocks: self.i64()?,
            atime: (self.i64()?, self.i64()?),
            mtime: (self.i64()?, self.i64()?),
            ctime: (self.i64()?, self.i64()?),
        })
    }
    /// Reads a [`StatFs`].
    pub fn statfs(&mut self) -> Result<StatFs, DecodeError> {
        Ok(StatFs {
            fs_type: self.i64()?,
            bsize: self.i64()?,
            blocks: self.u64()?,
            bfree: self.u64()?,
            bavail: self.u64()?,
            files: self.u64()?,
            ffree: self.u64()?,
            fsid: [self.i32()?, self.i32()?],
            namelen: self.i64()?,
            frsize: self.i64()?,
            flags: self.i64()?,
        })
    }
    /// Reads one directory entry of a GETDENTS reply.
    pub fn dirent(&mut self) -> Result<DirEntry, DecodeError> {
        Ok(DirEntry {
            ino: self.u64()?,
            off: self.u64()?,
            dtype: self.u8()?,
            name: self.bytes(NAME_MAX)?.to_vec(),
        })
    }
    /// The unread bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing)
        }
    }
}

/// Encoded size of one GETDENTS entry with a name of `name_len` bytes.
pub fn dirent_len(name_len: usize) -> usize {
    8 + 8 + 1 + 4 + name_len
}

/// Checks that `name` is one path component the gofer may look up.
///
/// Rejecting `..` and `/` here is what keeps a walk inside the root: every
/// lookup is then a single step down from a directory fd.
pub fn validate_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(Errno::EINVAL);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// Checks an extended attribute name: 1..=[`XATTR_NAME_MAX`] bytes, no
/// NUL (`ERANGE` otherwise, as Linux answers for bad names).
pub fn validate_xattr_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX || name.contains(&0) {
        return Err(Errno::ERANGE);
    }
    Ok(())
}

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// [`MSG_ATTACH`].
    Attach,
    /// [`MSG_WALK`].
    Walk {
        /// Directory to start from.
        dir: u64,
        /// Components, in order.
        names: Vec<Vec<u8>>,
    },
    /// [`MSG_STAT`].
    Stat(u64),
    /// [`MSG_OPEN`].
    Open {
        /// Node to open.
        handle: u64,
        /// `open(2)` flags.
        flags: u32,
    },
    /// [`MSG_READLINK`].
    Readlink(u64),
    /// [`MSG_GETDENTS`].
    Getdents {
        /// Directory.
        dir: u64,
        /// Resume after this cookie (0 = start).
        cookie: u64,
        /// Most entries wanted.
        max: u32,
    },
    /// [`MSG_STATFS`].
    Statfs(u64),
    /// [`MSG_CLOSE`].
    Close(Vec<u64>),
    /// [`MSG_GETXATTR`].
    GetXattr {
        /// Node.
        handle: u64,
        /// Attribute name.
        name: Vec<u8>,
    },
    /// [`MSG_LISTXATTR`].
    ListXattr(u64),
    /// [`MSG_CREATE`].
    Create {
        /// Directory.
        dir: u64,
        /// New name.
        name: Vec<u8>,
        /// `open(2)` flags of the donated fd.
        flags: u32,
        /// Permission bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// [`MSG_MKDIR`].
    Mkdir {
        /// Parent directory.
        dir: u64,
        /// New name.
        name: Vec<u8>,
        /// Permission bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// [`MSG_MKNOD`].
    Mknod {
        /// Directory.
        dir: u64,
        /// New name.
        name: Vec<u8>,
        /// Type and permission bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// [`MSG_SYMLINK`].
    Symlink {
        /// Directory.
        dir: u64,
        /// New name.
        name: Vec<u8>,
        /// Link contents.
        target: Vec<u8>,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// [`MSG_LINK`].
    Link {
        /// Existing node.
        target: u64,
        /// Directory of the new name.
        dir: u64,
        /// New name.
        name: Vec<u8>,
    },
    /// [`MSG_UNLINK`].
    Unlink {
        /// Directory.
        dir: u64,
        /// Name to remove.
        name: Vec<u8>,
        /// 0 or `AT_REMOVEDIR`.
        flags: u32,
    },
    /// [`MSG_RENAME`].
    Rename {
        /// Source directory.
        old_dir: u64,
        /// Source name.
        old_name: Vec<u8>,
        /// Destination directory.
        new_dir: u64,
        /// Destination name.
        new_name: Vec<u8>,
        /// `RENAME_NOREPLACE` / `RENAME_EXCHANGE`.
        flags: u32,
    },
    /// [`MSG_SETATTR`].
    SetAttr {
        /// Node.
        handle: u64,
        /// The changes.
        change: AttrChange,
    },
    /// [`MSG_SETXATTR`].
    SetXattr {
        /// Node.
        handle: u64,
        /// Attribute name.
        name: Vec<u8>,
        /// Value.
        value: Vec<u8>,
        /// `XATTR_CREATE` / `XATTR_REPLACE`.
        flags: u32,
    },
    /// [`MSG_REMOVEXATTR`].
    RemoveXattr {
        /// Node.
        handle: u64,
        /// Attribute name.
        name: Vec<u8>,
    },
}

impl Request {
    /// The message id of this request.
    pub fn id(&self) -> u32 {
        match self {
            Request::Attach => MSG_ATTACH,
            Request::Walk { .. } => MSG_WALK,
            Request::Stat(_) => MSG_STAT,
            Request::Open { .. } => MSG_OPEN,
            Request::Readlink(_) => MSG_READLINK,
            Request::Getdents { .. } => MSG_GETDENTS,
            Request::Statfs(_) => MSG_STATFS,
            Request::Close(_) => MSG_CLOSE,
            Request::GetXattr { .. } => MSG_GETXATTR,
            Request::ListXattr(_) => MSG_LISTXATTR,
            Request::Create { .. } => MSG_CREATE,
            Request::Mkdir { .. } => MSG_MKDIR,
            Request::Mknod { .. } => MSG_MKNOD,
            Request::Symlink { .. } => MSG_SYMLINK,
            Request::Link { .. } => MSG_LINK,
            Request::Unlink { .. } => MSG_UNLINK,
            Request::Rename { .. } => MSG_RENAME,
            Request::SetAttr { .. } => MSG_SETATTR,
            Request::SetXattr { .. } => MSG_SETXATTR,
            Request::RemoveXattr { .. } => MSG_REMOVEXATTR,
        }
    }

    /// Encodes the payload (without header).
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        match self {
            Request::Attach => {}
            Request::Walk { dir, names } => {
                e.u64(*dir).u32(u32::try_from(names.len()).unwrap_or(u32::MAX));
                for n in names {
                    e.bytes(n);
                }
            }
            Request::Stat(h) | Request::Readlink(h) | Request::Statfs(h) | Request::ListXattr(h) => {
                e.u64(*h);
            }
            Request::Open { handle, flags } => {
                e.u64(*handle).u32(*flags);
            }
            Request::Getdents { dir, cookie, max } => {
                e.u64(*dir).u64(*cookie).u32(*max);
            }
            Request::Close(hs) => {
                e.u32(u32::try_from(hs.len()).unwrap_or(u32::MAX));
                for h in hs {
                    e.u64(*h);
                }
            }
            Request::GetXattr { handle, name } | Request::RemoveXattr { handle, name } => {
                e.u64(*handle).bytes(name);
            }
            Request::Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => {
                e.u64(*dir).bytes(name).u32(*flags).u32(*mode).u32(*uid).u32(*gid);
            }
            Request::Mkdir {
                dir,
                name,
                mode,
                uid,
                gid,
            }
            | Request::Mknod {
                dir,
                name,
                mode,
                uid,
                gid,
            } => {
                e.u64(*dir).bytes(name).u32(*mode).u32(*uid).u32(*gid);
            }
            Request::Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => {
                e.u64(*dir).bytes(name).bytes(target).u32(*uid).u32(*gid);
            }
            Request::Link { target, dir, name } => {
                e.u64(*target).u64(*dir).bytes(name);
            }
            Request::Unlink { dir, name, flags } => {
                e.u64(*dir).bytes(name).u32(*flags);
            }
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => {
                e.u64(*old_dir)
                    .bytes(old_name)
                    .u64(*new_dir)
                    .bytes(new_name)
                    .u32(*flags);
            }
            Request::SetAttr { handle, change: c } => {
                e.u64(*handle)
                    .u32(c.valid)
                    .u32(c.mode)
                    .u32(c.uid)
                    .u32(c.gid)
                    .u64(c.size);
                e.i64(c.atime.0).i64(c.atime.1).i64(c.mtime.0).i64(c.mtime.1);
            }
            Request::SetXattr {
                handle,
                name,
                value,
                flags,
            } => {
                e.u64(*handle).bytes(name).bytes(value).u32(*flags);
            }
        }
        e.buf
    }

    /// Decodes a request payload. `Ok(None)` means the id is not a known
    /// request (the server answers `ENOSYS` or `EROFS`).
    pub fn decode(id: u32, payload: &[u8]) -> Result<Option<Request>, DecodeError> {
        let mut d = Decoder::new(payload);
        let req = match id {
            MSG_ATTACH => Request::Attach,
            MSG_WALK => {
                let dir = d.u64()?;
                let n = d.count(MAX_WALK_NAMES)?;
                let mut names = Vec::with_capacity(n);
                for _ in 0..n {
                    names.push(d.bytes(NAME_MAX + 1)?.to_vec());
                }
                Request::Walk { dir, names }
            }
            MSG_STAT => Request::Stat(d.u64()?),
            MSG_OPEN => Request::Open {
                handle: d.u64()?,
                flags: d.u32()?,
            },
            MSG_READLINK => Request::Readlink(d.u64()?),
            MSG_GETDENTS => Request::Getdents {
                dir: d.u64()?,
                cookie: d.u64()?,
                max: d.u32()?,
            },
            MSG_STATFS => Request::Statfs(d.u64()?),
            MSG_CLOSE => {
                let n = d.count(MAX_CLOSE_HANDLES)?;
                let mut hs = Vec::with_capacity(n);
                for _ in 0..n {
                    hs.push(d.u64()?);
                }
                Request::Close(hs)
            }
            MSG_GETXATTR => Request::GetXattr {
                handle: d.u64()?,
                name: d.bytes(XATTR_NAME_MAX + 1)?.to_vec(),
            },
            MSG_LISTXATTR => Request::ListXattr(d.u64()?),
            MSG_CREATE => Request::Create {
                dir: d.u64()?,
                name: d.bytes(NAME_MAX + 1)?.to_vec(),
                flags: d.u32()?,
                mode: d.u32()?,
                uid: d.u32()?,
                gid: d.u32()?,
            },
            MSG_MKDIR | MSG_MKNOD => {
                let dir = d.u64()?;
                let name = d.bytes(NAME_MAX + 1)?.to_vec();
                let (mode, uid, gid) = (d.u32()?, d.u32()?, d.u32()?);
                if id == MSG_MKDIR {
                    Request::Mkdir {
                        dir,
                        name,
                        mode,
                        uid,
                        gid,
                    }
                } else {
                    Request::Mknod {
                        dir,
                        name,
                        mode,
                        uid,
                        gid,
                    }
                }
            }
            MSG_SYMLINK => Request::Symlink {
                dir: d.u64()?,
                name: d.bytes(NAME_MAX + 1)?.to_vec(),
                target: d.bytes(PATH_MAX)?.to_vec(),
                uid: d.u32()?,
                gid: d.u32()?,
            },
            MSG_LINK => Request::Link {
                target: d.u64()?,
                dir: d.u64()?,
                name: d.bytes(NAME_MAX + 1)?.to_vec(),
            },
            MSG_UNLINK => Request::Unlink {
                dir: d.u64()?,
                name: d.bytes(NAME_MAX + 1)?.to_vec(),
                flags: d.u32()?,
            },
            MSG_RENAME => Request::Rename {
                old_dir: d.u64()?,
                old_name: d.bytes(NAME_MAX + 1)?.to_vec(),
                new_dir: d.u64()?,
                new_name: d.bytes(NAME_MAX + 1)?.to_vec(),
                flags: d.u32()?,
            },
            MSG_SETATTR => Request::SetAttr {
                handle: d.u64()?,
                change: AttrChange {
                    valid: d.u32()?,
                    mode: d.u32()?,
                    uid: d.u32()?,
                    gid: d.u32()?,
                    size: d.u64()?,
                    atime: (d.i64()?, d.i64()?),
                    mtime: (d.i64()?, d.i64()?),
                },
            },
            MSG_SETXATTR => Request::SetXattr {
                handle: d.u64()?,
                name: d.bytes(XATTR_NAME_MAX + 1)?.to_vec(),
                value: d.bytes(MAX_XATTR_VALUE)?.to_vec(),
                flags: d.u32()?,
            },
            MSG_REMOVEXATTR => Request::RemoveXattr {
                handle: d.u64()?,
                name: d.bytes(XATTR_NAME_MAX + 1)?.to_vec(),
            },
            _ => return Ok(None),
        };
        d.finish()?;
        Ok(Some(req))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn header_round_trip_and_length_check() {
        let p = frame(MSG_STAT, 7, &5u64.to_le_bytes());
        let (h, payload) = Header::decode(&p).unwrap();
        assert_eq!(
            h,
            Header {
                id: MSG_STAT,
                len: 8,
                tag: 7
            }
        );
        assert_eq!(payload, &5u64.to_le_bytes());
        assert_eq!(Header::decode(&p[..10]), Err(DecodeError::Truncated));
        assert_eq!(Header::decode(&p[..20]), Err(DecodeError::BadLength(8, 4)));
    }

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::Attach,
            Request::Walk {
                dir: 3,
                names: vec![b"a".to_vec(), b"bc".to_vec()],
            },
            Request::Stat(9),
            Request::Open { handle: 1, flags: 2 },
            Request::Readlink(4),
            Request::Getdents {
                dir: 1,
                cookie: u64::MAX,
                max: 10,
            },
            Request::Statfs(2),
            Request::Close(vec![1, 2, 3]),
            Request::GetXattr {
                handle: 1,
                name: b"user.x".to_vec(),
            },
            Request::ListXattr(5),
            Request::Create {
                dir: 1,
                name: b"f".to_vec(),
                flags: 2,
                mode: 0o644,
                uid: 3,
                gid: 4,
            },
            Request::Mkdir {
                dir: 1,
                name: b"d".to_vec(),
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
            Request::Mknod {
                dir: 1,
                name: b"p".to_vec(),
                mode: libc::S_IFIFO | 0o600,
                uid: 0,
                gid: 0,
            },
            Request::Symlink {
                dir: 1,
                name: b"l".to_vec(),
                target: b"/etc/passwd".to_vec(),
                uid: 1,
                gid: 2,
            },
            Request::Link {
                target: 3,
                dir: 1,
                name: b"h".to_vec(),
            },
            Request::Unlink {
                dir: 1,
                name: b"x".to_vec(),
                flags: 0x200,
            },
            Request::Rename {
                old_dir: 1,
                old_name: b"a".to_vec(),
                new_dir: 2,
                new_name: b"b".to_vec(),
                flags: 1,
            },
            Request::SetAttr {
                handle: 7,
                change: AttrChange {
                    valid: SETATTR_ALL,
                    mode: 0o600,
                    uid: 1,
                    gid: 2,
                    size: 3,
                    atime: (4, 5),
                    mtime: (6, libc::UTIME_OMIT),
                },
            },
            Request::SetXattr {
                handle: 7,
                name: b"user.a".to_vec(),
                value: b"v".to_vec(),
                flags: 1,
            },
            Request::RemoveXattr {
                handle: 7,
                name: b"user.a".to_vec(),
            },
        ];
        for r in reqs {
            let enc = r.encode();
            assert_eq!(Request::decode(r.id(), &enc).unwrap(), Some(r.clone()));
            // Every strict prefix is an error, never a panic.
            for cut in 0..enc.len() {
                assert!(Request::decode(r.id(), &enc[..cut]).is_err(), "{r:?} cut {cut}");
            }
            let mut longer = enc.clone();
            longer.push(0);
            assert_eq!(Request::decode(r.id(), &longer), Err(DecodeError::Trailing));
        }
        assert_eq!(Request::decode(999, &[]), Ok(None));
    }

    #[test]
    fn huge_counts_are_rejected_without_allocating() {
        let mut e = Encoder::new();
        e.u64(1).u32(u32::MAX);
        assert_eq!(Request::decode(MSG_WALK, &e.buf), Err(DecodeError::TooLarge));
        let mut e = Encoder::new();
        e.u32(u32::MAX);
        assert_eq!(Request::decode(MSG_CLOSE, &e.buf), Err(DecodeError::TooLarge));
        let mut e = Encoder::new();
        e.u64(1).u32(1).u32(u32::MAX);
        assert_eq!(Request::decode(MSG_WALK, &e.buf), Err(DecodeError::TooLarge));
    }

    #[test]
    fn attr_and_statfs_round_trip() {
        let a = Attr {
            dev: 1,
            ino: 2,
            mode: 0o40755,
            nlink: 3,
            uid: 4,
            gid: 5,
            rdev: 6,
            size: -7,
            blksize: 8,
            blocks: 9,
            atime: (10, 11),
            mtime: (12, 13),
            ctime: (14, 15),
        };
        let mut e = Encoder::new();
        e.attr(&a);
        assert_eq!(e.buf.len(), ATTR_LEN);
        assert_eq!(Decoder::new(&e.buf).attr().unwrap(), a);
        let s = StatFs {
            fs_type: 1,
            bsize: 2,
            blocks: 3,
            bfree: 4,
            bavail: 5,
            files: 6,
            ffree: 7,
            fsid: [8, -9],
            namelen: 10,
            frsize: 11,
            flags: 12,
        };
        let mut e = Encoder::new();
        e.statfs(&s);
        let back = Decoder::new(&e.buf).statfs().unwrap();
        assert_eq!((back.fsid, back.flags, back.bavail), (s.fsid, s.flags, s.bavail));
    }

    #[test]
    fn names_are_single_components() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", b"a\0b"] {
            assert_eq!(validate_name(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(validate_name(&[b'x'; 256]), Err(Errno::ENAMETOOLONG));
        assert_eq!(validate_name(b"...").map(|_| 1), Ok(1));
        assert!(validate_name(&[b'x'; 255]).is_ok());
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
            let _ = Request::decode((x >> 40) as u32 % 28, &bytes);
            let _ = Header::decode(&bytes);
            let _ = Decoder::new(&bytes).dirent();
        }
    }
}
