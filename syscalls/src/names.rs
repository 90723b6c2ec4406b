//! Symbolic names of enumerated syscall arguments (signals, ioctl, fcntl,
//! prctl and arch_prctl codes, futex ops, socket domains and types), as
//! strace prints them. Unknown values fall back to numbers.

/// The name of signal `sig` (`SIGCHLD`, `SIGRTMIN`, `SIGRT_3`), or the number.
pub fn signal_name(sig: u64) -> String {
    let s = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        16 => "SIGSTKFLT",
        17 => "SIGCHLD",
        18 => "SIGCONT",
        19 => "SIGSTOP",
        20 => "SIGTSTP",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        23 => "SIGURG",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        26 => "SIGVTALRM",
        27 => "SIGPROF",
        28 => "SIGWINCH",
        29 => "SIGIO",
        30 => "SIGPWR",
        31 => "SIGSYS",
        32 => "SIGRTMIN",
        33..=64 => return format!("SIGRT_{}", sig - 32),
        _ => return (sig as i64).to_string(),
    };
    s.to_string()
}

/// The name of a `rt_sigprocmask` `how`.
pub fn sighow_name(how: u64) -> Option<&'static str> {
    Some(match how {
        0 => "SIG_BLOCK",
        1 => "SIG_UNBLOCK",
        2 => "SIG_SETMASK",
        _ => return None,
    })
}

/// The name of an ioctl request (terminal and generic file ioctls).
pub fn ioctl_name(cmd: u64) -> Option<&'static str> {
    Some(match cmd {
        0x5401 => "TCGETS",
        0x5402 => "TCSETS",
        0x5403 => "TCSETSW",
        0x5404 => "TCSETSF",
        0x5405 => "TCGETA",
        0x5406 => "TCSETA",
        0x5407 => "TCSETAW",
        0x5408 => "TCSETAF",
        0x5409 => "TCSBRK",
        0x540A => "TCXONC",
        0x540B => "TCFLSH",
        0x540C => "TIOCEXCL",
        0x540D => "TIOCNXCL",
        0x540E => "TIOCSCTTY",
        0x540F => "TIOCGPGRP",
        0x5410 => "TIOCSPGRP",
        0x5411 => "TIOCOUTQ",
        0x5412 => "TIOCSTI",
        0x5413 => "TIOCGWINSZ",
        0x5414 => "TIOCSWINSZ",
        0x5415 => "TIOCMGET",
        0x5416 => "TIOCMBIS",
        0x5417 => "TIOCMBIC",
        0x5418 => "TIOCMSET",
        0x541B => "FIONREAD",
        0x541C => "TIOCLINUX",
        0x541D => "TIOCCONS",
        0x5420 => "TIOCPKT",
        0x5421 => "FIONBIO",
        0x5422 => "TIOCNOTTY",
        0x5423 => "TIOCSETD",
        0x5424 => "TIOCGETD",
        0x5425 => "TCSBRKP",
        0x5429 => "TIOCGSID",
        0x802C_542A => "TCGETS2",
        0x402C_542B => "TCSETS2",
        0x8004_5430 => "TIOCGPTN",
        0x4004_5431 => "TIOCSPTLCK",
        0x5441 => "TIOCGPTPEER",
        0x5450 => "FIONCLEX",
        0x5451 => "FIOCLEX",
        0x5452 => "FIOASYNC",
        0x5460 => "FIOQSIZE",
        0x8004_5432 => "TIOCGDEV",
        0x8004_5439 => "TIOCGPTLCK",
        0x0000_8901 => "FIOSETOWN",
        0x0000_8903 => "FIOGETOWN",
        0x0000_8912 => "SIOCGIFCONF",
        0x0000_8927 => "SIOCGIFHWADDR",
        0x0000_8933 => "SIOCGIFINDEX",
        0x8008_6601 => "FS_IOC_GETFLAGS",
        0x4008_6602 => "FS_IOC_SETFLAGS",
        0x4004_9409 => "FICLONE",
        _ => return None,
    })
}

