//! The name tables of unix sockets: filesystem socket nodes by the
//! identity of their inode (device, inode number), so renames, hard links
//! and bind mounts reach the same socket and an unlinked path reaches
//! none; and the sandbox-wide table of abstract names, with autobind.

use super::unix::UnixSocket;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls::Errno;

#[derive(Default)]
struct Tables {
    nodes: HashMap<(u64, u64), Weak<UnixSocket>>,
    abstract_names: HashMap<Vec<u8>, Weak<UnixSocket>>,
}

fn tables() -> MutexGuard<'static, Tables> {
    static T: OnceLock<Mutex<Tables>> = OnceLock::new();
    T.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn live(w: &Weak<UnixSocket>) -> Option<Arc<UnixSocket>> {
    w.upgrade().filter(|s| !s.is_closed())
}

/// Records `sock` as bound to the node `key` (EADDRINUSE if a live socket
/// already is).
pub fn bind_node(key: (u64, u64), sock: &Arc<UnixSocket>) -> Result<(), Errno> {
    let mut t = tables();
    if t.nodes.get(&key).and_then(live).is_some() {
        return Err(Errno::EADDRINUSE);
    }
    t.nodes.insert(key, Arc::downgrade(sock));
    Ok(())
}

/// The socket bound to the node `key`.
pub fn lookup_node(key: (u64, u64)) -> Option<Arc<UnixSocket>> {
    tables().nodes.get(&key).and_then(live)
}

/// Records `sock` under the abstract name `name` (EADDRINUSE if taken).
pub fn bind_abstract(name: &[u8], sock: &Arc<UnixSocket>) -> Result<(), Errno> {
    let mut t = tables();
    if t.abstract_names.get(name).and_then(live).is_some() {
        return Err(Errno::EADDRINUSE);
    }
    t.abstract_names.insert(name.to_vec(), Arc::downgrade(sock));
    Ok(())
}

/// Binds `sock` to a free abstract name of five hex digits, as Linux's
/// autobind does, and returns the name.
pub fn autobind(sock: &Arc<UnixSocket>) -> Result<Vec<u8>, Errno> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    for _ in 0..0x10_0000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed) & 0xf_ffff;
        let name = format!("{n:05x}").into_bytes();
        if bind_abstract(&name, sock).is_ok() {
            return Ok(name);
        }
    }
    Err(Errno::ENOSPC)
}

/// The socket bound to the abstract name `name`.
pub fn lookup_abstract(name: &[u8]) -> Option<Arc<UnixSocket>> {
    tables().abstract_names.get(name).and_then(live)
}

/// Removes the entry for `key`/`name` if it still names `sock`.
pub fn unbind_node(key: (u64, u64), sock: *const UnixSocket) {
    let mut t = tables();
    if t.nodes.get(&key).is_some_and(|w| std::ptr::eq(w.as_ptr(), sock)) {
        t.nodes.remove(&key);
    }
}

/// Removes the abstract name `name` if it still names `sock`.
pub fn unbind_abstract(name: &[u8], sock: *const UnixSocket) {
    let mut t = tables();
    if t.abstract_names
        .get(name)
        .is_some_and(|w| std::ptr::eq(w.as_ptr(), sock))
    {
        t.abstract_names.remove(name);
    }
}
