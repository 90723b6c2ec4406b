//! The VMA mirror: the sentry's record of every mapping in a guest address
//! space.
//!
//! The host kernel holds the real mappings (in the stub); this mirror lets
//! the sentry validate mm syscalls (never touch rvisor's own trampoline),
//! answer `/proc/pid/maps`, and find file-backed mappings. Updates follow
//! Linux semantics: a fixed mapping replaces whatever it overlaps, partial
//! unmaps and mprotects split VMAs, and adjacent compatible VMAs are merged.
//! The set itself applies no policy: callers check [`VmaSet::overlaps_reserved`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use syscalls::Errno;

/// Guest page size.
pub const PAGE_SIZE: u64 = 4096;

/// `MAP_*` flags that only steer the mmap call (placement, prefaulting) and
/// are not remembered in the VMA.
pub const TRANSIENT_MAP_FLAGS: u32 =
    (libc::MAP_FIXED | libc::MAP_FIXED_NOREPLACE | libc::MAP_POPULATE | libc::MAP_NONBLOCK | MAP_UNINITIALIZED) as u32;

/// `MAP_UNINITIALIZED` (not in every libc version).
const MAP_UNINITIALIZED: i32 = 0x400_0000;

/// What backs a mapping (and how `/proc/pid/maps` names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmaKind {
    /// Anonymous memory (no name; shared ones show as `/dev/zero (deleted)`).
    Anonymous,
    /// A file mapping.
    File {
        /// Path shown in `/proc/pid/maps`.
        name: Vec<u8>,
        /// Linux (userspace encoding) `dev_t` of the file.
        dev: u64,
        /// Inode number of the file.
        ino: u64,
    },
    /// The brk heap, `[heap]`.
    Heap,
    /// The main thread's stack, `[stack]`.
    Stack,
    /// The vDSO, `[vdso]`.
    Vdso,
    /// The vDSO data pages, `[vvar]`.
    Vvar,
    /// rvisor's syscall trampoline in the stub: the guest must never
    /// unmap, replace or change it.
    Reserved,
}

/// One mapping: `[start, end)`, page aligned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vma {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_*` flags (`MAP_SHARED`/`MAP_PRIVATE`, `MAP_GROWSDOWN`, ...).
    pub flags: u32,
    /// File offset of `start` (meaningful for file and shared mappings).
    pub offset: u64,
    /// What backs the mapping.
    pub kind: VmaKind,
}

impl Vma {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the mapping is empty (never true for a VMA in a set).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether writes are shared with other mappings of the same object.
    pub fn is_shared(&self) -> bool {
        let ty = self.flags & 0x0f;
        ty == libc::MAP_SHARED as u32 || ty == libc::MAP_SHARED_VALIDATE as u32
    }

    /// Whether `addr` lies inside the mapping.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Whether `next`, starting where `self` ends, can be one VMA with it.
    fn mergeable_with(&self, next: &Vma) -> bool {
        if self.end != next.start || self.prot != next.prot || self.flags != next.flags {
            return false;
        }
        match (&self.kind, &next.kind) {
            // Each shared anonymous mapping is its own shmem object.
            (VmaKind::Anonymous, VmaKind::Anonymous) => !self.is_shared(),
            (VmaKind::Heap, VmaKind::Heap) | (VmaKind::Stack, VmaKind::Stack) => true,
            (VmaKind::File { .. }, VmaKind::File { .. }) => {
                self.kind == next.kind && self.offset.checked_add(self.len()) == Some(next.offset)
            }
            _ => false,
        }
    }
}

/// Major number of a userspace-encoded `dev_t` (glibc `major()`).
pub fn dev_major(dev: u64) -> u64 {
    ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000)
}

/// Minor number of a userspace-encoded `dev_t` (glibc `minor()`).
pub fn dev_minor(dev: u64) -> u64 {
    (dev & 0xff) | ((dev >> 12) & 0xffff_ff00)
}

