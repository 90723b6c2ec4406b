//! Anonymous pipes (pipe(2), pipe2(2), man 7 pipe): a bounded byte buffer
//! shared by a read end and a write end, each its own open file description.
//!
//! The capacity is counted in bytes (Linux counts page slots): writes of at
//! most `PIPE_BUF` bytes are atomic, larger ones may be split. In packet mode
//! (`O_DIRECT`) every write of up to `PIPE_BUF` bytes is one packet and a
//! read returns at most one packet, discarding what does not fit.

use super::epoll;
use crate::kernel::signal::{SigInfo, SignalTarget};
use crate::kernel::wait::{block_until, WaitQueue};
use crate::mm::MemoryManager;
use crate::vfs::inode::{makedev, next_ino, synthetic_stat};
use crate::vfs::{FileDescription, FileOps, FileRef, Inode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls::structs::{Stat, Statfs};
use syscalls::Errno;

/// `PIPE_BUF`: writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// The capacity of a new pipe.
pub const DEFAULT_PIPE_SIZE: usize = 65536;
/// `/proc/sys/fs/pipe-max-size`: the most an unprivileged F_SETPIPE_SZ may ask.
pub const PIPE_MAX_SIZE: usize = 1 << 20;
/// The page size capacities are rounded to.
const PAGE_SIZE: usize = 4096;
/// The device of pipefs (Linux shows an anonymous device, 0:15 here).
pub const PIPEFS_DEV: u64 = makedev(0, 15);
/// `PIPEFS_MAGIC`, what fstatfs on a pipe reports.
const PIPEFS_MAGIC: i64 = 0x5049_5045;

/// One write's bytes in the buffer.
struct Chunk {
    data: Vec<u8>,
    /// Bytes of `data` already read.
    off: usize,
    /// A packet-mode write: read whole or not at all.
    packet: bool,
}

impl Chunk {
    fn remaining(&self) -> usize {
        self.data.len() - self.off
    }
}

/// The buffer and the ends' counts; the pure logic, without blocking.
struct PipeBuf {
    chunks: VecDeque<Chunk>,
    /// Bytes held.
    len: usize,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Bumped by every write and by the last writer's close (edge-triggered epoll).
    in_events: u64,
    /// Bumped by every read, resize and the last reader's close.
    out_events: u64,
    /// Opens of a read end so far (a FIFO's writers wait for it to move).
    read_opens: u64,
    /// Opens of a write end so far (a FIFO's readers wait for it to move).
    write_opens: u64,
}

/// What one attempt to write found.
#[derive(Debug, PartialEq, Eq)]
enum WriteStep {
    /// This many bytes went in.
    Wrote(usize),
    /// Not enough room now.
    Full,
    /// No reader is left.
    Broken,
}

impl PipeBuf {
    fn new() -> Self {
        PipeBuf {
            chunks: VecDeque::new(),
            len: 0,
            capacity: DEFAULT_PIPE_SIZE,
            readers: 1,
            writers: 1,
            in_events: 0,
            out_events: 0,
            read_opens: 1,
            write_opens: 1,
        }
    }

    /// Copies what is there into `buf` without consuming it (tee).
    fn peek(&self, buf: &mut [u8]) -> usize {
        let mut done = 0;
        for c in &self.chunks {
            if done == buf.len() {
                break;
            }
            let n = c.remaining().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&c.data[c.off..c.off + n]);
            done += n;
        }
        done
    }

    fn free(&self) -> usize {
        self.capacity.saturating_sub(self.len)
    }

    /// Reads what is there into `buf` (at most one packet); 0 when empty.
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut done = 0;
        while done < buf.len() {
            let Some(c) = self.chunks.front_mut() else { break };
            let n = c.remaining().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&c.data[c.off..c.off + n]);
            done += n;
            c.off += n;
            if c.packet {
                // The rest of a packet that did not fit is discarded.
                self.len -= c.remaining() + n;
                self.chunks.pop_front();
                break;
            }
            self.len -= n;
            if c.remaining() == 0 {
                self.chunks.pop_front();
            }
        }
        if done > 0 {
            self.out_events += 1;
        }
        done
    }

    /// Writes from `data` (the part of the caller's buffer not yet written;
    /// `total` is the whole write's size, for atomicity).
    fn write(&mut self, data: &[u8], total: usize, packet: bool) -> WriteStep {
        if self.readers == 0 {
            return WriteStep::Broken;
        }
        let free = self.free();
        let n = if total <= PIPE_BUF {
            if free < data.len() {
                return WriteStep::Full;
            }
            data.len()
        } else {
            data.len().min(free)
        };
        if n == 0 {
            return WriteStep::Full;
        }
        if packet {
            for p in data[..n].chunks(PIPE_BUF) {
                self.chunks.push_back(Chunk {
                    data: p.to_vec(),
                    off: 0,
                    packet: true,
                });
            }
        } else {
            match self.chunks.back_mut() {
                // Merge small writes so a byte-at-a-time writer does not
                // make one allocation per byte.
                Some(c) if !c.packet && c.data.len() < PIPE_BUF => c.data.extend_from_slice(&data[..n]),
                _ => self.chunks.push_back(Chunk {
                    data: data[..n].to_vec(),
                    off: 0,
                    packet: false,
                }),
            }
        }
        self.len += n;
        self.in_events += 1;
        WriteStep::Wrote(n)
    }

    /// F_SETPIPE_SZ after the size was validated: EBUSY below what is held.
    fn resize(&mut self, size: usize) -> Result<(), Errno> {
        if size < self.len {
            return Err(Errno::EBUSY);
        }
        self.capacity = size;
        self.out_events += 1;
        Ok(())
    }

    fn readiness(&self, write_end: bool, mask: u32) -> u32 {
        let mut r = 0;
        if write_end {
            if self.free() >= PIPE_BUF.min(self.capacity) {
                r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
            }
            if self.readers == 0 {
                r |= libc::POLLERR as u32;
            }
            r & (mask | libc::POLLERR as u32)
        } else {
            if self.len > 0 {
                r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
            }
            if self.writers == 0 {
                r |= libc::POLLHUP as u32;
            }
            r & (mask | libc::POLLHUP as u32)
        }
    }
}

