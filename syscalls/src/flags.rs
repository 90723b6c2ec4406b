//! Flag sets of the x86-64 ABI as `bitflags`, each able to render itself the
//! way strace does (`O_RDONLY|O_CLOEXEC`, unknown bits as trailing hex), plus
//! the enumerated constants for `lseek` whence and clock ids.
//!
//! Values are the x86-64 kernel's, written out here (not taken from the host
//! libc) so the guest ABI does not depend on the host.

use bitflags::Flags;

/// Renders `value` as `PREFIX_A|PREFIX_B|0x..` using the flag set's names in
/// declaration order (multi-bit flags declared first win); `zero` when empty.
fn render<F>(value: F, prefix: &str, zero: &str) -> String
where
    F: Flags,
    F::Bits: Into<u64>,
{
    let mut parts: Vec<String> = Vec::new();
    let mut iter = value.iter_names();
    for (name, _) in iter.by_ref() {
        parts.push(format!("{prefix}{name}"));
    }
    let rest: u64 = iter.remaining().bits().into();
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    if parts.is_empty() {
        zero.to_string()
    } else {
        parts.join("|")
    }
}

bitflags::bitflags! {
    /// `open(2)` flags beyond the access mode (which [`OpenFlags::render`] prints).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct OpenFlags: u32 {
        /// `O_SYNC` is `__O_SYNC|O_DSYNC`; declared first so it wins.
        const SYNC = 0o4010000;
        /// `O_TMPFILE` is `__O_TMPFILE|O_DIRECTORY`.
        const TMPFILE = 0o20200000;
        /// Open for writing only.
        const WRONLY = 0o1;
        /// Open for reading and writing.
        const RDWR = 0o2;
        /// Create if missing.
        const CREAT = 0o100;
        /// Fail if it exists (with CREAT).
        const EXCL = 0o200;
        /// Do not become the controlling terminal.
        const NOCTTY = 0o400;
        /// Truncate to zero length.
        const TRUNC = 0o1000;
        /// Writes append.
        const APPEND = 0o2000;
        /// Non-blocking I/O.
        const NONBLOCK = 0o4000;
        /// Synchronized data writes.
        const DSYNC = 0o10000;
        /// Signal-driven I/O (`FASYNC`).
        const ASYNC = 0o20000;
        /// Bypass the page cache.
        const DIRECT = 0o40000;
        /// Large-file offsets (implied on 64-bit).
        const LARGEFILE = 0o100000;
        /// Fail unless a directory.
        const DIRECTORY = 0o200000;
        /// Do not follow a final symlink.
        const NOFOLLOW = 0o400000;
        /// Do not update atime.
        const NOATIME = 0o1000000;
        /// Close on exec.
        const CLOEXEC = 0o2000000;
        /// Path-only descriptor.
        const PATH = 0o10000000;
    }
}

impl OpenFlags {
    /// The access-mode mask (`O_ACCMODE`).
    pub const ACCMODE: u32 = 0o3;
    /// The read-only access mode (zero, hence not a flag).
    pub const RDONLY: u32 = 0;

    /// Whether a mode argument is meaningful (`O_CREAT` or `O_TMPFILE`).
    pub fn needs_mode(self) -> bool {
        self.contains(OpenFlags::CREAT) || self.contains(OpenFlags::TMPFILE)
    }

    /// strace rendering: the access mode first (`O_RDONLY`, `O_WRONLY`,
    /// `O_RDWR` or `O_ACCMODE`), then the other flags, then unknown bits.
    pub fn render(self) -> String {
        let acc = match self.bits() & Self::ACCMODE {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            2 => "O_RDWR",
            _ => "O_ACCMODE",
        };
        let rest = OpenFlags::from_bits_retain(self.bits() & !Self::ACCMODE);
        if rest.is_empty() {
            acc.to_string()
        } else {
            format!("{acc}|{}", render(rest, "O_", ""))
        }
    }
}

