//! Resource statistics of a sandbox read from its cgroup directories, in
//! the JSON shape of runc's `types.Stats` (what `runsc events` prints and
//! what containerd and docker parse).
//!
//! The directories are the ones recorded in `state.json` (one on cgroup
//! v2, one per controller on v1). Decision: each file is looked up in
//! every directory in turn and the first that has it wins, so one reader
//! serves v2, v1 and hybrid hosts without knowing which controller lives
//! where. A file that is missing leaves its fields zero; nothing here fails.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One line of `runsc events`: `{"type": "stats"|"oom", "id": ID, "data": ...}`.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    /// `stats` or `oom`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The container id.
    pub id: &'a str,
    /// The statistics (absent for `oom`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a Stats>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// runc's `types.Stats` (the controllers rvisor puts a sandbox in).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// CPU time.
    pub cpu: Cpu,
    /// Memory use and limits.
    pub memory: Memory,
    /// Number of host tasks.
    pub pids: Pids,
}

/// runc's `types.Cpu`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Cpu {
    /// Time consumed.
    pub usage: CpuUsage,
    /// CFS bandwidth throttling.
    pub throttling: Throttling,
}

/// runc's `types.CpuUsage`; all times in nanoseconds.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Per-CPU totals (v1 `cpuacct.usage_percpu` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Time in kernel mode.
    pub kernel: u64,
    /// Time in user mode.
    pub user: u64,
}

/// runc's `types.Throttling`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Throttling {
    /// Enforcement periods elapsed.
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    /// Periods in which the group was throttled.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Total time throttled, nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

/// runc's `types.MemoryEntry`, in bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryEntry {
    /// The limit (`u64::MAX` for v2's `max`, as runc reports it).
    pub limit: u64,
    /// Current usage.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak usage.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
}

/// runc's `types.Memory`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// Page cache (v1 `cache`, v2 `file` of memory.stat).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    /// Memory.
    pub usage: MemoryEntry,
    /// Memory + swap (v1 `memory.memsw.*`).
    pub swap: MemoryEntry,
    /// Kernel memory (v1 `memory.kmem.*`).
    pub kernel: MemoryEntry,
    /// Kernel TCP buffers (v1 `memory.kmem.tcp.*`).
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// Every counter of `memory.stat`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// runc's `types.Pids`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Pids {
    /// Tasks now in the group.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// The limit (0 when unlimited, as runc reports `max`).
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// The cgroup directories of one sandbox.
#[derive(Debug, Clone, Default)]
pub struct Source {
    dirs: Vec<PathBuf>,
}

impl Source {
    /// A source over `dirs` (as recorded in state.json).
    pub fn new<S: AsRef<Path>>(dirs: &[S]) -> Source {
        Source {
            dirs: dirs.iter().map(|d| d.as_ref().to_path_buf()).collect(),
        }
    }

    /// The content of the first `name` found in the directories.
    fn read(&self, name: &str) -> Option<String> {
        self.dirs
            .iter()
            .find_map(|d| std::fs::read_to_string(d.join(name)).ok())
    }

    /// A single number (`max` is `max_means`).
    fn number(&self, name: &str, max_means: u64) -> Option<u64> {
        let text = self.read(name)?;
        let t = text.trim();
        if t == "max" {
            return Some(max_means);
        }
        t.parse().ok()
    }

    /// A `key value` file (cpu.stat, memory.stat, memory.events, ...).
    fn keyed(&self, name: &str) -> BTreeMap<String, u64> {
        self.read(name).map(|t| parse_keyed(&t)).unwrap_or_default()
    }

