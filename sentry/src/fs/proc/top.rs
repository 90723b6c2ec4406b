//! The top of `/proc`: the live pids, `self` and `thread-self`, the
//! system-wide files (meminfo, uptime, stat, cpuinfo, ...) and `/proc/sys`.
//! Everything is the sandbox's own view: no host path is ever read.

use super::nodes::{Attr, DirSource, Entry, ProcDir, ProcFile, ProcLink, StaticEntries};
use super::pid::{kernel_ref, pid_dir, Target};
use super::text::{self, MountLine};
use crate::kernel::{self, UTS_RELEASE, UTS_VERSION};
use crate::vfs::inode::{major, minor};
use crate::vfs::{Inode, Location};
use std::sync::Arc;
use syscalls::Errno;

/// `/proc/sys/kernel/pid_max` (the kernel's pid allocator wraps there).
const PID_MAX: &str = "4194304\n";

/// The CPUs the sandbox may use (the sentry's own affinity).
pub fn cpu_count() -> usize {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into `set`.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return 1;
    }
    // SAFETY: CPU_COUNT only reads the initialised set.
    (unsafe { libc::CPU_COUNT(&set) }).max(1) as usize
}

/// The sandbox's mounts in mount order, as seen from `root` (the reading
/// task's root; mounts outside it are not shown, as in Linux).
fn mount_lines(root: Option<&Location>) -> Result<Vec<MountLine>, Errno> {
    let k = kernel_ref()?;
    let root = root.cloned().unwrap_or_else(|| k.vfs.root());
    let mut out = Vec::new();
    for m in k.vfs.mounts() {
        let (at, parent) = match &m.parent {
            Some((pm, pd)) => (
                Location {
                    mount: pm.clone(),
                    dentry: pd.clone(),
                },
                pm.id,
            ),
            None => (
                Location {
                    mount: m.clone(),
                    dentry: m.root.clone(),
                },
                m.id,
            ),
        };
        let is_root = Arc::ptr_eq(&m, &root.mount) && Arc::ptr_eq(&m.root, &root.dentry);
        let Some(mount_point) = (if is_root {
            Some(b"/".to_vec())
        } else {
            at.path_from(&root)
        }) else {
            continue;
        };
        let dev = m.root.inode.stat().map(|s| s.st_dev).unwrap_or(0);
        out.push(MountLine {
            id: m.id,
            parent,
            dev: (major(dev), minor(dev)),
            root: m.root_path(),
            mount_point,
            fstype: m.fstype,
            source: m.source.clone(),
            flags: m.flags(),
            super_opts: m.fs.show_options(),
        });
    }
    Ok(out)
}

/// `/proc/[pid]/mounts` for a task whose root is `root`.
pub fn gen_mounts(root: Option<&Location>) -> Result<Vec<u8>, Errno> {
    Ok(text::format_mounts(&mount_lines(root)?).into_bytes())
}

/// `/proc/[pid]/mountinfo` for a task whose root is `root`.
pub fn gen_mountinfo(root: Option<&Location>) -> Result<Vec<u8>, Errno> {
    Ok(text::format_mountinfo(&mount_lines(root)?).into_bytes())
}

fn gen_meminfo() -> Result<Vec<u8>, Errno> {
    // SAFETY: an all-zero sysinfo is valid plain data.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: sysinfo writes one struct sysinfo into `si`.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return Err(Errno::last());
    }
    let unit = u64::from(si.mem_unit.max(1));
    let m = text::MemFigures {
        total: si.totalram * unit,
        free: si.freeram * unit,
        buffers: si.bufferram * unit,
        shared: si.sharedram * unit,
        swap_total: si.totalswap * unit,
        swap_free: si.freeswap * unit,
    };
    Ok(text::format_meminfo(&m).into_bytes())
}

fn gen_uptime() -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    Ok(text::format_uptime(k.boot_time.elapsed(), std::time::Duration::ZERO).into_bytes())
}

/// Running and total tasks, and the highest id in use.
fn task_counts() -> Result<(usize, usize, i32), Errno> {
    let k = kernel_ref()?;
    let table = k.table.lock().map_err(|_| Errno::EIO)?;
    let running = table
        .tasks
        .values()
        .filter(|t| t.in_guest.load(std::sync::atomic::Ordering::SeqCst))
        .count();
    let last = table
        .tasks
        .keys()
        .chain(table.groups.keys())
        .copied()
        .max()
        .unwrap_or(0);
    // The reader itself is running too.
    Ok((running + 1, table.tasks.len(), last))
}