bitflags::bitflags! {
    /// `AT_*` flags of the `*at` calls.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct AtFlags: u32 {
        /// Do not follow a final symlink.
        const SYMLINK_NOFOLLOW = 0x100;
        /// unlinkat: remove a directory.
        const REMOVEDIR = 0x200;
        /// linkat: follow a final symlink.
        const SYMLINK_FOLLOW = 0x400;
        /// Do not trigger automounts.
        const NO_AUTOMOUNT = 0x800;
        /// Operate on the fd itself when the path is empty.
        const EMPTY_PATH = 0x1000;
        /// statx: force a sync with the server.
        const STATX_FORCE_SYNC = 0x2000;
        /// statx: do not sync.
        const STATX_DONT_SYNC = 0x4000;
        /// Apply to the whole subtree.
        const RECURSIVE = 0x8000;
        /// faccessat: use effective ids (same bit as REMOVEDIR; never rendered).
        const EACCESS = 0x200;
    }
}

impl AtFlags {
    /// The `dirfd` value meaning "relative to the current directory".
    pub const FDCWD: i32 = -100;

    /// strace rendering, `0` when empty.
    pub fn render(self) -> String {
        render(self, "AT_", "0")
    }
}

bitflags::bitflags! {
    /// `PROT_*` memory protection.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MmapProt: u32 {
        /// Readable.
        const READ = 0x1;
        /// Writable.
        const WRITE = 0x2;
        /// Executable.
        const EXEC = 0x4;
        /// Usable for atomic ops (no-op on x86).
        const SEM = 0x8;
        /// mprotect: extend down to the start of a grows-down mapping.
        const GROWSDOWN = 0x0100_0000;
        /// mprotect: extend up to the end of a grows-up mapping.
        const GROWSUP = 0x0200_0000;
    }
}

impl MmapProt {
    /// strace rendering, `PROT_NONE` when empty.
    pub fn render(self) -> String {
        render(self, "PROT_", "PROT_NONE")
    }
}

bitflags::bitflags! {
    /// `MAP_*` mapping flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MmapFlags: u32 {
        /// Shared with flag validation (`SHARED|PRIVATE` bits); declared first.
        const SHARED_VALIDATE = 0x3;
        /// Shared mapping.
        const SHARED = 0x1;
        /// Private copy-on-write mapping.
        const PRIVATE = 0x2;
        /// Place exactly at `addr`, replacing what is there.
        const FIXED = 0x10;
        /// Not backed by a file.
        const ANONYMOUS = 0x20;
        /// Below 2 GiB.
        const _32BIT = 0x40;
        /// Stack-like, grows down.
        const GROWSDOWN = 0x100;
        /// Ignored.
        const DENYWRITE = 0x800;
        /// Ignored.
        const EXECUTABLE = 0x1000;
        /// Lock the pages.
        const LOCKED = 0x2000;
        /// Do not reserve swap.
        const NORESERVE = 0x4000;
        /// Prefault the pages.
        const POPULATE = 0x8000;
        /// With POPULATE: do not block.
        const NONBLOCK = 0x10000;
        /// Suitable for a thread stack.
        const STACK = 0x20000;
        /// Use huge pages.
        const HUGETLB = 0x40000;
        /// DAX synchronous faults.
        const SYNC = 0x80000;
        /// Like FIXED but fail instead of replacing.
        const FIXED_NOREPLACE = 0x100000;
        /// Do not clear anonymous pages (embedded only).
        const UNINITIALIZED = 0x400_0000;
    }
}

impl MmapFlags {
    /// strace rendering, `0` when empty.
    pub fn render(self) -> String {
        // `_32BIT` is a Rust identifier workaround; strace prints MAP_32BIT.
        render(self, "MAP_", "0").replace("MAP__32BIT", "MAP_32BIT")
    }
}