/// A userspace-encoded `dev_t` from major and minor (glibc `makedev()`).
pub fn make_dev(major: u64, minor: u64) -> u64 {
    ((major & 0xfff) << 8) | ((major & 0xffff_f000) << 32) | (minor & 0xff) | ((minor & 0xffff_ff00) << 12)
}

/// The set of mappings of one address space.
#[derive(Default, Debug, Clone)]
pub struct VmaSet {
    /// Non-overlapping, non-empty VMAs keyed by start address.
    map: BTreeMap<u64, Vma>,
}

impl VmaSet {
    /// An empty address space.
    pub fn new() -> Self {
        Self::default()
    }

    /// All VMAs in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// Number of VMAs.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.contains(addr))
    }

    /// VMAs intersecting `[start, end)`, in order.
    pub fn overlapping(&self, start: u64, end: u64) -> impl DoubleEndedIterator<Item = &Vma> {
        let first = self
            .map
            .range(..start)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| v.end > start);
        let rest = self.map.range(start..end.max(start)).map(|(_, v)| v);
        first.into_iter().chain(rest)
    }

    /// Whether every byte of `[start, start+len)` is mapped (true for len 0).
    pub fn is_mapped(&self, start: u64, len: u64) -> bool {
        let Some(end) = start.checked_add(len) else {
            return false;
        };
        let mut cur = start;
        while cur < end {
            match self.find(cur) {
                Some(v) => cur = v.end,
                None => return false,
            }
        }
        true
    }

    /// Whether `[start, start+len)` touches a [`VmaKind::Reserved`] mapping.
    pub fn overlaps_reserved(&self, start: u64, len: u64) -> bool {
        let end = start.saturating_add(len);
        self.overlapping(start, end).any(|v| v.kind == VmaKind::Reserved)
    }

    /// Splits the VMA strictly containing `addr` into two at `addr`.
    fn split_at(&mut self, addr: u64) {
        let Some((_, v)) = self.map.range_mut(..addr).next_back() else {
            return;
        };
        if v.end <= addr {
            return;
        }
        let mut upper = v.clone();
        v.end = addr;
        upper.offset = upper.offset.wrapping_add(addr - upper.start);
        upper.start = addr;
        self.map.insert(addr, upper);
    }

    /// Merges compatible neighbours among the VMAs touching `[start, end]`.
    fn merge_around(&mut self, start: u64, end: u64) {
        let lo = self.map.range(..start).next_back().map_or(start, |(&k, _)| k);
        let hi = self.map.range(end..).next().map_or(end, |(&k, _)| k);
        let keys: Vec<u64> = self.map.range(lo..=hi).map(|(&k, _)| k).collect();
        let mut cur = match keys.first() {
            Some(&k) => k,
            None => return,
        };
        for &k in &keys[1..] {
            let merge = match (self.map.get(&cur), self.map.get(&k)) {
                (Some(a), Some(b)) => a.mergeable_with(b),
                _ => false,
            };
            if merge {
                if let Some(b) = self.map.remove(&k) {
                    if let Some(a) = self.map.get_mut(&cur) {
                        a.end = b.end;
                    }
                }
            } else {
                cur = k;
            }
        }
    }

    /// Adds `vma`, replacing whatever it overlaps (`MAP_FIXED` semantics).
    /// An empty VMA is ignored. mmap-time-only flags ([`TRANSIENT_MAP_FLAGS`])
    /// are dropped, as they are not part of a Linux VMA.
    pub fn insert(&mut self, mut vma: Vma) {
        if vma.is_empty() {
            return;
        }
        vma.flags &= !TRANSIENT_MAP_FLAGS;
        let (start, end) = (vma.start, vma.end);
        self.remove(start, end - start);
        self.map.insert(start, vma);
        self.merge_around(start, end);
    }

    /// Unmaps `[start, start+len)`, splitting VMAs at the edges (munmap).
    pub fn remove(&mut self, start: u64, len: u64) {
        let end = start.saturating_add(len);
        if end <= start {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.map.remove(&k);
        }
    }

    /// Sets the protection of `[start, start+len)` (mprotect). `ENOMEM`,
    /// with nothing changed, if part of the range is unmapped.
    pub fn protect(&mut self, start: u64, len: u64, prot: u32) -> Result<(), Errno> {
        let end = start.checked_add(len).ok_or(Errno::ENOMEM)?;
        if !self.is_mapped(start, len) {
            return Err(Errno::ENOMEM);
        }
        if len == 0 {
            return Ok(());
        }
        self.split_at(start);
        self.split_at(end);
        for (_, v) in self.map.range_mut(start..end) {
            v.prot = prot;
        }
        self.merge_around(start, end);
        Ok(())
    }

    /// Mirrors a successful mremap: what was mapped at `[old_start,
    /// old_start+old_len)` now lives at `[new_start, new_start+new_len)`,
    /// replacing anything there, with the same attributes; growth extends
    /// the last old page's mapping (file offsets continue). `old_len == 0`
    /// duplicates the (shared) mapping at `old_start` without removing it,
    /// as Linux does. The host already validated the call, so this never
    /// fails; unmapped parts of the old range stay unmapped at the new place.
    pub fn remap(&mut self, old_start: u64, old_len: u64, new_start: u64, new_len: u64) {
        let (Some(old_end), Some(new_end)) = (old_start.checked_add(old_len), new_start.checked_add(new_len)) else {
            return;
        };
        if new_len == 0 {
            return;
        }
        // The pieces to move, clipped to the old range.
        let mut pieces: Vec<Vma> = self
            .overlapping(old_start, old_end)
            .map(|v| {
                let mut p = v.clone();
                if p.start < old_start {
                    p.offset = p.offset.wrapping_add(old_start - p.start);
                    p.start = old_start;
                }
                p.end = p.end.min(old_end);
                p
            })
            .collect();
        // The mapping that grows: the one holding the last old byte (or, for
        // old_len == 0, the one at old_start).
        let last_byte = if old_len == 0 { old_start } else { old_end - 1 };
        // The growth continues at what was at old_end.
        let grow_from = self.find(last_byte).map(|v| {
            let mut g = v.clone();
            g.offset = g.offset.wrapping_add(old_end - v.start);
            g
        });
        if old_len > 0 {
            self.remove(old_start, old_len);
        }
        self.remove(new_start, new_len);
        let kept = old_len.min(new_len);
        for mut p in pieces.drain(..) {
            // Both differences are <= old_len, so nothing overflows new_end.
            p.end = new_start + (p.end - old_start).min(kept);
            p.start = new_start + (p.start - old_start);
            if p.start < p.end {
                self.insert(p);
            }
        }
        if new_len > old_len {
            if let Some(mut g) = grow_from {
                g.start = new_start + old_len;
                g.end = new_end;
                self.insert(g);
            }
        }
    }

    /// A free, page-aligned range of `len` bytes inside `[lo, hi)`, the
    /// highest one (top-down, as Linux's default mmap layout).
    pub fn find_gap_topdown(&self, len: u64, lo: u64, hi: u64) -> Option<u64> {
        let len = len.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
        let lo = lo.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
        let hi = hi & !(PAGE_SIZE - 1);
        if len == 0 || hi <= lo {
            return None;
        }
        let mut top = hi;
        for v in self.overlapping(lo, hi).rev() {
            let gap_lo = v.end.max(lo);
            if top >= gap_lo && top - gap_lo >= len {
                return Some(top - len);
            }
            top = top.min(v.start);
            if top <= lo {
                return None;
            }
        }
        (top - lo >= len).then(|| top - len)
    }

    /// The contents of `/proc/pid/maps` for this address space.
    pub fn format_proc_maps(&self) -> String {
        let mut out = String::new();
        for v in self.iter() {
            format_maps_line(&mut out, v);
        }
        out
    }

    /// The contents of `/proc/pid/smaps`: each maps line followed by its
    /// sizes. Residency is not tracked (the host's page tables belong to
    /// the stub), so the page counters are 0, as for a mapping never touched.
    pub fn format_proc_smaps(&self) -> String {
        let mut out = String::new();
        for v in self.iter() {
            format_maps_line(&mut out, v);
            let kb = (v.end - v.start) / 1024;
            let _ = writeln!(out, "Size:           {kb:>8} kB");
            out.push_str("KernelPageSize:        4 kB\nMMUPageSize:           4 kB\n");
            for field in SMAPS_ZERO_FIELDS {
                let _ = writeln!(out, "{:<16}{:>8} kB", format!("{field}:"), 0);
            }
            let _ = writeln!(out, "THPeligible:    0");
            out.push_str(&vm_flags(v));
        }
        out
    }

    /// `/proc/pid/smaps_rollup`: the totals of smaps over the whole space.
    pub fn format_proc_smaps_rollup(&self) -> String {
        let (lo, hi) = match (self.iter().next(), self.iter().last()) {
            (Some(a), Some(b)) => (a.start, b.end),
            _ => (0, 0),
        };
        let mut out = format!("{lo:08x}-{hi:08x} ---p 00000000 00:00 0                          [rollup]\n");
        for field in SMAPS_ZERO_FIELDS {
            let _ = writeln!(out, "{:<16}{:>8} kB", format!("{field}:"), 0);
        }
        out
    }
}