    /// Collects what the cgroup files give.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        self.cpu(&mut s.cpu);
        self.memory(&mut s.memory);
        s.pids.current = self.number("pids.current", 0).unwrap_or(0);
        s.pids.limit = self.number("pids.max", 0).unwrap_or(0);
        s
    }

    fn cpu(&self, cpu: &mut Cpu) {
        let stat = self.keyed("cpu.stat");
        if let Some(total) = stat.get("usage_usec") {
            // v2: microseconds.
            cpu.usage.total = total.saturating_mul(1000);
            cpu.usage.user = stat.get("user_usec").copied().unwrap_or(0).saturating_mul(1000);
            cpu.usage.kernel = stat.get("system_usec").copied().unwrap_or(0).saturating_mul(1000);
            cpu.throttling.throttled_time = stat.get("throttled_usec").copied().unwrap_or(0).saturating_mul(1000);
        } else {
            // v1: cpuacct in nanoseconds and USER_HZ ticks; throttled_time in ns.
            cpu.usage.total = self.number("cpuacct.usage", 0).unwrap_or(0);
            cpu.usage.percpu = self
                .read("cpuacct.usage_percpu")
                .map(|t| t.split_whitespace().filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default();
            let ticks = self.keyed("cpuacct.stat");
            let ns_per_tick = 1_000_000_000 / clock_ticks();
            cpu.usage.user = ticks.get("user").copied().unwrap_or(0).saturating_mul(ns_per_tick);
            cpu.usage.kernel = ticks.get("system").copied().unwrap_or(0).saturating_mul(ns_per_tick);
            cpu.throttling.throttled_time = stat.get("throttled_time").copied().unwrap_or(0);
        }
        cpu.throttling.periods = stat.get("nr_periods").copied().unwrap_or(0);
        cpu.throttling.throttled_periods = stat.get("nr_throttled").copied().unwrap_or(0);
    }

    fn memory(&self, mem: &mut Memory) {
        mem.raw = self.keyed("memory.stat");
        if let Some(usage) = self.number("memory.current", 0) {
            // v2.
            mem.usage.usage = usage;
            mem.usage.limit = self.number("memory.max", u64::MAX).unwrap_or(u64::MAX);
            mem.usage.max = self.number("memory.peak", 0).unwrap_or(0);
            mem.usage.failcnt = self.keyed("memory.events").get("max").copied().unwrap_or(0);
            mem.cache = mem.raw.get("file").copied().unwrap_or(0);
        } else {
            mem.usage = self.v1_entry("memory");
            mem.swap = self.v1_entry("memory.memsw");
            mem.kernel = self.v1_entry("memory.kmem");
            mem.kernel_tcp = self.v1_entry("memory.kmem.tcp");
            mem.cache = mem.raw.get("cache").copied().unwrap_or(0);
        }
    }

    fn v1_entry(&self, prefix: &str) -> MemoryEntry {
        let n = |suffix: &str| self.number(&format!("{prefix}.{suffix}"), u64::MAX).unwrap_or(0);
        MemoryEntry {
            limit: n("limit_in_bytes"),
            usage: n("usage_in_bytes"),
            max: n("max_usage_in_bytes"),
            failcnt: n("failcnt"),
        }
    }

    /// How many OOM kills the cgroup has seen (v2 `memory.events`, v1
    /// `memory.oom_control`'s `oom_kill`), and whether a v1 group is under
    /// OOM right now (`under_oom`), for noticing new OOM events.
    pub fn oom(&self) -> (u64, bool) {
        let events = self.keyed("memory.events");
        if let Some(kills) = events.get("oom_kill") {
            return (*kills, false);
        }
        let control = self.keyed("memory.oom_control");
        (
            control.get("oom_kill").copied().unwrap_or(0),
            control.get("under_oom").is_some_and(|v| *v != 0),
        )
    }
}

/// `key value` lines to a map (lines that do not parse are skipped).
fn parse_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let key = f.next()?;
            let value = f.next()?.parse().ok()?;
            Some((key.to_string(), value))
        })
        .collect()
}

