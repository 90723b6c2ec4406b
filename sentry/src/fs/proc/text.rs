//! The text formats of procfs files, as Linux prints them, from plain
//! data: kept apart from the kernel so each format can be tested alone.

use crate::kernel::limits::{Limit, RLIM_INFINITY};
use std::fmt::Write as _;

/// Clock ticks per second in `/proc` times (`USER_HZ`, `AT_CLKTCK`).
pub const USER_HZ: u64 = 100;

/// The fields of `/proc/[pid]/stat` (proc(5) order; the rest are zero).
#[derive(Clone, Debug, Default)]
pub struct StatFields {
    /// Thread or process id.
    pub pid: i32,
    /// Thread name (may contain spaces and parentheses).
    pub comm: Vec<u8>,
    /// R, S, T or Z.
    pub state: char,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgrp: i32,
    /// Session id.
    pub session: i32,
    /// Controlling terminal device (0: none).
    pub tty_nr: i32,
    /// Foreground process group of the terminal (-1: none).
    pub tpgid: i32,
    /// User and system CPU time, clock ticks.
    pub utime: u64,
    /// System CPU time, clock ticks.
    pub stime: u64,
    /// CPU time of waited-for children, clock ticks.
    pub cutime: u64,
    /// Threads in the process.
    pub num_threads: usize,
    /// Start time in clock ticks after boot.
    pub starttime: u64,
    /// Virtual memory size in bytes.
    pub vsize: u64,
    /// Resident pages.
    pub rss: u64,
    /// Soft RSS limit in bytes.
    pub rsslim: u64,
    /// Pending signals (thread and process).
    pub signal: u64,
    /// Blocked signals.
    pub blocked: u64,
    /// Ignored signals.
    pub sigignore: u64,
    /// Caught signals.
    pub sigcatch: u64,
    /// Signal sent to the parent at exit.
    pub exit_signal: i32,
    /// Heap start.
    pub start_brk: u64,
    /// argv strings.
    pub arg_start: u64,
    /// End of argv strings.
    pub arg_end: u64,
    /// Environment strings.
    pub env_start: u64,
    /// End of environment strings.
    pub env_end: u64,
    /// Start of the stack.
    pub startstack: u64,
    /// Wait status of a zombie.
    pub exit_code: i32,
}

/// `/proc/[pid]/stat`: one line of 52 fields.
pub fn format_stat(f: &StatFields) -> Vec<u8> {
    let mut out = format!("{} (", f.pid).into_bytes();
    out.extend_from_slice(&f.comm);
    let rest = format!(
        ") {} {} {} {} {} {} {} 0 0 0 0 {} {} {} 0 20 0 {} 0 {} {} {} {} 0 0 {} 0 0 {} {} {} {} 0 0 0 {} 0 0 0 0 0 0 0 0 {} {} {} {} {} {}\n",
        f.state,
        f.ppid,
        f.pgrp,
        f.session,
        f.tty_nr,
        f.tpgid,
        // PF_FORKNOEXEC-free, PF_RANDOMIZE: what an ordinary process shows.
        0x0040_0000u32,
        f.utime,
        f.stime,
        f.cutime,
        f.num_threads,
        f.starttime,
        f.vsize,
        f.rss,
        f.rsslim,
        f.startstack,
        f.signal & 0x7fff_ffff,
        f.blocked & 0x7fff_ffff,
        f.sigignore & 0x7fff_ffff,
        f.sigcatch & 0x7fff_ffff,
        f.exit_signal,
        f.start_brk,
        f.arg_start,
        f.arg_end,
        f.env_start,
        f.env_end,
        f.exit_code,
    );
    out.extend_from_slice(rest.as_bytes());
    out
}

/// The long name of a state letter, as `/proc/[pid]/status` shows it.
pub fn state_name(state: char) -> &'static str {
    match state {
        'R' => "R (running)",
        'S' => "S (sleeping)",
        'D' => "D (disk sleep)",
        'T' => "T (stopped)",
        'Z' => "Z (zombie)",
        _ => "X (dead)",
    }
}

