//! Helpers shared by the end-to-end tests of `runsc` (each test binary uses
//! a subset of them).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary under test.
pub const RUNSC: &str = env!("CARGO_BIN_EXE_runsc");
/// How long one command may run before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Output of a finished command.
pub struct Out {
    /// Exit code, or 128+N when killed by signal N.
    pub code: i32,
    /// Everything the command wrote to stdout.
    pub stdout: String,
    /// Everything the command wrote to stderr.
    pub stderr: String,
    /// Wall time until it exited.
    pub elapsed: Duration,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with stdin from /dev/null, capturing output, killing it after TIMEOUT.
pub fn run(cmd: &mut Command) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = start + TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {TIMEOUT:?}: {cmd:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Out {
        code,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        elapsed,
    }
}

/// A unique name fragment for temp files.
pub fn unique() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{}-{nanos}", std::process::id())
}

/// A fresh temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("runsc-it-{tag}-{}", unique()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles a C program with gcc into `dir` and returns the executable path.
pub fn compile_c(dir: &Path, name: &str, src: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let exe = dir.join(name);
    let out = run(Command::new("gcc").arg("-O0").arg("-o").arg(&exe).arg(&c));
    assert_eq!(out.code, 0, "gcc failed: {out:?}");
    exe
}

/// A digest of every name, type, mode, symlink target and file content
/// under `root` (sorted), skipping the top-level entries named in `skip`:
/// equal digests mean nothing in the tree changed.
pub fn tree_digest(root: &Path, skip: &[&str]) -> Vec<String> {
    use std::hash::{DefaultHasher, Hasher};
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if dir == root && skip.contains(&rel.as_str()) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let detail = if meta.is_symlink() {
                std::fs::read_link(&path).unwrap().to_string_lossy().into_owned()
            } else if meta.is_dir() {
                stack.push(path.clone());
                String::new()
            } else if meta.is_file() {
                let mut h = DefaultHasher::new();
                h.write(&std::fs::read(&path).unwrap_or_default());
                format!("{:016x} {}", h.finish(), meta.len())
            } else {
                String::new()
            };
            out.push(format!(
                "{rel} {:o} {}:{} {detail}",
                meta.mode(),
                meta.uid(),
                meta.gid()
            ));
        }
    }
    out.sort();
    out
}

/// Runs `runsc --root STATE ARGS` in `dir` with its output in files there
/// (a sandbox it leaves running keeps its stdio open, so pipes would never
/// close), failing the test after TIMEOUT.
pub fn runsc_with_state(dir: &Path, state: &Path, args: &[&str]) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let n = unique();
    let (out_path, err_path) = (dir.join(format!("out-{n}")), dir.join(format!("err-{n}")));
    let start = Instant::now();
    let mut child = Command::new(RUNSC)
        .arg("--root")
        .arg(state)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < TIMEOUT, "timed out: runsc {args:?}");
        thread::sleep(Duration::from_millis(5));
    };
    Out {
        code: status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        elapsed: start.elapsed(),
    }
}
