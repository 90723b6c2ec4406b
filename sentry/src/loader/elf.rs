//! ELF64 x86-64 parsing and load planning (as Linux's fs/binfmt_elf.c).
//!
//! The file is guest-controlled: every malformed header yields `ENOEXEC`,
//! never a panic. [`load_plan`] turns the `PT_LOAD` segments into the list of
//! mmap/zeroing steps the exec path performs in the stub.

use syscalls::Errno;

/// Guest page size.
pub const PAGE_SIZE: u64 = 4096;
/// Highest user address + 1 on x86-64 with 4-level paging (Linux TASK_SIZE).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Longest path Linux accepts for `PT_INTERP` (including the NUL).
pub const PATH_MAX: u64 = 4096;
/// Size of one ELF64 program header.
pub const PHDR_SIZE: usize = 56;
/// Size of the ELF64 file header.
pub const EHDR_SIZE: usize = 64;
/// Linux refuses program header tables larger than this.
const MAX_PHDRS_BYTES: usize = 65536;

/// `p_type` of a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_type` of the interpreter path segment.
pub const PT_INTERP: u32 = 3;
/// `p_type` of the segment describing the program header table itself.
pub const PT_PHDR: u32 = 6;
/// `p_type` carrying the stack executability in its flags.
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// Segment flag: executable.
pub const PF_X: u32 = 1;
/// Segment flag: writable.
pub const PF_W: u32 = 2;
/// Segment flag: readable.
pub const PF_R: u32 = 4;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;

/// Positional reads of a file, so the loader works on VFS files and on
/// in-memory images alike.
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; returns 0 at end of file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno>;
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let Ok(off) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(src) = self.get(off..) else {
            return Ok(0);
        };
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.as_slice().read_at(offset, buf)
    }
}

/// Reads exactly `buf.len()` bytes at `offset`; a short file is `ENOEXEC`.
fn read_exact_at(file: &dyn ReadAt, mut offset: u64, mut buf: &mut [u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        let n = file.read_at(offset, buf)?;
        if n == 0 || n > buf.len() {
            return Err(Errno::ENOEXEC);
        }
        offset = offset.checked_add(n as u64).ok_or(Errno::ENOEXEC)?;
        buf = &mut buf[n..];
    }
    Ok(())
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Whether the file is a fixed-address executable or position independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: loaded at its link addresses (bias 0).
    Exec,
    /// `ET_DYN`: PIE or shared object (the interpreter); needs a bias.
    Dyn,
}

/// One program header (ELF64 `Elf64_Phdr` without `p_paddr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    /// Segment type (`PT_*`).
    pub p_type: u32,
    /// Segment flags (`PF_*`).
    pub flags: u32,
    /// File offset of the segment contents.
    pub offset: u64,
    /// Virtual address (before bias).
    pub vaddr: u64,
    /// Bytes present in the file.
    pub filesz: u64,
    /// Bytes in memory (the excess is zero-filled bss).
    pub memsz: u64,
    /// Alignment.
    pub align: u64,
}

impl ProgramHeader {
    fn decode(b: &[u8]) -> Self {
        ProgramHeader {
            p_type: u32_at(b, 0),
            flags: u32_at(b, 4),
            offset: u64_at(b, 8),
            vaddr: u64_at(b, 16),
            filesz: u64_at(b, 32),
            memsz: u64_at(b, 40),
            align: u64_at(b, 48),
        }
    }

    /// The `PROT_*` bits matching this segment's `PF_*` flags.
    pub fn prot(&self) -> u32 {
        let mut prot = 0;
        if self.flags & PF_R != 0 {
            prot |= libc::PROT_READ as u32;
        }
        if self.flags & PF_W != 0 {
            prot |= libc::PROT_WRITE as u32;
        }
        if self.flags & PF_X != 0 {
            prot |= libc::PROT_EXEC as u32;
        }
        prot
    }
}

/// A validated ELF executable or shared object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFile {
    /// `ET_EXEC` or `ET_DYN`.
    pub kind: ElfKind,
    /// Entry point (before bias).
    pub entry: u64,
    /// All program headers, in file order.
    pub phdrs: Vec<ProgramHeader>,
    /// File offset of the program header table (`e_phoff`).
    pub phdr_offset: u64,
    /// Number of program headers (for `AT_PHNUM`).
    pub phnum: u16,
    /// `PT_INTERP` path without its NUL, if any.
    pub interp: Option<Vec<u8>>,
    /// `PT_GNU_STACK` asks for an executable stack (absent: not executable,
    /// as x86-64 Linux).
    pub stack_executable: bool,
}

