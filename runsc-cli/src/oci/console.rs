//! The container's terminal (`process.terminal` with `--console-socket`,
//! `exec --tty`): a host pty whose master goes to the caller over the
//! console socket with `SCM_RIGHTS` (as runc does: conmon and the
//! containerd shim then proxy it), and whose replica becomes the guest's
//! stdin, stdout and stderr.
//!
//! The host process holding the replica as its controlling terminal (the
//! sentry for the init, the attached `runsc exec` for an exec) receives the
//! signals the host line discipline generates; the sentry routes them to
//! the guest's foreground process group (see `sentry::kernel::console`).

use crate::error::CliError;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// A host pty pair.
pub struct Pty {
    /// The master (sent over the console socket, then closed here).
    pub master: OwnedFd,
    /// The replica (the guest's stdio).
    pub replica: OwnedFd,
}

/// Opens a pty pair, sized `size` (`process.consoleSize`, rows x columns).
pub fn open(size: Option<(u16, u16)>) -> Result<Pty, CliError> {
    let winsize = size.map(|(rows, cols)| nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let pty = nix::pty::openpty(winsize.as_ref(), None).map_err(|e| CliError::nix("openpty", e))?;
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| CliError::nix("fcntl(FD_CLOEXEC)", e))?;
    }
    Ok(Pty {
        master: pty.master,
        replica: pty.slave,
    })
}

/// Sends `master` over the unix socket at `socket` (runc's protocol: one
/// message naming the file, the fd attached with `SCM_RIGHTS`).
pub fn send_master(socket: &Path, master: &OwnedFd) -> Result<(), CliError> {
    let ctx = || format!("--console-socket {}", socket.display());
    let stream = UnixStream::connect(socket).map_err(|e| CliError::io(ctx(), e))?;
    let name = b"/dev/ptmx";
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| CliError::nix(ctx(), e))?;
    Ok(())
}

/// Makes `fd` (a pty replica) the controlling terminal of the calling
/// process in a new session, so that the host line discipline's signals
/// come to it (and to no other host process).
pub fn make_controlling(fd: i32) -> Result<(), CliError> {
    // EPERM: already a session leader; TIOCSCTTY then tells.
    let _ = nix::unistd::setsid();
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal).
    if unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) } < 0 {
        return Err(CliError::io("TIOCSCTTY", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The device number of the terminal `fd` (to name it to the sentry).
pub fn rdev(fd: i32) -> Option<u64> {
    nix::sys::stat::fstat(fd).ok().map(|st| st.st_rdev)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::fd::{FromRawFd, RawFd};

    #[test]
    fn the_master_arrives_over_the_console_socket_and_talks_to_the_replica() {
        let dir = std::env::temp_dir().join(format!("runsc-console-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("console.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let pty = open(Some((24, 80))).unwrap();
        send_master(&path, &pty.master).unwrap();
        drop(pty.master);
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg =
            nix::sys::socket::recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()).unwrap();
        let mut got = None;
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: the kernel installed this fd for us.
                got = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
            }
        }
        let len = msg.bytes;
        let master = got.unwrap();
        assert_eq!(&buf[..len], b"/dev/ptmx");
        // The replica's size was set, and output written to it comes out of
        // the master (with the line discipline's \n -> \r\n).
        // SAFETY: winsize is plain data; all-zero is valid.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes one winsize into `ws`.
        let rc = unsafe { libc::ioctl(pty.replica.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
        assert_eq!(rc, 0);
        assert_eq!((ws.ws_row, ws.ws_col), (24, 80));
        nix::unistd::write(&pty.replica, b"hi\n").unwrap();
        let mut out = [0u8; 8];
        let n = nix::unistd::read(master.as_raw_fd(), &mut out).unwrap();
        assert_eq!(&out[..n], b"hi\r\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
