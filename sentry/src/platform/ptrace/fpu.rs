//! FPU/SSE/AVX state of a traced thread, as whole XSAVE images.
//!
//! Signal delivery saves the interrupted FPU state into the guest's signal
//! frame and `rt_sigreturn` loads it back; both go through the host kernel's
//! `NT_X86_XSTATE` regset (standard-format XSAVE layout, bytes 464..472 of
//! which hold XCR0), or the 512-byte FXSAVE image on hosts without XSAVE.
//! [`FpuLayout`] describes the host's sizes and features so the signal
//! frame can reproduce what Linux writes.

use std::sync::OnceLock;
use syscalls::Errno;

/// `NT_X86_XSTATE` regset note type.
const NT_X86_XSTATE: libc::c_int = 0x202;
/// Size of the legacy FXSAVE region.
pub const FXSAVE_SIZE: usize = 512;
/// Legacy region plus the 64-byte XSAVE header: the smallest XSAVE image.
pub const XSAVE_HDR_END: usize = FXSAVE_SIZE + 64;
/// Offset of the XSAVE header (`xstate_bv` at +0, `xcomp_bv` at +8).
pub const XSAVE_HDR: usize = FXSAVE_SIZE;
/// Offset of MXCSR in the legacy region.
pub const MXCSR_OFF: usize = 24;
/// Offset of MXCSR_MASK in the legacy region.
pub const MXCSR_MASK_OFF: usize = 28;
/// x87 and SSE feature bits.
pub const XFEATURE_FPSSE: u64 = 0b11;
/// Features whose state is allocated only on request (AMX TILEDATA): not
/// part of the default signal frame.
const XFEATURE_USER_DYNAMIC: u64 = 1 << 18;
/// Processor default for MXCSR_MASK when FXSAVE reports 0.
const DEFAULT_MXCSR_MASK: u32 = 0xffbf;

/// The host's FPU state geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpuLayout {
    /// True when the host saves state with XSAVE (else FXSAVE only).
    pub xsave: bool,
    /// Size of the `NT_X86_XSTATE` regset (what get/set transfer).
    pub ptrace_size: usize,
    /// Size of the XSAVE image Linux puts in a signal frame (`user_size`,
    /// without dynamically enabled features); 512 without XSAVE.
    pub frame_size: usize,
    /// Feature bits Linux reports in the frame's `fpx_sw_bytes.xfeatures`.
    pub user_xfeatures: u64,
    /// XCR0: every feature bit an XRSTOR image may carry.
    pub xcr0: u64,
    /// Writable MXCSR bits; others fault on restore.
    pub mxcsr_mask: u32,
}

impl FpuLayout {
    /// A host with FXSAVE only.
    pub const FXSR_ONLY: FpuLayout = FpuLayout {
        xsave: false,
        ptrace_size: FXSAVE_SIZE,
        frame_size: FXSAVE_SIZE,
        user_xfeatures: XFEATURE_FPSSE,
        xcr0: XFEATURE_FPSSE,
        mxcsr_mask: 0xffff,
    };

    /// The layout of this machine (computed once).
    pub fn host() -> &'static FpuLayout {
        static LAYOUT: OnceLock<FpuLayout> = OnceLock::new();
        LAYOUT.get_or_init(detect)
    }

    /// The power-on FPU state as an image of `ptrace_size` bytes (what
    /// Linux loads before running a handler, or on sigreturn without fpstate).
    pub fn init_state(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.ptrace_size.max(FXSAVE_SIZE)];
        v[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        v[MXCSR_OFF..MXCSR_OFF + 4].copy_from_slice(&0x1f80u32.to_le_bytes());
        if self.xsave && v.len() >= XSAVE_HDR_END {
            v[XSAVE_HDR..XSAVE_HDR + 8].copy_from_slice(&XFEATURE_FPSSE.to_le_bytes());
        }
        v
    }
}

fn cpuid(leaf: u32, sub: u32) -> core::arch::x86_64::CpuidResult {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID is available on every x86-64 processor and has no side effects.
    unsafe {
        core::arch::x86_64::__cpuid_count(leaf, sub)
    }
}

/// Reads XCR0. Callers must have checked CPUID.1:ECX.OSXSAVE.
#[target_feature(enable = "xsave")]
unsafe fn xgetbv0() -> u64 {
    // SAFETY: the caller guarantees XGETBV is enabled (OSXSAVE).
    unsafe { core::arch::x86_64::_xgetbv(0) }
}

