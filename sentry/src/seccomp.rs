//! The sentry's own host seccomp allow-list (invariant 4: a compromised
//! sentry is still boxed in).
//!
//! Installed by [`install`] once the sentry has confined itself, dropped its
//! capabilities and forked the zygote (so neither the zygote nor the stubs
//! inherit it; they have their own, stricter filter), and before it talks
//! to the gofer or runs any guest code. `SECCOMP_FILTER_FLAG_TSYNC` puts it
//! on every sentry thread that exists by then; later threads inherit it.
//!
//! Three filters are stacked (the kernel applies the strictest verdict):
//!
//! 1. the allow-list ([`allow_rules`]): every host syscall the sentry makes,
//!    several with their arguments pinned; anything else kills the whole
//!    sentry (`SECCOMP_RET_KILL_PROCESS`), and with it the sandbox;
//! 2. path lookups fail with `EPERM` ([`path_rules`]): `open`, `openat`,
//!    `openat2`, `stat`, `access`, `readlink`..., and `newfstatat`/`statx`
//!    without `AT_EMPTY_PATH`. The sentry has an empty root and never opens
//!    a path (invariant 2), but libraries may probe one (glibc's malloc
//!    reads `/proc/sys/vm/overcommit_memory`, a Rust backtrace
//!    `/proc/self/exe`): they must get an error, not kill the sandbox;
//! 3. `clone3` fails with `ENOSYS`, so glibc falls back to `clone`, whose
//!    flags a filter can read: only threads may be created, never processes
//!    or namespaces.
//!
//! Debugging: `RVISOR_SENTRY_SECCOMP=log` in the sentry's environment makes
//! filter 1 log (`SECCOMP_RET_LOG`: the call runs, the kernel's audit log
//! shows `type=1326 ... syscall=N`) instead of kill. The variable is read
//! from the host environment of `runsc`, which only the host operator
//! controls, and it can only turn a kill into a log line; filters 2 and 3
//! stay in force.

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// The environment variable that selects [`Mode::Log`].
pub const MODE_ENV: &str = "RVISOR_SENTRY_SECCOMP";

/// What a syscall outside the allow-list does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Kill the sentry process (the default).
    Enforce,
    /// Run it and log it to the kernel's audit log (diagnosis only).
    Log,
}

impl Mode {
    /// [`Mode::Log`] if `RVISOR_SENTRY_SECCOMP=log`, else [`Mode::Enforce`].
    pub fn from_env() -> Mode {
        match std::env::var(MODE_ENV) {
            Ok(v) if v == "log" => Mode::Log,
            _ => Mode::Enforce,
        }
    }
}

/// Why the filter could not be built or installed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// seccompiler refused a rule or the program.
    #[error("building the sentry's seccomp filter: {0}")]
    Build(String),
    /// The kernel refused the filter.
    #[error("installing the sentry's seccomp filter: {0}")]
    Install(String),
}

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

fn build_err(e: impl std::fmt::Display) -> SeccompError {
    SeccompError::Build(e.to_string())
}

/// One rule: argument `arg` (`len` wide) compared with `op` against `value`.
fn arg(arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64) -> Result<SeccompRule, SeccompError> {
    let cond = SeccompCondition::new(arg, len, op, value).map_err(build_err)?;
    SeccompRule::new(vec![cond]).map_err(build_err)
}

/// Rules allowing argument `n` (a 32-bit value) to be any of `values`.
fn arg_in(n: u8, values: &[u64]) -> Result<Vec<SeccompRule>, SeccompError> {
    values
        .iter()
        .map(|&v| arg(n, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, v))
        .collect()
}

/// `F_ADD_SEALS` / `F_GET_SEALS` (memfd seals), not in every libc crate.
const F_ADD_SEALS: u64 = 1033;
const F_GET_SEALS: u64 = 1034;
/// `PR_SET_VMA` (newer glibc names its thread stacks with it).
const PR_SET_VMA: u64 = 0x5356_4d41;
/// `SYS_clone3`, `SYS_openat2`, `SYS_faccessat2`.
const SYS_CLONE3: i64 = 435;
const SYS_OPENAT2: i64 = 437;
const SYS_FACCESSAT2: i64 = 439;

