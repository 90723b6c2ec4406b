//! The x86-64 signal frame, byte for byte as Linux builds it
//! (arch/x86/kernel/signal.c, signal_64.c, fpu/signal.c).
//!
//! Delivering a signal to a handler pushes an `rt_sigframe`
//! (`pretcode`, `struct ucontext`, `siginfo_t`) and an XSAVE image onto the
//! guest stack; `rt_sigreturn` reads them back. glibc, unwinders and
//! programs that inspect `ucontext_t` depend on this exact layout, so the
//! offsets below are the kernel ABI, not a choice.
//!
//! Everything here is pure computation over bytes: the run loop reads the
//! registers and FPU image, calls [`build_frame`], writes
//! [`Frame::bytes`] at [`Frame::addr`] and loads [`Frame::regs`]; for
//! `rt_sigreturn` it calls [`parse_sigreturn`] with a guest-memory reader.

use crate::kernel::signal::SigInfo;
use crate::platform::ptrace::fpu::{FpuLayout, FXSAVE_SIZE, MXCSR_OFF, XFEATURE_FPSSE, XSAVE_HDR, XSAVE_HDR_END};
use syscalls::Errno;

/// Size of `siginfo_t`.
pub const SIGINFO_SIZE: usize = 128;
/// Size of the kernel's `struct rt_sigframe` (without the FPU image).
pub const RT_SIGFRAME_SIZE: usize = 440;
/// Bytes below the interrupted `rsp` that the ABI reserves (never clobbered).
const RED_ZONE: u64 = 128;
/// Highest user address + 1 with 4-level paging (`TASK_SIZE_MAX`).
const TASK_SIZE_MAX: u64 = (1 << 47) - 4096;
/// Lowest address a frame may occupy (page 0 is never mapped).
const MIN_FRAME_ADDR: u64 = 4096;

// Offsets inside the rt_sigframe.
const F_PRETCODE: usize = 0;
const F_UC: usize = 8;
// Offsets inside struct ucontext.
const UC_FLAGS: usize = 0;
const UC_LINK: usize = 8;
const UC_STACK_SP: usize = 16;
const UC_STACK_FLAGS: usize = 24;
const UC_STACK_SIZE: usize = 32;
const UC_MCONTEXT: usize = 40;
const UC_SIGMASK: usize = 296;
/// Size of the kernel's struct ucontext.
const UC_SIZE: usize = 304;
const F_INFO: usize = F_UC + UC_SIZE;

// Offsets inside struct sigcontext (uc_mcontext).
const SC_R8: usize = 0;
const SC_R9: usize = 8;
const SC_R10: usize = 16;
const SC_R11: usize = 24;
const SC_R12: usize = 32;
const SC_R13: usize = 40;
const SC_R14: usize = 48;
const SC_R15: usize = 56;
const SC_RDI: usize = 64;
const SC_RSI: usize = 72;
const SC_RBP: usize = 80;
const SC_RBX: usize = 88;
const SC_RDX: usize = 96;
const SC_RAX: usize = 104;
const SC_RCX: usize = 112;
const SC_RSP: usize = 120;
const SC_RIP: usize = 128;
const SC_EFLAGS: usize = 136;
const SC_CS: usize = 144;
const SC_GS: usize = 146;
const SC_FS: usize = 148;
const SC_SS: usize = 150;
const SC_ERR: usize = 152;
const SC_TRAPNO: usize = 160;
const SC_OLDMASK: usize = 168;
const SC_CR2: usize = 176;
const SC_FPSTATE: usize = 184;

/// `uc_flags`: the frame carries an XSAVE image with `fpx_sw_bytes`.
pub const UC_FP_XSTATE: u64 = 0x1;
/// `uc_flags`: `sigcontext.ss` is valid.
pub const UC_SIGCONTEXT_SS: u64 = 0x2;
/// `uc_flags`: sigreturn restores `ss` exactly.
pub const UC_STRICT_RESTORE_SS: u64 = 0x4;

/// `fpx_sw_bytes.magic1`.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// Trailer after the XSAVE image.
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of `fpx_sw_bytes` (the software-reserved tail of the FXSAVE area).
const SW_BYTES: usize = 464;

/// `SA_*` flags (x86-64 values).
pub const SA_SIGINFO: u64 = 0x4;
/// Run the handler on the alternate signal stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// `sa_restorer` is valid.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// `ss_flags`: the alternate stack is disabled.
pub const SS_DISABLE: i32 = 2;
/// `ss_flags`: disarm the alternate stack when a handler is entered.
pub const SS_AUTODISARM: i32 = 1 << 31;
/// Minimum alternate stack size `sigaltstack` accepts.
pub const MINSIGSTKSZ: u64 = 2048;

// EFLAGS bits.
const X86_EFLAGS_CF: u64 = 1 << 0;
const X86_EFLAGS_PF: u64 = 1 << 2;
const X86_EFLAGS_AF: u64 = 1 << 4;
const X86_EFLAGS_ZF: u64 = 1 << 6;
const X86_EFLAGS_SF: u64 = 1 << 7;
const X86_EFLAGS_TF: u64 = 1 << 8;
const X86_EFLAGS_DF: u64 = 1 << 10;
const X86_EFLAGS_OF: u64 = 1 << 11;
const X86_EFLAGS_RF: u64 = 1 << 16;
const X86_EFLAGS_AC: u64 = 1 << 18;
/// EFLAGS bits sigreturn takes from the frame (the rest stay as they are).
const FIX_EFLAGS: u64 = X86_EFLAGS_AC
    | X86_EFLAGS_OF
    | X86_EFLAGS_DF
    | X86_EFLAGS_TF
    | X86_EFLAGS_SF
    | X86_EFLAGS_ZF
    | X86_EFLAGS_AF
    | X86_EFLAGS_PF
    | X86_EFLAGS_CF
    | X86_EFLAGS_RF;

// si_code values.
const SI_USER: i32 = 0;
const SI_KERNEL: i32 = 0x80;
const SI_TIMER: i32 = -2;
const SI_SIGIO: i32 = -5;
const NSIGPOLL: i32 = 6;
/// `si_arch` of SIGSYS on x86-64.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    if let Some(s) = b.get_mut(off..off + 2) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    if let Some(s) = b.get_mut(off..off + 8) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

fn get_u64(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

/// Which union member of `siginfo_t` a (signal, code) pair uses; the
/// kernel's `siginfo_layout()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SiLayout {
    Kill,
    Timer,
    Poll,
    Fault,
    Chld,
    Rt,
    Sys,
}

fn siginfo_layout(sig: i32, code: i32) -> SiLayout {
    if code > SI_USER && code < SI_KERNEL {
        let specific = match sig {
            libc::SIGILL => Some((11, SiLayout::Fault)),
            libc::SIGFPE => Some((15, SiLayout::Fault)),
            libc::SIGSEGV => Some((10, SiLayout::Fault)),
            libc::SIGBUS => Some((5, SiLayout::Fault)),
            libc::SIGTRAP => Some((6, SiLayout::Fault)),
            libc::SIGCHLD => Some((6, SiLayout::Chld)),
            libc::SIGPOLL => Some((NSIGPOLL, SiLayout::Poll)),
            libc::SIGSYS => Some((2, SiLayout::Sys)),
            _ => None,
        };
        match specific {
            Some((limit, layout)) if code <= limit => layout,
            _ if code <= NSIGPOLL => SiLayout::Poll,
            _ => SiLayout::Kill,
        }
    } else if code == SI_TIMER {
        SiLayout::Timer
    } else if code == SI_SIGIO {
        SiLayout::Poll
    } else if code < 0 {
        SiLayout::Rt
    } else {
        SiLayout::Kill
    }
}

