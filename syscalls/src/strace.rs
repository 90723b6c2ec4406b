//! strace-style rendering of trapped syscalls for `--strace`.
//!
//! Everything here is driven by [`crate::table`]: each argument is decoded
//! by its [`ArgKind`]. Guest memory is read through [`GuestMemory`]; a failed
//! read falls back to printing the pointer, so formatting never panics and
//! never trusts guest data (lengths and counts are capped before use).

use crate::flags::{AccessMode, AtFlags, CloneFlags, MmapFlags, MmapProt, OpenFlags};
use crate::table::{self, ArgKind, SyscallInfo};
use crate::{flags, names, Errno};
use std::fmt::Write as _;

/// Longest string or buffer prefix shown, like strace's default `-s 32`.
pub const MAX_STR: usize = 32;
/// Most argv/envp entries shown before `...`.
const MAX_ARGV: usize = 32;
/// Most iovec entries shown before `...`.
const MAX_IOV: usize = 16;
/// The kernel's iovec count limit (`UIO_MAXIOV`); beyond it the call fails.
const UIO_MAXIOV: u64 = 1024;
/// Most envp entries counted for `/* N vars */`.
const MAX_ENV_COUNT: usize = 4096;

/// Read access to the traced task's memory, for decoding pointer arguments.
pub trait GuestMemory {
    /// Reads exactly `len` bytes at `addr`, or `None` if any byte is unmapped.
    fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>>;
    /// Reads a NUL-terminated string at `addr`: the bytes before the NUL, at
    /// most `max` of them (exactly `max` means the string may be longer).
    /// `None` if the first byte cannot be read.
    fn read_cstring(&self, addr: u64, max: usize) -> Option<Vec<u8>>;
}

/// A [`GuestMemory`] whose every read fails: pointers print as addresses.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMemory;

impl GuestMemory for NoMemory {
    fn read_bytes(&self, _addr: u64, _len: usize) -> Option<Vec<u8>> {
        None
    }
    fn read_cstring(&self, _addr: u64, _max: usize) -> Option<Vec<u8>> {
        None
    }
}

/// When an argument list is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// At syscall entry: out-parameters are not filled yet.
    Entry,
    /// After a successful return of this value: out-parameters are valid.
    Exit(u64),
}

/// Renders a trapped call at entry: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`.
///
/// Out-buffers (read's buffer) show as pointers since they are not filled yet.
/// Unknown numbers print as `syscall_999(0x1, 0x2, 0, 0, 0, 0)`.
pub fn format_call(nr: u64, args: &[u64; 6], mem: &dyn GuestMemory) -> String {
    format_with(nr, args, mem, Phase::Entry)
}

/// Renders a return value: ` = 3`, ` = 0x7f12a000` for mmap/brk,
/// ` = -1 ENOENT (No such file or directory)`; after success it appends the
/// filled out-buffers, e.g. ` = 5 (buf="hello")`.
pub fn format_result(nr: u64, args: &[u64; 6], ret: u64, mem: &dyn GuestMemory) -> String {
    let mut out = format_return(nr, ret);
    if Errno::from_return(ret).is_some() {
        return out;
    }
    let Some(info) = table::info(nr) else {
        return out;
    };
    let mut filled = Vec::new();
    for (i, arg) in info.args.iter().enumerate() {
        if matches!(arg.kind, ArgKind::OutBuf { .. } | ArgKind::OutIovec { .. }) {
            let text = format_arg(info, i, args, mem, Phase::Exit(ret));
            if let Some(text) = text {
                filled.push(format!("{}={}", arg.display_name(), text));
            }
        }
    }
    if !filled.is_empty() {
        let _ = write!(out, " ({})", filled.join(", "));
    }
    out
}

