//! The memory manager: the guest address space, its VMA mirror, and copies
//! to and from guest memory.
//!
//! The address space is real host memory in the stub process; the sentry
//! validates each mm syscall, injects it into the stub, and mirrors the
//! result in [`vma::VmaSet`]. Threads (and vfork children) share one
//! [`MmState`]; guest memory copies need only the stub's pid.

pub mod io;
pub mod ops;
pub mod vma;

use std::sync::{Arc, Mutex, MutexGuard};
use syscalls::Errno;

/// The mirror and bookkeeping of one address space.
#[derive(Clone, Debug, Default)]
pub struct MmState {
    /// Mirror of every mapping in the address space.
    pub vmas: vma::VmaSet,
    /// Start of the brk heap (page aligned, just above the executable).
    pub brk_start: u64,
    /// Current program break.
    pub brk: u64,
    /// argv/envp/auxv locations, for /proc/pid/{cmdline,environ,auxv}.
    pub arg_start: u64,
    /// End of argv strings.
    pub arg_end: u64,
    /// Start of envp strings.
    pub env_start: u64,
    /// End of envp strings.
    pub env_end: u64,
    /// The auxv as placed on the stack (pairs).
    pub auxv: Vec<(u64, u64)>,
    /// Path of the executable mapped by exec (/proc/[pid]/exe).
    pub exe: Vec<u8>,
    /// rvisor's trampoline area, which is not part of the guest's space.
    pub reserved_range: (u64, u64),
}

/// A handle to one address space (one stub process).
#[derive(Clone)]
pub struct MemoryManager {
    /// Host pid of a stub process mapping the address space.
    pub stub_pid: i32,
    state: Arc<Mutex<MmState>>,
}

impl MemoryManager {
    /// A memory manager for the (empty) address space of stub `stub_pid`.
    pub fn new(stub_pid: i32, reserved_range: (u64, u64)) -> Self {
        MemoryManager {
            stub_pid,
            state: Arc::new(Mutex::new(MmState {
                reserved_range,
                ..MmState::default()
            })),
        }
    }

    /// A copy for a forked child whose stub (a copy-on-write fork of ours)
    /// is `stub_pid`: same mappings, separate from now on.
    pub fn fork(&self, stub_pid: i32) -> Result<Self, Errno> {
        let copy = self.lock()?.clone();
        Ok(MemoryManager {
            stub_pid,
            state: Arc::new(Mutex::new(copy)),
        })
    }

    /// The mirror, locked.
    pub fn lock(&self) -> Result<MutexGuard<'_, MmState>, Errno> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// An identity shared by every handle to this address space (futex keys).
    pub fn identity(&self) -> usize {
        Arc::as_ptr(&self.state) as usize
    }
}
