//! The sentry's filters, applied for real in forked children: what must be
//! denied is denied (EPERM, ENOSYS or death by SIGSYS) and what the sentry
//! needs still works.
#![allow(clippy::unwrap_used)]

use super::*;

/// How a filtered child ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Exited(i32),
    Signaled(i32),
}

/// Forks a child that installs the three programs of `mode` and runs `f`;
/// its exit code is `f`'s. The programs are built before the fork, so the
/// child makes only system calls (and `f`'s own).
fn filtered(mode: Mode, f: fn() -> i32) -> End {
    let progs = programs(mode).unwrap();
    // SAFETY: the child applies prepared filters, runs `f` and `_exit`s;
    // the parent waits for it.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            // A hang (a lost lock after fork) becomes SIGALRM, not a stuck test.
            libc::alarm(20);
            for p in &progs {
                if seccompiler::apply_filter(p).is_err() {
                    libc::_exit(100);
                }
            }
            libc::_exit(f());
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        if libc::WIFSIGNALED(status) {
            End::Signaled(libc::WTERMSIG(status))
        } else {
            End::Exited(libc::WEXITSTATUS(status))
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[test]
fn allow_list_leaves_out_dangerous_calls() {
    let allow = allow_rules().unwrap();
    for nr in [
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_memfd_create,
        libc::SYS_sendmsg,
        libc::SYS_recvmsg,
        libc::SYS_futex,
    ] {
        assert!(allow.contains_key(&nr), "{nr} missing");
    }
    for nr in [
        libc::SYS_execve,
        libc::SYS_execveat,
        libc::SYS_fork,
        libc::SYS_vfork,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_setns,
        libc::SYS_unshare,
        libc::SYS_kexec_load,
        libc::SYS_bpf,
        libc::SYS_socket,
        libc::SYS_connect,
        libc::SYS_setuid,
        libc::SYS_capset,
        libc::SYS_seccomp,
        libc::SYS_init_module,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_mknodat,
        libc::SYS_unlinkat,
    ] {
        assert!(!allow.contains_key(&nr), "{nr} must not be allowed");
    }
    // Every path lookup the allow-list lets through, filter 2 denies.
    let paths = path_rules().unwrap();
    for nr in [libc::SYS_open, libc::SYS_openat, SYS_OPENAT2, libc::SYS_stat] {
        assert!(allow.contains_key(&nr) && paths[&nr].is_empty());
    }
    assert!(programs(Mode::Enforce).unwrap().iter().all(|p| !p.is_empty()));
}

#[test]
fn opening_a_path_fails_with_eperm() {
    let end = filtered(Mode::Enforce, || {
        // SAFETY: a NUL-terminated path; the result is checked.
        let fd = unsafe { libc::openat(libc::AT_FDCWD, c"/".as_ptr(), libc::O_RDONLY) };
        if fd >= 0 || errno() != libc::EPERM {
            return 1;
        }
        // SAFETY: as above.
        let fd = unsafe { libc::syscall(libc::SYS_open, c"/etc/passwd".as_ptr(), libc::O_RDONLY) };
        if fd >= 0 || errno() != libc::EPERM {
            return 2;
        }
        // SAFETY: stat into a local buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // A stat by path is denied, a stat of an fd (AT_EMPTY_PATH) works.
        // SAFETY: as above.
        if unsafe { libc::syscall(libc::SYS_newfstatat, libc::AT_FDCWD, c"/".as_ptr(), &mut st, 0) } == 0
            || errno() != libc::EPERM
        {
            return 3;
        }
        // SAFETY: as above.
        if unsafe { libc::fstat(2, &mut st) } != 0 {
            return 4;
        }
        0
    });
    assert_eq!(end, End::Exited(0));
}

#[test]
fn what_the_sentry_needs_still_works() {
    let end = filtered(Mode::Enforce, || {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two fds; the rest are plain fd calls.
        unsafe {
            if libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) != 0 {
                return 1;
            }
            if libc::write(fds[0], b"x".as_ptr().cast(), 1) != 1 {
                return 2;
            }
            let fd = libc::memfd_create(c"t".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 || libc::ftruncate(fd, 4096) != 0 || libc::pwrite(fd, b"y".as_ptr().cast(), 1, 10) != 1 {
                return 3;
            }
            if libc::fcntl(fd, libc::F_GETFL) < 0 || libc::isatty(fd) != 0 {
                return 4;
            }
        }
        // clone3 fails with ENOSYS, glibc falls back to clone with thread
        // flags, which passes.
        // SAFETY: clone3 with a NULL argument: the filter answers first.
        if unsafe { libc::syscall(SYS_CLONE3, 0usize, 0usize) } != -1 || errno() != libc::ENOSYS {
            return 5;
        }
        match std::thread::spawn(|| 7).join() {
            Ok(7) => 0,
            _ => 6,
        }
    });
    assert_eq!(end, End::Exited(0));
}

#[test]
fn execve_kills() {
    let end = filtered(Mode::Enforce, || {
        let argv = [c"/bin/true".as_ptr(), std::ptr::null()];
        // SAFETY: NUL-terminated path and a NULL-terminated argv.
        unsafe { libc::execve(c"/bin/true".as_ptr(), argv.as_ptr(), std::ptr::null()) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
}

#[test]
fn fork_kills() {
    // A clone without CLONE_THREAD (a new process) is not a thread.
    let end = filtered(Mode::Enforce, || {
        // SAFETY: a fork-like clone; if it were allowed, the child exits at once.
        let r = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD as usize, 0usize, 0usize, 0usize, 0usize) };
        if r == 0 {
            // SAFETY: the (unexpected) child leaves at once.
            unsafe { libc::_exit(0) };
        }
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
}

#[test]
fn namespace_and_mount_calls_kill() {
    let end = filtered(Mode::Enforce, || {
        // SAFETY: unshare takes flags only.
        unsafe { libc::unshare(libc::CLONE_NEWNS) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
    let end = filtered(Mode::Enforce, || {
        // SAFETY: NUL-terminated strings.
        unsafe { libc::mount(c"none".as_ptr(), c"/".as_ptr(), c"tmpfs".as_ptr(), 0, std::ptr::null()) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
}

#[test]
fn host_sockets_and_foreign_signals_kill() {
    let end = filtered(Mode::Enforce, || {
        // SAFETY: socket takes integers only.
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
    // Only SIGKILL may be sent with kill (to the sentry's own stubs).
    let end = filtered(Mode::Enforce, || {
        // SAFETY: signal 0 to ourselves probes only.
        unsafe { libc::kill(libc::getpid(), 0) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
    // An ioctl outside the terminal list (TIOCSTI injects input).
    let end = filtered(Mode::Enforce, || {
        let c = 0u8;
        // SAFETY: TIOCSTI reads one byte.
        unsafe { libc::ioctl(0, libc::TIOCSTI, &c) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
}

#[test]
fn log_mode_runs_the_call() {
    // In log mode an unlisted call runs (here: execve of a missing file
    // fails with ENOENT instead of killing).
    let end = filtered(Mode::Log, || {
        let argv = [c"/nonexistent/x".as_ptr(), std::ptr::null()];
        // SAFETY: NUL-terminated path and a NULL-terminated argv.
        unsafe { libc::execve(c"/nonexistent/x".as_ptr(), argv.as_ptr(), std::ptr::null()) };
        if errno() == libc::ENOENT {
            0
        } else {
            1
        }
    });
    assert_eq!(end, End::Exited(0));
}

#[test]
fn executable_memory_and_other_ptrace_requests_kill() {
    // Writable memory works; executable memory kills (no injected code).
    let end = filtered(Mode::Enforce, || {
        let len = 4096;
        // SAFETY: an anonymous private mapping, unmapped by the process' end.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return 1;
        }
        // SAFETY: `p` is our own mapping of `len` bytes.
        unsafe { libc::mprotect(p, len, libc::PROT_READ | libc::PROT_EXEC) };
        2
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
    let end = filtered(Mode::Enforce, || {
        // SAFETY: PTRACE_TRACEME takes no pointers.
        unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) };
        1
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
    // A datagram to an explicit address (an abstract socket of the host).
    let end = filtered(Mode::Enforce, || {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two fds; sendto reads the buffer and
        // the address (a zeroed sockaddr_un of the given length).
        unsafe {
            if libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, fds.as_mut_ptr()) != 0 {
                return 1;
            }
            if libc::send(fds[0], b"ok".as_ptr().cast(), 2, 0) != 2 {
                return 2;
            }
            let addr: libc::sockaddr_un = std::mem::zeroed();
            libc::sendto(
                fds[0],
                b"x".as_ptr().cast(),
                1,
                0,
                (&addr as *const libc::sockaddr_un).cast(),
                std::mem::size_of::<libc::sa_family_t>() as u32 + 1,
            );
        }
        3
    });
    assert_eq!(end, End::Signaled(libc::SIGSYS));
}

/// As [`filtered`], with the host-networking policy.
fn filtered_host_net(f: fn() -> i32) -> End {
    let progs = programs_for(Mode::Enforce, true).unwrap();
    // SAFETY: as in `filtered`.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            libc::alarm(20);
            for p in &progs {
                if seccompiler::apply_filter(p).is_err() {
                    libc::_exit(100);
                }
            }
            libc::_exit(f());
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        if libc::WIFSIGNALED(status) {
            End::Signaled(libc::WTERMSIG(status))
        } else {
            End::Exited(libc::WEXITSTATUS(status))
        }
    }
}

#[test]
fn host_network_policy_allows_exactly_hostinet_sockets() {
    // The default policy is untouched by the host additions.
    assert!(!allow_rules().unwrap().contains_key(&libc::SYS_socket));
    assert!(!allow_rules().unwrap().contains_key(&libc::SYS_connect));
    let end = filtered_host_net(|| {
        let ty = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: socket calls on local buffers; the fds are the child's own.
        unsafe {
            let l = libc::socket(libc::AF_INET, ty, libc::IPPROTO_TCP);
            if l < 0 {
                return 1;
            }
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as u16;
            sa.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
            let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
            if libc::bind(l, (&sa as *const libc::sockaddr_in).cast(), len) != 0 || libc::listen(l, 1) != 0 {
                return 2;
            }
            let mut got = len;
            if libc::getsockname(l, (&mut sa as *mut libc::sockaddr_in).cast(), &mut got) != 0 {
                return 3;
            }
            let c = libc::socket(libc::AF_INET, ty, libc::IPPROTO_TCP);
            let one = 1i32;
            if libc::setsockopt(c, libc::IPPROTO_TCP, libc::TCP_NODELAY, (&one as *const i32).cast(), 4) != 0 {
                return 4;
            }
            let r = libc::connect(c, (&sa as *const libc::sockaddr_in).cast(), len);
            if r != 0 && errno() != libc::EINPROGRESS {
                return 5;
            }
            let u = libc::socket(
                libc::AF_INET6,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::IPPROTO_UDP,
            );
            if u < 0 {
                return 6;
            }
        }
        0
    });
    assert_eq!(end, End::Exited(0));
    let kills: [fn() -> i32; 4] = [
        // A unix socket (only socketpair is allowed).
        || {
            // SAFETY: socket takes integers only.
            unsafe {
                libc::socket(
                    libc::AF_UNIX,
                    libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    0,
                )
            };
            1
        },
        // A raw socket.
        || {
            // SAFETY: as above.
            unsafe {
                libc::socket(
                    libc::AF_INET,
                    libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    1,
                )
            };
            1
        },
        // A blocking socket (hostinet makes only non-blocking ones).
        || {
            // SAFETY: as above.
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_TCP) };
            1
        },
        // An option outside the vetted list.
        || {
            let one = 1i32;
            // SAFETY: setsockopt reads one int.
            unsafe { libc::setsockopt(0, libc::SOL_SOCKET, libc::SO_DEBUG, (&one as *const i32).cast(), 4) };
            1
        },
    ];
    for f in kills {
        assert_eq!(filtered_host_net(f), End::Signaled(libc::SIGSYS));
    }
}
