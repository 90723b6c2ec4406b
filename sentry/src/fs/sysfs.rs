//! sysfs: the few files programs read from /sys, built from the sandbox's
//! own view (never the host's /sys): the CPUs the sandbox may use, the
//! transparent hugepage policy, and /sys/fs/cgroup (empty unless a cgroup
//! filesystem is mounted on it). Also the read-only cgroup2 view mounted
//! for OCI `cgroup` mounts.

use super::synthetic::{anon_dev, StaticDir, StaticFile};
use crate::vfs::{FileSystem, Inode};
use std::sync::Arc;

/// The CPUs in the sentry's affinity mask (what sched_getaffinity reports
/// to the guest), lowest first.
pub fn sandbox_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into `set`.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return vec![0];
    }
    // SAFETY: CPU_ISSET only reads the initialised set; the index is in range.
    (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// A CPU list in the kernel's format: `0-3,6,8-9`.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

fn dir(dev: u64, entries: Vec<(&[u8], Arc<dyn Inode>)>) -> Arc<dyn Inode> {
    let mut e: Vec<(Vec<u8>, Arc<dyn Inode>)> = entries.into_iter().map(|(n, i)| (n.to_vec(), i)).collect();
    e.sort_by(|a, b| a.0.cmp(&b.0));
    StaticDir::new(dev, 0o755, e)
}

/// A new sysfs: its root and filesystem object.
pub fn new_sysfs() -> (Arc<dyn Inode>, Arc<dyn FileSystem>) {
    let dev = anon_dev();
    let cpus = format!("{}\n", cpu_list(&sandbox_cpus()));
    let cpu_file = |text: &str| -> Arc<dyn Inode> {
        let text = text.as_bytes().to_vec();
        StaticFile::new(dev, 0o444, Box::new(move || text.clone()))
    };
    let cpu = dir(
        dev,
        vec![
            (b"online", cpu_file(&cpus)),
            (b"possible", cpu_file(&cpus)),
            (b"present", cpu_file(&cpus)),
        ],
    );
    let system = dir(dev, vec![(b"cpu", cpu)]);
    let devices = dir(dev, vec![(b"system", system)]);
    let thp = dir(
        dev,
        vec![
            (b"enabled", StaticFile::text(dev, "always [madvise] never\n")),
            (
                b"defrag",
                StaticFile::text(dev, "always defer defer+madvise [madvise] never\n"),
            ),
        ],
    );
    let mm = dir(dev, vec![(b"transparent_hugepage", thp)]);
    let kernel = dir(dev, vec![(b"mm", mm)]);
    let fs = dir(dev, vec![(b"cgroup", dir(dev, Vec::new()))]);
    let root = dir(dev, vec![(b"devices", devices), (b"kernel", kernel), (b"fs", fs)]);
    (root, StaticDir::fs(super::SYSFS_MAGIC))
}

/// The tgids of the sandbox's processes, one a line (cgroup.procs).
fn sandbox_procs() -> Vec<u8> {
    let Some(k) = crate::kernel::global() else {
        return Vec::new();
    };
    let Ok(table) = k.table.lock() else {
        return Vec::new();
    };
    let mut ids: Vec<i32> = table.groups.keys().copied().collect();
    ids.sort_unstable();
    ids.iter().map(|i| format!("{i}\n")).collect::<String>().into_bytes()
}

/// A read-only cgroup2 view of the sandbox's cgroup: the controllers and
/// their limits (none are enforced inside the sandbox, so every limit
/// reads `max`), and the sandbox's processes.
pub fn new_cgroupfs() -> (Arc<dyn Inode>, Arc<dyn FileSystem>) {
    let dev = anon_dev();
    let cpus = format!("{}\n", cpu_list(&sandbox_cpus()));
    let root = dir(
        dev,
        vec![
            (
                b"cgroup.controllers",
                StaticFile::text(dev, "cpuset cpu io memory pids\n"),
            ),
            (b"cgroup.subtree_control", StaticFile::text(dev, "\n")),
            (b"cgroup.type", StaticFile::text(dev, "domain\n")),
            (b"cgroup.max.depth", StaticFile::text(dev, "max\n")),
            (b"cgroup.max.descendants", StaticFile::text(dev, "max\n")),
            (b"cgroup.procs", StaticFile::new(dev, 0o444, Box::new(sandbox_procs))),
            (b"cpu.max", StaticFile::text(dev, "max 100000\n")),
            (b"cpu.weight", StaticFile::text(dev, "100\n")),
            (
                b"cpuset.cpus.effective",
                StaticFile::new(dev, 0o444, Box::new(move || cpus.clone().into_bytes())),
            ),
            (b"memory.max", StaticFile::text(dev, "max\n")),
            (b"memory.high", StaticFile::text(dev, "max\n")),
            (b"memory.swap.max", StaticFile::text(dev, "max\n")),
            (b"pids.max", StaticFile::text(dev, "max\n")),
        ],
    );
    (root, StaticDir::fs(super::CGROUP2_SUPER_MAGIC))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(node: &Arc<dyn Inode>, path: &[&[u8]]) -> String {
        let found = node.lookup(path).unwrap();
        assert_eq!(found.len(), path.len(), "{path:?}");
        let f = found.last().unwrap().open(libc::O_RDONLY).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = f.read(&mut buf, 0, false).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn cpu_lists_use_ranges() {
        assert_eq!(cpu_list(&[0]), "0");
        assert_eq!(cpu_list(&[0, 1, 2, 3]), "0-3");
        assert_eq!(cpu_list(&[0, 2, 3, 5, 7, 8]), "0,2-3,5,7-8");
    }

    #[test]
    fn cpu_files_match_the_affinity() {
        let (root, fs) = new_sysfs();
        assert_eq!(fs.statfs().unwrap().f_type, crate::fs::SYSFS_MAGIC);
        let want = format!("{}\n", cpu_list(&sandbox_cpus()));
        for f in [&b"online"[..], b"possible", b"present"] {
            assert_eq!(read(&root, &[b"devices", b"system", b"cpu", f]), want);
        }
        assert!(read(&root, &[b"kernel", b"mm", b"transparent_hugepage", b"enabled"]).contains("[madvise]"));
        let cg = root.lookup(&[b"fs", b"cgroup"]).unwrap();
        assert_eq!(cg.len(), 2);
        assert!(cg[1].readdir(0, 10).unwrap().is_empty());
        // Attributes are read-only.
        let online = root.lookup(&[b"devices", b"system", b"cpu", b"online"]).unwrap();
        assert_eq!(online[3].open(libc::O_WRONLY).err(), Some(syscalls::Errno::EACCES));
    }

    #[test]
    fn cgroup_view() {
        let (root, fs) = new_cgroupfs();
        assert_eq!(fs.statfs().unwrap().f_type, crate::fs::CGROUP2_SUPER_MAGIC);
        assert!(read(&root, &[b"cgroup.controllers"]).contains("memory"));
        assert_eq!(read(&root, &[b"memory.max"]), "max\n");
    }
}
