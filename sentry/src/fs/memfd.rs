//! memfd: the anonymous memory files of memfd_create(2).
//!
//! Each guest memfd is a host memfd the sentry creates with the same
//! sealing flags, so the host kernel keeps the bytes, enforces the seals
//! on write/truncate/mmap, and a file-backed mmap can donate the very same
//! fd into the stub ([`FileOps::host_fd`]).

use super::hostio::retry;
use crate::vfs::{FileDescription, FileOps};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use syscalls::structs::{Stat, Statfs};
use syscalls::{Errno, Pod};

/// `MFD_CLOEXEC`.
pub const MFD_CLOEXEC: u32 = 0x1;
/// `MFD_ALLOW_SEALING`.
pub const MFD_ALLOW_SEALING: u32 = 0x2;
/// `MFD_HUGETLB` (refused: no hugetlbfs here).
pub const MFD_HUGETLB: u32 = 0x4;
/// `MFD_NOEXEC_SEAL`.
pub const MFD_NOEXEC_SEAL: u32 = 0x8;
/// `MFD_EXEC`.
pub const MFD_EXEC: u32 = 0x10;
/// The longest name memfd_create accepts (NAME_MAX minus "memfd:").
pub const MFD_NAME_MAX: usize = 249;

/// `F_ADD_SEALS`.
pub const F_ADD_SEALS: i32 = 1033;
/// `F_GET_SEALS`.
pub const F_GET_SEALS: i32 = 1034;
/// Every seal Linux knows (SEAL, SHRINK, GROW, WRITE, FUTURE_WRITE, EXEC).
const ALL_SEALS: u64 = 0x3f;

/// The [`FileOps`] of a memfd.
pub struct MemfdFile {
    fd: OwnedFd,
    /// The name given to memfd_create (without the "memfd:" prefix).
    name: Vec<u8>,
    /// The creator's effective ids, shown by fstat.
    owner: (u32, u32),
}

