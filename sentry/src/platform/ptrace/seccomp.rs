//! The stub's seccomp filter: defence in depth for invariant 1.
//!
//! Under `PTRACE_SYSEMU` the host never executes an application syscall
//! (the ptrace stop comes before seccomp and the call is skipped). The only
//! syscalls a stub really executes are the ones the sentry injects at the
//! trampoline. This filter makes that structural: a syscall from any other
//! instruction, or one that is not on the injection list, kills the stub.

/// `AUDIT_ARCH_X86_64`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_IP_LO: u32 = 8;
const OFF_IP_HI: u32 = 12;

/// The syscalls the sentry injects into stubs.
pub const INJECTED_SYSCALLS: &[i64] = &[
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mprotect,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_msync,
    libc::SYS_mincore,
    libc::SYS_mlock,
    libc::SYS_munlock,
    libc::SYS_recvmsg,
    libc::SYS_close,
    libc::SYS_clone,
    libc::SYS_pause,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Builds the classic-BPF program: allow only [`INJECTED_SYSCALLS`], and only
/// when the syscall instruction lies in the trampoline's code page (which
/// holds nothing but rvisor's code and cannot be written or remapped by the
/// guest). `trampoline` is the page's address, 64 KiB aligned.
pub fn stub_filter(trampoline: u64) -> Vec<libc::sock_filter> {
    use libc::{BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    let ld = BPF_LD | BPF_W | BPF_ABS;
    let jeq = BPF_JMP | BPF_JEQ | BPF_K;
    let ret = BPF_RET | BPF_K;
    let mut prog = vec![
        stmt(ld, OFF_ARCH),
        jump(jeq, AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, KILL),
        stmt(ld, OFF_IP_LO),
        stmt(BPF_ALU | BPF_AND | BPF_K, !0xfff_u32),
        jump(jeq, trampoline as u32, 1, 0),
        stmt(ret, KILL),
        stmt(ld, OFF_IP_HI),
        jump(jeq, (trampoline >> 32) as u32, 1, 0),
        stmt(ret, KILL),
        stmt(ld, OFF_NR),
    ];
    for &nr in INJECTED_SYSCALLS {
        // If equal, skip the next instruction (the jump-to-next) and allow.
        prog.push(jump(jeq, nr as u32, 0, 1));
        prog.push(stmt(ret, ALLOW));
    }
    prog.push(stmt(ret, KILL));
    prog
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_ends_in_kill_and_checks_ip_first() {
        let prog = stub_filter(0x7fff_1234_0000);
        assert_eq!(prog.last().map(|i| i.k), Some(libc::SECCOMP_RET_KILL_PROCESS));
        assert_eq!(prog[5].k, 0x1234_0000);
        assert_eq!(prog[8].k, 0x7fff);
        assert_eq!(prog.len(), 11 + 2 * INJECTED_SYSCALLS.len() + 1);
    }
}