fn gen_loadavg() -> Result<Vec<u8>, Errno> {
    let (running, total, last) = task_counts()?;
    Ok(text::format_loadavg(running.min(total.max(1)), total, last).into_bytes())
}

fn gen_stat() -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let btime = now.saturating_sub(k.boot_time.elapsed().as_secs());
    let (running, _, last) = task_counts()?;
    Ok(text::format_proc_stat(cpu_count(), btime, last.max(0) as u64, running).into_bytes())
}

/// CPUID leaf `leaf`, subleaf `sub`: (eax, ebx, ecx, edx).
fn cpuid(leaf: u32, sub: u32) -> (u32, u32, u32, u32) {
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 CPU and only reads registers.
    let r = unsafe { std::arch::x86_64::__cpuid_count(leaf, sub) };
    (r.eax, r.ebx, r.ecx, r.edx)
}

fn gen_cpuinfo() -> Result<Vec<u8>, Errno> {
    let (level, b, c, d) = cpuid(0, 0);
    let vendor: Vec<u8> = [b, d, c].iter().flat_map(|r| r.to_le_bytes()).collect();
    let (eax1, _, ecx1, edx1) = cpuid(1, 0);
    let ebx7 = if level >= 7 { cpuid(7, 0).1 } else { 0 };
    let (family, model, stepping) = text::family_model_stepping(eax1);
    let mut brand = Vec::new();
    if cpuid(0x8000_0000, 0).0 >= 0x8000_0004 {
        for leaf in 0x8000_0002..=0x8000_0004 {
            let (a, b, c, d) = cpuid(leaf, 0);
            for r in [a, b, c, d] {
                brand.extend_from_slice(&r.to_le_bytes());
            }
        }
    }
    let brand = String::from_utf8_lossy(&brand)
        .trim_matches(char::from(0))
        .trim()
        .to_string();
    let id = text::CpuId {
        vendor: String::from_utf8_lossy(&vendor).into_owned(),
        family,
        model,
        stepping,
        model_name: brand,
        flags: text::cpu_flags(edx1, ecx1, ebx7),
        level,
    };
    Ok(text::format_cpuinfo(&id, cpu_count()).into_bytes())
}

fn gen_hostname() -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let name = k.hostname.lock().map_err(|_| Errno::EIO)?.clone();
    Ok(format!("{name}\n").into_bytes())
}

fn gen_domainname() -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let name = k.domainname.lock().map_err(|_| Errno::EIO)?.clone();
    Ok(format!("{name}\n").into_bytes())
}

/// A random UUID in the kernel's text form.
fn uuid() -> String {
    let mut b = [0u8; 16];
    // SAFETY: getrandom writes at most 16 bytes into `b`.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}\n",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn gen_boot_id() -> Result<Vec<u8>, Errno> {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Ok(ID.get_or_init(uuid).clone().into_bytes())
}

