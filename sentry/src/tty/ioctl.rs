//! Terminal ioctls on pseudo-terminal files (tty_ioctl(4)). They need the
//! calling task (its session, process group, credentials and fd table), so
//! `ioctl(2)` hands tty files here before the generic `FileOps::ioctl`.
//!
//! As in Linux, mode and window-size requests on the master act on the
//! pair (the replica's termios), and job control applies only to the
//! replica when it is the caller's controlling terminal.

use super::{MasterFile, Pty, ReplicaFile};
use crate::kernel::session;
use crate::kernel::Task;
use crate::syscalls::SysResult;
use crate::vfs::{FileDescription, FileRef};
use std::sync::Arc;
use syscalls::structs::{KernelTermios, Winsize};
use syscalls::{Errno, Pod};

/// The kernel's `struct termios2` (TCGETS2 and friends): termios plus the
/// input and output speeds.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct Termios2 {
    t: KernelTermios,
    ispeed: u32,
    ospeed: u32,
}

// SAFETY: repr(C): a Pod struct and two u32, no padding (36 + 8 bytes).
unsafe impl Pod for Termios2 {}

/// The speed `B38400` stands for.
const SPEED: u32 = 38400;

const TCSETS2: u32 = 0x402c_542b;
const TCSETSW2: u32 = 0x402c_542c;
const TCSETSF2: u32 = 0x402c_542d;
const TCGETS2: u32 = 0x802c_542a;
const TIOCGPTN: u32 = 0x8004_5430;
const TIOCSPTLCK: u32 = 0x4004_5431;
const TIOCGPTLCK: u32 = 0x8004_5439;
const TIOCGPTPEER: u32 = 0x5441;

/// Handles `cmd` when `file` is a pseudo-terminal; `None` for other files.
pub fn dispatch(task: &mut Task, file: &FileRef, cmd: u32, arg: u64) -> Option<SysResult> {
    let any = file.ops().as_any()?;
    if let Some(m) = any.downcast_ref::<MasterFile>() {
        let pty = m.pty().clone();
        return Some(master_ioctl(task, &pty, cmd, arg));
    }
    if let Some(r) = any.downcast_ref::<ReplicaFile>() {
        let pty = r.pty().clone();
        return Some(replica_ioctl(task, &pty, cmd, arg));
    }
    None
}

/// The pty behind a file, if it is either side of one.
pub fn pty_of(file: &FileDescription) -> Option<Arc<Pty>> {
    let any = file.ops().as_any()?;
    if let Some(m) = any.downcast_ref::<MasterFile>() {
        return Some(m.pty().clone());
    }
    any.downcast_ref::<ReplicaFile>().map(|r| r.pty().clone())
}

fn master_ioctl(task: &mut Task, pty: &Arc<Pty>, cmd: u32, arg: u64) -> SysResult {
    match cmd {
        TIOCGPTN => {
            task.mm.write_obj(arg, &pty.index)?;
            Ok(0)
        }
        TIOCSPTLCK => {
            let v: i32 = task.mm.read_obj(arg)?;
            pty.lock().locked = v != 0;
            Ok(0)
        }
        TIOCGPTLCK => {
            let v = i32::from(pty.lock().locked);
            task.mm.write_obj(arg, &v)?;
            Ok(0)
        }
        TIOCGPTPEER => open_peer(task, pty, arg as i32),
        c if c == libc::FIONREAD as u32 => {
            let n = pty.lock().ld.output_len().min(i32::MAX as usize) as i32;
            task.mm.write_obj(arg, &n)?;
            Ok(0)
        }
        c if c == libc::TIOCOUTQ as u32 => {
            task.mm.write_obj(arg, &0i32)?;
            Ok(0)
        }
        c if c == libc::TCFLSH as u32 => {
            // The master's input is the replica's output and vice versa.
            flush(pty, arg as i32, true)
        }
        _ => common_ioctl(task, pty, cmd, arg, false),
    }
}

