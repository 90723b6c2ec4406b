//! The per-process file descriptor table: fd numbers mapped to open file
//! descriptions, each with its close-on-exec flag.
//!
//! Descriptions removed from the table are returned to the caller and
//! dropped after the table's lock is released, so a file's teardown never
//! runs under it.

use super::file::{FileDescription, FileRef};
use crate::fs::host::HostFile;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};
use syscalls::Errno;

#[derive(Clone)]
struct Slot {
    file: FileRef,
    cloexec: bool,
}

/// A file descriptor table (shared by threads, copied by fork).
#[derive(Default)]
pub struct FdTable {
    slots: Mutex<Vec<Option<Slot>>>,
}

impl FdTable {
    /// An empty table.
    pub fn new() -> FdTable {
        FdTable::default()
    }

    /// A table whose fds 0, 1 and 2 are duplicates of the sentry's own
    /// stdio (the container's stdio); a closed host fd leaves its slot empty.
    pub fn new_with_stdio() -> Result<FdTable, Errno> {
        let table = FdTable::new();
        for fd in 0..3 {
            // SAFETY: F_DUPFD_CLOEXEC on a plain integer fd has no memory effects;
            // a closed fd gives EBADF.
            let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
            if dup < 0 {
                let e = Errno::last();
                if e == Errno::EBADF {
                    continue;
                }
                return Err(e);
            }
            // SAFETY: `dup` is a fresh fd that nothing else owns.
            let owned = unsafe { OwnedFd::from_raw_fd(dup) };
            let flags = host_access_mode(fd);
            let file = FileDescription::new(Box::new(HostFile::new(owned)), flags, None);
            table.install(fd, file, false)?;
        }
        Ok(table)
    }

    /// Installs host fds (OCI `--preserve-fds`) as `first`, `first + 1`, ...
    pub fn install_host_fds(&self, first: i32, fds: Vec<OwnedFd>) -> Result<(), Errno> {
        for (fd, n) in fds.into_iter().zip(first..) {
            let flags = host_access_mode(fd.as_raw_fd());
            let file = FileDescription::new(Box::new(HostFile::new(fd)), flags, None);
            self.install(n, file, false)?;
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Option<Slot>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy for a forked process: same descriptions, same flags.
    pub fn fork(&self) -> FdTable {
        FdTable {
            slots: Mutex::new(self.lock().clone()),
        }
    }

    /// The description `fd` refers to (EBADF).
    pub fn get(&self, fd: i32) -> Result<FileRef, Errno> {
        self.get_with_cloexec(fd).map(|(f, _)| f)
    }

    /// The description and close-on-exec flag of `fd` (EBADF).
    pub fn get_with_cloexec(&self, fd: i32) -> Result<(FileRef, bool), Errno> {
        let idx = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        match self.lock().get(idx) {
            Some(Some(s)) => Ok((s.file.clone(), s.cloexec)),
            _ => Err(Errno::EBADF),
        }
    }

    /// Installs `file` at the lowest free fd >= `min_fd` below `limit`
    /// (RLIMIT_NOFILE); EMFILE when there is none.
    pub fn insert(&self, file: FileRef, cloexec: bool, min_fd: i32, limit: u64) -> Result<i32, Errno> {
        let min = usize::try_from(min_fd).map_err(|_| Errno::EINVAL)?;
        let limit = usize::try_from(limit.min(i32::MAX as u64)).unwrap_or(i32::MAX as usize);
        let mut slots = self.lock();
        let mut idx = min;
        while idx < slots.len() && slots[idx].is_some() {
            idx += 1;
        }
        if idx >= limit {
            return Err(Errno::EMFILE);
        }
        if idx >= slots.len() {
            slots.resize(idx + 1, None);
        }
        slots[idx] = Some(Slot { file, cloexec });
        Ok(idx as i32)
    }

    /// Installs `file` at exactly `fd`, returning what was there (dup2/dup3).
    pub fn install(&self, fd: i32, file: FileRef, cloexec: bool) -> Result<Option<FileRef>, Errno> {
        let idx = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let mut slots = self.lock();
        if idx >= slots.len() {
            slots.resize(idx + 1, None);
        }
        let old = slots[idx].replace(Slot { file, cloexec });
        Ok(old.map(|s| s.file))
    }

    /// Removes `fd` (close); EBADF when it is not open.
    pub fn remove(&self, fd: i32) -> Result<FileRef, Errno> {
        let idx = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let mut slots = self.lock();
        let slot = slots.get_mut(idx).and_then(Option::take).ok_or(Errno::EBADF)?;
        while slots.last().is_some_and(Option::is_none) {
            slots.pop();
        }
        Ok(slot.file)
    }

    /// Sets or clears close-on-exec on `fd`.
    pub fn set_cloexec(&self, fd: i32, cloexec: bool) -> Result<(), Errno> {
        let idx = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        match self.lock().get_mut(idx) {
            Some(Some(s)) => {
                s.cloexec = cloexec;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// Closes every close-on-exec fd (execve).
    pub fn close_on_exec(&self) -> Vec<FileRef> {
        let dropped: Vec<FileRef> = {
            let mut slots = self.lock();
            let mut out = Vec::new();
            for slot in slots.iter_mut() {
                if slot.as_ref().is_some_and(|s| s.cloexec) {
                    if let Some(s) = slot.take() {
                        out.push(s.file);
                    }
                }
            }
            out
        };
        dropped
    }

    /// close_range: closes fds `first..=last`, or only marks them
    /// close-on-exec when `cloexec_only`. Returns the closed files (the
    /// caller runs close hooks, e.g. releasing record locks).
    pub fn close_range(&self, first: u32, last: u32, cloexec_only: bool) -> Vec<FileRef> {
        let dropped: Vec<FileRef> = {
            let mut slots = self.lock();
            let end = (last as usize).min(slots.len().saturating_sub(1));
            let mut out = Vec::new();
            for idx in first as usize..=end {
                if idx >= slots.len() {
                    break;
                }
                if cloexec_only {
                    if let Some(s) = slots[idx].as_mut() {
                        s.cloexec = true;
                    }
                } else if let Some(s) = slots[idx].take() {
                    out.push(s.file);
                }
            }
            out
        };
        dropped
    }

    /// The open fds, ascending (for /proc/pid/fd).
    pub fn fds(&self) -> Vec<i32> {
        self.lock()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as i32)
            .collect()
    }
}

/// The access mode of host fd `fd` as F_GETFL reports it (O_RDWR if unknown).
fn host_access_mode(fd: i32) -> i32 {
    // SAFETY: F_GETFL on an integer fd has no memory effects.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        libc::O_RDWR
    } else {
        fl & libc::O_ACCMODE
    }
}