fn dir(key: &str, entries: Vec<(&'static str, Arc<dyn Inode>)>) -> Arc<dyn Inode> {
    ProcDir::node(
        key.to_string(),
        Attr::root(libc::S_IFDIR | 0o555),
        StaticEntries(entries),
    )
}

fn generated(key: &str, f: fn() -> Result<Vec<u8>, Errno>) -> Arc<dyn Inode> {
    ProcFile::node(key, Attr::root(libc::S_IFREG | 0o444), Box::new(f))
}

/// `/proc/sys`: the tunables programs read (all read-only).
fn sys_dir() -> Arc<dyn Inode> {
    let fixed = ProcFile::fixed;
    let kernel_dir = dir(
        "sys/kernel",
        vec![
            ("cap_last_cap", fixed("sys/kernel/cap_last_cap", "40\n")),
            ("domainname", generated("sys/kernel/domainname", gen_domainname)),
            ("hostname", generated("sys/kernel/hostname", gen_hostname)),
            ("ngroups_max", fixed("sys/kernel/ngroups_max", "65536\n")),
            (
                "osrelease",
                ProcFile::fixed("sys/kernel/osrelease", format!("{UTS_RELEASE}\n")),
            ),
            ("ostype", fixed("sys/kernel/ostype", "Linux\n")),
            ("overflowgid", fixed("sys/kernel/overflowgid", "65534\n")),
            ("overflowuid", fixed("sys/kernel/overflowuid", "65534\n")),
            ("pid_max", fixed("sys/kernel/pid_max", PID_MAX)),
            (
                "random",
                dir(
                    "sys/kernel/random",
                    vec![
                        ("boot_id", generated("sys/kernel/random/boot_id", gen_boot_id)),
                        ("uuid", generated("sys/kernel/random/uuid", || Ok(uuid().into_bytes()))),
                    ],
                ),
            ),
            ("shmall", fixed("sys/kernel/shmall", "18446744073692774399\n")),
            ("shmmax", fixed("sys/kernel/shmmax", "18446744073692774399\n")),
            ("shmmni", fixed("sys/kernel/shmmni", "4096\n")),
            ("threads-max", fixed("sys/kernel/threads-max", "257185\n")),
            (
                "version",
                ProcFile::fixed("sys/kernel/version", format!("{UTS_VERSION}\n")),
            ),
        ],
    );
    let vm = dir(
        "sys/vm",
        vec![
            ("max_map_count", fixed("sys/vm/max_map_count", "65530\n")),
            ("mmap_min_addr", fixed("sys/vm/mmap_min_addr", "65536\n")),
            ("overcommit_memory", fixed("sys/vm/overcommit_memory", "0\n")),
        ],
    );
    let fs = dir(
        "sys/fs",
        vec![
            ("file-max", fixed("sys/fs/file-max", "9223372036854775807\n")),
            (
                "inotify",
                dir(
                    "sys/fs/inotify",
                    vec![
                        (
                            "max_queued_events",
                            fixed("sys/fs/inotify/max_queued_events", "16384\n"),
                        ),
                        (
                            "max_user_instances",
                            fixed("sys/fs/inotify/max_user_instances", "128\n"),
                        ),
                        ("max_user_watches", fixed("sys/fs/inotify/max_user_watches", "65536\n")),
                    ],
                ),
            ),
            ("nr_open", fixed("sys/fs/nr_open", "1048576\n")),
            ("pipe-max-size", fixed("sys/fs/pipe-max-size", "1048576\n")),
        ],
    );
    let net = dir(
        "sys/net",
        vec![
            (
                "core",
                dir(
                    "sys/net/core",
                    vec![("somaxconn", fixed("sys/net/core/somaxconn", "4096\n"))],
                ),
            ),
            (
                "ipv4",
                dir(
                    "sys/net/ipv4",
                    vec![(
                        "ip_local_port_range",
                        fixed("sys/net/ipv4/ip_local_port_range", "32768\t60999\n"),
                    )],
                ),
            ),
        ],
    );
    dir(
        "sys",
        vec![("fs", fs), ("kernel", kernel_dir), ("net", net), ("vm", vm)],
    )
}

/// The reading task's process and thread ids.
fn reader_ids() -> Option<(i32, i32)> {
    kernel::current_task().map(|t| (t.tg.tgid, t.tid))
}

/// The root of `/proc`.
struct RootDir {
    fixed: Vec<(&'static str, Arc<dyn Inode>)>,
}

impl DirSource for RootDir {
    fn entries(&self) -> Vec<Entry> {
        let mut out = StaticEntries(self.fixed.clone()).entries();
        if let Ok(k) = kernel_ref() {
            let mut pids: Vec<i32> = k.groups().iter().map(|g| g.tgid).collect();
            pids.sort_unstable();
            out.extend(pids.into_iter().map(|p| Entry::new(p.to_string(), libc::S_IFDIR)));
        }
        out
    }

    fn lookup(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        if let Some((_, node)) = self.fixed.iter().find(|(n, _)| n.as_bytes() == name) {
            return Some(node.clone());
        }
        let id: i32 = std::str::from_utf8(name).ok()?.parse().ok()?;
        if id <= 0 || id.to_string().as_bytes() != name {
            return None;
        }
        let k = kernel_ref().ok()?;
        if k.group(id).is_some() {
            return Some(pid_dir(Target { tgid: id, tid: None }));
        }
        // A thread id that is not a process id still resolves (unlisted), as in Linux.
        let task = k.task(id)?;
        Some(pid_dir(Target {
            tgid: task.tg.tgid,
            tid: Some(id),
        }))
    }
}

/// The root directory of a procfs mount.
pub fn root() -> Arc<dyn Inode> {
    let link = |key: &str, f: fn() -> Result<Vec<u8>, Errno>| ProcLink::node(key, 0, 0, Box::new(f));
    let fixed: Vec<(&'static str, Arc<dyn Inode>)> = vec![
        (
            "cmdline",
            ProcFile::fixed("cmdline", format!("BOOT_IMAGE=/vmlinuz-{UTS_RELEASE} ro\n")),
        ),
        ("cpuinfo", generated("cpuinfo", gen_cpuinfo)),
        (
            "filesystems",
            ProcFile::fixed("filesystems", text::format_filesystems()),
        ),
        ("loadavg", generated("loadavg", gen_loadavg)),
        ("meminfo", generated("meminfo", gen_meminfo)),
        ("mounts", link("mounts", || Ok(b"self/mounts".to_vec()))),
        ("net", link("net", || Ok(b"self/net".to_vec()))),
        (
            "self",
            link("self", || {
                reader_ids()
                    .map(|(tgid, _)| tgid.to_string().into_bytes())
                    .ok_or(Errno::ENOENT)
            }),
        ),
        ("stat", generated("stat", gen_stat)),
        (
            "swaps",
            ProcFile::fixed("swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"),
        ),
        ("sys", sys_dir()),
        (
            "thread-self",
            link("thread-self", || {
                reader_ids()
                    .map(|(tgid, tid)| format!("{tgid}/task/{tid}").into_bytes())
                    .ok_or(Errno::ENOENT)
            }),
        ),
        ("uptime", generated("uptime", gen_uptime)),
        ("version", ProcFile::fixed("version", text::format_version())),
    ];
    ProcDir::node(String::new(), Attr::root(libc::S_IFDIR | 0o555), RootDir { fixed })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(node: &Arc<dyn Inode>) -> Vec<u8> {
        let ops = node.open(libc::O_RDONLY).unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let n = ops.read(&mut buf, 0, false).unwrap();
        buf.truncate(n);
        buf
    }

    fn walk(path: &[&str]) -> Option<Arc<dyn Inode>> {
        let mut node = root();
        for p in path {
            node = node.lookup(&[p.as_bytes()]).unwrap().into_iter().next()?;
        }
        Some(node)
    }

    #[test]
    fn root_lists_system_files_and_no_pids_without_a_kernel() {
        let r = root();
        let names: Vec<String> = r
            .readdir(0, 100)
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect();
        for want in ["cpuinfo", "meminfo", "self", "sys", "thread-self", "uptime", "version"] {
            assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
        }
        assert!(walk(&["1"]).is_none());
        assert!(walk(&["01"]).is_none());
    }

    #[test]
    fn sys_files_have_the_sandbox_values() {
        assert_eq!(read(&walk(&["sys", "kernel", "ostype"]).unwrap()), b"Linux\n");
        assert_eq!(
            read(&walk(&["sys", "kernel", "osrelease"]).unwrap()),
            format!("{UTS_RELEASE}\n").as_bytes()
        );
        assert_eq!(read(&walk(&["sys", "kernel", "pid_max"]).unwrap()), b"4194304\n");
        assert_eq!(read(&walk(&["sys", "fs", "nr_open"]).unwrap()), b"1048576\n");
        assert_eq!(read(&walk(&["sys", "vm", "overcommit_memory"]).unwrap()), b"0\n");
        let id = read(&walk(&["sys", "kernel", "random", "boot_id"]).unwrap());
        assert_eq!(id.len(), 37);
        assert_eq!(read(&walk(&["sys", "kernel", "random", "boot_id"]).unwrap()), id);
    }

    #[test]
    fn cpuinfo_and_meminfo_are_synthesised() {
        let info = String::from_utf8(read(&walk(&["cpuinfo"]).unwrap())).unwrap();
        assert_eq!(info.matches("processor\t: ").count(), cpu_count());
        assert!(info.contains("flags\t\t: fpu "), "{info}");
        let mem = String::from_utf8(read(&walk(&["meminfo"]).unwrap())).unwrap();
        assert!(mem.starts_with("MemTotal:"));
        let version = String::from_utf8(read(&walk(&["version"]).unwrap())).unwrap();
        assert!(version.contains(UTS_RELEASE));
    }

    #[test]
    fn links_and_readonly_files() {
        assert_eq!(walk(&["mounts"]).unwrap().readlink().unwrap(), b"self/mounts");
        // No reading task outside the sandbox: self does not resolve.
        assert_eq!(walk(&["self"]).unwrap().readlink(), Err(Errno::ENOENT));
        assert!(matches!(
            walk(&["version"]).unwrap().open(libc::O_RDWR),
            Err(Errno::EACCES)
        ));
    }
}
