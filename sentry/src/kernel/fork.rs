//! clone, fork and vfork.
//!
//! The parent's sentry thread injects a clone into its own stub at the
//! trampoline's clone entry: a thread for CLONE_THREAD, a copy-on-write
//! process otherwise, a process sharing the address space for CLONE_VM
//! without CLONE_THREAD (vfork, posix_spawn). The new host thread parks,
//! untraced; a new sentry thread seizes it and runs the child task.

use super::signal::SignalState;
use super::task::{Task, TaskShared};
use super::thread_group::ThreadGroup;
use super::wait::block_until;
use super::Kernel;
use crate::platform::ptrace::StubThread;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use syscalls::Errno;

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_PTRACE: u64 = 0x2000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PARENT: u64 = 0x8000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_NEWNS: u64 = 0x20000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_UNTRACED: u64 = 0x800000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CLONE_IO: u64 = 0x8000_0000;
/// Namespace flags: not supported inside the sandbox yet.
const CLONE_NAMESPACES: u64 =
    0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | CLONE_NEWNS | 0x80;

/// What clone was asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    /// CLONE_* flags (without the exit signal).
    pub flags: u64,
    /// Signal sent to the parent when the child exits.
    pub exit_signal: i32,
    /// New stack pointer (0: the parent's).
    pub stack: u64,
    /// CLONE_PARENT_SETTID address.
    pub parent_tid: u64,
    /// CLONE_CHILD_SETTID / CLONE_CHILD_CLEARTID address.
    pub child_tid: u64,
    /// CLONE_SETTLS value.
    pub tls: u64,
}

/// Everything a child task needs except its stub thread, which only its
/// own sentry thread can seize.
struct Blueprint {
    kernel: Arc<Kernel>,
    shared: Arc<TaskShared>,
    host_tid: i32,
    mm: crate::mm::MemoryManager,
    fs: crate::vfs::FsContext,
    fds: Arc<crate::vfs::FdTable>,
    creds: super::Credentials,
    limits: super::limits::Limits,
    signals: SignalState,
    regs: libc::user_regs_struct,
    clear_child_tid: u64,
    comm: Vec<u8>,
    no_new_privs: bool,
}