/// The clone flags every thread of the sentry is created with (glibc's
/// `pthread_create`); [`THREAD_CHECKED_FLAGS`] must match them exactly.
const THREAD_FLAGS: u64 =
    (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_SIGHAND | libc::CLONE_THREAD) as u64;
/// The clone flags checked: a thread shares everything and makes no new
/// namespace, is not traced and is not a vfork.
const THREAD_CHECKED_FLAGS: u64 = THREAD_FLAGS
    | (libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_PTRACE
        | libc::CLONE_VFORK
        | libc::CLONE_PARENT
        | libc::CLONE_UNTRACED) as u64;

/// The allow-list: every host syscall the sentry makes after confinement,
/// as (syscall, rules); an empty rule list allows every call.
pub fn allow_rules() -> Result<Rules, SeccompError> {
    let mut map = Rules::new();
    let any = [
        // Memory of the sentry itself (allocator, thread stacks, memfd
        // mappings of the in-memory filesystems); mmap and mprotect below.
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_madvise,
        libc::SYS_brk,
        libc::SYS_msync,
        // Waiting for the stubs and copying guest memory (ptrace below).
        libc::SYS_wait4,
        libc::SYS_waitid,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        // I/O on fds it holds: donated by the gofer, memfds, the guest's
        // stdio, sockets to the gofer, the zygote and the control client.
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_pread64,
        libc::SYS_pwrite64,
        libc::SYS_preadv,
        libc::SYS_pwritev,
        libc::SYS_preadv2,
        libc::SYS_pwritev2,
        libc::SYS_lseek,
        libc::SYS_close,
        libc::SYS_dup,
        libc::SYS_dup3,
        libc::SYS_fstat,
        libc::SYS_fstatfs,
        libc::SYS_getdents64,
        libc::SYS_ftruncate,
        libc::SYS_fallocate,
        libc::SYS_fsync,
        libc::SYS_fdatasync,
        libc::SYS_sendfile,
        libc::SYS_copy_file_range,
        libc::SYS_memfd_create,
        libc::SYS_poll,
        libc::SYS_ppoll,
        libc::SYS_epoll_create1,
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_wait,
        libc::SYS_epoll_pwait,
        libc::SYS_eventfd2,
        // The gofer protocol and fd donation (SCM_RIGHTS), the control
        // socket (accept4; SO_PEERCRED below).
        libc::SYS_sendmsg,
        libc::SYS_recvmsg,
        libc::SYS_recvfrom,
        libc::SYS_accept4,
        libc::SYS_shutdown,
        // Threads and their synchronisation.
        libc::SYS_futex,
        libc::SYS_set_robust_list,
        libc::SYS_rseq,
        libc::SYS_sched_yield,
        libc::SYS_exit,
        libc::SYS_exit_group,
        libc::SYS_restart_syscall,
        // Signals: the kick handler setup, the `signals` thread's sigwait.
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_rt_sigtimedwait,
        libc::SYS_sigaltstack,
        // Time and identity (read-only facts of the sentry process).
        libc::SYS_clock_gettime,
        libc::SYS_clock_getres,
        libc::SYS_gettimeofday,
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_getppid,
        libc::SYS_getuid,
        libc::SYS_geteuid,
        libc::SYS_getgid,
        libc::SYS_getegid,
        libc::SYS_getrandom,
        libc::SYS_sysinfo,
        libc::SYS_uname,
        libc::SYS_sched_getaffinity,
        // Path lookups: allowed here, but filter 2 turns each into EPERM
        // (newfstatat and statx pass there only with AT_EMPTY_PATH).
        libc::SYS_open,
        libc::SYS_openat,
        SYS_OPENAT2,
        libc::SYS_creat,
        libc::SYS_stat,
        libc::SYS_lstat,
        libc::SYS_newfstatat,
        libc::SYS_statx,
        libc::SYS_access,
        libc::SYS_faccessat,
        SYS_FACCESSAT2,
        libc::SYS_readlink,
        libc::SYS_readlinkat,
        libc::SYS_statfs,
        // clone3: allowed here, filter 3 turns it into ENOSYS.
        SYS_CLONE3,
    ];
    for nr in any {
        map.insert(nr, Vec::new());
    }
    use SeccompCmpArgLen::{Dword, Qword};
    use SeccompCmpOp::{Eq, MaskedEq};
    // clone: threads only (flags are argument 0).
    map.insert(
        libc::SYS_clone,
        vec![arg(0, Qword, MaskedEq(THREAD_CHECKED_FLAGS), THREAD_FLAGS)?],
    );
    // No executable memory: the sentry never maps code after it starts,
    // so injected code could not be made executable (prot is argument 2).
    let no_exec = || arg(2, Dword, MaskedEq(libc::PROT_EXEC as u64), 0).map(|r| vec![r]);
    map.insert(libc::SYS_mmap, no_exec()?);
    map.insert(libc::SYS_mprotect, no_exec()?);
    // ptrace: the requests of the ptrace platform (platform/ptrace/). The
    // pid cannot be narrowed by seccomp, but the sentry is pid 1 of its
    // own PID namespace, so every pid it can name is a process it created.
    // Left out: PTRACE_ATTACH/TRACEME, PEEK/POKE of text, data and user
    // areas, single-stepping, PTRACE_SECCOMP_GET_FILTER, ...
    map.insert(
        libc::SYS_ptrace,
        arg_in(
            0,
            &[
                libc::PTRACE_SEIZE as u64,
                libc::PTRACE_INTERRUPT as u64,
                libc::PTRACE_SETOPTIONS as u64,
                libc::PTRACE_CONT as u64,
                libc::PTRACE_SYSEMU as u64,
                libc::PTRACE_KILL as u64,
                libc::PTRACE_DETACH as u64,
                libc::PTRACE_GETEVENTMSG as u64,
                libc::PTRACE_GETSIGINFO as u64,
                libc::PTRACE_GETREGS as u64,
                libc::PTRACE_SETREGS as u64,
                libc::PTRACE_GETFPREGS as u64,
                libc::PTRACE_SETFPREGS as u64,
                libc::PTRACE_GETREGSET as u64,
                libc::PTRACE_SETREGSET as u64,
            ],
        )?,
    );
    // send() without an address: an explicit destination could name an
    // abstract unix socket of the host's network namespace.
    map.insert(libc::SYS_sendto, vec![arg(4, Qword, Eq, 0)?]);
    // Signals to host processes: SIGKILL to its own stubs (kill), the
    // SIGSTKFLT kick of a stub thread (tkill), and signals to its own
    // threads (tgkill: raise, abort). The PID namespace keeps every pid the
    // sentry's own.
    map.insert(libc::SYS_kill, arg_in(1, &[libc::SIGKILL as u64])?);
    map.insert(libc::SYS_tkill, arg_in(1, &[crate::kernel::task::KICK_SIGNAL as u64])?);
    // SAFETY: getpid has no preconditions.
    let own_pid = unsafe { libc::getpid() } as u64;
    map.insert(libc::SYS_tgkill, arg_in(0, &[own_pid])?);
    // Reading its own limits (prlimit64(0, resource, NULL, old)).
    map.insert(
        libc::SYS_prlimit64,
        vec![SeccompRule::new(vec![
            SeccompCondition::new(0, Dword, Eq, 0).map_err(build_err)?,
            SeccompCondition::new(2, Qword, Eq, 0).map_err(build_err)?,
        ])
        .map_err(build_err)?],
    );
    // Host sockets: unix socket pairs only; no socket() at all (no host
    // networking exists in the sentry).
    map.insert(libc::SYS_socketpair, arg_in(0, &[libc::AF_UNIX as u64])?);
    map.insert(libc::SYS_getsockopt, arg_in(1, &[libc::SOL_SOCKET as u64])?);
    // fcntl: fd flags, status flags, duplication and memfd seals.
    map.insert(
        libc::SYS_fcntl,
        arg_in(
            1,
            &[
                libc::F_GETFD as u64,
                libc::F_SETFD as u64,
                libc::F_GETFL as u64,
                libc::F_SETFL as u64,
                libc::F_DUPFD as u64,
                libc::F_DUPFD_CLOEXEC as u64,
                F_ADD_SEALS,
                F_GET_SEALS,
            ],
        )?,
    );
    // ioctl: the terminal requests the guest's host stdio passes through
    // (fs/host.rs), isatty's TCGETS, FIONREAD.
    map.insert(
        libc::SYS_ioctl,
        arg_in(
            1,
            &[
                libc::TCGETS,
                libc::TCSETS,
                libc::TCSETSW,
                libc::TCSETSF,
                libc::TIOCGWINSZ,
                libc::TIOCSWINSZ,
                libc::FIONREAD,
            ],
        )?,
    );
    // prctl: thread names and reading the bounding set; never
    // PR_SET_SECCOMP, PR_SET_DUMPABLE, PR_CAP_AMBIENT raises, ...
    map.insert(
        libc::SYS_prctl,
        arg_in(
            0,
            &[
                libc::PR_SET_NAME as u64,
                libc::PR_GET_NAME as u64,
                libc::PR_CAPBSET_READ as u64,
                PR_SET_VMA,
            ],
        )?,
    );
    Ok(map)
}

