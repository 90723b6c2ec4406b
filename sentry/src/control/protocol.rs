//! The control protocol's messages and their framing, shared by the sentry
//! (server) and the CLI (client).
//!
//! Each message is one `SOCK_SEQPACKET` record holding one JSON value, so
//! no length prefix is needed; file descriptors travel in the same record.

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The largest record either side accepts (argv and env of an exec).
pub const MAX_MESSAGE: usize = 256 << 10;
/// The most fds one record may carry.
pub const MAX_FDS: usize = 64;

/// A request from the CLI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// The container's status.
    State,
    /// Let the held init run (`runsc start`).
    Start,
    /// Send `signo` to the init, or with `all` to every process.
    Signal {
        /// Signal number (0 only checks that the sandbox answers).
        signo: i32,
        /// Every process of the sandbox, not just the init.
        all: bool,
    },
    /// Block until the init exits; answered with [`Response::Exited`].
    Wait,
    /// The sandbox's processes.
    Ps,
    /// Start a new process in the sandbox (stdin, stdout, stderr attached
    /// as three fds); answered with [`Response::Started`], then on the same
    /// connection [`Response::Exited`] when it exits.
    Exec(ExecRequest),
    /// A signal the host terminal `rdev` generated (^C, ^Z, resize) for the
    /// guest's foreground process group on it, else for process `pid`.
    SignalTerminal {
        /// The host terminal's device number.
        rdev: u64,
        /// The process to signal if the terminal has no foreground group.
        pid: i32,
        /// Signal number.
        signo: i32,
    },
    /// Freeze every process (`runsc pause`).
    Pause,
    /// Thaw a paused sandbox (`runsc resume`).
    Resume,
    /// Send a signal to one process started by exec (sandbox pid).
    SignalProcess {
        /// The sandbox pid.
        pid: i32,
        /// Signal number.
        signo: i32,
    },
}

/// A process to start with [`Request::Exec`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// Program and arguments; a program without `/` is searched in the
    /// `PATH` of `env`.
    pub argv: Vec<String>,
    /// Environment, `KEY=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the sandbox.
    pub cwd: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// Umask of the new process.
    pub umask: u32,
    /// Capability sets before the program is executed (absent: the
    /// default of `uid`, see `BootConfig::capabilities`).
    #[serde(default)]
    pub capabilities: Option<crate::kernel::caps::CapSets>,
    /// Start with `PR_SET_NO_NEW_PRIVS`.
    #[serde(default)]
    pub no_new_privileges: bool,
}

/// The container's status as the sentry sees it (OCI `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Loaded, held until `start`.
    Created,
    /// The init runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// The init has exited.
    Stopped,
}

/// One process for `runsc ps`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Sandbox pid.
    pub pid: i32,
    /// Parent's sandbox pid.
    pub ppid: i32,
    /// Command name.
    pub comm: String,
}

/// A reply from the sentry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::State`].
    State {
        /// The status.
        status: Status,
    },
    /// The request was carried out.
    Ok,
    /// A process exited with this code (128+N for signal N).
    Exited {
        /// The shell-style exit code.
        code: i32,
    },
    /// An exec'd process started with this sandbox pid.
    Started {
        /// The sandbox pid.
        pid: i32,
    },
    /// Answer to [`Request::Ps`].
    Processes {
        /// Every live process.
        processes: Vec<ProcessInfo>,
    },
    /// The request failed.
    Error {
        /// Why, for the user.
        message: String,
    },
}

/// Why a message could not be exchanged.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The socket failed.
    #[error("control socket: {0}")]
    Io(#[from] nix::errno::Errno),
    /// The peer closed the connection.
    #[error("the sandbox closed the control connection")]
    Closed,
    /// The record was not the JSON expected.
    #[error("malformed control message: {0}")]
    Json(#[from] serde_json::Error),
    /// The record was larger than [`MAX_MESSAGE`] or carried too many fds.
    #[error("control message too large")]
    TooLarge,
}

/// Sends `msg` as one record with `fds` attached.
pub fn send<T: Serialize>(sock: BorrowedFd<'_>, msg: &T, fds: &[RawFd]) -> Result<(), ProtocolError> {
    let bytes = serde_json::to_vec(msg)?;
    if bytes.len() > MAX_MESSAGE || fds.len() > MAX_FDS {
        return Err(ProtocolError::TooLarge);
    }
    let iov = [IoSlice::new(&bytes)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &cmsg };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives one record and the fds attached to it.
pub fn recv<T: DeserializeOwned>(sock: BorrowedFd<'_>) -> Result<(T, Vec<OwnedFd>), ProtocolError> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut cmsg_buf = nix::cmsg_space!([RawFd; MAX_FDS]);
    let (len, fds, truncated) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_buf),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(msg) => {
                let mut fds = Vec::new();
                for c in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(raw) = c {
                        for fd in raw {
                            // SAFETY: the kernel just installed this fd in our
                            // table for us; nothing else owns it.
                            fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                        }
                    }
                }
                let truncated = msg.flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
                break (msg.bytes, fds, truncated);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if truncated {
        return Err(ProtocolError::TooLarge);
    }
    if len == 0 {
        return Err(ProtocolError::Closed);
    }
    let buf = buf.get(..len).ok_or(ProtocolError::TooLarge)?;
    Ok((serde_json::from_slice(buf)?, fds))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::fd::AsFd;

    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC).unwrap()
    }

    #[test]
    fn requests_round_trip_with_fds() {
        let (a, b) = pair();
        let req = Request::Exec(ExecRequest {
            argv: vec!["/bin/sh".into()],
            cwd: "/".into(),
            ..ExecRequest::default()
        });
        let null = std::fs::File::open("/dev/null").unwrap();
        send(a.as_fd(), &req, &[null.as_raw_fd(), null.as_raw_fd()]).unwrap();
        let (back, fds): (Request, _) = recv(b.as_fd()).unwrap();
        assert_eq!(back, req);
        assert_eq!(fds.len(), 2);
        send(a.as_fd(), &Request::Signal { signo: 9, all: true }, &[]).unwrap();
        let (back, fds): (Request, _) = recv(b.as_fd()).unwrap();
        assert_eq!(back, Request::Signal { signo: 9, all: true });
        assert!(fds.is_empty());
    }

    #[test]
    fn wire_format_is_tagged_json() {
        let json = serde_json::to_string(&Response::State {
            status: Status::Created,
        })
        .unwrap();
        assert_eq!(json, r#"{"reply":"state","status":"created"}"#);
        let req: Request = serde_json::from_str(r#"{"cmd":"start"}"#).unwrap();
        assert_eq!(req, Request::Start);
    }

    #[test]
    fn closed_and_garbage_are_errors() {
        let (a, b) = pair();
        nix::unistd::write(&a, b"{not json").unwrap();
        assert!(matches!(recv::<Request>(b.as_fd()), Err(ProtocolError::Json(_))));
        drop(a);
        assert!(matches!(recv::<Request>(b.as_fd()), Err(ProtocolError::Closed)));
    }
}