/// The name of an `fcntl` command.
pub fn fcntl_name(cmd: u64) -> Option<&'static str> {
    Some(match cmd {
        0 => "F_DUPFD",
        1 => "F_GETFD",
        2 => "F_SETFD",
        3 => "F_GETFL",
        4 => "F_SETFL",
        5 => "F_GETLK",
        6 => "F_SETLK",
        7 => "F_SETLKW",
        8 => "F_SETOWN",
        9 => "F_GETOWN",
        10 => "F_SETSIG",
        11 => "F_GETSIG",
        15 => "F_SETOWN_EX",
        16 => "F_GETOWN_EX",
        17 => "F_GETOWNER_UIDS",
        36 => "F_OFD_GETLK",
        37 => "F_OFD_SETLK",
        38 => "F_OFD_SETLKW",
        1024 => "F_SETLEASE",
        1025 => "F_GETLEASE",
        1026 => "F_NOTIFY",
        1029 => "F_CANCELLK",
        1030 => "F_DUPFD_CLOEXEC",
        1031 => "F_SETPIPE_SZ",
        1032 => "F_GETPIPE_SZ",
        1033 => "F_ADD_SEALS",
        1034 => "F_GET_SEALS",
        1035 => "F_GET_RW_HINT",
        1036 => "F_SET_RW_HINT",
        1037 => "F_GET_FILE_RW_HINT",
        1038 => "F_SET_FILE_RW_HINT",
        _ => return None,
    })
}

/// The name of an `arch_prctl` code.
pub fn arch_prctl_name(code: u64) -> Option<&'static str> {
    Some(match code {
        0x1001 => "ARCH_SET_GS",
        0x1002 => "ARCH_SET_FS",
        0x1003 => "ARCH_GET_FS",
        0x1004 => "ARCH_GET_GS",
        0x1011 => "ARCH_GET_CPUID",
        0x1012 => "ARCH_SET_CPUID",
        0x1021 => "ARCH_GET_XCOMP_SUPP",
        0x1022 => "ARCH_GET_XCOMP_PERM",
        0x1023 => "ARCH_REQ_XCOMP_PERM",
        0x1024 => "ARCH_GET_XCOMP_GUEST_PERM",
        0x1025 => "ARCH_REQ_XCOMP_GUEST_PERM",
        0x2001 => "ARCH_MAP_VDSO_X32",
        0x2002 => "ARCH_MAP_VDSO_32",
        0x2003 => "ARCH_MAP_VDSO_64",
        0x4001 => "ARCH_GET_UNTAG_MASK",
        0x4002 => "ARCH_ENABLE_TAGGED_ADDR",
        0x4003 => "ARCH_GET_MAX_TAG_BITS",
        0x4004 => "ARCH_FORCE_TAGGED_SVA",
        0x5001 => "ARCH_SHSTK_ENABLE",
        0x5002 => "ARCH_SHSTK_DISABLE",
        0x5003 => "ARCH_SHSTK_LOCK",
        0x5004 => "ARCH_SHSTK_UNLOCK",
        0x5005 => "ARCH_SHSTK_STATUS",
        _ => return None,
    })
}

