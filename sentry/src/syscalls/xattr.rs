//! Extended attributes, through [`Inode`]'s xattr methods. The gofer
//! filesystem stores real ones on the host (under `--overlay2=none`); the
//! other filesystems store none (a lookup finds no attribute, ENODATA, a
//! listing is empty, and setting one is EOPNOTSUPP). Path and fd errors,
//! the caller's buffer size (ERANGE, or the size when it is 0) and who may
//! touch which namespace are decided here, as Linux's VFS does: `user.` on
//! regular files and directories with read / write permission, `trusted.`
//! and `security.` changes by root only (`trusted.` hidden from others),
//! `system.` (ACLs) changes by the owner or root.

use super::stat::{read_path_maybe_empty, target_at, Target};
use super::{SysResult, SyscallArgs};
use crate::kernel::caps::{CAP_FOWNER, CAP_SYS_ADMIN};
use crate::kernel::Task;
use crate::vfs::perm::{self, MAY_READ, MAY_WRITE};
use crate::vfs::Inode;
use std::sync::Arc;
use syscalls::Errno;

/// Longest attribute name (`XATTR_NAME_MAX`).
const XATTR_NAME_MAX: usize = 255;
/// Largest value (`XATTR_SIZE_MAX`).
const XATTR_SIZE_MAX: usize = 65536;
/// Largest listing (`XATTR_LIST_MAX`).
const XATTR_LIST_MAX: usize = 65536;

/// The node an xattr call acts on: `None` for open files that have no
/// node (pipes, host stdio), which have no attributes. The bool is the
/// mount's read-only flag.
type Node = Option<(Arc<dyn Inode>, bool)>;

fn path_node(task: &Task, addr: u64, follow: bool) -> Result<Node, Errno> {
    let path = read_path_maybe_empty(task, addr, false)?;
    Ok(match target_at(task, libc::AT_FDCWD, &path, follow, false)? {
        Target::Loc(l) => Some((l.inode().clone(), l.mount.read_only())),
        Target::File(_) => None,
    })
}

fn fd_node(task: &Task, fd: i32) -> Result<Node, Errno> {
    let file = task.fds.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(file.location().map(|l| (l.inode().clone(), l.mount.read_only())))
}

fn read_name(task: &Task, addr: u64) -> Result<Vec<u8>, Errno> {
    let name =
        task.mm
            .read_cstring(addr, XATTR_NAME_MAX)
            .map_err(|e| if e == Errno::ENAMETOOLONG { Errno::ERANGE } else { e })?;
    if name.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// The namespaces Linux knows; others are EOPNOTSUPP.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    User,
    Trusted,
    Security,
    System,
}

fn space(name: &[u8]) -> Result<Space, Errno> {
    for (prefix, sp) in [
        (&b"user."[..], Space::User),
        (b"trusted.", Space::Trusted),
        (b"security.", Space::Security),
        (b"system.", Space::System),
    ] {
        if name.len() > prefix.len() && name.starts_with(prefix) {
            return Ok(sp);
        }
    }
    Err(Errno::EOPNOTSUPP)
}

/// Whether the task may read (`write` false) or change the attribute
/// `name` of `inode`.
fn check_access(task: &Task, inode: &Arc<dyn Inode>, name: &[u8], write: bool) -> Result<(), Errno> {
    let sp = space(name)?;
    let st = inode.stat()?;
    let admin = task.creds.has_cap(CAP_SYS_ADMIN);
    let owner = task.creds.fsuid == st.st_uid || task.creds.has_cap(CAP_FOWNER);
    match sp {
        Space::Trusted if !admin => Err(if write { Errno::EPERM } else { Errno::ENODATA }),
        Space::Security if write && !admin => Err(Errno::EPERM),
        Space::System if write && !owner => Err(Errno::EPERM),
        Space::User => {
            let fmt = st.st_mode & libc::S_IFMT;
            if fmt != libc::S_IFREG && fmt != libc::S_IFDIR {
                return Err(if write { Errno::EPERM } else { Errno::ENODATA });
            }
            perm::check(&task.creds, &st, if write { MAY_WRITE } else { MAY_READ })
        }
        _ => Ok(()),
    }
}

