//! Who am I: pids, ids, groups, uname, hostnames.

use super::{SysResult, SyscallArgs};
use crate::kernel::{Task, UTS_RELEASE, UTS_VERSION};
use syscalls::{structs::Utsname, Errno, Pod};

/// Longest host or domain name (`__NEW_UTS_LEN`).
const UTS_LEN: usize = 64;

/// `getpid`: the thread group id in the sandbox's PID namespace.
pub fn sys_getpid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.tgid as u64)
}

/// `gettid`.
pub fn sys_gettid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.tid as u64)
}

/// `getuid`.
pub fn sys_getuid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.creds.ruid as u64)
}

/// `geteuid`.
pub fn sys_geteuid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.creds.euid as u64)
}

/// `getgid`.
pub fn sys_getgid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.creds.rgid as u64)
}

/// `getegid`.
pub fn sys_getegid(task: &mut Task, _args: &SyscallArgs) -> SysResult {
    Ok(task.creds.egid as u64)
}

fn write_triple(task: &Task, ptrs: [u64; 3], vals: [u32; 3]) -> SysResult {
    for (p, v) in ptrs.into_iter().zip(vals) {
        task.mm.write_obj(p, &v)?;
    }
    Ok(0)
}

/// `getresuid`.
pub fn sys_getresuid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    write_triple(task, [args.u64(0), args.u64(1), args.u64(2)], [c.ruid, c.euid, c.suid])
}

/// `getresgid`.
pub fn sys_getresgid(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let c = &task.creds;
    write_triple(task, [args.u64(0), args.u64(1), args.u64(2)], [c.rgid, c.egid, c.sgid])
}

/// `getgroups`: with size 0 returns the count; EINVAL if the list is too small.
pub fn sys_getgroups(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let size = args.i32(0);
    let groups = &task.creds.groups;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_ne_bytes()).collect();
    task.mm.write(args.u64(1), &bytes)?;
    Ok(groups.len() as u64)
}

fn fill(field: &mut [libc::c_char], value: &[u8]) {
    let room = field.len().saturating_sub(1);
    for (dst, &src) in field.iter_mut().zip(value.iter().take(room)) {
        *dst = src as libc::c_char;
    }
}

/// `uname`: the sandbox's own release, never the host's.
pub fn sys_uname(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let mut uts = Utsname::zeroed();
    fill(&mut uts.sysname, b"Linux");
    let hostname = task.kernel.hostname.lock().map_err(|_| Errno::EIO)?.clone();
    fill(&mut uts.nodename, hostname.as_bytes());
    fill(&mut uts.release, UTS_RELEASE.as_bytes());
    fill(&mut uts.version, UTS_VERSION.as_bytes());
    fill(&mut uts.machine, b"x86_64");
    let domain = task.kernel.domainname.lock().map_err(|_| Errno::EIO)?.clone();
    fill(&mut uts.domainname, domain.as_bytes());
    task.mm.write_obj(args.u64(0), &uts)?;
    Ok(0)
}

fn read_uts_name(task: &Task, args: &SyscallArgs) -> Result<String, Errno> {
    if !task.creds.has_cap(crate::kernel::caps::CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    let len = args.i32(1);
    if len < 0 || len as usize > UTS_LEN {
        return Err(Errno::EINVAL);
    }
    let bytes = task.mm.read_vec(args.u64(0), len as usize)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `sethostname` (needs the sandbox's CAP_SYS_ADMIN, i.e. its root).
pub fn sys_sethostname(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let name = read_uts_name(task, args)?;
    *task.kernel.hostname.lock().map_err(|_| Errno::EIO)? = name;
    Ok(0)
}

/// `setdomainname`.
pub fn sys_setdomainname(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let name = read_uts_name(task, args)?;
    *task.kernel.domainname.lock().map_err(|_| Errno::EIO)? = name;
    Ok(0)
}