bitflags::bitflags! {
    /// `CLONE_*` flags (64-bit for clone3; for clone(2) the low byte holds
    /// the exit signal, see [`CloneFlags::render_clone`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CloneFlags: u64 {
        /// New time namespace (shares the bit with the clone(2) exit signal).
        const NEWTIME = 0x80;
        /// Share the address space.
        const VM = 0x100;
        /// Share cwd, root, umask.
        const FS = 0x200;
        /// Share the fd table.
        const FILES = 0x400;
        /// Share signal handlers.
        const SIGHAND = 0x800;
        /// Return a pidfd.
        const PIDFD = 0x1000;
        /// Continue tracing the child.
        const PTRACE = 0x2000;
        /// Suspend the parent until the child execs or exits.
        const VFORK = 0x4000;
        /// Same parent as the caller.
        const PARENT = 0x8000;
        /// Same thread group.
        const THREAD = 0x10000;
        /// New mount namespace.
        const NEWNS = 0x20000;
        /// Share System V semaphore undo.
        const SYSVSEM = 0x40000;
        /// Set the TLS (fs base).
        const SETTLS = 0x80000;
        /// Store the child tid in the parent.
        const PARENT_SETTID = 0x10_0000;
        /// Clear the child tid at exit and futex-wake it.
        const CHILD_CLEARTID = 0x20_0000;
        /// Ignored.
        const DETACHED = 0x40_0000;
        /// No forced tracing.
        const UNTRACED = 0x80_0000;
        /// Store the child tid in the child.
        const CHILD_SETTID = 0x100_0000;
        /// New cgroup namespace.
        const NEWCGROUP = 0x200_0000;
        /// New UTS namespace.
        const NEWUTS = 0x400_0000;
        /// New IPC namespace.
        const NEWIPC = 0x800_0000;
        /// New user namespace.
        const NEWUSER = 0x1000_0000;
        /// New PID namespace.
        const NEWPID = 0x2000_0000;
        /// New network namespace.
        const NEWNET = 0x4000_0000;
        /// Share the I/O context.
        const IO = 0x8000_0000;
        /// clone3: reset signal handlers.
        const CLEAR_SIGHAND = 0x1_0000_0000;
        /// clone3: start in the given cgroup.
        const INTO_CGROUP = 0x2_0000_0000;
    }
}

impl CloneFlags {
    /// The clone(2) exit-signal mask (`CSIGNAL`).
    pub const CSIGNAL: u64 = 0xff;

    /// strace rendering for unshare/setns/clone3 flags, `0` when empty.
    pub fn render(self) -> String {
        render(self, "CLONE_", "0")
    }

    /// strace rendering for clone(2): flags, then the exit signal by name.
    pub fn render_clone(self) -> String {
        let sig = self.bits() & Self::CSIGNAL;
        let flags = CloneFlags::from_bits_retain(self.bits() & !Self::CSIGNAL);
        let mut out = if flags.is_empty() {
            String::new()
        } else {
            render(flags, "CLONE_", "")
        };
        if sig != 0 {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(&crate::names::signal_name(sig));
        }
        if out.is_empty() {
            out.push('0');
        }
        out
    }
}

bitflags::bitflags! {
    /// `access(2)` mode bits; zero is `F_OK`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct AccessMode: u32 {
        /// Readable.
        const R_OK = 4;
        /// Writable.
        const W_OK = 2;
        /// Executable.
        const X_OK = 1;
    }
}

impl AccessMode {
    /// strace rendering, `F_OK` when empty.
    pub fn render(self) -> String {
        render(self, "", "F_OK")
    }
}

/// `lseek` whence values.
pub mod whence {
    /// From the start of the file.
    pub const SEEK_SET: u32 = 0;
    /// From the current offset.
    pub const SEEK_CUR: u32 = 1;
    /// From the end of the file.
    pub const SEEK_END: u32 = 2;
    /// To the next data at or after the offset.
    pub const SEEK_DATA: u32 = 3;
    /// To the next hole at or after the offset.
    pub const SEEK_HOLE: u32 = 4;

    /// The symbolic name of a whence value.
    pub fn name(v: u64) -> Option<&'static str> {
        Some(match v {
            0 => "SEEK_SET",
            1 => "SEEK_CUR",
            2 => "SEEK_END",
            3 => "SEEK_DATA",
            4 => "SEEK_HOLE",
            _ => return None,
        })
    }
}

/// Clock ids for `clock_gettime` and friends.
pub mod clock {
    /// Wall-clock time.
    pub const CLOCK_REALTIME: i32 = 0;
    /// Monotonic time since boot, not counting suspend.
    pub const CLOCK_MONOTONIC: i32 = 1;
    /// CPU time of the process.
    pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    /// CPU time of the thread.
    pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    /// Monotonic time without NTP slewing.
    pub const CLOCK_MONOTONIC_RAW: i32 = 4;
    /// Fast, coarse wall-clock time.
    pub const CLOCK_REALTIME_COARSE: i32 = 5;
    /// Fast, coarse monotonic time.
    pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
    /// Monotonic time including suspend.
    pub const CLOCK_BOOTTIME: i32 = 7;
    /// Wall-clock alarm (wakes from suspend).
    pub const CLOCK_REALTIME_ALARM: i32 = 8;
    /// Boot-time alarm (wakes from suspend).
    pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
    /// International Atomic Time.
    pub const CLOCK_TAI: i32 = 11;