/// Encodes `info` as the guest's 128-byte `siginfo_t`.
///
/// Field mapping for the union members [`SigInfo`] has no dedicated field
/// for: SIGPOLL `si_band` = `addr_or_value`, `si_fd` = `status`; SIGSYS
/// `si_call_addr` = `addr_or_value`, `si_syscall` = `status`.
pub fn encode_siginfo(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut b = [0u8; SIGINFO_SIZE];
    put_u32(&mut b, 0, info.signo as u32);
    put_u32(&mut b, 4, info.errno as u32);
    put_u32(&mut b, 8, info.code as u32);
    match siginfo_layout(info.signo, info.code) {
        SiLayout::Kill => {
            put_u32(&mut b, 16, info.pid as u32);
            put_u32(&mut b, 20, info.uid);
        }
        SiLayout::Rt => {
            put_u32(&mut b, 16, info.pid as u32);
            put_u32(&mut b, 20, info.uid);
            put_u64(&mut b, 24, info.addr_or_value);
        }
        SiLayout::Timer => {
            put_u32(&mut b, 16, info.timer_id as u32);
            put_u32(&mut b, 20, info.status as u32);
            put_u64(&mut b, 24, info.addr_or_value);
        }
        SiLayout::Chld => {
            put_u32(&mut b, 16, info.pid as u32);
            put_u32(&mut b, 20, info.uid);
            put_u32(&mut b, 24, info.status as u32);
            put_u64(&mut b, 32, info.utime as u64);
            put_u64(&mut b, 40, info.stime as u64);
        }
        SiLayout::Fault => put_u64(&mut b, 16, info.addr_or_value),
        SiLayout::Poll => {
            put_u64(&mut b, 16, info.addr_or_value);
            put_u32(&mut b, 24, info.status as u32);
        }
        SiLayout::Sys => {
            put_u64(&mut b, 16, info.addr_or_value);
            put_u32(&mut b, 24, info.status as u32);
            put_u32(&mut b, 28, AUDIT_ARCH_X86_64);
        }
    }
    b
}

/// Everything needed to deliver one signal to a handler.
pub struct SignalDelivery<'a> {
    /// Registers of the interrupted thread (after any syscall-restart fixup).
    pub regs: &'a libc::user_regs_struct,
    /// Its FPU image as returned by `fpu::get_fpstate`.
    pub fpstate: &'a [u8],
    /// The signal.
    pub info: &'a SigInfo,
    /// `sa_handler` / `sa_sigaction`.
    pub handler: u64,
    /// `sa_flags` (SA_*).
    pub flags: u64,
    /// `sa_restorer`.
    pub restorer: u64,
    /// The mask to restore on sigreturn (saved in `uc_sigmask`).
    pub saved_mask: u64,
    /// The thread's alternate stack: (ss_sp, ss_flags, ss_size).
    pub altstack: (u64, i32, u64),
}

/// A built signal frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Guest address where `bytes` go (also the handler's `rsp`).
    pub addr: u64,
    /// The rt_sigframe, padding, and the FPU image.
    pub bytes: Vec<u8>,
    /// Registers to start the handler with.
    pub regs: libc::user_regs_struct,
    /// New alternate stack after delivery (`SS_AUTODISARM` disarms it).
    pub altstack_after: Option<(u64, i32, u64)>,
    /// FPU image to load before the handler runs: Linux starts handlers
    /// with a pristine FPU.
    pub handler_fpstate: Vec<u8>,
}

/// The thread's alternate stack, with the kernel's predicates.
#[derive(Clone, Copy)]
struct AltStack {
    sp: u64,
    flags: i32,
    size: u64,
}

impl AltStack {
    fn enabled(&self) -> bool {
        self.size != 0 && (self.flags & !SS_AUTODISARM) != SS_DISABLE
    }

    /// `__on_sig_stack`: `sp` lies within the stack.
    fn contains(&self, sp: u64) -> bool {
        self.enabled() && sp > self.sp && sp.wrapping_sub(self.sp) <= self.size
    }

    /// `on_sig_stack`: as `contains`, but never true for SS_AUTODISARM stacks.
    fn on_stack(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }
}

/// Builds the frame for `d` with the host FPU layout.
pub fn build_frame(d: &SignalDelivery) -> Result<Frame, Errno> {
    build_frame_with(d, FpuLayout::host())
}

/// Writes the FPU area of a frame: the image, `fpx_sw_bytes` and the trailer.
fn fill_fp_area(area: &mut [u8], image: &[u8], layout: &FpuLayout) {
    let n = image.len().min(area.len());
    area[..n].copy_from_slice(&image[..n]);
    let (ext, xfeatures, xsize) = if layout.xsave {
        let mut bv = if image.len() >= XSAVE_HDR_END {
            get_u64(image, XSAVE_HDR)
        } else {
            0
        };
        bv = (bv & layout.user_xfeatures) | XFEATURE_FPSSE;
        if let Some(hdr) = area.get_mut(XSAVE_HDR..XSAVE_HDR_END) {
            hdr.fill(0);
        }
        put_u64(area, XSAVE_HDR, bv);
        put_u32(area, layout.frame_size, FP_XSTATE_MAGIC2);
        (layout.frame_size + 4, layout.user_xfeatures, layout.frame_size)
    } else {
        (FXSAVE_SIZE, XFEATURE_FPSSE, FXSAVE_SIZE)
    };
    if let Some(sw) = area.get_mut(SW_BYTES..FXSAVE_SIZE) {
        sw.fill(0);
    }
    put_u32(area, SW_BYTES, FP_XSTATE_MAGIC1);
    put_u32(area, SW_BYTES + 4, ext as u32);
    put_u64(area, SW_BYTES + 8, xfeatures);
    put_u32(area, SW_BYTES + 16, xsize as u32);
}

/// Fills `uc_mcontext` (struct sigcontext) from `regs`.
fn fill_sigcontext(sc: &mut [u8], regs: &libc::user_regs_struct, info: &SigInfo, oldmask: u64, fp: u64) {
    for (off, v) in [
        (SC_R8, regs.r8),
        (SC_R9, regs.r9),
        (SC_R10, regs.r10),
        (SC_R11, regs.r11),
        (SC_R12, regs.r12),
        (SC_R13, regs.r13),
        (SC_R14, regs.r14),
        (SC_R15, regs.r15),
        (SC_RDI, regs.rdi),
        (SC_RSI, regs.rsi),
        (SC_RBP, regs.rbp),
        (SC_RBX, regs.rbx),
        (SC_RDX, regs.rdx),
        (SC_RAX, regs.rax),
        (SC_RCX, regs.rcx),
        (SC_RSP, regs.rsp),
        (SC_RIP, regs.rip),
        (SC_EFLAGS, regs.eflags),
        (SC_OLDMASK, oldmask),
        (SC_FPSTATE, fp),
    ] {
        put_u64(sc, off, v);
    }
    put_u16(sc, SC_CS, regs.cs as u16);
    put_u16(sc, SC_GS, 0);
    put_u16(sc, SC_FS, 0);
    put_u16(sc, SC_SS, regs.ss as u16);
    // The kernel reports the trap that raised a fault (thread.trap_nr,
    // error_code, cr2). We only know the address of memory faults: report
    // them as user-mode page faults.
    if matches!(info.signo, libc::SIGSEGV | libc::SIGBUS) && siginfo_layout(info.signo, info.code) == SiLayout::Fault {
        put_u64(sc, SC_TRAPNO, 14);
        put_u64(sc, SC_ERR, 4);
        put_u64(sc, SC_CR2, info.addr_or_value);
    }
}

