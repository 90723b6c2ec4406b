//! File status: stat, fstat, lstat, newfstatat, statx.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use crate::vfs::inode::{major, minor};
use crate::vfs::{self, Location};
use syscalls::structs::{Stat, Statx, StatxTimestamp};
use syscalls::{Errno, Pod};

/// `STATX_BASIC_STATS`.
const STATX_BASIC_STATS: u32 = 0x7ff;
/// `STATX_MNT_ID`.
const STATX_MNT_ID: u32 = 0x1000;
/// `STATX_MNT_ID_UNIQUE`: the never-reused mount id, when asked for.
const STATX_MNT_ID_UNIQUE: u32 = 0x4000;
/// `STATX_ATTR_AUTOMOUNT`.
const STATX_ATTR_AUTOMOUNT: u64 = 0x1000;
/// `STATX_ATTR_MOUNT_ROOT`: the node is the root of a mount.
const STATX_ATTR_MOUNT_ROOT: u64 = 0x2000;
/// `STATX_ATTR_DAX`.
const STATX_ATTR_DAX: u64 = 0x20_0000;
/// The attributes every filesystem reports knowing about (Linux's generic
/// `attributes_mask`; none of the per-filesystem flags is ever set here).
const GENERIC_ATTRIBUTES: u64 = STATX_ATTR_AUTOMOUNT | STATX_ATTR_MOUNT_ROOT | STATX_ATTR_DAX;
/// `STATX__RESERVED`.
const STATX_RESERVED: u32 = 0x8000_0000;
/// `AT_STATX_SYNC_TYPE`.
const AT_STATX_SYNC_TYPE: i32 = 0x6000;

/// What a path-or-fd stat names: a location, or an fd without one.
pub(super) enum Target {
    /// A place in the mount tree.
    Loc(Location),
    /// An open file (host stdio, pipes ...).
    File(vfs::FileRef),
}

impl Target {
    pub(super) fn stat(&self) -> Result<Stat, Errno> {
        match self {
            Target::Loc(l) => l.inode().stat(),
            Target::File(f) => f.stat(),
        }
    }
}

/// Resolves the (dirfd, path) of an *at call that allows AT_EMPTY_PATH:
/// an empty path names `dirfd` itself when `empty_ok`, else is ENOENT.
pub(super) fn target_at(task: &Task, dirfd: i32, path: &[u8], follow: bool, empty_ok: bool) -> Result<Target, Errno> {
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd == libc::AT_FDCWD {
            return Ok(Target::Loc(task.fs.cwd.clone()));
        }
        let file = task.fds.get(dirfd)?;
        return Ok(match file.location() {
            Some(l) => Target::Loc(l.clone()),
            None => Target::File(file),
        });
    }
    vfs::lookup_at(task, dirfd, path, follow).map(Target::Loc)
}

/// Reads a path argument that may be empty (for AT_EMPTY_PATH); a NULL
/// pointer counts as empty when `null_ok`.
pub(super) fn read_path_maybe_empty(task: &Task, addr: u64, null_ok: bool) -> Result<Vec<u8>, Errno> {
    if addr == 0 && null_ok {
        return Ok(Vec::new());
    }
    task.mm.read_cstring(addr, libc::PATH_MAX as usize - 1)
}

fn stat_path(task: &Task, dirfd: i32, path_addr: u64, flags: i32) -> Result<Stat, Errno> {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path_maybe_empty(task, path_addr, false)?;
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    target_at(task, dirfd, &path, follow, flags & libc::AT_EMPTY_PATH != 0)?.stat()
}

/// `stat(path, buf)`.
pub fn sys_stat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let st = stat_path(task, libc::AT_FDCWD, args.u64(0), 0)?;
    task.mm.write_obj(args.u64(1), &st)?;
    Ok(0)
}

/// `fstat(fd, buf)`.
pub fn sys_fstat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let st = task.fds.get(args.i32(0))?.stat()?;
    task.mm.write_obj(args.u64(1), &st)?;
    Ok(0)
}

/// `lstat(path, buf)`.
pub fn sys_lstat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let st = stat_path(task, libc::AT_FDCWD, args.u64(0), libc::AT_SYMLINK_NOFOLLOW)?;
    task.mm.write_obj(args.u64(1), &st)?;
    Ok(0)
}

/// `newfstatat(dirfd, path, buf, flags)`.
pub fn sys_newfstatat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let st = stat_path(task, args.i32(0), args.u64(1), args.i32(3))?;
    task.mm.write_obj(args.u64(2), &st)?;
    Ok(0)
}

fn ts(sec: i64, nsec: i64) -> StatxTimestamp {
    let mut t = StatxTimestamp::zeroed();
    t.tv_sec = sec;
    t.tv_nsec = nsec as u32;
    t
}

/// A statx record from a stat (basic fields; `mnt_id` when known).
pub fn statx_from_stat(st: &Stat, mnt_id: Option<u64>) -> Statx {
    let mut x = Statx::zeroed();
    x.stx_mask = STATX_BASIC_STATS;
    x.stx_blksize = st.st_blksize as u32;
    x.stx_nlink = st.st_nlink as u32;
    x.stx_uid = st.st_uid;
    x.stx_gid = st.st_gid;
    x.stx_mode = st.st_mode as u16;
    x.stx_ino = st.st_ino;
    x.stx_size = st.st_size as u64;
    x.stx_blocks = st.st_blocks as u64;
    x.stx_atime = ts(st.st_atime, st.st_atime_nsec);
    x.stx_ctime = ts(st.st_ctime, st.st_ctime_nsec);
    x.stx_mtime = ts(st.st_mtime, st.st_mtime_nsec);
    x.stx_rdev_major = major(st.st_rdev);
    x.stx_rdev_minor = minor(st.st_rdev);
    x.stx_dev_major = major(st.st_dev);
    x.stx_dev_minor = minor(st.st_dev);
    x.stx_attributes_mask = GENERIC_ATTRIBUTES;
    if let Some(id) = mnt_id {
        x.stx_mask |= STATX_MNT_ID;
        x.stx_mnt_id = id;
    }
    x
}

/// `statx(dirfd, path, flags, mask, buf)`.
pub fn sys_statx(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (dirfd, flags, mask) = (args.i32(0), args.i32(2), args.u32(3));
    let allowed = libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
    if flags & !allowed != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE || mask & STATX_RESERVED != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_maybe_empty(task, args.u64(1), empty_ok)?;
    let target = target_at(task, dirfd, &path, flags & libc::AT_SYMLINK_NOFOLLOW == 0, empty_ok)?;
    let st = target.stat()?;
    let mnt = match &target {
        Target::Loc(l) => Some(l.mount.id),
        Target::File(_) => None,
    };
    let mut x = statx_from_stat(&st, mnt);
    if let Target::Loc(l) = &target {
        if std::sync::Arc::ptr_eq(&l.dentry, &l.mount.root) {
            x.stx_attributes |= STATX_ATTR_MOUNT_ROOT;
        }
        if mask & STATX_MNT_ID_UNIQUE != 0 {
            // Mount ids here are never reused: the same id serves both.
            x.stx_mask = (x.stx_mask & !STATX_MNT_ID) | STATX_MNT_ID_UNIQUE;
        }
    }
    task.mm.write_obj(args.u64(4), &x)?;
    Ok(0)
}