/// The smaps counters this VMA table cannot know (page residency).
const SMAPS_ZERO_FIELDS: [&str; 17] = [
    "Rss",
    "Pss",
    "Pss_Dirty",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
];

/// The `VmFlags:` line of smaps.
fn vm_flags(v: &Vma) -> String {
    let mut flags = Vec::new();
    let prot = |bit: i32| v.prot & bit as u32 != 0;
    if prot(libc::PROT_READ) {
        flags.push("rd");
    }
    if prot(libc::PROT_WRITE) {
        flags.push("wr");
    }
    if prot(libc::PROT_EXEC) {
        flags.push("ex");
    }
    if v.is_shared() {
        flags.push("sh");
    }
    // mprotect may raise any protection here (no maximum is kept).
    flags.extend(["mr", "mw", "me"]);
    if matches!(v.kind, VmaKind::Stack) {
        flags.push("gd");
    }
    format!("VmFlags: {} \n", flags.join(" "))
}

/// One line of `/proc/pid/maps`.
fn format_maps_line(out: &mut String, v: &Vma) {
    {
        {
            let (offset, dev, ino) = match &v.kind {
                VmaKind::File { dev, ino, .. } => (v.offset, *dev, *ino),
                _ => (0, 0, 0),
            };
            let line_start = out.len();
            let _ = write!(
                out,
                "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
                v.start,
                v.end,
                if v.prot & libc::PROT_READ as u32 != 0 { 'r' } else { '-' },
                if v.prot & libc::PROT_WRITE as u32 != 0 {
                    'w'
                } else {
                    '-'
                },
                if v.prot & libc::PROT_EXEC as u32 != 0 { 'x' } else { '-' },
                if v.is_shared() { 's' } else { 'p' },
                offset,
                dev_major(dev),
                dev_minor(dev),
                ino,
            );
            let name: Option<Vec<u8>> = match &v.kind {
                VmaKind::File { name, .. } => Some(name.clone()),
                VmaKind::Anonymous if v.is_shared() => Some(b"/dev/zero (deleted)".to_vec()),
                VmaKind::Heap => Some(b"[heap]".to_vec()),
                VmaKind::Stack => Some(b"[stack]".to_vec()),
                VmaKind::Vdso => Some(b"[vdso]".to_vec()),
                VmaKind::Vvar => Some(b"[vvar]".to_vec()),
                VmaKind::Anonymous | VmaKind::Reserved => None,
            };
            if let Some(name) = name {
                // seq_pad: the name starts at column 73 (25 + 6 * 8 - 1, then ' ').
                while out.len() - line_start < 72 {
                    out.push(' ');
                }
                out.push(' ');
                // seq_path escapes '\n' so one mapping stays one line.
                let escaped: Vec<u8> = name
                    .iter()
                    .flat_map(|&b| if b == b'\n' { b"\\012".to_vec() } else { vec![b] })
                    .collect();
                out.push_str(&String::from_utf8_lossy(&escaped));
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const P: u64 = PAGE_SIZE;
    const R: u32 = libc::PROT_READ as u32;
    const RW: u32 = (libc::PROT_READ | libc::PROT_WRITE) as u32;
    const PRIV: u32 = libc::MAP_PRIVATE as u32;
    const SHARED: u32 = libc::MAP_SHARED as u32;

    fn anon(start: u64, end: u64, prot: u32) -> Vma {
        Vma {
            start,
            end,
            prot,
            flags: PRIV,
            offset: 0,
            kind: VmaKind::Anonymous,
        }
    }

    fn file(start: u64, end: u64, prot: u32, offset: u64, name: &str) -> Vma {
        Vma {
            start,
            end,
            prot,
            flags: PRIV,
            offset,
            kind: VmaKind::File {
                name: name.as_bytes().to_vec(),
                dev: make_dev(8, 2),
                ino: 173521,
            },
        }
    }

    fn ranges(s: &VmaSet) -> Vec<(u64, u64, u32, u64)> {
        s.iter().map(|v| (v.start, v.end, v.prot, v.offset)).collect()
    }

    #[test]
    fn insert_split_and_merge() {
        let mut s = VmaSet::new();
        s.insert(file(0x400000, 0x410000, R, 0, "/bin/x"));
        s.insert(anon(0x404000, 0x405000, RW));
        assert_eq!(
            ranges(&s),
            vec![
                (0x400000, 0x404000, R, 0),
                (0x404000, 0x405000, RW, 0),
                (0x405000, 0x410000, R, 0x5000)
            ]
        );
        // Replacing the hole with the same file content merges back.
        s.insert(file(0x404000, 0x405000, R, 0x4000, "/bin/x"));
        assert_eq!(ranges(&s), vec![(0x400000, 0x410000, R, 0)]);
        // Non-contiguous offset: no merge.
        s.insert(file(0x410000, 0x411000, R, 0x0, "/bin/x"));
        assert_eq!(s.len(), 2);
        s.remove(0x402000, 0x1000);
        assert_eq!(s.len(), 3);
        assert!(!s.is_mapped(0x400000, 0x3000));
        assert!(s.is_mapped(0x403000, 0xe000));
        assert_eq!(s.find(0x403fff).unwrap().offset, 0x3000);
        assert!(s.find(0x402000).is_none());
        assert!(s.find(0x411000).is_none());
    }

    #[test]
    fn transient_flags_do_not_block_merging() {
        let mut s = VmaSet::new();
        s.insert(anon(0x1000, 0x2000, RW));
        let fixed = PRIV | (libc::MAP_FIXED | libc::MAP_POPULATE) as u32;
        s.insert(Vma {
            flags: fixed,
            ..anon(0x2000, 0x3000, RW)
        });
        assert_eq!(ranges(&s), vec![(0x1000, 0x3000, RW, 0)]);
        assert_eq!(s.find(0x1000).unwrap().flags, PRIV);
    }

    #[test]
    fn protect_semantics() {
        let mut s = VmaSet::new();
        s.insert(anon(0x1000, 0x5000, RW));
        s.insert(anon(0x6000, 0x7000, RW));
        assert_eq!(s.protect(0x2000, 0x5000, R), Err(Errno::ENOMEM));
        assert_eq!(ranges(&s), vec![(0x1000, 0x5000, RW, 0), (0x6000, 0x7000, RW, 0)]);
        s.protect(0x2000, 0x1000, R).unwrap();
        assert_eq!(s.len(), 4);
        s.protect(0x2000, 0x1000, RW).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.protect(0, 0, R), Ok(()));
        assert_eq!(s.protect(u64::MAX - 10, 100, R), Err(Errno::ENOMEM));
    }

    #[test]
    fn reserved_and_remap() {
        let mut s = VmaSet::new();
        s.insert(Vma {
            kind: VmaKind::Reserved,
            ..anon(0x10000, 0x11000, R)
        });
        assert!(s.overlaps_reserved(0xf000, 0x1001));
        assert!(!s.overlaps_reserved(0xf000, 0x1000));
        assert!(!s.overlaps_reserved(0x11000, 0x1000));
        assert!(s.overlaps_reserved(0x10fff, 1));
        s.insert(file(0x20000, 0x24000, RW, 0x3000, "/f"));
        // Move the middle two pages elsewhere, grown to 3 pages.
        s.remap(0x21000, 0x2000, 0x40000, 0x3000);
        assert_eq!(
            ranges(&s)[1..],
            [
                (0x20000, 0x21000, RW, 0x3000),
                (0x23000, 0x24000, RW, 0x6000),
                (0x40000, 0x43000, RW, 0x4000)
            ]
        );
        // Spanning two VMAs and a hole: each piece moves; growth continues
        // the last piece.
        s.remap(0x23000, 0x2000, 0x50000, 0x3000);
        assert_eq!(ranges(&s)[3..], [(0x50000, 0x51000, RW, 0x6000)]);
        // Nothing mapped at the source: the destination is just cleared.
        s.insert(anon(0x60000, 0x61000, R));
        s.remap(0x30000, 0x1000, 0x60000, 0x1000);
        assert!(s.find(0x60000).is_none());
        // old_len == 0 duplicates without removing.
        s.remap(0x20000, 0, 0x70000, 0x2000);
        assert_eq!(s.find(0x20000).unwrap().offset, 0x3000);
        assert_eq!(ranges(&s).last(), Some(&(0x70000, 0x72000, RW, 0x3000)));
        s.remap(0x40000, 0x1000, 0x50000, 0);
        assert!(s.find(0x40000).is_some());
        // Shrink in place.
        s.remap(0x40000, 0x3000, 0x40000, 0x1000);
        assert_eq!(s.find(0x40000).unwrap().end, 0x41000);
        assert!(s.find(0x41000).is_none());
    }

    #[test]
    fn gaps() {
        let mut s = VmaSet::new();
        assert_eq!(s.find_gap_topdown(0x1000, 0x10000, 0x20000), Some(0x1f000));
        s.insert(anon(0x1e000, 0x20000, RW));
        s.insert(anon(0x10000, 0x11000, RW));
        assert_eq!(s.find_gap_topdown(0x2000, 0x10000, 0x20000), Some(0x1c000));
        assert_eq!(s.find_gap_topdown(0xd000, 0x10000, 0x20000), Some(0x11000));
        assert_eq!(s.find_gap_topdown(0xe000, 0x10000, 0x20000), None);
        assert_eq!(s.find_gap_topdown(0x1000, 0x1e000, 0x20000), None);
    }

    #[test]
    fn proc_maps_format() {
        let mut s = VmaSet::new();
        s.insert(Vma {
            flags: PRIV,
            ..file(
                0x400000,
                0x452000,
                R | libc::PROT_EXEC as u32,
                0,
                "/usr/bin/dbus-daemon",
            )
        });
        s.insert(Vma {
            kind: VmaKind::Heap,
            ..anon(0x1000000, 0x1021000, RW)
        });
        s.insert(anon(0x7f0000000000, 0x7f0000001000, 0));
        s.insert(Vma {
            flags: SHARED,
            ..anon(0x7f0000002000, 0x7f0000003000, RW)
        });
        s.insert(Vma {
            kind: VmaKind::Stack,
            ..anon(0x7ffc00000000, 0x7ffc00021000, RW)
        });
        s.insert(Vma {
            kind: VmaKind::File {
                name: b"/a\nb".to_vec(),
                dev: make_dev(0x103, 0x1234),
                ino: 7,
            },
            flags: SHARED,
            ..anon(0x7f0000004000, 0x7f0000005000, R)
        });
        let text = s.format_proc_maps();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon"
        );
        assert_eq!(
            lines[1],
            "01000000-01021000 rw-p 00000000 00:00 0                                  [heap]"
        );
        assert_eq!(lines[2], "7f0000000000-7f0000001000 ---p 00000000 00:00 0 ");
        assert_eq!(
            lines[3],
            "7f0000002000-7f0000003000 rw-s 00000000 00:00 0                          /dev/zero (deleted)"
        );
        assert_eq!(
            lines[4],
            "7f0000004000-7f0000005000 r--s 00000000 103:1234 7                       /a\\012b"
        );
        assert_eq!(
            lines[5],
            "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]"
        );
        assert!(text.ends_with('\n'));
    }

    /// Round-trips the host's own /proc/self/maps through the formatter.
    #[test]
    fn proc_maps_matches_host_format() {
        let Ok(host) = std::fs::read_to_string("/proc/self/maps") else {
            return;
        };
        let mut checked = 0;
        for line in host.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (a, b) = f[0].split_once('-').unwrap();
            let (maj, min) = f[3].split_once(':').unwrap();
            let perms = f[1].as_bytes();
            let prot = (if perms[0] == b'r' { R } else { 0 })
                | (if perms[1] == b'w' { libc::PROT_WRITE as u32 } else { 0 })
                | (if perms[2] == b'x' { libc::PROT_EXEC as u32 } else { 0 });
            let name = f.get(5).copied();
            let kind = match name {
                None => VmaKind::Anonymous,
                Some("[heap]") => VmaKind::Heap,
                Some("[stack]") => VmaKind::Stack,
                Some("[vdso]") => VmaKind::Vdso,
                Some("[vvar]") => VmaKind::Vvar,
                Some(n) if n.starts_with('/') && f.len() == 6 && perms[3] == b'p' => VmaKind::File {
                    name: n.as_bytes().to_vec(),
                    dev: make_dev(
                        u64::from_str_radix(maj, 16).unwrap(),
                        u64::from_str_radix(min, 16).unwrap(),
                    ),
                    ino: f[4].parse().unwrap(),
                },
                _ => continue,
            };
            let mut s = VmaSet::new();
            s.insert(Vma {
                start: u64::from_str_radix(a, 16).unwrap(),
                end: u64::from_str_radix(b, 16).unwrap(),
                prot,
                flags: PRIV,
                offset: u64::from_str_radix(f[2], 16).unwrap(),
                kind,
            });
            assert_eq!(s.format_proc_maps(), format!("{line}\n"));
            checked += 1;
        }
        assert!(checked > 3);
    }

    #[test]
    fn dev_encoding() {
        for (ma, mi) in [(8u64, 2u64), (0xfe, 0), (259, 65536), (0xffff_ffff, 0xffff_ffff)] {
            let d = make_dev(ma, mi);
            assert_eq!((dev_major(d), dev_minor(d)), (ma, mi));
        }
        assert_eq!(make_dev(8, 2), 0x802);
    }

    /// Per-page model state: (prot, flags, kind, offset of this page).
    type PageState = (u32, u32, VmaKind, u64);

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn expand(s: &VmaSet) -> HashMap<u64, PageState> {
        let mut m = HashMap::new();
        for v in s.iter() {
            for (i, page) in (v.start..v.end).step_by(P as usize).enumerate() {
                let off = if matches!(v.kind, VmaKind::File { .. }) {
                    v.offset + i as u64 * P
                } else {
                    0
                };
                m.insert(page, (v.prot, v.flags, v.kind.clone(), off));
            }
        }
        m
    }

    fn check_invariants(s: &VmaSet) {
        let vs: Vec<&Vma> = s.iter().collect();
        for v in &vs {
            assert!(v.start < v.end && v.start % P == 0 && v.end % P == 0, "{v:?}");
        }
        for w in vs.windows(2) {
            assert!(w[0].end <= w[1].start, "overlap {w:?}");
            assert!(!w[0].mergeable_with(w[1]), "unmerged {w:?}");
        }
    }

    #[test]
    fn random_ops_match_page_model() {
        const BASE: u64 = 0x10_0000;
        const PAGES: u64 = 48;
        let mut rng = Rng(0xdead_beef_1234_5678);
        for _round in 0..60 {
            let mut s = VmaSet::new();
            let mut model: HashMap<u64, PageState> = HashMap::new();
            for _ in 0..150 {
                let start = BASE + rng.below(PAGES) * P;
                let len = (1 + rng.below(12)) * P;
                let end = start + len;
                match rng.below(10) {
                    0..=3 => {
                        let kind = match rng.below(4) {
                            0 => VmaKind::Anonymous,
                            1 => VmaKind::Heap,
                            _ => VmaKind::File {
                                name: vec![b'a' + rng.below(2) as u8],
                                dev: 1,
                                ino: 2,
                            },
                        };
                        let flags = if rng.below(4) == 0 { SHARED } else { PRIV };
                        // Offsets aligned to BASE-relative pages often, so merges happen.
                        let offset = if rng.below(2) == 0 {
                            start - BASE
                        } else {
                            rng.below(8) * P
                        };
                        let prot = rng.below(3) as u32;
                        s.insert(Vma {
                            start,
                            end,
                            prot,
                            flags,
                            offset,
                            kind: kind.clone(),
                        });
                        for (i, page) in (start..end).step_by(P as usize).enumerate() {
                            let off = if matches!(kind, VmaKind::File { .. }) {
                                offset + i as u64 * P
                            } else {
                                0
                            };
                            model.insert(page, (prot, flags, kind.clone(), off));
                        }
                    }
                    4..=5 => {
                        s.remove(start, len);
                        for page in (start..end).step_by(P as usize) {
                            model.remove(&page);
                        }
                    }
                    6..=8 => {
                        let prot = rng.below(3) as u32;
                        let all = (start..end).step_by(P as usize).all(|p| model.contains_key(&p));
                        let r = s.protect(start, len, prot);
                        assert_eq!(r.is_ok(), all);
                        if all {
                            for page in (start..end).step_by(P as usize) {
                                model.get_mut(&page).unwrap().0 = prot;
                            }
                        }
                    }
                    _ => {
                        let new_start = BASE + rng.below(PAGES) * P;
                        let new_len = (1 + rng.below(6)) * P;
                        let old_len = rng.below(3) * P;
                        let old_end = start + old_len;
                        let shift = |st: &PageState, pages: u64| {
                            let mut st = st.clone();
                            if matches!(st.2, VmaKind::File { .. }) {
                                st.3 += pages * P;
                            }
                            st
                        };
                        let mut moved = HashMap::new();
                        for i in 0..new_len / P {
                            let st = if i < old_len / P {
                                model.get(&(start + i * P)).cloned()
                            } else {
                                let src = if old_len == 0 { start } else { old_end - P };
                                // Pages past old_end continue the source's offsets.
                                let src_index = (old_len / P).saturating_sub(1);
                                model.get(&src).map(|st| shift(st, i - src_index))
                            };
                            if let Some(st) = st {
                                moved.insert(new_start + i * P, st);
                            }
                        }
                        s.remap(start, old_len, new_start, new_len);
                        for page in (start..old_end).step_by(P as usize) {
                            model.remove(&page);
                        }
                        for i in 0..new_len / P {
                            model.remove(&(new_start + i * P));
                        }
                        model.extend(moved);
                    }
                }
                check_invariants(&s);
                assert_eq!(expand(&s), model);
                for _ in 0..4 {
                    let a = BASE + rng.below(PAGES + 4) * P;
                    let l = rng.below(6) * P;
                    let mapped = (a..a + l).step_by(P as usize).all(|p| model.contains_key(&p));
                    assert_eq!(s.is_mapped(a, l), mapped);
                    assert_eq!(s.find(a + 5).is_some(), model.contains_key(&a));
                }
            }
        }
    }
}