/// Checks memfd_create's flags and name the way Linux does.
pub fn validate(name: &[u8], flags: u32) -> Result<(), Errno> {
    let known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
    if flags & !known != 0 || flags & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_EXEC != 0 && flags & MFD_NOEXEC_SEAL != 0 {
        return Err(Errno::EINVAL);
    }
    if name.len() > MFD_NAME_MAX {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl MemfdFile {
    /// Creates the host memfd for a guest memfd_create(`name`, `flags`).
    pub fn create(name: &[u8], flags: u32, owner: (u32, u32)) -> Result<MemfdFile, Errno> {
        validate(name, flags)?;
        let host_flags = libc::MFD_CLOEXEC | (flags & (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC));
        // SAFETY: the name is a NUL-terminated literal; memfd_create only reads it.
        let fd = unsafe { libc::memfd_create(c"rvisor-memfd".as_ptr(), host_flags) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` was just returned by memfd_create and is owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(MemfdFile {
            fd,
            name: name.to_vec(),
            owner,
        })
    }

    /// ftruncate: the host enforces F_SEAL_SHRINK/GROW (EPERM).
    pub fn truncate(&self, len: u64) -> Result<(), Errno> {
        let len = i64::try_from(len).map_err(|_| Errno::EINVAL)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: ftruncate on our own memfd; no memory is passed.
        retry(|| unsafe { libc::ftruncate(fd, len) } as isize).map(|_| ())
    }

    /// F_GET_SEALS.
    pub fn seals(&self) -> Result<u64, Errno> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: fcntl F_GET_SEALS on our own fd takes no pointer.
        retry(|| unsafe { libc::fcntl(fd, F_GET_SEALS) } as isize).map(|s| s as u64)
    }

    /// F_ADD_SEALS: EPERM when sealing is not allowed (or F_SEAL_SEAL is
    /// set), EBUSY for F_SEAL_WRITE while writable mappings exist.
    pub fn add_seals(&self, seals: u64) -> Result<(), Errno> {
        if seals & !ALL_SEALS != 0 {
            return Err(Errno::EINVAL);
        }
        let fd = self.fd.as_raw_fd();
        // SAFETY: fcntl F_ADD_SEALS on our own fd takes an int, no pointer.
        retry(|| unsafe { libc::fcntl(fd, F_ADD_SEALS, seals as libc::c_int) } as isize).map(|_| ())
    }
}

impl FileOps for MemfdFile {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = Stat::zeroed();
        // SAFETY: fstat writes one stat into `st`, which we own.
        if unsafe { libc::fstat(self.fd.as_raw_fd(), &mut st) } < 0 {
            return Err(Errno::last());
        }
        st.st_uid = self.owner.0;
        st.st_gid = self.owner.1;
        Ok(st)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn read(&self, buf: &mut [u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let off = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: pread writes at most buf.len() bytes into `buf`.
        retry(|| unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) })
    }

    fn write(&self, buf: &[u8], offset: u64, _nonblock: bool) -> Result<usize, Errno> {
        let off = i64::try_from(offset).map_err(|_| Errno::EFBIG)?;
        let fd = self.fd.as_raw_fd();
        // SAFETY: pwrite reads at most buf.len() bytes from `buf`.
        retry(|| unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) })
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn host_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }

    fn name(&self) -> Vec<u8> {
        let mut n = b"/memfd:".to_vec();
        n.extend_from_slice(&self.name);
        n.extend_from_slice(b" (deleted)");
        n
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(super::synthetic_statfs(super::TMPFS_MAGIC))
    }
}

/// The memfd behind a file description, if it is one.
pub fn memfd_of(file: &FileDescription) -> Option<&MemfdFile> {
    file.ops().as_any().and_then(|a| a.downcast_ref::<MemfdFile>())
}

/// `fcntl(F_ADD_SEALS / F_GET_SEALS)`: EINVAL for files that are not memfds.
pub fn fcntl_seals(file: &FileDescription, cmd: i32, arg: u64) -> Result<u64, Errno> {
    let m = memfd_of(file).ok_or(Errno::EINVAL)?;
    match cmd {
        F_GET_SEALS => m.seals(),
        F_ADD_SEALS => {
            if file.flags() & libc::O_ACCMODE == libc::O_RDONLY {
                return Err(Errno::EPERM);
            }
            m.add_seals(arg as u32 as u64).map(|_| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// ftruncate of a file without a mount: memfds truncate, others get EPERM.
pub fn ftruncate_anon(file: &FileDescription, len: u64) -> Result<u64, Errno> {
    memfd_of(file).ok_or(Errno::EPERM)?.truncate(len).map(|_| 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_validated() {
        assert_eq!(validate(b"x", MFD_HUGETLB).unwrap_err(), Errno::EINVAL);
        assert_eq!(validate(b"x", 0x100).unwrap_err(), Errno::EINVAL);
        assert_eq!(validate(b"x", MFD_EXEC | MFD_NOEXEC_SEAL).unwrap_err(), Errno::EINVAL);
        assert_eq!(validate(&[b'a'; 250], 0).unwrap_err(), Errno::EINVAL);
        assert!(validate(&[b'a'; 249], MFD_CLOEXEC | MFD_ALLOW_SEALING).is_ok());
    }

    #[test]
    fn read_write_truncate_and_name() {
        let m = MemfdFile::create(b"t", 0, (1, 2)).unwrap();
        assert_eq!(m.write(b"hello", 0, false).unwrap(), 5);
        let mut buf = [0u8; 8];
        assert_eq!(m.read(&mut buf, 1, false).unwrap(), 4);
        assert_eq!(&buf[..4], b"ello");
        m.truncate(2).unwrap();
        let st = m.stat().unwrap();
        assert_eq!((st.st_size, st.st_uid, st.st_gid), (2, 1, 2));
        assert_eq!(m.name(), b"/memfd:t (deleted)".to_vec());
    }

    #[test]
    fn seals_need_allow_sealing_and_are_enforced() {
        let plain = MemfdFile::create(b"p", 0, (0, 0)).unwrap();
        assert_eq!(plain.seals().unwrap(), libc::F_SEAL_SEAL as u64);
        assert_eq!(plain.add_seals(libc::F_SEAL_GROW as u64).unwrap_err(), Errno::EPERM);
        let m = MemfdFile::create(b"s", MFD_ALLOW_SEALING, (0, 0)).unwrap();
        assert_eq!(m.seals().unwrap(), 0);
        m.write(b"abcd", 0, false).unwrap();
        m.add_seals((libc::F_SEAL_SHRINK | libc::F_SEAL_WRITE) as u64).unwrap();
        assert_eq!(m.write(b"x", 0, false).unwrap_err(), Errno::EPERM);
        assert_eq!(m.truncate(1).unwrap_err(), Errno::EPERM);
        m.truncate(10).unwrap();
    }
}