/// Renders the whole call after it returned, the way strace prints it:
/// `read(3, "\177ELF\2\1\1"..., 832) = 832` (out-buffers filled on success).
pub fn format_complete(nr: u64, args: &[u64; 6], ret: u64, mem: &dyn GuestMemory) -> String {
    let phase = if Errno::from_return(ret).is_some() {
        Phase::Entry
    } else {
        Phase::Exit(ret)
    };
    let mut out = format_with(nr, args, mem, phase);
    out.push_str(&format_return(nr, ret));
    out
}

/// Syscalls whose successful return is an address, printed in hex.
fn returns_address(nr: u64) -> bool {
    matches!(
        table::name(nr),
        "mmap" | "brk" | "mremap" | "shmat" | "map_shadow_stack"
    )
}

/// ` = VALUE` for a raw return register.
fn format_return(nr: u64, ret: u64) -> String {
    if matches!(table::name(nr), "exit" | "exit_group") {
        return " = ?".to_string();
    }
    if let Some(e) = Errno::from_return(ret) {
        let name = e.name();
        let restart = e.0 >= 512 && e.0 <= 516;
        let shown = if restart { "?" } else { "-1" };
        if name == "E?" {
            return format!(" = {shown} E{} (Unknown error {})", e.0, e.0);
        }
        return format!(" = {shown} {name} ({})", e.description());
    }
    if returns_address(nr) {
        format!(" = {ret:#x}")
    } else {
        format!(" = {}", ret as i64)
    }
}

fn format_with(nr: u64, args: &[u64; 6], mem: &dyn GuestMemory, phase: Phase) -> String {
    let Some(info) = table::info(nr) else {
        let shown: Vec<String> = args.iter().map(|&v| hex(v)).collect();
        return format!("syscall_{nr}({})", shown.join(", "));
    };
    let mut parts = Vec::with_capacity(info.args.len());
    for i in 0..info.args.len() {
        match format_arg(info, i, args, mem, phase) {
            Some(s) => parts.push(s),
            // An omitted argument (open's mode without O_CREAT) ends the list.
            None => break,
        }
    }
    format!("{}({})", info.name, parts.join(", "))
}

/// The value of argument `i`, or 0 if out of range (a malformed table).
fn arg_val(args: &[u64; 6], i: usize) -> u64 {
    args.get(i).copied().unwrap_or(0)
}

fn hex(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".to_string()
    } else {
        format!("{v:#x}")
    }
}

fn name_or<T: std::fmt::Display>(name: Option<&str>, fallback: T) -> String {
    name.map_or_else(|| fallback.to_string(), str::to_string)
}