fn page_down(x: u64) -> u64 {
    x & !(PAGE_SIZE - 1)
}

fn page_up(x: u64) -> Option<u64> {
    Some(x.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

/// Parses and validates the headers of an ELF64 x86-64 file.
pub fn parse(file: &dyn ReadAt) -> Result<ElfFile, Errno> {
    let mut eh = [0u8; EHDR_SIZE];
    read_exact_at(file, 0, &mut eh)?;
    if eh[..4] != *b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return Err(Errno::ENOEXEC);
    }
    let kind = match u16_at(&eh, 16) {
        ET_EXEC => ElfKind::Exec,
        ET_DYN => ElfKind::Dyn,
        _ => return Err(Errno::ENOEXEC),
    };
    if u16_at(&eh, 18) != EM_X86_64 || usize::from(u16_at(&eh, 54)) != PHDR_SIZE {
        return Err(Errno::ENOEXEC);
    }
    let entry = u64_at(&eh, 24);
    let phoff = u64_at(&eh, 32);
    let phnum = u16_at(&eh, 56);
    let table_len = usize::from(phnum) * PHDR_SIZE;
    if phnum == 0 || table_len > MAX_PHDRS_BYTES {
        return Err(Errno::ENOEXEC);
    }
    phoff.checked_add(table_len as u64).ok_or(Errno::ENOEXEC)?;
    let mut table = vec![0u8; table_len];
    read_exact_at(file, phoff, &mut table)?;
    let phdrs: Vec<ProgramHeader> = table.chunks_exact(PHDR_SIZE).map(ProgramHeader::decode).collect();

    let mut interp = None;
    let mut stack_executable = false;
    let mut loads = 0usize;
    for ph in &phdrs {
        match ph.p_type {
            PT_LOAD => {
                validate_load(ph)?;
                loads += 1;
            }
            PT_INTERP if interp.is_none() => interp = Some(read_interp(file, ph)?),
            PT_GNU_STACK => stack_executable = ph.flags & PF_X != 0,
            _ => {}
        }
    }
    if loads == 0 {
        return Err(Errno::ENOEXEC);
    }
    Ok(ElfFile {
        kind,
        entry,
        phdrs,
        phdr_offset: phoff,
        phnum,
        interp,
        stack_executable,
    })
}

fn validate_load(ph: &ProgramHeader) -> Result<(), Errno> {
    let ok = ph.filesz <= ph.memsz
        && ph.offset.checked_add(ph.filesz).is_some()
        && ph
            .vaddr
            .checked_add(ph.memsz)
            .and_then(page_up)
            .is_some_and(|end| end <= TASK_SIZE)
        && ph.vaddr % PAGE_SIZE == ph.offset % PAGE_SIZE;
    if ok {
        Ok(())
    } else {
        Err(Errno::ENOEXEC)
    }
}

fn read_interp(file: &dyn ReadAt, ph: &ProgramHeader) -> Result<Vec<u8>, Errno> {
    if ph.filesz < 2 || ph.filesz > PATH_MAX {
        return Err(Errno::ENOEXEC);
    }
    // Bounded by PATH_MAX above.
    let mut buf = vec![0u8; ph.filesz as usize];
    read_exact_at(file, ph.offset, &mut buf)?;
    if buf.last() != Some(&0) {
        return Err(Errno::ENOEXEC);
    }
    // Linux uses it as a C string: an interior NUL ends it.
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    if buf.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    Ok(buf)
}

/// One step of loading a segment, executed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapStep {
    /// `mmap(addr, len, prot, MAP_PRIVATE|MAP_FIXED, fd, file_offset)`.
    File {
        /// Page-aligned address.
        addr: u64,
        /// Page-rounded length.
        len: u64,
        /// `PROT_*` bits.
        prot: u32,
        /// Page-aligned file offset.
        file_offset: u64,
    },
    /// Zero `len` bytes at `addr` (the file bytes past `p_filesz` on the
    /// last file page of a writable segment with bss).
    ZeroTail {
        /// First byte past the file contents.
        addr: u64,
        /// Bytes up to the end of that page.
        len: u64,
    },
    /// `mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)`.
    Anon {
        /// Page-aligned address.
        addr: u64,
        /// Page-rounded length.
        len: u64,
        /// `PROT_*` bits.
        prot: u32,
    },
}