fn host_mxcsr_mask() -> u32 {
    #[repr(C, align(16))]
    struct Area([u8; FXSAVE_SIZE]);
    let mut area = Area([0; FXSAVE_SIZE]);
    // SAFETY: FXSAVE is part of the x86-64 baseline; it writes exactly 512
    // bytes to a 16-byte aligned buffer, which `area` is.
    unsafe { core::arch::x86_64::_fxsave64(area.0.as_mut_ptr()) };
    let m = u32::from_le_bytes([area.0[28], area.0[29], area.0[30], area.0[31]]);
    if m == 0 {
        DEFAULT_MXCSR_MASK
    } else {
        m
    }
}

fn detect() -> FpuLayout {
    let mxcsr_mask = host_mxcsr_mask();
    let l1 = cpuid(1, 0);
    let has_xsave = l1.ecx & (1 << 26) != 0 && l1.ecx & (1 << 27) != 0;
    if !has_xsave || cpuid(0, 0).eax < 0xd {
        return FpuLayout {
            mxcsr_mask,
            ..FpuLayout::FXSR_ONLY
        };
    }
    // SAFETY: OSXSAVE checked above.
    let xcr0 = unsafe { xgetbv0() };
    let d0 = cpuid(0xd, 0);
    let user_xfeatures = xcr0 & !XFEATURE_USER_DYNAMIC;
    let mut frame_size = XSAVE_HDR_END;
    for bit in 2..63u32 {
        if user_xfeatures & (1u64 << bit) != 0 {
            let c = cpuid(0xd, bit);
            frame_size = frame_size.max(c.ebx as usize + c.eax as usize);
        }
    }
    let ptrace_size = (d0.ebx as usize).max(frame_size);
    FpuLayout {
        xsave: true,
        ptrace_size,
        frame_size,
        user_xfeatures,
        xcr0,
        mxcsr_mask,
    }
}

/// Size of the full state image [`get_fpstate`] returns on this host.
pub fn xstate_size() -> usize {
    FpuLayout::host().ptrace_size
}

/// The power-on FPU state sized for [`set_fpstate`] on this host.
pub fn init_fpstate() -> Vec<u8> {
    FpuLayout::host().init_state()
}

fn regset_unsupported(e: Errno) -> bool {
    e == Errno::EIO || e == Errno::ENODEV || e == Errno(libc::EOPNOTSUPP)
}

/// Reads the whole FPU state of stopped tracee `tid` (XSAVE image, or the
/// 512-byte FXSAVE image when the host has no XSAVE regset).
pub fn get_fpstate(tid: i32) -> Result<Vec<u8>, Errno> {
    let layout = FpuLayout::host();
    if layout.xsave {
        let cap = layout.ptrace_size.max(cpuid(0xd, 0).ecx as usize).max(4096);
        let mut buf = vec![0u8; cap];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: the kernel writes at most iov_len bytes into `buf`, which
        // outlives the call, and updates iov_len.
        let r = unsafe { libc::ptrace(libc::PTRACE_GETREGSET, tid, NT_X86_XSTATE as usize, &mut iov as *mut _) };
        if r == 0 {
            buf.truncate(iov.iov_len.min(cap));
            return Ok(buf);
        }
        let e = Errno::last();
        if !regset_unsupported(e) {
            return Err(e);
        }
    }
    // SAFETY: all-zero is a valid user_fpregs_struct.
    let mut fp: libc::user_fpregs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETFPREGS writes one user_fpregs_struct into `fp`.
    let r = unsafe { libc::ptrace(libc::PTRACE_GETFPREGS, tid, 0usize, &mut fp as *mut _) };
    if r < 0 {
        return Err(Errno::last());
    }
    let mut out = vec![0u8; FXSAVE_SIZE];
    let n = std::mem::size_of::<libc::user_fpregs_struct>().min(FXSAVE_SIZE);
    // SAFETY: `fp` is plain data of at least `n` bytes; `out` holds `n` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&fp as *const libc::user_fpregs_struct).cast::<u8>(),
            out.as_mut_ptr(),
            n,
        )
    };
    Ok(out)
}

