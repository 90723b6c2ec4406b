//! Plain data shared by the client and the server: node attributes,
//! directory entries and filesystem statistics, as they travel on the wire.

/// A server-side node id, valid until closed. 0 is never a valid handle.
pub type Handle = u64;

/// Attributes of a host node (the fields of `struct stat` the sentry needs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attr {
    /// Device of the containing filesystem.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// File type and permission bits (`st_mode`).
    pub mode: u32,
    /// Hard link count.
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number for device nodes.
    pub rdev: u64,
    /// Size in bytes.
    pub size: i64,
    /// Preferred I/O block size.
    pub blksize: i64,
    /// Allocated 512-byte blocks.
    pub blocks: i64,
    /// Last access (sec, nsec).
    pub atime: (i64, i64),
    /// Last modification (sec, nsec).
    pub mtime: (i64, i64),
    /// Last status change (sec, nsec).
    pub ctime: (i64, i64),
}

impl Attr {
    /// Whether the node is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    /// Whether the node is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

impl From<&libc::stat> for Attr {
    fn from(st: &libc::stat) -> Attr {
        Attr {
            dev: st.st_dev,
            ino: st.st_ino,
            mode: st.st_mode,
            nlink: st.st_nlink,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
            size: st.st_size,
            blksize: st.st_blksize,
            blocks: st.st_blocks,
            atime: (st.st_atime, st.st_atime_nsec),
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// Cookie to pass to `getdents` to resume after this entry.
    pub off: u64,
    /// `DT_*` type.
    pub dtype: u8,
    /// Name (one component).
    pub name: Vec<u8>,
}

/// Filesystem statistics (`struct statfs`).
#[derive(Clone, Copy, Debug, Default)]
pub struct StatFs {
    /// Filesystem magic.
    pub fs_type: i64,
    /// Block size.
    pub bsize: i64,
    /// Total blocks.
    pub blocks: u64,
    /// Free blocks.
    pub bfree: u64,
    /// Free blocks for unprivileged users.
    pub bavail: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub ffree: u64,
    /// Filesystem id.
    pub fsid: [i32; 2],
    /// Longest name.
    pub namelen: i64,
    /// Fragment size.
    pub frsize: i64,
    /// Mount flags (`ST_*`).
    pub flags: i64,
}

impl From<&libc::statfs64> for StatFs {
    fn from(s: &libc::statfs64) -> StatFs {
        // SAFETY: `fsid_t` is `#[repr(C)] struct { __val: [c_int; 2] }` on
        // Linux; transmute checks the sizes match at compile time.
        let fsid: [i32; 2] = unsafe { std::mem::transmute::<libc::fsid_t, [i32; 2]>(s.f_fsid) };
        StatFs {
            fs_type: s.f_type,
            bsize: s.f_bsize,
            blocks: s.f_blocks,
            bfree: s.f_bfree,
            bavail: s.f_bavail,
            files: s.f_files,
            ffree: s.f_ffree,
            fsid,
            namelen: s.f_namelen,
            frsize: s.f_frsize,
            flags: s.f_flags,
        }
    }
}

/// The attribute changes of one SETATTR request: `valid` (a mask of the
/// `protocol::SETATTR_*` bits) says which of the other fields apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrChange {
    /// Which fields apply.
    pub valid: u32,
    /// New permission bits (07777).
    pub mode: u32,
    /// New owner.
    pub uid: u32,
    /// New group.
    pub gid: u32,
    /// New size of a regular file.
    pub size: u64,
    /// New access time (sec, nsec); nsec may be `UTIME_NOW` / `UTIME_OMIT`.
    pub atime: (i64, i64),
    /// New modification time, as `atime`.
    pub mtime: (i64, i64),
}
