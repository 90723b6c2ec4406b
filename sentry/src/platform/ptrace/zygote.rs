//! The zygote: a pristine, empty stub from which every new address space is
//! forked.
//!
//! The sentry forks the zygote once at boot, before it starts any thread.
//! The child maps the trampoline, ignores SIGCHLD (so its children, the
//! stubs, are reaped by the host), becomes traced, installs the stub seccomp
//! filter and traps at the trampoline's `int3`. The sentry then unmaps
//! everything the child inherited except the trampoline and the vDSO, by
//! injecting `munmap`. A new stub is a `fork` injected into the zygote, so
//! it starts as empty as the zygote is.

use super::{
    layout::{StubLayout, PAGE, TRAMPOLINE_CODE, TRAMPOLINE_SIZE},
    seccomp,
    thread::{wait_stop, Stop, StubThread, TRACE_OPTIONS},
    PlatformError,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

extern "C" {
    /// glibc (2.35+): offset of the thread's rseq area from the thread pointer.
    static __rseq_offset: isize;
    /// glibc (2.35+): size of the registered rseq area, 0 if not registered.
    static __rseq_size: u32;
}
/// `RSEQ_FLAG_UNREGISTER`.
const RSEQ_FLAG_UNREGISTER: u32 = 1;
/// The signature glibc registers rseq with on x86.
const RSEQ_SIG: u32 = 0x5305_3053;

/// The stub's end of the fd-passing socket is always this fd number.
pub const STUB_SOCKET_FD: i32 = 0;

/// The pristine zygote process, traced by the thread that created it.
pub struct Zygote {
    thread: StubThread,
    /// The stub layout shared by every stub.
    pub layout: Arc<StubLayout>,
    /// The sentry's end of the socket every stub inherits at fd 0, used to
    /// donate host fds into a stub (see [`super::inject`]).
    pub donor_socket: Arc<OwnedFd>,
}

/// Everything the forked child needs, prepared before `fork` so the child
/// only makes raw system calls (it may not allocate).
struct ChildPlan<'a> {
    trampoline: u64,
    socket: RawFd,
    filter: &'a [libc::sock_filter],
}

/// The zygote child: never returns; ends trapped at the trampoline's int3.
fn zygote_child(plan: &ChildPlan<'_>) -> ! {
    // SAFETY: only async-signal-safe raw system calls on values prepared
    // before fork (no allocation); on any failure the child exits at once.
    unsafe {
        // The thread we were forked from may have registered rseq; the
        // kernel would write to its (soon unmapped) area on every return to
        // user space and kill us with SIGSEGV when that fails.
        if __rseq_size > 0 {
            let tp: u64;
            std::arch::asm!("mov {}, fs:0", out(reg) tp);
            let area = tp.wrapping_add(__rseq_offset as u64);
            // __rseq_size is the feature size (20); glibc registered a
            // 32-byte area, and the kernel wants the registered length back.
            for len in [32, __rseq_size, 64, 128] {
                if libc::syscall(libc::SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0 {
                    break;
                }
            }
        }
        // No handler or alternate stack of the sentry survives into stubs.
        for sig in 1..=64 {
            libc::signal(sig, libc::SIG_DFL);
        }
        let disable = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        libc::sigaltstack(&disable, std::ptr::null_mut());
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::setsid();
        if libc::dup2(plan.socket, STUB_SOCKET_FD) < 0 {
            libc::_exit(120);
        }
        libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32);
        let addr = libc::mmap(
            plan.trampoline as *mut libc::c_void,
            TRAMPOLINE_SIZE as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        if addr as u64 != plan.trampoline {
            libc::_exit(121);
        }
        let code = plan.trampoline as *mut u8;
        std::ptr::write_bytes(code, 0xcc, PAGE as usize);
        std::ptr::copy_nonoverlapping(TRAMPOLINE_CODE.as_ptr(), code, TRAMPOLINE_CODE.len());
        if libc::mprotect(
            plan.trampoline as *mut libc::c_void,
            PAGE as usize,
            libc::PROT_READ | libc::PROT_EXEC,
        ) != 0
        {
            libc::_exit(122);
        }
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) != 0 {
            libc::_exit(123);
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            libc::_exit(124);
        }
        let prog = libc::sock_fprog {
            len: plan.filter.len() as u16,
            filter: plan.filter.as_ptr() as *mut _,
        };
        if libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0u32,
            &prog as *const _,
        ) != 0
        {
            libc::_exit(125);
        }
        // Trap at the trampoline's int3: the tracer takes over from here.
        std::arch::asm!("jmp {0}", in(reg) plan.trampoline + 2, options(noreturn));
    }
}

impl Zygote {
    /// Forks and cleans the zygote. Call before the sentry starts threads.
    pub fn create(layout: StubLayout) -> Result<Zygote, PlatformError> {
        let layout = Arc::new(layout);
        let mut fds = [0 as RawFd; 2];
        // SAFETY: socketpair writes two fds into `fds`.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        } != 0
        {
            return Err(PlatformError::last("socketpair"));
        }
        // SAFETY: both fds were just created and are owned by nobody else.
        let (donor, stub_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let filter = seccomp::stub_filter(layout.trampoline);
        let plan = ChildPlan {
            trampoline: layout.trampoline,
            socket: stub_end.as_raw_fd(),
            filter: &filter,
        };
        // SAFETY: the child runs only `zygote_child`, which makes raw syscalls.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(PlatformError::last("fork"));
        }
        if pid == 0 {
            zygote_child(&plan);
        }
        drop(stub_end);
        match wait_stop(pid)? {
            Stop::Signal(libc::SIGTRAP) => {}
            other => {
                return Err(PlatformError::UnexpectedStop {
                    pid,
                    what: format!("zygote start: {other:?}"),
                });
            }
        }
        // SAFETY: PTRACE_SETOPTIONS on our stopped tracee; no pointers.
        if unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0usize, TRACE_OPTIONS as usize) } != 0 {
            return Err(PlatformError::last("PTRACE_SETOPTIONS"));
        }
        let mut thread = StubThread::attach_stopped(pid, layout.clone())?;
        for (lo, hi) in layout.ranges_to_unmap() {
            if let Err(e) = thread.inject(libc::SYS_munmap, [lo, hi - lo, 0, 0, 0, 0])? {
                return Err(PlatformError::Host {
                    op: "munmap in zygote",
                    errno: e,
                });
            }
        }
        Ok(Zygote {
            thread,
            layout,
            donor_socket: Arc::new(donor),
        })
    }

    /// Forks a new, empty stub from the zygote. The stub parks untraced in
    /// the trampoline until a sentry thread seizes it
    /// ([`StubThread::seize`]); returns its host pid.
    pub fn fork_parked(&mut self) -> Result<i32, PlatformError> {
        self.thread
            .inject_clone(libc::SIGCHLD as u64)?
            .map_err(|errno| PlatformError::Host {
                op: "fork in zygote",
                errno,
            })
    }

    /// Forks a new stub and seizes it from the calling thread (which must be
    /// the zygote's tracer too).
    pub fn spawn_stub(&mut self) -> Result<StubThread, PlatformError> {
        let pid = self.fork_parked()?;
        StubThread::seize(pid, self.layout.clone())
    }
}
