//! A traced host thread of a stub: run it until its next event, read and
//! write its registers on demand.

use super::{layout::StubLayout, PlatformError};
use crate::platform::{Event, FaultInfo};
use std::sync::Arc;

/// Options every stub thread is traced with. No auto-attach of children:
/// new threads and processes park in the trampoline and are seized by the
/// sentry thread that will serve them.
pub const TRACE_OPTIONS: libc::c_int = libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD;

/// A host thread of a stub process, traced by the current sentry thread.
pub struct StubThread {
    /// Host tid.
    pub tid: i32,
    /// Registers as of the last stop (plus any changes not yet written).
    regs: libc::user_regs_struct,
    /// True when `regs` holds changes that must reach the thread before it runs.
    dirty: bool,
    /// The stub layout (trampoline address, vDSO).
    pub layout: Arc<StubLayout>,
}

/// What a `waitpid` on a traced thread reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Syscall-entry stop (`SIGTRAP | 0x80`).
    Syscall,
    /// A ptrace event stop (`PTRACE_EVENT_*`).
    PtraceEvent(i32),
    /// Signal-delivery stop for this signal.
    Signal(i32),
    /// The thread exited with this status.
    Exited(i32),
    /// The thread was killed by this signal.
    Killed(i32),
}

/// Waits for the next stop of `tid`.
pub fn wait_stop(tid: i32) -> Result<Stop, PlatformError> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes only to `status`, a valid local.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r == tid {
            break;
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Err(PlatformError::last("waitpid"));
    }
    Ok(if libc::WIFEXITED(status) {
        Stop::Exited(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Stop::Killed(libc::WTERMSIG(status))
    } else {
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if sig == (libc::SIGTRAP | 0x80) {
            Stop::Syscall
        } else if event != 0 {
            Stop::PtraceEvent(event)
        } else {
            Stop::Signal(sig)
        }
    })
}

/// Issues a ptrace request whose data argument is a signal number or options.
fn ptrace_req(req: libc::c_uint, tid: i32, data: usize) -> Result<(), PlatformError> {
    // SAFETY: requests used here (CONT, SYSEMU, SETOPTIONS, KILL) take no
    // pointers from us; the kernel validates `tid`.
    let r = unsafe { libc::ptrace(req, tid, 0usize, data) };
    if r < 0 {
        return Err(PlatformError::last("ptrace"));
    }
    Ok(())
}

/// Reads the registers of a stopped thread.
pub fn get_regs(tid: i32) -> Result<libc::user_regs_struct, PlatformError> {
    // SAFETY: an all-zero user_regs_struct is valid plain data.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETREGS writes a user_regs_struct into `regs`.
    let r = unsafe { libc::ptrace(libc::PTRACE_GETREGS, tid, 0usize, &mut regs as *mut _) };
    if r < 0 {
        return Err(PlatformError::last("PTRACE_GETREGS"));
    }
    Ok(regs)
}

fn set_regs(tid: i32, regs: &libc::user_regs_struct) -> Result<(), PlatformError> {
    // SAFETY: PTRACE_SETREGS reads a user_regs_struct from `regs`.
    let r = unsafe { libc::ptrace(libc::PTRACE_SETREGS, tid, 0usize, regs as *const _) };
    if r < 0 {
        return Err(PlatformError::last("PTRACE_SETREGS"));
    }
    Ok(())
}

/// Reads the siginfo of a thread in signal-delivery stop.
fn get_siginfo(tid: i32) -> Result<libc::siginfo_t, PlatformError> {
    // SAFETY: an all-zero siginfo_t is valid plain data.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETSIGINFO writes a siginfo_t into `info`.
    let r = unsafe { libc::ptrace(libc::PTRACE_GETSIGINFO, tid, 0usize, &mut info as *mut _) };
    if r < 0 {
        return Err(PlatformError::last("PTRACE_GETSIGINFO"));
    }
    Ok(info)
}

