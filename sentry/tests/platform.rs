//! The ptrace platform end to end: a stub forked from the zygote runs raw
//! machine code; its syscalls are trapped (never executed), injected calls
//! run, and faults come back as events.
#![allow(clippy::unwrap_used, clippy::panic)]

use sentry::platform::ptrace::{layout::StubLayout, Zygote};
use sentry::platform::Event;

/// mov eax, 39 (getpid); syscall; mov edi, eax; mov eax, 62 (kill); mov esi, 9; syscall;
/// mov eax, [0]; (fault)
const CODE: &[u8] = &[
    0xb8, 39, 0, 0, 0, // mov eax, 39
    0x0f, 0x05, // syscall
    0x89, 0xc7, // mov edi, eax
    0xb8, 62, 0, 0, 0, // mov eax, 62
    0xbe, 9, 0, 0, 0, // mov esi, 9
    0x0f, 0x05, // syscall
    0x8b, 0x04, 0x25, 0, 0, 0, 0, // mov eax, [0]
];

fn run_in_fresh_stub() {
    let layout = StubLayout::discover().unwrap();
    let mut zygote = Zygote::create(layout).unwrap();
    let mut thread = zygote.spawn_stub().unwrap();
    let prot = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
    let page = thread
        .inject(libc::SYS_mmap, [0, 4096, prot, flags, u64::MAX, 0])
        .unwrap()
        .unwrap();
    let mm = sentry::mm::MemoryManager::new(thread.tid, (0, 0));
    mm.write(page, CODE).unwrap();
    thread.regs_mut().rip = page;

    // getpid is trapped, not executed: we answer 4242.
    assert!(matches!(thread.switch().unwrap(), Event::Syscall { nr: 39, .. }));
    thread.set_return(4242);
    // kill(4242, SIGKILL) is trapped too: the argument is our answer and
    // nothing is sent (the stub is still alive to fault next).
    match thread.switch().unwrap() {
        Event::Syscall { nr: 62, args } => assert_eq!((args[0], args[1]), (4242, 9)),
        other => panic!("expected kill, got {other:?}"),
    }
    thread.set_return(0);
    match thread.switch().unwrap() {
        Event::Fault(f) => {
            assert_eq!(f.signal, libc::SIGSEGV);
            assert_eq!(f.addr, 0);
        }
        other => panic!("expected a fault, got {other:?}"),
    }
    thread.kill_process();
}

#[test]
fn stub_traps_syscalls_and_reports_faults() {
    // The zygote must be created by a thread that stays alive as tracer; a
    // test thread is fine since the whole exchange happens on it.
    std::thread::spawn(run_in_fresh_stub).join().unwrap();
}

/// Invariant 1's second wall: if application code ever ran with syscalls
/// really executing (PTRACE_CONT instead of SYSEMU), the stub's seccomp
/// filter kills it, because the syscall does not come from the trampoline.
fn stub_filter_kills_syscalls_outside_the_trampoline() {
    let layout = StubLayout::discover().unwrap();
    let mut zygote = Zygote::create(layout).unwrap();
    let mut thread = zygote.spawn_stub().unwrap();
    let prot = (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC) as u64;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
    let page = thread
        .inject(libc::SYS_mmap, [0, 4096, prot, flags, u64::MAX, 0])
        .unwrap()
        .unwrap();
    let mm = sentry::mm::MemoryManager::new(thread.tid, (0, 0));
    mm.write(page, CODE).unwrap();
    // Run the code for real (no SYSEMU): its getpid must kill the stub.
    let mut regs = *thread.regs();
    regs.rip = page;
    // SAFETY: PTRACE_SETREGS/CONT on our own stopped tracee.
    unsafe {
        assert_eq!(
            libc::ptrace(libc::PTRACE_SETREGS, thread.tid, 0usize, &regs as *const _),
            0
        );
        assert_eq!(libc::ptrace(libc::PTRACE_CONT, thread.tid, 0usize, 0usize), 0);
    }
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes only `status`.
        let waited = unsafe { libc::waitpid(thread.tid, &mut status, libc::__WALL) };
        assert_eq!(waited, thread.tid);
        if libc::WIFSIGNALED(status) {
            break;
        }
        // A seccomp kill may first be reported as a ptrace stop: let it go on.
        // SAFETY: resume our own tracee.
        unsafe { libc::ptrace(libc::PTRACE_CONT, thread.tid, 0usize, 0usize) };
    }
    assert_eq!(libc::WTERMSIG(status), libc::SIGSYS);
}

#[test]
fn stub_filter_kills_untrapped_syscalls() {
    std::thread::spawn(stub_filter_kills_syscalls_outside_the_trampoline)
        .join()
        .unwrap();
}