/// The fields of `/proc/[pid]/status`.
#[derive(Clone, Debug, Default)]
pub struct StatusFields {
    /// Thread name.
    pub name: Vec<u8>,
    /// File mode creation mask.
    pub umask: u32,
    /// R, S, T or Z.
    pub state: char,
    /// Process id.
    pub tgid: i32,
    /// Thread id.
    pub pid: i32,
    /// Parent's process id.
    pub ppid: i32,
    /// Process group.
    pub pgid: i32,
    /// Session.
    pub sid: i32,
    /// Real, effective, saved and filesystem uid.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub gids: [u32; 4],
    /// Size of the fd table.
    pub fd_size: usize,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Virtual memory size in bytes.
    pub vm_size: u64,
    /// Stack mapping size in bytes.
    pub vm_stk: u64,
    /// Threads in the process.
    pub threads: usize,
    /// Queued signals and the queue limit.
    pub sig_q: (usize, u64),
    /// Thread-directed pending signals.
    pub sig_pnd: u64,
    /// Process-directed pending signals.
    pub shd_pnd: u64,
    /// Blocked signals.
    pub sig_blk: u64,
    /// Ignored signals.
    pub sig_ign: u64,
    /// Caught signals.
    pub sig_cgt: u64,
    /// The capability sets.
    pub caps: crate::kernel::caps::CapSets,
    /// `PR_SET_NO_NEW_PRIVS`.
    pub no_new_privs: bool,
    /// CPUs the task may run on.
    pub cpus: usize,
}

/// A CPU mask in hex (`Cpus_allowed`) for `n` CPUs.
fn cpu_mask(n: usize) -> String {
    let n = n.max(1);
    let mut digits = String::new();
    let mut left = n;
    while left > 0 {
        let bits = left.min(4);
        let _ = write!(digits, "{:x}", (1u32 << bits) - 1);
        left -= bits;
    }
    // Most significant nibble first.
    digits.chars().rev().collect()
}

/// `/proc/[pid]/status`.
pub fn format_status(f: &StatusFields) -> Vec<u8> {
    let mut out = b"Name:\t".to_vec();
    out.extend(f.name.iter().flat_map(|&b| match b {
        b'\n' => b"\\n".to_vec(),
        b'\\' => b"\\\\".to_vec(),
        _ => vec![b],
    }));
    let mut s = String::new();
    let _ = writeln!(s);
    let _ = writeln!(s, "Umask:\t{:04o}", f.umask);
    let _ = writeln!(s, "State:\t{}", state_name(f.state));
    let _ = writeln!(s, "Tgid:\t{}", f.tgid);
    let _ = writeln!(s, "Ngid:\t0");
    let _ = writeln!(s, "Pid:\t{}", f.pid);
    let _ = writeln!(s, "PPid:\t{}", f.ppid);
    let _ = writeln!(s, "TracerPid:\t0");
    let [u0, u1, u2, u3] = f.uids;
    let [g0, g1, g2, g3] = f.gids;
    let _ = writeln!(s, "Uid:\t{u0}\t{u1}\t{u2}\t{u3}");
    let _ = writeln!(s, "Gid:\t{g0}\t{g1}\t{g2}\t{g3}");
    let _ = writeln!(s, "FDSize:\t{}", f.fd_size);
    s.push_str("Groups:\t");
    for g in &f.groups {
        let _ = write!(s, "{g} ");
    }
    s.push('\n');
    let _ = writeln!(s, "NStgid:\t{}", f.tgid);
    let _ = writeln!(s, "NSpid:\t{}", f.pid);
    let _ = writeln!(s, "NSpgid:\t{}", f.pgid);
    let _ = writeln!(s, "NSsid:\t{}", f.sid);
    if f.state != 'Z' {
        let kb = |b: u64| b >> 10;
        for (name, value) in [
            ("VmPeak", kb(f.vm_size)),
            ("VmSize", kb(f.vm_size)),
            ("VmLck", 0),
            ("VmPin", 0),
            ("VmHWM", 0),
            ("VmRSS", 0),
            ("RssAnon", 0),
            ("RssFile", 0),
            ("RssShmem", 0),
            ("VmData", 0),
            ("VmStk", kb(f.vm_stk)),
            ("VmExe", 0),
            ("VmLib", 0),
            ("VmPTE", 0),
            ("VmSwap", 0),
        ] {
            let _ = writeln!(s, "{name}:\t{value:>8} kB");
        }
        let _ = writeln!(s, "HugetlbPages:\t       0 kB");
        let _ = writeln!(s, "CoreDumping:\t0");
        let _ = writeln!(s, "THP_enabled:\t1");
    }
    let _ = writeln!(s, "Threads:\t{}", f.threads);
    let _ = writeln!(s, "SigQ:\t{}/{}", f.sig_q.0, f.sig_q.1);
    let _ = writeln!(s, "SigPnd:\t{:016x}", f.sig_pnd);
    let _ = writeln!(s, "ShdPnd:\t{:016x}", f.shd_pnd);
    let _ = writeln!(s, "SigBlk:\t{:016x}", f.sig_blk);
    let _ = writeln!(s, "SigIgn:\t{:016x}", f.sig_ign);
    let _ = writeln!(s, "SigCgt:\t{:016x}", f.sig_cgt);
    let _ = writeln!(s, "CapInh:\t{:016x}", f.caps.inheritable);
    let _ = writeln!(s, "CapPrm:\t{:016x}", f.caps.permitted);
    let _ = writeln!(s, "CapEff:\t{:016x}", f.caps.effective);
    let _ = writeln!(s, "CapBnd:\t{:016x}", f.caps.bounding);
    let _ = writeln!(s, "CapAmb:\t{:016x}", f.caps.ambient);
    let _ = writeln!(s, "NoNewPrivs:\t{}", u8::from(f.no_new_privs));
    let _ = writeln!(s, "Seccomp:\t0");
    let _ = writeln!(s, "Seccomp_filters:\t0");
    let _ = writeln!(s, "Speculation_Store_Bypass:\tthread vulnerable");
    let _ = writeln!(s, "Cpus_allowed:\t{}", cpu_mask(f.cpus));
    let _ = writeln!(s, "Cpus_allowed_list:\t{}", cpu_list(f.cpus));
    let _ = writeln!(s, "Mems_allowed:\t1");
    let _ = writeln!(s, "Mems_allowed_list:\t0");
    let _ = writeln!(s, "voluntary_ctxt_switches:\t0");
    let _ = writeln!(s, "nonvoluntary_ctxt_switches:\t0");
    out.extend_from_slice(s.as_bytes());
    out
}

