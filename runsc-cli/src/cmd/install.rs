//! `runsc install`: add rvisor to docker's `daemon.json` as a runtime
//! (`{"runtimes": {"rvisor": {"path": ..., "runtimeArgs": [...]}}}`),
//! keeping every other setting. Restart dockerd afterwards.

use crate::error::CliError;
use crate::oci::OciError;
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `runsc install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// docker's daemon configuration file.
    #[arg(long, value_name = "FILE", default_value = "/etc/docker/daemon.json")]
    pub config_file: PathBuf,
    /// The runtime's name in docker (`docker run --runtime NAME`).
    #[arg(long, value_name = "NAME", default_value = "rvisor")]
    pub runtime: String,
    /// The runsc binary docker runs (default: this one).
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Flags docker passes to runsc before the command (e.g. `--overlay2=none`).
    #[arg(value_name = "RUNTIME_ARGS", num_args = 0.., allow_hyphen_values = true, last = true)]
    pub runtime_args: Vec<String>,
}

/// Runs `runsc install`.
pub fn run(args: InstallArgs) -> Result<u8, CliError> {
    let path = match &args.path {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| CliError::io("finding runsc's own path", e))?,
    };
    install(&args.config_file, &args.runtime, &path, &args.runtime_args)?;
    println!(
        "added runtime {:?} ({}) to {}; restart dockerd to use it",
        args.runtime,
        path.display(),
        args.config_file.display()
    );
    Ok(0)
}

/// Adds (or replaces) runtime `name` in the daemon.json at `file`,
/// creating the file if it does not exist, and writes it atomically.
pub fn install(file: &Path, name: &str, path: &Path, runtime_args: &[String]) -> Result<(), CliError> {
    let mut config: serde_json::Value = match std::fs::read(file) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => serde_json::json!({}),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| OciError::Config {
            path: file.to_path_buf(),
            reason: format!("malformed: {e}"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(CliError::io(format!("reading {}", file.display()), e)),
    };
    let bad = |what: &str| OciError::Config {
        path: file.to_path_buf(),
        reason: format!("{what} is not a JSON object"),
    };
    let top = config.as_object_mut().ok_or_else(|| bad("the file"))?;
    let runtimes = top.entry("runtimes").or_insert_with(|| serde_json::json!({}));
    let runtimes = runtimes.as_object_mut().ok_or_else(|| bad("\"runtimes\""))?;
    let mut entry = serde_json::json!({ "path": path });
    if !runtime_args.is_empty() {
        entry["runtimeArgs"] = serde_json::json!(runtime_args);
    }
    runtimes.insert(name.to_string(), entry);
    let text = serde_json::to_string_pretty(&config)? + "\n";
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(format!("creating {}", dir.display()), e))?;
    }
    let tmp = file.with_extension("json.rvisor-tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| CliError::io(format!("writing {}", file.display()), e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn install_adds_the_runtime_and_keeps_other_settings() {
        let dir = std::env::temp_dir().join(format!("runsc-install-{}", std::process::id()));
        let file = dir.join("docker/daemon.json");
        // A missing file is created.
        install(&file, "rvisor", Path::new("/usr/local/bin/runsc"), &[]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"runtimes": {"rvisor": {"path": "/usr/local/bin/runsc"}}})
        );
        // Existing settings and runtimes stay; the entry is replaced.
        std::fs::write(
            &file,
            r#"{"log-level": "warn", "runtimes": {"other": {"path": "/bin/crun"}, "rvisor": {"path": "/old"}}}"#,
        )
        .unwrap();
        install(&file, "rvisor", Path::new("/opt/runsc"), &["--overlay2=none".into()]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(v["log-level"], "warn");
        assert_eq!(v["runtimes"]["other"]["path"], "/bin/crun");
        assert_eq!(
            v["runtimes"]["rvisor"],
            serde_json::json!({"path": "/opt/runsc", "runtimeArgs": ["--overlay2=none"]})
        );
        // Malformed files are refused and left alone.
        std::fs::write(&file, "{not json").unwrap();
        let err = install(&file, "rvisor", Path::new("/x"), &[]).unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json");
        std::fs::write(&file, r#"{"runtimes": []}"#).unwrap();
        assert!(install(&file, "rvisor", Path::new("/x"), &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