/// Renders argument `i` of `info`; `None` when it must be omitted.
fn format_arg(info: &SyscallInfo, i: usize, args: &[u64; 6], mem: &dyn GuestMemory, phase: Phase) -> Option<String> {
    let arg = info.args.get(i)?;
    let v = arg_val(args, i);
    let s = match arg.kind {
        ArgKind::Int => (v as i64).to_string(),
        ArgKind::Uint => {
            let u = v as u32;
            if u == u32::MAX {
                "-1".to_string()
            } else {
                u.to_string()
            }
        }
        ArgKind::Size => v.to_string(),
        ArgKind::Hex => hex(v),
        ArgKind::Ptr => ptr(v),
        ArgKind::Fd => {
            let fd = v as i32;
            if fd == AtFlags::FDCWD {
                "AT_FDCWD".to_string()
            } else {
                fd.to_string()
            }
        }
        ArgKind::Path | ArgKind::CStr => cstring(v, mem),
        ArgKind::InBuf { len_arg } => buffer(v, arg_val(args, len_arg), mem),
        ArgKind::OutBuf { len_arg } => match phase {
            Phase::Exit(ret) => buffer(v, ret.min(arg_val(args, len_arg)), mem),
            Phase::Entry => ptr(v),
        },
        ArgKind::Iovec { count_arg } => iovecs(v, arg_val(args, count_arg), None, mem),
        ArgKind::OutIovec { count_arg } => match phase {
            Phase::Exit(ret) => iovecs(v, arg_val(args, count_arg), Some(ret), mem),
            Phase::Entry => ptr(v),
        },
        ArgKind::StrArray => {
            if arg.name == "envp" {
                env_summary(v, mem)
            } else {
                str_array(v, mem)
            }
        }
        ArgKind::OpenFlags => OpenFlags::from_bits_retain(v as u32).render(),
        ArgKind::Mode => {
            let prev = i.checked_sub(1).and_then(|p| info.args.get(p));
            if let Some(p) = prev {
                if p.kind == ArgKind::OpenFlags {
                    let flags = OpenFlags::from_bits_retain(arg_val(args, i - 1) as u32);
                    if !flags.needs_mode() {
                        return None;
                    }
                }
            }
            let m = v as u32;
            if m == 0 {
                "000".to_string()
            } else {
                format!("0{m:o}")
            }
        }
        ArgKind::AtFlags => AtFlags::from_bits_retain(v as u32).render(),
        ArgKind::MmapProt => MmapProt::from_bits_retain(v as u32).render(),
        ArgKind::MmapFlags => MmapFlags::from_bits_retain(v as u32).render(),
        ArgKind::CloneFlags => CloneFlags::from_bits_retain(v).render_clone(),
        ArgKind::NsFlags => CloneFlags::from_bits_retain(v).render(),
        ArgKind::AccessMode => AccessMode::from_bits_retain(v as u32).render(),
        ArgKind::Signal => names::signal_name((v as i32) as i64 as u64),
        ArgKind::SigHow => name_or(names::sighow_name(v), v as i64),
        ArgKind::ClockId => name_or(flags::clock::name(v as i32), v as i32),
        ArgKind::Whence => name_or(flags::whence::name(v), v as i64),
        ArgKind::IoctlCmd => name_or(names::ioctl_name(u64::from(v as u32)), hex(v)),
        ArgKind::FcntlCmd => name_or(names::fcntl_name(u64::from(v as u32)), v as i32),
        ArgKind::ArchPrctlCode => name_or(names::arch_prctl_name(v), hex(v)),
        ArgKind::PrctlOption => name_or(names::prctl_name(v), v as i64),
        ArgKind::FutexOp => names::futex_op_name(u64::from(v as u32)),
        ArgKind::SockDomain => name_or(names::sock_domain_name(v), v as i32),
        ArgKind::SockType => names::sock_type_name(u64::from(v as u32)),
        ArgKind::Timespec => timespec(v, mem),
    };
    Some(s)
}

/// Quotes bytes like strace: C escapes, octal for other non-printables.
pub fn quote(bytes: &[u8], truncated: bool) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                // Short octal unless the next char is a digit, which would
                // otherwise be read as part of the escape.
                let next_is_digit = bytes.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                if next_is_digit {
                    let _ = write!(out, "\\{b:03o}");
                } else {
                    let _ = write!(out, "\\{b:o}");
                }
            }
        }
    }
    out.push('"');
    if truncated {
        out.push_str("...");
    }
    out
}

fn cstring(addr: u64, mem: &dyn GuestMemory) -> String {
    if addr == 0 {
        return "NULL".to_string();
    }
    // Some memories refuse strings longer than `max` instead of returning
    // the prefix; a plain read of the first bytes still shows the start.
    let read = mem.read_cstring(addr, MAX_STR + 1).or_else(|| {
        let mut b = mem.read_bytes(addr, MAX_STR + 1)?;
        if let Some(nul) = b.iter().position(|&c| c == 0) {
            b.truncate(nul);
        }
        Some(b)
    });
    match read {
        Some(mut s) => {
            let truncated = s.len() > MAX_STR;
            s.truncate(MAX_STR);
            quote(&s, truncated)
        }
        None => ptr(addr),
    }
}

fn buffer(addr: u64, len: u64, mem: &dyn GuestMemory) -> String {
    if addr == 0 {
        return "NULL".to_string();
    }
    let shown = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_STR);
    match mem.read_bytes(addr, shown) {
        Some(b) if b.len() == shown => quote(&b, len > shown as u64),
        _ => ptr(addr),
    }
}

