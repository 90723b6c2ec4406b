//! Confining the sentry process (invariant 2: the sentry never opens a
//! host path).
//!
//! The sentry moves into a mount namespace of its own and pivots into an
//! empty, read-only tmpfs. From then on no path it could open names a host
//! file; every file reaches it as an fd donated by the gofer. It also
//! leaves the host's network, IPC and UTS namespaces: the sandbox's
//! networking, IPC and hostname are the sentry's own, so a compromised
//! sentry reaches no host socket (not even an abstract unix one) and no
//! host System V object. The exception is host networking
//! (`--network=host`): the sentry then keeps the network namespace it was
//! started in (or one it made itself, see `kernel/run.rs`), because the
//! guest's inet sockets are host sockets of that namespace.

use std::ffi::CString;
use syscalls::Errno;

fn check(r: libc::c_int) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

fn cstr(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

/// Unshares the mount, IPC and UTS namespaces (and the network namespace
/// unless `keep_netns`) and pivots into an empty tmpfs.
pub fn confine_sentry(keep_netns: bool) -> Result<(), Errno> {
    let root = cstr("/")?;
    let tmpfs = cstr("tmpfs")?;
    let mountpoint = cstr("/tmp")?;
    let dot = cstr(".")?;
    let opts = cstr("size=4k,nr_inodes=4,mode=0555")?;
    // SAFETY: plain system calls on NUL-terminated strings that outlive them.
    unsafe {
        let net = if keep_netns { 0 } else { libc::CLONE_NEWNET };
        check(libc::unshare(
            libc::CLONE_NEWNS | net | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS,
        ))?;
        check(libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            tmpfs.as_ptr(),
            mountpoint.as_ptr(),
            tmpfs.as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            opts.as_ptr().cast(),
        ))?;
        check(libc::chdir(mountpoint.as_ptr()))?;
        check(libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) as libc::c_int)?;
        check(libc::umount2(dot.as_ptr(), libc::MNT_DETACH))?;
        check(libc::chdir(root.as_ptr()))?;
        check(libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ))?;
    }
    Ok(())
}
