//! Filesystem implementations mounted into the VFS: the gofer client
//! filesystem (the rootfs) and the in-memory overlay over it, devfs, the
//! /dev/shm tmpfs, procfs, a synthetic /sys, special files (pipes, eventfd,
//! epoll, timerfd, signalfd), and host fds (the container's stdio).

pub mod dev;
pub mod devpts;
pub mod epoll;
pub mod eventfd;
pub mod fifo;
pub mod gofer;
pub mod host;
pub mod hostio;
pub mod inotify;
pub mod memfd;
pub mod mounts;
pub mod overlay;
pub mod pipe;
pub mod proc;
pub mod shm;
pub mod signalfd;
pub mod synthetic;
pub mod sysfs;
pub mod timerfd;
pub mod tmpfs;

use crate::vfs::Mount;
use syscalls::structs::Statfs;
use syscalls::Errno;

/// `PROC_SUPER_MAGIC`.
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `SYSFS_MAGIC`.
pub const SYSFS_MAGIC: i64 = 0x6265_6572;
/// `ST_VALID`: f_flags is filled in.
const ST_VALID: i64 = 0x20;
/// `TMPFS_MAGIC` (devfs reports it, as devtmpfs does).
pub const TMPFS_MAGIC: i64 = 0x0102_1994;

/// `MQUEUE_MAGIC`.
pub const MQUEUE_MAGIC: i64 = 0x1980_0202;
/// `CGROUP2_SUPER_MAGIC`.
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// statfs of a mount: its filesystem's figures, with the mount's flags
/// (`ST_RDONLY`, `ST_NOSUID`, `ST_NODEV`, `ST_NOEXEC`, `ST_RELATIME`, ...).
pub fn statfs_of_mount(mount: &Mount) -> Result<Statfs, Errno> {
    let mut s = mount.fs.statfs()?;
    let flags = statfs_flags(&s) | ST_VALID | i64::from(mount.flags());
    set_statfs_flags(&mut s, flags);
    Ok(s)
}

/// Byte offset of the kernel's `f_flags` in `struct statfs` (the libc
/// crate keeps it in a private spare field).
const F_FLAGS_OFFSET: usize = 80;

/// `f_flags` of a statfs.
pub fn statfs_flags(s: &Statfs) -> i64 {
    use syscalls::Pod;
    let b = s.as_bytes();
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[F_FLAGS_OFFSET..F_FLAGS_OFFSET + 8]);
    i64::from_ne_bytes(raw)
}

/// Sets `f_flags` of a statfs.
pub fn set_statfs_flags(s: &mut Statfs, flags: i64) {
    use syscalls::Pod;
    let mut b = s.as_bytes().to_vec();
    b[F_FLAGS_OFFSET..F_FLAGS_OFFSET + 8].copy_from_slice(&flags.to_ne_bytes());
    if let Some(v) = Statfs::from_bytes(&b) {
        *s = v;
    }
}

/// A statfs for an in-sentry filesystem of type `magic`.
pub fn synthetic_statfs(magic: i64) -> Statfs {
    use syscalls::Pod;
    let mut s = Statfs::zeroed();
    s.f_type = magic;
    s.f_bsize = 4096;
    s.f_frsize = 4096;
    s.f_namelen = 255;
    s
}
