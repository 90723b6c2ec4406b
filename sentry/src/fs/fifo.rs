//! Named pipes (FIFOs, man 7 fifo): the open semantics that tie a FIFO
//! node of any filesystem to one pipe buffer ([`super::pipe::Pipe`]) shared
//! by everyone who opens it.
//!
//! - `O_RDONLY` waits until a writer has opened the FIFO (at once with
//!   `O_NONBLOCK`, which then reads EOF while there is no writer);
//! - `O_WRONLY` waits until a reader has opened it; with `O_NONBLOCK` and
//!   no reader it is `ENXIO`;
//! - `O_RDWR` never waits (it is both a reader and a writer);
//! - the buffer lives while some end is open: when the last end closes,
//!   unread data is gone, as on Linux.
//!
//! Filesystems call [`open`] from their `Inode::open` for nodes of type
//! `S_IFIFO`, naming the node by a stable key (device, inode number).

use super::pipe::Pipe;
use crate::kernel::wait::block_until;
use crate::vfs::{FileOps, Inode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use syscalls::Errno;

/// What names a FIFO node: (device, inode number) of its `stat`.
pub type NodeKey = (u64, u64);

fn table() -> std::sync::MutexGuard<'static, HashMap<NodeKey, Weak<Pipe>>> {
    static FIFOS: OnceLock<Mutex<HashMap<NodeKey, Weak<Pipe>>>> = OnceLock::new();
    FIFOS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The pipe behind FIFO `key`, made on first open.
fn pipe_for(key: NodeKey) -> Arc<Pipe> {
    let mut t = table();
    if let Some(p) = t.get(&key).and_then(Weak::upgrade) {
        return p;
    }
    // Forget pipes nobody holds any more, so the table stays small.
    t.retain(|_, w| w.strong_count() > 0);
    let p = Pipe::new_fifo();
    t.insert(key, Arc::downgrade(&p));
    p
}

/// Opens FIFO `node` (named by `key`) with open(2) `flags`, waiting for a
/// partner as Linux does (see the module docs). A wait interrupted by a
/// signal returns `ERESTARTSYS`.
pub fn open(key: NodeKey, flags: i32, node: Arc<dyn Inode>) -> Result<Box<dyn FileOps>, Errno> {
    let nonblock = flags & libc::O_NONBLOCK != 0;
    let pipe = pipe_for(key);
    match flags & libc::O_ACCMODE {
        libc::O_RDONLY => {
            let (_, writers, _, write_opens) = pipe.ends();
            let end = pipe.open_end(true, false, node);
            if writers == 0 && !nonblock {
                block_until(&[pipe.queue()], None, || (pipe.ends().3 != write_opens).then_some(()))?;
            }
            Ok(end)
        }
        libc::O_WRONLY => {
            let (readers, _, read_opens, _) = pipe.ends();
            if readers == 0 && nonblock {
                return Err(Errno::ENXIO);
            }
            let end = pipe.open_end(false, true, node);
            if readers == 0 {
                block_until(&[pipe.queue()], None, || (pipe.ends().2 != read_opens).then_some(()))?;
            }
            Ok(end)
        }
        libc::O_RDWR => Ok(pipe.open_end(true, true, node)),
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::vfs::inode::synthetic_stat;
    use std::time::Duration;
    use syscalls::structs::Stat;

    struct Node;
    impl Inode for Node {
        fn stat(&self) -> Result<Stat, Errno> {
            Ok(synthetic_stat(1, 2, libc::S_IFIFO | 0o644, 0))
        }
    }

    fn node() -> Arc<dyn Inode> {
        Arc::new(Node)
    }

    #[test]
    fn nonblocking_opens_follow_linux() {
        let key = (u64::MAX, 1);
        assert_eq!(
            open(key, libc::O_WRONLY | libc::O_NONBLOCK, node()).err(),
            Some(Errno::ENXIO)
        );
        let r = open(key, libc::O_RDONLY | libc::O_NONBLOCK, node()).unwrap();
        // No writer: EOF, not EAGAIN.
        assert_eq!(r.read(&mut [0u8; 4], 0, true).unwrap(), 0);
        let w = open(key, libc::O_WRONLY | libc::O_NONBLOCK, node()).unwrap();
        assert_eq!(w.write(b"hey", 0, true).unwrap(), 3);
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf, 0, true).unwrap(), 3);
        assert_eq!(r.stat().unwrap().st_mode & libc::S_IFMT, libc::S_IFIFO);
        assert_eq!(r.stat().unwrap().st_ino, 2);
    }

    #[test]
    fn blocking_reader_waits_for_a_writer_and_rdwr_never_blocks() {
        let key = (u64::MAX, 2);
        let t = std::thread::spawn(move || {
            let r = open(key, libc::O_RDONLY, node()).unwrap();
            let mut buf = [0u8; 8];
            let n = r.read(&mut buf, 0, false).unwrap();
            buf[..n].to_vec()
        });
        std::thread::sleep(Duration::from_millis(30));
        let w = open(key, libc::O_WRONLY, node()).unwrap();
        w.write(b"abc", 0, false).unwrap();
        assert_eq!(t.join().unwrap(), b"abc");
        drop(w);
        let rw = open((u64::MAX, 3), libc::O_RDWR, node()).unwrap();
        rw.write(b"x", 0, true).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(rw.read(&mut b, 0, true).unwrap(), 1);
    }
}
