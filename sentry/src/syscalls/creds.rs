//! Credentials: the setuid/setgid family and supplementary groups,
//! modelled in the sentry (the sandbox's root is root only inside; no host
//! credential ever changes). Capabilities follow uid changes
//! (`caps::fix_setuid`); capget/capset live in `caps.rs`.

use super::{SysResult, SyscallArgs};
use crate::kernel::caps::{self, CAP_SETGID, CAP_SETUID};
use crate::kernel::{Credentials, Task};
use syscalls::Errno;

/// Most supplementary groups (`NGROUPS_MAX`).
const NGROUPS_MAX: usize = 65536;

/// An id argument: -1 (as u32::MAX) means "leave unchanged".
fn id(v: u32) -> Option<u32> {
    (v != u32::MAX).then_some(v)
}

/// setresuid/setresgid rules: privileged callers may set anything; others
/// only values they already hold as real, effective or saved id.
fn check_res(privileged: bool, current: [u32; 3], new: [Option<u32>; 3]) -> Result<[u32; 3], Errno> {
    let mut out = current;
    for (slot, v) in new.iter().enumerate() {
        if let Some(v) = *v {
            if !privileged && !current.contains(&v) {
                return Err(Errno::EPERM);
            }
            out[slot] = v;
        }
    }
    Ok(out)
}

/// Installs `new` (uids changed from the task's) after the capability
/// fixups of a uid change; the filesystem uid follows the effective one.
fn commit_uids(task: &mut Task, mut new: Credentials) {
    new.fsuid = new.euid;
    caps::fix_setuid(&task.creds, &mut new);
    task.creds = new;
}

/// `setresuid(ruid, euid, suid)`.
pub fn sys_setresuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let [r, e, s] = check_res(
        c.has_cap(CAP_SETUID),
        [c.ruid, c.euid, c.suid],
        [id(args.u32(0)), id(args.u32(1)), id(args.u32(2))],
    )?;
    let mut new = task.creds.clone();
    (new.ruid, new.euid, new.suid) = (r, e, s);
    commit_uids(task, new);
    Ok(0)
}

/// `setresgid(rgid, egid, sgid)`.
pub fn sys_setresgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let [r, e, s] = check_res(
        c.has_cap(CAP_SETGID),
        [c.rgid, c.egid, c.sgid],
        [id(args.u32(0)), id(args.u32(1)), id(args.u32(2))],
    )?;
    let c = &mut task.creds;
    (c.rgid, c.egid, c.sgid, c.fsgid) = (r, e, s, e);
    Ok(0)
}

/// setreuid/setregid rules (credentials(7)).
fn check_re(
    privileged: bool,
    (r0, e0, s0): (u32, u32, u32),
    r: Option<u32>,
    e: Option<u32>,
) -> Result<(u32, u32, u32), Errno> {
    let r_bad = r.is_some_and(|r| r != r0 && r != e0);
    let e_bad = e.is_some_and(|e| e != r0 && e != e0 && e != s0);
    if !privileged && (r_bad || e_bad) {
        return Err(Errno::EPERM);
    }
    let (nr, ne) = (r.unwrap_or(r0), e.unwrap_or(e0));
    let ns = if r.is_some() || e.is_some_and(|e| e != r0) {
        ne
    } else {
        s0
    };
    Ok((nr, ne, ns))
}

/// `setreuid(ruid, euid)`.
pub fn sys_setreuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let (r, e, s) = check_re(
        c.has_cap(CAP_SETUID),
        (c.ruid, c.euid, c.suid),
        id(args.u32(0)),
        id(args.u32(1)),
    )?;
    let mut new = task.creds.clone();
    (new.ruid, new.euid, new.suid) = (r, e, s);
    commit_uids(task, new);
    Ok(0)
}

/// `setregid(rgid, egid)`.
pub fn sys_setregid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let (r, e, s) = check_re(
        c.has_cap(CAP_SETGID),
        (c.rgid, c.egid, c.sgid),
        id(args.u32(0)),
        id(args.u32(1)),
    )?;
    let c = &mut task.creds;
    (c.rgid, c.egid, c.sgid, c.fsgid) = (r, e, s, e);
    Ok(0)
}

/// `setuid(uid)`: all three ids with CAP_SETUID, else the effective id only.
pub fn sys_setuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let u = args.u32(0);
    if u == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let mut new = task.creds.clone();
    if new.has_cap(CAP_SETUID) {
        (new.ruid, new.euid, new.suid) = (u, u, u);
    } else if u == new.ruid || u == new.suid {
        new.euid = u;
    } else {
        return Err(Errno::EPERM);
    }
    commit_uids(task, new);
    Ok(0)
}

/// `setgid(gid)`.
pub fn sys_setgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let g = args.u32(0);
    if g == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let privileged = task.creds.has_cap(CAP_SETGID);
    let c = &mut task.creds;
    if privileged {
        (c.rgid, c.egid, c.sgid) = (g, g, g);
    } else if g == c.rgid || g == c.sgid {
        c.egid = g;
    } else {
        return Err(Errno::EPERM);
    }
    c.fsgid = g;
    Ok(0)
}

/// `setfsuid(uid)`: returns the previous filesystem uid; leaving or
/// returning to fsuid 0 moves the filesystem capabilities.
pub fn sys_setfsuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let old = c.fsuid;
    let u = args.u32(0);
    let allowed = [c.ruid, c.euid, c.suid, c.fsuid].contains(&u) || c.has_cap(CAP_SETUID);
    if u != u32::MAX && allowed && u != old {
        let mut new = task.creds.clone();
        new.fsuid = u;
        caps::fix_setfsuid(&task.creds, &mut new);
        task.creds = new;
    }
    Ok(old as u64)
}

/// `setfsgid(gid)`: returns the previous filesystem gid.
pub fn sys_setfsgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let old = c.fsgid;
    let g = args.u32(0);
    if g != u32::MAX && ([c.rgid, c.egid, c.sgid, c.fsgid].contains(&g) || c.has_cap(CAP_SETGID)) {
        task.creds.fsgid = g;
    }
    Ok(old as u64)
}

/// `setgroups(size, list)`: needs CAP_SETGID.
pub fn sys_setgroups(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let size = args.usize(0);
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !task.creds.has_cap(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    let raw = task.mm.read_vec(args.u64(1), size * 4)?;
    task.creds.groups = raw
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprivileged_setres_only_swaps_held_ids() {
        assert_eq!(
            check_res(false, [1000, 1000, 0], [None, Some(0), None]),
            Ok([1000, 0, 0])
        );
        assert_eq!(
            check_res(false, [1000, 1000, 1000], [Some(0), None, None]),
            Err(Errno::EPERM)
        );
        assert_eq!(check_res(true, [0, 0, 0], [Some(5), Some(6), Some(7)]), Ok([5, 6, 7]));
    }

    #[test]
    fn setre_updates_saved_id_like_linux() {
        // Setting the real id makes the saved id the new effective id.
        assert_eq!(
            check_re(true, (0, 0, 0), Some(1000), Some(1000)),
            Ok((1000, 1000, 1000))
        );
        // Changing only the effective id to the real id keeps the saved id.
        assert_eq!(check_re(false, (1000, 0, 0), None, Some(1000)), Ok((1000, 1000, 0)));
        assert_eq!(check_re(false, (1000, 1000, 1000), None, Some(0)), Err(Errno::EPERM));
    }
}
