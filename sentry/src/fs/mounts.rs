//! Making mounts: filesystems by type name (for mount(2) and the boot
//! mount list), OCI mount options, and the boot mount list itself
//! ([`apply_boot_mounts`]: `BootConfig.mounts` in order, bind mounts of
//! host paths each served by a gofer socket of its own).

use super::tmpfs::{TmpFs, TmpfsOptions};
use crate::boot::{MountKind, MountSpec};
use crate::kernel::Credentials;
use crate::vfs::dentry::Dentry;
use crate::vfs::inode::is_dir;
use crate::vfs::mount::flags;
use crate::vfs::{FileSystem, Inode, Location, Vfs, Walker};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use syscalls::Errno;

/// The name under which the gofer serves a single-file bind mount: it
/// serves a directory holding only that file (see `gofer::sandbox`).
pub const FILE_BIND_NAME: &[u8] = b"file";

/// The option the launcher adds to a bind mount whose host source is not
/// a directory (the sentry cannot look at host paths itself).
pub const FILE_BIND_OPTION: &str = "rvisor-file-bind";

/// A new filesystem: its root, the filesystem object and its type name.
pub type NewFs = (Arc<dyn Inode>, Arc<dyn FileSystem>, &'static str);

/// A new filesystem of type `fstype` with mount data `data`. ENODEV for
/// types the sandbox does not have.
pub fn new_filesystem(fstype: &str, data: &str) -> Result<NewFs, Errno> {
    Ok(match fstype {
        "tmpfs" => {
            let fs = TmpFs::with_options(&TmpfsOptions::parse(data)?, super::TMPFS_MAGIC);
            (fs.root(), fs, "tmpfs")
        }
        "mqueue" => {
            // Message queues themselves are not implemented (mq_open is
            // ENOSYS); the directory is a tmpfs of mqueue's type.
            let fs = TmpFs::with_options(&TmpfsOptions::default(), super::MQUEUE_MAGIC);
            (fs.root(), fs, "mqueue")
        }
        "proc" => {
            let (root, fs) = super::proc::new_procfs();
            (root, fs, "proc")
        }
        "sysfs" => {
            let (root, fs) = super::sysfs::new_sysfs();
            (root, fs, "sysfs")
        }
        "cgroup" | "cgroup2" => {
            let (root, fs) = super::sysfs::new_cgroupfs();
            (root, fs, "cgroup2")
        }
        _ => return Err(Errno::ENODEV),
    })
}

/// What a list of OCI mount options asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedOptions {
    /// `vfs::mount::flags` bits.
    pub flags: u32,
    /// Filesystem data (`size=1m,mode=755`), comma-separated.
    pub data: String,
    /// `rbind`: bind submounts too.
    pub recursive: bool,
}

/// Splits OCI options into mount flags and filesystem data. Unknown
/// flag-like options (propagation, `bind`, ...) are ignored as runc does.
pub fn parse_options(options: &[String]) -> ParsedOptions {
    let mut p = ParsedOptions::default();
    let mut atime = flags::RELATIME;
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => p.flags |= flags::RDONLY,
            "rw" => p.flags &= !flags::RDONLY,
            "nosuid" => p.flags |= flags::NOSUID,
            "suid" => p.flags &= !flags::NOSUID,
            "nodev" => p.flags |= flags::NODEV,
            "dev" => p.flags &= !flags::NODEV,
            "noexec" => p.flags |= flags::NOEXEC,
            "exec" => p.flags &= !flags::NOEXEC,
            "noatime" => atime = flags::NOATIME,
            "relatime" => atime = flags::RELATIME,
            "strictatime" => atime = 0,
            "nodiratime" => p.flags |= flags::NODIRATIME,
            "rbind" => p.recursive = true,
            FILE_BIND_OPTION => {}
            other if other.contains('=') => data.push(other.to_string()),
            _ => {}
        }
    }
    p.flags |= atime;
    p.data = data.join(",");
    p
}