/// A CPU list (`0-3`) for `n` CPUs.
pub fn cpu_list(n: usize) -> String {
    match n {
        0 | 1 => "0".to_string(),
        n => format!("0-{}", n - 1),
    }
}

/// `/proc/[pid]/statm` (sizes in pages).
pub fn format_statm(vm_pages: u64, resident: u64) -> String {
    format!("{vm_pages} {resident} 0 0 0 0 0\n")
}

/// The rows of `/proc/[pid]/limits`: name and unit, by `RLIMIT_*` number.
const LIMIT_NAMES: [(&str, &str); 16] = [
    ("Max cpu time", "seconds"),
    ("Max file size", "bytes"),
    ("Max data size", "bytes"),
    ("Max stack size", "bytes"),
    ("Max core file size", "bytes"),
    ("Max resident set", "bytes"),
    ("Max processes", "processes"),
    ("Max open files", "files"),
    ("Max locked memory", "bytes"),
    ("Max address space", "bytes"),
    ("Max file locks", "locks"),
    ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"),
    ("Max nice priority", ""),
    ("Max realtime priority", ""),
    ("Max realtime timeout", "us"),
];

/// `/proc/[pid]/limits`.
pub fn format_limits(limits: &[Limit]) -> String {
    let mut s = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    let show = |v: u64| {
        if v == RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    for ((name, unit), l) in LIMIT_NAMES.iter().zip(limits) {
        let _ = write!(s, "{:<25} {:<20} {:<20} ", name, show(l.cur), show(l.max));
        if !unit.is_empty() {
            let _ = write!(s, "{unit:<10}");
        }
        s.push('\n');
    }
    s
}

/// `/proc/[pid]/auxv`: the pairs as native words, ending with AT_NULL.
pub fn format_auxv(auxv: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity((auxv.len() + 1) * 16);
    for &(k, v) in auxv.iter().filter(|(k, _)| *k != 0) {
        out.extend_from_slice(&k.to_ne_bytes());
        out.extend_from_slice(&v.to_ne_bytes());
    }
    out.extend_from_slice(&[0u8; 16]);
    out
}

/// `/proc/[pid]/fdinfo/N`.
pub fn format_fdinfo(pos: u64, flags: i32, cloexec: bool, mnt_id: u64, ino: u64) -> String {
    let flags = if cloexec { flags | libc::O_CLOEXEC } else { flags };
    format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n")
}

/// `/proc/uptime`: seconds since boot and idle seconds.
pub fn format_uptime(uptime: std::time::Duration, idle: std::time::Duration) -> String {
    let cs = |d: std::time::Duration| d.as_millis() / 10;
    let (u, i) = (cs(uptime), cs(idle));
    format!("{}.{:02} {}.{:02}\n", u / 100, u % 100, i / 100, i % 100)
}

/// `/proc/loadavg`: no load history is kept, so the averages are zero.
pub fn format_loadavg(running: usize, total: usize, last_pid: i32) -> String {
    format!("0.00 0.00 0.00 {running}/{total} {last_pid}\n")
}

/// Memory figures for `/proc/meminfo`, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemFigures {
    /// Total RAM.
    pub total: u64,
    /// Free RAM.
    pub free: u64,
    /// Buffers.
    pub buffers: u64,
    /// Shared memory.
    pub shared: u64,
    /// Total swap.
    pub swap_total: u64,
    /// Free swap.
    pub swap_free: u64,
}

