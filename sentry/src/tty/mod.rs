//! Pseudo-terminals: a [`Pty`] is one master/replica pair, with the line
//! discipline ([`ldisc`]) between them, the window size, the lock that
//! `unlockpt` clears, and the session it controls with its foreground
//! process group. [`MasterFile`] and [`ReplicaFile`] are the open files of
//! each side; the nodes (`/dev/ptmx`, `/dev/pts/N`) live in
//! [`crate::fs::devpts`], and the terminal ioctls, which need the calling
//! task, in [`ioctl`].
//!
//! One wait queue per pair serves both sides: it is notified whenever
//! either side's readiness may have changed.

pub mod ioctl;
pub mod ldisc;

use crate::fs::devpts::PtsTable;
use crate::kernel::session::{self, ControllingTerminal};
use crate::kernel::wait::{block_until, WaitQueue};
use crate::mm::MemoryManager;
use crate::vfs::inode::SetAttr;
use crate::vfs::inode::{makedev, synthetic_stat};
use crate::vfs::FileOps;
use ldisc::{Effect, Ldisc};
use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use syscalls::structs::{Stat, Winsize};
use syscalls::{Errno, Pod};

/// Major number of the first block of replicas (`UNIX98_PTY_SLAVE_MAJOR`).
pub const PTY_REPLICA_MAJOR: u32 = 136;
/// Major number of /dev/tty (5:0) and /dev/ptmx (5:2).
pub const TTYAUX_MAJOR: u32 = 5;
/// The `tty` group that owns replicas (devpts' usual `gid=5`).
pub const TTY_GID: u32 = 5;

const POLLIN: u32 = (libc::POLLIN | libc::POLLRDNORM) as u32;
const POLLOUT: u32 = (libc::POLLOUT | libc::POLLWRNORM) as u32;
const POLLHUP: u32 = libc::POLLHUP as u32;
const POLLERR: u32 = libc::POLLERR as u32;

/// The mutable state of a pair.
pub(crate) struct PtyState {
    /// The line discipline (termios, input and output queues).
    pub ld: Ldisc,
    /// TIOCGWINSZ/TIOCSWINSZ.
    pub winsize: Winsize,
    /// Replica opens fail with EIO while set (cleared by unlockpt).
    pub locked: bool,
    /// False once the master is closed: the replica is hung up.
    pub master_open: bool,
    /// Open replica files.
    pub replicas: usize,
    /// Every replica was closed: master reads give EIO once drained.
    pub other_closed: bool,
    /// The session this terminal controls.
    pub session: Option<i32>,
    /// Its foreground process group.
    pub pgrp: Option<i32>,
}