/// Rounds an F_SETPIPE_SZ argument the way Linux does: at least a page, a
/// power of two; EINVAL when that does not fit in an int.
pub fn round_pipe_size(arg: u64) -> Result<usize, Errno> {
    if arg > 1 << 31 {
        return Err(Errno::EINVAL);
    }
    let size = (arg as usize).max(PAGE_SIZE).next_power_of_two();
    if size > 1 << 31 {
        return Err(Errno::EINVAL);
    }
    Ok(size)
}

/// The state both ends of one pipe share.
pub struct Pipe {
    buf: Mutex<PipeBuf>,
    /// Notified on every change (data, room, an end closing, a resize).
    queue: WaitQueue,
    ino: u64,
    uid: u32,
    gid: u32,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeBuf> {
        self.buf.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The capacity in bytes (F_GETPIPE_SZ).
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn available(&self) -> usize {
        self.lock().len
    }

    /// F_SETPIPE_SZ: sets the capacity to `arg` rounded up; returns the new
    /// capacity. EPERM above pipe-max-size unless `privileged`.
    pub fn set_capacity(&self, arg: u64, privileged: bool) -> Result<usize, Errno> {
        let size = round_pipe_size(arg)?;
        if size > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        self.lock().resize(size)?;
        self.queue.notify_all();
        Ok(size)
    }

    /// Copies up to `buf.len()` waiting bytes without consuming them (tee).
    pub fn peek(&self, buf: &mut [u8]) -> usize {
        self.lock().peek(buf)
    }

    /// Whether a write end is open (else an empty pipe reads as EOF).
    pub fn has_writers(&self) -> bool {
        self.lock().writers > 0
    }

    /// The queue notified on every change of the pipe.
    pub fn queue(&self) -> &WaitQueue {
        &self.queue
    }

    /// A pipe with no ends yet: the buffer behind a named pipe (FIFO),
    /// whose ends come from [`Pipe::open_end`].
    pub fn new_fifo() -> Arc<Pipe> {
        let mut buf = PipeBuf::new();
        (buf.readers, buf.writers, buf.read_opens, buf.write_opens) = (0, 0, 0, 0);
        Arc::new(Pipe {
            buf: Mutex::new(buf),
            queue: WaitQueue::new(),
            ino: next_ino(),
            uid: 0,
            gid: 0,
        })
    }

    /// Opens one more end of a FIFO: reading, writing or both (`O_RDWR`);
    /// `node` is the filesystem node the end reports in fstat. Wakes
    /// openers waiting for a partner.
    pub fn open_end(self: &Arc<Self>, read: bool, write: bool, node: Arc<dyn Inode>) -> Box<PipeEnd> {
        {
            let mut b = self.lock();
            if read {
                b.readers += 1;
                b.read_opens += 1;
                b.out_events += 1;
            }
            if write {
                b.writers += 1;
                b.write_opens += 1;
                b.in_events += 1;
            }
        }
        self.queue.notify_all();
        let end = Box::new(PipeEnd {
            pipe: self.clone(),
            write_end: write && !read,
            both: read && write,
            packet: false,
            node: Some(node),
        });
        let weak: std::sync::Weak<dyn std::any::Any + Send + Sync> = Arc::downgrade(self) as _;
        epoll::register_special(end.as_ref(), weak);
        end
    }

    /// (readers, writers, read-end opens, write-end opens), for FIFO opens.
    pub fn ends(&self) -> (usize, usize, u64, u64) {
        let b = self.lock();
        (b.readers, b.writers, b.read_opens, b.write_opens)
    }

    /// (data events, room events) counters for edge-triggered epoll.
    pub fn event_counts(&self) -> (u64, u64) {
        let b = self.lock();
        (b.in_events, b.out_events)
    }
}

/// One end of a pipe, the [`FileOps`] of a pipe's file description.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write_end: bool,
    /// A FIFO opened `O_RDWR`: reads and writes, counts as both ends.
    both: bool,
    packet: bool,
    /// The FIFO's filesystem node (what fstat shows), `None` for pipe(2).
    node: Option<Arc<dyn Inode>>,
}