/// The directory `path` (absolute) in the tree, created when missing:
/// with mkdir where the filesystem allows it (the overlay root's upper
/// layer, a tmpfs), else as a placeholder dentry (a read-only root), as
/// the boot mounts of [`Vfs::with_root`] are. `file`: the last component
/// is to be a file (a single-file bind mount).
fn ensure_mountpoint(vfs: &Vfs, path: &str, file: bool) -> Result<Location, Errno> {
    let root = vfs.root();
    let creds = Credentials::new(0, 0, Vec::new());
    let w = Walker {
        vfs,
        root: &root,
        creds: &creds,
    };
    let names: Vec<&[u8]> = path
        .as_bytes()
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    let mut cur = root.clone();
    for (i, name) in names.iter().enumerate() {
        if *name == b"." || *name == b".." {
            return Err(Errno::EINVAL);
        }
        let last = i + 1 == names.len();
        if let Some(next) = w.lookup_in(&cur, name)? {
            // Symlinks in a mount destination are resolved inside the sandbox.
            let next = w.resolve(&cur, name, true).unwrap_or(next);
            cur = next;
            continue;
        }
        let writable = !cur.mount.read_only();
        let made = if !writable {
            Err(Errno::EROFS)
        } else if last && file {
            cur.inode().create(name, 0o644, (0, 0)).map(|_| ())
        } else {
            cur.inode().mkdir(name, 0o755, (0, 0))
        };
        let created = match made {
            Ok(()) => w.lookup_in(&cur, name)?,
            Err(_) => None,
        };
        cur = match created {
            Some(loc) => loc,
            None => {
                // A read-only filesystem: a placeholder in the dentry cache.
                let placeholder: Arc<dyn Inode> = if last && file {
                    super::synthetic::StaticFile::text(super::synthetic::anon_dev(), "")
                } else {
                    super::synthetic::StaticDir::new(super::synthetic::anon_dev(), 0o755, Vec::new())
                };
                let d: Arc<Dentry> = cur.dentry.replace_for_mount(name, placeholder);
                Location {
                    mount: cur.mount.clone(),
                    dentry: d,
                }
            }
        };
    }
    Ok(cur)
}

/// Whether `loc` is the root of a mount of type `fstype`.
fn is_mount_of(loc: &Location, fstype: &str) -> bool {
    Arc::ptr_eq(&loc.dentry, &loc.mount.root) && loc.mount.fstype == fstype
}