fn read_u64(addr: u64, mem: &dyn GuestMemory) -> Option<u64> {
    let b = mem.read_bytes(addr, 8)?;
    let arr: [u8; 8] = b.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(arr))
}

fn timespec(addr: u64, mem: &dyn GuestMemory) -> String {
    if addr == 0 {
        return "NULL".to_string();
    }
    let sec = read_u64(addr, mem);
    let nsec = addr.checked_add(8).and_then(|a| read_u64(a, mem));
    match (sec, nsec) {
        (Some(s), Some(n)) => format!("{{tv_sec={}, tv_nsec={}}}", s as i64, n as i64),
        _ => ptr(addr),
    }
}

/// Renders an iovec array; `filled` is the byte count for an out-array
/// (readv after success), `None` for an in-array (writev).
fn iovecs(addr: u64, count: u64, filled: Option<u64>, mem: &dyn GuestMemory) -> String {
    if addr == 0 {
        return "NULL".to_string();
    }
    if count > UIO_MAXIOV {
        return ptr(addr);
    }
    let mut remaining = filled;
    let mut items = Vec::new();
    // `count` <= 1024, so it fits in usize and the sums below cannot overflow u64
    // except through `addr`, which uses checked arithmetic.
    for idx in 0..count {
        if items.len() >= MAX_IOV {
            items.push("...".to_string());
            break;
        }
        let Some(entry) = idx.checked_mul(16).and_then(|off| addr.checked_add(off)) else {
            break;
        };
        let base = read_u64(entry, mem);
        let len = entry.checked_add(8).and_then(|a| read_u64(a, mem));
        let (Some(base), Some(len)) = (base, len) else {
            if idx == 0 {
                return ptr(addr);
            }
            items.push("...".to_string());
            break;
        };
        let data_len = match remaining {
            Some(r) => {
                let used = r.min(len);
                remaining = Some(r - used);
                used
            }
            None => len,
        };
        let data = buffer(base, data_len, mem);
        items.push(format!("{{iov_base={data}, iov_len={len}}}"));
    }
    format!("[{}]", items.join(", "))
}

fn str_array(addr: u64, mem: &dyn GuestMemory) -> String {
    if addr == 0 {
        return "NULL".to_string();
    }
    let mut items = Vec::new();
    let mut idx: u64 = 0;
    loop {
        if items.len() >= MAX_ARGV {
            items.push("...".to_string());
            break;
        }
        let Some(slot) = idx.checked_mul(8).and_then(|off| addr.checked_add(off)) else {
            break;
        };
        match read_u64(slot, mem) {
            Some(0) => break,
            Some(p) => items.push(cstring(p, mem)),
            None => {
                if idx == 0 {
                    return ptr(addr);
                }
                items.push("...".to_string());
                break;
            }
        }
        idx += 1;
    }
    format!("[{}]", items.join(", "))
}