/// Filter 2: path lookups that must fail with `EPERM` (see the module doc).
pub fn path_rules() -> Result<Rules, SeccompError> {
    let mut map = Rules::new();
    for nr in [
        libc::SYS_open,
        libc::SYS_openat,
        SYS_OPENAT2,
        libc::SYS_creat,
        libc::SYS_stat,
        libc::SYS_lstat,
        libc::SYS_access,
        libc::SYS_faccessat,
        SYS_FACCESSAT2,
        libc::SYS_readlink,
        libc::SYS_readlinkat,
        libc::SYS_statfs,
    ] {
        map.insert(nr, Vec::new());
    }
    // fstat of an fd (glibc's fstat is newfstatat(fd, "", buf,
    // AT_EMPTY_PATH)): denied unless AT_EMPTY_PATH is set. Flags are
    // argument 3 of newfstatat and argument 2 of statx.
    let empty = libc::AT_EMPTY_PATH as u64;
    map.insert(
        libc::SYS_newfstatat,
        vec![arg(3, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(empty), 0)?],
    );
    map.insert(
        libc::SYS_statx,
        vec![arg(2, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(empty), 0)?],
    );
    Ok(map)
}

fn compile(rules: Rules, mismatch: SeccompAction, matched: SeccompAction) -> Result<BpfProgram, SeccompError> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(build_err)?;
    let filter = SeccompFilter::new(rules, mismatch, matched, arch).map_err(build_err)?;
    BpfProgram::try_from(filter).map_err(build_err)
}