/// Owner and mode of a replica node (`/dev/pts/N`).
#[derive(Clone, Copy, Debug)]
pub struct NodeAttrs {
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// One pseudo-terminal pair.
pub struct Pty {
    /// N in /dev/pts/N.
    pub index: u32,
    /// The device of the devpts instance that holds it.
    dev: u64,
    /// Inode number of /dev/pts/N.
    ino: u64,
    state: Mutex<PtyState>,
    attrs: Mutex<NodeAttrs>,
    /// Notified on every change of either side.
    queue: WaitQueue,
    /// The devpts table, told when the index is free again.
    table: Weak<PtsTable>,
}

impl Pty {
    /// A new, locked pair with index `index`, its replica owned by `uid`.
    pub fn new(index: u32, dev: u64, ino: u64, uid: u32, table: Weak<PtsTable>) -> Arc<Pty> {
        Arc::new(Pty {
            index,
            dev,
            ino,
            state: Mutex::new(PtyState {
                ld: Ldisc::new(),
                winsize: Winsize::zeroed(),
                locked: true,
                master_open: true,
                replicas: 0,
                other_closed: false,
                session: None,
                pgrp: None,
            }),
            attrs: Mutex::new(NodeAttrs {
                mode: 0o620,
                uid,
                gid: TTY_GID,
            }),
            queue: WaitQueue::new(),
            table,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, PtyState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The replica's path.
    pub fn path(&self) -> Vec<u8> {
        format!("/dev/pts/{}", self.index).into_bytes()
    }

    /// The replica's device number (136:N, then 137:N-256 ...).
    pub fn rdev(&self) -> u64 {
        makedev(PTY_REPLICA_MAJOR + self.index / 256, self.index % 256)
    }

    /// stat of /dev/pts/N.
    pub fn node_stat(&self) -> Stat {
        let a = *self.attrs.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = synthetic_stat(self.dev, self.ino, libc::S_IFCHR | (a.mode & 0o7777), self.rdev());
        st.st_uid = a.uid;
        st.st_gid = a.gid;
        st
    }

    /// chmod/chown of /dev/pts/N.
    pub fn set_node_attrs(&self, attr: &SetAttr) {
        let mut a = self.attrs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = attr.mode {
            a.mode = m & 0o7777;
        }
        if let Some(u) = attr.uid {
            a.uid = u;
        }
        if let Some(g) = attr.gid {
            a.gid = g;
        }
    }

    pub(crate) fn notify(&self) {
        self.queue.notify_all();
    }

    /// Whether this pair is the controlling terminal of the calling task.
    pub(crate) fn controls_current(&self) -> bool {
        let Some((tgid, _, sid)) = session::current_ids() else {
            return false;
        };
        if self.lock().session != Some(sid) {
            return false;
        }
        session::process_terminal(tgid, sid)
            .and_then(|t| t.as_any().downcast::<Pty>().ok())
            .is_some_and(|p| std::ptr::eq(Arc::as_ptr(&p), self))
    }

    /// Makes this pair the controlling terminal of the calling task's
    /// session, foreground group the caller's. Used by TIOCSCTTY and by
    /// opening a replica without O_NOCTTY.
    pub(crate) fn acquire_for_current(self: &Arc<Self>, steal: bool) -> Result<(), Errno> {
        let (tgid, pgid, sid) = session::current_ids().ok_or(Errno::EPERM)?;
        if tgid != sid {
            return Err(Errno::EPERM);
        }
        if let Some(cur) = session::session_terminal(sid) {
            let same = cur
                .as_any()
                .downcast::<Pty>()
                .ok()
                .is_some_and(|p| Arc::ptr_eq(&p, self));
            return if same { Ok(()) } else { Err(Errno::EPERM) };
        }
        let previous = {
            let st = self.lock();
            if !st.master_open {
                return Err(Errno::EIO);
            }
            st.session
        };
        if let Some(other) = previous {
            if other != sid && session::session_terminal(other).is_some() {
                if !steal {
                    return Err(Errno::EPERM);
                }
                session::clear_session_terminal(other);
            }
        }
        let me: Arc<dyn ControllingTerminal> = self.clone();
        if !session::set_session_terminal(sid, me) {
            return Err(Errno::EPERM);
        }
        let mut st = self.lock();
        st.session = Some(sid);
        st.pgrp = Some(pgid);
        Ok(())
    }

    /// The master was closed: hang the replica up, remove /dev/pts/N, and
    /// SIGHUP (then SIGCONT) the leader of the session it controlled.
    fn hangup(&self) {
        let sid = {
            let mut st = self.lock();
            st.master_open = false;
            st.pgrp = None;
            st.session.take()
        };
        self.notify();
        if let Some(t) = self.table.upgrade() {
            t.hide(self.index);
        }
        if let Some(sid) = sid {
            session::clear_session_terminal(sid);
            session::signal_process(sid, libc::SIGHUP);
            session::signal_process(sid, libc::SIGCONT);
        }
    }

    /// Sends the signals that input characters raised to the foreground
    /// group.
    fn raise(&self, sigs: &[i32]) {
        if sigs.is_empty() {
            return;
        }
        let fg = self.lock().pgrp;
        if let Some(fg) = fg {
            for &s in sigs {
                session::signal_pgrp(fg, s);
            }
        }
    }

    // ---- master side ----

    fn master_read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let attempt = |buf: &mut [u8]| -> Option<Result<usize, Errno>> {
            let mut st = self.lock();
            let n = st.ld.read_output(buf);
            if n > 0 {
                return Some(Ok(n));
            }
            if st.other_closed {
                return Some(Err(Errno::EIO));
            }
            nonblock.then_some(Err(Errno::EAGAIN))
        };
        let r = match attempt(buf) {
            Some(r) => r,
            None => block_until(&[&self.queue], None, || attempt(buf))?,
        };
        if matches!(r, Ok(n) if n > 0) {
            self.notify();
        }
        r
    }

    fn master_write(&self, data: &[u8], nonblock: bool) -> Result<usize, Errno> {
        let mut done = 0;
        loop {
            let mut sigs = Vec::new();
            let before = done;
            {
                let mut st = self.lock();
                while done < data.len() && st.ld.input_room() > 0 {
                    if let Effect::Signal(s) = st.ld.receive(data[done]) {
                        sigs.push(s);
                    }
                    done += 1;
                }
            }
            if done > before {
                self.notify();
            }
            self.raise(&sigs);
            if done == data.len() {
                return Ok(done);
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let waited = block_until(&[&self.queue], None, || (self.lock().ld.input_room() > 0).then_some(()));
            if let Err(e) = waited {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
    }

    fn master_readiness(&self, mask: u32) -> u32 {
        let st = self.lock();
        let mut r = 0;
        if st.ld.output_ready() {
            r |= POLLIN;
        }
        if st.ld.input_room() > 0 {
            r |= POLLOUT;
        }
        if st.other_closed {
            r |= POLLHUP;
        }
        r & (mask | POLLHUP | POLLERR)
    }

    // ---- replica side ----

    fn fg_if_controlling(&self) -> (bool, Option<i32>) {
        let controls = self.controls_current();
        (controls, self.lock().pgrp)
    }

    fn replica_read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        if !self.lock().master_open {
            return Ok(0);
        }
        let (controls, fg) = self.fg_if_controlling();
        session::job_control_check(controls, fg, libc::SIGTTIN)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let r = self.replica_read_inner(buf, nonblock);
        if matches!(r, Ok(n) if n > 0) {
            self.notify();
        }
        r
    }

    fn replica_read_inner(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        let (canonical, min, time) = {
            let st = self.lock();
            let (min, time) = st.ld.min_time();
            (st.ld.canonical(), min as usize, time as u64)
        };
        if canonical {
            let attempt = |buf: &mut [u8]| -> Option<Result<usize, Errno>> {
                let mut st = self.lock();
                if !st.master_open {
                    return Some(Ok(0));
                }
                if st.ld.line_ready() || (!st.ld.canonical() && st.ld.readable() > 0) {
                    // (Raw mode may have been set while this read waited.)
                    return Some(Ok(st.ld.read(buf)));
                }
                nonblock.then_some(Err(Errno::EAGAIN))
            };
            return match attempt(buf) {
                Some(r) => r,
                None => block_until(&[&self.queue], None, || attempt(buf))?,
            };
        }
        // Raw mode: VMIN bytes (at most the buffer), VTIME tenths of a
        // second (a total timeout when VMIN is 0, else between bytes).
        let want = min.min(buf.len());
        let avail = || {
            let st = self.lock();
            (st.ld.readable(), st.master_open)
        };
        let take = |buf: &mut [u8]| self.lock().ld.read(buf);
        let (n, open) = avail();
        if nonblock || (min == 0 && time == 0) {
            if n == 0 && open && nonblock {
                return Err(Errno::EAGAIN);
            }
            return Ok(take(buf));
        }
        let tenths = Duration::from_millis(100 * time);
        if min == 0 {
            let r = block_until(&[&self.queue], Some(Instant::now() + tenths), || {
                let (n, open) = avail();
                (n > 0 || !open).then_some(())
            });
            return match r {
                Ok(()) => Ok(take(buf)),
                Err(e) if e == Errno::ETIMEDOUT => Ok(0),
                Err(e) => Err(e),
            };
        }
        // Wait for the first byte with no limit.
        block_until(&[&self.queue], None, || {
            let (n, open) = avail();
            (n > 0 || !open).then_some(())
        })?;
        if time == 0 {
            block_until(&[&self.queue], None, || {
                let (n, open) = avail();
                (n >= want || !open).then_some(())
            })?;
            return Ok(take(buf));
        }
        // Inter-byte timer: restarted whenever more bytes arrive.
        loop {
            let (seen, open) = avail();
            if seen >= want || !open {
                break;
            }
            let r = block_until(&[&self.queue], Some(Instant::now() + tenths), || {
                let (n, open) = avail();
                (n != seen || !open).then_some(())
            });
            match r {
                Ok(()) => continue,
                Err(e) if e == Errno::ETIMEDOUT => break,
                Err(e) => {
                    // Interrupted after some bytes: hand them over.
                    if seen > 0 {
                        break;
                    }
                    return Err(e);
                }
            }
        }
        Ok(take(buf))
    }

    fn replica_write(&self, data: &[u8], nonblock: bool) -> Result<usize, Errno> {
        let tostop = {
            let st = self.lock();
            if !st.master_open {
                return Err(Errno::EIO);
            }
            st.ld.termios.c_lflag & libc::TOSTOP != 0
        };
        if tostop {
            let (controls, fg) = self.fg_if_controlling();
            session::job_control_check(controls, fg, libc::SIGTTOU)?;
        }
        let mut done = 0;
        loop {
            {
                let mut st = self.lock();
                if !st.master_open {
                    return if done > 0 { Ok(done) } else { Err(Errno::EIO) };
                }
                let n = st.ld.output_room().min(data.len() - done);
                st.ld.write_output(&data[done..done + n]);
                done += n;
            }
            self.notify();
            if done == data.len() {
                return Ok(done);
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            let waited = block_until(&[&self.queue], None, || {
                let st = self.lock();
                (st.ld.output_room() > 0 || !st.master_open).then_some(())
            });
            if let Err(e) = waited {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
    }

    fn replica_readiness(&self, mask: u32) -> u32 {
        let st = self.lock();
        if !st.master_open {
            return (POLLIN | POLLOUT | POLLHUP | POLLERR) & (mask | POLLHUP | POLLERR);
        }
        let mut r = 0;
        let readable = if st.ld.canonical() {
            st.ld.line_ready()
        } else {
            let (min, time) = st.ld.min_time();
            let amt = if time == 0 && min > 0 { min as usize } else { 1 };
            st.ld.readable() >= amt
        };
        if readable {
            r |= POLLIN;
        }
        if st.ld.output_room() > 0 {
            r |= POLLOUT;
        }
        r & (mask | POLLHUP | POLLERR)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(t) = self.table.upgrade() {
            t.release(self.index);
        }
    }
}

impl ControllingTerminal for Pty {
    fn leader_exited(&self, sid: i32) {
        let fg = {
            let mut st = self.lock();
            if st.session != Some(sid) {
                return;
            }
            st.session = None;
            st.pgrp.take()
        };
        if let Some(fg) = fg {
            session::signal_pgrp(fg, libc::SIGHUP);
        }
        self.notify();
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// The master side of a pair (what opening /dev/ptmx gives). Closing it
/// hangs the pair up.
pub struct MasterFile {
    pty: Arc<Pty>,
    /// stat of the ptmx node it was opened through.
    stat: Stat,
}

impl MasterFile {
    /// A master for `pty`, reporting `stat` (the ptmx node's).
    pub fn new(pty: Arc<Pty>, stat: Stat) -> MasterFile {
        MasterFile { pty, stat }
    }

    /// The pair.
    pub fn pty(&self) -> &Arc<Pty> {
        &self.pty
    }
}

impl Drop for MasterFile {
    fn drop(&mut self) {
        self.pty.hangup();
    }
}

impl FileOps for MasterFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.pty.master_read(buf, nonblock)
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.pty.master_write(buf, nonblock)
    }

    fn ioctl(&self, _mm: &MemoryManager, _cmd: u32, _arg: u64) -> Result<u64, Errno> {
        // Terminal ioctls need the task: see `tty::ioctl::dispatch`.
        Err(Errno::ENOTTY)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.pty.master_readiness(mask)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.queue)
    }

    fn name(&self) -> Vec<u8> {
        b"/dev/ptmx".to_vec()
    }
}

/// The replica side (/dev/pts/N, or /dev/tty for a controlling terminal).
pub struct ReplicaFile {
    pty: Arc<Pty>,
    /// The stat to report instead of the node's (opened as /dev/tty).
    stat: Option<Stat>,
}

impl ReplicaFile {
    /// The pair.
    pub fn pty(&self) -> &Arc<Pty> {
        &self.pty
    }
}

impl Drop for ReplicaFile {
    fn drop(&mut self) {
        {
            let mut st = self.pty.lock();
            st.replicas = st.replicas.saturating_sub(1);
            if st.replicas == 0 {
                st.other_closed = true;
            }
        }
        self.pty.notify();
    }
}

/// Opens the replica of `pty` with open(2) `flags`: EIO while locked or
/// after hangup. Without O_NOCTTY a session leader that has no controlling
/// terminal acquires this one (if it controls no other session).
pub fn open_replica(pty: &Arc<Pty>, flags: i32, stat: Option<Stat>) -> Result<Box<dyn FileOps>, Errno> {
    {
        let mut st = pty.lock();
        if st.locked || !st.master_open {
            return Err(Errno::EIO);
        }
        st.replicas += 1;
        st.other_closed = false;
    }
    pty.notify();
    let file = Box::new(ReplicaFile { pty: pty.clone(), stat });
    if flags & libc::O_NOCTTY == 0 {
        let free = pty.lock().session.is_none();
        if free {
            if let Some((tgid, _, sid)) = session::current_ids() {
                if tgid == sid && session::session_terminal(sid).is_none() {
                    let _ = pty.acquire_for_current(false);
                }
            }
        }
    }
    Ok(file)
}

/// Opens /dev/tty: the calling process's controlling terminal (ENXIO
/// without one). `stat` is the /dev/tty node's. A process whose terminal
/// is a host one (an OCI console, an `exec -t` pty: their sessions are
/// the host's business, see `kernel::console`) gets that terminal, found
/// on its stdio.
pub fn open_controlling(stat: Stat) -> Result<Box<dyn FileOps>, Errno> {
    let (tgid, _, sid) = session::current_ids().ok_or(Errno::ENXIO)?;
    let Some(t) = session::process_terminal(tgid, sid) else {
        return host_terminal_on_stdio().ok_or(Errno::ENXIO);
    };
    let pty = t.as_any().downcast::<Pty>().map_err(|_| Errno::ENXIO)?;
    {
        let mut st = pty.lock();
        if !st.master_open {
            return Err(Errno::EIO);
        }
        st.replicas += 1;
        st.other_closed = false;
    }
    Ok(Box::new(ReplicaFile { pty, stat: Some(stat) }))
}

/// A new open of the host terminal on the caller's fd 0, 1 or 2.
fn host_terminal_on_stdio() -> Option<Box<dyn FileOps>> {
    let fds = crate::kernel::current_task()?.proc.snapshot().fds.upgrade()?;
    (0..3).find_map(|fd| {
        let file = fds.get(fd).ok()?;
        let host = file.ops().as_any()?.downcast_ref::<crate::fs::host::HostFile>()?;
        host.reopen_terminal()
    })
}

impl FileOps for ReplicaFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat.unwrap_or_else(|| self.pty.node_stat()))
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.pty.replica_read(buf, nonblock)
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        self.pty.replica_write(buf, nonblock)
    }

    fn ioctl(&self, _mm: &MemoryManager, _cmd: u32, _arg: u64) -> Result<u64, Errno> {
        Err(Errno::ENOTTY)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn readiness(&self, mask: u32) -> u32 {
        self.pty.replica_readiness(mask)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pty.queue)
    }

    fn name(&self) -> Vec<u8> {
        self.pty.path()
    }
}
