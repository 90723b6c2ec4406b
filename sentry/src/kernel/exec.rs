//! execve: a fresh stub from the zygote, the new program loaded into it,
//! then the old image (and every other thread of the group) discarded.

use super::signal::{SIG_DFL, SIG_IGN};
use super::task::Task;
use super::wait::block_until;
use crate::loader;
use crate::mm::MemoryManager;
use crate::platform::ptrace::layout::TRAMPOLINE_SIZE;
use std::sync::atomic::Ordering;
use syscalls::Errno;

/// Replaces the task's program. Errors before the point of no return leave
/// the caller's image untouched, as Linux does.
pub fn do_execve(task: &mut Task, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> Result<(), Errno> {
    let kernel = task.kernel.clone();
    let new_thread = kernel.zygote.new_stub()?;
    let reserved = (kernel.layout.trampoline, kernel.layout.trampoline + TRAMPOLINE_SIZE);
    let new_mm = MemoryManager::new(new_thread.tid, reserved);
    let mut old_thread = std::mem::replace(&mut task.thread, new_thread);
    let old_mm = std::mem::replace(&mut task.mm, new_mm);
    let old_comm = task.comm.clone();
    let old_creds = task.creds.clone();
    if let Err(e) = loader::exec::load_program(task, path, argv, envp) {
        let mut failed = std::mem::replace(&mut task.thread, old_thread);
        task.mm = old_mm;
        task.comm = old_comm;
        task.creds = old_creds;
        failed.kill_process();
        return Err(e);
    }

    // Point of no return: every other thread of the group goes away.
    let tg = task.shared.tg.clone();
    let others: Vec<i32> = tg
        .state
        .lock()
        .map(|s| s.threads.iter().copied().filter(|t| *t != task.tid).collect())
        .unwrap_or_default();
    for tid in &others {
        if let Some(t) = kernel.task(*tid) {
            t.kill();
        }
    }
    let shared_vm = tg.state.lock().map(|s| s.vfork_pending).unwrap_or(false);
    if !shared_vm {
        // Our old stub process holds only this group's threads.
        old_thread.kill_process();
    } else {
        // A vfork child shares its parent's memory: leave only our own host
        // process, which the parent does not need.
        old_thread.kill_process();
    }
    if !others.is_empty() {
        let _ = block_until(&[&tg.stop_events], None, || {
            tg.state
                .lock()
                .map(|s| s.live_sentry_threads <= 1)
                .unwrap_or(true)
                .then_some(())
        });
    }
    if task.tid != tg.tgid {
        // A non-leader that execs takes over the leader's identity (its tid
        // becomes the pid), as in Linux's de_thread.
        become_leader(task);
    }
    tg.host_pid.store(task.thread.tid, Ordering::SeqCst);
    task.shared.host_tid.store(task.thread.tid, Ordering::SeqCst);
    // A SIGKILL of the group that raced with the exec killed the old stub
    // (the only host process it knew): it must end the new one too. Once
    // host_pid names the new stub, a later kill_group reaches it itself.
    let killed_meanwhile = tg.state.lock().map(|s| s.exiting.is_some()).unwrap_or(true);
    if killed_meanwhile {
        super::exit::kill_host_process(&tg);
        task.shared.kill();
        return Ok(());
    }
    task.shared.killed.store(false, Ordering::SeqCst);
    task.shared.robust_list.store(0, Ordering::SeqCst);
    if let Ok(mut mm) = task.shared.mm.lock() {
        *mm = Some(task.mm.clone());
    }

    for file in task.fds.close_on_exec() {
        crate::vfs::locks::on_close(task.tgid, &file, std::sync::Arc::strong_count(&file) == 1);
    }
    if let Ok(mut handlers) = tg.handlers.lock() {
        for action in handlers.iter_mut() {
            if action.handler != SIG_IGN && action.handler != SIG_DFL {
                *action = Default::default();
            }
        }
    }
    task.signals.altstack = (0, libc::SS_DISABLE, 0);
    task.clear_child_tid = 0;
    task.robust_list = (0, 0);
    task.restart = None;
    if let Ok(mut s) = tg.state.lock() {
        s.did_exec = true;
        s.vfork_pending = false;
    }
    tg.stop_events.notify_all();
    super::timers::on_exec(tg.tgid);
    Ok(())
}

/// Re-registers the exec'ing thread under the thread group id.
fn become_leader(task: &mut Task) {
    let tg = task.shared.tg.clone();
    let leader = super::task::TaskShared::new(tg.tgid, tg.clone(), task.signals.mask);
    if let (Ok(mut new), Ok(mut old)) = (leader.pending.lock(), task.shared.pending.lock()) {
        *new = std::mem::take(&mut *old);
    }
    if let Ok(mut table) = task.kernel.table.lock() {
        table.tasks.remove(&task.tid);
        table.tasks.insert(tg.tgid, leader.clone());
        if let Ok(mut st) = tg.state.lock() {
            for t in st.threads.iter_mut() {
                if *t == task.tid {
                    *t = tg.tgid;
                }
            }
        }
    }
    task.tid = tg.tgid;
    task.shared = leader.clone();
    super::set_current_task(leader);
}
