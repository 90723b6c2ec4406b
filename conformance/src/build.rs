//! Compiling the C programs with gcc.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::exec::{self, Status};

/// Why a program could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// gcc ran and rejected the program.
    #[error("gcc failed for {src}:\n{stderr}")]
    Compiler {
        /// The source file.
        src: String,
        /// gcc's diagnostics.
        stderr: String,
    },
    /// gcc could not be run at all.
    #[error("cannot run gcc: {0}")]
    NoCompiler(String),
    /// Listing the source directory failed.
    #[error("cannot list {dir}: {source}")]
    List {
        /// The directory.
        dir: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// How to link a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ordinary dynamic executable (exercises the ELF interpreter path).
    Dynamic,
    /// `-static` (exercises the loader without ld.so).
    Static,
}

/// Compiles `src` into `out` with warnings on and debug info.
pub fn compile(src: &Path, out: &Path, link: Link) -> Result<(), BuildError> {
    let mut cmd = Command::new("gcc");
    cmd.args(["-O1", "-g", "-Wall", "-Wextra", "-o"]).arg(out).arg(src);
    if link == Link::Static {
        cmd.arg("-static");
    }
    let res = exec::run(&mut cmd, Duration::from_secs(120));
    match res.status {
        Status::Exited(0) => Ok(()),
        Status::SpawnFailed(e) => Err(BuildError::NoCompiler(e)),
        _ => Err(BuildError::Compiler {
            src: src.display().to_string(),
            stderr: res.stderr,
        }),
    }
}

/// The `*.c` files of `dir`, sorted by name.
pub fn c_sources(dir: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let rd = std::fs::read_dir(dir).map_err(|source| BuildError::List {
        dir: dir.display().to_string(),
        source,
    })?;
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    out.sort();
    Ok(out)
}

/// The file stem of a source, used as the program (and family) name.
pub fn stem(src: &Path) -> String {
    src.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rvisor-conf-build-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn compiles_and_reports_errors() {
        let d = scratch("compile");
        let good = d.join("good.c");
        std::fs::write(&good, "int main(void) { return 7; }\n").unwrap();
        let exe = d.join("good");
        compile(&good, &exe, Link::Dynamic).unwrap();
        let st = std::process::Command::new(&exe).status().unwrap();
        assert_eq!(st.code(), Some(7));
        let bad = d.join("bad.c");
        std::fs::write(&bad, "int main(void) { return nope; }\n").unwrap();
        let err = compile(&bad, &d.join("bad"), Link::Dynamic).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn lists_the_suite_sorted() {
        let srcs = c_sources(&crate::locate::tests_dir()).unwrap();
        let names: Vec<String> = srcs.iter().map(|p| stem(p)).collect();
        assert!(names.contains(&"files".to_string()));
        assert!(names.contains(&"mm".to_string()));
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
