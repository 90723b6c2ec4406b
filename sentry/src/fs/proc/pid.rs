//! `/proc/[pid]` and `/proc/[pid]/task/[tid]`: one directory per process
//! and per thread, read from the live kernel state (the thread group, the
//! task's published view, its address space).

use super::nodes::{Attr, DirSource, Entry, ProcDir, ProcFile, ProcLink};
use super::text::{self, StatFields, StatusFields, USER_HZ};
use super::view::ViewData;
use crate::kernel::signal::{SIG_DFL, SIG_IGN};
use crate::kernel::task::TaskShared;
use crate::kernel::thread_group::ThreadGroup;
use crate::kernel::{self, Credentials, Kernel};
use crate::mm::vma::VmaKind;
use crate::mm::MemoryManager;
use crate::vfs::{FdTable, Inode};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use syscalls::Errno;

/// Largest argv or environment area read for cmdline/environ.
const MAX_ARGS_READ: usize = 4 << 20;

/// Which process (and thread) a directory shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Process id.
    pub tgid: i32,
    /// Thread id for `task/[tid]` (and `/proc/[tid]`) directories.
    pub tid: Option<i32>,
}

impl Target {
    /// The key prefix of this directory's nodes (for inode numbers).
    fn key(&self) -> String {
        match self.tid {
            Some(tid) => format!("{}/task/{}", self.tgid, tid),
            None => format!("{}", self.tgid),
        }
    }
}

pub(super) fn kernel_ref() -> Result<Arc<Kernel>, Errno> {
    kernel::global().ok_or(Errno::ENOENT)
}

fn group(t: Target) -> Result<Arc<ThreadGroup>, Errno> {
    kernel_ref()?.group(t.tgid).ok_or(Errno::ESRCH)
}

/// The thread a file of `t` describes: the named thread, else the
/// process's leader, else any live thread of it (`None` for a zombie).
fn thread(k: &Kernel, t: Target) -> Option<Arc<TaskShared>> {
    let of_group = |tid: i32| k.task(tid).filter(|s| s.tg.tgid == t.tgid);
    if let Some(tid) = t.tid {
        return of_group(tid);
    }
    if let Some(s) = of_group(t.tgid) {
        return Some(s);
    }
    let threads = k.group(t.tgid)?.state.lock().ok()?.threads.clone();
    threads.into_iter().find_map(of_group)
}

fn view_of(k: &Kernel, t: Target) -> ViewData {
    view_or_leftover(thread(k, t).as_deref(), t)
}

/// The task's published view; for a process without threads (a zombie),
/// its leader's last name and credentials.
fn view_or_leftover(task: Option<&TaskShared>, t: Target) -> ViewData {
    match task {
        Some(s) => s.proc.snapshot(),
        None => match super::view::leader_leftover(t.tgid) {
            Some((comm, creds)) => ViewData {
                comm,
                creds,
                ..ViewData::default()
            },
            None => ViewData::default(),
        },
    }
}

fn mm_of(task: &TaskShared) -> Option<MemoryManager> {
    task.mm.lock().ok().and_then(|m| m.clone())
}

/// The reading task's credentials (root when no task is reading, as at boot).
pub(super) fn reader_creds() -> Credentials {
    match kernel::current_task() {
        Some(t) => t.proc.snapshot().creds,
        None => Credentials::new(0, 0, Vec::new()),
    }
}