/// Everything the exec path needs to map one ELF file at a given bias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadPlan {
    /// Mapping steps, in order.
    pub maps: Vec<MapStep>,
    /// Entry point + bias (`AT_ENTRY`, or the start pc for an interpreter).
    pub entry: u64,
    /// Address of the program headers in memory (`AT_PHDR`), 0 if unmapped.
    pub phdr_addr: u64,
    /// Page-aligned end of the highest segment + bias: the brk start.
    pub brk_start: u64,
    /// Page-aligned range covered by the segments, biased.
    pub span: (u64, u64),
}

/// Page-aligned `[lo, hi)` of the `PT_LOAD` segments, unbiased, so the
/// caller can reserve room for an `ET_DYN` file and choose its bias.
pub fn span(elf: &ElfFile) -> (u64, u64) {
    let mut lo = u64::MAX;
    let mut hi = 0;
    for ph in elf.phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        lo = lo.min(page_down(ph.vaddr));
        let end = ph.vaddr.saturating_add(ph.memsz);
        hi = hi.max(page_up(end).unwrap_or(!(PAGE_SIZE - 1)));
    }
    if lo > hi {
        (0, 0)
    } else {
        (lo, hi)
    }
}

/// Computes the mappings for `elf` loaded with `bias` (0 for `ET_EXEC`).
///
/// `EINVAL` if the bias is not page aligned or puts a segment outside the
/// user address space (as Linux's `elf_map` failing).
pub fn load_plan(elf: &ElfFile, bias: u64) -> Result<LoadPlan, Errno> {
    if !bias.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let mut maps = Vec::new();
    let mut phdr_addr = None;
    for ph in elf.phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        validate_load(ph)?;
        let start = ph.vaddr.checked_add(bias).ok_or(Errno::EINVAL)?;
        let mem_end = start.checked_add(ph.memsz).ok_or(Errno::EINVAL)?;
        if page_up(mem_end).is_none_or(|e| e > TASK_SIZE) {
            return Err(Errno::EINVAL);
        }
        let page_off = start % PAGE_SIZE;
        let map_addr = start - page_off;
        let prot = ph.prot();
        let file_end = start + ph.filesz;
        if ph.filesz > 0 {
            maps.push(MapStep::File {
                addr: map_addr,
                // Cannot overflow: file_end <= mem_end < TASK_SIZE.
                len: page_up(file_end).ok_or(Errno::EINVAL)? - map_addr,
                prot,
                file_offset: ph.offset - page_off,
            });
        }
        if ph.memsz > ph.filesz {
            let zero_page = page_up(file_end).ok_or(Errno::EINVAL)?;
            if ph.filesz > 0 && ph.flags & PF_W != 0 && zero_page > file_end {
                maps.push(MapStep::ZeroTail {
                    addr: file_end,
                    len: zero_page - file_end,
                });
            }
            // With no file bytes, the whole (page-rounded) segment is anonymous.
            let anon_start = if ph.filesz > 0 { zero_page } else { map_addr };
            let anon_end = page_up(mem_end).ok_or(Errno::EINVAL)?;
            if anon_end > anon_start {
                maps.push(MapStep::Anon {
                    addr: anon_start,
                    len: anon_end - anon_start,
                    prot,
                });
            }
        }
        if phdr_addr.is_none() && ph.offset <= elf.phdr_offset && elf.phdr_offset - ph.offset < ph.filesz {
            phdr_addr = Some(start + (elf.phdr_offset - ph.offset));
        }
    }
    if let Some(ph) = elf.phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        phdr_addr = Some(ph.vaddr.wrapping_add(bias));
    }
    let (lo, hi) = span(elf);
    let span = (
        lo.checked_add(bias).ok_or(Errno::EINVAL)?,
        hi.checked_add(bias).ok_or(Errno::EINVAL)?,
    );
    // As Linux's BAD_ADDR(e_entry) check.
    let entry = elf
        .entry
        .checked_add(bias)
        .filter(|&e| e < TASK_SIZE)
        .ok_or(Errno::EINVAL)?;
    Ok(LoadPlan {
        maps,
        entry,
        phdr_addr: phdr_addr.unwrap_or(0),
        brk_start: span.1,
        span,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A tiny deterministic PRNG (xorshift64*), so the fuzz test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    fn ehdr(e_type: u16, entry: u64, phnum: u16) -> Vec<u8> {
        let mut b = vec![0u8; EHDR_SIZE];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&e_type.to_le_bytes());
        b[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
        b[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        b[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        b
    }

    fn phdr(p_type: u32, flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Vec<u8> {
        let mut b = vec![0u8; PHDR_SIZE];
        b[0..4].copy_from_slice(&p_type.to_le_bytes());
        b[4..8].copy_from_slice(&flags.to_le_bytes());
        b[8..16].copy_from_slice(&offset.to_le_bytes());
        b[16..24].copy_from_slice(&vaddr.to_le_bytes());
        b[24..32].copy_from_slice(&vaddr.to_le_bytes());
        b[32..40].copy_from_slice(&filesz.to_le_bytes());
        b[40..48].copy_from_slice(&memsz.to_le_bytes());
        b[48..56].copy_from_slice(&PAGE_SIZE.to_le_bytes());
        b
    }

    /// A static-like ET_EXEC: text at 0x400000, data+bss at 0x601e10.
    fn sample() -> Vec<u8> {
        let mut f = ehdr(ET_EXEC, 0x401000, 3);
        f.extend(phdr(PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1234, 0x1234));
        f.extend(phdr(PT_LOAD, PF_R | PF_W, 0x1e10, 0x601e10, 0x300, 0x2500));
        f.extend(phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0));
        f.resize(0x3000, 0);
        f
    }

    #[test]
    fn parses_and_plans_synthetic_exec() {
        let f = sample();
        let elf = parse(&f).unwrap();
        assert_eq!(elf.kind, ElfKind::Exec);
        assert_eq!(elf.entry, 0x401000);
        assert_eq!(elf.phnum, 3);
        assert!(!elf.stack_executable);
        assert_eq!(elf.interp, None);
        assert_eq!(span(&elf), (0x400000, 0x605000));
        let plan = load_plan(&elf, 0).unwrap();
        let rx = (libc::PROT_READ | libc::PROT_EXEC) as u32;
        let rw = (libc::PROT_READ | libc::PROT_WRITE) as u32;
        assert_eq!(
            plan.maps,
            vec![
                MapStep::File {
                    addr: 0x400000,
                    len: 0x2000,
                    prot: rx,
                    file_offset: 0
                },
                MapStep::File {
                    addr: 0x601000,
                    len: 0x2000,
                    prot: rw,
                    file_offset: 0x1000
                },
                MapStep::ZeroTail {
                    addr: 0x602110,
                    len: 0x602000 + 0x1000 - 0x602110
                },
                MapStep::Anon {
                    addr: 0x603000,
                    len: 0x2000,
                    prot: rw
                },
            ]
        );
        assert_eq!(plan.entry, 0x401000);
        assert_eq!(plan.phdr_addr, 0x400040);
        assert_eq!(plan.brk_start, 0x605000);
        assert_eq!(plan.span, (0x400000, 0x605000));
    }

    #[test]
    fn bias_and_bss_only_segment() {
        let mut f = ehdr(ET_DYN, 0x100, 2);
        f.extend(phdr(PT_LOAD, PF_R | PF_X, 0, 0, 0x200, 0x200));
        f.extend(phdr(PT_LOAD, PF_R | PF_W, 0, 0x3000, 0, 0x1800));
        let elf = parse(&f).unwrap();
        let plan = load_plan(&elf, 0x5555_0000_0000).unwrap();
        assert_eq!(plan.entry, 0x5555_0000_0100);
        assert_eq!(
            plan.maps[1],
            MapStep::Anon {
                addr: 0x5555_0000_3000,
                len: 0x2000,
                prot: (libc::PROT_READ | libc::PROT_WRITE) as u32
            }
        );
        assert_eq!(plan.brk_start, 0x5555_0000_5000);
        assert_eq!(load_plan(&elf, 0x123), Err(Errno::EINVAL));
        assert_eq!(load_plan(&elf, TASK_SIZE - 0x1000), Err(Errno::EINVAL));
    }

    #[test]
    fn rejects_malformed() {
        let good = sample();
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = good.clone();
            f(&mut v);
            parse(&v)
        };
        assert_eq!(bad(&|v| v[0] = 0), Err(Errno::ENOEXEC));
        assert_eq!(bad(&|v| v[4] = 1), Err(Errno::ENOEXEC)); // ELFCLASS32
        assert_eq!(bad(&|v| v[5] = 2), Err(Errno::ENOEXEC)); // big endian
        assert_eq!(bad(&|v| v[16] = 1), Err(Errno::ENOEXEC)); // ET_REL
        assert_eq!(bad(&|v| v[18] = 3), Err(Errno::ENOEXEC)); // EM_386
        assert_eq!(bad(&|v| v[54] = 32), Err(Errno::ENOEXEC)); // phentsize
        assert_eq!(
            bad(&|v| v[56..58].copy_from_slice(&0u16.to_le_bytes())),
            Err(Errno::ENOEXEC)
        );
        assert_eq!(
            bad(&|v| v[56..58].copy_from_slice(&2000u16.to_le_bytes())),
            Err(Errno::ENOEXEC)
        );
        assert_eq!(bad(&|v| v.truncate(100)), Err(Errno::ENOEXEC));
        // filesz > memsz in the second PT_LOAD (phdr 1 starts at 64+56).
        assert_eq!(
            bad(&|v| v[120 + 32..120 + 40].copy_from_slice(&0x9000u64.to_le_bytes())),
            Err(Errno::ENOEXEC)
        );
        // vaddr not congruent with offset.
        assert_eq!(
            bad(&|v| v[120 + 16..120 + 24].copy_from_slice(&0x601e18u64.to_le_bytes())),
            Err(Errno::ENOEXEC)
        );
        // Segment ending past TASK_SIZE.
        assert_eq!(
            bad(&|v| v[120 + 16..120 + 24].copy_from_slice(&0xffff_ffff_ffff_fe10u64.to_le_bytes())),
            Err(Errno::ENOEXEC)
        );
        // No PT_LOAD at all.
        assert_eq!(
            bad(&|v| {
                v[64..68].copy_from_slice(&PT_GNU_STACK.to_le_bytes());
                v[120..124].copy_from_slice(&PT_GNU_STACK.to_le_bytes());
            }),
            Err(Errno::ENOEXEC)
        );
        assert!(parse(&Vec::new()).is_err());
    }

    #[test]
    fn interp_rules() {
        let with_interp = |path: &[u8], filesz: u64| {
            let mut f = ehdr(ET_DYN, 0, 2);
            f.extend(phdr(PT_INTERP, PF_R, 0x200, 0x200, filesz, filesz));
            f.extend(phdr(PT_LOAD, PF_R, 0, 0, 0x300, 0x300));
            f.resize(0x200, 0);
            f.extend_from_slice(path);
            f.resize(0x2000, 0);
            parse(&f)
        };
        assert_eq!(
            with_interp(b"/lib/ld.so\0", 11).unwrap().interp.as_deref(),
            Some(&b"/lib/ld.so"[..])
        );
        assert_eq!(with_interp(b"/lib/ld.so\0", 10), Err(Errno::ENOEXEC)); // no NUL
        assert_eq!(with_interp(b"\0", 1), Err(Errno::ENOEXEC));
        assert_eq!(with_interp(b"\0\0", 2), Err(Errno::ENOEXEC)); // empty
        assert_eq!(with_interp(b"", PATH_MAX + 1), Err(Errno::ENOEXEC));
        assert_eq!(with_interp(b"/a\0b\0", 5).unwrap().interp.as_deref(), Some(&b"/a"[..]));
        // Beyond end of file.
        let mut f = ehdr(ET_DYN, 0, 2);
        f.extend(phdr(PT_INTERP, PF_R, 0x10_0000, 0, 20, 20));
        f.extend(phdr(PT_LOAD, PF_R, 0, 0, 0x300, 0x300));
        assert_eq!(parse(&f), Err(Errno::ENOEXEC));
    }

    #[test]
    fn fuzz_never_panics() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let base = sample();
        let mut interp = ehdr(ET_DYN, 0, 2);
        interp.extend(phdr(PT_INTERP, PF_R, 0x200, 0x200, 8, 8));
        interp.extend(phdr(PT_LOAD, PF_R, 0, 0, 0x300, 0x300));
        interp.resize(0x200, 0);
        interp.extend_from_slice(b"/ld.so\0\0");
        let mut accepted = 0;
        for i in 0..20_000 {
            let mut v = if i % 2 == 0 { base.clone() } else { interp.clone() };
            let region = if i % 3 == 0 { v.len() } else { 64 + 3 * PHDR_SIZE };
            for _ in 0..(1 + rng.next() % 8) {
                let pos = (rng.next() as usize) % region.min(v.len());
                match rng.next() % 4 {
                    0 => v[pos] = rng.next() as u8,
                    1 => v[pos] ^= 1 << (rng.next() % 8),
                    2 => v[pos] = [0, 0xff, 0x7f, 0x80][(rng.next() % 4) as usize],
                    _ => {
                        let end = (pos + 8).min(v.len());
                        let r = rng.next().to_le_bytes();
                        v[pos..end].copy_from_slice(&r[..end - pos]);
                    }
                }
            }
            if rng.next().is_multiple_of(10) {
                let len = (rng.next() as usize) % v.len();
                v.truncate(len);
            }
            if let Ok(elf) = parse(&v) {
                accepted += 1;
                let (lo, hi) = span(&elf);
                assert!(lo <= hi);
                let _ = load_plan(&elf, 0);
                let _ = load_plan(&elf, rng.next() & !(PAGE_SIZE - 1));
            }
        }
        // Fully random headers.
        for _ in 0..5_000 {
            let mut v: Vec<u8> = (0..(rng.next() % 400)).map(|_| rng.next() as u8).collect();
            if v.len() > 8 && rng.next().is_multiple_of(2) {
                v[..8].copy_from_slice(&ehdr(ET_DYN, 0, 1)[..8]);
            }
            let _ = parse(&v);
        }
        assert!(accepted > 100, "mutations should sometimes keep the file valid");
    }

    fn read_host(path: &str) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }

    #[test]
    fn host_bin_true_is_pie_with_interp() {
        let Some(f) = read_host("/bin/true") else { return };
        let elf = parse(&f).unwrap();
        assert_eq!(elf.kind, ElfKind::Dyn);
        assert_eq!(elf.interp.as_deref(), Some(&b"/lib64/ld-linux-x86-64.so.2"[..]));
        assert!(!elf.stack_executable);
        let bias = 0x5555_5555_4000;
        let plan = load_plan(&elf, bias).unwrap();
        assert!(plan.maps.len() >= 2);
        // AT_PHDR must point at a copy of the program header table.
        let ph = elf.phdrs.iter().find(|p| p.p_type == PT_PHDR).unwrap();
        assert_eq!(plan.phdr_addr, ph.vaddr + bias);
        assert_eq!(plan.entry, elf.entry + bias);
        let (lo, hi) = span(&elf);
        assert_eq!(plan.span, (lo + bias, hi + bias));
        assert_eq!(plan.brk_start % PAGE_SIZE, 0);
        for m in &plan.maps {
            if let MapStep::File {
                addr, len, file_offset, ..
            } = m
            {
                assert_eq!(addr % PAGE_SIZE, 0);
                assert_eq!(len % PAGE_SIZE, 0);
                assert_eq!(file_offset % PAGE_SIZE, 0);
                assert!(*addr >= plan.span.0 && addr + len <= plan.span.1);
            }
        }
    }

    #[test]
    fn host_ld_so_has_no_interp() {
        let Some(f) = read_host("/lib64/ld-linux-x86-64.so.2") else {
            return;
        };
        let elf = parse(&f).unwrap();
        assert_eq!(elf.kind, ElfKind::Dyn);
        assert_eq!(elf.interp, None);
        let plan = load_plan(&elf, 0x7f00_0000_0000).unwrap();
        // ld.so has no PT_PHDR: AT_PHDR-style address from the first PT_LOAD.
        assert_eq!(plan.phdr_addr, 0x7f00_0000_0000 + elf.phdr_offset);
        assert!(plan.entry > plan.span.0 && plan.entry < plan.span.1);
    }

    #[test]
    fn host_static_binary() {
        let dir = std::env::temp_dir().join(format!("rvisor-elf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("s.c");
        let out = dir.join("s");
        std::fs::write(&src, "int main(void){return 0;}\n").unwrap();
        let built = std::process::Command::new("gcc")
            .args(["-static", "-o"])
            .arg(&out)
            .arg(&src)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        let bytes = if built { std::fs::read(&out).ok() } else { None };
        let _ = std::fs::remove_dir_all(&dir);
        let Some(f) = bytes else {
            eprintln!("no static toolchain; skipped");
            return;
        };
        let elf = parse(&f).unwrap();
        assert_eq!(elf.interp, None);
        // gcc may default to static-pie; either kind is fine, without interp.
        let bias = if elf.kind == ElfKind::Exec { 0 } else { 0x4000_0000 };
        let plan = load_plan(&elf, bias).unwrap();
        assert_ne!(plan.phdr_addr, 0);
        assert!(plan
            .maps
            .iter()
            .any(|m| matches!(m, MapStep::Anon { .. } | MapStep::ZeroTail { .. })));
    }
}
