//! Log set-up for every runsc process (CLI, sentry, gofer): `tracing`
//! events go to a debug-log file when one is given, else to stderr.
//!
//! The level comes from `RUST_LOG` when set, else from the flags: debug
//! with `--debug` or a debug-log file, info with `--strace` (so syscall
//! traces show), warn otherwise.

use crate::error::CliError;
use crate::LogFormat;
use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

/// Where and how a process logs.
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    /// Log file (appended to); stderr when `None`.
    pub file: Option<PathBuf>,
    /// Text or JSON lines.
    pub json: bool,
    /// `--debug`.
    pub debug: bool,
    /// `--strace`: syscall traces are logged at info level.
    pub strace: bool,
}

impl LogConfig {
    /// The log config of a sandbox process named `command` (boot, gofer):
    /// `--debug-log` with `%COMMAND%` expanded like gVisor does.
    pub fn for_command(debug_log: Option<&str>, format: LogFormat, debug: bool, strace: bool, command: &str) -> Self {
        LogConfig {
            file: debug_log.map(|p| PathBuf::from(expand_log_path(p, command))),
            json: format == LogFormat::Json,
            debug,
            strace,
        }
    }
}

/// Expands a debug-log path as gVisor does: `%COMMAND%` (boot, gofer,
/// create, ...) and `%TIMESTAMP%` are replaced, and a path ending in `/`
/// names a directory that gets one file per process, so that every
/// runtime invocation of a container tool keeps its own log.
pub fn expand_log_path(path: &str, command: &str) -> String {
    let path = if path.ends_with('/') {
        format!("{path}runsc.log.%TIMESTAMP%.%COMMAND%")
    } else {
        path.to_string()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = format!("{}.{:06}.{}", now.as_secs(), now.subsec_micros(), std::process::id());
    path.replace("%COMMAND%", command).replace("%TIMESTAMP%", &stamp)
}

/// The default filter directive when `RUST_LOG` is not set.
pub fn default_level(config: &LogConfig) -> &'static str {
    if config.debug || config.file.is_some() {
        "debug"
    } else if config.strace {
        "info"
    } else {
        "warn"
    }
}

/// Installs the global subscriber. Call once, early.
pub fn init(config: &LogConfig) -> Result<(), CliError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("warn")),
        _ => EnvFilter::new(default_level(config)),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    let result = match &config.file {
        Some(path) => {
            let file = open_log(path)?;
            let builder = builder.with_ansi(false).with_writer(Arc::new(file));
            if config.json {
                builder.json().try_init()
            } else {
                builder.try_init()
            }
        }
        None => {
            let builder = builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr);
            if config.json {
                builder.json().try_init()
            } else {
                builder.try_init()
            }
        }
    };
    result.map_err(|e| CliError::Logging {
        path: config.file.clone().unwrap_or_else(|| PathBuf::from("<stderr>")),
        reason: e.to_string(),
    })
}

fn open_log(path: &Path) -> Result<std::fs::File, CliError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CliError::Logging {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_placeholder_is_expanded() {
        assert_eq!(
            expand_log_path("/tmp/runsc.%COMMAND%.log", "boot"),
            "/tmp/runsc.boot.log"
        );
        assert_eq!(expand_log_path("/tmp/plain.log", "gofer"), "/tmp/plain.log");
        let in_dir = expand_log_path("/tmp/logs/", "create");
        assert!(
            in_dir.starts_with("/tmp/logs/runsc.log.") && in_dir.ends_with(".create"),
            "{in_dir}"
        );
        assert!(!in_dir.contains('%'), "{in_dir}");
    }

    #[test]
    fn levels_follow_flags() {
        let mut c = LogConfig::default();
        assert_eq!(default_level(&c), "warn");
        c.strace = true;
        assert_eq!(default_level(&c), "info");
        c.debug = true;
        assert_eq!(default_level(&c), "debug");
        let f = LogConfig {
            file: Some("/tmp/x".into()),
            ..LogConfig::default()
        };
        assert_eq!(default_level(&f), "debug");
    }

    #[test]
    fn for_command_expands_and_selects_format() {
        let c = LogConfig::for_command(Some("/l/%COMMAND%.log"), LogFormat::Json, false, true, "gofer");
        assert_eq!(c.file, Some(PathBuf::from("/l/gofer.log")));
        assert!(c.json && c.strace && !c.debug);
    }
}
