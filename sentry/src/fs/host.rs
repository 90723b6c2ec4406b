//! Host fds handed to the container as they are: its stdio. Reads, writes
//! and terminal ioctls go to the host fd; fstat reports the host fd's
//! attributes (fine for a pipe or a terminal).

use crate::mm::MemoryManager;
use crate::vfs::FileOps;
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::structs::{KernelTermios, Stat, Statfs, Winsize};
use syscalls::{Errno, Pod};

/// A host fd owned by the sentry.
pub struct HostFile {
    fd: OwnedFd,
    /// The node of a host terminal in the sandbox's /dev/pts.
    pts_index: Option<u32>,
}

/// `fstat` of a host fd.
pub fn fstat(fd: &OwnedFd) -> Result<Stat, Errno> {
    let mut st = Stat::zeroed();
    // SAFETY: `st` is a valid, writable struct stat.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

impl HostFile {
    /// Wraps `fd`; a terminal gets a node in the sandbox's /dev/pts.
    pub fn new(fd: OwnedFd) -> Self {
        let pts_index = super::devpts::register_host_terminal(&fd);
        HostFile { fd, pts_index }
    }

    /// For O_NONBLOCK descriptions: EAGAIN unless the fd is ready for `events`.
    fn ready(&self, events: i16) -> Result<(), Errno> {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        if n < 0 {
            return Err(Errno::last());
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }
}

/// Retries a host call interrupted by a host signal.
fn retry(mut f: impl FnMut() -> isize) -> Result<usize, Errno> {
    loop {
        let n = f();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

impl HostFile {
    /// A new file on the same host terminal, if this is one.
    pub fn reopen_terminal(&self) -> Option<Box<dyn FileOps>> {
        self.pts_index?;
        let dup = self.fd.try_clone().ok()?;
        Some(Box::new(HostFile::new(dup)))
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        if let Some(index) = self.pts_index {
            super::devpts::release_host_terminal(index);
        }
    }
}

impl FileOps for HostFile {
    fn stat(&self) -> Result<Stat, Errno> {
        fstat(&self.fd)
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if nonblock && !buf.is_empty() {
            self.ready(libc::POLLIN)?;
        }
        // SAFETY: `buf` is valid for writes of its length.
        retry(|| unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if nonblock && !buf.is_empty() {
            self.ready(libc::POLLOUT)?;
        }
        // SAFETY: `buf` is valid for reads of its length.
        retry(|| unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
    }

    fn lseek(&self, _current: u64, offset: i64, whence: i32) -> Result<u64, Errno> {
        // SAFETY: lseek on an owned fd has no memory effects.
        let r = unsafe { libc::lseek(self.fd.as_raw_fd(), offset, whence) };
        if r < 0 {
            return Err(Errno::last());
        }
        Ok(r as u64)
    }

    fn ioctl(&self, mm: &MemoryManager, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let fd = self.fd.as_raw_fd();
        match cmd as libc::Ioctl {
            libc::TCGETS => {
                let mut t = KernelTermios::default();
                // SAFETY: TCGETS writes one kernel termios (36 bytes) into `t`.
                if unsafe { libc::ioctl(fd, libc::TCGETS, &mut t as *mut KernelTermios) } < 0 {
                    return Err(Errno::last());
                }
                mm.write_obj(arg, &t)?;
                Ok(0)
            }
            libc::TIOCGWINSZ => {
                let mut w = Winsize::zeroed();
                // SAFETY: TIOCGWINSZ writes one struct winsize into `w`.
                if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut w as *mut Winsize) } < 0 {
                    return Err(Errno::last());
                }
                mm.write_obj(arg, &w)?;
                Ok(0)
            }
            libc::FIONREAD => {
                let mut n: libc::c_int = 0;
                // SAFETY: FIONREAD writes one int into `n`.
                if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n as *mut libc::c_int) } < 0 {
                    return Err(Errno::last());
                }
                mm.write_obj(arg, &n)?;
                Ok(0)
            }
            // A host terminal: its line discipline serves the guest (see
            // kernel::console); job control is modelled in the sentry.
            libc::TCSETS | libc::TCSETSW | libc::TCSETSF => {
                let t: KernelTermios = mm.read_obj(arg)?;
                // SAFETY: TCSETS* read one kernel termios from `t`.
                if unsafe { libc::ioctl(fd, cmd as libc::Ioctl, &t as *const KernelTermios) } < 0 {
                    return Err(Errno::last());
                }
                Ok(0)
            }
            libc::TIOCSWINSZ => {
                let w: Winsize = mm.read_obj(arg)?;
                // SAFETY: TIOCSWINSZ reads one struct winsize from `w`.
                if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &w as *const Winsize) } < 0 {
                    return Err(Errno::last());
                }
                Ok(0)
            }
            libc::TIOCGPGRP | libc::TIOCGSID => {
                let rdev = crate::kernel::console::tty_rdev(fd).ok_or(Errno::ENOTTY)?;
                let pgid: i32 = if cmd as libc::Ioctl == libc::TIOCGSID {
                    1
                } else {
                    crate::kernel::console::foreground(rdev)
                };
                mm.write_obj(arg, &pgid)?;
                Ok(0)
            }
            libc::TIOCSPGRP => {
                let rdev = crate::kernel::console::tty_rdev(fd).ok_or(Errno::ENOTTY)?;
                let pgid: i32 = mm.read_obj(arg)?;
                crate::kernel::console::set_foreground(rdev, pgid)?;
                Ok(0)
            }
            libc::TIOCSCTTY | libc::TIOCNOTTY => {
                crate::kernel::console::tty_rdev(fd).ok_or(Errno::ENOTTY)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        // No wait queue: pollers re-check host fds periodically.
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: mask as i16,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        if n <= 0 {
            return 0;
        }
        p.revents as u16 as u32 & (mask | (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) as u32)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn name(&self) -> Vec<u8> {
        // What Linux shows for anonymous files of these kinds; a host path
        // is never shown (the sentry does not know it, and it would leak
        // the host's layout). Terminals have their node in /dev/pts.
        if let Some(index) = self.pts_index {
            return format!("/dev/pts/{index}").into_bytes();
        }
        match self.stat() {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFIFO => format!("pipe:[{}]", st.st_ino),
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFSOCK => format!("socket:[{}]", st.st_ino),
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == libc::makedev(1, 3) => {
                "/dev/null".to_string()
            }
            _ => format!("host:[{}]", self.fd.as_raw_fd()),
        }
        .into_bytes()
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        let mut s = Statfs::zeroed();
        // SAFETY: `s` is a valid, writable struct statfs.
        if unsafe { libc::fstatfs(self.fd.as_raw_fd(), &mut s) } < 0 {
            return Err(Errno::last());
        }
        Ok(s)
    }
}