/// Creates a pipe: (read end, write end). `flags` may hold `O_NONBLOCK` and
/// `O_DIRECT`; `uid`/`gid` own the pipe's inode.
pub fn new_pipe(flags: i32, uid: u32, gid: u32) -> (FileRef, FileRef) {
    let pipe = Arc::new(Pipe {
        buf: Mutex::new(PipeBuf::new()),
        queue: WaitQueue::new(),
        ino: next_ino(),
        uid,
        gid,
    });
    let status = flags & (libc::O_NONBLOCK | libc::O_DIRECT);
    let packet = flags & libc::O_DIRECT != 0;
    let mk = |write_end: bool| {
        let end = Box::new(PipeEnd {
            pipe: pipe.clone(),
            write_end,
            both: false,
            packet,
            node: None,
        });
        let weak: std::sync::Weak<dyn std::any::Any + Send + Sync> = Arc::downgrade(&pipe) as _;
        epoll::register_special(end.as_ref(), weak);
        let mode = if write_end { libc::O_WRONLY } else { libc::O_RDONLY };
        FileDescription::new(end, mode | status, None)
    };
    (mk(false), mk(true))
}

/// The pipe behind a file, if it is one (for fcntl's pipe commands).
pub fn pipe_of(file: &FileDescription) -> Option<Arc<Pipe>> {
    epoll::lookup_special::<Pipe>(file.ops())
}