/// [`build_frame`] for an explicit FPU layout.
pub fn build_frame_with(d: &SignalDelivery, layout: &FpuLayout) -> Result<Frame, Errno> {
    let alt = AltStack {
        sp: d.altstack.0,
        flags: d.altstack.1,
        size: d.altstack.2,
    };
    let nested = alt.on_stack(d.regs.rsp);
    let mut sp = d.regs.rsp.checked_sub(RED_ZONE).ok_or(Errno::EFAULT)?;
    let mut entering = false;
    if d.flags & SA_ONSTACK != 0 && alt.enabled() && !alt.on_stack(sp) {
        sp = alt.sp.checked_add(alt.size).ok_or(Errno::EFAULT)?;
        entering = true;
    }
    let fp_size = if layout.xsave {
        layout.frame_size + 4
    } else {
        FXSAVE_SIZE
    };
    let fp_addr = sp.checked_sub(fp_size as u64).ok_or(Errno::EFAULT)? & !63;
    let addr = (fp_addr.checked_sub(RT_SIGFRAME_SIZE as u64).ok_or(Errno::EFAULT)? & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;
    if (nested || entering) && !alt.contains(addr) {
        // Would overflow the alternate stack: Linux returns a bogus frame
        // address and the delivery ends in SIGSEGV.
        return Err(Errno::EFAULT);
    }
    let end = fp_addr + fp_size as u64;
    if addr < MIN_FRAME_ADDR || end > TASK_SIZE_MAX {
        return Err(Errno::EFAULT);
    }
    let mut bytes = vec![0u8; (end - addr) as usize];
    let fp_off = (fp_addr - addr) as usize;
    fill_fp_area(&mut bytes[fp_off..], d.fpstate, layout);

    let uc_flags = if layout.xsave { UC_FP_XSTATE } else { 0 } | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    let restorer = if d.flags & SA_RESTORER != 0 { d.restorer } else { 0 };
    put_u64(&mut bytes, F_PRETCODE, restorer);
    let uc = &mut bytes[F_UC..F_UC + UC_SIZE];
    put_u64(uc, UC_FLAGS, uc_flags);
    put_u64(uc, UC_LINK, 0);
    put_u64(uc, UC_STACK_SP, alt.sp);
    put_u32(uc, UC_STACK_FLAGS, alt.flags as u32);
    put_u64(uc, UC_STACK_SIZE, alt.size);
    fill_sigcontext(&mut uc[UC_MCONTEXT..UC_SIGMASK], d.regs, d.info, d.saved_mask, fp_addr);
    put_u64(uc, UC_SIGMASK, d.saved_mask);
    if d.flags & SA_SIGINFO != 0 {
        bytes[F_INFO..F_INFO + SIGINFO_SIZE].copy_from_slice(&encode_siginfo(d.info));
    }

    let mut regs = *d.regs;
    regs.rdi = d.info.signo as u64;
    regs.rax = 0;
    regs.rsi = addr + F_INFO as u64;
    regs.rdx = addr + F_UC as u64;
    regs.rip = d.handler;
    regs.rsp = addr;
    regs.eflags &= !(X86_EFLAGS_DF | X86_EFLAGS_RF | X86_EFLAGS_TF);

    let altstack_after = (alt.flags & SS_AUTODISARM != 0).then_some((0, SS_DISABLE, 0));
    Ok(Frame {
        addr,
        bytes,
        regs,
        altstack_after,
        handler_fpstate: layout.init_state(),
    })
}

/// What `rt_sigreturn` restores.
#[derive(Clone, Debug)]
pub struct Sigreturn {
    /// Registers to resume with (`rax` is the restored value, which is
    /// also the syscall's "return value": do not overwrite it).
    pub regs: libc::user_regs_struct,
    /// The new blocked mask (SIGKILL and SIGSTOP never blocked).
    pub mask: u64,
    /// FPU image to load (sized for `fpu::set_fpstate`); the init state when
    /// the frame had no fpstate. Always `Some` today.
    pub fpstate: Option<Vec<u8>>,
    /// `uc_stack` as the guest left it; pass it through
    /// [`altstack_after_sigreturn`] to get the thread's new altstack.
    pub altstack: (u64, i32, u64),
}

/// Guest-memory reader: `read(addr, len)`.
pub type ReadMem<'a> = &'a dyn Fn(u64, usize) -> Result<Vec<u8>, Errno>;

fn read_exact(read: ReadMem, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
    if end > TASK_SIZE_MAX {
        return Err(Errno::EFAULT);
    }
    let v = read(addr, len)?;
    if v.len() < len {
        return Err(Errno::EFAULT);
    }
    Ok(v)
}

/// Parses the frame of an `rt_sigreturn` issued with `rsp` (the frame is
/// at `rsp - 8`: the handler's `ret` popped `pretcode`). `current` holds
/// the registers at the syscall; segment state is kept from it. An error
/// means a bad frame: the caller forces SIGSEGV.
pub fn parse_sigreturn(read: ReadMem, rsp: u64, current: &libc::user_regs_struct) -> Result<Sigreturn, Errno> {
    parse_sigreturn_with(read, rsp, current, FpuLayout::host())
}

/// [`parse_sigreturn`] for an explicit FPU layout.
pub fn parse_sigreturn_with(
    read: ReadMem,
    rsp: u64,
    current: &libc::user_regs_struct,
    layout: &FpuLayout,
) -> Result<Sigreturn, Errno> {
    let frame = rsp.checked_sub(8).ok_or(Errno::EFAULT)?;
    match frame.checked_add(RT_SIGFRAME_SIZE as u64) {
        Some(end) if end <= TASK_SIZE_MAX => {}
        _ => return Err(Errno::EFAULT),
    }
    let uc = read_exact(read, frame + F_UC as u64, UC_SIZE)?;
    let sc = &uc[UC_MCONTEXT..UC_SIGMASK];
    let mut regs = *current;
    regs.r8 = get_u64(sc, SC_R8);
    regs.r9 = get_u64(sc, SC_R9);
    regs.r10 = get_u64(sc, SC_R10);
    regs.r11 = get_u64(sc, SC_R11);
    regs.r12 = get_u64(sc, SC_R12);
    regs.r13 = get_u64(sc, SC_R13);
    regs.r14 = get_u64(sc, SC_R14);
    regs.r15 = get_u64(sc, SC_R15);
    regs.rdi = get_u64(sc, SC_RDI);
    regs.rsi = get_u64(sc, SC_RSI);
    regs.rbp = get_u64(sc, SC_RBP);
    regs.rbx = get_u64(sc, SC_RBX);
    regs.rdx = get_u64(sc, SC_RDX);
    regs.rax = get_u64(sc, SC_RAX);
    regs.rcx = get_u64(sc, SC_RCX);
    regs.rsp = get_u64(sc, SC_RSP);
    regs.rip = get_u64(sc, SC_RIP);
    regs.eflags = (current.eflags & !FIX_EFLAGS) | (get_u64(sc, SC_EFLAGS) & FIX_EFLAGS);
    regs.cs = current.cs;
    regs.ss = current.ss;
    regs.orig_rax = u64::MAX;

    let never_blocked = (1u64 << (libc::SIGKILL - 1)) | (1u64 << (libc::SIGSTOP - 1));
    let mask = get_u64(&uc, UC_SIGMASK) & !never_blocked;
    let altstack = (
        get_u64(&uc, UC_STACK_SP),
        get_u32(&uc, UC_STACK_FLAGS) as i32,
        get_u64(&uc, UC_STACK_SIZE),
    );
    let fpstate = restore_fpstate(read, get_u64(sc, SC_FPSTATE), layout)?;
    Ok(Sigreturn {
        regs,
        mask,
        fpstate: Some(fpstate),
        altstack,
    })
}

/// Reads the FPU image at `fp` the way `fpu__restore_sig` interprets it and
/// returns the equivalent image for `fpu::set_fpstate`. Faults that XRSTOR
/// or FXRSTOR would take (misalignment, bad header, reserved MXCSR bits)
/// become EFAULT.
fn restore_fpstate(read: ReadMem, fp: u64, layout: &FpuLayout) -> Result<Vec<u8>, Errno> {
    let mut out = layout.init_state();
    if fp == 0 {
        return Ok(out);
    }
    let legacy = read_exact(read, fp, FXSAVE_SIZE)?;
    let mut image = legacy;
    let mut fx_only = true;
    let mut rfbm = XFEATURE_FPSSE;
    if layout.xsave {
        let magic1 = get_u32(&image, SW_BYTES);
        let ext = get_u32(&image, SW_BYTES + 4) as usize;
        let xfeatures = get_u64(&image, SW_BYTES + 8);
        let xsize = get_u32(&image, SW_BYTES + 16) as usize;
        if magic1 == FP_XSTATE_MAGIC1 && xsize >= XSAVE_HDR_END && xsize <= layout.frame_size && xsize <= ext {
            let magic2 = read_exact(read, fp + xsize as u64, 4)?;
            if get_u32(&magic2, 0) == FP_XSTATE_MAGIC2 {
                fx_only = false;
                rfbm = xfeatures & layout.user_xfeatures;
                image = read_exact(read, fp, xsize)?;
            }
        }
    }
    let align = if fx_only { 16 } else { 64 };
    if !fp.is_multiple_of(align) {
        return Err(Errno::EFAULT);
    }
    let mxcsr = get_u32(&image, MXCSR_OFF);
    let bv = if fx_only {
        XFEATURE_FPSSE
    } else {
        let bv = get_u64(&image, XSAVE_HDR);
        let xcomp = get_u64(&image, XSAVE_HDR + 8);
        let reserved = get_u64(&image, XSAVE_HDR + 16);
        if xcomp != 0 || reserved != 0 || bv & !layout.xcr0 != 0 {
            return Err(Errno::EFAULT);
        }
        bv & rfbm
    };
    if rfbm & 0b110 != 0 && mxcsr & !layout.mxcsr_mask != 0 {
        return Err(Errno::EFAULT);
    }
    let n = image.len().min(out.len());
    out[..n].copy_from_slice(&image[..n]);
    if let Some(sw) = out.get_mut(SW_BYTES..FXSAVE_SIZE) {
        sw.fill(0);
    }
    if layout.xsave {
        if let Some(hdr) = out.get_mut(XSAVE_HDR..XSAVE_HDR_END) {
            hdr.fill(0);
        }
        put_u64(&mut out, XSAVE_HDR, bv);
    }
    Ok(out)
}

/// The thread's altstack after `rt_sigreturn` restored `restored` from
/// `uc_stack` (Linux's `restore_altstack`: `sigaltstack` semantics with
/// every error but EFAULT ignored). `sp` is the restored `rsp`.
pub fn altstack_after_sigreturn(current: (u64, i32, u64), restored: (u64, i32, u64), sp: u64) -> (u64, i32, u64) {
    let cur = AltStack {
        sp: current.0,
        flags: current.1,
        size: current.2,
    };
    if cur.on_stack(sp) {
        return current;
    }
    let (_, flags, size) = restored;
    let mode = flags & !SS_AUTODISARM;
    if mode != SS_DISABLE && mode != libc::SS_ONSTACK && mode != 0 {
        return current;
    }
    if mode == SS_DISABLE {
        return (0, flags, 0);
    }
    if size < MINSIGSTKSZ {
        return current;
    }
    restored
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A synthetic XSAVE host: x87, SSE, AVX.
    const AVX_HOST: FpuLayout = FpuLayout {
        xsave: true,
        ptrace_size: 1088,
        frame_size: 832,
        user_xfeatures: 0b111,
        xcr0: 0b111,
        mxcsr_mask: 0xffff,
    };

    fn layouts() -> Vec<FpuLayout> {
        vec![AVX_HOST, FpuLayout::FXSR_ONLY, *FpuLayout::host()]
    }

    /// Sparse simulated guest memory.
    struct Mem {
        base: u64,
        data: RefCell<Vec<u8>>,
    }

    impl Mem {
        fn new(base: u64, len: usize) -> Mem {
            Mem {
                base,
                data: RefCell::new(vec![0; len]),
            }
        }
        fn write(&self, addr: u64, bytes: &[u8]) {
            let off = (addr - self.base) as usize;
            self.data.borrow_mut()[off..off + bytes.len()].copy_from_slice(bytes);
        }
        fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
            let off = addr.checked_sub(self.base).ok_or(Errno::EFAULT)? as usize;
            let d = self.data.borrow();
            d.get(off..off.checked_add(len).ok_or(Errno::EFAULT)?)
                .map(|s| s.to_vec())
                .ok_or(Errno::EFAULT)
        }
    }

    fn sample_regs(rsp: u64) -> libc::user_regs_struct {
        // SAFETY: all-zero is valid plain data.
        let mut r: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        r.r15 = 15;
        r.r14 = 14;
        r.r13 = 13;
        r.r12 = 12;
        r.rbp = 0x1111;
        r.rbx = 0x2222;
        r.r11 = 11;
        r.r10 = 10;
        r.r9 = 9;
        r.r8 = 8;
        r.rax = 0xfffffffffffffffc;
        r.rcx = 0x3333;
        r.rdx = 0x4444;
        r.rsi = 0x5555;
        r.rdi = 0x6666;
        r.orig_rax = 35;
        r.rip = 0x401000;
        r.cs = 0x33;
        r.eflags = 0x246 | X86_EFLAGS_DF | X86_EFLAGS_TF;
        r.rsp = rsp;
        r.ss = 0x2b;
        r.fs_base = 0x7000;
        r
    }

    fn sample_fp(layout: &FpuLayout) -> Vec<u8> {
        let mut fp = layout.init_state();
        for (i, b) in fp.iter_mut().enumerate().skip(160).take(256) {
            *b = i as u8;
        }
        put_u32(&mut fp, MXCSR_OFF, 0x3f80);
        if layout.xsave {
            put_u64(&mut fp, XSAVE_HDR, layout.user_xfeatures & 0b111);
            for (i, b) in fp.iter_mut().enumerate().skip(576).take(256) {
                *b = (i * 7) as u8;
            }
        }
        fp
    }

    fn info() -> SigInfo {
        SigInfo {
            signo: libc::SIGUSR1,
            code: libc::SI_TKILL,
            pid: 42,
            uid: 1000,
            ..Default::default()
        }
    }

    fn delivery<'a>(
        regs: &'a libc::user_regs_struct,
        fp: &'a [u8],
        info: &'a SigInfo,
        flags: u64,
        alt: (u64, i32, u64),
    ) -> SignalDelivery<'a> {
        SignalDelivery {
            regs,
            fpstate: fp,
            info,
            handler: 0x402000,
            flags: flags | SA_RESTORER | SA_SIGINFO,
            restorer: 0x403000,
            saved_mask: 0x8000_0000_0000_0003 | (1 << (libc::SIGKILL - 1)),
            altstack: alt,
        }
    }

    #[test]
    fn round_trip_restores_registers_mask_and_fpu() {
        for layout in layouts() {
            let base = 0x7ff0_0000_0000u64;
            let mem = Mem::new(base, 0x40000);
            let regs = sample_regs(base + 0x3f000 + 3);
            let fp = sample_fp(&layout);
            let inf = info();
            let d = delivery(&regs, &fp, &inf, 0, (0, SS_DISABLE, 0));
            let f = build_frame_with(&d, &layout).unwrap();
            assert!(f.addr + (f.bytes.len() as u64) <= regs.rsp - RED_ZONE);
            mem.write(f.addr, &f.bytes);
            // Handler state.
            assert_eq!(f.regs.rip, 0x402000);
            assert_eq!(f.regs.rdi, libc::SIGUSR1 as u64);
            assert_eq!(f.regs.rsi, f.addr + 312);
            assert_eq!(f.regs.rdx, f.addr + 8);
            assert_eq!(f.regs.rax, 0);
            assert_eq!(f.regs.eflags & (X86_EFLAGS_DF | X86_EFLAGS_TF), 0);
            assert_eq!((f.regs.cs, f.regs.ss), (0x33, 0x2b));
            assert_eq!(mem.read(f.addr, 8).unwrap(), 0x403000u64.to_le_bytes());
            assert_eq!(f.handler_fpstate, layout.init_state());
            // The handler clobbers registers, then `ret` pops pretcode.
            let mut at_syscall = f.regs;
            at_syscall.rsp = f.addr + 8;
            at_syscall.rax = 15;
            at_syscall.rbx = 0xdead;
            at_syscall.eflags = 0x202;
            let rd = |a: u64, l: usize| mem.read(a, l);
            let s = parse_sigreturn_with(&rd, at_syscall.rsp, &at_syscall, &layout).unwrap();
            let mut want = regs;
            want.orig_rax = u64::MAX;
            assert_eq!(s.regs, want);
            assert_eq!(s.mask, 0x8000_0000_0000_0003);
            assert_eq!(s.altstack, (0, SS_DISABLE, 0));
            let got_fp = s.fpstate.unwrap();
            assert_eq!(got_fp.len(), layout.ptrace_size);
            let cmp = if layout.xsave { layout.frame_size } else { FXSAVE_SIZE };
            assert_eq!(&got_fp[..SW_BYTES], &fp[..SW_BYTES]);
            assert_eq!(&got_fp[FXSAVE_SIZE..cmp], &fp[FXSAVE_SIZE..cmp]);
        }
    }

    #[test]
    fn handler_entry_is_abi_aligned() {
        for layout in layouts() {
            let fp = sample_fp(&layout);
            let inf = info();
            for k in 0..300u64 {
                let rsp = 0x7ffd_0000_0000 + k * 13;
                let regs = sample_regs(rsp);
                let f = build_frame_with(&delivery(&regs, &fp, &inf, 0, (0, SS_DISABLE, 0)), &layout).unwrap();
                assert_eq!((f.regs.rsp + 8) % 16, 0, "rsp {rsp:#x}");
                let fp_ptr = get_u64(&f.bytes, F_UC + UC_MCONTEXT + SC_FPSTATE);
                assert_eq!(fp_ptr % 64, 0);
                assert!(fp_ptr >= f.addr + RT_SIGFRAME_SIZE as u64);
                let fp_size = if layout.xsave { layout.frame_size + 4 } else { 512 };
                assert_eq!(f.addr + f.bytes.len() as u64, fp_ptr + fp_size as u64);
                assert!(fp_ptr + fp_size as u64 <= rsp - 128);
                assert!(fp_ptr - f.addr < RT_SIGFRAME_SIZE as u64 + 8 + 16);
            }
        }
    }

    #[test]
    fn fpstate_area_matches_kernel_format() {
        let fp = sample_fp(&AVX_HOST);
        let regs = sample_regs(0x7ffd_0000_1000);
        let inf = info();
        let f = build_frame_with(&delivery(&regs, &fp, &inf, 0, (0, SS_DISABLE, 0)), &AVX_HOST).unwrap();
        let off = (get_u64(&f.bytes, F_UC + UC_MCONTEXT + SC_FPSTATE) - f.addr) as usize;
        let a = &f.bytes[off..];
        assert_eq!(get_u32(a, 464), FP_XSTATE_MAGIC1);
        assert_eq!(get_u32(a, 468), 832 + 4);
        assert_eq!(get_u64(a, 472), 0b111);
        assert_eq!(get_u32(a, 480), 832);
        assert_eq!(get_u32(a, 832), FP_XSTATE_MAGIC2);
        assert_eq!(get_u64(f.bytes.as_slice(), F_UC + UC_FLAGS), 7);
        let fx = build_frame_with(
            &delivery(&regs, &fp[..512], &inf, 0, (0, SS_DISABLE, 0)),
            &FpuLayout::FXSR_ONLY,
        )
        .unwrap();
        assert_eq!(get_u64(&fx.bytes, F_UC + UC_FLAGS), 6);
    }

    #[test]
    fn altstack_selection() {
        let layout = AVX_HOST;
        let fp = sample_fp(&layout);
        let inf = info();
        let alt_base = 0x6000_0000u64;
        let alt = (alt_base, 0, 0x10000u64);
        let regs = sample_regs(0x7ffd_0000_8000);
        // SA_ONSTACK with an enabled stack: frame at the top of it.
        let f = build_frame_with(&delivery(&regs, &fp, &inf, SA_ONSTACK, alt), &layout).unwrap();
        assert!(f.addr > alt_base && f.addr < alt_base + 0x10000);
        assert!(f.addr + f.bytes.len() as u64 <= alt_base + 0x10000);
        assert_eq!(f.altstack_after, None);
        assert_eq!(get_u64(&f.bytes, F_UC + UC_STACK_SP), alt_base);
        assert_eq!(get_u64(&f.bytes, F_UC + UC_STACK_SIZE), 0x10000);
        // Without SA_ONSTACK: the normal stack.
        let f = build_frame_with(&delivery(&regs, &fp, &inf, 0, alt), &layout).unwrap();
        assert!(f.addr < regs.rsp && f.addr > regs.rsp - 0x1000);
        // SS_DISABLE: the normal stack.
        let f = build_frame_with(
            &delivery(&regs, &fp, &inf, SA_ONSTACK, (alt_base, SS_DISABLE, 0)),
            &layout,
        )
        .unwrap();
        assert!(f.addr < regs.rsp && f.addr > regs.rsp - 0x1000);
        // Already on the altstack: nest below the current rsp.
        let on = sample_regs(alt_base + 0x8000);
        let f = build_frame_with(&delivery(&on, &fp, &inf, SA_ONSTACK, alt), &layout).unwrap();
        assert!(f.addr < alt_base + 0x8000 - 128 && f.addr > alt_base);
        // Nested and overflowing: EFAULT.
        let low = sample_regs(alt_base + 0x200);
        assert_eq!(
            build_frame_with(&delivery(&low, &fp, &inf, SA_ONSTACK, alt), &layout).unwrap_err(),
            Errno::EFAULT
        );
        // Entering a too-small stack: EFAULT.
        let tiny = (alt_base, 0, 0x100u64);
        assert_eq!(
            build_frame_with(&delivery(&regs, &fp, &inf, SA_ONSTACK, tiny), &layout).unwrap_err(),
            Errno::EFAULT
        );
        // SS_AUTODISARM: always switch to the top, then disarm.
        let auto = (alt_base, SS_AUTODISARM, 0x10000u64);
        let f = build_frame_with(&delivery(&on, &fp, &inf, SA_ONSTACK, auto), &layout).unwrap();
        assert!(f.addr > alt_base + 0x8000);
        assert_eq!(f.altstack_after, Some((0, SS_DISABLE, 0)));
        assert_eq!(get_u32(&f.bytes, F_UC + UC_STACK_FLAGS) as i32, SS_AUTODISARM);
    }

    #[test]
    fn bad_stack_addresses_are_efault() {
        let fp = sample_fp(&AVX_HOST);
        let inf = info();
        for rsp in [0u64, 100, 2000, u64::MAX, 1 << 63] {
            let regs = sample_regs(rsp);
            let r = build_frame_with(&delivery(&regs, &fp, &inf, 0, (0, SS_DISABLE, 0)), &AVX_HOST);
            assert_eq!(r.unwrap_err(), Errno::EFAULT, "rsp {rsp:#x}");
        }
        let mem = Mem::new(0x1000, 0x1000);
        let rd = |a: u64, l: usize| mem.read(a, l);
        let regs = sample_regs(0);
        for rsp in [0u64, 4, u64::MAX, 0x1ff0, 1 << 47] {
            assert!(parse_sigreturn_with(&rd, rsp, &regs, &AVX_HOST).is_err());
        }
    }

    #[test]
    fn missing_restorer_gives_zero_pretcode_and_no_siginfo_without_sa_siginfo() {
        let fp = sample_fp(&AVX_HOST);
        let regs = sample_regs(0x7ffd_0000_1000);
        let inf = info();
        let mut d = delivery(&regs, &fp, &inf, 0, (0, SS_DISABLE, 0));
        d.flags = 0;
        let f = build_frame_with(&d, &AVX_HOST).unwrap();
        assert_eq!(get_u64(&f.bytes, 0), 0);
        assert!(f.bytes[F_INFO..F_INFO + SIGINFO_SIZE].iter().all(|&b| b == 0));
    }

    #[test]
    fn sigreturn_fpstate_edge_cases() {
        let layout = AVX_HOST;
        let base = 0x10_0000u64;
        let mem = Mem::new(base, 0x10000);
        let fp = sample_fp(&layout);
        let inf = info();
        let regs = sample_regs(base + 0xf000);
        let f = build_frame_with(&delivery(&regs, &fp, &inf, 0, (0, SS_DISABLE, 0)), &layout).unwrap();
        let fp_ptr = get_u64(&f.bytes, F_UC + UC_MCONTEXT + SC_FPSTATE);
        let rd = |a: u64, l: usize| mem.read(a, l);
        let parse = || parse_sigreturn_with(&rd, f.addr + 8, &f.regs, &layout);

        // fpstate pointer 0: init state.
        mem.write(f.addr, &f.bytes);
        mem.write(f.addr + (F_UC + UC_MCONTEXT + SC_FPSTATE) as u64, &0u64.to_le_bytes());
        assert_eq!(parse().unwrap().fpstate.unwrap(), layout.init_state());

        // Missing magic2: legacy state only, upper AVX state reset.
        mem.write(f.addr, &f.bytes);
        mem.write(fp_ptr + 832, &0u32.to_le_bytes());
        let s = parse().unwrap().fpstate.unwrap();
        assert_eq!(&s[160..416], &fp[160..416]);
        assert_eq!(get_u64(&s, XSAVE_HDR), XFEATURE_FPSSE);

        // Reserved MXCSR bits: bad frame.
        mem.write(f.addr, &f.bytes);
        mem.write(fp_ptr + MXCSR_OFF as u64, &0x1_0000u32.to_le_bytes());
        assert_eq!(parse().unwrap_err(), Errno::EFAULT);

        // Non-zero xcomp_bv or unknown feature bits: bad frame.
        mem.write(f.addr, &f.bytes);
        mem.write(fp_ptr + 520, &1u64.to_le_bytes());
        assert_eq!(parse().unwrap_err(), Errno::EFAULT);
        mem.write(f.addr, &f.bytes);
        mem.write(fp_ptr + 512, &0x107u64.to_le_bytes());
        assert_eq!(parse().unwrap_err(), Errno::EFAULT);

        // sw xfeatures without AVX: AVX state initialised.
        mem.write(f.addr, &f.bytes);
        mem.write(fp_ptr + 472, &3u64.to_le_bytes());
        assert_eq!(get_u64(&parse().unwrap().fpstate.unwrap(), XSAVE_HDR), 3);

        // Misaligned fpstate pointer: bad frame.
        mem.write(f.addr, &f.bytes);
        mem.write(
            f.addr + (F_UC + UC_MCONTEXT + SC_FPSTATE) as u64,
            &(fp_ptr + 8).to_le_bytes(),
        );
        assert_eq!(parse().unwrap_err(), Errno::EFAULT);

        // SIGKILL/SIGSTOP can't be blocked through uc_sigmask.
        mem.write(f.addr, &f.bytes);
        mem.write(f.addr + (F_UC + UC_SIGMASK) as u64, &u64::MAX.to_le_bytes());
        let m = parse().unwrap().mask;
        assert_eq!(m, !(1 << 8) & !(1 << 18));
    }

    #[test]
    fn altstack_restore_semantics() {
        let cur = (0x1000u64, 0, 0x4000u64);
        // On the current stack: no change.
        assert_eq!(altstack_after_sigreturn(cur, (0x9000, 0, 0x4000), 0x2000), cur);
        // Disabled.
        assert_eq!(
            altstack_after_sigreturn(cur, (0x9000, SS_DISABLE, 0x4000), 0x10_0000),
            (0, SS_DISABLE, 0)
        );
        // Too small or bad mode: ignored.
        assert_eq!(altstack_after_sigreturn(cur, (0x9000, 0, 100), 0x10_0000), cur);
        assert_eq!(altstack_after_sigreturn(cur, (0x9000, 8, 0x4000), 0x10_0000), cur);
        // Valid: taken.
        let new = (0x9000, SS_AUTODISARM, 0x4000);
        assert_eq!(altstack_after_sigreturn(cur, new, 0x10_0000), new);
    }

    fn si(signo: i32, code: i32) -> SigInfo {
        SigInfo {
            signo,
            code,
            errno: 7,
            pid: 1234,
            uid: 999,
            status: 77,
            addr_or_value: 0xdead_beef_0000,
            timer_id: 5,
            utime: 11,
            stime: 22,
        }
    }

    fn as_libc(b: &[u8; SIGINFO_SIZE]) -> libc::siginfo_t {
        // SAFETY: siginfo_t is 128 bytes of plain data; any bytes are valid.
        unsafe { std::ptr::read_unaligned(b.as_ptr().cast::<libc::siginfo_t>()) }
    }

    #[test]
    fn siginfo_encodings_match_libc_layout() {
        assert_eq!(std::mem::size_of::<libc::siginfo_t>(), SIGINFO_SIZE);
        // kill(): pid, uid only.
        let b = encode_siginfo(&si(libc::SIGUSR1, libc::SI_USER));
        let l = as_libc(&b);
        assert_eq!((l.si_signo, l.si_errno, l.si_code), (libc::SIGUSR1, 7, libc::SI_USER));
        // SAFETY: reading union members of plain data.
        unsafe {
            assert_eq!((l.si_pid(), l.si_uid()), (1234, 999));
        }
        assert!(b[24..].iter().all(|&x| x == 0));
        // sigqueue(): plus sigval.
        let l = as_libc(&encode_siginfo(&si(libc::SIGRTMIN(), libc::SI_QUEUE)));
        // SAFETY: as above.
        unsafe {
            assert_eq!((l.si_pid(), l.si_uid()), (1234, 999));
            assert_eq!(l.si_value().sival_ptr as u64, 0xdead_beef_0000);
        }
        // SIGCHLD.
        let l = as_libc(&encode_siginfo(&si(libc::SIGCHLD, libc::CLD_EXITED)));
        // SAFETY: as above.
        unsafe {
            assert_eq!((l.si_pid(), l.si_uid(), l.si_status()), (1234, 999, 77));
            assert_eq!((l.si_utime(), l.si_stime()), (11, 22));
        }
        // Faults: si_addr only.
        for sig in [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGTRAP] {
            let b = encode_siginfo(&si(sig, 1));
            // SAFETY: as above.
            unsafe { assert_eq!(as_libc(&b).si_addr() as u64, 0xdead_beef_0000) };
            assert!(b[24..].iter().all(|&x| x == 0));
        }
        // SIGSEGV from kill(): kill layout, not fault.
        let b = encode_siginfo(&si(libc::SIGSEGV, libc::SI_USER));
        assert_eq!(get_u32(&b, 16), 1234);
        // Timer (offsets from glibc's siginfo_t: si_timerid 16, si_overrun 20, si_value 24).
        let b = encode_siginfo(&si(libc::SIGALRM, -2));
        assert_eq!(
            (get_u32(&b, 16), get_u32(&b, 20), get_u64(&b, 24)),
            (5, 77, 0xdead_beef_0000)
        );
        // SIGPOLL (si_band 16, si_fd 24), also SI_SIGIO for any signal.
        let b = encode_siginfo(&si(libc::SIGIO, 1));
        assert_eq!((get_u64(&b, 16), get_u32(&b, 24)), (0xdead_beef_0000, 77));
        let b = encode_siginfo(&si(libc::SIGRTMIN(), -5));
        assert_eq!((get_u64(&b, 16), get_u32(&b, 24)), (0xdead_beef_0000, 77));
        // SIGSYS (si_call_addr 16, si_syscall 24, si_arch 28).
        let b = encode_siginfo(&si(libc::SIGSYS, 1));
        assert_eq!(
            (get_u64(&b, 16), get_u32(&b, 24), get_u32(&b, 28)),
            (0xdead_beef_0000, 77, 0xc000_003e)
        );
        // tkill(): negative code, rt layout with pid/uid.
        let b = encode_siginfo(&si(libc::SIGUSR2, libc::SI_TKILL));
        assert_eq!((get_u32(&b, 16), get_u32(&b, 20)), (1234, 999));
        // SI_KERNEL: kill layout.
        let b = encode_siginfo(&si(libc::SIGSEGV, 0x80));
        assert_eq!((get_u32(&b, 16), get_u64(&b, 24)), (1234, 0));
    }

    /// xorshift64* for deterministic fuzzing.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn fuzz_parse_sigreturn_never_panics() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let base = 0x10_0000u64;
        let regs = sample_regs(0);
        let mut ok = 0;
        for layout in layouts() {
            for round in 0..3000 {
                let mem = Mem::new(base, 0x8000);
                {
                    let mut d = mem.data.borrow_mut();
                    for b in d.iter_mut() {
                        *b = rng.next() as u8;
                    }
                }
                let rsp = if round % 4 == 0 {
                    rng.next()
                } else {
                    base + rng.next() % 0x8000
                };
                // Often point the fpstate at plausible memory with magic values.
                if round % 2 == 0 && rsp >= base + 8 && rsp < base + 0x7000 {
                    let frame = rsp - 8;
                    let fp = (base + 0x4000 + (rng.next() % 0x3000)) & !(if round % 3 == 0 { 63 } else { 0 });
                    let fpslot = frame + (F_UC + UC_MCONTEXT + SC_FPSTATE) as u64;
                    if fpslot + 8 <= base + 0x8000 {
                        mem.write(fpslot, &fp.to_le_bytes());
                    }
                    if fp + 484 <= base + 0x8000 {
                        mem.write(fp + 464, &FP_XSTATE_MAGIC1.to_le_bytes());
                        let xs = (rng.next() % 4096) as u32;
                        mem.write(fp + 480, &xs.to_le_bytes());
                        mem.write(fp + 468, &(xs + 4).to_le_bytes());
                        if fp + xs as u64 + 4 <= base + 0x8000 {
                            mem.write(fp + xs as u64, &FP_XSTATE_MAGIC2.to_le_bytes());
                        }
                        if round % 5 == 0 {
                            mem.write(fp + 520, &[0u8; 56]);
                            mem.write(fp + 512, &(rng.next() & 7).to_le_bytes());
                            mem.write(fp + 24, &0x1f80u32.to_le_bytes());
                        }
                    }
                }
                let rd = |a: u64, l: usize| mem.read(a, l);
                if let Ok(s) = parse_sigreturn_with(&rd, rsp, &regs, &layout) {
                    ok += 1;
                    assert_eq!(s.regs.orig_rax, u64::MAX);
                    assert_eq!(s.fpstate.map(|f| f.len()), Some(layout.init_state().len()));
                }
            }
        }
        assert!(ok > 0);
    }

    // --- Oracle: compare with a frame the host kernel builds. ---

    use std::sync::atomic::{AtomicU64, Ordering};

    const CAP: usize = 32768;
    /// Buffer the handler copies the frame into (set before raising).
    static CAPTURE_BUF: AtomicU64 = AtomicU64::new(0);
    static CAPTURED_LEN: AtomicU64 = AtomicU64::new(0);

    extern "C" fn capture(_sig: i32, _info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
        let frame = uc as u64 - 8;
        let buf = CAPTURE_BUF.load(Ordering::SeqCst) as *mut u8;
        if buf.is_null() {
            return;
        }
        // SAFETY: `uc` is the kernel's ucontext; its fpregs point at the frame's
        // FPU image whose fpx_sw_bytes give its size, so the copied range lies
        // within the frame; `buf` holds CAP bytes.
        unsafe {
            let uc = uc as *const libc::ucontext_t;
            let fp = (*uc).uc_mcontext.fpregs as u64;
            let xsize = std::ptr::read_unaligned((fp + 480) as *const u32) as u64;
            let end = fp + xsize.max(512) + 4;
            let len = (end - frame).min(CAP as u64);
            std::ptr::copy_nonoverlapping(frame as *const u8, buf, len as usize);
            CAPTURED_LEN.store(len, Ordering::SeqCst);
        }
    }

    /// Raises SIGURG at ourselves with `capture` installed; returns the
    /// kernel-built frame bytes (from `pretcode`).
    fn host_frame(onstack: Option<&mut [u8]>) -> Vec<u8> {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = vec![0u8; CAP];
        CAPTURE_BUF.store(out.as_mut_ptr() as u64, Ordering::SeqCst);
        // SAFETY: installs a handler for SIGURG (unused by the test harness),
        // raises it synchronously in this thread, and restores the previous
        // handler and altstack; `out` outlives the handler run.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = capture as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | if onstack.is_some() { libc::SA_ONSTACK } else { 0 };
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(libc::SIGURG, &sa, &mut old), 0);
            let mut old_ss: libc::stack_t = std::mem::zeroed();
            let swapped = if let Some(buf) = onstack {
                let ss = libc::stack_t {
                    ss_sp: buf.as_mut_ptr().cast(),
                    ss_flags: 0,
                    ss_size: buf.len(),
                };
                assert_eq!(libc::sigaltstack(&ss, &mut old_ss), 0);
                true
            } else {
                false
            };
            libc::raise(libc::SIGURG);
            if swapped {
                if old_ss.ss_flags & libc::SS_DISABLE != 0 {
                    old_ss.ss_size = 0;
                }
                libc::sigaltstack(&old_ss, std::ptr::null_mut());
            }
            libc::sigaction(libc::SIGURG, &old, std::ptr::null_mut());
        }
        CAPTURE_BUF.store(0, Ordering::SeqCst);
        let len = CAPTURED_LEN.swap(0, Ordering::SeqCst) as usize;
        assert!(len >= RT_SIGFRAME_SIZE);
        out.truncate(len);
        out
    }

    fn check_against_host(onstack: bool) {
        let mut alt = vec![0u8; 256 * 1024];
        let bytes = host_frame(if onstack { Some(&mut alt) } else { None });
        // Registers via glibc's mcontext_t: an independent view of the layout.
        // SAFETY: the capture holds at least the 440-byte rt_sigframe; mcontext_t
        // is 256 bytes of plain data at offset 8 + 40.
        let mc: libc::mcontext_t = unsafe { std::ptr::read_unaligned(bytes.as_ptr().add(48).cast()) };
        let g = |i: i32| mc.gregs[i as usize] as u64;
        // SAFETY: all-zero is valid plain data.
        let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        regs.r8 = g(libc::REG_R8);
        regs.r9 = g(libc::REG_R9);
        regs.r10 = g(libc::REG_R10);
        regs.r11 = g(libc::REG_R11);
        regs.r12 = g(libc::REG_R12);
        regs.r13 = g(libc::REG_R13);
        regs.r14 = g(libc::REG_R14);
        regs.r15 = g(libc::REG_R15);
        regs.rdi = g(libc::REG_RDI);
        regs.rsi = g(libc::REG_RSI);
        regs.rbp = g(libc::REG_RBP);
        regs.rbx = g(libc::REG_RBX);
        regs.rdx = g(libc::REG_RDX);
        regs.rax = g(libc::REG_RAX);
        regs.rcx = g(libc::REG_RCX);
        regs.rsp = g(libc::REG_RSP);
        regs.rip = g(libc::REG_RIP);
        regs.eflags = g(libc::REG_EFL);
        let csgsfs = g(libc::REG_CSGSFS);
        regs.cs = csgsfs & 0xffff;
        regs.ss = (csgsfs >> 48) & 0xffff;
        let host_fp = mc.fpregs as u64;
        let uc_stack = (get_u64(&bytes, 24), get_u32(&bytes, 32) as i32, get_u64(&bytes, 40));
        let mask = get_u64(&bytes, 304);
        let inf = SigInfo {
            signo: libc::SIGURG,
            code: libc::SI_TKILL,
            // SAFETY: getpid/getuid have no preconditions.
            pid: unsafe { libc::getpid() },
            // SAFETY: as above.
            uid: unsafe { libc::getuid() },
            ..Default::default()
        };
        let layout = FpuLayout::host();
        let fp_img = vec![0u8; layout.ptrace_size];
        let d = SignalDelivery {
            regs: &regs,
            fpstate: &fp_img,
            info: &inf,
            handler: 0x1234,
            flags: libc::SA_SIGINFO as u64 | SA_RESTORER | if onstack { SA_ONSTACK } else { 0 },
            restorer: get_u64(&bytes, 0),
            saved_mask: mask,
            altstack: uc_stack,
        };
        let f = build_frame(&d).unwrap();
        // The fpstate pointer we chose is where the kernel put its image.
        let fp_ours = get_u64(&f.bytes, F_UC + UC_MCONTEXT + SC_FPSTATE);
        assert_eq!(fp_ours, host_fp, "fpstate placement");
        // Frame bytes equal, except trap state (trapno/err/cr2 are stale host values).
        let mut ours = f.bytes[..RT_SIGFRAME_SIZE].to_vec();
        let mut theirs = bytes[..RT_SIGFRAME_SIZE].to_vec();
        for off in [SC_ERR, SC_TRAPNO, SC_CR2] {
            let o = F_UC + UC_MCONTEXT + off;
            ours[o..o + 8].fill(0);
            theirs[o..o + 8].fill(0);
        }
        // The kernel leaves the padding after uc_stack.ss_flags and
        // sigcontext.reserved1 unwritten (stale stack bytes).
        for r in [
            F_UC + UC_STACK_FLAGS + 4..F_UC + UC_STACK_SIZE,
            F_UC + UC_MCONTEXT + SC_FPSTATE + 8..F_UC + UC_SIGMASK,
        ] {
            ours[r.clone()].fill(0);
            theirs[r].fill(0);
        }
        assert_eq!(ours, theirs);
        // fpx_sw_bytes and the trailer are the kernel's.
        let off = (fp_ours - f.addr) as usize;
        assert_eq!(&f.bytes[off + 464..off + 484], &bytes[off + 464..off + 484]);
        let xs = get_u32(&bytes, off + 480) as usize;
        assert_eq!(xs, layout.frame_size);
        assert_eq!(get_u32(&f.bytes, off + xs), get_u32(&bytes, off + xs));
        assert_eq!(f.bytes.len(), bytes.len());

        // And rt_sigreturn accepts the kernel's frame, restoring its state.
        let mem = Mem::new(f.addr, bytes.len());
        mem.write(f.addr, &bytes);
        let rd = |a: u64, l: usize| mem.read(a, l);
        let s = parse_sigreturn(&rd, f.addr + 8, &regs).unwrap();
        let mut want = regs;
        want.orig_rax = u64::MAX;
        assert_eq!(s.regs, want);
        assert_eq!(s.mask, mask);
        assert_eq!(s.altstack, uc_stack);
        let img = s.fpstate.unwrap();
        assert_eq!(img.len(), layout.ptrace_size);
        assert_eq!(&img[..SW_BYTES], &bytes[off..off + SW_BYTES]);
        assert_eq!(&img[XSAVE_HDR..xs], &bytes[off + XSAVE_HDR..off + xs]);
    }

    #[test]
    fn frame_matches_host_kernel() {
        check_against_host(false);
    }

    #[test]
    fn frame_matches_host_kernel_on_altstack() {
        check_against_host(true);
    }
}
