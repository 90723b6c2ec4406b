//! Host terminals handed to the guest as its stdio (OCI `process.terminal`:
//! the replica of a host pty; `runsc do` on the user's terminal).
//!
//! Design: the host pty's own line discipline edits, echoes and converts
//! for the guest (the guest's `TCSETS` goes through to it), but the
//! signals that discipline generates (^C, ^\, ^Z, window changes) go to
//! the host foreground process group, which is the sentry's, never a
//! guest process. The sentry takes them (`SI_KERNEL` in its `signals`
//! thread) and sends them to the *guest* foreground process group of that
//! terminal, which the guest sets with `TIOCSPGRP` on its fd and which is
//! recorded here per host terminal (keyed by the tty's device number).
//! The host foreground group itself is never changed, so the sentry can
//! always read and write the terminal.

use super::signal::{self, SigInfo};
use std::collections::HashMap;
use std::sync::Mutex;
use syscalls::Errno;

/// Guest foreground process group per host terminal (`st_rdev`).
static FOREGROUND: Mutex<Option<HashMap<u64, i32>>> = Mutex::new(None);

/// The device number of the host terminal behind `fd`, if it is one.
pub fn tty_rdev(fd: i32) -> Option<u64> {
    // SAFETY: isatty only queries the fd.
    if unsafe { libc::isatty(fd) } != 1 {
        return None;
    }
    // SAFETY: an all-zero stat is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable struct stat.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return None;
    }
    Some(st.st_rdev)
}

/// `TIOCSPGRP` on a host terminal: `pgid` must be a live guest process group.
pub fn set_foreground(rdev: u64, pgid: i32) -> Result<(), Errno> {
    if pgid <= 0 {
        return Err(Errno::EINVAL);
    }
    let kernel = super::global().ok_or(Errno::ESRCH)?;
    if kernel.process_group(pgid).is_empty() {
        return Err(Errno::EPERM);
    }
    let mut map = FOREGROUND.lock().map_err(|_| Errno::EIO)?;
    map.get_or_insert_with(HashMap::new).insert(rdev, pgid);
    Ok(())
}

/// `TIOCGPGRP`: the recorded guest foreground group, else the caller's
/// own group (a terminal a process was started on is its foreground until
/// a shell moves it; job-control shells loop on SIGTTIN otherwise).
pub fn foreground(rdev: u64) -> i32 {
    let recorded = FOREGROUND
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&rdev).copied()));
    recorded
        .or_else(|| super::current_task().and_then(|t| t.tg.state.lock().ok().map(|s| s.pgid)))
        .unwrap_or(1)
}

/// Sends a terminal-generated signal to the guest foreground process group
/// of the host terminal `rdev` (process `fallback` if none was set or that
/// group is gone), as the kernel does: `SI_KERNEL`, from no process.
pub fn signal_foreground(rdev: Option<u64>, fallback: i32, signo: i32) -> Result<(), Errno> {
    let kernel = super::global().ok_or(Errno::ESRCH)?;
    let recorded = rdev.and_then(|r| {
        FOREGROUND
            .lock()
            .ok()
            .and_then(|m| m.as_ref().and_then(|m| m.get(&r).copied()))
    });
    let pgid = recorded.unwrap_or(-1);
    let info = SigInfo {
        signo,
        code: signal::SI_KERNEL,
        ..SigInfo::default()
    };
    let targets = kernel.process_group(pgid);
    if targets.is_empty() {
        return signal::post(signal::SignalTarget::Process(fallback), info);
    }
    for tg in targets {
        signal::send_to_group(&kernel, &tg, info);
    }
    Ok(())
}

/// Whether `signo` is one a terminal generates for its foreground group.
pub fn is_terminal_signal(signo: i32) -> bool {
    matches!(signo, libc::SIGINT | libc::SIGQUIT | libc::SIGTSTP | libc::SIGWINCH)
}