/// Whether the reader may see `target`'s private files (environ, maps,
/// auxv, fds, exe, cwd): see [`inspect_allowed`].
fn may_inspect(target: &Credentials) -> Result<(), Errno> {
    if inspect_allowed(&reader_creds(), target) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// The rule behind [`may_inspect`] (Linux's ptrace access check with
/// filesystem credentials): CAP_SYS_PTRACE, or the same user and group
/// throughout and no capability the reader lacks.
fn inspect_allowed(reader: &Credentials, target: &Credentials) -> bool {
    if reader.has_cap(crate::kernel::caps::CAP_SYS_PTRACE) {
        return true;
    }
    let same_user = [target.ruid, target.euid, target.suid]
        .iter()
        .all(|&u| u == reader.fsuid);
    let same_group = [target.rgid, target.egid, target.sgid]
        .iter()
        .all(|&g| g == reader.fsgid);
    same_user && same_group && target.caps.permitted.is_subset(reader.caps.permitted)
}

/// The state letter: Z for a zombie, T when stopped, R when running guest
/// code or reading its own files, else S.
fn state_of(tg: &ThreadGroup, task: Option<&TaskShared>) -> char {
    let (zombie, stopped) = tg
        .state
        .lock()
        .map(|s| (s.zombie.is_some(), s.stopped))
        .unwrap_or((true, false));
    if zombie {
        return 'Z';
    }
    if stopped {
        return 'T';
    }
    match task {
        Some(t) => {
            let is_reader = kernel::current_task().is_some_and(|c| std::ptr::eq(Arc::as_ptr(&c), t));
            if is_reader || t.in_guest.load(Ordering::SeqCst) {
                'R'
            } else {
                'S'
            }
        }
        None => 'Z',
    }
}

/// Ignored and caught signal sets of a group.
fn handler_sets(tg: &ThreadGroup) -> (u64, u64) {
    let Ok(h) = tg.handlers.lock() else {
        return (0, 0);
    };
    let mut ign = 0u64;
    let mut cgt = 0u64;
    for (i, a) in h.iter().enumerate() {
        match a.handler {
            SIG_IGN => ign |= 1 << i,
            SIG_DFL => {}
            _ => cgt |= 1 << i,
        }
    }
    (ign, cgt)
}

/// CPU time in clock ticks: the thread's or the whole stub process's host
/// CPU clock.
fn cpu_ticks(tg: &ThreadGroup, task: Option<&TaskShared>, per_thread: bool) -> u64 {
    let clock = match (per_thread, task) {
        (true, Some(t)) => (!t.host_tid.load(Ordering::SeqCst) << 3) | 6,
        _ => (!tg.host_pid.load(Ordering::SeqCst) << 3) | 2,
    };
    let mut ts = <syscalls::structs::Timespec as syscalls::Pod>::zeroed();
    // SAFETY: clock_gettime writes one timespec into `ts`.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * USER_HZ + ts.tv_nsec as u64 / (1_000_000_000 / USER_HZ)
}

/// Address-space figures for stat/status.
#[derive(Default)]
struct MmFigures {
    vsize: u64,
    stack: u64,
    stack_end: u64,
    start_brk: u64,
    args: (u64, u64, u64, u64),
}

fn mm_figures(task: Option<&TaskShared>) -> MmFigures {
    let Some(mm) = task.and_then(mm_of) else {
        return MmFigures::default();
    };
    let Ok(st) = mm.lock() else {
        return MmFigures::default();
    };
    let mut f = MmFigures {
        start_brk: st.brk_start,
        args: (st.arg_start, st.arg_end, st.env_start, st.env_end),
        ..MmFigures::default()
    };
    for v in st.vmas.iter() {
        if matches!(v.kind, VmaKind::Reserved) {
            continue;
        }
        f.vsize += v.len();
        if matches!(v.kind, VmaKind::Stack) {
            f.stack += v.len();
            f.stack_end = v.end;
        }
    }
    f
}

fn ticks_since_boot(k: &Kernel, at: Option<std::time::Instant>) -> u64 {
    at.map(|t| t.saturating_duration_since(k.boot_time).as_millis() as u64 / (1000 / USER_HZ))
        .unwrap_or(0)
}

fn gen_stat(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let tg = group(t)?;
    let task = thread(&k, t);
    let view = view_or_leftover(task.as_deref(), t);
    let (ign, cgt) = handler_sets(&tg);
    let (parent, pgid, sid, threads, gpending, exit_signal, exit_code, children_us) = {
        let s = tg.state.lock().map_err(|_| Errno::EIO)?;
        (
            s.parent,
            s.pgid,
            s.sid,
            s.threads.len().max(1),
            s.pending.set,
            s.exit_signal,
            s.zombie.map(|z| z.wait_status()).unwrap_or(0),
            s.children_cpu_us,
        )
    };
    let own_pending = task
        .as_ref()
        .and_then(|s| s.pending.lock().ok().map(|p| p.set))
        .unwrap_or(0);
    let mm = mm_figures(task.as_deref());
    // Only someone allowed to inspect the process sees its layout.
    let show_layout = may_inspect(&view.creds).is_ok();
    let layout = |v: u64| if show_layout { v } else { 0 };
    let fields = StatFields {
        pid: t.tid.unwrap_or(t.tgid),
        comm: view.comm.clone(),
        state: state_of(&tg, task.as_deref()),
        ppid: parent,
        pgrp: pgid,
        session: sid,
        tty_nr: 0,
        tpgid: -1,
        utime: cpu_ticks(&tg, task.as_deref(), t.tid.is_some()),
        stime: 0,
        cutime: children_us / (1_000_000 / USER_HZ),
        num_threads: threads,
        starttime: ticks_since_boot(&k, view.start_time),
        vsize: mm.vsize,
        rss: 0,
        rsslim: view.limits.0[libc::RLIMIT_RSS as usize].cur,
        signal: own_pending | gpending,
        blocked: task.as_ref().map(|s| s.mask.load(Ordering::SeqCst)).unwrap_or(0),
        sigignore: ign,
        sigcatch: cgt,
        exit_signal,
        start_brk: layout(mm.start_brk),
        arg_start: layout(mm.args.0),
        arg_end: layout(mm.args.1),
        env_start: layout(mm.args.2),
        env_end: layout(mm.args.3),
        startstack: layout(mm.stack_end),
        exit_code,
    };
    Ok(text::format_stat(&fields))
}

fn gen_statm(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let mm = mm_figures(thread(&k, t).as_deref());
    Ok(text::format_statm(mm.vsize / 4096, 0).into_bytes())
}

/// Linux's fd table size: 64 slots, doubled as needed.
fn fd_size(fds: Option<&FdTable>) -> usize {
    let top = fds.and_then(|f| f.fds().into_iter().max()).unwrap_or(0).max(0) as usize;
    let mut size = 64;
    while size <= top {
        size *= 2;
    }
    size
}

fn gen_status(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let tg = group(t)?;
    let task = thread(&k, t);
    let view = view_or_leftover(task.as_deref(), t);
    let (ign, cgt) = handler_sets(&tg);
    let (parent, pgid, sid, threads, shd_pnd, group_queued) = {
        let s = tg.state.lock().map_err(|_| Errno::EIO)?;
        (
            s.parent,
            s.pgid,
            s.sid,
            s.threads.len().max(1),
            s.pending.set,
            s.pending.queue.len(),
        )
    };
    let (sig_pnd, own_queued) = task
        .as_ref()
        .and_then(|s| s.pending.lock().ok().map(|p| (p.set, p.queue.len())))
        .unwrap_or((0, 0));
    let mm = mm_figures(task.as_deref());
    let c = &view.creds;
    let fds = view.fds.upgrade();
    let fields = StatusFields {
        name: view.comm.clone(),
        umask: view.fs.as_ref().map(|f| f.umask).unwrap_or(0o22),
        state: state_of(&tg, task.as_deref()),
        tgid: t.tgid,
        pid: t.tid.unwrap_or(t.tgid),
        ppid: parent,
        pgid,
        sid,
        uids: [c.ruid, c.euid, c.suid, c.fsuid],
        gids: [c.rgid, c.egid, c.sgid, c.fsgid],
        fd_size: fd_size(fds.as_deref()),
        groups: c.groups.clone(),
        vm_size: mm.vsize,
        vm_stk: mm.stack,
        threads,
        sig_q: (
            own_queued + group_queued,
            view.limits.0[libc::RLIMIT_SIGPENDING as usize].cur,
        ),
        sig_pnd,
        shd_pnd,
        sig_blk: task.as_ref().map(|s| s.mask.load(Ordering::SeqCst)).unwrap_or(0),
        sig_ign: ign,
        sig_cgt: cgt,
        caps: c.caps,
        no_new_privs: view.no_new_privs,
        cpus: super::top::cpu_count(),
    };
    Ok(text::format_status(&fields))
}

/// Reads `[start, end)` of the task's memory (empty for a zombie).
fn read_area(mm: &MemoryManager, start: u64, end: u64) -> Vec<u8> {
    if end <= start {
        return Vec::new();
    }
    let len = ((end - start) as usize).min(MAX_ARGS_READ);
    mm.read_vec(start, len).unwrap_or_default()
}

fn gen_cmdline(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let Some(mm) = thread(&k, t).as_deref().and_then(mm_of) else {
        return Ok(Vec::new());
    };
    let (a0, a1, e0, e1) = {
        let st = mm.lock()?;
        (st.arg_start, st.arg_end, st.env_start, st.env_end)
    };
    let mut args = read_area(&mm, a0, a1);
    if args.last().is_some_and(|&b| b != 0) {
        // setproctitle overwrote the terminating NUL: the string goes on
        // into the environment area, up to its first NUL (as Linux reads it).
        let env = read_area(&mm, e0, e1);
        let end = env.iter().position(|&b| b == 0).unwrap_or(env.len());
        args.extend_from_slice(&env[..end]);
    }
    Ok(args)
}

fn gen_environ(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let task = thread(&k, t);
    may_inspect(&task.as_ref().map(|s| s.proc.snapshot().creds).unwrap_or_default())?;
    let Some(mm) = task.as_deref().and_then(mm_of) else {
        return Ok(Vec::new());
    };
    let (e0, e1) = {
        let st = mm.lock()?;
        (st.env_start, st.env_end)
    };
    Ok(read_area(&mm, e0, e1))
}

fn gen_comm(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let mut c = view_of(&k, t).comm;
    c.push(b'\n');
    Ok(c)
}

/// maps, smaps or smaps_rollup of `t`'s address space.
fn gen_vma_text(t: Target, format: fn(&crate::mm::vma::VmaSet) -> String) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let task = thread(&k, t);
    may_inspect(&task.as_ref().map(|s| s.proc.snapshot().creds).unwrap_or_default())?;
    let Some(mm) = task.as_deref().and_then(mm_of) else {
        return Ok(Vec::new());
    };
    let st = mm.lock()?;
    Ok(format(&st.vmas).into_bytes())
}

