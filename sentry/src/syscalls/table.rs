//! The support table: every x86-64 syscall number mapped to its handler
//! and its status. The same table drives dispatch, `runsc help syscalls`
//! and the README's coverage figures.

use super::{
    caps, creds, file, fileio, futex, identity, inotify, lock, mmap, mount, pipe, poll, process, rw, signal, socket,
    socket_name, thread, time, timer, xattr, Handler,
};
use syscalls::Errno;

/// How completely a syscall is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Implemented with Linux semantics.
    Full,
    /// Implemented, with the limits stated in the note.
    Partial(&'static str),
    /// Not implemented: returns the errno (ENOSYS unless noted).
    Unimplemented(Errno),
}

/// A table entry.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The handler, `None` when unimplemented.
    pub handler: Option<Handler>,
    /// The support status.
    pub support: Support,
}

const fn full(handler: Handler) -> Entry {
    Entry {
        handler: Some(handler),
        support: Support::Full,
    }
}

const fn partial(handler: Handler, note: &'static str) -> Entry {
    Entry {
        handler: Some(handler),
        support: Support::Partial(note),
    }
}

const UNIMPLEMENTED: Entry = Entry {
    handler: None,
    support: Support::Unimplemented(Errno::ENOSYS),
};

/// The entry for syscall `nr` (unknown numbers are unimplemented).
#[allow(non_upper_case_globals)]
pub fn lookup(nr: u64) -> Entry {
    use super::stat;
    use libc::*;
    let Ok(nr) = i64::try_from(nr) else {
        return UNIMPLEMENTED;
    };
    match nr {
        // Files: open, close, fd table (file.rs).
        SYS_open => full(file::sys_open),
        SYS_openat2 => partial(
            file::sys_openat2,
            "RESOLVE_CACHED resolves without the cache-only restriction; magic links are /proc/[pid]/fd/N only",
        ),
        SYS_openat => full(file::sys_openat),
        SYS_creat => partial(file::sys_creat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_close => full(file::sys_close),
        SYS_close_range => full(file::sys_close_range),
        SYS_dup => full(file::sys_dup),
        SYS_dup2 => full(file::sys_dup2),
        SYS_dup3 => full(file::sys_dup3),
        SYS_flock => full(lock::sys_flock),
        SYS_fcntl => partial(
            file::sys_fcntl,
            "F_DUPFD*, F_GETFD/SETFD, F_GETFL/SETFL, F_GETPIPE_SZ/SETPIPE_SZ, F_ADD_SEALS/GET_SEALS, record and OFD locks; no leases or F_NOTIFY",
        ),
        SYS_ioctl => partial(
            file::sys_ioctl,
            "FIONREAD, FIONBIO, FIOCLEX, FIONCLEX; host stdio: TCGETS, TIOCGWINSZ; pseudo-terminals: termios (TCGETS*/TCSETS*, TCGETS2 family), TIOCG/SWINSZ, TIOCSCTTY/NOTTY, TIOCG/SPGRP, TIOCGSID, TIOCINQ/OUTQ, TCFLSH, TIOCSPTLCK/GPTLCK/GPTN/GPTPEER; TCXONC and TCSBRK partial, no TIOCPKT packet mode or TIOCSTI",
        ),
        SYS_chdir => full(file::sys_chdir),
        SYS_fchdir => full(file::sys_fchdir),
        SYS_getcwd => full(file::sys_getcwd),
        SYS_access => full(file::sys_access),
        SYS_faccessat => full(file::sys_faccessat),
        SYS_faccessat2 => full(file::sys_faccessat2),
        SYS_readlink => full(file::sys_readlink),
        SYS_readlinkat => full(file::sys_readlinkat),
        SYS_getdents64 => full(file::sys_getdents64),
        SYS_getdents => full(file::sys_getdents),
        SYS_statfs => full(file::sys_statfs),
        SYS_fstatfs => full(file::sys_fstatfs),
        // The mount tree (mount.rs).
        SYS_mount => partial(
            mount::sys_mount,
            "tmpfs, proc, sysfs, mqueue, cgroup2, bind (MS_REC), remount (MS_BIND too); propagation is private only (MS_SHARED/MS_UNBINDABLE EINVAL); no MS_MOVE",
        ),
        SYS_umount2 => partial(mount::sys_umount2, "MNT_EXPIRE never expires a mount (EAGAIN)"),
        SYS_unshare => partial(
            mount::sys_unshare,
            "CLONE_NEWNS succeeds without a new mount namespace; CLONE_FILES, CLONE_FS; other namespaces EPERM",
        ),
        SYS_mkdir => partial(file::sys_mkdir, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_mkdirat => partial(file::sys_mkdirat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_unlink => partial(file::sys_unlink, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_unlinkat => partial(file::sys_unlinkat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_rmdir => partial(file::sys_rmdir, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_rename => partial(file::sys_rename, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_renameat => partial(file::sys_renameat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_renameat2 => partial(file::sys_renameat2, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_symlink => partial(file::sys_symlink, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_symlinkat => partial(file::sys_symlinkat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_link => partial(file::sys_link, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_linkat => partial(file::sys_linkat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_chmod => partial(file::sys_chmod, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_fchmod => partial(file::sys_fchmod, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_fchmodat => partial(file::sys_fchmodat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_chown => partial(file::sys_chown, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_fchown => partial(file::sys_fchown, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_lchown => partial(file::sys_lchown, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_fchownat => partial(file::sys_fchownat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_truncate => partial(file::sys_truncate, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_ftruncate => partial(file::sys_ftruncate, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_utimensat => partial(file::sys_utimensat, "on the overlay root and /dev/shm; EROFS with --overlay2=none (no gofer write path yet)"),
        SYS_mknod => partial(file::sys_mknod, "device nodes (CAP_MKNOD) only on tmpfs and the overlay root, and open only the sentry's emulated devices (others ENXIO)"),
        SYS_mknodat => partial(file::sys_mknodat, "device nodes (CAP_MKNOD) only on tmpfs and the overlay root, and open only the sentry's emulated devices (others ENXIO)"),
        // Copies between files, memfd and read-ahead hints (fileio.rs).
        SYS_sendfile => partial(fileio::sys_sendfile, "generic copy through the sentry in 64 KiB chunks"),
        SYS_copy_file_range => partial(fileio::sys_copy_file_range, "generic copy through the sentry; never EXDEV"),
        SYS_splice => partial(
            fileio::sys_splice,
            "copies (no page moving); pipe data read before a failed file write is lost",
        ),
        SYS_tee => full(fileio::sys_tee),
        SYS_fadvise64 => partial(fileio::sys_fadvise64, "validated, advice ignored"),
        SYS_readahead => partial(fileio::sys_readahead, "validated, no effect"),
        SYS_memfd_create => partial(fileio::sys_memfd_create, "backed by a host memfd; MFD_HUGETLB gives EINVAL"),
        // inotify (inotify.rs).
        SYS_inotify_init => full(inotify::sys_inotify_init),
        SYS_inotify_init1 => full(inotify::sys_inotify_init1),
        SYS_inotify_add_watch => partial(
            inotify::sys_inotify_add_watch,
            "changes made inside the sandbox only; IN_EXCL_UNLINK ignored; IN_DELETE_SELF at the last unlink, not the last close",
        ),
        SYS_inotify_rm_watch => full(inotify::sys_inotify_rm_watch),
        // Pipes and eventfds (pipe.rs).
        SYS_pipe => full(pipe::sys_pipe),
        SYS_pipe2 => partial(pipe::sys_pipe2, "O_DIRECT packet mode is fixed at creation (F_SETFL does not toggle it)"),
        SYS_eventfd => full(pipe::sys_eventfd),
        SYS_eventfd2 => full(pipe::sys_eventfd2),
        // Polling (poll.rs).
        SYS_poll => partial(poll::sys_poll, "restarted with the full timeout after a signal without handler"),
        SYS_ppoll => full(poll::sys_ppoll),
        SYS_select => full(poll::sys_select),
        SYS_pselect6 => full(poll::sys_pselect6),
        SYS_epoll_create => full(poll::sys_epoll_create),
        SYS_epoll_create1 => full(poll::sys_epoll_create1),
        SYS_epoll_ctl => partial(
            poll::sys_epoll_ctl,
            "EPOLLET reports readiness changes (pipes, eventfds: each new event); EPOLLEXCLUSIVE wakes all",
        ),
        SYS_epoll_wait => full(poll::sys_epoll_wait),
        SYS_epoll_pwait => full(poll::sys_epoll_pwait),
        SYS_epoll_pwait2 => full(poll::sys_epoll_pwait2),
        // Reads and writes (rw.rs).
        SYS_read => full(rw::sys_read),
        SYS_write => full(rw::sys_write),
        SYS_pread64 => full(rw::sys_pread64),
        SYS_pwrite64 => full(rw::sys_pwrite64),
        SYS_readv => full(rw::sys_readv),
        SYS_writev => full(rw::sys_writev),
        SYS_preadv => full(rw::sys_preadv),
        SYS_pwritev => full(rw::sys_pwritev),
        SYS_preadv2 => partial(rw::sys_preadv2, "RWF_* flags other than 0 are EOPNOTSUPP"),
        SYS_pwritev2 => partial(rw::sys_pwritev2, "RWF_* flags other than 0 are EOPNOTSUPP"),
        SYS_lseek => full(rw::sys_lseek),
        // File status (stat.rs).
        SYS_stat => full(stat::sys_stat),
        SYS_fstat => full(stat::sys_fstat),
        SYS_lstat => full(stat::sys_lstat),
        SYS_newfstatat => full(stat::sys_newfstatat),
        SYS_statx => full(stat::sys_statx),
        // Memory (mmap.rs).
        SYS_brk => full(mmap::sys_brk),
        SYS_mmap => partial(
            mmap::sys_mmap,
            "MAP_SHARED|PROT_WRITE of gofer files needs the write path",
        ),
        SYS_munmap => full(mmap::sys_munmap),
        SYS_mprotect => full(mmap::sys_mprotect),
        SYS_mremap => full(mmap::sys_mremap),
        SYS_madvise => full(mmap::sys_madvise),
        SYS_msync => full(mmap::sys_msync),
        SYS_mincore => full(mmap::sys_mincore),
        // Identity (identity.rs).
        SYS_getpid => full(identity::sys_getpid),
        SYS_gettid => full(identity::sys_gettid),
        SYS_getppid => full(process::sys_getppid),
        SYS_getuid => full(identity::sys_getuid),
        SYS_geteuid => full(identity::sys_geteuid),
        SYS_getgid => full(identity::sys_getgid),
        SYS_getegid => full(identity::sys_getegid),
        SYS_getresuid => full(identity::sys_getresuid),
        SYS_getresgid => full(identity::sys_getresgid),
        SYS_getgroups => full(identity::sys_getgroups),
        SYS_getpgrp => full(process::sys_getpgrp),
        SYS_getpgid => full(process::sys_getpgid),
        SYS_getsid => full(process::sys_getsid),
        SYS_setsid => full(process::sys_setsid),
        SYS_uname => full(identity::sys_uname),
        SYS_sethostname => full(identity::sys_sethostname),
        SYS_setdomainname => full(identity::sys_setdomainname),
        // Time (time.rs).
        SYS_clock_gettime => full(time::sys_clock_gettime),
        SYS_clock_getres => full(time::sys_clock_getres),
        SYS_gettimeofday => full(time::sys_gettimeofday),
        SYS_time => full(time::sys_time),
        SYS_nanosleep => full(time::sys_nanosleep),
        SYS_clock_nanosleep => partial(
            time::sys_clock_nanosleep,
            "CPU clock sleeps poll every 10ms; *_ALARM clocks never wake a suspended host",
        ),
        // Timers (timer.rs).
        SYS_restart_syscall => full(timer::sys_restart_syscall),
        SYS_alarm => full(timer::sys_alarm),
        SYS_getitimer => partial(
            timer::sys_getitimer,
            "ITIMER_VIRTUAL/PROF use the process's total CPU time, polled every 10ms",
        ),
        SYS_setitimer => partial(
            timer::sys_setitimer,
            "ITIMER_VIRTUAL/PROF use the process's total CPU time, polled every 10ms",
        ),
        SYS_timer_create => partial(
            timer::sys_timer_create,
            "CPU-clock timers poll the process CPU clock every 10ms; SIGEV_THREAD_ID tid not checked against the thread group",
        ),
        SYS_timer_settime => full(timer::sys_timer_settime),
        SYS_timer_gettime => full(timer::sys_timer_gettime),
        SYS_timer_getoverrun => full(timer::sys_timer_getoverrun),
        SYS_timer_delete => full(timer::sys_timer_delete),
        SYS_timerfd_create => full(timer::sys_timerfd_create),
        SYS_timerfd_settime => partial(
            timer::sys_timerfd_settime,
            "TFD_TIMER_CANCEL_ON_SET accepted but never cancels (the sandbox cannot set the clock)",
        ),
        SYS_timerfd_gettime => full(timer::sys_timerfd_gettime),
        // Threads, limits, misc (thread.rs).
        SYS_arch_prctl => partial(thread::sys_arch_prctl, "ARCH_SET_FS/GET_FS/SET_GS/GET_GS"),
        SYS_set_tid_address => full(thread::sys_set_tid_address),
        SYS_set_robust_list => full(thread::sys_set_robust_list),
        SYS_get_robust_list => full(thread::sys_get_robust_list),
        SYS_exit => full(process::sys_exit),
        SYS_exit_group => full(process::sys_exit_group),
        SYS_sched_yield => full(thread::sys_sched_yield),
        SYS_sched_getaffinity => full(thread::sys_sched_getaffinity),
        SYS_getrandom => full(thread::sys_getrandom),
        SYS_sysinfo => full(thread::sys_sysinfo),
        SYS_umask => full(thread::sys_umask),
        SYS_prlimit64 => partial(thread::sys_prlimit64, "own process only"),
        SYS_getrlimit => full(thread::sys_getrlimit),
        SYS_setrlimit => full(thread::sys_setrlimit),
        SYS_getrusage => partial(thread::sys_getrusage, "times only"),
        SYS_prctl => partial(
            thread::sys_prctl,
            "PR_SET_NAME, PR_GET_NAME, PR_SET/GET_NO_NEW_PRIVS, PR_GET_DUMPABLE, PR_CAPBSET_READ/DROP, PR_CAP_AMBIENT, PR_SET/GET_KEEPCAPS, PR_SET/GET_SECUREBITS",
        ),
        // Signals (signal.rs).
        SYS_rt_sigaction => full(signal::sys_rt_sigaction),
        SYS_rt_sigprocmask => full(signal::sys_rt_sigprocmask),
        SYS_sigaltstack => full(signal::sys_sigaltstack),
        SYS_kill => full(signal::sys_kill),
        SYS_tkill => full(signal::sys_tkill),
        SYS_tgkill => full(signal::sys_tgkill),
        SYS_rt_sigqueueinfo => full(signal::sys_rt_sigqueueinfo),
        SYS_rt_tgsigqueueinfo => full(signal::sys_rt_tgsigqueueinfo),
        SYS_pause => full(signal::sys_pause),
        SYS_rt_sigsuspend => full(signal::sys_rt_sigsuspend),
        SYS_rt_sigpending => full(signal::sys_rt_sigpending),
        SYS_rt_sigtimedwait => full(signal::sys_rt_sigtimedwait),
        SYS_rt_sigreturn => full(signal::sys_rt_sigreturn),
        SYS_signalfd => partial(signal::sys_signalfd, "readiness is polled (no wake-up queue)"),
        SYS_signalfd4 => partial(signal::sys_signalfd4, "readiness is polled (no wake-up queue)"),
        SYS_futex => partial(
            futex::sys_futex,
            "WAIT, WAKE, (CMP_)REQUEUE, WAKE_OP, *_BITSET; PI futexes are ENOSYS; shared futexes match within one address space",
        ),
        // Extended attributes (xattr.rs).
        SYS_getxattr => partial(xattr::sys_getxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_lgetxattr => partial(xattr::sys_lgetxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_fgetxattr => partial(xattr::sys_fgetxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_listxattr => partial(xattr::sys_listxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_llistxattr => partial(xattr::sys_llistxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_flistxattr => partial(xattr::sys_flistxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_setxattr => partial(xattr::sys_setxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_lsetxattr => partial(xattr::sys_setxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_fsetxattr => partial(xattr::sys_fsetxattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_removexattr => partial(xattr::sys_removexattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_lremovexattr => partial(xattr::sys_removexattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        SYS_fremovexattr => partial(xattr::sys_fremovexattr, "stored on the host root under --overlay2=none; the overlay and in-memory filesystems store none (ENODATA, EOPNOTSUPP)"),
        // Syncing (fileio.rs): all writable data lives in memory.
        SYS_fsync => partial(fileio::sys_fsync, "host-backed files are synced on the host, in-memory ones need nothing; directories of a host tree are not synced (renames not made durable)"),
        SYS_fdatasync => partial(fileio::sys_fdatasync, "host-backed files are synced on the host, in-memory ones need nothing; directories of a host tree are not synced"),
        SYS_sync => partial(fileio::sys_sync, "writable files live in memory: nothing to flush"),
        SYS_syncfs => partial(fileio::sys_syncfs, "writable files live in memory: nothing to flush"),
        SYS_sync_file_range => partial(fileio::sys_sync_file_range, "writable files live in memory: nothing to flush"),
        // Credentials (creds.rs).
        SYS_setuid => full(creds::sys_setuid),
        SYS_setgid => full(creds::sys_setgid),
        SYS_setreuid => full(creds::sys_setreuid),
        SYS_setregid => full(creds::sys_setregid),
        SYS_setresuid => full(creds::sys_setresuid),
        SYS_setresgid => full(creds::sys_setresgid),
        SYS_setfsuid => partial(creds::sys_setfsuid, "the fs ids follow the effective ids"),
        SYS_setfsgid => partial(creds::sys_setfsgid, "the fs ids follow the effective ids"),
        SYS_setgroups => full(creds::sys_setgroups),
        SYS_capget => full(caps::sys_capget),
        SYS_capset => full(caps::sys_capset),
        // Processes (process.rs).
        SYS_clone => partial(process::sys_clone, "no namespaces (CLONE_NEW*) or pidfds"),
        SYS_fork => full(process::sys_fork),
        SYS_vfork => full(process::sys_vfork),
        SYS_execve => full(process::sys_execve),
        SYS_execveat => full(process::sys_execveat),
        SYS_wait4 => partial(process::sys_wait4, "rusage is zeroed"),
        SYS_waitid => partial(process::sys_waitid, "rusage is zeroed"),
        SYS_setpgid => full(process::sys_setpgid),
        // Sockets (socket.rs, socket_name.rs): unix domain sockets and
        // loopback-only TCP/UDP, all in the sentry; with --network=host
        // TCP/UDP are host sockets (hostinet.rs, net/hostinet/).
        SYS_socket => partial(
            socket::sys_socket,
            "AF_UNIX, and AF_INET/AF_INET6 TCP and UDP (loopback only; host sockets with --network=host); AF_NETLINK NETLINK_ROUTE (lo's link/address dumps only); packet, raw EAFNOSUPPORT/EPROTONOSUPPORT",
        ),
        SYS_socketpair => partial(socket::sys_socketpair, "AF_UNIX only"),
        SYS_sendto => partial(socket::sys_sendto, "MSG_OOB EOPNOTSUPP; UDP to a port nobody bound is dropped"),
        SYS_sendmsg => partial(socket::sys_sendmsg, "SCM_RIGHTS, SCM_CREDENTIALS; MSG_OOB EOPNOTSUPP"),
        SYS_recvfrom => partial(socket::sys_recvfrom, "MSG_OOB EOPNOTSUPP"),
        SYS_recvmsg => partial(
            socket::sys_recvmsg,
            "SCM_RIGHTS, SCM_CREDENTIALS; no IP_PKTINFO/timestamps; no control messages from host sockets",
        ),
        SYS_shutdown => full(socket::sys_shutdown),
        SYS_getsockopt => partial(
            socket::sys_getsockopt,
            "SOL_SOCKET core options; IP/IPV6/TCP/UDP options stored and reported, not acted on; no TCP_INFO (--network=host: a vetted list passed to the host, TCP_INFO included)",
        ),
        SYS_setsockopt => partial(
            socket::sys_setsockopt,
            "buffers, timeouts, PASSCRED act; REUSEADDR/REUSEPORT/V6ONLY affect binding; other known options stored only (--network=host: a vetted list passed to the host, others ENOPROTOOPT)",
        ),
        SYS_getsockname => full(socket_name::sys_getsockname),
        SYS_getpeername => full(socket_name::sys_getpeername),
        SYS_bind => partial(
            socket_name::sys_bind,
            "inet: loopback and wildcard addresses only (EADDRNOTAVAIL), any with --network=host",
        ),
        SYS_listen => partial(socket_name::sys_listen, "TCP backlogs never refuse connections"),
        SYS_connect => partial(
            socket_name::sys_connect,
            "inet: loopback only (ENETUNREACH), any with --network=host; loopback connections complete at once",
        ),
        SYS_accept => full(socket_name::sys_accept),
        SYS_accept4 => full(socket_name::sys_accept4),
        SYS_sendmmsg => partial(super::mmsg::sys_sendmmsg, "a loop of sendmsg"),
        SYS_recvmmsg => partial(
            super::mmsg::sys_recvmmsg,
            "a loop of recvmsg; the timeout is checked between datagrams and not written back",
        ),
        _ => UNIMPLEMENTED,
    }
}
