//! Credentials: the setuid/setgid family, supplementary groups and
//! capabilities, modelled in the sentry (the sandbox's root is root only
//! inside; no host credential ever changes).

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use syscalls::Errno;

/// Most supplementary groups (`NGROUPS_MAX`).
const NGROUPS_MAX: usize = 65536;
/// `_LINUX_CAPABILITY_VERSION_1`, `_2`, `_3`.
const CAP_VERSIONS: [u32; 3] = [0x1998_0330, 0x2007_1026, 0x2008_0522];
/// Bits of the capabilities Linux defines (CAP_LAST_CAP = 40).
const ALL_CAPS: u64 = (1 << 41) - 1;

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

/// `setresuid(ruid, euid, suid)`.
pub fn sys_setresuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let [r, e, s] = check_res(
        c.is_root(),
        [c.ruid, c.euid, c.suid],
        [id(args.u32(0)), id(args.u32(1)), id(args.u32(2))],
    )?;
    (task.creds.ruid, task.creds.euid, task.creds.suid) = (r, e, s);
    Ok(0)
}

/// `setresgid(rgid, egid, sgid)`.
pub fn sys_setresgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let [r, e, s] = check_res(
        c.is_root(),
        [c.rgid, c.egid, c.sgid],
        [id(args.u32(0)), id(args.u32(1)), id(args.u32(2))],
    )?;
    (task.creds.rgid, task.creds.egid, task.creds.sgid) = (r, e, s);
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
    let (r, e, s) = check_re(c.is_root(), (c.ruid, c.euid, c.suid), id(args.u32(0)), id(args.u32(1)))?;
    (task.creds.ruid, task.creds.euid, task.creds.suid) = (r, e, s);
    Ok(0)
}

/// `setregid(rgid, egid)`.
pub fn sys_setregid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    let (r, e, s) = check_re(c.is_root(), (c.rgid, c.egid, c.sgid), id(args.u32(0)), id(args.u32(1)))?;
    (task.creds.rgid, task.creds.egid, task.creds.sgid) = (r, e, s);
    Ok(0)
}

/// `setuid(uid)`: all three ids when privileged, else the effective id only.
pub fn sys_setuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let u = args.u32(0);
    if u == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let c = &mut task.creds;
    if c.is_root() {
        (c.ruid, c.euid, c.suid) = (u, u, u);
    } else if u == c.ruid || u == c.suid {
        c.euid = u;
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// `setgid(gid)`.
pub fn sys_setgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let g = args.u32(0);
    if g == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let root = task.creds.is_root();
    let c = &mut task.creds;
    if root {
        (c.rgid, c.egid, c.sgid) = (g, g, g);
    } else if g == c.rgid || g == c.sgid {
        c.egid = g;
    } else {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

/// `setfsuid(uid)`: returns the previous fsuid (the effective uid here).
pub fn sys_setfsuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let old = task.creds.euid;
    let u = args.u32(0);
    let c = &mut task.creds;
    if u != u32::MAX && (c.is_root() || [c.ruid, c.euid, c.suid].contains(&u)) {
        c.euid = u;
    }
    Ok(old as u64)
}

/// `setfsgid(gid)`.
pub fn sys_setfsgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let old = task.creds.egid;
    let g = args.u32(0);
    let root = task.creds.is_root();
    let c = &mut task.creds;
    if g != u32::MAX && (root || [c.rgid, c.egid, c.sgid].contains(&g)) {
        c.egid = g;
    }
    Ok(old as u64)
}

/// `setgroups(size, list)`: root only.
pub fn sys_setgroups(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let size = args.usize(0);
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if !task.creds.is_root() {
        return Err(Errno::EPERM);
    }
    let raw = task.mm.read_vec(args.u64(1), size * 4)?;
    task.creds.groups = raw
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(0)
}

fn cap_header(task: &Task, addr: u64) -> Result<(u32, i32), Errno> {
    let version: u32 = task.mm.read_obj(addr)?;
    let pid: i32 = task.mm.read_obj(addr + 4)?;
    if !CAP_VERSIONS.contains(&version) {
        // The kernel tells the caller which version it speaks.
        task.mm.write_obj(addr, &CAP_VERSIONS[2])?;
        return Err(Errno::EINVAL);
    }
    Ok((version, pid))
}

/// `capget(header, data)`: the sandbox's root holds every capability, other
/// users none (capabilities are not tracked separately yet).
pub fn sys_capget(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (version, pid) = cap_header(task, args.u64(0))?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if args.u64(1) == 0 {
        return Ok(0);
    }
    let caps = if task.creds.is_root() { ALL_CAPS } else { 0 };
    let words = if version == CAP_VERSIONS[0] { 1 } else { 2 };
    let mut out = Vec::new();
    for w in 0..words {
        let part = (caps >> (32 * w)) as u32;
        for v in [part, part, 0u32] {
            out.extend_from_slice(&v.to_ne_bytes());
        }
    }
    task.mm.write(args.u64(1), &out)?;
    Ok(0)
}

/// `capset(header, data)`: accepted when it asks for no more than the
/// caller holds; the reduction itself is not tracked yet.
pub fn sys_capset(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (version, pid) = cap_header(task, args.u64(0))?;
    if pid != 0 && pid != task.tid {
        return Err(Errno::EPERM);
    }
    let words = if version == CAP_VERSIONS[0] { 1 } else { 2 };
    let raw = task.mm.read_vec(args.u64(1), 12 * words)?;
    let held = if task.creds.is_root() { ALL_CAPS } else { 0 };
    for w in 0..words {
        let word = |i: usize| {
            u32::from_ne_bytes([
                raw[w * 12 + i],
                raw[w * 12 + i + 1],
                raw[w * 12 + i + 2],
                raw[w * 12 + i + 3],
            ])
        };
        let (effective, permitted) = (word(0) as u64, word(4) as u64);
        let mask = (held >> (32 * w)) & 0xffff_ffff;
        if permitted & !mask != 0 || effective & !permitted != 0 {
            return Err(Errno::EPERM);
        }
    }
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
