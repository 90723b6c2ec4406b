//! Injected host calls that need more than registers: donating a host fd
//! into a stub (for file-backed mmap).
//!
//! The sentry sends the fd over its end of the donor socket, injects
//! `recvmsg` on the stub's end (fd 0) with a message header written to the
//! scratch page, and reads the received fd number back from there. One lock
//! serialises donations because every stub shares the receiving socket.

use super::{thread::StubThread, zygote::STUB_SOCKET_FD, PlatformError};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use syscalls::Errno;

/// Serialises donations over the shared donor socket.
static DONATION_LOCK: Mutex<()> = Mutex::new(());

/// Scratch-page offsets.
const MSGHDR_OFF: u64 = 0;
const IOV_OFF: u64 = 64;
const DATA_OFF: u64 = 128;
const CMSG_OFF: u64 = 256;

fn write_stub(pid: i32, addr: u64, data: &[u8]) -> Result<(), PlatformError> {
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: `local` describes `data`, valid for reads; remote is stub memory.
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    if n != data.len() as isize {
        return Err(PlatformError::last("process_vm_writev scratch"));
    }
    Ok(())
}

fn read_stub(pid: i32, addr: u64, buf: &mut [u8]) -> Result<(), PlatformError> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, valid for writes; remote is stub memory.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n != buf.len() as isize {
        return Err(PlatformError::last("process_vm_readv scratch"));
    }
    Ok(())
}

fn u64s(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// A host fd installed in a stub's fd table; closed there on drop via
/// [`StubFd::close`] (must be called explicitly: it needs the thread).
pub struct StubFd(pub i32);

impl StubFd {
    /// Closes the fd inside the stub.
    pub fn close(self, thread: &mut StubThread) -> Result<(), PlatformError> {
        thread
            .inject(libc::SYS_close, [self.0 as u64, 0, 0, 0, 0, 0])?
            .map_err(|errno| PlatformError::Host {
                op: "close in stub",
                errno,
            })?;
        Ok(())
    }
}

/// Most stale donations one donation discards before giving up.
const MAX_STALE: usize = 64;

/// Donates host fd `fd` to the stub running `thread`; returns its number there.
///
/// Every stub shares the receiving end, so a donation whose stub died
/// between our send and its recvmsg stays queued there. Each donation
/// therefore carries a sequence number: a stub that receives an older one
/// closes it and receives again, so one killed stub never shifts every
/// later donation onto the wrong file.
pub fn donate_fd(thread: &mut StubThread, donor: &OwnedFd, fd: RawFd) -> Result<StubFd, Errno> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(1);
    let _guard = DONATION_LOCK.lock().map_err(|_| Errno::EIO)?;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    send_fd(donor.as_raw_fd(), fd, seq)?;
    for _ in 0..MAX_STALE {
        let (got_seq, stub_fd) = receive_in_stub(thread)?;
        if got_seq == seq {
            return Ok(stub_fd);
        }
        // A donation meant for a stub that is gone.
        stub_fd.close(thread).map_err(Errno::from)?;
    }
    Err(Errno::EIO)
}

/// Injects one recvmsg on the stub's end of the donor socket: the
/// sequence number sent with the fd, and the fd's number in the stub.
fn receive_in_stub(thread: &mut StubThread) -> Result<(u64, StubFd), Errno> {
    let scratch = thread.layout.scratch();
    let pid = thread.tid;
    let cmsg_space = 24u64; // CMSG_SPACE(sizeof(int))
                            // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }
    let msghdr = u64s(&[0, 0, scratch + IOV_OFF, 1, scratch + CMSG_OFF, cmsg_space, 0]);
    let iov = u64s(&[scratch + DATA_OFF, 8]);
    write_stub(pid, scratch + MSGHDR_OFF, &msghdr)?;
    write_stub(pid, scratch + IOV_OFF, &iov)?;
    write_stub(pid, scratch + CMSG_OFF, &[0u8; 24])?;
    write_stub(pid, scratch + DATA_OFF, &[0u8; 8])?;
    let flags = libc::MSG_CMSG_CLOEXEC as u64;
    let got = thread.inject(
        libc::SYS_recvmsg,
        [STUB_SOCKET_FD as u64, scratch + MSGHDR_OFF, flags, 0, 0, 0],
    )?;
    got?;
    // struct cmsghdr { len: u64, level: i32, type: i32 } then the fd.
    let mut cmsg = [0u8; 20];
    read_stub(pid, scratch + CMSG_OFF, &mut cmsg)?;
    let level = i32::from_ne_bytes([cmsg[8], cmsg[9], cmsg[10], cmsg[11]]);
    let kind = i32::from_ne_bytes([cmsg[12], cmsg[13], cmsg[14], cmsg[15]]);
    if level != libc::SOL_SOCKET || kind != libc::SCM_RIGHTS {
        return Err(Errno::EIO);
    }
    let mut data = [0u8; 8];
    read_stub(pid, scratch + DATA_OFF, &mut data)?;
    Ok((
        u64::from_ne_bytes(data),
        StubFd(i32::from_ne_bytes([cmsg[16], cmsg[17], cmsg[18], cmsg[19]])),
    ))
}

/// Sends `fd` over `socket` with the donation's sequence number as payload.
fn send_fd(socket: RawFd, fd: RawFd, seq: u64) -> Result<(), Errno> {
    let payload = seq.to_ne_bytes();
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut control = [0u64; 3]; // CMSG_SPACE(4) = 24 bytes, 8-aligned
                                 // SAFETY: an all-zero msghdr is valid; fields are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = 24;
    // SAFETY: msg_control points at 24 writable bytes, enough for one cmsg
    // carrying an int; CMSG_FIRSTHDR/CMSG_DATA stay inside that buffer.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut i32, fd);
    }
    // SAFETY: msg references live local buffers for the duration of the call.
    let n = unsafe { libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) };
    if n != payload.len() as isize {
        return Err(Errno::last());
    }
    Ok(())
}
