//! Loading a program into a fresh address space: resolves `#!` scripts,
//! maps the ELF file and its interpreter, builds the initial stack and sets
//! the registers the program starts with.

use super::{elf, script, stack};
use crate::kernel::caps::{self, SetId};
use crate::kernel::Task;
use crate::mm::ops::{MmapFile, MmapRequest};
use crate::mm::vma::{Vma, VmaKind};
use crate::platform::ptrace::layout::PAGE;
use crate::vfs::{self, FileRef};
use syscalls::Errno;

/// How many `#!` interpreters may be chained (Linux allows 4 rewrites).
const MAX_SCRIPT_DEPTH: usize = 4;
/// Where a position-independent main executable is placed (ELF_ET_DYN_BASE).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// Largest initial stack mapping (the stack rlimit is honoured up to this).
const MAX_STACK: u64 = 256 << 20;

/// Adapts an open file to the ELF parser's reader.
struct FileReader<'a>(&'a FileRef);

impl elf::ReadAt for FileReader<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.read_at(buf, offset)
    }
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most 8 bytes into `b`.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), 8, 0) };
    u64::from_ne_bytes(b)
}

fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    // SAFETY: getrandom writes at most 16 bytes into `b`.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), 16, 0) };
    b
}

/// Maps one ELF file; returns its load plan (with the bias applied).
fn map_elf(task: &mut Task, file: &FileRef, image: &elf::ElfFile, hint: u64) -> Result<elf::LoadPlan, Errno> {
    let (lo, hi) = elf::span(image);
    let bias = match image.kind {
        elf::ElfKind::Exec => 0,
        elf::ElfKind::Dyn => {
            // Reserve the whole span so the segments land together, then
            // map each segment over the reservation.
            let req = MmapRequest {
                addr: hint,
                len: hi - lo,
                prot: libc::PROT_NONE as u32,
                flags: (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as u32,
                offset: 0,
                file: None,
            };
            let base = task.mm.mmap(&mut task.thread, req)?;
            base.wrapping_sub(lo)
        }
    };
    let plan = elf::load_plan(image, bias)?;
    let donor = task.kernel.donor_socket.clone();
    for step in &plan.maps {
        match *step {
            elf::MapStep::File {
                addr,
                len,
                prot,
                file_offset,
            } => {
                let req = MmapRequest {
                    addr,
                    len,
                    prot,
                    flags: (libc::MAP_PRIVATE | libc::MAP_FIXED) as u32,
                    offset: file_offset,
                    file: Some(MmapFile { file, donor: &donor }),
                };
                task.mm.mmap(&mut task.thread, req)?;
            }
            elf::MapStep::ZeroTail { addr, len } => {
                let zeros = vec![0u8; len as usize];
                task.mm.write(addr, &zeros)?;
            }
            elf::MapStep::Anon { addr, len, prot } => {
                let req = MmapRequest {
                    addr,
                    len,
                    prot,
                    flags: (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u32,
                    offset: 0,
                    file: None,
                };
                task.mm.mmap(&mut task.thread, req)?;
            }
        }
    }
    Ok(plan)
}

/// The ELF file an execve ends up loading.
struct Resolved {
    file: FileRef,
    image: elf::ElfFile,
    argv: Vec<Vec<u8>>,
}

/// Opens `path` for execution, following `#!` interpreters; returns the
/// ELF file, its parsed headers and the (possibly rewritten) argv.
fn resolve(task: &Task, path: &[u8], mut argv: Vec<Vec<u8>>) -> Result<Resolved, Errno> {
    let mut path = path.to_vec();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let file = vfs::open_exec(task, &path)?;
        let mut head = vec![0u8; script::BINPRM_BUF_SIZE];
        let n = file.read_at(&mut head, 0)?;
        head.truncate(n);
        match script::parse_shebang(&head) {
            Some(shebang) => {
                let shebang = shebang?;
                argv = script::script_argv(&shebang, &path, &argv);
                path = shebang.interpreter;
            }
            None => {
                let image = elf::parse(&FileReader(&file))?;
                return Ok(Resolved { file, image, argv });
            }
        }
    }
    Err(Errno::ELOOP)
}

/// Loads `path` into the task's (empty) address space and sets its registers
/// to start it. `argv[0]` is passed as given; `path` is `AT_EXECFN`.
pub fn load_program(task: &mut Task, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> Result<(), Errno> {
    let Resolved { file, image, argv } = resolve(task, path, argv)?;
    // The new credentials (set-ID bits, capabilities); the caller puts the
    // old ones back if the exec fails.
    let setid = match file.location() {
        Some(loc) => {
            let st = loc.inode().stat()?;
            let nosuid = loc.mount.flags() & crate::vfs::mount::flags::NOSUID != 0;
            SetId::from_mode(st.st_mode, st.st_uid, st.st_gid, nosuid)
        }
        None => SetId::default(),
    };
    let (creds, secure) = caps::exec_transform(&task.creds, setid, task.no_new_privs);
    task.creds = creds;
    // AT_EXECFN and the task name are the path given to execve, even for a
    // `#!` script whose interpreter is what actually gets mapped.
    let loaded_path = path.to_vec();
    let pie_hint = PIE_BASE + (random_u64() % (1 << 16)) * PAGE;
    let main = map_elf(task, &file, &image, pie_hint)?;
    let mut entry = main.entry;
    let mut interp_base = 0;
    if let Some(interp_path) = &image.interp {
        let interp_file = vfs::open_exec(task, interp_path)?;
        let interp = elf::parse(&FileReader(&interp_file))?;
        if interp.interp.is_some() {
            return Err(Errno::ELIBBAD);
        }
        let plan = map_elf(task, &interp_file, &interp, 0)?;
        entry = plan.entry;
        interp_base = plan.span.0;
    }

    // The heap starts at a random page offset above the executable.
    let brk = main.brk_start + (random_u64() % (1 << 13)) * PAGE;
    {
        let mut st = task.mm.lock()?;
        st.brk_start = brk;
        st.brk = brk;
    }

    // The stack: one mapping of the stack rlimit's size, just below the
    // trampoline; pages are only allocated when touched.
    let limit = task.limits.get(libc::RLIMIT_STACK).map(|l| l.cur).unwrap_or(8 << 20);
    let stack_size = limit.clamp(128 << 10, MAX_STACK) & !(PAGE - 1);
    let stack_top = task.thread.layout.stack_top;
    let stack_prot = if image.stack_executable { libc::PROT_EXEC } else { 0 } | libc::PROT_READ | libc::PROT_WRITE;
    let req = MmapRequest {
        addr: stack_top - stack_size,
        len: stack_size,
        prot: stack_prot as u32,
        flags: (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE) as u32,
        offset: 0,
        file: None,
    };
    task.mm.mmap(&mut task.thread, req)?;
    task.mm.lock()?.vmas.insert(Vma {
        start: stack_top - stack_size,
        end: stack_top,
        prot: stack_prot as u32,
        flags: (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u32,
        offset: 0,
        kind: VmaKind::Stack,
    });

    let creds = &task.creds;
    // SAFETY: getauxval only reads the sentry's own auxiliary vector.
    let (hwcap, hwcap2, minsig) = unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
            libc::getauxval(51),
        )
    };
    let mut auxv = vec![
        (libc::AT_SYSINFO_EHDR, task.thread.layout.vdso_base),
        (51, minsig), // AT_MINSIGSTKSZ
        (libc::AT_HWCAP, hwcap),
        (libc::AT_PAGESZ, PAGE),
        (libc::AT_CLKTCK, 100),
        (libc::AT_PHDR, main.phdr_addr),
        (libc::AT_PHENT, 56),
        (libc::AT_PHNUM, image.phnum as u64),
        (libc::AT_BASE, interp_base),
        (libc::AT_FLAGS, 0),
        (libc::AT_ENTRY, main.entry),
        (libc::AT_UID, creds.ruid as u64),
        (libc::AT_EUID, creds.euid as u64),
        (libc::AT_GID, creds.rgid as u64),
        (libc::AT_EGID, creds.egid as u64),
        (libc::AT_SECURE, secure as u64),
        (libc::AT_HWCAP2, hwcap2),
    ];
    if task.thread.layout.vdso_base == 0 {
        auxv.remove(0);
    }
    let image_stack = stack::build_stack(stack_top, &argv, &envp, &loaded_path, &auxv, random16(), b"x86_64")?;
    task.mm.write(image_stack.sp, &image_stack.bytes)?;
    {
        let mut st = task.mm.lock()?;
        st.arg_start = image_stack.arg_start;
        st.arg_end = image_stack.arg_end;
        st.env_start = image_stack.env_start;
        st.env_end = image_stack.env_end;
        st.auxv = image_stack.auxv;
        st.exe = file.path();
    }

    let name = loaded_path.rsplit(|&b| b == b'/').next().unwrap_or(&loaded_path);
    task.comm = name.iter().take(15).copied().collect();

    task.thread.reset_fpu().map_err(Errno::from)?;
    let regs = task.thread.regs_mut();
    let (cs, ss, ds, es, fs, gs) = (regs.cs, regs.ss, regs.ds, regs.es, regs.fs, regs.gs);
    // SAFETY: an all-zero user_regs_struct is valid plain data.
    *regs = unsafe { std::mem::zeroed() };
    regs.cs = cs;
    regs.ss = ss;
    regs.ds = ds;
    regs.es = es;
    regs.fs = fs;
    regs.gs = gs;
    regs.rip = entry;
    regs.rsp = image_stack.sp;
    regs.eflags = 0x202;
    regs.orig_rax = u64::MAX;
    Ok(())
}