impl StubThread {
    /// Takes over a parked, untraced stub thread (see the trampoline's park
    /// loop): seize it, interrupt it, and wait until it stops. The calling
    /// sentry thread becomes its tracer.
    pub fn seize(tid: i32, layout: Arc<StubLayout>) -> Result<StubThread, PlatformError> {
        // SAFETY: PTRACE_SEIZE/INTERRUPT take no pointers; the kernel checks `tid`.
        unsafe {
            if libc::ptrace(libc::PTRACE_SEIZE, tid, 0usize, TRACE_OPTIONS as usize) != 0 {
                return Err(PlatformError::last("PTRACE_SEIZE"));
            }
            if libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0usize, 0usize) != 0 {
                return Err(PlatformError::last("PTRACE_INTERRUPT"));
            }
        }
        loop {
            match wait_stop(tid)? {
                Stop::PtraceEvent(_) | Stop::Syscall => break,
                // A signal reached it before the interrupt: swallow it and
                // wait for the interrupt stop.
                Stop::Signal(_) => ptrace_req(libc::PTRACE_CONT, tid, 0)?,
                other => {
                    return Err(PlatformError::UnexpectedStop {
                        pid: tid,
                        what: format!("seize: {other:?}"),
                    })
                }
            }
        }
        let mut thread = StubThread::attach_stopped(tid, layout)?;
        // Whatever it was doing (pause), it must not be restarted.
        thread.regs_mut().orig_rax = u64::MAX;
        Ok(thread)
    }

    /// Injects a clone/fork at the trampoline's clone entry; the new thread
    /// or process parks untraced. Returns its host tid.
    pub fn inject_clone(&mut self, host_flags: u64) -> Result<Result<i32, syscalls::Errno>, PlatformError> {
        let entry = self.layout.clone_entry() - self.layout.trampoline;
        let raw = self.inject_at(entry, libc::SYS_clone, [host_flags, 0, 0, 0, 0, 0])?;
        Ok(match syscalls::Errno::from_return(raw) {
            Some(e) => Err(e),
            None => Ok(raw as i32),
        })
    }

    /// Wraps a thread that is stopped and traced by the calling thread.
    pub fn attach_stopped(tid: i32, layout: Arc<StubLayout>) -> Result<StubThread, PlatformError> {
        let regs = get_regs(tid)?;
        Ok(StubThread {
            tid,
            regs,
            dirty: false,
            layout,
        })
    }

    /// The registers (as of the last stop, with local changes).
    pub fn regs(&self) -> &libc::user_regs_struct {
        &self.regs
    }

    /// Mutable registers; written back before the thread runs again.
    pub fn regs_mut(&mut self) -> &mut libc::user_regs_struct {
        self.dirty = true;
        &mut self.regs
    }

    /// Sets the syscall return value (`rax`).
    pub fn set_return(&mut self, value: u64) {
        self.regs.rax = value;
        self.dirty = true;
    }

    fn flush(&mut self) -> Result<(), PlatformError> {
        if self.dirty {
            set_regs(self.tid, &self.regs)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Runs application code until it makes a syscall, faults, or is signalled.
    pub fn switch(&mut self) -> Result<Event, PlatformError> {
        self.flush()?;
        let mut resume_sig = 0usize;
        loop {
            if ptrace_req(libc::PTRACE_SYSEMU, self.tid, resume_sig).is_err() {
                return Ok(Event::Gone);
            }
            resume_sig = 0;
            match wait_stop(self.tid)? {
                Stop::Syscall => {
                    self.regs = get_regs(self.tid)?;
                    let r = &self.regs;
                    return Ok(Event::Syscall {
                        nr: r.orig_rax,
                        args: [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9],
                    });
                }
                Stop::PtraceEvent(_) => continue,
                Stop::Signal(sig) => {
                    let info = get_siginfo(self.tid)?;
                    self.regs = get_regs(self.tid)?;
                    let synchronous = matches!(
                        sig,
                        libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
                    ) && info.si_code > 0;
                    if synchronous {
                        // SAFETY: for these kernel-generated fault signals the
                        // siginfo union holds the fault address.
                        let addr = unsafe { info.si_addr() } as u64;
                        return Ok(Event::Fault(FaultInfo {
                            signal: sig,
                            code: info.si_code,
                            addr,
                        }));
                    }
                    if sig == libc::SIGSTOP || sig == libc::SIGTSTP || sig == libc::SIGTTIN || sig == libc::SIGTTOU {
                        // Host job control must never stop a stub: swallow it.
                        continue;
                    }
                    return Ok(Event::HostSignal(sig));
                }
                Stop::Exited(_) | Stop::Killed(_) => return Ok(Event::Gone),
            }
        }
    }

    /// Runs host syscall `nr` entering the trampoline at `offset`.
    fn inject_at(&mut self, offset: u64, nr: i64, args: [u64; 6]) -> Result<u64, PlatformError> {
        let saved = self.regs;
        let mut r = saved;
        r.rip = self.layout.trampoline + offset;
        r.rax = nr as u64;
        r.orig_rax = u64::MAX;
        r.rdi = args[0];
        r.rsi = args[1];
        r.rdx = args[2];
        r.r10 = args[3];
        r.r8 = args[4];
        r.r9 = args[5];
        set_regs(self.tid, &r)?;
        loop {
            ptrace_req(libc::PTRACE_CONT, self.tid, 0)?;
            match wait_stop(self.tid)? {
                Stop::Signal(libc::SIGTRAP) => break,
                Stop::PtraceEvent(_) | Stop::Syscall => {}
                // An asynchronous signal during injection is swallowed; the
                // platform has no guest meaning for it in this window.
                Stop::Signal(_) => {}
                Stop::Exited(code) => {
                    return Err(PlatformError::UnexpectedStop {
                        pid: self.tid,
                        what: format!("exited {code} during injection"),
                    })
                }
                Stop::Killed(sig) => {
                    return Err(PlatformError::UnexpectedStop {
                        pid: self.tid,
                        what: format!("killed by {sig} during injection"),
                    })
                }
            }
        }
        let result = get_regs(self.tid)?.rax;
        self.regs = saved;
        self.dirty = true;
        Ok(result)
    }

    /// Runs host syscall `nr` inside the stub; returns `rax`, or the errno.
    pub fn inject(&mut self, nr: i64, args: [u64; 6]) -> Result<Result<u64, syscalls::Errno>, PlatformError> {
        let raw = self.inject_at(0, nr, args)?;
        Ok(match syscalls::Errno::from_return(raw) {
            Some(e) => Err(e),
            None => Ok(raw),
        })
    }

    /// Resets the FPU/SSE state to the power-on default (for a new program).
    pub fn reset_fpu(&mut self) -> Result<(), PlatformError> {
        // SAFETY: all-zero is a valid user_fpregs_struct.
        let mut fp: libc::user_fpregs_struct = unsafe { std::mem::zeroed() };
        fp.cwd = 0x37f;
        fp.mxcsr = 0x1f80;
        // SAFETY: PTRACE_SETFPREGS reads a user_fpregs_struct from `fp`.
        let r = unsafe { libc::ptrace(libc::PTRACE_SETFPREGS, self.tid, 0usize, &fp as *const _) };
        if r < 0 {
            return Err(PlatformError::last("PTRACE_SETFPREGS"));
        }
        Ok(())
    }

    /// Kills the stub process this thread belongs to and reaps the thread.
    pub fn kill_process(&mut self) {
        // SAFETY: sends SIGKILL to our own traced stub; no memory involved.
        unsafe { libc::kill(self.tid, libc::SIGKILL) };
        while let Ok(stop) = wait_stop(self.tid) {
            if matches!(stop, Stop::Exited(_) | Stop::Killed(_)) {
                break;
            }
        }
    }
}
