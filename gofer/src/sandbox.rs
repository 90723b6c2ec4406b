//! Confinement of the real gofer process: fresh namespaces, the served tree
//! as its whole filesystem (pivot_root), and a seccomp allow-list.
//!
//! Seccomp policy: the default action is `ERRNO(EPERM)`, not kill. A
//! syscall outside the list cannot do anything either way; returning EPERM
//! turns a forgotten entry into a clear errno for the sentry (invariant 6)
//! instead of a dead filesystem. A read-only gofer gets the list of the
//! read-only server loop: `openat` is allowed only without write access,
//! `O_CREAT`, `O_TRUNC` or `O_APPEND`, so even a compromised read-only gofer
//! cannot modify the host. A read-write gofer (`runsc gofer --rw`) also gets
//! the `*at` calls of the write path (mkdirat, mknodat, symlinkat, linkat,
//! unlinkat, renameat2, fchownat, fchmodat2, utimensat, ftruncate, the
//! `f*xattr` calls) and unrestricted `openat`. `openat2`, `socket`,
//! `connect`, `execve`, `ptrace`, mount calls etc. are always denied.

use crate::error::GoferError;
use crate::server::serve;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::Path;

/// One bind mount the gofer serves besides the root (`--mount SRC:FD[:ro]`).
#[derive(Debug)]
pub struct MountServe {
    /// The host directory or file.
    pub source: std::path::PathBuf,
    /// The socket to the sentry for this mount.
    pub sock: OwnedFd,
    /// Refuse every modification.
    pub readonly: bool,
}

/// Moves the calling process into new namespaces whose root is `root` and
/// returns an `O_PATH` fd of the new `/`. After this, no path outside `root`
/// exists for the process, so even a lookup bug cannot reach the host.
pub fn confine(root: &Path) -> Result<OwnedFd, GoferError> {
    confine_with_mounts(root, &[]).map(|(root, _)| root)
}