fn gen_auxv(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let task = thread(&k, t);
    may_inspect(&task.as_ref().map(|s| s.proc.snapshot().creds).unwrap_or_default())?;
    let Some(mm) = task.as_deref().and_then(mm_of) else {
        return Ok(Vec::new());
    };
    let st = mm.lock()?;
    Ok(text::format_auxv(&st.auxv))
}

fn gen_limits(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    Ok(text::format_limits(&view_of(&k, t).limits.0).into_bytes())
}

fn link_exe(t: Target) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let task = thread(&k, t).ok_or(Errno::ENOENT)?;
    may_inspect(&task.proc.snapshot().creds)?;
    let mm = mm_of(&task).ok_or(Errno::ENOENT)?;
    let exe = mm.lock()?.exe.clone();
    if exe.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(exe)
}

fn link_cwd(t: Target, root: bool) -> Result<Vec<u8>, Errno> {
    let k = kernel_ref()?;
    let view = thread(&k, t).ok_or(Errno::ENOENT)?.proc.snapshot();
    may_inspect(&view.creds)?;
    let fs = view.fs.ok_or(Errno::ENOENT)?;
    Ok(if root { fs.root.path() } else { fs.cwd.path() })
}

/// The root directory of `t` (mount tables are shown relative to it).
fn task_root(t: Target) -> Option<crate::vfs::Location> {
    let k = kernel_ref().ok()?;
    let view = thread(&k, t)?.proc.snapshot();
    view.fs.map(|fs| fs.root)
}