fn replica_ioctl(task: &mut Task, pty: &Arc<Pty>, cmd: u32, arg: u64) -> SysResult {
    if !pty.lock().master_open {
        return Err(if cmd == libc::TIOCSPGRP as u32 {
            Errno::ENOTTY
        } else {
            Errno::EIO
        });
    }
    match cmd {
        TIOCGPTN | TIOCSPTLCK | TIOCGPTLCK | TIOCGPTPEER => Err(Errno::ENOTTY),
        c if c == libc::FIONREAD as u32 => {
            let n = pty.lock().ld.readable().min(i32::MAX as usize) as i32;
            task.mm.write_obj(arg, &n)?;
            Ok(0)
        }
        c if c == libc::TIOCOUTQ as u32 => {
            // As Linux's pty: written output is the master's input at once,
            // nothing waits in the replica's output queue.
            task.mm.write_obj(arg, &0i32)?;
            Ok(0)
        }
        c if c == libc::TCFLSH as u32 => {
            check_change(pty)?;
            flush(pty, arg as i32, false)
        }
        _ => common_ioctl(task, pty, cmd, arg, true),
    }
}

/// SIGTTOU job control for requests that change the terminal.
fn check_change(pty: &Pty) -> Result<(), Errno> {
    let controls = pty.controls_current();
    let fg = pty.lock().pgrp;
    session::job_control_check(controls, fg, libc::SIGTTOU)
}

