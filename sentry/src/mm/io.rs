//! Copying data between the sentry and guest memory.
//!
//! Every access goes through `process_vm_readv`/`process_vm_writev` on the
//! stub, in bounded chunks, and any failure becomes EFAULT for the guest.

use super::MemoryManager;
use syscalls::{Errno, Pod};

/// Largest single guest copy the sentry will make (bounds sentry memory use).
pub const MAX_COPY: usize = 1 << 30;
/// Chunk size for string reads.
const STRING_CHUNK: usize = 256;

/// A guest `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoVec {
    /// Base address in guest memory.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
}
// SAFETY: repr(C) pair of u64.
unsafe impl Pod for IoVec {}

/// `UIO_MAXIOV`: the most iovecs one call may pass.
pub const UIO_MAXIOV: usize = 1024;

impl MemoryManager {
    /// Reads exactly `buf.len()` bytes at guest address `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let n = self.read_partial(addr, buf)?;
        if n == buf.len() {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Reads up to `buf.len()` bytes; returns how many could be read before
    /// the first unreadable page (0 bytes readable is EFAULT).
    pub fn read_partial(&self, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        addr.checked_add(buf.len() as u64).ok_or(Errno::EFAULT)?;
        let mut done = 0;
        while done < buf.len() {
            let local = libc::iovec {
                iov_base: buf[done..].as_mut_ptr().cast(),
                iov_len: buf.len() - done,
            };
            let remote = libc::iovec {
                iov_base: (addr + done as u64) as *mut libc::c_void,
                iov_len: buf.len() - done,
            };
            // SAFETY: `local` points into `buf`, valid for writes of its length;
            // the remote iovec names guest memory, which the kernel checks.
            let n = unsafe { libc::process_vm_readv(self.stub_pid, &local, 1, &remote, 1, 0) };
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        if done == 0 {
            Err(Errno::EFAULT)
        } else {
            Ok(done)
        }
    }

    /// Writes all of `data` at guest address `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        if self.write_partial(addr, data)? == data.len() {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    /// Writes as much of `data` as is writable; returns the count (0 is EFAULT).
    pub fn write_partial(&self, addr: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        addr.checked_add(data.len() as u64).ok_or(Errno::EFAULT)?;
        let mut done = 0;
        while done < data.len() {
            let local = libc::iovec {
                iov_base: data[done..].as_ptr() as *mut libc::c_void,
                iov_len: data.len() - done,
            };
            let remote = libc::iovec {
                iov_base: (addr + done as u64) as *mut libc::c_void,
                iov_len: data.len() - done,
            };
            // SAFETY: `local` points into `data`, valid for reads of its length
            // (the kernel only reads it); the remote side is guest memory.
            let n = unsafe { libc::process_vm_writev(self.stub_pid, &local, 1, &remote, 1, 0) };
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        if done == 0 {
            Err(Errno::EFAULT)
        } else {
            Ok(done)
        }
    }

    /// Reads `len` bytes into a new vector (EFAULT, or ENOMEM above [`MAX_COPY`]).
    pub fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
        if len > MAX_COPY {
            return Err(Errno::ENOMEM);
        }
        let mut v = vec![0u8; len];
        self.read(addr, &mut v)?;
        Ok(v)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    /// ENAMETOOLONG when no NUL is found within `max` bytes.
    pub fn read_cstring(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut chunk = [0u8; STRING_CHUNK];
        loop {
            let cur = addr.checked_add(out.len() as u64).ok_or(Errno::EFAULT)?;
            // Do not cross a page boundary in one read, so a string that ends
            // just before an unmapped page is still readable.
            let to_page_end = (4096 - (cur % 4096)) as usize;
            let want = STRING_CHUNK.min(to_page_end);
            let n = self.read_partial(cur, &mut chunk[..want])?;
            if let Some(pos) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..pos]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
        }
    }

    /// Reads a path argument: at most PATH_MAX bytes, empty is ENOENT.
    pub fn read_path(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.read_cstring(addr, libc::PATH_MAX as usize - 1)?;
        if p.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(p)
    }

    /// Reads one plain-data value.
    pub fn read_obj<T: Pod>(&self, addr: u64) -> Result<T, Errno> {
        let mut buf = vec![0u8; std::mem::size_of::<T>()];
        self.read(addr, &mut buf)?;
        T::from_bytes(&buf).ok_or(Errno::EFAULT)
    }

    /// Writes one plain-data value.
    pub fn write_obj<T: Pod>(&self, addr: u64, value: &T) -> Result<(), Errno> {
        self.write(addr, value.as_bytes())
    }

    /// Reads an iovec array (EINVAL above UIO_MAXIOV or on a length overflow).
    pub fn read_iovecs(&self, addr: u64, count: usize) -> Result<Vec<IoVec>, Errno> {
        if count > UIO_MAXIOV {
            return Err(Errno::EINVAL);
        }
        let raw = self.read_vec(addr, count * std::mem::size_of::<IoVec>())?;
        let iovs: Vec<IoVec> = raw.chunks_exact(16).filter_map(IoVec::from_bytes).collect();
        let mut total: u64 = 0;
        for iov in &iovs {
            if iov.len > isize::MAX as u64 {
                return Err(Errno::EINVAL);
            }
            total = total.checked_add(iov.len).ok_or(Errno::EINVAL)?;
            if total > isize::MAX as u64 {
                return Err(Errno::EINVAL);
            }
        }
        Ok(iovs)
    }

    /// Reads a NULL-terminated array of string pointers (argv/envp of execve).
    pub fn read_string_array(&self, addr: u64, max_total: usize) -> Result<Vec<Vec<u8>>, Errno> {
        let mut out = Vec::new();
        if addr == 0 {
            return Ok(out);
        }
        let mut total = 0usize;
        for i in 0.. {
            let ptr: u64 = self.read_obj(addr + i * 8)?;
            if ptr == 0 {
                break;
            }
            let s = self.read_cstring(ptr, max_total)?;
            total += s.len() + 1 + 8;
            if total > max_total {
                return Err(Errno::E2BIG);
            }
            out.push(s);
        }
        Ok(out)
    }
}