/// The open fd table of `t`, if the reader may see it.
fn fd_table(t: Target) -> Result<Arc<FdTable>, Errno> {
    let k = kernel_ref()?;
    let view = thread(&k, t).ok_or(Errno::ENOENT)?.proc.snapshot();
    may_inspect(&view.creds)?;
    view.fds.upgrade().ok_or(Errno::ENOENT)
}

/// `fd/` and `fdinfo/`.
struct FdDir {
    target: Target,
    info: bool,
    owner: (u32, u32),
}

impl DirSource for FdDir {
    fn entries(&self) -> Vec<Entry> {
        let Ok(fds) = fd_table(self.target) else {
            return Vec::new();
        };
        let mode = if self.info { libc::S_IFREG } else { libc::S_IFLNK };
        fds.fds()
            .into_iter()
            .map(|fd| Entry::new(fd.to_string(), mode))
            .collect()
    }

    fn lookup(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        let fd: i32 = std::str::from_utf8(name).ok()?.parse().ok()?;
        if fd < 0 || name.first() == Some(&b'0') && name.len() > 1 {
            return None;
        }
        let fds = fd_table(self.target).ok()?;
        fds.get(fd).ok()?;
        let t = self.target;
        let (uid, gid) = self.owner;
        if self.info {
            let key = format!("{}/fdinfo/{fd}", t.key());
            Some(ProcFile::node(
                &key,
                Attr {
                    mode: libc::S_IFREG | 0o444,
                    uid,
                    gid,
                },
                Box::new(move || {
                    let (file, cloexec) = fd_table(t)?.get_with_cloexec(fd).map_err(|_| Errno::ENOENT)?;
                    let mnt = file.location().map(|l| l.mount.id).unwrap_or(0);
                    let ino = file.stat().map(|s| s.st_ino).unwrap_or(0);
                    Ok(text::format_fdinfo(file.position(), file.flags(), cloexec, mnt, ino).into_bytes())
                }),
            ))
        } else {
            let key = format!("{}/fd/{fd}", t.key());
            Some(ProcLink::magic_node(
                &key,
                uid,
                gid,
                Box::new(move || Ok(fd_table(t)?.get(fd).map_err(|_| Errno::ENOENT)?.path())),
                Box::new(move || {
                    let file = fd_table(t)?.get(fd).map_err(|_| Errno::ENOENT)?;
                    file.location().cloned().ok_or(Errno::ENOENT)
                }),
            ))
        }
    }
}

