//! Opening, closing and naming files; the fd table; directories.
//!
//! Calls that change the tree resolve their paths as Linux does (so
//! ENOENT, ENOTDIR, EEXIST, EISDIR come out where Linux gives them), then
//! fail with EROFS on read-only mounts (/proc, /sys, the root with
//! `--overlay2 none`). Writable filesystems (the overlay root, shm at
//! /dev/shm) get the change through the `Inode` methods once the
//! permission checks here pass.

use super::stat::{read_path_maybe_empty, target_at, Target};
use super::{SysResult, SyscallArgs};
use crate::fs::inotify;
use crate::kernel::caps;
use crate::kernel::Task;
use crate::vfs::file::{Dirent64Writer, DirentWriter};
use crate::vfs::inode::{is_dir, is_reg, is_symlink};
use crate::vfs::open::{may_create, new_owner};
use crate::vfs::perm::{self, IdKind, MAY_EXEC, MAY_WRITE};
use crate::vfs::{self, DirentOut, FileRef, LastKind, Location, ParentOf};
use std::sync::Arc;
use syscalls::Errno;

/// The kernel's `O_LARGEFILE`, which open always sets on 64-bit.
const O_LARGEFILE: i32 = 0o100000;
/// `CLOSE_RANGE_UNSHARE`.
const CLOSE_RANGE_UNSHARE: u32 = 2;
/// `CLOSE_RANGE_CLOEXEC`.
const CLOSE_RANGE_CLOEXEC: u32 = 4;

fn nofile(task: &Task) -> u64 {
    task.limits.nofile()
}

fn install(task: &Task, file: FileRef, cloexec: bool) -> SysResult {
    task.fds.insert(file, cloexec, 0, nofile(task)).map(|fd| fd as u64)
}

fn do_open(task: &Task, dirfd: i32, path_addr: u64, flags: i32, mode: u32) -> SysResult {
    let path = task.mm.read_path(path_addr)?;
    let start = vfs::start_location(task, dirfd, &path)?;
    let w = task.fs.walker(&task.creds);
    let mode = mode & 0o7777 & !task.fs.umask;
    let file = vfs::open::open_path_mode(&w, &start, &path, flags | O_LARGEFILE, mode)?;
    install(task, file, flags & libc::O_CLOEXEC != 0)
}

/// `open(path, flags, mode)`.
pub fn sys_open(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_open(task, libc::AT_FDCWD, args.u64(0), args.i32(1), args.u32(2))
}

/// `openat(dirfd, path, flags, mode)`.
pub fn sys_openat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_open(task, args.i32(0), args.u64(1), args.i32(2), args.u32(3))
}