/// `/proc/meminfo`.
pub fn format_meminfo(m: &MemFigures) -> String {
    let kb = |b: u64| b >> 10;
    let available = m.free.saturating_add(m.buffers).min(m.total);
    let rows: [(&str, u64); 21] = [
        ("MemTotal", kb(m.total)),
        ("MemFree", kb(m.free)),
        ("MemAvailable", kb(available)),
        ("Buffers", kb(m.buffers)),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", kb(m.swap_total)),
        ("SwapFree", kb(m.swap_free)),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", 0),
        ("Mapped", 0),
        ("Shmem", kb(m.shared)),
        ("CommitLimit", kb(m.total / 2 + m.swap_total)),
        ("Committed_AS", kb(m.total.saturating_sub(m.free))),
        ("VmallocTotal", 34_359_738_367),
        ("VmallocUsed", 0),
    ];
    let mut s = String::new();
    for (name, v) in rows {
        let label = format!("{name}:");
        let _ = writeln!(s, "{label:<15} {v:>8} kB");
    }
    s
}

/// `/proc/stat`: CPU times are not accounted, so they are zero.
pub fn format_proc_stat(cpus: usize, btime: u64, processes: u64, running: usize) -> String {
    let zeros = "0 0 0 0 0 0 0 0 0 0";
    let mut s = format!("cpu  {zeros}\n");
    for i in 0..cpus.max(1) {
        let _ = writeln!(s, "cpu{i} {zeros}");
    }
    let _ = writeln!(s, "intr 0");
    let _ = writeln!(s, "ctxt 0");
    let _ = writeln!(s, "btime {btime}");
    let _ = writeln!(s, "processes {processes}");
    let _ = writeln!(s, "procs_running {}", running.max(1));
    let _ = writeln!(s, "procs_blocked 0");
    let _ = writeln!(s, "softirq 0 0 0 0 0 0 0 0 0 0 0");
    s
}

/// One mount for `/proc/[pid]/mounts` and `mountinfo`.
#[derive(Clone, Debug)]
pub struct MountLine {
    /// Mount id.
    pub id: u64,
    /// Parent mount id (its own id for the root mount).
    pub parent: u64,
    /// Device of the mounted filesystem.
    pub dev: (u32, u32),
    /// The mount's root inside its filesystem ("/" unless a bind of a subtree).
    pub root: Vec<u8>,
    /// Where it is mounted, relative to the reader's root.
    pub mount_point: Vec<u8>,
    /// Filesystem type name.
    pub fstype: &'static str,
    /// Mount source.
    pub source: String,
    /// The mount's flags (`vfs::mount::flags`).
    pub flags: u32,
    /// The filesystem's own options (`size=64k,mode=755`), maybe empty.
    pub super_opts: String,
}

