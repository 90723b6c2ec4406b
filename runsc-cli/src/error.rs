//! The CLI's errors and their exit codes (runc/podman conventions: 125 for
//! a failure of the runtime itself, 127 for a command that does not exist).

use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// Exit status for a failure of the runtime itself.
pub const EXIT_RUNTIME_ERROR: u8 = 125;
/// Exit status when the command to run is not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// Everything that can make a `runsc` command fail before the sandboxed
/// program's own exit status is known.
#[derive(Debug, Error)]
pub enum CliError {
    /// `runsc do CMD` where CMD is not in PATH.
    #[error("{0}: command not found")]
    CommandNotFound(String),
    /// `runsc do` without a command.
    #[error("no command given")]
    NoCommand,
    /// A string that must be UTF-8 (environment, paths) is not.
    #[error("{what} is not valid UTF-8: {value}")]
    NotUtf8 {
        /// What was being converted.
        what: &'static str,
        /// The lossy rendering of the value.
        value: String,
    },
    /// A host call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The host error.
        #[source]
        source: io::Error,
    },
    /// An fd number given on the command line is not open.
    #[error("--{flag} {fd}: not an open file descriptor")]
    BadFd {
        /// The flag that named the fd.
        flag: &'static str,
        /// The fd number.
        fd: i32,
    },
    /// Two fd flags name the same fd.
    #[error("--{0} and --{1} must be different file descriptors")]
    SameFd(&'static str, &'static str),
    /// The boot configuration could not be read or parsed.
    #[error("invalid boot configuration: {0}")]
    BadConfig(#[from] serde_json::Error),
    /// The log file could not be opened or the subscriber installed.
    #[error("cannot set up logging to {path}: {reason}")]
    Logging {
        /// The log destination.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// The gofer stopped with an error.
    #[error("gofer: {0}")]
    Gofer(String),
    /// An OCI command failed.
    #[error(transparent)]
    Oci(#[from] crate::oci::OciError),
    /// Exit with this status without a message (the sandbox printed its
    /// own error already).
    #[error("")]
    Exit(u8),
    /// An unknown `runsc help` topic.
    #[error("unknown help topic {0:?} (try `runsc help`)")]
    UnknownHelpTopic(String),
}

impl CliError {
    /// Wraps a host error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        CliError::Io {
            context: context.into(),
            source,
        }
    }

    /// Wraps a nix errno with what was being done.
    pub fn nix(context: impl Into<String>, errno: nix::errno::Errno) -> Self {
        CliError::Io {
            context: context.into(),
            source: io::Error::from(errno),
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::CommandNotFound(_) => EXIT_NOT_FOUND,
            CliError::Exit(code) => *code,
            _ => EXIT_RUNTIME_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_runc_conventions() {
        assert_eq!(CliError::CommandNotFound("x".into()).exit_code(), 127);
        assert_eq!(CliError::NoCommand.exit_code(), 125);
        assert_eq!(CliError::BadFd { flag: "io-fd", fd: 9 }.exit_code(), 125);
    }

    #[test]
    fn not_found_message_names_the_command() {
        assert_eq!(
            CliError::CommandNotFound("nosuch".into()).to_string(),
            "nosuch: command not found"
        );
    }
}