/// The name of a `prctl` option.
pub fn prctl_name(option: u64) -> Option<&'static str> {
    Some(match option {
        1 => "PR_SET_PDEATHSIG",
        2 => "PR_GET_PDEATHSIG",
        3 => "PR_GET_DUMPABLE",
        4 => "PR_SET_DUMPABLE",
        5 => "PR_GET_UNALIGN",
        6 => "PR_SET_UNALIGN",
        7 => "PR_GET_KEEPCAPS",
        8 => "PR_SET_KEEPCAPS",
        9 => "PR_GET_FPEMU",
        10 => "PR_SET_FPEMU",
        11 => "PR_GET_FPEXC",
        12 => "PR_SET_FPEXC",
        13 => "PR_GET_TIMING",
        14 => "PR_SET_TIMING",
        15 => "PR_SET_NAME",
        16 => "PR_GET_NAME",
        19 => "PR_GET_ENDIAN",
        20 => "PR_SET_ENDIAN",
        21 => "PR_GET_SECCOMP",
        22 => "PR_SET_SECCOMP",
        23 => "PR_CAPBSET_READ",
        24 => "PR_CAPBSET_DROP",
        25 => "PR_GET_TSC",
        26 => "PR_SET_TSC",
        27 => "PR_GET_SECUREBITS",
        28 => "PR_SET_SECUREBITS",
        29 => "PR_SET_TIMERSLACK",
        30 => "PR_GET_TIMERSLACK",
        31 => "PR_TASK_PERF_EVENTS_DISABLE",
        32 => "PR_TASK_PERF_EVENTS_ENABLE",
        33 => "PR_MCE_KILL",
        34 => "PR_MCE_KILL_GET",
        35 => "PR_SET_MM",
        36 => "PR_SET_CHILD_SUBREAPER",
        37 => "PR_GET_CHILD_SUBREAPER",
        38 => "PR_SET_NO_NEW_PRIVS",
        39 => "PR_GET_NO_NEW_PRIVS",
        40 => "PR_GET_TID_ADDRESS",
        41 => "PR_SET_THP_DISABLE",
        42 => "PR_GET_THP_DISABLE",
        43 => "PR_MPX_ENABLE_MANAGEMENT",
        44 => "PR_MPX_DISABLE_MANAGEMENT",
        45 => "PR_SET_FP_MODE",
        46 => "PR_GET_FP_MODE",
        47 => "PR_CAP_AMBIENT",
        50 => "PR_SVE_SET_VL",
        51 => "PR_SVE_GET_VL",
        52 => "PR_GET_SPECULATION_CTRL",
        53 => "PR_SET_SPECULATION_CTRL",
        54 => "PR_PAC_RESET_KEYS",
        55 => "PR_SET_TAGGED_ADDR_CTRL",
        56 => "PR_GET_TAGGED_ADDR_CTRL",
        57 => "PR_SET_IO_FLUSHER",
        58 => "PR_GET_IO_FLUSHER",
        59 => "PR_SET_SYSCALL_USER_DISPATCH",
        62 => "PR_SCHED_CORE",
        65 => "PR_SET_MDWE",
        66 => "PR_GET_MDWE",
        0x5961_6d61 => "PR_SET_PTRACER",
        0x5356_4d41 => "PR_SET_VMA",
        _ => return None,
    })
}

/// The strace rendering of a futex op: `FUTEX_WAIT_PRIVATE`,
/// `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`, or hex if unknown.
pub fn futex_op_name(op: u64) -> String {
    const PRIVATE: u64 = 128;
    const CLOCK_REALTIME: u64 = 256;
    let base = match op & !(PRIVATE | CLOCK_REALTIME) {
        0 => "FUTEX_WAIT",
        1 => "FUTEX_WAKE",
        2 => "FUTEX_FD",
        3 => "FUTEX_REQUEUE",
        4 => "FUTEX_CMP_REQUEUE",
        5 => "FUTEX_WAKE_OP",
        6 => "FUTEX_LOCK_PI",
        7 => "FUTEX_UNLOCK_PI",
        8 => "FUTEX_TRYLOCK_PI",
        9 => "FUTEX_WAIT_BITSET",
        10 => "FUTEX_WAKE_BITSET",
        11 => "FUTEX_WAIT_REQUEUE_PI",
        12 => "FUTEX_CMP_REQUEUE_PI",
        13 => "FUTEX_LOCK_PI2",
        _ => return format!("{op:#x}"),
    };
    let mut s = base.to_string();
    if op & PRIVATE != 0 {
        s.push_str("_PRIVATE");
    }
    if op & CLOCK_REALTIME != 0 {
        s.push_str("|FUTEX_CLOCK_REALTIME");
    }
    s
}

/// The name of a socket address family.
pub fn sock_domain_name(domain: u64) -> Option<&'static str> {
    Some(match domain {
        0 => "AF_UNSPEC",
        1 => "AF_UNIX",
        2 => "AF_INET",
        10 => "AF_INET6",
        16 => "AF_NETLINK",
        17 => "AF_PACKET",
        38 => "AF_ALG",
        40 => "AF_VSOCK",
        _ => return None,
    })
}

