//! Where the stub's fixed pieces live: the trampoline and the vDSO.
//!
//! Read once from the sentry's own `/proc/self/maps` at boot (before the
//! sentry gives up its view of host paths); every stub inherits the same
//! layout because it descends from the same zygote.

use super::PlatformError;

/// Size of a page.
pub const PAGE: u64 = 4096;
/// The first address above user space on x86-64 (`TASK_SIZE`).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Bytes of the trampoline area: one code page, one scratch page.
pub const TRAMPOLINE_SIZE: u64 = 2 * PAGE;
/// The trampoline code, padded with `int3`:
///
/// ```text
///  +0  syscall            injected calls enter here ...
///  +2  int3               ... and trap back to the tracer
/// +16  syscall            injected clone/fork enters here
/// +18  test rax, rax
/// +21  jz +1              the child (rax == 0) parks below
/// +23  int3               the parent traps back to the tracer
/// +24  mov eax, 34        park: pause() until a sentry thread seizes it
/// +29  syscall
/// +31  jmp +24
/// ```
///
/// A new thread or process is thus never traced by the thread that made
/// it: it parks, untraced, and the sentry thread that will serve it takes
/// it with `PTRACE_SEIZE` + `PTRACE_INTERRUPT`.
pub const TRAMPOLINE_CODE: [u8; 33] = [
    0x0f, 0x05, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, // +0
    0x0f, 0x05, // +16 syscall
    0x48, 0x85, 0xc0, // +18 test rax, rax
    0x74, 0x01, // +21 jz +1
    0xcc, // +23 int3
    0xb8, 0x22, 0x00, 0x00, 0x00, // +24 mov eax, 34 (pause)
    0x0f, 0x05, // +29 syscall
    0xeb, 0xf7, // +31 jmp +24
];
/// Offset of the clone entry in the trampoline.
pub const CLONE_ENTRY: u64 = 16;

/// The fixed layout shared by every stub.
#[derive(Clone, Debug)]
pub struct StubLayout {
    /// Address of the trampoline's `syscall` instruction (page aligned).
    pub trampoline: u64,
    /// Host mappings kept in every stub: the vDSO and its data pages.
    pub kept: Vec<(u64, u64)>,
    /// Base of the vDSO (for `AT_SYSINFO_EHDR`), 0 if the host has none.
    pub vdso_base: u64,
    /// Top of the initial guest stack (just below the trampoline, with a gap).
    pub stack_top: u64,
}

impl StubLayout {
    /// The scratch page used for injected calls that take memory arguments.
    pub fn scratch(&self) -> u64 {
        self.trampoline + PAGE
    }

    /// Where injected clone/fork calls enter the trampoline.
    pub fn clone_entry(&self) -> u64 {
        self.trampoline + CLONE_ENTRY
    }

    /// Reads the sentry's own maps and chooses the trampoline slot.
    pub fn discover() -> Result<StubLayout, PlatformError> {
        let maps =
            std::fs::read_to_string("/proc/self/maps").map_err(|_| PlatformError::last("read /proc/self/maps"))?;
        Self::from_maps(&maps)
    }

    /// Computes the layout from the text of a `/proc/pid/maps` file.
    pub fn from_maps(maps: &str) -> Result<StubLayout, PlatformError> {
        let mut regions = Vec::new();
        let mut kept = Vec::new();
        let mut vdso_base = 0;
        let mut stack_start = None;
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let Some(range) = fields.next() else { continue };
            let Some((lo, hi)) = range.split_once('-') else {
                continue;
            };
            let (Ok(lo), Ok(hi)) = (u64::from_str_radix(lo, 16), u64::from_str_radix(hi, 16)) else {
                continue;
            };
            if lo >= TASK_SIZE {
                continue;
            }
            let name = fields.nth(4).unwrap_or("");
            regions.push((lo, hi));
            if name == "[vdso]" {
                vdso_base = lo;
                kept.push((lo, hi));
            } else if name.starts_with("[vvar") {
                kept.push((lo, hi));
            } else if name == "[stack]" {
                stack_start = Some(lo);
            }
        }
        // The gap below the sentry's stack is kept free by the host kernel
        // for stack growth; nothing is mapped there in the zygote either.
        let stack_start = stack_start.ok_or(PlatformError::NoTrampolineSlot)?;
        let trampoline = (stack_start.saturating_sub(64 << 20)) & !0xffff;
        let busy = regions
            .iter()
            .any(|&(lo, hi)| lo < trampoline + TRAMPOLINE_SIZE && trampoline < hi);
        if trampoline == 0 || busy {
            return Err(PlatformError::NoTrampolineSlot);
        }
        Ok(StubLayout {
            trampoline,
            kept,
            vdso_base,
            stack_top: trampoline - 16 * PAGE,
        })
    }

    /// The address ranges every stub must unmap to hold nothing of the sentry:
    /// all of user space except the kept regions and the trampoline.
    pub fn ranges_to_unmap(&self) -> Vec<(u64, u64)> {
        let mut keep: Vec<(u64, u64)> = self.kept.clone();
        keep.push((self.trampoline, self.trampoline + TRAMPOLINE_SIZE));
        keep.sort();
        let mut out = Vec::new();
        let mut cursor = PAGE; // nothing can be mapped below mmap_min_addr anyway
        for (lo, hi) in keep {
            if lo > cursor {
                out.push((cursor, lo));
            }
            cursor = cursor.max(hi);
        }
        if cursor < TASK_SIZE {
            out.push((cursor, TASK_SIZE));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c0000000-55d0c0001000 r--p 00000000 fe:00 1 /usr/bin/runsc
7f339fb63000-7f339fb67000 r--p 00000000 00:00 0                          [vvar]
7f339fb67000-7f339fb69000 r--p 00000000 00:00 0                          [vvar_vclock]
7f339fb69000-7f339fb6b000 r-xp 00000000 00:00 0                          [vdso]
7ffeff483000-7ffeff4a4000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn layout_keeps_vdso_and_places_trampoline_below_stack() {
        let l = StubLayout::from_maps(MAPS).unwrap();
        assert_eq!(l.vdso_base, 0x7f33_9fb6_9000);
        assert_eq!(l.kept.len(), 3);
        assert!(l.trampoline < 0x7ffe_ff48_3000 && l.trampoline > 0x7f33_9fb6_b000);
        assert_eq!(l.trampoline % 0x10000, 0);
        let unmap = l.ranges_to_unmap();
        // Nothing kept is unmapped, everything else is.
        for &(lo, hi) in &unmap {
            assert!(lo < hi);
            for &(klo, khi) in &l.kept {
                assert!(hi <= klo || lo >= khi);
            }
        }
        assert!(unmap
            .iter()
            .any(|&(lo, hi)| lo <= 0x55d0_c000_0000 && hi >= 0x55d0_c000_1000));
        assert_eq!(unmap.last().map(|r| r.1), Some(TASK_SIZE));
    }
}