/// Applies the boot mount list in order. `binds` holds, in order, one
/// gofer socket for every `Bind` mount of `specs`.
pub fn apply_boot_mounts(vfs: &Vfs, specs: &[MountSpec], binds: Vec<OwnedFd>) -> Result<(), BootMountError> {
    let mut binds = binds.into_iter();
    for spec in specs {
        let err = |e: Errno| BootMountError {
            destination: spec.destination.clone(),
            errno: e,
        };
        if !spec.destination.starts_with('/') {
            return Err(err(Errno::EINVAL));
        }
        let opts = parse_options(&spec.options);
        let file_bind = spec.options.iter().any(|o| o == FILE_BIND_OPTION);
        match &spec.kind {
            MountKind::Bind { .. } => {
                let sock = binds.next().ok_or_else(|| err(Errno::EBADF))?;
                let client = Arc::new(gofer::client::Client::new(sock));
                // A writable bind mount writes through its gofer (which
                // refuses writes to a read-only source on its own too).
                let (fs, root) = if opts.flags & flags::RDONLY != 0 {
                    super::gofer::GoferFs::new_root(client)
                } else {
                    super::gofer::GoferFs::new_root_writable(client)
                }
                .map_err(err)?;
                let root: Arc<dyn Inode> = if file_bind {
                    root.lookup(&[FILE_BIND_NAME])
                        .map_err(err)?
                        .into_iter()
                        .next()
                        .ok_or_else(|| err(Errno::ENOENT))?
                } else {
                    root
                };
                let at = ensure_mountpoint(vfs, &spec.destination, file_bind).map_err(err)?;
                if is_dir(root.stat().map_err(err)?.st_mode) != is_dir(at.inode().stat().map_err(err)?.st_mode) {
                    return Err(err(Errno::ENOTDIR));
                }
                // The host path stays out of /proc/*/mounts: it would tell
                // the guest the host's layout.
                vfs.mount_at(&at, Dentry::new_root(root), fs, "9p", "none", opts.flags);
            }
            kind => {
                let fstype = match kind {
                    MountKind::Tmpfs => "tmpfs",
                    MountKind::Proc => "proc",
                    MountKind::Sysfs => "sysfs",
                    MountKind::Mqueue => "mqueue",
                    MountKind::Cgroup => "cgroup2",
                    MountKind::Devpts => "devpts",
                    MountKind::Bind { .. } => continue,
                };
                let at = ensure_mountpoint(vfs, &spec.destination, false).map_err(err)?;
                // The sandbox's own /dev, /proc, /sys and /dev/pts stand in
                // for the OCI spec's: only their flags are taken.
                let builtin = match kind {
                    MountKind::Tmpfs => is_mount_of(&at, "tmpfs") && at.path() == b"/dev",
                    MountKind::Proc => is_mount_of(&at, "proc"),
                    MountKind::Sysfs => is_mount_of(&at, "sysfs"),
                    MountKind::Devpts => true,
                    _ => false,
                };
                if builtin {
                    if matches!(kind, MountKind::Proc | MountKind::Sysfs) {
                        at.mount.set_flags(opts.flags | (at.mount.flags() & flags::RDONLY));
                    }
                    continue;
                }
                let (root, fs, name) = new_filesystem(fstype, &opts.data).map_err(err)?;
                vfs.mount_at(&at, Dentry::new_root(root), fs, name, name, opts.flags);
            }
        }
    }
    Ok(())
}

/// Masks and write-protects paths after the boot mounts (OCI
/// `linux.maskedPaths` and `readonlyPaths`, as runc applies them): a
/// masked file gets /dev/null bound over it, a masked directory an empty
/// read-only tmpfs; a read-only path is bound onto itself read-only.
/// Paths that do not exist are skipped, as runc does.
pub fn apply_masks(vfs: &Vfs, masked: &[String], readonly: &[String]) -> Result<(), BootMountError> {
    let root = vfs.root();
    let creds = Credentials::new(0, 0, Vec::new());
    let w = Walker {
        vfs,
        root: &root,
        creds: &creds,
    };
    let find = |path: &str| match w.resolve(&root, path.as_bytes(), true) {
        Ok(loc) => Ok(Some(loc)),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(BootMountError {
            destination: path.to_string(),
            errno: e,
        }),
    };
    for path in masked {
        let Some(at) = find(path)? else { continue };
        let err = |e: Errno| BootMountError {
            destination: path.clone(),
            errno: e,
        };
        if is_dir(at.inode().stat().map_err(err)?.st_mode) {
            let (root, fs, name) = new_filesystem("tmpfs", "size=0,mode=0555").map_err(err)?;
            vfs.mount_at(
                &at,
                Dentry::new_root(root),
                fs,
                name,
                name,
                flags::RDONLY | flags::NOSUID | flags::NODEV,
            );
        } else {
            let null = w.resolve(&root, b"/dev/null", true).map_err(err)?;
            vfs.bind(&null, &at);
        }
    }
    for path in readonly {
        let Some(at) = find(path)? else { continue };
        let m = vfs.bind(&at, &at);
        m.set_flags(m.flags() | flags::RDONLY);
    }
    Ok(())
}

/// A boot mount that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("mount on {destination}: {}", errno.description())]
pub struct BootMountError {
    /// The mount's destination.
    pub destination: String,
    /// Why.
    pub errno: Errno,
}