/// `task/`: one directory per thread.
struct TaskDir {
    tgid: i32,
}

impl DirSource for TaskDir {
    fn entries(&self) -> Vec<Entry> {
        let Ok(tg) = group(Target {
            tgid: self.tgid,
            tid: None,
        }) else {
            return Vec::new();
        };
        let threads = tg.state.lock().map(|s| s.threads.clone()).unwrap_or_default();
        threads
            .into_iter()
            .map(|tid| Entry::new(tid.to_string(), libc::S_IFDIR))
            .collect()
    }

    fn lookup(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        let tid: i32 = std::str::from_utf8(name).ok()?.parse().ok()?;
        let k = kernel_ref().ok()?;
        let task = k.task(tid)?;
        if task.tg.tgid != self.tgid || tid.to_string().as_bytes() != name {
            return None;
        }
        Some(pid_dir(Target {
            tgid: self.tgid,
            tid: Some(tid),
        }))
    }
}

/// The files of a process or thread directory.
const FILES: [&str; 32] = [
    "auxv",
    "cgroup",
    "cmdline",
    "comm",
    "cwd",
    "environ",
    "exe",
    "fd",
    "fdinfo",
    "io",
    "limits",
    "loginuid",
    "maps",
    "mountinfo",
    "mounts",
    "net",
    "ns",
    "oom_score",
    "oom_score_adj",
    "personality",
    "root",
    "stat",
    "statm",
    "smaps",
    "smaps_rollup",
    "status",
    "task",
    "wchan",
    "sessionid",
    "uid_map",
    "gid_map",
    "setgroups",
];

