//! Errors of the OCI commands, worded for the user: each is the one line
//! `runsc` prints before exiting with status 125.

use std::path::PathBuf;
use thiserror::Error;

/// A failure of an OCI command.
#[derive(Debug, Error)]
pub enum OciError {
    /// The container id is not acceptable.
    #[error("invalid container id {id:?}: {reason}")]
    BadId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `config.json` is missing, unreadable or malformed.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The container exists already.
    #[error("container {0:?} already exists")]
    Exists(String),
    /// No such container.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The container's state does not allow the operation.
    #[error("container {id:?} is {status}: {what}")]
    WrongState {
        /// The container.
        id: String,
        /// Its status.
        status: String,
        /// What cannot be done.
        what: &'static str,
    },
    /// A signal name or number that does not exist.
    #[error("unknown signal {0:?}")]
    BadSignal(String),
    /// The sentry refused or failed a request.
    #[error("container {id:?}: {message}")]
    Sandbox {
        /// The container.
        id: String,
        /// The sentry's message.
        message: String,
    },
    /// An OCI hook failed.
    #[error(transparent)]
    Hook(#[from] super::hooks::HookError),
    /// A command-line value is invalid.
    #[error("{0}")]
    Usage(String),
}
