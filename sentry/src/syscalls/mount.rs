//! mount(2), umount2(2) and unshare(2) on the sandbox's mount tree.
//!
//! Every mount is private (no propagation), and the sandbox has one mount
//! namespace: `unshare(CLONE_NEWNS)` succeeds without making a new one, so
//! mounts made after it are seen by every process of the sandbox (all of
//! which belong to the one container anyway).

use super::{SysResult, SyscallArgs};
use crate::fs::mounts::new_filesystem;
use crate::kernel::caps::CAP_SYS_ADMIN;
use crate::kernel::Task;
use crate::vfs::dentry::Dentry;
use crate::vfs::inode::is_dir;
use crate::vfs::mount::flags;
use crate::vfs::{self, Location};
use std::sync::Arc;
use syscalls::Errno;

const MS_RDONLY: u64 = 1;
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_REMOUNT: u64 = 32;
const MS_NOATIME: u64 = 1024;
const MS_NODIRATIME: u64 = 2048;
const MS_BIND: u64 = 4096;
const MS_MOVE: u64 = 8192;
const MS_REC: u64 = 16384;
const MS_UNBINDABLE: u64 = 1 << 17;
const MS_PRIVATE: u64 = 1 << 18;
const MS_SLAVE: u64 = 1 << 19;
const MS_SHARED: u64 = 1 << 20;
const MS_STRICTATIME: u64 = 1 << 24;
const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

const MNT_FORCE: i32 = 1;
const MNT_DETACH: i32 = 2;
const MNT_EXPIRE: i32 = 4;
const UMOUNT_NOFOLLOW: i32 = 8;

const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SYSVSEM: u64 = 0x40000;
/// The other namespace flags (cgroup, uts, ipc, user, pid, net, time).
const CLONE_OTHER_NS: u64 = 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x80;

/// The per-mount flags asked for by mount(2) `f`.
fn mount_flags(f: u64) -> u32 {
    let mut out = 0;
    for (ms, bit) in [
        (MS_RDONLY, flags::RDONLY),
        (MS_NOSUID, flags::NOSUID),
        (MS_NODEV, flags::NODEV),
        (MS_NOEXEC, flags::NOEXEC),
        (MS_NODIRATIME, flags::NODIRATIME),
    ] {
        if f & ms != 0 {
            out |= bit;
        }
    }
    if f & MS_NOATIME != 0 {
        out |= flags::NOATIME;
    } else if f & MS_STRICTATIME == 0 {
        out |= flags::RELATIME;
    }
    out
}

/// Reads an optional NUL-terminated string argument (NULL: `None`).
fn opt_string(task: &Task, addr: u64, max: usize) -> Result<Option<String>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let b = task.mm.read_cstring(addr, max)?;
    Ok(Some(String::from_utf8_lossy(&b).into_owned()))
}