/// The contents of `/proc/[pid]` or `/proc/[pid]/task/[tid]`.
struct PidDir {
    target: Target,
    owner: (u32, u32),
}

impl PidDir {
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        // A thread directory has no task/ of its own.
        let is_thread = self.target.tid.is_some();
        FILES.iter().copied().filter(move |n| !(is_thread && *n == "task"))
    }

    fn node(&self, name: &str) -> Option<Arc<dyn Inode>> {
        let t = self.target;
        let key = format!("{}/{name}", t.key());
        let (uid, gid) = self.owner;
        let attr = |mode: u32| Attr { mode, uid, gid };
        let file = |mode: u32, f: fn(Target) -> Result<Vec<u8>, Errno>| {
            ProcFile::node(&key, attr(libc::S_IFREG | mode), Box::new(move || f(t)))
        };
        let fixed =
            |text: &'static str| ProcFile::node(&key, attr(libc::S_IFREG | 0o444), Box::new(move || Ok(text.into())));
        Some(match name {
            "auxv" => file(0o400, gen_auxv),
            "cgroup" => fixed("0::/\n"),
            "cmdline" => file(0o444, gen_cmdline),
            "comm" => file(0o644, gen_comm),
            "environ" => file(0o400, gen_environ),
            "io" => file(0o400, |t| {
                may_inspect(&kernel_ref().map(|k| view_of(&k, t).creds).unwrap_or_default())?;
                // I/O is not accounted per task.
                Ok(b"rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n".to_vec())
            }),
            "limits" => file(0o444, gen_limits),
            "loginuid" => fixed("4294967295"),
            "maps" => file(0o444, |t| gen_vma_text(t, |v| v.format_proc_maps())),
            "smaps" => file(0o444, |t| gen_vma_text(t, |v| v.format_proc_smaps())),
            "smaps_rollup" => file(0o444, |t| gen_vma_text(t, |v| v.format_proc_smaps_rollup())),
            "net" => super::ns_net::net_dir(&key, self.owner),
            "ns" => super::ns_net::ns_dir(&key, self.owner),
            "mountinfo" => file(0o444, |t| super::top::gen_mountinfo(task_root(t).as_ref())),
            "mounts" => file(0o444, |t| super::top::gen_mounts(task_root(t).as_ref())),
            "oom_score" => fixed("0\n"),
            "oom_score_adj" => fixed("0\n"),
            "personality" => file(0o400, |t| {
                may_inspect(&kernel_ref().map(|k| view_of(&k, t).creds).unwrap_or_default())?;
                Ok(b"00000000\n".to_vec())
            }),
            "sessionid" => fixed("4294967295"),
            // The sandbox is its own kernel: the guest lives in that kernel's
            // initial user namespace, whatever host namespace the sentry is in.
            "uid_map" | "gid_map" => fixed("         0          0 4294967295\n"),
            "setgroups" => fixed("allow\n"),
            "stat" => file(0o444, gen_stat),
            "statm" => file(0o444, gen_statm),
            "status" => file(0o444, gen_status),
            "wchan" => fixed("0"),
            "exe" => ProcLink::node(&key, uid, gid, Box::new(move || link_exe(t))),
            "cwd" => ProcLink::node(&key, uid, gid, Box::new(move || link_cwd(t, false))),
            "root" => ProcLink::node(&key, uid, gid, Box::new(move || link_cwd(t, true))),
            "fd" | "fdinfo" => ProcDir::node(
                key,
                attr(libc::S_IFDIR | 0o500),
                FdDir {
                    target: t,
                    info: name == "fdinfo",
                    owner: self.owner,
                },
            ),
            "task" => ProcDir::node(key, attr(libc::S_IFDIR | 0o555), TaskDir { tgid: t.tgid }),
            _ => return None,
        })
    }
}

