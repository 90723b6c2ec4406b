//! Where things are: the workspace root, the C sources and the `runsc` binary.

use std::path::{Path, PathBuf};

/// The workspace root (the parent of this crate's manifest directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// Directory holding the conformance C programs (`tests/*.c`).
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Directory holding the benchmark C programs (`bench/*.c`).
pub fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench")
}

/// Candidate `runsc` paths in preference order: `$CARGO_TARGET_DIR` first (if
/// set at run time), then the workspace `target/`; release before debug.
pub fn runsc_candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(workspace_root().join("target"));
    let mut out = Vec::new();
    for dir in dirs {
        out.push(dir.join("release").join("runsc"));
        out.push(dir.join("debug").join("runsc"));
    }
    out
}

/// The default `runsc`: the first candidate that exists.
pub fn default_runsc() -> Option<PathBuf> {
    runsc_candidates().into_iter().find(|p| p.is_file())
}

/// Finds an executable by name in `$PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_dir_holds_c_programs() {
        assert!(tests_dir().join("common.h").is_file());
        assert!(tests_dir().join("files.c").is_file());
    }

    #[test]
    fn candidates_are_under_a_target_dir() {
        let c = runsc_candidates();
        assert!(c.len() >= 2);
        assert!(c
            .iter()
            .all(|p| p.ends_with("release/runsc") || p.ends_with("debug/runsc")));
        assert!(c.contains(&workspace_root().join("target/release/runsc")));
    }

    #[test]
    fn which_finds_sh() {
        assert!(which("sh").is_some());
        assert!(which("rvisor-no-such-program-xyz").is_none());
    }
}