/// Loads `state` (an image from [`get_fpstate`] or the signal frame code)
/// into stopped tracee `tid`. Short or long images are padded/cut to the
/// host size; a short image without an XSAVE header loads x87/SSE only.
pub fn set_fpstate(tid: i32, state: &[u8]) -> Result<(), Errno> {
    let layout = FpuLayout::host();
    if layout.xsave {
        let mut buf = vec![0u8; layout.ptrace_size];
        let n = state.len().min(buf.len());
        buf[..n].copy_from_slice(&state[..n]);
        if state.len() < XSAVE_HDR_END && buf.len() >= XSAVE_HDR_END {
            buf[XSAVE_HDR..XSAVE_HDR_END].fill(0);
            buf[XSAVE_HDR..XSAVE_HDR + 8].copy_from_slice(&XFEATURE_FPSSE.to_le_bytes());
        }
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: the kernel reads iov_len bytes from `buf`, which outlives the call.
        let r = unsafe { libc::ptrace(libc::PTRACE_SETREGSET, tid, NT_X86_XSTATE as usize, &mut iov as *mut _) };
        if r == 0 {
            return Ok(());
        }
        let e = Errno::last();
        if !regset_unsupported(e) {
            return Err(e);
        }
    }
    // SAFETY: all-zero is a valid user_fpregs_struct.
    let mut fp: libc::user_fpregs_struct = unsafe { std::mem::zeroed() };
    let n = state.len().min(std::mem::size_of::<libc::user_fpregs_struct>());
    // SAFETY: copies `n` bytes, within both `state` and the plain-data `fp`.
    unsafe {
        std::ptr::copy_nonoverlapping(
            state.as_ptr(),
            (&mut fp as *mut libc::user_fpregs_struct).cast::<u8>(),
            n,
        )
    };
    // SAFETY: PTRACE_SETFPREGS reads one user_fpregs_struct from `fp`.
    let r = unsafe { libc::ptrace(libc::PTRACE_SETFPREGS, tid, 0usize, &fp as *const _) };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_layout_is_consistent() {
        let l = FpuLayout::host();
        assert!(l.frame_size >= FXSAVE_SIZE);
        assert!(l.ptrace_size >= l.frame_size);
        assert_eq!(l.user_xfeatures & XFEATURE_FPSSE, XFEATURE_FPSSE);
        assert_eq!(l.user_xfeatures & !l.xcr0, 0);
        assert_eq!(l.mxcsr_mask & 0x1f80, 0x1f80);
        let init = l.init_state();
        assert_eq!(init.len(), l.ptrace_size);
        assert_eq!(u16::from_le_bytes([init[0], init[1]]), 0x37f);
    }

    /// Forks a child that stops itself under PTRACE_TRACEME; returns its pid.
    fn traced_child() -> i32 {
        // SAFETY: the child only calls async-signal-safe functions before _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: plain syscalls in the forked child; it never returns.
            unsafe {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize);
                libc::raise(libc::SIGSTOP);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waits for our own child; writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert!(libc::WIFSTOPPED(status));
        pid
    }

    fn kill_child(pid: i32) {
        // SAFETY: kills and reaps our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }

    #[test]
    fn get_set_round_trip_on_real_tracee() {
        let pid = traced_child();
        let orig = get_fpstate(pid).unwrap();
        assert_eq!(orig.len(), xstate_size());
        // Change MXCSR (rounding mode) and XMM0's first byte, write, re-read.
        let mut changed = orig.clone();
        changed[MXCSR_OFF..MXCSR_OFF + 4].copy_from_slice(&0x3f80u32.to_le_bytes());
        changed[160] = 0xab;
        if changed.len() >= XSAVE_HDR_END {
            changed[XSAVE_HDR] |= XFEATURE_FPSSE as u8;
        }
        set_fpstate(pid, &changed).unwrap();
        let back = get_fpstate(pid).unwrap();
        assert_eq!(&back[MXCSR_OFF..MXCSR_OFF + 4], &0x3f80u32.to_le_bytes());
        assert_eq!(back[160], 0xab);
        // Odd sizes never panic and the init state loads.
        set_fpstate(pid, &[1, 2, 3]).unwrap();
        set_fpstate(pid, &init_fpstate()).unwrap();
        let reset = get_fpstate(pid).unwrap();
        assert_eq!(&reset[MXCSR_OFF..MXCSR_OFF + 4], &0x1f80u32.to_le_bytes());
        assert_eq!(reset[160], 0);
        kill_child(pid);
    }
}