/// `0x7ffd... /* 23 vars */`, as strace abbreviates execve's environment.
fn env_summary(addr: u64, mem: &dyn GuestMemory) -> String {
    if addr == 0 {
        return "NULL".to_string();
    }
    let mut n = 0usize;
    while n < MAX_ENV_COUNT {
        let Some(slot) = (n as u64).checked_mul(8).and_then(|off| addr.checked_add(off)) else {
            break;
        };
        match read_u64(slot, mem) {
            Some(0) => break,
            Some(_) => n += 1,
            None => {
                if n == 0 {
                    return ptr(addr);
                }
                break;
            }
        }
    }
    let more = if n >= MAX_ENV_COUNT { "+" } else { "" };
    format!("{addr:#x} /* {n}{more} vars */")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::BTreeMap;

    /// A sparse guest memory made of byte regions.
    #[derive(Default)]
    struct FakeMem {
        regions: BTreeMap<u64, Vec<u8>>,
    }

    impl FakeMem {
        fn put(&mut self, addr: u64, bytes: &[u8]) {
            self.regions.insert(addr, bytes.to_vec());
        }
        fn byte(&self, addr: u64) -> Option<u8> {
            let (start, data) = self.regions.range(..=addr).next_back()?;
            data.get(usize::try_from(addr - start).ok()?).copied()
        }
    }

    impl GuestMemory for FakeMem {
        fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
            (0..len as u64).map(|i| self.byte(addr.checked_add(i)?)).collect()
        }
        fn read_cstring(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
            let mut out = Vec::new();
            for i in 0..max as u64 {
                match self.byte(addr.checked_add(i)?) {
                    Some(0) => return Some(out),
                    Some(b) => out.push(b),
                    None if i == 0 => return None,
                    None => return Some(out),
                }
            }
            Some(out)
        }
    }

    fn nr(name: &str) -> u64 {
        table::by_name(name).unwrap().nr
    }

    #[test]
    fn openat_like_strace() {
        let mut mem = FakeMem::default();
        mem.put(0x1000, b"/etc/ld.so.cache\0");
        let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        let args = [(-100i64) as u64, 0x1000, flags, 0, 0, 0];
        assert_eq!(
            format_call(nr("openat"), &args, &mem),
            r#"openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC)"#
        );
        assert_eq!(format_result(nr("openat"), &args, 3, &mem), " = 3");
        let enoent = Errno::ENOENT.as_return();
        assert_eq!(
            format_result(nr("openat"), &args, enoent, &mem),
            " = -1 ENOENT (No such file or directory)"
        );
        let creat = [3, 0x1000, (libc::O_WRONLY | libc::O_CREAT) as u64, 0o644, 0, 0];
        assert_eq!(
            format_call(nr("openat"), &creat, &mem),
            r#"openat(3, "/etc/ld.so.cache", O_WRONLY|O_CREAT, 0644)"#
        );
    }

    #[test]
    fn read_shows_buffer_after_return() {
        let mut mem = FakeMem::default();
        mem.put(
            0x2000,
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0 more than thirty-two bytes",
        );
        let args = [3, 0x2000, 832, 0, 0, 0];
        assert_eq!(format_call(0, &args, &mem), "read(3, 0x2000, 832)");
        assert_eq!(
            format_complete(0, &args, 832, &mem),
            r#"read(3, "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0 more th"..., 832) = 832"#
        );
        mem.put(0x3000, b"hello");
        let args = [0, 0x3000, 100, 0, 0, 0];
        assert_eq!(format_result(0, &args, 5, &mem), r#" = 5 (buf="hello")"#);
        assert_eq!(format_complete(0, &args, 5, &mem), r#"read(0, "hello", 100) = 5"#);
        let eagain = Errno::EAGAIN.as_return();
        assert_eq!(
            format_complete(0, &args, eagain, &mem),
            "read(0, 0x3000, 100) = -1 EAGAIN (Resource temporarily unavailable)"
        );
    }

    #[test]
    fn write_and_escapes() {
        let mut mem = FakeMem::default();
        mem.put(0x10, b"a\"b\\c\n\t\x01\x012");
        let args = [1, 0x10, 10, 0, 0, 0];
        assert_eq!(format_call(1, &args, &mem), r#"write(1, "a\"b\\c\n\t\1\0012", 10)"#);
        // A length the guest lies about: only what is mapped matters, never a panic.
        let args = [1, 0x10, u64::MAX, 0, 0, 0];
        assert_eq!(format_call(1, &args, &mem), "write(1, 0x10, 18446744073709551615)");
    }

    #[test]
    fn mmap_and_brk_return_hex() {
        let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let args = [0, 8192, prot, flags, u64::MAX, 0];
        assert_eq!(
            format_call(9, &args, &NoMemory),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
        );
        assert_eq!(
            format_result(9, &args, 0x7f00_1234_5000, &NoMemory),
            " = 0x7f0012345000"
        );
        assert_eq!(format_result(12, &[0; 6], 0x55_0000, &NoMemory), " = 0x550000");
        assert_eq!(format_call(12, &[0; 6], &NoMemory), "brk(NULL)");
    }

    #[test]
    fn unknown_syscall_and_misc_kinds() {
        let args = [1, 2, 0, 0, 0, 0xff];
        assert_eq!(
            format_call(999, &args, &NoMemory),
            "syscall_999(0x1, 0x2, 0, 0, 0, 0xff)"
        );
        assert_eq!(
            format_result(999, &args, Errno::ENOSYS.as_return(), &NoMemory),
            " = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            format_call(nr("arch_prctl"), &[0x1002, 0x7f00, 0, 0, 0, 0], &NoMemory),
            "arch_prctl(ARCH_SET_FS, 0x7f00)"
        );
        assert_eq!(
            format_call(nr("rt_sigprocmask"), &[2, 0, 0x10, 8, 0, 0], &NoMemory),
            "rt_sigprocmask(SIG_SETMASK, NULL, 0x10, 8)"
        );
        assert_eq!(
            format_call(nr("ioctl"), &[1, libc::TIOCGWINSZ, 0x7ff0, 0, 0, 0], &NoMemory),
            "ioctl(1, TIOCGWINSZ, 0x7ff0)"
        );
        assert_eq!(
            format_call(nr("lseek"), &[3, 0, 2, 0, 0, 0], &NoMemory),
            "lseek(3, 0, SEEK_END)"
        );
        assert_eq!(
            format_call(nr("kill"), &[42, 9, 0, 0, 0, 0], &NoMemory),
            "kill(42, SIGKILL)"
        );
        assert_eq!(
            format_call(nr("clock_gettime"), &[1, 0x50, 0, 0, 0, 0], &NoMemory),
            "clock_gettime(CLOCK_MONOTONIC, 0x50)"
        );
        assert_eq!(
            format_call(nr("fcntl"), &[3, 1030, 0, 0, 0, 0], &NoMemory),
            "fcntl(3, F_DUPFD_CLOEXEC, 0)"
        );
        assert_eq!(
            format_call(nr("prctl"), &[15, 0x10, 0, 0, 0, 0], &NoMemory),
            "prctl(PR_SET_NAME, 0x10, 0, 0, 0)"
        );
        assert_eq!(
            format_call(nr("mkdir"), &[0, 0o755, 0, 0, 0, 0], &NoMemory),
            "mkdir(NULL, 0755)"
        );
        assert_eq!(format_result(nr("exit_group"), &[0; 6], 0, &NoMemory), " = ?");
        let clone_flags = (libc::CLONE_CHILD_CLEARTID | libc::CLONE_CHILD_SETTID | libc::SIGCHLD) as u64;
        assert_eq!(
            format_call(nr("clone"), &[clone_flags, 0, 0, 0x77, 0, 0], &NoMemory),
            "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, 0x77, 0)"
        );
    }

    #[test]
    fn long_paths_truncate_and_bad_pointers_print_hex() {
        let mut mem = FakeMem::default();
        let long = [b'x'; 40];
        let mut s = long.to_vec();
        s.push(0);
        mem.put(0x100, &s);
        let out = format_call(nr("chdir"), &[0x100, 0, 0, 0, 0, 0], &mem);
        assert_eq!(out, format!("chdir(\"{}\"...)", "x".repeat(32)));
        let out = format_call(nr("chdir"), &[0xdead, 0, 0, 0, 0, 0], &mem);
        assert_eq!(out, "chdir(0xdead)");

        // A memory whose read_cstring rejects over-long strings (ENAMETOOLONG
        // style) still gets the truncated prefix via read_bytes.
        struct Strict(FakeMem);
        impl GuestMemory for Strict {
            fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
                self.0.read_bytes(addr, len)
            }
            fn read_cstring(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
                let s = self.0.read_cstring(addr, max + 1)?;
                (s.len() <= max).then_some(s)
            }
        }
        let strict = Strict(mem);
        let out = format_call(nr("chdir"), &[0x100, 0, 0, 0, 0, 0], &strict);
        assert_eq!(out, format!("chdir(\"{}\"...)", "x".repeat(32)));
    }

    #[test]
    fn execve_and_writev() {
        let mut mem = FakeMem::default();
        mem.put(0x100, b"/bin/ls\0");
        mem.put(0x200, b"ls\0");
        mem.put(0x300, b"-l\0");
        let mut argv = Vec::new();
        for p in [0x200u64, 0x300, 0] {
            argv.extend_from_slice(&p.to_le_bytes());
        }
        mem.put(0x400, &argv);
        let mut envp = Vec::new();
        for p in [0x200u64, 0x300, 0x200, 0] {
            envp.extend_from_slice(&p.to_le_bytes());
        }
        mem.put(0x500, &envp);
        assert_eq!(
            format_call(59, &[0x100, 0x400, 0x500, 0, 0, 0], &mem),
            r#"execve("/bin/ls", ["ls", "-l"], 0x500 /* 3 vars */)"#
        );

        let mut iov = Vec::new();
        for v in [0x200u64, 2, 0x300, 2] {
            iov.extend_from_slice(&v.to_le_bytes());
        }
        mem.put(0x600, &iov);
        assert_eq!(
            format_call(20, &[1, 0x600, 2, 0, 0, 0], &mem),
            r#"writev(1, [{iov_base="ls", iov_len=2}, {iov_base="-l", iov_len=2}], 2)"#
        );
        // readv after a short read: only `ret` bytes are data.
        assert_eq!(
            format_complete(19, &[0, 0x600, 2, 0, 0, 0], 3, &mem),
            r#"readv(0, [{iov_base="ls", iov_len=2}, {iov_base="-", iov_len=2}], 2) = 3"#
        );
        assert_eq!(format_call(19, &[0, 0x600, 2, 0, 0, 0], &mem), "readv(0, 0x600, 2)");
    }

    #[test]
    fn nanosleep_timespec() {
        let mut mem = FakeMem::default();
        let mut ts = 1i64.to_le_bytes().to_vec();
        ts.extend_from_slice(&500i64.to_le_bytes());
        mem.put(0x80, &ts);
        assert_eq!(
            format_call(35, &[0x80, 0, 0, 0, 0, 0], &mem),
            "nanosleep({tv_sec=1, tv_nsec=500}, NULL)"
        );
    }

    /// A tiny xorshift generator so the fuzz test needs no extra crates.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn never_panics_on_random_input() {
        // Memory where every read fails, and memory returning garbage of the
        // wrong length, for every known syscall plus unknown numbers.
        struct Garbage;
        impl GuestMemory for Garbage {
            fn read_bytes(&self, addr: u64, _len: usize) -> Option<Vec<u8>> {
                Some(vec![0xff; (addr % 11) as usize])
            }
            fn read_cstring(&self, addr: u64, _max: usize) -> Option<Vec<u8>> {
                Some(vec![0x80; (addr % 100) as usize])
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let nrs: Vec<u64> = table::SYSCALLS
            .iter()
            .map(|s| s.nr)
            .chain([336, 500, u64::MAX])
            .collect();
        for &n in &nrs {
            for _ in 0..20 {
                let mut args = [0u64; 6];
                for a in &mut args {
                    *a = match next(&mut state) % 4 {
                        0 => 0,
                        1 => next(&mut state) % 64,
                        2 => u64::MAX - next(&mut state) % 4096,
                        _ => next(&mut state),
                    };
                }
                let ret = next(&mut state);
                for mem in [&NoMemory as &dyn GuestMemory, &Garbage] {
                    let call = format_call(n, &args, mem);
                    assert!(call.ends_with(')'), "{call}");
                    let _ = format_result(n, &args, ret, mem);
                    let _ = format_complete(n, &args, ret, mem);
                }
            }
        }
    }
}
