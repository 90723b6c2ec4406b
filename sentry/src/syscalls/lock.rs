//! `flock(2)` and the record-locking `fcntl` commands (`F_SETLK`,
//! `F_SETLKW`, `F_GETLK` and their `F_OFD_*` forms): argument decoding and
//! the `struct flock` conversions; the lock table is `vfs::locks`.

use super::{SysResult, SyscallArgs};
use crate::kernel::Task;
use crate::vfs::locks::{self, desc_id, DescWeak, FileKey, FlockOp, Owner, Request, OFFSET_MAX};
use crate::vfs::FileRef;
use std::any::Any;
use std::sync::Arc;
use syscalls::Errno;

/// Size of the guest's `struct flock` (x86-64).
const FLOCK_SIZE: usize = 32;

fn key_of(file: &FileRef) -> Result<FileKey, Errno> {
    let st = file.stat()?;
    Ok((st.st_dev, st.st_ino))
}

fn weak_of(file: &FileRef) -> DescWeak {
    let any: Arc<dyn Any + Send + Sync> = file.clone();
    Arc::downgrade(&any)
}

/// `flock(fd, op)`.
pub fn sys_flock(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let file = task.fds.get(args.i32(0))?;
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    let op = args.i32(1);
    let nonblock = op & libc::LOCK_NB != 0;
    let op = match op & !libc::LOCK_NB {
        libc::LOCK_SH => FlockOp::Shared,
        libc::LOCK_EX => FlockOp::Exclusive,
        libc::LOCK_UN => FlockOp::Unlock,
        _ => return Err(Errno::EINVAL),
    };
    let key = key_of(&file)?;
    locks::flock(key, desc_id(&file), weak_of(&file), op, nonblock)?;
    Ok(0)
}

/// The decoded guest `struct flock`.
struct Flock {
    l_type: i16,
    l_whence: i16,
    l_start: i64,
    l_len: i64,
    l_pid: i32,
}

impl Flock {
    fn decode(b: &[u8; FLOCK_SIZE]) -> Flock {
        let i16_at = |o: usize| i16::from_ne_bytes([b[o], b[o + 1]]);
        let i64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            i64::from_ne_bytes(a)
        };
        let mut p = [0u8; 4];
        p.copy_from_slice(&b[24..28]);
        Flock {
            l_type: i16_at(0),
            l_whence: i16_at(2),
            l_start: i64_at(8),
            l_len: i64_at(16),
            l_pid: i32::from_ne_bytes(p),
        }
    }

    fn encode(&self) -> [u8; FLOCK_SIZE] {
        let mut b = [0u8; FLOCK_SIZE];
        b[0..2].copy_from_slice(&self.l_type.to_ne_bytes());
        b[2..4].copy_from_slice(&self.l_whence.to_ne_bytes());
        b[8..16].copy_from_slice(&self.l_start.to_ne_bytes());
        b[16..24].copy_from_slice(&self.l_len.to_ne_bytes());
        b[24..28].copy_from_slice(&self.l_pid.to_ne_bytes());
        b
    }

    /// The absolute byte range `start..=end` it names (Linux's
    /// `flock_to_posix_lock`).
    fn range(&self, file: &FileRef) -> Result<(i64, i64), Errno> {
        let base = match i32::from(self.l_whence) {
            libc::SEEK_SET => 0,
            libc::SEEK_CUR => i64::try_from(file.position()).map_err(|_| Errno::EOVERFLOW)?,
            libc::SEEK_END => file.stat()?.st_size,
            _ => return Err(Errno::EINVAL),
        };
        let mut start = base.checked_add(self.l_start).ok_or(Errno::EOVERFLOW)?;
        let end;
        if self.l_len > 0 {
            end = start.checked_add(self.l_len - 1).ok_or(Errno::EOVERFLOW)?;
        } else if self.l_len < 0 {
            end = start.checked_sub(1).ok_or(Errno::EINVAL)?;
            start = start.checked_add(self.l_len).ok_or(Errno::EINVAL)?;
        } else {
            end = OFFSET_MAX;
        }
        if start < 0 {
            return Err(Errno::EINVAL);
        }
        Ok((start, end))
    }
}

/// The fcntl record-lock commands, routed here from `sys_fcntl`.
pub fn fcntl_lock(task: &mut Task, file: &FileRef, cmd: i32, arg: u64) -> SysResult {
    if file.is_path_only() {
        return Err(Errno::EBADF);
    }
    let ofd = matches!(cmd, libc::F_OFD_SETLK | libc::F_OFD_SETLKW | libc::F_OFD_GETLK);
    let mut raw = [0u8; FLOCK_SIZE];
    task.mm.read(arg, &mut raw)?;
    let mut fl = Flock::decode(&raw);
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let owner = if ofd {
        Owner::Description(desc_id(file))
    } else {
        Owner::Process(task.tgid)
    };
    let kind = match i32::from(fl.l_type) {
        libc::F_RDLCK => Some(false),
        libc::F_WRLCK => Some(true),
        libc::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    let (start, end) = fl.range(file)?;
    let key = key_of(file)?;
    if matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK) {
        let Some(write) = kind else { return Err(Errno::EINVAL) };
        match locks::test_record(key, owner, start, end, write) {
            None => fl.l_type = libc::F_UNLCK as i16,
            Some(l) => {
                fl.l_type = if l.write { libc::F_WRLCK } else { libc::F_RDLCK } as i16;
                fl.l_whence = libc::SEEK_SET as i16;
                fl.l_start = l.start;
                fl.l_len = if l.end == OFFSET_MAX { 0 } else { l.end - l.start + 1 };
                fl.l_pid = match l.owner {
                    Owner::Process(pid) => pid,
                    Owner::Description(_) => -1,
                };
            }
        }
        task.mm.write(arg, &fl.encode())?;
        return Ok(0);
    }
    let acc = file.flags() & libc::O_ACCMODE;
    match kind {
        Some(false) if acc == libc::O_WRONLY || acc == 3 => return Err(Errno::EBADF),
        Some(true) if acc == libc::O_RDONLY || acc == 3 => return Err(Errno::EBADF),
        _ => {}
    }
    let wait = matches!(cmd, libc::F_SETLKW | libc::F_OFD_SETLKW);
    let alive = ofd.then(|| weak_of(file));
    locks::set_record(
        key,
        Request {
            owner,
            start,
            end,
            kind,
        },
        alive,
        wait,
        task.tid,
    )?;
    Ok(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn struct_flock_round_trips_at_linux_offsets() {
        let fl = Flock {
            l_type: 1,
            l_whence: 2,
            l_start: -5,
            l_len: 77,
            l_pid: 42,
        };
        let b = fl.encode();
        // SAFETY: libc::flock is plain old data and `b` is exactly its size.
        let native: libc::flock = unsafe { std::ptr::read_unaligned(b.as_ptr().cast()) };
        assert_eq!(std::mem::size_of::<libc::flock>(), FLOCK_SIZE);
        assert_eq!(
            (
                native.l_type,
                native.l_whence,
                native.l_start,
                native.l_len,
                native.l_pid
            ),
            (1, 2, -5, 77, 42)
        );
        let back = Flock::decode(&b);
        assert_eq!((back.l_type, back.l_start, back.l_pid), (1, -5, 42));
    }
}