impl DirSource for PidDir {
    fn entries(&self) -> Vec<Entry> {
        self.names()
            .map(|n| {
                let mode = match n {
                    "fd" | "fdinfo" | "task" | "net" | "ns" => libc::S_IFDIR,
                    "exe" | "cwd" | "root" => libc::S_IFLNK,
                    _ => libc::S_IFREG,
                };
                Entry::new(n.as_bytes(), mode)
            })
            .collect()
    }

    fn lookup(&self, name: &[u8]) -> Option<Arc<dyn Inode>> {
        let name = std::str::from_utf8(name).ok()?;
        if !self.names().any(|n| n == name) {
            return None;
        }
        self.node(name)
    }
}

/// The directory of process `t.tgid` (or thread `t.tid`), owned by the
/// task's effective user as in Linux.
pub fn pid_dir(t: Target) -> Arc<dyn Inode> {
    let creds = kernel_ref().map(|k| view_of(&k, t).creds).unwrap_or_default();
    let owner = (creds.euid, creds.egid);
    let key = t.key();
    ProcDir::node(
        key,
        Attr {
            mode: libc::S_IFDIR | 0o555,
            uid: owner.0,
            gid: owner.1,
        },
        PidDir { target: t, owner },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_table_size_grows_in_powers_of_two() {
        assert_eq!(fd_size(None), 64);
        let t = FdTable::new();
        assert_eq!(fd_size(Some(&t)), 64);
    }

    #[test]
    fn thread_dirs_have_no_task_subdir() {
        let proc_dir = PidDir {
            target: Target { tgid: 5, tid: None },
            owner: (0, 0),
        };
        assert!(proc_dir.names().any(|n| n == "task"));
        let thread_dir = PidDir {
            target: Target { tgid: 5, tid: Some(6) },
            owner: (0, 0),
        };
        assert!(!thread_dir.names().any(|n| n == "task"));
        assert!(thread_dir.names().any(|n| n == "status"));
    }

    #[test]
    fn without_a_kernel_pid_files_are_gone() {
        // Unit tests run with no sandbox: every read is ENOENT, never a panic.
        let t = Target { tgid: 1, tid: None };
        assert!(gen_stat(t).is_err());
        assert!(gen_cmdline(t).is_err());
        assert!(link_exe(t).is_err());
        assert!(fd_table(t).is_err());
    }

    #[test]
    fn only_root_or_the_same_user_may_inspect() {
        let alice = Credentials::new(1000, 1000, Vec::new());
        let bob = Credentials::new(1001, 1001, Vec::new());
        let root = Credentials::new(0, 0, Vec::new());
        assert!(inspect_allowed(&alice, &alice));
        assert!(!inspect_allowed(&alice, &bob));
        assert!(!inspect_allowed(&alice, &root));
        assert!(inspect_allowed(&root, &bob));
        // A setuid process (saved uid differs) is not the caller's to inspect.
        let mut setuid = alice.clone();
        setuid.suid = 0;
        assert!(!inspect_allowed(&alice, &setuid));
        // Root without CAP_SYS_PTRACE cannot look at another user, nor a
        // process of its own uid holding more capabilities.
        let mut weak_root = root.clone();
        weak_root.caps.effective = weak_root.caps.effective.without(crate::kernel::caps::CAP_SYS_PTRACE);
        weak_root.caps.permitted = weak_root.caps.effective;
        assert!(!inspect_allowed(&weak_root, &bob));
        assert!(!inspect_allowed(&weak_root, &root));
        assert!(inspect_allowed(&weak_root, &weak_root));
    }

    #[test]
    fn root_may_inspect_anyone() {
        // No current task: the reader is root.
        assert!(may_inspect(&Credentials::new(1000, 1000, Vec::new())).is_ok());
    }
}
