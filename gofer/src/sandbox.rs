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

/// Moves the calling process into new namespaces whose root is `root` and
/// returns an `O_PATH` fd of the new `/`. After this, no path outside `root`
/// exists for the process, so even a lookup bug cannot reach the host.
pub fn confine(root: &Path) -> Result<OwnedFd, GoferError> {
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
    // pivot_root needs the new root to be a mount point reached by path
    // lookup. Binding `root` onto itself does not work when `root` is `/`
    // (a lookup of "/" never enters a mount stacked on the root itself),
    // so bind it onto a staging directory inside a private tmpfs instead.
    // The source is named through an fd opened before the tmpfs can hide it.
    let source = nix::fcntl::open(
        root,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| GoferError::nix("open(root)", e))?;
    let source_path = format!("/proc/self/fd/{source}");
    let staging_parent = "/tmp";
    mount(
        Some("tmpfs"),
        staging_parent,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("size=64k,mode=0700"),
    )
    .map_err(|e| GoferError::nix("mount staging tmpfs", e))?;
    let staging = "/tmp/root";
    nix::unistd::mkdir(staging, nix::sys::stat::Mode::from_bits_truncate(0o700))
        .map_err(|e| GoferError::nix("mkdir staging", e))?;
    mount(
        Some(source_path.as_str()),
        staging,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| GoferError::nix("bind mount root", e))?;
    let _ = nix::unistd::close(source);
    nix::unistd::chdir(staging).map_err(|e| GoferError::nix("chdir(root)", e))?;
    // pivot_root(".", "."): the old root ends up stacked on top of the new
    // one at "/", and detaching it leaves only the new tree.
    nix::unistd::pivot_root(".", ".").map_err(|e| GoferError::nix("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| GoferError::nix("umount old root", e))?;
    nix::unistd::chdir("/").map_err(|e| GoferError::nix("chdir(/)", e))?;
    // When the served tree contains /tmp (e.g. it is the host's `/`), the
    // recursive bind copied the staging tmpfs too; take it off so the tree's
    // own /tmp shows again. Otherwise there is nothing to undo.
    match umount2(staging_parent, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(GoferError::nix("umount staging", e)),
    }
    crate::sys::openat_cwd_root().map_err(|errno| GoferError::Sys { what: "open(/)", errno })
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
/// false (`runsc gofer --rw`: `--overlay2=none` over a writable root).
pub fn run(root: &Path, sock: OwnedFd, readonly: bool) -> Result<(), GoferError> {
    let root_fd = confine(root)?;
    if !readonly {
        install_seccomp(false)?;
        return serve(root_fd, sock, false);
    }
    // Defence in depth: make the served tree's top mount read-only too.
    // Best effort (it can fail for locked mounts in a user namespace); the
    // server and the seccomp filter enforce read-only on their own.
    if let Err(e) = mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    ) {
        tracing::warn!(error = %e, "gofer: could not remount root read-only");
    }
    install_seccomp(true)?;
    serve(root_fd, sock, true)
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
