//! Futex wait queues, keyed by address space and guest address.
//!
//! A waiter reads the futex word and enqueues itself under the bucket lock,
//! so a waker that changes the word and then wakes (taking the same lock)
//! can never be missed. Private futexes are keyed by (address-space
//! identity, address). A shared futex in a `MAP_SHARED` file mapping is
//! keyed by (file, offset), so processes that map the same file at
//! different addresses (POSIX semaphores in /dev/shm) meet on one queue.

use super::wait::{block_until, current_waker, Waker};
use crate::mm::MemoryManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use syscalls::Errno;

/// One sleeping waiter.
struct Waiter {
    waker: Arc<Waker>,
    bitset: u32,
    woken: AtomicBool,
}

/// Marks keys of shared file mappings (address-space identities are
/// pointers and never have the top bit set).
const SHARED_KEY: usize = 1 << 63;

/// The queue key of the futex word at `addr`.
pub fn key(mm: &MemoryManager, addr: u64, private: bool) -> (usize, u64) {
    if !private {
        if let Ok(state) = mm.lock() {
            if let Some(vma) = state.vmas.find(addr) {
                if let (true, crate::mm::vma::VmaKind::File { dev, ino, .. }) = (vma.is_shared(), &vma.kind) {
                    let file = (dev.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ino) as usize | SHARED_KEY;
                    return (file, vma.offset + (addr - vma.start));
                }
            }
        }
    }
    (mm.identity(), addr)
}

/// A futex queue key: (address space or file, address or file offset).
type FutexKey = (usize, u64);

/// Every futex queue of the sandbox.
#[derive(Default)]
pub struct FutexTable {
    queues: Mutex<HashMap<FutexKey, Vec<Arc<Waiter>>>>,
}

impl FutexTable {
    /// FUTEX_WAIT(_BITSET): sleeps while `*addr == val` until woken, a
    /// signal (ERESTARTSYS) or the deadline (ETIMEDOUT).
    pub fn wait(
        &self,
        mm: &MemoryManager,
        addr: u64,
        private: bool,
        val: u32,
        bitset: u32,
        deadline: Option<Instant>,
    ) -> Result<(), Errno> {
        let key = key(mm, addr, private);
        let waiter = Arc::new(Waiter {
            waker: current_waker(),
            bitset,
            woken: AtomicBool::new(false),
        });
        {
            let mut queues = self.queues.lock().map_err(|_| Errno::EIO)?;
            let current: u32 = mm.read_obj(addr)?;
            if current != val {
                return Err(Errno::EAGAIN);
            }
            queues.entry(key).or_default().push(waiter.clone());
        }
        let result = block_until(&[], deadline, || waiter.woken.load(Ordering::SeqCst).then_some(()));
        if result.is_err() {
            // Leave the queue unless a waker took us out at the same moment.
            if let Ok(mut queues) = self.queues.lock() {
                if let Some(q) = queues.get_mut(&key) {
                    q.retain(|w| !Arc::ptr_eq(w, &waiter));
                }
            }
            if waiter.woken.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        result
    }

    /// FUTEX_WAKE(_BITSET): wakes up to `n` waiters; returns how many.
    pub fn wake(&self, mm: &MemoryManager, addr: u64, private: bool, n: u32, bitset: u32) -> u32 {
        self.wake_key(key(mm, addr, private), n, bitset)
    }

    fn wake_key(&self, key: (usize, u64), n: u32, bitset: u32) -> u32 {
        let Ok(mut queues) = self.queues.lock() else { return 0 };
        let Some(q) = queues.get_mut(&key) else { return 0 };
        let mut woken = 0;
        q.retain(|w| {
            if woken < n && w.bitset & bitset != 0 {
                woken += 1;
                w.woken.store(true, Ordering::SeqCst);
                w.waker.notify();
                false
            } else {
                true
            }
        });
        if q.is_empty() {
            queues.remove(&key);
        }
        woken
    }

    /// FUTEX_(CMP_)REQUEUE: wakes `n` waiters of `addr` and moves up to
    /// `n2` of the rest to `addr2`. With `expect`, EAGAIN unless `*addr` equals it.
    pub fn requeue(
        &self,
        mm: &MemoryManager,
        (addr, addr2, private): (u64, u64, bool),
        n: u32,
        n2: u32,
        expect: Option<u32>,
    ) -> Result<u64, Errno> {
        let (k1, k2) = (key(mm, addr, private), key(mm, addr2, private));
        let mut queues = self.queues.lock().map_err(|_| Errno::EIO)?;
        if let Some(expect) = expect {
            let current: u32 = mm.read_obj(addr)?;
            if current != expect {
                return Err(Errno::EAGAIN);
            }
        }
        let mut q = queues.remove(&k1).unwrap_or_default();
        let mut woken = 0u64;
        let mut moved = Vec::new();
        for w in q.drain(..) {
            if woken < n as u64 {
                woken += 1;
                w.woken.store(true, Ordering::SeqCst);
                w.waker.notify();
            } else {
                moved.push(w);
            }
        }
        let keep = moved.split_off((n2 as usize).min(moved.len()));
        let count = moved.len() as u64;
        if !keep.is_empty() {
            queues.insert(k1, keep);
        }
        if !moved.is_empty() {
            queues.entry(k2).or_default().extend(moved);
        }
        Ok(woken + count)
    }

    /// FUTEX_WAKE_OP: applies the encoded operation to `*addr2`, wakes `n`
    /// waiters on `addr`, and `n2` on `addr2` if the comparison holds.
    pub fn wake_op(
        &self,
        mm: &MemoryManager,
        (addr, addr2, private): (u64, u64, bool),
        n: u32,
        n2: u32,
        op: u32,
    ) -> Result<u64, Errno> {
        let oparg_shift = op & (8 << 28) != 0;
        let kind = (op >> 28) & 7;
        let cmp = (op >> 24) & 15;
        let mut oparg = (op >> 12) & 0xfff;
        let cmparg = op & 0xfff;
        if oparg_shift {
            if oparg > 31 {
                return Err(Errno::EINVAL);
            }
            oparg = 1 << oparg;
        }
        let old: u32 = {
            let _guard = self.queues.lock().map_err(|_| Errno::EIO)?;
            let old: u32 = mm.read_obj(addr2)?;
            let new = match kind {
                0 => oparg,
                1 => old.wrapping_add(oparg),
                2 => old | oparg,
                3 => old & !oparg,
                4 => old ^ oparg,
                _ => return Err(Errno::ENOSYS),
            };
            mm.write_obj(addr2, &new)?;
            old
        };
        let mut total = self.wake_key(key(mm, addr, private), n, u32::MAX) as u64;
        let holds = match cmp {
            0 => old == cmparg,
            1 => old != cmparg,
            2 => (old as i32) < cmparg as i32,
            3 => (old as i32) <= cmparg as i32,
            4 => (old as i32) > cmparg as i32,
            5 => (old as i32) >= cmparg as i32,
            _ => return Err(Errno::ENOSYS),
        };
        if holds {
            total += self.wake_key(key(mm, addr2, private), n2, u32::MAX) as u64;
        }
        Ok(total)
    }
}