/// `RESOLVE_NO_XDEV`.
const RESOLVE_NO_XDEV: u64 = 0x01;
/// `RESOLVE_NO_MAGICLINKS`.
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_NO_SYMLINKS`.
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// `RESOLVE_BENEATH`.
const RESOLVE_BENEATH: u64 = 0x08;
/// `RESOLVE_IN_ROOT`.
const RESOLVE_IN_ROOT: u64 = 0x10;
/// `RESOLVE_CACHED`.
const RESOLVE_CACHED: u64 = 0x20;
/// Flags openat2 accepts (Linux's `VALID_OPEN_FLAGS`).
const VALID_OPEN_FLAGS: u64 = (libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE) as u32 as u64;
/// `sizeof(struct open_how)` of its first version.
const OPEN_HOW_SIZE_VER0: usize = 24;

/// `openat2(dirfd, path, how, size)`: open(2) with a `struct open_how`
/// (flags, mode, resolve) checked strictly and `RESOLVE_*` restrictions on
/// the walk. `RESOLVE_CACHED` resolves normally (EAGAIN where Linux always
/// gives it: with O_CREAT, O_TRUNC or O_TMPFILE).
pub fn sys_openat2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (dirfd, path_addr, how_addr, size) = (args.i32(0), args.u64(1), args.u64(2), args.usize(3));
    if size < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0u8; size];
    task.mm.read(how_addr, &mut raw)?;
    if raw[OPEN_HOW_SIZE_VER0..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(b)
    };
    let (flags, mode, resolve) = (word(0), word(1), word(2));
    if flags & !VALID_OPEN_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as i32;
    let creating = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    if (creating && mode & !0o7777 != 0) || (!creating && mode != 0) {
        return Err(Errno::EINVAL);
    }
    let valid_resolve = RESOLVE_NO_XDEV
        | RESOLVE_NO_MAGICLINKS
        | RESOLVE_NO_SYMLINKS
        | RESOLVE_BENEATH
        | RESOLVE_IN_ROOT
        | RESOLVE_CACHED;
    if resolve & !valid_resolve != 0 || (resolve & RESOLVE_BENEATH != 0 && resolve & RESOLVE_IN_ROOT != 0) {
        return Err(Errno::EINVAL);
    }
    let path_flags = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC;
    if flags & libc::O_PATH != 0 && flags & !path_flags != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & RESOLVE_CACHED != 0 && (flags & (libc::O_TRUNC | libc::O_CREAT) != 0 || creating) {
        return Err(Errno::EAGAIN);
    }
    let how = vfs::Resolve {
        no_xdev: resolve & RESOLVE_NO_XDEV != 0,
        no_magiclinks: resolve & RESOLVE_NO_MAGICLINKS != 0,
        no_symlinks: resolve & RESOLVE_NO_SYMLINKS != 0,
        beneath: resolve & RESOLVE_BENEATH != 0,
        in_root: resolve & RESOLVE_IN_ROOT != 0,
    };
    let path = task.mm.read_path(path_addr)?;
    // The directory dirfd names (or the cwd): the anchor of BENEATH and
    // the root of IN_ROOT.
    let base = if how.beneath || how.in_root {
        vfs::start_location(task, dirfd, b".")?
    } else {
        vfs::start_location(task, dirfd, &path)?
    };
    let root = if how.in_root {
        base.clone()
    } else {
        task.fs.root.clone()
    };
    let w = vfs::Walker {
        vfs: &task.fs.vfs,
        root: &root,
        creds: &task.creds,
    };
    let mode = mode as u32 & 0o7777 & !task.fs.umask;
    let file = vfs::open::open_path_how(&w, &base, &path, flags | O_LARGEFILE, mode, &how)?;
    install(task, file, flags & libc::O_CLOEXEC != 0)
}

/// `creat(path, mode)`: open with O_CREAT|O_WRONLY|O_TRUNC.
pub fn sys_creat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_open(
        task,
        libc::AT_FDCWD,
        args.u64(0),
        libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
        args.u32(1),
    )
}

/// `close(fd)`.
pub fn sys_close(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.remove(args.i32(0))?;
    crate::vfs::locks::on_close(task.tgid, &file, Arc::strong_count(&file) == 1);
    drop(file);
    Ok(0)
}

/// `close_range(first, last, flags)`.
pub fn sys_close_range(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (first, last, flags) = (args.u32(0), args.u32(1), args.u32(2));
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 {
        task.fds = Arc::new(task.fds.fork());
    }
    for file in task.fds.close_range(first, last, flags & CLOSE_RANGE_CLOEXEC != 0) {
        crate::vfs::locks::on_close(task.tgid, &file, Arc::strong_count(&file) == 1);
    }
    Ok(0)
}

/// `dup(fd)`.
pub fn sys_dup(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    install(task, file, false)
}

fn dup_to(task: &Task, old: i32, new: i32, cloexec: bool) -> SysResult {
    let file = task.fds.get(old)?;
    if new < 0 || new as u64 >= nofile(task) {
        return Err(Errno::EBADF);
    }
    let replaced = task.fds.install(new, file, cloexec)?;
    if let Some(old) = &replaced {
        // dup2 over an open fd closes it: record locks go as with close().
        crate::vfs::locks::on_close(task.tgid, old, Arc::strong_count(old) == 1);
    }
    drop(replaced);
    Ok(new as u64)
}

/// `dup2(old, new)`.
pub fn sys_dup2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (old, new) = (args.i32(0), args.i32(1));
    if old == new {
        task.fds.get(old)?;
        return Ok(new as u64);
    }
    dup_to(task, old, new, false)
}

/// `dup3(old, new, flags)`.
pub fn sys_dup3(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (old, new, flags) = (args.i32(0), args.i32(1), args.i32(2));
    if flags & !libc::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    dup_to(task, old, new, flags & libc::O_CLOEXEC != 0)
}

/// `fcntl(fd, cmd, arg)`.
pub fn sys_fcntl(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let fd = args.i32(0);
    let (file, cloexec) = task.fds.get_with_cloexec(fd)?;
    match args.i32(1) {
        cmd @ (libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) => {
            let min = args.i32(2);
            if min < 0 || min as u64 >= nofile(task) {
                return Err(Errno::EINVAL);
            }
            let fd = task.fds.insert(file, cmd == libc::F_DUPFD_CLOEXEC, min, nofile(task))?;
            Ok(fd as u64)
        }
        libc::F_GETFD => Ok(if cloexec { libc::FD_CLOEXEC as u64 } else { 0 }),
        libc::F_SETFD => {
            task.fds.set_cloexec(fd, args.i32(2) & libc::FD_CLOEXEC != 0)?;
            Ok(0)
        }
        libc::F_GETFL => Ok(file.flags() as u32 as u64),
        libc::F_SETFL => {
            if file.is_path_only() {
                return Err(Errno::EBADF);
            }
            file.set_status_flags(args.i32(2));
            Ok(0)
        }
        cmd @ (libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW
        | libc::F_OFD_GETLK) => super::lock::fcntl_lock(task, &file, cmd, args.u64(2)),
        cmd @ (libc::F_GETPIPE_SZ | libc::F_SETPIPE_SZ) => {
            crate::fs::pipe::fcntl_pipe_size(&file, cmd, args.u64(2), task.creds.has_cap(caps::CAP_SYS_RESOURCE))
        }
        cmd @ (crate::fs::memfd::F_ADD_SEALS | crate::fs::memfd::F_GET_SEALS) => {
            crate::fs::memfd::fcntl_seals(&file, cmd, args.u64(2))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `ioctl(fd, cmd, arg)`.
pub fn sys_ioctl(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let fd = args.i32(0);
    let file = task.fds.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    let (cmd, arg) = (args.u32(1), args.u64(2));
    match cmd as libc::Ioctl {
        libc::FIOCLEX => task.fds.set_cloexec(fd, true).map(|_| 0),
        libc::FIONCLEX => task.fds.set_cloexec(fd, false).map(|_| 0),
        libc::FIONBIO => {
            let on: i32 = task.mm.read_obj(arg)?;
            let flags = file.flags();
            let new = if on != 0 {
                flags | libc::O_NONBLOCK
            } else {
                flags & !libc::O_NONBLOCK
            };
            file.set_status_flags(new);
            Ok(0)
        }
        libc::FIONREAD if is_reg(file.stat()?.st_mode) => {
            let size = u64::try_from(file.stat()?.st_size).unwrap_or(0);
            let avail = size.saturating_sub(file.position()).min(i32::MAX as u64) as i32;
            task.mm.write_obj(arg, &avail)?;
            Ok(0)
        }
        _ => match crate::tty::ioctl::dispatch(task, &file, cmd, arg) {
            Some(r) => r,
            None => file.ops().ioctl(&task.mm, cmd, arg),
        },
    }
}

fn check_dir_searchable(task: &Task, loc: &Location) -> Result<(), Errno> {
    let st = loc.inode().stat()?;
    if !is_dir(st.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&task.creds, &st, MAY_EXEC)
}

/// `chdir(path)`.
pub fn sys_chdir(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let path = task.mm.read_path(args.u64(0))?;
    let loc = vfs::lookup_at(task, libc::AT_FDCWD, &path, true)?;
    check_dir_searchable(task, &loc)?;
    task.fs.cwd = loc;
    Ok(0)
}

/// `fchdir(fd)`.
pub fn sys_fchdir(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let loc = file.location().cloned().ok_or(Errno::ENOTDIR)?;
    check_dir_searchable(task, &loc)?;
    task.fs.cwd = loc;
    Ok(0)
}

/// `getcwd(buf, size)`: the length including the NUL.
pub fn sys_getcwd(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let mut path = task.fs.cwd_path();
    path.push(0);
    if args.usize(1) < path.len() {
        return Err(Errno::ERANGE);
    }
    task.mm.write(args.u64(0), &path)?;
    Ok(path.len() as u64)
}

fn do_access(task: &Task, dirfd: i32, path_addr: u64, mode: i32, flags: i32) -> SysResult {
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let empty_ok = flags & libc::AT_EMPTY_PATH != 0;
    let path = read_path_maybe_empty(task, path_addr, false)?;
    let target = target_at(task, dirfd, &path, flags & libc::AT_SYMLINK_NOFOLLOW == 0, empty_ok)?;
    let st = target.stat()?;
    if mode == libc::F_OK {
        return Ok(0);
    }
    let mode = mode as u32;
    if mode & MAY_WRITE != 0 {
        if let Target::Loc(l) = &target {
            let m = st.st_mode;
            if l.mount.read_only() && (is_reg(m) || is_dir(m) || is_symlink(m)) {
                return Err(Errno::EROFS);
            }
        }
    }
    if mode & MAY_EXEC != 0 {
        if let Target::Loc(l) = &target {
            if l.mount.noexec() && is_reg(st.st_mode) {
                return Err(Errno::EACCES);
            }
        }
    }
    let ids = if flags & libc::AT_EACCESS != 0 {
        IdKind::Effective
    } else {
        IdKind::Real
    };
    // R_OK/W_OK/X_OK are the MAY_* bits.
    if perm::permitted(&task.creds, ids, &st, mode) {
        Ok(0)
    } else {
        Err(Errno::EACCES)
    }
}

/// `access(path, mode)`.
pub fn sys_access(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_access(task, libc::AT_FDCWD, args.u64(0), args.i32(1), 0)
}

/// `faccessat(dirfd, path, mode)` (the syscall has no flags).
pub fn sys_faccessat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_access(task, args.i32(0), args.u64(1), args.i32(2), 0)
}

/// `faccessat2(dirfd, path, mode, flags)`.
pub fn sys_faccessat2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_access(task, args.i32(0), args.u64(1), args.i32(2), args.i32(3))
}

fn do_readlink(task: &Task, dirfd: i32, path_addr: u64, buf: u64, size: i32) -> SysResult {
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path_maybe_empty(task, path_addr, false)?;
    let loc = match target_at(task, dirfd, &path, false, true)? {
        Target::Loc(l) => l,
        Target::File(_) => return Err(Errno::ENOENT),
    };
    if !is_symlink(loc.inode().stat()?.st_mode) {
        return Err(if path.is_empty() { Errno::ENOENT } else { Errno::EINVAL });
    }
    let target = loc.inode().readlink()?;
    let n = target.len().min(size as usize);
    task.mm.write(buf, &target[..n])?;
    Ok(n as u64)
}

/// `readlink(path, buf, bufsiz)`.
pub fn sys_readlink(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_readlink(task, libc::AT_FDCWD, args.u64(0), args.u64(1), args.i32(2))
}

/// `readlinkat(dirfd, path, buf, bufsiz)`.
pub fn sys_readlinkat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_readlink(task, args.i32(0), args.u64(1), args.u64(2), args.i32(3))
}

/// Lists entries of `fd` into a guest buffer with `push` formatting records.
fn do_getdents(
    task: &Task,
    args: &SyscallArgs,
    push: &mut dyn FnMut(&DirentOut<'_>) -> bool,
    out: &dyn Fn() -> Vec<u8>,
) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    let mut rejected = false;
    file.readdir(&mut |e| {
        let ok = push(e);
        rejected |= !ok;
        ok
    })?;
    let bytes = out();
    if bytes.is_empty() && rejected {
        return Err(Errno::EINVAL);
    }
    task.mm.write(args.u64(1), &bytes)?;
    Ok(bytes.len() as u64)
}

/// `getdents64(fd, dirp, count)`.
pub fn sys_getdents64(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let w = std::cell::RefCell::new(Dirent64Writer::new(args.u32(2) as usize));
    do_getdents(task, args, &mut |e| w.borrow_mut().push(e), &|| {
        std::mem::take(&mut w.borrow_mut().buf)
    })
}

/// `getdents(fd, dirp, count)` (old `linux_dirent` records).
pub fn sys_getdents(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let w = std::cell::RefCell::new(DirentWriter::new(args.u32(2) as usize));
    do_getdents(task, args, &mut |e| w.borrow_mut().push(e), &|| {
        std::mem::take(&mut w.borrow_mut().buf)
    })
}

/// `statfs(path, buf)`.
pub fn sys_statfs(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let path = task.mm.read_path(args.u64(0))?;
    let loc = vfs::lookup_at(task, libc::AT_FDCWD, &path, true)?;
    let s = crate::fs::statfs_of_mount(&loc.mount)?;
    task.mm.write_obj(args.u64(1), &s)?;
    Ok(0)
}

/// `fstatfs(fd, buf)`.
pub fn sys_fstatfs(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let s = task.fds.get(args.i32(0))?.statfs()?;
    task.mm.write_obj(args.u64(1), &s)?;
    Ok(0)
}

// ---- Calls that change the tree: resolved and checked, then EROFS on a
// read-only mount or the filesystem's own operation. ----

fn parent_of(task: &Task, dirfd: i32, path: &[u8]) -> Result<ParentOf, Errno> {
    let start = vfs::start_location(task, dirfd, path)?;
    task.fs.walker(&task.creds).resolve_parent(&start, path)
}

/// Creating `path` (mkdir, mknod, symlink): EEXIST when the name exists,
/// EROFS or EACCES when it may not be created, else where to create it.
fn create_at(task: &Task, dirfd: i32, path: &[u8]) -> Result<ParentOf, Errno> {
    let p = parent_of(task, dirfd, path)?;
    if p.kind != LastKind::Normal {
        return Err(Errno::EEXIST);
    }
    if task.fs.walker(&task.creds).lookup_in(&p.parent, &p.last)?.is_some() {
        return Err(Errno::EEXIST);
    }
    may_create(&task.creds, &p.parent)?;
    Ok(p)
}

fn do_mkdir(task: &Task, dirfd: i32, path_addr: u64, mode: u32) -> SysResult {
    let path = task.mm.read_path(path_addr)?;
    let p = create_at(task, dirfd, &path)?;
    let owner = new_owner(&task.creds, &p.parent)?;
    let mode = mode & 0o1777 & !task.fs.umask;
    p.parent.inode().mkdir(&p.last, mode, owner)?;
    inotify::on_create(&p.parent, &p.last, true);
    Ok(0)
}

/// `mkdir(path, mode)`.
pub fn sys_mkdir(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_mkdir(task, libc::AT_FDCWD, args.u64(0), args.u32(1))
}

/// `mkdirat(dirfd, path, mode)`.
pub fn sys_mkdirat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_mkdir(task, args.i32(0), args.u64(1), args.u32(2))
}

fn do_mknod(task: &Task, dirfd: i32, path_addr: u64, mode: u32, dev: u32) -> SysResult {
    let path = task.mm.read_path(path_addr)?;
    let fmt = mode & libc::S_IFMT;
    match fmt {
        0 | libc::S_IFREG | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK => {}
        libc::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let p = create_at(task, dirfd, &path)?;
    let owner = new_owner(&task.creds, &p.parent)?;
    let perm = mode & 0o7777 & !task.fs.umask;
    if fmt == libc::S_IFCHR || fmt == libc::S_IFBLK {
        // The kernel's 32-bit encoding agrees with glibc's in those bits.
        let (ma, mi) = (vfs::inode::major(u64::from(dev)), vfs::inode::minor(u64::from(dev)));
        let rdev = vfs::inode::makedev(ma, mi);
        // A whiteout (character device 0:0) needs no privilege, as in Linux.
        let whiteout = fmt == libc::S_IFCHR && rdev == 0;
        if !whiteout && !task.creds.has_cap(caps::CAP_MKNOD) {
            return Err(Errno::EPERM);
        }
        p.parent.inode().mknod_device(&p.last, fmt | perm, owner, rdev)?;
    } else if fmt == libc::S_IFIFO || fmt == libc::S_IFSOCK {
        p.parent.inode().mknod(&p.last, fmt | perm, owner)?;
    } else {
        p.parent.inode().create(&p.last, perm, owner)?;
    }
    inotify::on_create(&p.parent, &p.last, false);
    Ok(0)
}

/// `mknod(path, mode, dev)`.
pub fn sys_mknod(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_mknod(task, libc::AT_FDCWD, args.u64(0), args.u32(1), args.u32(2))
}

/// `mknodat(dirfd, path, mode, dev)`.
pub fn sys_mknodat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_mknod(task, args.i32(0), args.u64(1), args.u32(2), args.u32(3))
}

fn do_symlink(task: &Task, target_addr: u64, dirfd: i32, path_addr: u64) -> SysResult {
    let target = task.mm.read_path(target_addr)?;
    let path = task.mm.read_path(path_addr)?;
    let p = create_at(task, dirfd, &path)?;
    let owner = new_owner(&task.creds, &p.parent)?;
    p.parent.inode().symlink(&p.last, &target, owner)?;
    inotify::on_create(&p.parent, &p.last, false);
    Ok(0)
}

/// `symlink(target, linkpath)`.
pub fn sys_symlink(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_symlink(task, args.u64(0), libc::AT_FDCWD, args.u64(1))
}

/// `symlinkat(target, newdirfd, linkpath)`.
pub fn sys_symlinkat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_symlink(task, args.u64(0), args.i32(1), args.u64(2))
}

fn do_link(task: &Task, olddirfd: i32, old_addr: u64, newdirfd: i32, new_addr: u64, flags: i32) -> SysResult {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = read_path_maybe_empty(task, old_addr, false)?;
    let new = task.mm.read_path(new_addr)?;
    let target = target_at(
        task,
        olddirfd,
        &old,
        flags & libc::AT_SYMLINK_FOLLOW != 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    let Target::Loc(old_loc) = target else {
        return Err(Errno::ENOENT);
    };
    if is_dir(old_loc.inode().stat()?.st_mode) {
        return Err(Errno::EPERM);
    }
    let p = parent_of(task, newdirfd, &new)?;
    if p.kind != LastKind::Normal {
        return Err(Errno::EEXIST);
    }
    if task.fs.walker(&task.creds).lookup_in(&p.parent, &p.last)?.is_some() {
        return Err(Errno::EEXIST);
    }
    if !Arc::ptr_eq(&p.parent.mount, &old_loc.mount) {
        return Err(Errno::EXDEV);
    }
    may_create(&task.creds, &p.parent)?;
    p.parent.inode().link(&p.last, old_loc.inode())?;
    inotify::on_link(&p.parent, &p.last, old_loc.inode().as_ref());
    Ok(0)
}

/// `link(old, new)`.
pub fn sys_link(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_link(task, libc::AT_FDCWD, args.u64(0), libc::AT_FDCWD, args.u64(1), 0)
}

/// `linkat(olddirfd, old, newdirfd, new, flags)`.
pub fn sys_linkat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_link(task, args.i32(0), args.u64(1), args.i32(2), args.u64(3), args.i32(4))
}

/// Whether the task may remove (or rename away) `victim` from `dir`:
/// EROFS, write and search permission on `dir`, and in a sticky
/// directory ownership of the victim or the directory (or root).
fn may_delete(task: &Task, dir: &Location, victim: &Location) -> Result<(), Errno> {
    if dir.mount.read_only() {
        return Err(Errno::EROFS);
    }
    if Arc::ptr_eq(&victim.dentry, &victim.mount.root) {
        return Err(Errno::EBUSY);
    }
    let dst = dir.inode().stat()?;
    perm::check(&task.creds, &dst, MAY_WRITE | MAY_EXEC)?;
    let fsuid = task.creds.fsuid;
    if dst.st_mode & libc::S_ISVTX != 0
        && !task.creds.has_cap(caps::CAP_FOWNER)
        && fsuid != dst.st_uid
        && fsuid != victim.inode().stat()?.st_uid
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

fn do_unlink(task: &Task, dirfd: i32, path_addr: u64) -> SysResult {
    let path = task.mm.read_path(path_addr)?;
    let p = parent_of(task, dirfd, &path)?;
    if p.kind != LastKind::Normal {
        return Err(Errno::EISDIR);
    }
    if p.parent.mount.read_only() {
        return Err(Errno::EROFS);
    }
    let found = task
        .fs
        .walker(&task.creds)
        .lookup_in(&p.parent, &p.last)?
        .ok_or(Errno::ENOENT)?;
    if is_dir(found.inode().stat()?.st_mode) {
        return Err(Errno::EISDIR);
    }
    if p.trailing_slash {
        return Err(Errno::ENOTDIR);
    }
    may_delete(task, &p.parent, &found)?;
    let victim = inotify::Victim::of(found.inode().as_ref());
    p.parent.inode().unlink(&p.last)?;
    inotify::on_delete(&p.parent, &p.last, victim);
    Ok(0)
}

fn do_rmdir(task: &Task, dirfd: i32, path_addr: u64) -> SysResult {
    let path = task.mm.read_path(path_addr)?;
    let p = parent_of(task, dirfd, &path)?;
    match p.kind {
        LastKind::Dot => return Err(Errno::EINVAL),
        LastKind::DotDot => return Err(Errno::ENOTEMPTY),
        LastKind::Root => return Err(Errno::EBUSY),
        LastKind::Normal => {}
    }
    if p.parent.mount.read_only() {
        return Err(Errno::EROFS);
    }
    let found = task
        .fs
        .walker(&task.creds)
        .lookup_in(&p.parent, &p.last)?
        .ok_or(Errno::ENOENT)?;
    if !is_dir(found.inode().stat()?.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    may_delete(task, &p.parent, &found)?;
    let victim = inotify::Victim::of(found.inode().as_ref());
    p.parent.inode().rmdir(&p.last)?;
    inotify::on_delete(&p.parent, &p.last, victim);
    Ok(0)
}

/// `unlink(path)`.
pub fn sys_unlink(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_unlink(task, libc::AT_FDCWD, args.u64(0))
}

/// `unlinkat(dirfd, path, flags)`.
pub fn sys_unlinkat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let flags = args.i32(2);
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & libc::AT_REMOVEDIR != 0 {
        do_rmdir(task, args.i32(0), args.u64(1))
    } else {
        do_unlink(task, args.i32(0), args.u64(1))
    }
}

/// `rmdir(path)`.
pub fn sys_rmdir(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_rmdir(task, libc::AT_FDCWD, args.u64(0))
}

fn do_rename(task: &Task, olddirfd: i32, old_addr: u64, newdirfd: i32, new_addr: u64, flags: u32) -> SysResult {
    const NOREPLACE: u32 = 1;
    const EXCHANGE: u32 = 2;
    const WHITEOUT: u32 = 4;
    if flags & !(NOREPLACE | EXCHANGE | WHITEOUT) != 0 || (flags & NOREPLACE != 0 && flags & EXCHANGE != 0) {
        return Err(Errno::EINVAL);
    }
    let old = task.mm.read_path(old_addr)?;
    let new = task.mm.read_path(new_addr)?;
    let po = parent_of(task, olddirfd, &old)?;
    let pn = parent_of(task, newdirfd, &new)?;
    if po.kind != LastKind::Normal {
        return Err(Errno::EBUSY);
    }
    if pn.kind != LastKind::Normal {
        return Err(if flags & NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    if !Arc::ptr_eq(&po.parent.mount, &pn.parent.mount) {
        return Err(Errno::EXDEV);
    }
    if po.parent.mount.read_only() {
        return Err(Errno::EROFS);
    }
    let w = task.fs.walker(&task.creds);
    let src = w.lookup_in(&po.parent, &po.last)?.ok_or(Errno::ENOENT)?;
    let dst = w.lookup_in(&pn.parent, &pn.last)?;
    if flags & NOREPLACE != 0 && dst.is_some() {
        return Err(Errno::EEXIST);
    }
    if flags & WHITEOUT != 0 {
        return Err(Errno::EINVAL);
    }
    let sst = src.inode().stat()?;
    if (po.trailing_slash || pn.trailing_slash) && !is_dir(sst.st_mode) {
        return Err(Errno::ENOTDIR);
    }
    may_delete(task, &po.parent, &src)?;
    match &dst {
        Some(d) => may_delete(task, &pn.parent, d)?,
        None => may_create(&task.creds, &pn.parent)?,
    }
    if is_dir(sst.st_mode) {
        // A directory cannot move into its own subtree.
        let mut d = Some(pn.parent.dentry.clone());
        while let Some(cur) = d {
            let st = cur.inode.stat()?;
            if st.st_ino == sst.st_ino && st.st_dev == sst.st_dev {
                return Err(Errno::EINVAL);
            }
            d = cur.parent();
        }
    }
    let moved = inotify::Victim::of(src.inode().as_ref());
    let replaced = dst.as_ref().and_then(|d| inotify::Victim::of(d.inode().as_ref()));
    po.parent.inode().rename(&po.last, pn.parent.inode(), &pn.last, flags)?;
    if flags & EXCHANGE != 0 {
        inotify::on_rename(&po.parent, &po.last, &pn.parent, &pn.last, moved, None);
        inotify::on_rename(&pn.parent, &pn.last, &po.parent, &po.last, replaced, None);
    } else {
        inotify::on_rename(&po.parent, &po.last, &pn.parent, &pn.last, moved, replaced);
    }
    Ok(0)
}

/// `rename(old, new)`.
pub fn sys_rename(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_rename(task, libc::AT_FDCWD, args.u64(0), libc::AT_FDCWD, args.u64(1), 0)
}

/// `renameat(olddirfd, old, newdirfd, new)`.
pub fn sys_renameat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_rename(task, args.i32(0), args.u64(1), args.i32(2), args.u64(3), 0)
}

/// `renameat2(olddirfd, old, newdirfd, new, flags)`.
pub fn sys_renameat2(task: &mut Task, args: &SyscallArgs) -> SysResult {
    do_rename(task, args.i32(0), args.u64(1), args.i32(2), args.u64(3), args.u32(4))
}

fn path_target(task: &Task, dirfd: i32, path_addr: u64, flags: i32, allowed: i32) -> Result<Target, Errno> {
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path_maybe_empty(task, path_addr, false)?;
    target_at(
        task,
        dirfd,
        &path,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )
}

fn fd_target(task: &Task, fd: i32) -> Result<Target, Errno> {
    let file = task.fds.get(fd)?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(match file.location() {
        Some(l) => Target::Loc(l.clone()),
        None => Target::File(file),
    })
}

/// Applies an attribute change to a resolved target: EROFS on read-only
/// mounts; chmod and timestamps need ownership (or CAP_FOWNER), chown needs
/// CAP_CHOWN (or the owner giving the file to one of their own groups).
/// chmod drops set-group-ID outside the file's group without CAP_FSETID;
/// chown of a non-directory drops set-user-ID and set-group-ID.
fn setattr(task: &Task, target: &Target, mut attr: crate::vfs::inode::SetAttr) -> SysResult {
    let Target::Loc(l) = target else {
        return Err(Errno::EPERM);
    };
    if l.mount.read_only() {
        return Err(Errno::EROFS);
    }
    let inode = l.dentry.inode.clone();
    let st = inode.stat()?;
    let owner = task.creds.fsuid == st.st_uid || task.creds.has_cap(caps::CAP_FOWNER);
    if (attr.mode.is_some() || attr.atime.is_some() || attr.mtime.is_some()) && !owner {
        return Err(Errno::EPERM);
    }
    if !task.creds.has_cap(caps::CAP_CHOWN) {
        if attr.uid.is_some_and(|u| u != st.st_uid) {
            return Err(Errno::EPERM);
        }
        if attr
            .gid
            .is_some_and(|g| g != st.st_gid && (!owner || !task.creds.in_group(g)))
        {
            return Err(Errno::EPERM);
        }
    }
    let keeps_sgid = task.creds.in_group(st.st_gid) || task.creds.has_cap(caps::CAP_FSETID);
    if let Some(mode) = attr.mode {
        if !keeps_sgid {
            attr.mode = Some(mode & !libc::S_ISGID);
        }
    } else if (attr.uid.is_some() || attr.gid.is_some()) && !is_dir(st.st_mode) {
        let old = st.st_mode & 0o7777;
        let mut mode = old & !libc::S_ISUID;
        if old & libc::S_ISGID != 0 && (old & libc::S_IXGRP != 0 || !keeps_sgid) {
            mode &= !libc::S_ISGID;
        }
        if mode != old {
            attr.mode = Some(mode);
        }
    }
    inode.setattr(&attr)?;
    inotify::on_setattr(l, &attr);
    Ok(0)
}

fn chmod_attr(mode: u32) -> crate::vfs::inode::SetAttr {
    crate::vfs::inode::SetAttr {
        mode: Some(mode & 0o7777),
        ..Default::default()
    }
}

fn chown_attr(uid: u32, gid: u32) -> crate::vfs::inode::SetAttr {
    crate::vfs::inode::SetAttr {
        uid: (uid != u32::MAX).then_some(uid),
        gid: (gid != u32::MAX).then_some(gid),
        ..Default::default()
    }
}

/// `chmod(path, mode)`.
pub fn sys_chmod(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let target = path_target(task, libc::AT_FDCWD, args.u64(0), 0, 0)?;
    setattr(task, &target, chmod_attr(args.u32(1)))
}

/// `fchmod(fd, mode)`.
pub fn sys_fchmod(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let target = fd_target(task, args.i32(0))?;
    setattr(task, &target, chmod_attr(args.u32(1)))
}

/// `fchmodat(dirfd, path, mode)`.
pub fn sys_fchmodat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let target = path_target(task, args.i32(0), args.u64(1), 0, 0)?;
    setattr(task, &target, chmod_attr(args.u32(2)))
}

/// `chown(path, uid, gid)`.
pub fn sys_chown(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let target = path_target(task, libc::AT_FDCWD, args.u64(0), 0, 0)?;
    setattr(task, &target, chown_attr(args.u32(1), args.u32(2)))
}

/// `fchown(fd, uid, gid)`.
pub fn sys_fchown(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let target = fd_target(task, args.i32(0))?;
    setattr(task, &target, chown_attr(args.u32(1), args.u32(2)))
}

/// `lchown(path, uid, gid)`.
pub fn sys_lchown(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let nofollow = libc::AT_SYMLINK_NOFOLLOW;
    let target = path_target(task, libc::AT_FDCWD, args.u64(0), nofollow, nofollow)?;
    setattr(task, &target, chown_attr(args.u32(1), args.u32(2)))
}

/// `fchownat(dirfd, path, uid, gid, flags)`.
pub fn sys_fchownat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let allowed = libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH;
    let target = path_target(task, args.i32(0), args.u64(1), args.i32(4), allowed)?;
    setattr(task, &target, chown_attr(args.u32(2), args.u32(3)))
}

/// `truncate(path, length)`.
pub fn sys_truncate(task: &mut Task, args: &SyscallArgs) -> SysResult {
    if args.i64(1) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = task.mm.read_path(args.u64(0))?;
    let loc = vfs::lookup_at(task, libc::AT_FDCWD, &path, true)?;
    let st = loc.inode().stat()?;
    if is_dir(st.st_mode) {
        return Err(Errno::EISDIR);
    }
    if !is_reg(st.st_mode) {
        return Err(Errno::EINVAL);
    }
    if loc.mount.read_only() {
        return Err(Errno::EROFS);
    }
    perm::check(&task.creds, &st, MAY_WRITE)?;
    loc.inode().truncate(args.u64(1))?;
    inotify::on_node(&loc, inotify::IN_MODIFY);
    Ok(0)
}

/// `ftruncate(fd, length)`.
pub fn sys_ftruncate(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    if args.i64(1) < 0 {
        return Err(Errno::EINVAL);
    }
    let writable = matches!(file.flags() & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR);
    if !writable || !is_reg(file.stat()?.st_mode) {
        return Err(Errno::EINVAL);
    }
    match file.location() {
        Some(l) if l.mount.read_only() => Err(Errno::EROFS),
        Some(l) => {
            l.inode().truncate(args.u64(1))?;
            inotify::on_node(l, inotify::IN_MODIFY);
            Ok(0)
        }
        None => crate::fs::memfd::ftruncate_anon(&file, args.u64(1)),
    }
}

/// `utimensat(dirfd, path, times, flags)` (NULL path: the fd itself).
pub fn sys_utimensat(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (dirfd, path_addr, times, flags) = (args.i32(0), args.u64(1), args.u64(2), args.i32(3));
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut both_omit = false;
    let mut now = syscalls::structs::Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let mut attr = crate::vfs::inode::SetAttr {
        atime: Some((now.tv_sec, now.tv_nsec)),
        mtime: Some((now.tv_sec, now.tv_nsec)),
        ..Default::default()
    };
    if times != 0 {
        let ts: [i64; 4] = task.mm.read_obj(times)?;
        for nsec in [ts[1], ts[3]] {
            if nsec != libc::UTIME_NOW && nsec != libc::UTIME_OMIT && !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
        }
        both_omit = ts[1] == libc::UTIME_OMIT && ts[3] == libc::UTIME_OMIT;
        let pick = |sec: i64, nsec: i64| match nsec {
            libc::UTIME_OMIT => None,
            libc::UTIME_NOW => Some((now.tv_sec, now.tv_nsec)),
            _ => Some((sec, nsec)),
        };
        attr.atime = pick(ts[0], ts[1]);
        attr.mtime = pick(ts[2], ts[3]);
    }
    let target = if path_addr == 0 {
        if dirfd == libc::AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        fd_target(task, dirfd)?
    } else {
        path_target(task, dirfd, path_addr, flags, flags)?
    };
    if both_omit {
        return Ok(0);
    }
    setattr(task, &target, attr)
}