/// clone(2): returns the child's tid to the parent.
pub fn do_clone(task: &mut Task, args: CloneArgs) -> Result<i32, Errno> {
    let f = args.flags;
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 || f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_NAMESPACES != 0 || f & CLONE_PIDFD != 0 {
        return Err(Errno::EINVAL);
    }
    let _ = (
        CLONE_PTRACE,
        CLONE_DETACHED,
        CLONE_UNTRACED,
        CLONE_IO,
        CLONE_SYSVSEM,
        CLONE_FS,
    );
    let thread = f & CLONE_THREAD != 0;
    let share_vm = f & CLONE_VM != 0;
    let host_flags = if thread {
        CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
    } else if share_vm {
        CLONE_VM | libc::SIGCHLD as u64
    } else {
        libc::SIGCHLD as u64
    };
    let host_tid = task.thread.inject_clone(host_flags).map_err(Errno::from)??;

    let kernel = task.kernel.clone();
    let parent_tg = task.shared.tg.clone();
    let (tid, shared) = {
        let mut table = kernel.table.lock().map_err(|_| Errno::EIO)?;
        let tid = table.alloc_pid().ok_or(Errno::EAGAIN)?;
        let tg = if thread {
            let mut st = parent_tg.state.lock().map_err(|_| Errno::EIO)?;
            if st.exiting.is_some() {
                // SAFETY: kill the just-created host thread's whole... it shares the
                // dying process, which is being killed anyway.
                return Err(Errno::EAGAIN);
            }
            st.threads.push(tid);
            st.live_sentry_threads += 1;
            parent_tg.clone()
        } else {
            let (parent, pgid, sid) = {
                let st = parent_tg.state.lock().map_err(|_| Errno::EIO)?;
                let parent = if f & CLONE_PARENT != 0 {
                    st.parent
                } else {
                    parent_tg.tgid
                };
                (parent, st.pgid, st.sid)
            };
            let handlers = if f & CLONE_SIGHAND != 0 {
                parent_tg.handlers.clone()
            } else {
                let copy = *parent_tg.handlers.lock().map_err(|_| Errno::EIO)?;
                Arc::new(Mutex::new(copy))
            };
            let tg = ThreadGroup::new(tid, parent, pgid, sid, handlers, args.exit_signal);
            tg.host_pid.store(host_tid, Ordering::SeqCst);
            if let Ok(mut st) = tg.state.lock() {
                st.vfork_pending = f & CLONE_VFORK != 0;
            }
            if let Some(ptg) = table.groups.get(&parent) {
                if let Ok(mut ps) = ptg.state.lock() {
                    ps.children.push(tid);
                }
            }
            table.groups.insert(tid, tg.clone());
            tg
        };
        let shared = TaskShared::new(tid, tg, task.signals.mask);
        shared.host_tid.store(host_tid, Ordering::SeqCst);
        table.tasks.insert(tid, shared.clone());
        (tid, shared)
    };

    let mm = if share_vm {
        task.mm.clone()
    } else {
        task.mm.fork(host_tid)?
    };
    let fds = if f & CLONE_FILES != 0 {
        task.fds.clone()
    } else {
        Arc::new(task.fds.fork())
    };
    // The child is visible in the PID namespace already: give procfs its
    // view (name, credentials, fds, address space) before it first runs.
    shared.proc.inherit(&task.shared.proc, &fds);
    if let Ok(mut m) = shared.mm.lock() {
        *m = Some(mm.clone());
    }
    let mut signals = task.signals.clone();
    if share_vm && f & CLONE_VFORK == 0 {
        // A new thread starts without an alternate signal stack.
        signals.altstack = (0, libc::SS_DISABLE, 0);
    }
    let mut regs = *task.thread.regs();
    regs.rax = 0;
    regs.orig_rax = u64::MAX;
    if args.stack != 0 {
        regs.rsp = args.stack;
    }
    if f & CLONE_SETTLS != 0 {
        regs.fs_base = args.tls;
    }
    if f & CLONE_PARENT_SETTID != 0 {
        task.mm.write_obj(args.parent_tid, &tid)?;
    }
    if f & CLONE_CHILD_SETTID != 0 {
        mm.write_obj(args.child_tid, &tid)?;
    }
    let blueprint = Blueprint {
        kernel: kernel.clone(),
        shared: shared.clone(),
        host_tid,
        mm,
        fs: task.fs.clone(),
        fds,
        creds: task.creds.clone(),
        limits: task.limits.clone(),
        signals,
        regs,
        clear_child_tid: if f & CLONE_CHILD_CLEARTID != 0 {
            args.child_tid
        } else {
            0
        },
        comm: task.comm.clone(),
        no_new_privs: task.no_new_privs,
    };
    std::thread::Builder::new()
        .name(format!("task-{tid}"))
        .spawn(move || run_child(blueprint))
        .map_err(|_| Errno::EAGAIN)?;

    if f & CLONE_VFORK != 0 {
        // The parent sleeps until the child execs or exits (killable only).
        let ctg = shared.tg.clone();
        loop {
            let r = block_until(&[&ctg.stop_events], None, || {
                ctg.state.lock().map(|s| !s.vfork_pending).unwrap_or(true).then_some(())
            });
            if r.is_ok() || task.shared.is_killed() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    Ok(tid)
}

/// The child's sentry thread: seize the parked host thread, give it the
/// child's registers, and run the task.
fn run_child(b: Blueprint) {
    let layout = b.kernel.layout.clone();
    let mut thread = match StubThread::seize(b.host_tid, layout) {
        Ok(t) => t,
        Err(e) => {
            tracing::debug!("clone: the new stub thread is gone before it ran: {e}");
            let killed = super::task::ExitStatus::Signaled {
                signal: libc::SIGKILL,
                core: false,
            };
            super::exit::kill_group(&b.shared.tg, killed);
            super::exit::thread_gone(&b.kernel, &b.shared, b.shared.tid, Some(killed));
            return;
        }
    };
    *thread.regs_mut() = b.regs;
    let tid = b.shared.tid;
    let tgid = b.shared.tg.tgid;
    let mut task = Task {
        kernel: b.kernel,
        shared: b.shared,
        tid,
        tgid,
        mm: b.mm,
        thread,
        fs: b.fs,
        fds: b.fds,
        creds: b.creds,
        limits: b.limits,
        signals: b.signals,
        clear_child_tid: b.clear_child_tid,
        robust_list: (0, 0),
        comm: b.comm,
        exit_status: None,
        start_time: std::time::Instant::now(),
        no_new_privs: b.no_new_privs,
        restart: None,
        saved_mask: None,
    };
    super::run::run_task(&mut task);
}