impl MountLine {
    fn rw(&self) -> &'static str {
        if self.flags & crate::vfs::mount::flags::RDONLY != 0 {
            "ro"
        } else {
            "rw"
        }
    }

    /// `rw,nosuid,nodev,noexec,relatime`, as Linux's `show_mnt_opts`.
    fn mount_opts(&self) -> String {
        use crate::vfs::mount::flags;
        let mut s = self.rw().to_string();
        for (bit, name) in [
            (flags::NOSUID, "nosuid"),
            (flags::NODEV, "nodev"),
            (flags::NOEXEC, "noexec"),
            (flags::NOATIME, "noatime"),
            (flags::NODIRATIME, "nodiratime"),
            (flags::RELATIME, "relatime"),
        ] {
            if self.flags & bit != 0 {
                s.push(',');
                s.push_str(name);
            }
        }
        s
    }

    fn with_super(&self, base: String) -> String {
        if self.super_opts.is_empty() {
            base
        } else {
            format!("{base},{}", self.super_opts)
        }
    }
}

/// Escapes a path as the kernel's `seq_path` does for mount tables.
fn escape_mount_path(p: &[u8]) -> String {
    let mut s = String::new();
    for &b in p {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(s, "\\{b:03o}");
            }
            _ => s.push(b as char),
        }
    }
    s
}

/// `/proc/[pid]/mounts`.
pub fn format_mounts(mounts: &[MountLine]) -> String {
    let mut s = String::new();
    for m in mounts {
        let _ = writeln!(
            s,
            "{} {} {} {} 0 0",
            escape_mount_path(m.source.as_bytes()),
            escape_mount_path(&m.mount_point),
            m.fstype,
            m.with_super(m.mount_opts()),
        );
    }
    s
}

/// `/proc/[pid]/mountinfo` (every mount is private: no optional fields).
pub fn format_mountinfo(mounts: &[MountLine]) -> String {
    let mut s = String::new();
    for m in mounts {
        let _ = writeln!(
            s,
            "{} {} {}:{} {} {} {} - {} {} {}",
            m.id,
            m.parent,
            m.dev.0,
            m.dev.1,
            escape_mount_path(&m.root),
            escape_mount_path(&m.mount_point),
            m.mount_opts(),
            m.fstype,
            escape_mount_path(m.source.as_bytes()),
            m.with_super(m.rw().to_string()),
        );
    }
    s
}

/// The filesystem type name for a statfs magic number.
pub fn fstype_name(magic: i64) -> &'static str {
    match magic {
        0x9fa0 => "proc",
        0x6265_6572 => "sysfs",
        0x0102_1994 => "tmpfs",
        0xef53 => "ext4",
        0x794c_7630 => "overlay",
        0x5846_5342 => "xfs",
        0x9123_683e => "btrfs",
        0x1cd1 => "devpts",
        0x1980_0202 => "mqueue",
        0x6367_7270 => "cgroup2",
        _ => "9p",
    }
}

/// `/proc/filesystems`.
pub fn format_filesystems() -> &'static str {
    "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tdevpts\nnodev\t9p\nnodev\toverlay\nnodev\tpipefs\nnodev\tsockfs\nnodev\tmqueue\nnodev\tcgroup2\n"
}

/// `/proc/version`, from the sandbox's own release strings.
pub fn format_version() -> String {
    format!(
        "Linux version {} (root@rvisor) (rvisor) {}\n",
        crate::kernel::UTS_RELEASE,
        crate::kernel::UTS_VERSION
    )
}

/// The part of one `/proc/cpuinfo` block that is the same on every CPU.
#[derive(Clone, Debug, Default)]
pub struct CpuId {
    /// `GenuineIntel`, `AuthenticAMD`, ...
    pub vendor: String,
    /// Display family.
    pub family: u32,
    /// Display model.
    pub model: u32,
    /// Stepping.
    pub stepping: u32,
    /// Brand string.
    pub model_name: String,
    /// Feature flag names.
    pub flags: Vec<&'static str>,
    /// Highest basic CPUID leaf.
    pub level: u32,
}