/// [`confine`], also returning an `O_PATH` directory fd for each of
/// `sources` (host directories or files, with their read-only flag).
///
/// The process pivots into a small private tmpfs holding the served trees
/// side by side: `/root` (a recursive bind of `root`) and `/m0`, `/m1`,
/// ... (binds of the sources; a file source sits alone in a directory as
/// `/mN/file`, so that the served tree holds that file and nothing else).
/// The host's tree is detached, and the process then chroots into `/root`:
/// as with [`confine`], `/` is the served root and no path reaches anything
/// else; the mount trees are reached through the returned fds only, from
/// which the servers cannot name `..`.
pub fn confine_with_mounts(root: &Path, sources: &[(&Path, bool)]) -> Result<(OwnedFd, Vec<OwnedFd>), GoferError> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| GoferError::nix("unshare(CLONE_NEWNS)", e))?;
    for (flag, name) in [
        (CloneFlags::CLONE_NEWNET, "net"),
        (CloneFlags::CLONE_NEWIPC, "ipc"),
        (CloneFlags::CLONE_NEWUTS, "uts"),
    ] {
        if let Err(e) = unshare(flag) {
            tracing::debug!(namespace = name, error = %e, "gofer: namespace not available");
        }
    }
    // Keep our mount changes from propagating back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| GoferError::nix("mount(/, MS_PRIVATE)", e))?;
    // Every source is named through an fd opened before the staging tmpfs
    // can hide it (a source under /tmp, say).
    let root_src = open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| GoferError::nix("open(root)", e))?;
    let mut mount_srcs = Vec::new();
    for (src, _) in sources {
        let fd = open(*src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| GoferError::nix("open(mount source)", e))?;
        let is_dir = nix::sys::stat::fstat(fd)
            .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
            .map_err(|e| GoferError::nix("fstat(mount source)", e))?;
        mount_srcs.push((fd, is_dir));
    }
    let staging = "/tmp";
    mount(
        Some("tmpfs"),
        staging,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("size=64k,mode=0755"),
    )
    .map_err(|e| GoferError::nix("mount staging tmpfs", e))?;
    let bind = |fd: i32, target: &str, what: &'static str| {
        let from = format!("/proc/self/fd/{fd}");
        mount(
            Some(from.as_str()),
            target,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| GoferError::nix(what, e))
    };
    nix::unistd::mkdir("/tmp/root", Mode::from_bits_truncate(0o755))
        .map_err(|e| GoferError::nix("mkdir staging", e))?;
    bind(root_src, "/tmp/root", "bind mount root")?;
    let _ = nix::unistd::close(root_src);
    for (i, ((fd, is_dir), (_, ro))) in mount_srcs.into_iter().zip(sources).enumerate() {
        let dir = format!("/tmp/m{i}");
        nix::unistd::mkdir(dir.as_str(), Mode::from_bits_truncate(0o755))
            .map_err(|e| GoferError::nix("mkdir mount staging", e))?;
        let target = if is_dir {
            dir
        } else {
            let f = format!("{dir}/file");
            let made = open(
                f.as_str(),
                OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .map_err(|e| GoferError::nix("create file mount staging", e))?;
            let _ = nix::unistd::close(made);
            f
        };
        bind(fd, &target, "bind mount source")?;
        let _ = nix::unistd::close(fd);
        if *ro {
            // Defence in depth, best effort: the server refuses writes anyway.
            if let Err(e) = mount(
                None::<&str>,
                target.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            ) {
                tracing::warn!(error = %e, "gofer: could not remount a mount source read-only");
            }
        }
    }
    nix::unistd::chdir(staging).map_err(|e| GoferError::nix("chdir(staging)", e))?;
    // pivot_root(".", "."): the old root ends up stacked on top of the new
    // one at "/", and detaching it leaves only the staging tmpfs.
    nix::unistd::pivot_root(".", ".").map_err(|e| GoferError::nix("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| GoferError::nix("umount old root", e))?;
    nix::unistd::chdir("/").map_err(|e| GoferError::nix("chdir(/)", e))?;
    // When the served tree contains /tmp (e.g. it is the host's `/`), the
    // recursive bind copied the staging tmpfs too; take it off so the tree's
    // own /tmp shows again. Otherwise there is nothing to undo.
    match umount2("/root/tmp", MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(GoferError::nix("umount staging copy", e)),
    }
    let open_dir = |p: &str| -> Result<OwnedFd, GoferError> {
        let fd = open(p, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| GoferError::nix("open(served tree)", e))?;
        // SAFETY: `fd` was just returned by open and is owned by nobody else.
        Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
    };
    let mount_fds = (0..sources.len())
        .map(|i| open_dir(&format!("/m{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    // Paths now name the served root only: the mount trees are reached by
    // their fds alone (and seccomp denies chroot, so this cannot be undone).
    nix::unistd::chdir("/root").map_err(|e| GoferError::nix("chdir(/root)", e))?;
    nix::unistd::chroot(".").map_err(|e| GoferError::nix("chroot(/root)", e))?;
    nix::unistd::chdir("/").map_err(|e| GoferError::nix("chdir(/)", e))?;
    let root_fd = crate::sys::openat_cwd_root().map_err(|errno| GoferError::Sys { what: "open(/)", errno })?;
    Ok((root_fd, mount_fds))
}

/// The allow-list of the server loop, as (syscall, rules); an empty rule
/// list allows every call. `readonly` leaves out every call that writes.
fn rules(readonly: bool) -> Result<BTreeMap<i64, Vec<SeccompRule>>, GoferError> {
    let err = |e: seccompiler::BackendError| GoferError::Seccomp(e.to_string());
    let mut map: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in [
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_writev,
        libc::SYS_close,
        libc::SYS_fstat,
        libc::SYS_newfstatat,
        libc::SYS_statx,
        libc::SYS_getdents64,
        libc::SYS_readlinkat,
        libc::SYS_fstatfs,
        libc::SYS_lseek,
        libc::SYS_sendmsg,
        libc::SYS_recvmsg,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_futex,
        libc::SYS_sigaltstack,
        libc::SYS_rt_sigreturn,
        libc::SYS_rt_sigprocmask,
        libc::SYS_restart_syscall,
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_brk,
        libc::SYS_madvise,
        libc::SYS_getrandom,
        libc::SYS_clock_gettime,
        libc::SYS_sched_yield,
        // abort() on a bug: raise SIGABRT at ourselves.
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_tgkill,
        libc::SYS_fgetxattr,
        libc::SYS_flistxattr,
    ] {
        map.insert(nr, Vec::new());
    }
    if readonly {
        // openat: read-only opens only (flags is argument 2).
        let write_bits = (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND) as u64;
        let cond =
            SeccompCondition::new(2, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(write_bits), 0).map_err(err)?;
        map.insert(libc::SYS_openat, vec![SeccompRule::new(vec![cond]).map_err(err)?]);
    } else {
        /// `fchmodat2` (Linux 6.6), not in every libc crate.
        const SYS_FCHMODAT2: i64 = 452;
        for nr in [
            libc::SYS_openat,
            libc::SYS_mkdirat,
            libc::SYS_mknodat,
            libc::SYS_symlinkat,
            libc::SYS_linkat,
            libc::SYS_unlinkat,
            libc::SYS_renameat2,
            libc::SYS_fchownat,
            libc::SYS_fchmod,
            SYS_FCHMODAT2,
            libc::SYS_utimensat,
            libc::SYS_ftruncate,
            libc::SYS_fsetxattr,
            libc::SYS_fremovexattr,
        ] {
            map.insert(nr, Vec::new());
        }
    }
    // fcntl: only the status/fd flag commands the server uses.
    let mut fcntl = Vec::new();
    for cmd in [
        libc::F_GETFL,
        libc::F_SETFL,
        libc::F_GETFD,
        libc::F_SETFD,
        libc::F_DUPFD_CLOEXEC,
    ] {
        let c = SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, cmd as u64).map_err(err)?;
        fcntl.push(SeccompRule::new(vec![c]).map_err(err)?);
    }
    map.insert(libc::SYS_fcntl, fcntl);
    Ok(map)
}

/// Installs the gofer's seccomp filter on every thread of the process
/// (also sets `no_new_privs`). Irreversible.
pub fn install_seccomp(readonly: bool) -> Result<(), GoferError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| GoferError::Seccomp(e.to_string()))?;
    let filter = SeccompFilter::new(
        rules(readonly)?,
        SeccompAction::Errno(libc::EPERM as u32),
        SeccompAction::Allow,
        arch,
    )
    .map_err(|e| GoferError::Seccomp(e.to_string()))?;
    let prog = BpfProgram::try_from(filter).map_err(|e| GoferError::Seccomp(e.to_string()))?;
    seccompiler::apply_filter_all_threads(&prog).map_err(|e| GoferError::Seccomp(e.to_string()))
}

/// The `runsc gofer` entry point: confine to `root`, install seccomp, and
/// serve `sock` until the sentry closes it, read-only unless `readonly` is
/// false (`runsc gofer --rw`: `--overlay2=none` over a writable root); each
/// of `mounts` is served on a thread of its own, with its source as the
/// served tree and its own read-only flag.
pub fn run(root: &Path, sock: OwnedFd, readonly: bool, mounts: Vec<MountServe>) -> Result<(), GoferError> {
    let sources: Vec<(&Path, bool)> = mounts.iter().map(|m| (m.source.as_path(), m.readonly)).collect();
    let (root_fd, mount_fds) = confine_with_mounts(root, &sources)?;
    if readonly {
        // Defence in depth: make the served tree's top mount read-only too.
        // Best effort (it can fail for locked mounts in a user namespace);
        // the server and the seccomp filter enforce read-only on their own.
        if let Err(e) = mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        ) {
            tracing::warn!(error = %e, "gofer: could not remount root read-only");
        }
    }
    // The filter allows writes when any served tree is writable; each
    // server still refuses writes to a read-only tree itself.
    let all_readonly = readonly && mounts.iter().all(|m| m.readonly);
    // The mount threads start before seccomp (clone and rseq, which a new
    // thread registers as it starts, are not in the list) and serve only
    // once it covers them too: the barrier is passed once when every
    // thread runs, and again once the filter is installed.
    let ready = std::sync::Arc::new(std::sync::Barrier::new(mounts.len() + 1));
    let mut threads = Vec::new();
    for (m, fd) in mounts.into_iter().zip(mount_fds) {
        let ready = ready.clone();
        let spawned = std::thread::Builder::new()
            .name("gofer-mount".into())
            .spawn(move || {
                ready.wait();
                ready.wait();
                serve(fd, m.sock, m.readonly)
            })
            .map_err(|e| GoferError::Sys {
                what: "starting a mount thread",
                errno: syscalls::Errno(e.raw_os_error().unwrap_or(libc::EAGAIN)),
            })?;
        threads.push(spawned);
    }
    ready.wait();
    let installed = install_seccomp(all_readonly);
    ready.wait();
    installed?;
    let result = serve(root_fd, sock, readonly);
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "gofer: a mount server failed"),
            Err(_) => tracing::warn!("gofer: a mount server panicked"),
        }
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn filter_compiles_and_denies_by_default() {
        let rw = rules(false).unwrap();
        assert!(rw.contains_key(&libc::SYS_renameat2) && rw.contains_key(&libc::SYS_unlinkat));
        assert!(rw[&libc::SYS_openat].is_empty());
        let map = rules(true).unwrap();
        assert!(!map.contains_key(&libc::SYS_unlinkat) && !map.contains_key(&libc::SYS_fchownat));
        assert!(!map[&libc::SYS_openat].is_empty());
        assert!(map.contains_key(&libc::SYS_getdents64));
        assert!(!map.contains_key(&libc::SYS_socket));
        assert!(!map.contains_key(&libc::SYS_execve));
        assert!(!map.contains_key(&libc::SYS_openat2));
        let arch = TargetArch::try_from(std::env::consts::ARCH).unwrap();
        let filter = SeccompFilter::new(
            map,
            SeccompAction::Errno(libc::EPERM as u32),
            SeccompAction::Allow,
            arch,
        )
        .unwrap();
        let prog = BpfProgram::try_from(filter).unwrap();
        assert!(!prog.is_empty());
    }
}