    /// The symbolic name of a clock id (negative ids are per-process/thread CPU clocks).
    pub fn name(v: i32) -> Option<&'static str> {
        Some(match v {
            0 => "CLOCK_REALTIME",
            1 => "CLOCK_MONOTONIC",
            2 => "CLOCK_PROCESS_CPUTIME_ID",
            3 => "CLOCK_THREAD_CPUTIME_ID",
            4 => "CLOCK_MONOTONIC_RAW",
            5 => "CLOCK_REALTIME_COARSE",
            6 => "CLOCK_MONOTONIC_COARSE",
            7 => "CLOCK_BOOTTIME",
            8 => "CLOCK_REALTIME_ALARM",
            9 => "CLOCK_BOOTTIME_ALARM",
            11 => "CLOCK_TAI",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_render_like_strace() {
        let f = OpenFlags::from_bits_retain(libc::O_RDONLY as u32 | libc::O_CLOEXEC as u32);
        assert_eq!(f.render(), "O_RDONLY|O_CLOEXEC");
        let f = OpenFlags::from_bits_retain((libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u32);
        assert_eq!(f.render(), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(OpenFlags::empty().render(), "O_RDONLY");
        let f = OpenFlags::from_bits_retain(libc::O_RDWR as u32 | libc::O_TMPFILE as u32);
        assert_eq!(f.render(), "O_RDWR|O_TMPFILE");
        let f = OpenFlags::from_bits_retain(libc::O_SYNC as u32);
        assert_eq!(f.render(), "O_RDONLY|O_SYNC");
        let f = OpenFlags::from_bits_retain(0o2 | 0x8000_0000);
        assert_eq!(f.render(), "O_RDWR|0x80000000");
        assert!(OpenFlags::from_bits_retain(libc::O_TMPFILE as u32).needs_mode());
        assert!(!OpenFlags::DIRECTORY.needs_mode());
    }

    #[test]
    fn open_flag_values_match_libc() {
        let pairs: &[(OpenFlags, i32)] = &[
            (OpenFlags::WRONLY, libc::O_WRONLY),
            (OpenFlags::RDWR, libc::O_RDWR),
            (OpenFlags::CREAT, libc::O_CREAT),
            (OpenFlags::EXCL, libc::O_EXCL),
            (OpenFlags::NOCTTY, libc::O_NOCTTY),
            (OpenFlags::TRUNC, libc::O_TRUNC),
            (OpenFlags::APPEND, libc::O_APPEND),
            (OpenFlags::NONBLOCK, libc::O_NONBLOCK),
            (OpenFlags::DSYNC, libc::O_DSYNC),
            (OpenFlags::SYNC, libc::O_SYNC),
            (OpenFlags::ASYNC, libc::O_ASYNC),
            (OpenFlags::DIRECT, libc::O_DIRECT),
            (OpenFlags::LARGEFILE, 0o100000),
            (OpenFlags::DIRECTORY, libc::O_DIRECTORY),
            (OpenFlags::NOFOLLOW, libc::O_NOFOLLOW),
            (OpenFlags::NOATIME, libc::O_NOATIME),
            (OpenFlags::CLOEXEC, libc::O_CLOEXEC),
            (OpenFlags::PATH, libc::O_PATH),
            (OpenFlags::TMPFILE, libc::O_TMPFILE),
        ];
        for (f, v) in pairs {
            assert_eq!(f.bits(), *v as u32, "{f:?}");
        }
    }

    #[test]
    fn mmap_flags_and_prot_match_libc_and_render() {
        assert_eq!(MmapProt::READ.bits(), libc::PROT_READ as u32);
        assert_eq!(MmapProt::WRITE.bits(), libc::PROT_WRITE as u32);
        assert_eq!(MmapProt::EXEC.bits(), libc::PROT_EXEC as u32);
        assert_eq!(MmapProt::GROWSDOWN.bits(), libc::PROT_GROWSDOWN as u32);
        assert_eq!(MmapFlags::SHARED.bits(), libc::MAP_SHARED as u32);
        assert_eq!(MmapFlags::SHARED_VALIDATE.bits(), libc::MAP_SHARED_VALIDATE as u32);
        assert_eq!(MmapFlags::FIXED.bits(), libc::MAP_FIXED as u32);
        assert_eq!(MmapFlags::ANONYMOUS.bits(), libc::MAP_ANONYMOUS as u32);
        assert_eq!(MmapFlags::_32BIT.bits(), libc::MAP_32BIT as u32);
        assert_eq!(MmapFlags::NORESERVE.bits(), libc::MAP_NORESERVE as u32);
        assert_eq!(MmapFlags::POPULATE.bits(), libc::MAP_POPULATE as u32);
        assert_eq!(MmapFlags::STACK.bits(), libc::MAP_STACK as u32);
        assert_eq!(MmapFlags::HUGETLB.bits(), libc::MAP_HUGETLB as u32);
        assert_eq!(MmapFlags::FIXED_NOREPLACE.bits(), libc::MAP_FIXED_NOREPLACE as u32);
        assert_eq!(MmapProt::empty().render(), "PROT_NONE");
        assert_eq!((MmapProt::READ | MmapProt::WRITE).render(), "PROT_READ|PROT_WRITE");
        assert_eq!(
            (MmapFlags::PRIVATE | MmapFlags::ANONYMOUS).render(),
            "MAP_PRIVATE|MAP_ANONYMOUS"
        );
        assert_eq!(
            (MmapFlags::SHARED_VALIDATE | MmapFlags::SYNC).render(),
            "MAP_SHARED_VALIDATE|MAP_SYNC"
        );
        assert_eq!(
            (MmapFlags::PRIVATE | MmapFlags::_32BIT).render(),
            "MAP_PRIVATE|MAP_32BIT"
        );
        assert_eq!(MmapFlags::from_bits_retain(0x2 | 0x200).render(), "MAP_PRIVATE|0x200");
    }

    #[test]
    fn at_and_clone_flags() {
        assert_eq!(AtFlags::SYMLINK_NOFOLLOW.bits(), libc::AT_SYMLINK_NOFOLLOW as u32);
        assert_eq!(AtFlags::REMOVEDIR.bits(), libc::AT_REMOVEDIR as u32);
        assert_eq!(AtFlags::EMPTY_PATH.bits(), libc::AT_EMPTY_PATH as u32);
        assert_eq!(AtFlags::FDCWD, libc::AT_FDCWD);
        assert_eq!(AtFlags::REMOVEDIR.render(), "AT_REMOVEDIR");
        assert_eq!(AtFlags::empty().render(), "0");
        assert_eq!(
            (AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW).render(),
            "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"
        );
        assert_eq!(CloneFlags::VM.bits(), libc::CLONE_VM as u64);
        assert_eq!(CloneFlags::THREAD.bits(), libc::CLONE_THREAD as u64);
        assert_eq!(CloneFlags::NEWUSER.bits(), libc::CLONE_NEWUSER as u64);
        assert_eq!(CloneFlags::IO.bits(), libc::CLONE_IO as u32 as u64);
        assert_eq!(CloneFlags::CHILD_CLEARTID.bits(), libc::CLONE_CHILD_CLEARTID as u64);
        let f = CloneFlags::from_bits_retain(
            (libc::CLONE_CHILD_CLEARTID | libc::CLONE_CHILD_SETTID | libc::SIGCHLD) as u64,
        );
        assert_eq!(f.render_clone(), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
        assert_eq!(
            (CloneFlags::NEWNS | CloneFlags::NEWPID).render(),
            "CLONE_NEWNS|CLONE_NEWPID"
        );
        assert_eq!(CloneFlags::empty().render_clone(), "0");
    }

    #[test]
    fn whence_clock_access() {
        assert_eq!(whence::name(libc::SEEK_END as u64), Some("SEEK_END"));
        assert_eq!(whence::name(9), None);
        assert_eq!(clock::name(libc::CLOCK_MONOTONIC), Some("CLOCK_MONOTONIC"));
        assert_eq!(clock::name(libc::CLOCK_TAI), Some("CLOCK_TAI"));
        assert_eq!(clock::CLOCK_BOOTTIME, libc::CLOCK_BOOTTIME);
        assert_eq!(clock::name(10), None);
        assert_eq!(AccessMode::empty().render(), "F_OK");
        assert_eq!((AccessMode::R_OK | AccessMode::X_OK).render(), "R_OK|X_OK");
    }
}
