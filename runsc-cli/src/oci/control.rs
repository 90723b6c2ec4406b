//! The client end of the sentry's control socket (`STATE_DIR/control.sock`).
//!
//! Unix socket paths are limited to 108 bytes; a longer state directory is
//! reached through `/proc/self/fd/N/control.sock` with `N` an `O_PATH` fd of
//! the directory.

use crate::error::CliError;
use nix::sys::socket::{bind, connect, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
use sentry::control::protocol::{self, Request, Response, Status};
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The socket's file name in the state directory.
pub const SOCKET_NAME: &str = "control.sock";

/// A path naming `STATE_DIR/control.sock` short enough for `sun_path`,
/// with the directory fd that keeps it valid (if one was needed).
fn socket_addr(state_dir: &Path) -> Result<(PathBuf, Option<OwnedFd>), CliError> {
    let direct = state_dir.join(SOCKET_NAME);
    if direct.as_os_str().len() < 100 {
        return Ok((direct, None));
    }
    let dir = nix::fcntl::open(
        state_dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| CliError::nix(format!("opening {}", state_dir.display()), e))?;
    // SAFETY: open returned a new fd that nothing else owns.
    let dir = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(dir) };
    let path = PathBuf::from(format!(
        "/proc/self/fd/{}/{SOCKET_NAME}",
        std::os::fd::AsRawFd::as_raw_fd(&dir)
    ));
    Ok((path, Some(dir)))
}

fn seqpacket() -> Result<OwnedFd, CliError> {
    socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| CliError::nix("socket(AF_UNIX, SOCK_SEQPACKET)", e))
}

/// Creates the listening control socket (mode 0600) for a new sandbox.
pub fn listen_at(state_dir: &Path) -> Result<OwnedFd, CliError> {
    let sock = seqpacket()?;
    let (path, _dir) = socket_addr(state_dir)?;
    let addr = UnixAddr::new(&path).map_err(|e| CliError::nix("control socket address", e))?;
    let ctx = || format!("binding {}", state_dir.join(SOCKET_NAME).display());
    bind(std::os::fd::AsRawFd::as_raw_fd(&sock), &addr).map_err(|e| CliError::nix(ctx(), e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| CliError::io(ctx(), e))?;
    listen(&sock, Backlog::new(16).map_err(|e| CliError::nix(ctx(), e))?).map_err(|e| CliError::nix(ctx(), e))?;
    Ok(sock)
}

/// Connects to a sandbox's control socket.
pub fn connect_to(state_dir: &Path) -> Result<OwnedFd, nix::errno::Errno> {
    let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)?;
    let (path, _dir) = socket_addr(state_dir).map_err(|_| nix::errno::Errno::ENOENT)?;
    let addr = UnixAddr::new(&path)?;
    loop {
        match connect(std::os::fd::AsRawFd::as_raw_fd(&sock), &addr) {
            Ok(()) => return Ok(sock),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nobody listens: the sandbox is gone.
    #[error("the sandbox is not running ({0})")]
    Gone(nix::errno::Errno),
    /// The exchange failed.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
}

/// Sends one request (with `fds`) on a new connection; returns the reply
/// and the connection (exec keeps reading from it). `timeout` bounds the
/// wait for the reply.
pub fn request_on(
    state_dir: &Path,
    req: &Request,
    fds: &[RawFd],
    timeout: Option<Duration>,
) -> Result<(Response, OwnedFd), ControlError> {
    let conn = connect_to(state_dir).map_err(ControlError::Gone)?;
    if let Some(t) = timeout {
        let tv = nix::sys::time::TimeVal::new(t.as_secs() as _, t.subsec_micros() as _);
        let _ = nix::sys::socket::setsockopt(&conn, nix::sys::socket::sockopt::ReceiveTimeout, &tv);
    }
    protocol::send(conn.as_fd(), req, fds)?;
    let (reply, _fds) = protocol::recv::<Response>(conn.as_fd())?;
    Ok((reply, conn))
}

/// [`request_on`] without fds, dropping the connection.
pub fn request(state_dir: &Path, req: &Request, timeout: Option<Duration>) -> Result<Response, ControlError> {
    request_on(state_dir, req, &[], timeout).map(|(r, _)| r)
}

/// Sends `req` to container `id`'s sandbox and expects `Ok`; any other
/// answer is the sandbox's error. With `closed_is_ok`, a connection the
/// sandbox closed without answering counts as done (a start or a signal
/// that ended the sandbox before it could reply).
pub fn expect_ok(state_dir: &Path, id: &str, req: &Request, closed_is_ok: bool) -> Result<(), CliError> {
    let message = match request(state_dir, req, None) {
        Ok(Response::Ok) => return Ok(()),
        Err(ControlError::Protocol(protocol::ProtocolError::Closed)) if closed_is_ok => return Ok(()),
        Ok(Response::Error { message }) => message,
        Ok(other) => format!("unexpected reply {other:?}"),
        Err(e) => e.to_string(),
    };
    Err(super::OciError::Sandbox {
        id: id.to_string(),
        message,
    }
    .into())
}

/// The container's status from the sentry; `None` when the sandbox does
/// not answer (it has exited).
pub fn query_status(state_dir: &Path) -> Option<Status> {
    match request(state_dir, &Request::State, Some(Duration::from_secs(10))) {
        Ok(Response::State { status }) => Some(status),
        Ok(other) => {
            tracing::warn!(?other, "unexpected reply to a state request");
            None
        }
        Err(e) => {
            tracing::debug!("state request: {e}");
            None
        }
    }
}

/// The OCI name of a status.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Created => "created",
        Status::Running => "running",
        Status::Paused => "paused",
        Status::Stopped => "stopped",
    }
}