/// `mount(source, target, fstype, flags, data)`: new tmpfs, proc, sysfs,
/// mqueue and cgroup2 mounts, bind mounts (MS_BIND, MS_REC), remounts
/// (with MS_BIND: the per-mount flags only), and the private/slave
/// propagation changes, which are no-ops.
pub fn sys_mount(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let mut f = args.u64(3);
    if f & MS_MGC_MSK == MS_MGC_VAL {
        f &= !MS_MGC_MSK;
    }
    let target_path = task.mm.read_path(args.u64(1))?;
    let target = vfs::lookup_at(task, libc::AT_FDCWD, &target_path, true)?;
    // Linux looks the target up first: EACCES/ENOENT before EPERM.
    if !task.creds.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let is_mount_root = Arc::ptr_eq(&target.dentry, &target.mount.root);
    if f & MS_REMOUNT != 0 {
        if !is_mount_root {
            return Err(Errno::EINVAL);
        }
        let new_flags = mount_flags(f);
        if f & MS_BIND == 0 {
            let data = opt_string(task, args.u64(4), 4095)?.unwrap_or_default();
            target.mount.fs.remount(&data)?;
        }
        target.mount.set_flags(new_flags);
        return Ok(0);
    }
    if f & MS_BIND != 0 {
        let source = task.mm.read_path(args.u64(0))?;
        let src = vfs::lookup_at(task, libc::AT_FDCWD, &source, true)?;
        if is_dir(src.inode().stat()?.st_mode) != is_dir(target.inode().stat()?.st_mode) {
            return Err(Errno::ENOTDIR);
        }
        let new = task.fs.vfs.bind(&src, &target);
        if f & MS_REC != 0 {
            task.fs.vfs.bind_submounts(&src, &new);
        }
        return Ok(0);
    }
    if f & PROPAGATION != 0 {
        if !is_mount_root || (f & PROPAGATION).count_ones() != 1 {
            return Err(Errno::EINVAL);
        }
        // Every mount is private already; slave of nothing is private.
        return if f & (MS_PRIVATE | MS_SLAVE) != 0 {
            Ok(0)
        } else {
            Err(Errno::EINVAL)
        };
    }
    if f & MS_MOVE != 0 {
        return Err(Errno::EINVAL);
    }
    let fstype = opt_string(task, args.u64(2), 255)?.ok_or(Errno::EFAULT)?;
    let source = opt_string(task, args.u64(0), 4095)?.unwrap_or_else(|| "none".to_string());
    let data = opt_string(task, args.u64(4), 4095)?.unwrap_or_default();
    if !is_dir(target.inode().stat()?.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    let (root, fs, name) = new_filesystem(&fstype, &data)?;
    let source = if source.is_empty() { "none".to_string() } else { source };
    task.fs
        .vfs
        .mount_at(&target, Dentry::new_root(root), fs, name, &source, mount_flags(f));
    Ok(0)
}

fn do_umount(task: &Task, path_addr: u64, f: i32) -> SysResult {
    if f & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    if f & MNT_EXPIRE != 0 && f & (MNT_FORCE | MNT_DETACH) != 0 {
        return Err(Errno::EINVAL);
    }
    if !task.creds.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let path = task.mm.read_path(path_addr)?;
    let target: Location = vfs::lookup_at(task, libc::AT_FDCWD, &path, f & UMOUNT_NOFOLLOW == 0)?;
    if f & MNT_EXPIRE != 0 {
        if !Arc::ptr_eq(&target.dentry, &target.mount.root) {
            return Err(Errno::EINVAL);
        }
        // Marked for expiry; mounts here never expire on their own.
        return Err(Errno::EAGAIN);
    }
    let vfs = task.fs.vfs.clone();
    vfs.umount(target, f & MNT_DETACH != 0)?;
    Ok(0)
}

/// `umount2(target, flags)`: MNT_DETACH detaches at once; without it a
/// mount in use (a cwd or open file inside, a submount) is EBUSY.
pub fn sys_umount2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_umount(task, args.u64(0), args.i32(1))
}

/// `unshare(flags)`: CLONE_NEWNS is accepted without making a new mount
/// namespace (see the module doc); CLONE_FS and CLONE_SYSVSEM are no-ops
/// (nothing is shared that they would separate); CLONE_FILES gives the
/// task its own copy of the fd table.
pub fn sys_unshare(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let f = args.u64(0);
    if f & !(CLONE_FS | CLONE_FILES | CLONE_NEWNS | CLONE_SYSVSEM | CLONE_OTHER_NS | 0x100 | 0x800 | 0x10000) != 0 {
        return Err(Errno::EINVAL);
    }
    if f & (0x100 | 0x800 | 0x10000) != 0 {
        // CLONE_VM, CLONE_SIGHAND, CLONE_THREAD: only for single-threaded
        // callers, where they change nothing.
        return Err(Errno::EINVAL);
    }
    if f & CLONE_OTHER_NS != 0 {
        return Err(Errno::EPERM);
    }
    if f & CLONE_NEWNS != 0 && !task.creds.has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if f & CLONE_FILES != 0 && Arc::strong_count(&task.fds) > 1 {
        task.fds = Arc::new(task.fds.fork());
    }
    Ok(0)
}
