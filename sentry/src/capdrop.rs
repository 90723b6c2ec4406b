//! Dropping every host capability of the sentry (invariant 4).
//!
//! The sentry needs privilege only to confine itself (a mount namespace,
//! `mount`, `pivot_root`: see [`crate::confine`]). After that it needs none:
//! it traces stubs that it forked itself, with the same uid and (because
//! the zygote is forked after this drop) no capabilities either, so
//! `PTRACE_SEIZE` and `process_vm_readv/writev` pass the kernel's
//! same-credentials check without `CAP_SYS_PTRACE`. [`drop_all`] empties
//! the ambient, bounding, inheritable, permitted and effective sets.
//!
//! Capabilities are per thread: call it before the sentry starts any thread,
//! so every thread (and the zygote and the stubs) inherits the empty sets.

use syscalls::Errno;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two 32-bit halves.
const CAP_VERSION_3: u32 = 0x2008_0522;
/// `CAP_SETPCAP`: needed to drop from the bounding set.
const CAP_SETPCAP: u32 = 8;
/// Capability numbers are below this (Linux has 41 today).
const CAP_LIMIT: u32 = 64;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's (effective, permitted, inheritable) sets.
pub fn current() -> Result<(u64, u64, u64), Errno> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two cap_user_data structs (version 3) into `data`.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut CapHeader, data.as_mut_ptr()) };
    if r != 0 {
        return Err(Errno::last());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// The calling thread's bounding set.
pub fn bounding() -> u64 {
    let mut set = 0;
    for cap in 0..CAP_LIMIT {
        // SAFETY: PR_CAPBSET_READ takes a number and touches no memory.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } == 1 {
            set |= 1 << cap;
        }
    }
    set
}

/// Drops every capability of the calling thread for good: ambient,
/// bounding, then inheritable, permitted and effective. Dropping from the
/// bounding set needs `CAP_SETPCAP`; without it (a sentry started without
/// privilege) that part is skipped, which is harmless because the sentry
/// can never `execve` again (seccomp) and runs with `no_new_privs`.
pub fn drop_all() -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // EINVAL: a kernel without ambient capabilities (< 4.3): nothing to clear.
    if r != 0 && Errno::last() != Errno::EINVAL {
        return Err(Errno::last());
    }
    let may_drop_bounding = current()?.0 & (1 << CAP_SETPCAP) != 0;
    if may_drop_bounding {
        for cap in 0..CAP_LIMIT {
            // SAFETY: PR_CAPBSET_READ/DROP take a number and touch no memory.
            unsafe {
                // 1: in the set; 0: not; EINVAL: past the last capability.
                if libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) == 1
                    && libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0
                {
                    return Err(Errno::last());
                }
            }
        }
    }
    let header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads the header and two cap_user_data structs.
    let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
    if r != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` in a forked child (capabilities are per thread, and the
    /// test process must keep its own); the child's exit code is `f`'s.
    fn in_child(f: fn() -> i32) -> i32 {
        // SAFETY: the child runs only `f` (raw syscalls, no allocation) and
        // `_exit`s; the parent waits for it.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                libc::_exit(f());
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status), "child status {status:#x}");
            libc::WEXITSTATUS(status)
        }
    }

    #[test]
    fn drop_all_empties_every_set() {
        let code = in_child(|| {
            let had_setpcap = matches!(current(), Ok((eff, _, _)) if eff & (1 << CAP_SETPCAP) != 0);
            if drop_all().is_err() {
                return 1;
            }
            match current() {
                Ok((0, 0, 0)) => {}
                _ => return 2,
            }
            // The bounding set can be emptied only with CAP_SETPCAP.
            if had_setpcap && bounding() != 0 {
                return 3;
            }
            // A capability is really gone: the permitted set cannot regain it.
            let header = CapHeader {
                version: CAP_VERSION_3,
                pid: 0,
            };
            let data = [
                CapData {
                    effective: 1 << CAP_SETPCAP,
                    permitted: 1 << CAP_SETPCAP,
                    inheritable: 0,
                },
                CapData::default(),
            ];
            // SAFETY: capset reads the header and two cap_user_data structs.
            let r = unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) };
            if r == 0 || Errno::last() != Errno::EPERM {
                return 4;
            }
            0
        });
        assert_eq!(code, 0);
    }
}