/// Copies `data` out under the getxattr/listxattr size rules.
fn copy_out(task: &Task, addr: u64, size: usize, data: &[u8]) -> SysResult {
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if data.len() > size {
        return Err(Errno::ERANGE);
    }
    task.mm.write(addr, data)?;
    Ok(data.len() as u64)
}

fn get(task: &Task, node: Node, args: &SyscallArgs) -> SysResult {
    let name = read_name(task, args.u64(1))?;
    let Some((inode, _)) = node else {
        space(&name)?;
        return Err(Errno::ENODATA);
    };
    check_access(task, &inode, &name, false)?;
    let value = inode.getxattr(&name)?;
    if value.len() > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    copy_out(task, args.u64(2), args.u64(3) as usize, &value)
}

fn list(task: &Task, node: Node, args: &SyscallArgs) -> SysResult {
    let Some((inode, _)) = node else {
        return Ok(0);
    };
    let raw = inode.listxattr()?;
    // Names a caller may not see are left out, as Linux does for trusted.*.
    let mut out = Vec::with_capacity(raw.len());
    for name in raw.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if name.starts_with(b"trusted.") && !task.creds.has_cap(CAP_SYS_ADMIN) {
            continue;
        }
        out.extend_from_slice(name);
        out.push(0);
    }
    if out.len() > XATTR_LIST_MAX {
        return Err(Errno::E2BIG);
    }
    copy_out(task, args.u64(1), args.u64(2) as usize, &out)
}

fn set(task: &Task, node: Node, args: &SyscallArgs) -> SysResult {
    let name = read_name(task, args.u64(1))?;
    let size = args.u64(3) as usize;
    let flags = args.i32(4);
    if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let value = if size == 0 {
        Vec::new()
    } else {
        task.mm.read_vec(args.u64(2), size)?
    };
    let Some((inode, read_only)) = node else {
        space(&name)?;
        return Err(Errno::EOPNOTSUPP);
    };
    if read_only {
        return Err(Errno::EROFS);
    }
    check_access(task, &inode, &name, true)?;
    inode.setxattr(&name, &value, flags)?;
    Ok(0)
}

fn remove(task: &Task, node: Node, args: &SyscallArgs) -> SysResult {
    let name = read_name(task, args.u64(1))?;
    let Some((inode, read_only)) = node else {
        space(&name)?;
        return Err(Errno::ENODATA);
    };
    if read_only {
        return Err(Errno::EROFS);
    }
    check_access(task, &inode, &name, true)?;
    inode.removexattr(&name)?;
    Ok(0)
}

/// `getxattr(path, name, value, size)`.
pub fn sys_getxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = path_node(task, args.u64(0), true)?;
    get(task, node, args)
}

/// `lgetxattr(path, name, value, size)`.
pub fn sys_lgetxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = path_node(task, args.u64(0), false)?;
    get(task, node, args)
}

/// `fgetxattr(fd, name, value, size)`.
pub fn sys_fgetxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = fd_node(task, args.i32(0))?;
    get(task, node, args)
}

/// `listxattr(path, list, size)`.
pub fn sys_listxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = path_node(task, args.u64(0), true)?;
    list(task, node, args)
}

/// `llistxattr(path, list, size)`.
pub fn sys_llistxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = path_node(task, args.u64(0), false)?;
    list(task, node, args)
}

/// `flistxattr(fd, list, size)`.
pub fn sys_flistxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = fd_node(task, args.i32(0))?;
    list(task, node, args)
}

/// `setxattr` and `lsetxattr(path, name, value, size, flags)`.
pub fn sys_setxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = path_node(task, args.u64(0), args.nr != libc::SYS_lsetxattr as u64)?;
    set(task, node, args)
}

/// `fsetxattr(fd, name, value, size, flags)`.
pub fn sys_fsetxattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = fd_node(task, args.i32(0))?;
    set(task, node, args)
}

/// `removexattr` and `lremovexattr(path, name)`.
pub fn sys_removexattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = path_node(task, args.u64(0), args.nr != libc::SYS_lremovexattr as u64)?;
    remove(task, node, args)
}

/// `fremovexattr(fd, name)`.
pub fn sys_fremovexattr(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let node = fd_node(task, args.i32(0))?;
    remove(task, node, args)
}