/// `/proc/cpuinfo`: one block per CPU, separated by blank lines.
pub fn format_cpuinfo(id: &CpuId, cpus: usize) -> String {
    let mut s = String::new();
    let n = cpus.max(1);
    for i in 0..n {
        let _ = writeln!(s, "processor\t: {i}");
        let _ = writeln!(s, "vendor_id\t: {}", id.vendor);
        let _ = writeln!(s, "cpu family\t: {}", id.family);
        let _ = writeln!(s, "model\t\t: {}", id.model);
        let _ = writeln!(s, "model name\t: {}", id.model_name);
        let _ = writeln!(s, "stepping\t: {}", id.stepping);
        let _ = writeln!(s, "cpu MHz\t\t: 2000.000");
        let _ = writeln!(s, "physical id\t: 0");
        let _ = writeln!(s, "siblings\t: {n}");
        let _ = writeln!(s, "core id\t\t: {i}");
        let _ = writeln!(s, "cpu cores\t: {n}");
        let _ = writeln!(s, "apicid\t\t: {i}");
        let _ = writeln!(s, "initial apicid\t: {i}");
        let _ = writeln!(s, "fpu\t\t: yes");
        let _ = writeln!(s, "fpu_exception\t: yes");
        let _ = writeln!(s, "cpuid level\t: {}", id.level);
        let _ = writeln!(s, "wp\t\t: yes");
        let _ = writeln!(s, "flags\t\t: {}", id.flags.join(" "));
        let _ = writeln!(s, "bogomips\t: 4000.00");
        let _ = writeln!(s, "clflush size\t: 64");
        let _ = writeln!(s, "cache_alignment\t: 64");
        let _ = writeln!(s, "address sizes\t: 46 bits physical, 48 bits virtual");
        let _ = writeln!(s, "power management:");
        s.push('\n');
    }
    s
}

/// Feature names of CPUID leaf 1 EDX, by bit.
const LEAF1_EDX: [(u32, &str); 26] = [
    (0, "fpu"),
    (1, "vme"),
    (2, "de"),
    (3, "pse"),
    (4, "tsc"),
    (5, "msr"),
    (6, "pae"),
    (7, "mce"),
    (8, "cx8"),
    (9, "apic"),
    (11, "sep"),
    (12, "mtrr"),
    (13, "pge"),
    (14, "mca"),
    (15, "cmov"),
    (16, "pat"),
    (17, "pse36"),
    (19, "clflush"),
    (21, "dts"),
    (22, "acpi"),
    (23, "mmx"),
    (24, "fxsr"),
    (25, "sse"),
    (26, "sse2"),
    (27, "ss"),
    (28, "ht"),
];

/// Feature names of CPUID leaf 1 ECX, by bit.
const LEAF1_ECX: [(u32, &str); 21] = [
    (0, "pni"),
    (1, "pclmulqdq"),
    (3, "monitor"),
    (9, "ssse3"),
    (12, "fma"),
    (13, "cx16"),
    (17, "pcid"),
    (19, "sse4_1"),
    (20, "sse4_2"),
    (21, "x2apic"),
    (22, "movbe"),
    (23, "popcnt"),
    (24, "tsc_deadline_timer"),
    (25, "aes"),
    (26, "xsave"),
    (28, "avx"),
    (29, "f16c"),
    (30, "rdrand"),
    (31, "hypervisor"),
    (5, "vmx"),
    (7, "est"),
];

/// Feature names of CPUID leaf 7 EBX, by bit.
const LEAF7_EBX: [(u32, &str); 17] = [
    (0, "fsgsbase"),
    (3, "bmi1"),
    (4, "hle"),
    (5, "avx2"),
    (7, "smep"),
    (8, "bmi2"),
    (9, "erms"),
    (10, "invpcid"),
    (11, "rtm"),
    (16, "avx512f"),
    (17, "avx512dq"),
    (18, "rdseed"),
    (19, "adx"),
    (20, "smap"),
    (23, "clflushopt"),
    (29, "sha_ni"),
    (30, "avx512bw"),
];

/// The flag names set in CPUID leaf 1 (EDX, ECX) and leaf 7 (EBX).
pub fn cpu_flags(l1_edx: u32, l1_ecx: u32, l7_ebx: u32) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |table: &[(u32, &'static str)], reg: u32| {
        let mut sorted: Vec<_> = table.to_vec();
        sorted.sort_by_key(|&(bit, _)| bit);
        out.extend(sorted.iter().filter(|(bit, _)| reg & (1 << bit) != 0).map(|&(_, n)| n));
    };
    add(&LEAF1_EDX, l1_edx);
    add(&LEAF1_ECX, l1_ecx);
    add(&LEAF7_EBX, l7_ebx);
    out
}