/// USER_HZ, the unit of cpuacct.stat.
fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// Parses a Go duration (`1s`, `500ms`, `2m`, `1h30m`, `1.5s`), as runc's
/// `--interval` takes.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let mut rest = text.trim();
    if rest == "0" {
        return Some(std::time::Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += value * scale;
    }
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return None;
    }
    Some(std::time::Duration::from_nanos(nanos as u64))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    struct Dir(PathBuf);
    impl Dir {
        fn new(tag: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("runsc-stats-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }
        fn file(&self, sub: &str, name: &str, text: &str) -> &Self {
            std::fs::create_dir_all(self.0.join(sub)).unwrap();
            std::fs::write(self.0.join(sub).join(name), text).unwrap();
            self
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn cgroup_v2_files() {
        let d = Dir::new("v2");
        d.file(
            ".",
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\nthrottled_usec 30\n",
        )
        .file(".", "memory.current", "4096\n")
        .file(".", "memory.max", "max\n")
        .file(".", "memory.peak", "8192\n")
        .file(".", "memory.stat", "anon 1024\nfile 2048\n")
        .file(".", "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
        .file(".", "pids.current", "4\n")
        .file(".", "pids.max", "max\n");
        let src = Source::new(&[&d.0]);
        let s = src.stats();
        assert_eq!(s.cpu.usage.total, 1_500_000);
        assert_eq!(s.cpu.usage.user, 1_000_000);
        assert_eq!(s.cpu.usage.kernel, 500_000);
        assert_eq!(s.cpu.throttling.periods, 7);
        assert_eq!(s.cpu.throttling.throttled_periods, 2);
        assert_eq!(s.cpu.throttling.throttled_time, 30_000);
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.limit, u64::MAX);
        assert_eq!(s.memory.usage.max, 8192);
        assert_eq!(s.memory.usage.failcnt, 3);
        assert_eq!(s.memory.cache, 2048);
        assert_eq!(s.memory.raw.get("anon"), Some(&1024));
        assert_eq!(s.pids.current, 4);
        assert_eq!(s.pids.limit, 0);
        assert_eq!(src.oom(), (1, false));
        d.file(".", "memory.max", "67108864\n").file(".", "pids.max", "200\n");
        let s = src.stats();
        assert_eq!(s.memory.usage.limit, 64 << 20);
        assert_eq!(s.pids.limit, 200);
    }

    #[test]
    fn cgroup_v1_files_across_controller_dirs() {
        let d = Dir::new("v1");
        d.file("memory", "memory.usage_in_bytes", "1000\n")
            .file("memory", "memory.limit_in_bytes", "67108864\n")
            .file("memory", "memory.max_usage_in_bytes", "2000\n")
            .file("memory", "memory.failcnt", "5\n")
            .file("memory", "memory.memsw.usage_in_bytes", "1100\n")
            .file("memory", "memory.stat", "cache 300\nrss 700\n")
            .file(
                "memory",
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 1\noom_kill 2\n",
            )
            .file("pids", "pids.current", "3\n")
            .file("pids", "pids.max", "max\n")
            .file("cpu", "cpu.stat", "nr_periods 4\nnr_throttled 1\nthrottled_time 999\n")
            .file("cpuacct", "cpuacct.usage", "123456789\n")
            .file("cpuacct", "cpuacct.usage_percpu", "100000000 23456789 \n")
            .file("cpuacct", "cpuacct.stat", "user 3\nsystem 2\n");
        let src = Source::new(&["memory", "pids", "cpu", "cpuacct"].map(|c| d.0.join(c)));
        let s = src.stats();
        let tick = 1_000_000_000 / clock_ticks();
        assert_eq!(s.cpu.usage.total, 123_456_789);
        assert_eq!(s.cpu.usage.percpu, [100_000_000, 23_456_789]);
        assert_eq!(s.cpu.usage.user, 3 * tick);
        assert_eq!(s.cpu.usage.kernel, 2 * tick);
        assert_eq!(s.cpu.throttling.throttled_time, 999);
        assert_eq!(s.cpu.throttling.periods, 4);
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: 64 << 20,
                usage: 1000,
                max: 2000,
                failcnt: 5
            }
        );
        assert_eq!(s.memory.swap.usage, 1100);
        assert_eq!(s.memory.cache, 300);
        assert_eq!(s.memory.raw.get("rss"), Some(&700));
        assert_eq!(s.pids.current, 3);
        assert_eq!(s.pids.limit, 0);
        assert_eq!(src.oom(), (2, true));
    }

    #[test]
    fn no_cgroup_gives_zeros_in_runc_json_shape() {
        let s = Source::new::<PathBuf>(&[]).stats();
        assert_eq!(s, Stats::default());
        let json = serde_json::to_value(Event {
            kind: "stats",
            id: "c1",
            data: Some(&s),
        })
        .unwrap();
        assert_eq!(json["type"], "stats");
        assert_eq!(json["id"], "c1");
        assert_eq!(json["data"]["memory"]["usage"]["limit"], 0);
        assert_eq!(json["data"]["cpu"]["usage"]["kernel"], 0);
        assert!(json["data"]["pids"].is_object());
        let oom = serde_json::to_string(&Event {
            kind: "oom",
            id: "c1",
            data: None,
        })
        .unwrap();
        assert_eq!(oom, r#"{"type":"oom","id":"c1"}"#);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10us"), Some(Duration::from_micros(10)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("s"), None);
    }
}