/// The three programs, in the order they must be installed (the
/// allow-list last: it does not allow `seccomp` itself).
pub fn programs(mode: Mode) -> Result<[BpfProgram; 3], SeccompError> {
    let mut clone3 = Rules::new();
    clone3.insert(SYS_CLONE3, Vec::new());
    let default = match mode {
        Mode::Enforce => SeccompAction::KillProcess,
        Mode::Log => SeccompAction::Log,
    };
    Ok([
        compile(clone3, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32))?,
        compile(
            path_rules()?,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EPERM as u32),
        )?,
        compile(allow_rules()?, default, SeccompAction::Allow)?,
    ])
}

/// Installs the sentry's filters on every thread of the process (and sets
/// `no_new_privs`). Irreversible.
pub fn install(mode: Mode) -> Result<(), SeccompError> {
    if mode == Mode::Log {
        tracing::info!("{MODE_ENV}=log: the sentry's seccomp filter logs instead of killing");
    }
    for prog in programs(mode)? {
        seccompiler::apply_filter_all_threads(&prog).map_err(|e| SeccompError::Install(e.to_string()))?;
    }
    Ok(())
}

mod hostnet;
pub use hostnet::host_network_rules;

/// As [`programs`], with the host-networking additions of
/// [`host_network_rules`] to the allow-list when `host_network`.
pub fn programs_for(mode: Mode, host_network: bool) -> Result<[BpfProgram; 3], SeccompError> {
    if !host_network {
        return programs(mode);
    }
    let [clone3, paths, _] = programs(mode)?;
    let mut allow = allow_rules()?;
    host_network_rules(&mut allow)?;
    let default = match mode {
        Mode::Enforce => SeccompAction::KillProcess,
        Mode::Log => SeccompAction::Log,
    };
    Ok([clone3, paths, compile(allow, default, SeccompAction::Allow)?])
}

/// As [`install`], for a sentry with host networking when `host_network`.
pub fn install_for(mode: Mode, host_network: bool) -> Result<(), SeccompError> {
    if !host_network {
        return install(mode);
    }
    for prog in programs_for(mode, true)? {
        seccompiler::apply_filter_all_threads(&prog).map_err(|e| SeccompError::Install(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