/// The display family and model from CPUID leaf 1 EAX (Intel's rules).
pub fn family_model_stepping(eax: u32) -> (u32, u32, u32) {
    let stepping = eax & 0xf;
    let base_model = (eax >> 4) & 0xf;
    let base_family = (eax >> 8) & 0xf;
    let ext_model = (eax >> 16) & 0xf;
    let ext_family = (eax >> 20) & 0xff;
    let family = if base_family == 0xf {
        base_family + ext_family
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xf {
        (ext_model << 4) | base_model
    } else {
        base_model
    };
    (family, model, stepping)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_has_52_fields_and_keeps_odd_comm() {
        let f = StatFields {
            pid: 7,
            comm: b"a) b".to_vec(),
            state: 'S',
            ppid: 1,
            pgrp: 7,
            session: 1,
            tpgid: -1,
            num_threads: 3,
            starttime: 42,
            exit_signal: 17,
            ..StatFields::default()
        };
        let line = String::from_utf8(format_stat(&f)).unwrap();
        assert!(line.starts_with("7 (a) b) S 1 7 1 0 -1 "), "{line}");
        assert!(line.ends_with('\n'));
        // Fields after the last ')' (as procps parses): state is field 3.
        let rest = &line[line.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(fields.len() + 2, 52);
        assert_eq!(fields[20 - 3], "3", "num_threads");
        assert_eq!(fields[22 - 3], "42", "starttime");
        assert_eq!(fields[38 - 3], "17", "exit_signal");
    }

    #[test]
    fn status_has_the_fields_tools_parse() {
        let f = StatusFields {
            name: b"cat".to_vec(),
            umask: 0o22,
            state: 'R',
            tgid: 5,
            pid: 6,
            ppid: 1,
            uids: [1000, 1000, 1000, 1000],
            gids: [100, 100, 100, 100],
            fd_size: 64,
            groups: vec![4, 24],
            threads: 2,
            sig_blk: 1 << 9,
            caps: crate::kernel::caps::CapSets::default_for(1000),
            cpus: 2,
            ..StatusFields::default()
        };
        let s = String::from_utf8(format_status(&f)).unwrap();
        for want in [
            "Name:\tcat\n",
            "Umask:\t0022\n",
            "State:\tR (running)\n",
            "Tgid:\t5\n",
            "Pid:\t6\n",
            "PPid:\t1\n",
            "TracerPid:\t0\n",
            "Uid:\t1000\t1000\t1000\t1000\n",
            "Gid:\t100\t100\t100\t100\n",
            "Groups:\t4 24 \n",
            "NStgid:\t5\n",
            "Threads:\t2\n",
            "SigBlk:\t0000000000000200\n",
            "CapEff:\t0000000000000000\n",
            "CapBnd:\t000001ffffffffff\n",
            "Seccomp:\t0\n",
            "Cpus_allowed:\t3\n",
            "Cpus_allowed_list:\t0-1\n",
            "VmSize:\t       0 kB\n",
        ] {
            assert!(s.contains(want), "missing {want:?} in\n{s}");
        }
        let zombie = String::from_utf8(format_status(&StatusFields { state: 'Z', ..f })).unwrap();
        assert!(zombie.contains("State:\tZ (zombie)\n"));
        assert!(!zombie.contains("VmSize"));
    }

    #[test]
    fn cpu_masks() {
        assert_eq!(cpu_mask(1), "1");
        assert_eq!(cpu_mask(4), "f");
        assert_eq!(cpu_mask(6), "3f");
        assert_eq!(cpu_mask(8), "ff");
        assert_eq!(cpu_list(1), "0");
        assert_eq!(cpu_list(8), "0-7");
    }

    #[test]
    fn limits_table_matches_linux_layout() {
        let l = crate::kernel::limits::Limits::default();
        let s = format_limits(&l.0);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 17);
        assert_eq!(
            lines[0],
            "Limit                     Soft Limit           Hard Limit           Units     "
        );
        assert_eq!(
            lines[4],
            "Max stack size            8388608              unlimited            bytes     "
        );
        assert_eq!(
            lines[15],
            "Max realtime priority     0                    0                    "
        );
    }

    #[test]
    fn auxv_ends_with_null_pair() {
        let b = format_auxv(&[(6, 4096), (0, 0)]);
        assert_eq!(b.len(), 32);
        assert_eq!(&b[0..8], &6u64.to_ne_bytes());
        assert_eq!(&b[8..16], &4096u64.to_ne_bytes());
        assert_eq!(&b[16..], &[0u8; 16]);
    }

    #[test]
    fn small_files() {
        assert_eq!(
            format_uptime(std::time::Duration::from_millis(12_345), std::time::Duration::ZERO),
            "12.34 0.00\n"
        );
        assert_eq!(format_loadavg(1, 3, 9), "0.00 0.00 0.00 1/3 9\n");
        assert_eq!(format_statm(10, 0), "10 0 0 0 0 0 0\n");
        assert_eq!(
            format_fdinfo(5, libc::O_RDONLY, true, 3, 9),
            "pos:\t5\nflags:\t02000000\nmnt_id:\t3\nino:\t9\n"
        );
        assert!(format_version().starts_with("Linux version 4.4.0-rvisor "));
    }

    #[test]
    fn meminfo_rows_align_like_linux() {
        let s = format_meminfo(&MemFigures {
            total: 16 << 30,
            free: 8 << 30,
            ..MemFigures::default()
        });
        let first = s.lines().next().unwrap();
        assert_eq!(first, "MemTotal:       16777216 kB");
        assert!(s.contains("\nMemFree:         8388608 kB\n"));
        assert!(s.contains("\nMemAvailable:    8388608 kB\n"));
    }

    #[test]
    fn proc_stat_lists_each_cpu_and_btime() {
        let s = format_proc_stat(2, 1_700_000_000, 4, 1);
        assert!(s.starts_with("cpu  0 "));
        assert!(s.contains("\ncpu0 0 "));
        assert!(s.contains("\ncpu1 0 "));
        assert!(!s.contains("\ncpu2 "));
        assert!(s.contains("\nbtime 1700000000\n"));
        assert!(s.contains("\nprocesses 4\n"));
    }

    #[test]
    fn mount_tables() {
        use crate::vfs::mount::flags;
        let m = [
            MountLine {
                id: 1,
                parent: 1,
                dev: (0, 20),
                root: b"/".to_vec(),
                mount_point: b"/".to_vec(),
                fstype: "9p",
                source: "none".into(),
                flags: flags::RDONLY | flags::RELATIME,
                super_opts: String::new(),
            },
            MountLine {
                id: 3,
                parent: 1,
                dev: (0, 21),
                root: b"/".to_vec(),
                mount_point: b"/a b".to_vec(),
                fstype: "proc",
                source: "proc".into(),
                flags: flags::NOSUID | flags::NODEV | flags::NOEXEC,
                super_opts: String::new(),
            },
            MountLine {
                id: 4,
                parent: 3,
                dev: (0, 22),
                root: b"/sub".to_vec(),
                mount_point: b"/t".to_vec(),
                fstype: "tmpfs",
                source: "tmpfs".into(),
                flags: flags::RELATIME,
                super_opts: "size=64k,inode64".into(),
            },
        ];
        assert_eq!(
            format_mounts(&m),
            "none / 9p ro,relatime 0 0\nproc /a\\040b proc rw,nosuid,nodev,noexec 0 0\n\
             tmpfs /t tmpfs rw,relatime,size=64k,inode64 0 0\n"
        );
        assert_eq!(
            format_mountinfo(&m),
            "1 1 0:20 / / ro,relatime - 9p none ro\n3 1 0:21 / /a\\040b rw,nosuid,nodev,noexec - proc proc rw\n\
             4 3 0:22 /sub /t rw,relatime - tmpfs tmpfs rw,size=64k,inode64\n"
        );
    }

    #[test]
    fn cpu_identity() {
        // An Intel family 6 model 0x55 stepping 4 signature.
        assert_eq!(family_model_stepping(0x0005_0654), (6, 0x55, 4));
        // AMD family 0x17: base family 0xf plus extended family 8.
        assert_eq!(family_model_stepping(0x0080_0f12), (0x17, 1, 2));
        let flags = cpu_flags(1 | (1 << 25) | (1 << 26), 1 << 20, 1 << 5);
        assert_eq!(flags, vec!["fpu", "sse", "sse2", "sse4_2", "avx2"]);
        let info = format_cpuinfo(
            &CpuId {
                vendor: "GenuineIntel".into(),
                flags,
                ..CpuId::default()
            },
            2,
        );
        assert_eq!(info.matches("processor\t: ").count(), 2);
        assert!(info.contains("processor\t: 1\n"));
        assert!(info.contains("flags\t\t: fpu sse sse2 sse4_2 avx2\n"));
        assert!(info.ends_with("\n\n"));
    }
}