fn flush(pty: &Pty, which: i32, master: bool) -> SysResult {
    let (input, output) = match which {
        libc::TCIFLUSH => (true, false),
        libc::TCOFLUSH => (false, true),
        libc::TCIOFLUSH => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let (input, output) = if master { (output, input) } else { (input, output) };
    {
        let mut st = pty.lock();
        if input {
            st.ld.flush_input();
        }
        if output {
            st.ld.flush_output();
        }
    }
    pty.notify();
    Ok(0)
}

fn set_termios(pty: &Pty, t: KernelTermios, flush_input: bool, replica: bool) -> SysResult {
    if replica {
        check_change(pty)?;
    }
    {
        let mut st = pty.lock();
        if flush_input {
            st.ld.flush_input();
        }
        st.ld.set_termios(t);
    }
    pty.notify();
    Ok(0)
}

/// Requests both sides answer alike (`replica` says which side asked).
fn common_ioctl(task: &mut Task, pty: &Arc<Pty>, cmd: u32, arg: u64, replica: bool) -> SysResult {
    let lc = |c: libc::Ioctl| c as u32;
    match cmd {
        c if c == lc(libc::TCGETS) => {
            let t = pty.lock().ld.termios;
            task.mm.write_obj(arg, &t)?;
            Ok(0)
        }
        c if c == lc(libc::TCSETS) || c == lc(libc::TCSETSW) || c == lc(libc::TCSETSF) => {
            let t: KernelTermios = task.mm.read_obj(arg)?;
            set_termios(pty, t, c == lc(libc::TCSETSF), replica)
        }
        TCGETS2 => {
            let t = Termios2 {
                t: pty.lock().ld.termios,
                ispeed: SPEED,
                ospeed: SPEED,
            };
            task.mm.write_obj(arg, &t)?;
            Ok(0)
        }
        TCSETS2 | TCSETSW2 | TCSETSF2 => {
            let t: Termios2 = task.mm.read_obj(arg)?;
            set_termios(pty, t.t, cmd == TCSETSF2, replica)
        }
        c if c == lc(libc::TIOCGWINSZ) => {
            let w = pty.lock().winsize;
            task.mm.write_obj(arg, &w)?;
            Ok(0)
        }
        c if c == lc(libc::TIOCSWINSZ) => {
            let w: Winsize = task.mm.read_obj(arg)?;
            let fg = {
                let mut st = pty.lock();
                let changed = st.winsize.as_bytes() != w.as_bytes();
                st.winsize = w;
                if changed {
                    st.pgrp
                } else {
                    None
                }
            };
            if let Some(fg) = fg {
                session::signal_pgrp(fg, libc::SIGWINCH);
            }
            Ok(0)
        }
        c if c == lc(libc::TIOCSCTTY) => {
            let steal = arg == 1 && task.creds.has_cap(crate::kernel::caps::CAP_SYS_ADMIN);
            pty.acquire_for_current(steal).map(|_| 0)
        }
        c if c == lc(libc::TIOCNOTTY) => {
            if !pty.controls_current() {
                return Err(Errno::ENOTTY);
            }
            let (tgid, _, sid) = session::current_ids().ok_or(Errno::ENOTTY)?;
            if tgid != sid {
                session::detach_process(tgid);
                return Ok(0);
            }
            // The leader gives it up for the whole session: SIGHUP and
            // SIGCONT to the foreground group.
            let fg = {
                let mut st = pty.lock();
                st.session = None;
                st.pgrp.take()
            };
            session::clear_session_terminal(sid);
            if let Some(fg) = fg {
                session::signal_pgrp(fg, libc::SIGHUP);
                session::signal_pgrp(fg, libc::SIGCONT);
            }
            Ok(0)
        }
        c if c == lc(libc::TIOCGPGRP) => {
            if replica && !pty.controls_current() {
                return Err(Errno::ENOTTY);
            }
            let pgrp = pty.lock().pgrp.unwrap_or(0);
            task.mm.write_obj(arg, &pgrp)?;
            Ok(0)
        }
        c if c == lc(libc::TIOCSPGRP) => {
            if replica {
                check_change(pty)?;
            }
            let (_, _, sid) = session::current_ids().ok_or(Errno::ENOTTY)?;
            if !pty.controls_current() || pty.lock().session != Some(sid) {
                return Err(Errno::ENOTTY);
            }
            let pgrp: i32 = task.mm.read_obj(arg)?;
            if pgrp < 0 {
                return Err(Errno::EINVAL);
            }
            if !session::pgrp_in_session(pgrp, sid) {
                let exists = task.kernel.groups().iter().any(|g| {
                    g.state
                        .lock()
                        .map(|s| s.pgid == pgrp && s.zombie.is_none())
                        .unwrap_or(false)
                });
                return Err(if exists { Errno::EPERM } else { Errno::ESRCH });
            }
            pty.lock().pgrp = Some(pgrp);
            Ok(0)
        }
        c if c == lc(libc::TIOCGSID) => {
            if replica && !pty.controls_current() {
                return Err(Errno::ENOTTY);
            }
            let sid = pty.lock().session.ok_or(Errno::ENOTTY)?;
            task.mm.write_obj(arg, &sid)?;
            Ok(0)
        }
        c if c == lc(libc::TCXONC) => {
            match arg as i32 {
                libc::TCOOFF => pty.lock().ld.stopped = true,
                libc::TCOON => pty.lock().ld.stopped = false,
                // Sending STOP/START characters to the other side: nothing
                // to throttle here.
                libc::TCIOFF | libc::TCION => {}
                _ => return Err(Errno::EINVAL),
            }
            pty.notify();
            Ok(0)
        }
        // tcdrain and tcsendbreak: output is handed to the master at once
        // and a pty has no line to break.
        c if c == lc(libc::TCSBRK) || c == lc(libc::TCSBRKP) => Ok(0),
        c if c == lc(libc::TIOCEXCL) || c == lc(libc::TIOCNXCL) => Ok(0),
        c if c == lc(libc::TIOCGETD) => {
            task.mm.write_obj(arg, &0i32)?; // N_TTY
            Ok(0)
        }
        c if c == lc(libc::TIOCSETD) => {
            let d: i32 = task.mm.read_obj(arg)?;
            if d == 0 {
                Ok(0)
            } else {
                Err(Errno::EINVAL)
            }
        }
        c if c == lc(libc::TIOCPKT) => {
            let on: i32 = task.mm.read_obj(arg)?;
            if on == 0 {
                Ok(0)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// TIOCGPTPEER: opens the replica of the master's pair, without a path
/// lookup (so it works in another mount namespace), O_NOCTTY implied.
fn open_peer(task: &mut Task, pty: &Arc<Pty>, flags: i32) -> SysResult {
    let allowed = libc::O_ACCMODE | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = super::open_replica(pty, flags | libc::O_NOCTTY, None)?;
    let path = pty.path();
    let location = crate::vfs::lookup_at(task, libc::AT_FDCWD, &path, true)
        .ok()
        .filter(|loc| loc.inode().stat().map(|s| s.st_rdev == pty.rdev()).unwrap_or(false));
    let file = FileDescription::new(ops, flags & !libc::O_CLOEXEC, location);
    let fd = task
        .fds
        .insert(file, flags & libc::O_CLOEXEC != 0, 0, task.limits.nofile())?;
    Ok(fd as u64)
}
