//! The memory manager: the guest address space, its VMA mirror, and copies
//! to and from guest memory.
//!
//! The address space is real host memory in the stub process; the sentry
//! validates each mm syscall, injects it into the stub, and mirrors the
//! result in [`vma::VmaSet`].

pub mod io;
pub mod ops;
pub mod vma;

/// The memory manager of one address space (one stub process).
pub struct MemoryManager {
    /// Host pid of the stub process holding the address space.
    pub stub_pid: i32,
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
    /// rvisor's trampoline area, which is not part of the guest's space.
    pub reserved_range: (u64, u64),
}

impl MemoryManager {
    /// A memory manager for the (empty) address space of stub `stub_pid`.
    pub fn new(stub_pid: i32, reserved_range: (u64, u64)) -> Self {
        MemoryManager {
            stub_pid,
            vmas: vma::VmaSet::default(),
            brk_start: 0,
            brk: 0,
            arg_start: 0,
            arg_end: 0,
            env_start: 0,
            env_end: 0,
            auxv: Vec::new(),
            reserved_range,
        }
    }
}