/// `fcntl(F_GETPIPE_SZ / F_SETPIPE_SZ)`: EBADF for files that are not pipes.
pub fn fcntl_pipe_size(file: &FileDescription, cmd: i32, arg: u64, privileged: bool) -> Result<u64, Errno> {
    let pipe = pipe_of(file).ok_or(Errno::EBADF)?;
    match cmd {
        libc::F_GETPIPE_SZ => Ok(pipe.capacity() as u64),
        libc::F_SETPIPE_SZ => pipe.set_capacity(arg as u32 as u64, privileged).map(|n| n as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// SIGPIPE for a write to a pipe without readers (Linux sends it with
/// SI_USER from the writer itself).
fn raise_sigpipe() {
    let info = SigInfo {
        signo: libc::SIGPIPE,
        code: 0, // SI_USER
        pid: crate::kernel::current_task().map_or(0, |t| t.tg.tgid),
        ..SigInfo::default()
    };
    let _ = crate::kernel::signal::post(SignalTarget::CurrentThread, info);
}

impl PipeEnd {
    fn do_read(&self, buf: &mut [u8], nonblock: bool) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let p = &self.pipe;
        let attempt = |buf: &mut [u8]| -> Option<Result<usize, Errno>> {
            let mut b = p.lock();
            let n = b.read(buf);
            if n > 0 || b.writers == 0 {
                return Some(Ok(n));
            }
            if nonblock {
                return Some(Err(Errno::EAGAIN));
            }
            None
        };
        let r = match attempt(buf) {
            Some(r) => r,
            None => block_until(&[&p.queue], None, || attempt(buf))?,
        };
        if matches!(r, Ok(n) if n > 0) {
            p.queue.notify_all();
        }
        r
    }

    fn do_write(&self, data: &[u8], nonblock: bool) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let p = &self.pipe;
        let mut done = 0;
        loop {
            let step = p.lock().write(&data[done..], data.len(), self.packet);
            match step {
                WriteStep::Wrote(n) => {
                    done += n;
                    p.queue.notify_all();
                    if done == data.len() {
                        return Ok(done);
                    }
                }
                WriteStep::Broken => {
                    raise_sigpipe();
                    return if done > 0 { Ok(done) } else { Err(Errno::EPIPE) };
                }
                WriteStep::Full => {}
            }
            if nonblock {
                return if done > 0 { Ok(done) } else { Err(Errno::EAGAIN) };
            }
            // Wait for room for the rest (all of it when atomic) or for the
            // readers to go away.
            let need = if data.len() <= PIPE_BUF { data.len() } else { 1 };
            let waited = block_until(&[&p.queue], None, || {
                let b = p.lock();
                (b.readers == 0 || b.free() >= need).then_some(())
            });
            if let Err(e) = waited {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
        }
    }
}

impl FileOps for PipeEnd {
    fn stat(&self) -> Result<Stat, Errno> {
        if let Some(node) = &self.node {
            return node.stat();
        }
        let mut st = synthetic_stat(PIPEFS_DEV, self.pipe.ino, libc::S_IFIFO | 0o600, 0);
        st.st_uid = self.pipe.uid;
        st.st_gid = self.pipe.gid;
        Ok(st)
    }

    fn read(&self, buf: &mut [u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if self.write_end && !self.both {
            return Err(Errno::EBADF);
        }
        self.do_read(buf, nonblock)
    }

    fn write(&self, buf: &[u8], _offset: u64, nonblock: bool) -> Result<usize, Errno> {
        if !self.write_end && !self.both {
            return Err(Errno::EBADF);
        }
        self.do_write(buf, nonblock)
    }

    fn ioctl(&self, mm: &MemoryManager, cmd: u32, arg: u64) -> Result<u64, Errno> {
        match cmd as libc::Ioctl {
            libc::FIONREAD => {
                let n = self.pipe.available().min(i32::MAX as usize) as i32;
                mm.write_obj(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn readiness(&self, mask: u32) -> u32 {
        let b = self.pipe.lock();
        if self.both {
            return b.readiness(false, mask) | b.readiness(true, mask);
        }
        b.readiness(self.write_end, mask)
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    fn name(&self) -> Vec<u8> {
        if self.node.is_some() {
            return b"fifo".to_vec();
        }
        format!("pipe:[{}]", self.pipe.ino).into_bytes()
    }

    fn statfs(&self) -> Result<Statfs, Errno> {
        Ok(super::synthetic_statfs(PIPEFS_MAGIC))
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        epoll::unregister_special(self);
        {
            let mut b = self.pipe.lock();
            if self.write_end || self.both {
                b.writers = b.writers.saturating_sub(1);
                b.in_events += 1;
            }
            if !self.write_end || self.both {
                b.readers = b.readers.saturating_sub(1);
                b.out_events += 1;
            }
        }
        self.pipe.queue.notify_all();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn small_writes_are_atomic_and_large_ones_split() {
        let mut b = PipeBuf::new();
        b.capacity = 8192;
        assert_eq!(b.write(&[1; 6000], 6000, false), WriteStep::Wrote(6000));
        // 2192 free: a 4096-byte write waits whole, a 3000-byte one too.
        assert_eq!(b.write(&[2; 4096], 4096, false), WriteStep::Full);
        assert_eq!(b.write(&[2; 3000], 3000, false), WriteStep::Full);
        // A large write takes what fits.
        assert_eq!(b.write(&[3; 5000], 5000, false), WriteStep::Wrote(2192));
        assert_eq!(b.len, 8192);
        assert_eq!(b.write(&[3; 5000], 5000, false), WriteStep::Full);
        let mut out = vec![0; 10000];
        assert_eq!(b.read(&mut out), 8192);
        assert!(out[..6000].iter().all(|&x| x == 1));
        assert!(out[6000..8192].iter().all(|&x| x == 3));
        assert_eq!(b.read(&mut out), 0);
    }

    #[test]
    fn reads_preserve_order_across_chunks() {
        let mut b = PipeBuf::new();
        for i in 0..10u8 {
            assert_eq!(b.write(&[i; 3], 3, false), WriteStep::Wrote(3));
        }
        let mut out = [0u8; 4];
        assert_eq!(b.read(&mut out), 4);
        assert_eq!(out, [0, 0, 0, 1]);
        let mut rest = [0u8; 100];
        assert_eq!(b.read(&mut rest), 26);
        assert_eq!(&rest[..3], &[1, 1, 2]);
        assert_eq!(rest[25], 9);
    }

    #[test]
    fn packets_are_read_one_at_a_time_and_truncated() {
        let mut b = PipeBuf::new();
        b.write(b"hello", 5, true);
        b.write(b"world!", 6, true);
        let mut out = [0u8; 3];
        assert_eq!(b.read(&mut out), 3);
        assert_eq!(&out, b"hel");
        let mut big = [0u8; 64];
        assert_eq!(b.read(&mut big), 6);
        assert_eq!(&big[..6], b"world!");
        assert_eq!(b.len, 0);
    }

    #[test]
    fn no_readers_is_broken_and_readiness_follows_ends() {
        let mut b = PipeBuf::new();
        let all = u32::MAX;
        assert_eq!(b.readiness(false, all), 0);
        assert_ne!(b.readiness(true, all) & libc::POLLOUT as u32, 0);
        b.write(b"x", 1, false);
        assert_ne!(b.readiness(false, all) & libc::POLLIN as u32, 0);
        b.writers = 0;
        assert_ne!(b.readiness(false, all) & libc::POLLHUP as u32, 0);
        b.readers = 0;
        assert_eq!(b.write(b"y", 1, false), WriteStep::Broken);
        assert_ne!(b.readiness(true, 0) & libc::POLLERR as u32, 0);
    }

    #[test]
    fn sizes_round_and_shrinking_below_data_is_ebusy() {
        assert_eq!(round_pipe_size(0).unwrap(), 4096);
        assert_eq!(round_pipe_size(4097).unwrap(), 8192);
        assert_eq!(round_pipe_size(1 << 20).unwrap(), 1 << 20);
        assert_eq!(round_pipe_size((1 << 31) + 1), Err(Errno::EINVAL));
        let (r, _w) = new_pipe(0, 0, 0);
        let pipe = pipe_of(&r).unwrap();
        assert_eq!(pipe.capacity(), DEFAULT_PIPE_SIZE);
        assert_eq!(pipe.set_capacity(5000, false).unwrap(), 8192);
        assert_eq!(pipe.set_capacity(2 << 20, false), Err(Errno::EPERM));
        assert_eq!(pipe.set_capacity(2 << 20, true).unwrap(), 2 << 20);
        pipe.lock().write(&[0; 9000], 9000, false);
        assert_eq!(pipe.set_capacity(8192, false), Err(Errno::EBUSY));
        assert_eq!(pipe.capacity(), 2 << 20);
    }

    #[test]
    fn eof_after_last_writer_closes_and_epipe_after_last_reader() {
        let (r, w) = new_pipe(libc::O_NONBLOCK, 0, 0);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf), Err(Errno::EAGAIN));
        assert_eq!(w.write(b"abc").unwrap(), 3);
        drop(w);
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert_eq!(r.read(&mut buf).unwrap(), 0);

        let (r, w) = new_pipe(0, 0, 0);
        drop(r);
        assert_eq!(w.write(b"abc"), Err(Errno::EPIPE));
    }

    #[test]
    fn nonblocking_write_to_full_pipe_is_eagain_or_partial() {
        let (_r, w) = new_pipe(libc::O_NONBLOCK, 0, 0);
        assert_eq!(w.write(&[0; 70000]).unwrap(), DEFAULT_PIPE_SIZE);
        assert_eq!(w.write(&[0; 1]), Err(Errno::EAGAIN));
    }

    #[test]
    fn blocked_reader_wakes_on_write_and_on_close() {
        let (r, w) = new_pipe(0, 0, 0);
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            let a = r.read(&mut buf).unwrap();
            let b = r.read(&mut buf).unwrap();
            (a, b)
        });
        std::thread::sleep(Duration::from_millis(20));
        w.write(b"hi").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(w);
        assert_eq!(t.join().unwrap(), (2, 0));
    }

    #[test]
    fn blocked_writer_waits_for_room_for_an_atomic_write() {
        let (r, w) = new_pipe(0, 0, 0);
        w.write(&[7; DEFAULT_PIPE_SIZE - 100]).unwrap();
        let t = std::thread::spawn(move || w.write(&[8; 200]).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        let mut buf = vec![0u8; 150];
        assert_eq!(r.read(&mut buf).unwrap(), 150);
        assert_eq!(t.join().unwrap(), 200);
        let pipe = pipe_of(&r).unwrap();
        assert_eq!(pipe.available(), DEFAULT_PIPE_SIZE - 100 - 150 + 200);
    }

    #[test]
    fn peek_copies_without_consuming() {
        let mut b = PipeBuf::new();
        b.write(b"abc", 3, false);
        b.write(&[b'd'; PIPE_BUF], PIPE_BUF, false);
        let mut out = [0u8; 5];
        assert_eq!(b.peek(&mut out), 5);
        assert_eq!(&out, b"abcdd");
        assert_eq!(b.len, 3 + PIPE_BUF);
        let mut first = [0u8; 2];
        assert_eq!(b.read(&mut first), 2);
        assert_eq!(b.peek(&mut out), 5);
        assert_eq!(&out, b"cdddd");
    }

    #[test]
    fn stat_is_a_fifo_with_one_inode_for_both_ends() {
        let (r, w) = new_pipe(0, 5, 6);
        let (a, b) = (r.stat().unwrap(), w.stat().unwrap());
        assert_eq!(a.st_mode & libc::S_IFMT, libc::S_IFIFO);
        assert_eq!(a.st_ino, b.st_ino);
        assert_eq!(a.st_uid, 5);
        let (r2, _w2) = new_pipe(0, 0, 0);
        assert_ne!(r2.stat().unwrap().st_ino, a.st_ino);
        assert_eq!(r.path(), format!("pipe:[{}]", a.st_ino).into_bytes());
    }
}