/// The strace rendering of a socket type: `SOCK_STREAM|SOCK_CLOEXEC`.
pub fn sock_type_name(ty: u64) -> String {
    const NONBLOCK: u64 = 0o4000;
    const CLOEXEC: u64 = 0o2000000;
    let base = ty & 0xf;
    let mut parts: Vec<String> = vec![match base {
        1 => "SOCK_STREAM".to_string(),
        2 => "SOCK_DGRAM".to_string(),
        3 => "SOCK_RAW".to_string(),
        4 => "SOCK_RDM".to_string(),
        5 => "SOCK_SEQPACKET".to_string(),
        6 => "SOCK_DCCP".to_string(),
        10 => "SOCK_PACKET".to_string(),
        other => format!("{other:#x}"),
    }];
    if ty & NONBLOCK != 0 {
        parts.push("SOCK_NONBLOCK".to_string());
    }
    if ty & CLOEXEC != 0 {
        parts.push("SOCK_CLOEXEC".to_string());
    }
    let rest = ty & !(0xf | NONBLOCK | CLOEXEC);
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(signal_name(libc::SIGCHLD as u64), "SIGCHLD");
        assert_eq!(signal_name(libc::SIGSYS as u64), "SIGSYS");
        assert_eq!(signal_name(32), "SIGRTMIN");
        assert_eq!(signal_name(35), "SIGRT_3");
        assert_eq!(signal_name(0), "0");
        assert_eq!(signal_name(99), "99");
    }

    #[test]
    fn codes_match_libc() {
        assert_eq!(ioctl_name(libc::TCGETS), Some("TCGETS"));
        assert_eq!(ioctl_name(libc::TIOCGWINSZ), Some("TIOCGWINSZ"));
        assert_eq!(ioctl_name(libc::FIONREAD), Some("FIONREAD"));
        assert_eq!(ioctl_name(libc::TIOCGPTN), Some("TIOCGPTN"));
        assert_eq!(ioctl_name(libc::TIOCSPTLCK), Some("TIOCSPTLCK"));
        assert_eq!(ioctl_name(libc::FIOCLEX), Some("FIOCLEX"));
        assert_eq!(fcntl_name(libc::F_DUPFD_CLOEXEC as u64), Some("F_DUPFD_CLOEXEC"));
        assert_eq!(fcntl_name(libc::F_SETFL as u64), Some("F_SETFL"));
        assert_eq!(fcntl_name(libc::F_OFD_SETLKW as u64), Some("F_OFD_SETLKW"));
        assert_eq!(fcntl_name(libc::F_ADD_SEALS as u64), Some("F_ADD_SEALS"));
        assert_eq!(prctl_name(libc::PR_SET_NAME as u64), Some("PR_SET_NAME"));
        assert_eq!(
            prctl_name(libc::PR_SET_NO_NEW_PRIVS as u64),
            Some("PR_SET_NO_NEW_PRIVS")
        );
        assert_eq!(prctl_name(libc::PR_SET_PTRACER as u64), Some("PR_SET_PTRACER"));
        assert_eq!(prctl_name(libc::PR_CAP_AMBIENT as u64), Some("PR_CAP_AMBIENT"));
        assert_eq!(arch_prctl_name(0x1002), Some("ARCH_SET_FS"));
        assert_eq!(sighow_name(libc::SIG_SETMASK as u64), Some("SIG_SETMASK"));
        assert_eq!(sock_domain_name(libc::AF_INET6 as u64), Some("AF_INET6"));
    }

    #[test]
    fn futex_and_socket_rendering() {
        assert_eq!(
            futex_op_name((libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as u64),
            "FUTEX_WAIT_PRIVATE"
        );
        assert_eq!(
            futex_op_name((libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG | libc::FUTEX_CLOCK_REALTIME) as u64),
            "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"
        );
        assert_eq!(futex_op_name(77), "0x4d");
        assert_eq!(
            sock_type_name((libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
        assert_eq!(
            sock_type_name((libc::SOCK_DGRAM | libc::SOCK_NONBLOCK) as u64),
            "SOCK_DGRAM|SOCK_NONBLOCK"
        );
    }
}
