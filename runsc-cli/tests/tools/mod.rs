//! Helpers for the tests that drive rvisor through real container tools
//! (podman, docker, containerd): finding the tools, a busybox image
//! rootfs made locally (nothing is pulled), and daemons started and
//! stopped by the test itself.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{self, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The static busybox that the test images are made of.
pub const BUSYBOX: &str = "/bin/busybox";

/// The first of `paths` that exists, or `None` after printing why the
/// test is skipped (only when a tool is not installed; `.ci/run`
/// installs them all).
pub fn tool(test: &str, paths: &[&str]) -> Option<PathBuf> {
    let found = paths.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        eprintln!("SKIP {test}: {} not installed", paths.join(" or "));
    }
    found
}

/// Whether every tool of `paths` exists (printing a skip message if not).
pub fn tools(test: &str, paths: &[&str]) -> bool {
    paths.iter().all(|p| tool(test, &[p]).is_some())
}

/// A static busybox root filesystem in `dir/rootfs`: /bin with busybox
/// and its applets as symlinks, an /etc/os-release to read back, and the
/// empty directories runtimes mount over.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap();
    let list = common::run(Command::new(BUSYBOX).arg("--list"));
    assert_eq!(list.code, 0, "{list:?}");
    for applet in list.stdout.lines().filter(|a| !a.is_empty() && *a != "busybox") {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    std::fs::write(
        root.join("etc/os-release"),
        "PRETTY_NAME=\"rvisor busybox test\"\nID=busybox\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    root
}

/// A tar of `rootfs` next to it (for `podman import FILE`, `docker import FILE`).
pub fn tarball(rootfs: &Path) -> PathBuf {
    let tar = rootfs.with_extension("tar");
    let out = common::run(Command::new("tar").arg("-C").arg(rootfs).arg("-cf").arg(&tar).arg("."));
    assert_eq!(out.code, 0, "tar: {out:?}");
    tar
}

/// A wrapper runtime that logs each command line of runsc to `log` and
/// execs it, so a test can check what the tool asked for.
pub fn logging_runtime(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("runsc-logged");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            common::RUNSC
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A daemon started by a test, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    pub child: Child,
    pub name: &'static str,
}

impl Daemon {
    /// Starts `cmd` with its output in `log` and waits until `ready` exists
    /// (its socket), failing with the log if it does not come up.
    pub fn start(name: &'static str, cmd: &mut Command, log: &Path, ready: &Path) -> Daemon {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut d = Daemon { child, name };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready.exists() {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!(
                    "{name} exited ({st}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{name} did not come up: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM: killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Unmounts whatever is still mounted under `dir` (deepest first), so the
/// temp dir of a daemon's state can be removed.
pub fn unmount_under(dir: &Path) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return;
    };
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The test's temp dir, with mounts under it removed first on drop.
pub struct Scratch(pub TempDir);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        Scratch(TempDir::new(tag))
    }
    pub fn path(&self) -> &Path {
        &self.0 .0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        unmount_under(&self.0 .0);
    }
}

/// Whether host process `pid` is gone (or a zombie nobody reaped yet).
pub fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')),
    }
}

/// Polls `cond` for up to 20 seconds.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A tmux server of its own (`-L`), killed on drop.
pub struct Tmux(String);

impl Tmux {
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.0]);
        c
    }
    pub fn keys(&self, keys: &[&str]) {
        let out = common::run(self.cmd().args(["send-keys", "-t", "t"]).args(keys));
        assert_eq!(out.code, 0, "{out:?}");
    }
    pub fn screen(&self) -> String {
        common::run(self.cmd().args(["capture-pane", "-p", "-t", "t"])).stdout
    }
    /// Waits until the screen shows `text` (after `after` occurrences).
    pub fn wait_for(&self, text: &str, count: usize) -> String {
        let ok = eventually(|| self.screen().matches(text).count() >= count);
        let screen = self.screen();
        assert!(ok, "{text:?} x{count} not on the screen:\n{screen}");
        screen
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = common::run(self.cmd().arg("kill-server"));
    }
}

/// Drives an interactive busybox shell started by `command_line` (a
/// container tool's `run -it` or `exec -it`) on a tmux terminal of 100x30:
/// the shell reads what is typed, ^C interrupts the foreground job and not
/// the shell, `stty` sees the terminal's size, and the exit status comes
/// back. `tty` names the terminal in /dev/pts; with `console` it is the
/// container's console: /dev/pts/0, also reachable as /dev/console (as
/// under runc).
pub fn interactive_shell_session(tag: &str, command_line: &str, console: bool) {
    let tmux = Tmux(format!("rvisor-{tag}-{}", common::unique()));
    let script = format!("{command_line}; echo EXITED $?; sleep 60");
    let out = common::run(
        tmux.cmd()
            .args(["new-session", "-d", "-s", "t", "-x", "100", "-y", "30", &script]),
    );
    assert_eq!(out.code, 0, "{out:?}");
    tmux.wait_for("/ #", 1);
    tmux.keys(&["echo $((6*7))", "Enter"]);
    tmux.wait_for("\n42\n", 1);
    tmux.keys(&["sleep 30; echo after $?", "Enter"]);
    std::thread::sleep(Duration::from_millis(700));
    tmux.keys(&["C-c"]);
    // The prompt comes back long before the 30 s, and the shell lives.
    tmux.wait_for("/ #", 3);
    tmux.keys(&["tty; echo tty-done", "Enter"]);
    let screen = tmux.wait_for("\ntty-done", 1);
    assert!(screen.contains("\n/dev/pts/"), "{tag}: {screen}");
    if console {
        assert!(screen.contains("\n/dev/pts/0\n"), "{tag}: {screen}");
        tmux.keys(&["[ /dev/console -ef /dev/pts/0 ] && echo console-$((3*5))", "Enter"]);
        tmux.wait_for("\nconsole-15", 1);
    }
    tmux.keys(&["stty size; exit 7", "Enter"]);
    let screen = tmux.wait_for("EXITED 7", 1);
    assert!(screen.contains("30 100\n"), "{tag}: {screen}");
    assert!(!screen.contains("\nafter "), "{tag}: ^C did not stop the job: {screen}");
}
