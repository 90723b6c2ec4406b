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
/// Both ends are close-on-exec from the start (no window in which a
/// concurrent fork could inherit them).
pub fn open(size: Option<(u16, u16)>) -> Result<Pty, CliError> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let master = nix::pty::posix_openpt(flags).map_err(|e| CliError::nix("posix_openpt", e))?;
    nix::pty::grantpt(&master).map_err(|e| CliError::nix("grantpt", e))?;
    nix::pty::unlockpt(&master).map_err(|e| CliError::nix("unlockpt", e))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| CliError::nix("ptsname", e))?;
    let replica = nix::fcntl::open(name.as_str(), flags, nix::sys::stat::Mode::empty())
        .map_err(|e| CliError::nix(format!("opening {name}"), e))?;
    // SAFETY: open returned a new fd that nothing else owns.
    let replica = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(replica) };
    // SAFETY: into_raw_fd gives up the PtyMaster's ownership of its fd.
    let master =
        unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(master)) };
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one struct winsize from `ws`.
        if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
            return Err(CliError::io("TIOCSWINSZ", std::io::Error::last_os_error()));
        }
    }
    Ok(Pty { master, replica })
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
