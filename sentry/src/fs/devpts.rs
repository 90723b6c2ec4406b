//! devpts: the filesystem at /dev/pts. Opening `ptmx` (here or /dev/ptmx)
//! creates a pseudo-terminal pair ([`crate::tty::Pty`]) and its replica
//! node `N` (the smallest free index, mode 0620, owned by the opener and
//! group tty); the node goes away when the master is closed, and the index
//! is reused once nothing references the pair.
//!
//! Host terminals given to the guest as stdio (an OCI console, an `exec
//! -t` pty, the user's terminal under `runsc do`) also get a node here,
//! from the same index space, while a guest file refers to them: the
//! init's console is `/dev/pts/0` as under runc, and `ttyname(3)` finds
//! every terminal the guest holds.

use super::synthetic::{anon_dev, SyntheticFs};
use crate::tty::{open_replica, MasterFile, Pty, TTYAUX_MAJOR};
use crate::vfs::inode::SetAttr;
use crate::vfs::inode::{dtype_of, makedev, next_ino, synthetic_stat};
use crate::vfs::{FileOps, FileSystem, Inode, RawDirent};
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls::structs::{Stat, Statfs};
use syscalls::Errno;

/// `DEVPTS_SUPER_MAGIC`.
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
/// Most pairs at once (`/proc/sys/kernel/pty/max`).
pub const PTY_MAX: u32 = 4096;

#[derive(Default)]
struct Tables {
    /// Pairs whose node is visible (master open).
    visible: BTreeMap<u32, Arc<Pty>>,
    /// Indexes in use (until the pair is dropped).
    used: BTreeSet<u32>,
    /// Host terminals shown here, by index.
    host: BTreeMap<u32, HostTerminal>,
}

/// A host terminal with a node in devpts.
struct HostTerminal {
    /// Its device number on the host (one node per terminal).
    rdev: u64,
    /// A duplicate, which the node stats and opens.
    fd: Arc<OwnedFd>,
    /// Guest files referring to it; the node goes at zero.
    users: usize,
}

/// The devpts instance at the sandbox's /dev/pts, where host terminals
/// are shown (one sandbox per sentry process).
static SANDBOX_PTS: Mutex<Option<Weak<PtsTable>>> = Mutex::new(None);

/// Gives the host terminal `fd` a node in the sandbox's /dev/pts (or
/// counts one more user of its node) and returns its index; `None` if
/// `fd` is not a terminal or there is no room.
pub fn register_host_terminal(fd: &OwnedFd) -> Option<u32> {
    let rdev = crate::kernel::console::tty_rdev(fd.as_raw_fd())?;
    let table = SANDBOX_PTS.lock().ok()?.as_ref()?.upgrade()?;
    let mut t = table.lock();
    if let Some((&index, term)) = t.host.iter_mut().find(|(_, h)| h.rdev == rdev) {
        term.users += 1;
        return Some(index);
    }
    let index = (0..PTY_MAX).find(|i| !t.used.contains(i))?;
    let dup = fd.try_clone().ok()?;
    t.used.insert(index);
    t.host.insert(
        index,
        HostTerminal {
            rdev,
            fd: Arc::new(dup),
            users: 1,
        },
    );
    Some(index)
}

/// One user of host terminal node `index` is gone.
pub fn release_host_terminal(index: u32) {
    let Some(table) = SANDBOX_PTS.lock().ok().and_then(|s| s.as_ref().and_then(Weak::upgrade)) else {
        return;
    };
    let mut t = table.lock();
    let gone = match t.host.get_mut(&index) {
        Some(term) => {
            term.users = term.users.saturating_sub(1);
            term.users == 0
        }
        None => false,
    };
    if gone {
        t.host.remove(&index);
        t.used.remove(&index);
    }
}

/// The sandbox's devpts table, if a sandbox devfs was made.
fn sandbox_table() -> Option<Arc<PtsTable>> {
    SANDBOX_PTS.lock().ok()?.as_ref()?.upgrade()
}

/// Opens a ptmx device node (5:2) found anywhere: a new pair in the
/// sandbox's devpts, its master stat-ing as `stat` (the node's).
pub fn open_sandbox_ptmx(stat: Stat) -> Result<Box<dyn FileOps>, Errno> {
    let table = sandbox_table().ok_or(Errno::ENODEV)?;
    open_master(&table, stat)
}

/// Opens a pty replica device node (136:`index`) found anywhere: pair
/// `index` of the sandbox's devpts (its file stat-ing as `stat`), or the
/// host terminal shown there as `index`; EIO when there is none, as
/// Linux's pty lookup answers.
pub fn open_sandbox_pty(index: u32, flags: i32, stat: Stat) -> Result<Box<dyn FileOps>, Errno> {
    let table = sandbox_table().ok_or(Errno::EIO)?;
    if let Some(pty) = table.get(index) {
        return open_replica(&pty, flags, Some(stat));
    }
    let fd = table.lock().host.get(&index).map(|t| t.fd.clone()).ok_or(Errno::EIO)?;
    let dup = fd.try_clone().map_err(Errno::from)?;
    Ok(Box::new(super::host::HostFile::new(dup)))
}

/// A new master of `table` whose file stats as `stat`, owned by the caller.
fn open_master(table: &Arc<PtsTable>, stat: Stat) -> Result<Box<dyn FileOps>, Errno> {
    let uid = crate::kernel::current_task()
        .map(|t| t.proc.snapshot().creds.fsuid)
        .unwrap_or(0);
    let pty = table.new_pty(uid)?;
    Ok(Box::new(MasterFile::new(pty, stat)))
}

/// The pairs of one devpts instance.
pub struct PtsTable {
    dev: u64,
    tables: Mutex<Tables>,
}

impl PtsTable {
    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new pair with the smallest free index, replica owned by `uid`.
    pub fn new_pty(self: &Arc<Self>, uid: u32) -> Result<Arc<Pty>, Errno> {
        let mut t = self.lock();
        let index = (0..PTY_MAX).find(|i| !t.used.contains(i)).ok_or(Errno::ENOSPC)?;
        let pty = Pty::new(index, self.dev, next_ino(), uid, Arc::downgrade(self));
        t.used.insert(index);
        t.visible.insert(index, pty.clone());
        Ok(pty)
    }

    /// Removes the node of `index` (its master was closed).
    pub fn hide(&self, index: u32) {
        let removed = self.lock().visible.remove(&index);
        // Dropped outside the lock: it may be the pair's last reference,
        // whose drop calls `release`.
        drop(removed);
    }

    /// Frees `index` (its pair is gone).
    pub fn release(&self, index: u32) {
        self.lock().used.remove(&index);
    }

    fn get(&self, index: u32) -> Option<Arc<Pty>> {
        self.lock().visible.get(&index).cloned()
    }
}

/// A devpts instance.
pub struct DevPts {
    table: Arc<PtsTable>,
    root: Arc<PtsRoot>,
}

impl DevPts {
    /// A fresh instance.
    pub fn new() -> Arc<DevPts> {
        let dev = anon_dev();
        let table = Arc::new(PtsTable {
            dev,
            tables: Mutex::new(Tables::default()),
        });
        let root = Arc::new(PtsRoot {
            stat: synthetic_stat(dev, 1, libc::S_IFDIR | 0o755, 0),
            ptmx: PtmxNode::new(dev, Arc::downgrade(&table)),
            table: table.clone(),
        });
        Arc::new(DevPts { table, root })
    }

    /// The root directory.
    pub fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    /// Makes this instance the one where host terminals are shown.
    pub fn show_host_terminals(&self) {
        if let Ok(mut s) = SANDBOX_PTS.lock() {
            *s = Some(Arc::downgrade(&self.table));
        }
    }
}

impl FileSystem for DevPts {
    fn statfs(&self) -> Result<Statfs, Errno> {
        SyntheticFs {
            magic: DEVPTS_SUPER_MAGIC,
        }
        .statfs()
    }
}

/// /dev/pts itself: `ptmx` and one node per open master.
struct PtsRoot {
    stat: Stat,
    ptmx: Arc<PtmxNode>,
    table: Arc<PtsTable>,
}

impl Inode for PtsRoot {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn lookup(&self, names: &[&[u8]]) -> Result<Vec<Arc<dyn Inode>>, Errno> {
        let Some(first) = names.first() else {
            return Ok(Vec::new());
        };
        if *first == b"ptmx" {
            return Ok(vec![self.ptmx.clone()]);
        }
        let index = std::str::from_utf8(first)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0')))
            .and_then(|s| s.parse::<u32>().ok());
        let Some(index) = index else {
            return Ok(Vec::new());
        };
        if let Some(pty) = self.table.get(index) {
            return Ok(vec![Arc::new(ReplicaNode { pty })]);
        }
        match self.table.lock().host.get(&index) {
            Some(term) => Ok(vec![Arc::new(HostTerminalNode { fd: term.fd.clone() })]),
            None => Ok(Vec::new()),
        }
    }

    fn readdir(&self, cookie: u64, max: usize) -> Result<Vec<RawDirent>, Errno> {
        let mut all = vec![RawDirent {
            ino: self.ptmx.stat.st_ino,
            cookie: 0,
            dtype: dtype_of(self.ptmx.stat.st_mode),
            name: b"ptmx".to_vec(),
        }];
        let tables = self.table.lock();
        for pty in tables.visible.values() {
            all.push(RawDirent {
                ino: pty.node_stat().st_ino,
                cookie: 0,
                dtype: libc::DT_CHR,
                name: pty.index.to_string().into_bytes(),
            });
        }
        for (index, term) in &tables.host {
            all.push(RawDirent {
                ino: HostTerminalNode { fd: term.fd.clone() }.stat().map_or(0, |s| s.st_ino),
                cookie: 0,
                dtype: libc::DT_CHR,
                name: index.to_string().into_bytes(),
            });
        }
        drop(tables);
        // Cookies: 1 for ptmx, index + 2 for a replica (stable as pairs come and go).
        for e in all.iter_mut() {
            e.cookie = match std::str::from_utf8(&e.name).ok().and_then(|s| s.parse::<u64>().ok()) {
                Some(i) => i + 2,
                None => 1,
            };
        }
        all.sort_by_key(|e| e.cookie);
        Ok(all.into_iter().filter(|e| e.cookie > cookie).take(max).collect())
    }

    fn cacheable(&self) -> bool {
        false
    }
}

/// `ptmx`: every open makes a new pair and returns its master.
struct PtmxNode {
    stat: Stat,
    table: Weak<PtsTable>,
}

impl PtmxNode {
    fn new(dev: u64, table: Weak<PtsTable>) -> Arc<PtmxNode> {
        Arc::new(PtmxNode {
            stat: synthetic_stat(dev, next_ino(), libc::S_IFCHR | 0o666, makedev(TTYAUX_MAJOR, 2)),
            table,
        })
    }
}

impl Inode for PtmxNode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn open(&self, _flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        let table = self.table.upgrade().ok_or(Errno::ENODEV)?;
        open_master(&table, self.stat)
    }
}

/// `/dev/pts/N` of a host terminal: stats as it, opens a duplicate.
struct HostTerminalNode {
    fd: Arc<OwnedFd>,
}

impl Inode for HostTerminalNode {
    fn stat(&self) -> Result<Stat, Errno> {
        super::host::fstat(&self.fd)
    }

    fn open(&self, _flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        let dup = self.fd.try_clone().map_err(Errno::from)?;
        Ok(Box::new(super::host::HostFile::new(dup)))
    }
}

/// `/dev/pts/N`: opens the replica of pair N.
struct ReplicaNode {
    pty: Arc<Pty>,
}

impl Inode for ReplicaNode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.pty.node_stat())
    }

    fn open(&self, flags: i32) -> Result<Box<dyn FileOps>, Errno> {
        open_replica(&self.pty, flags, None)
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        if attr.mode.is_none() && attr.uid.is_none() && attr.gid.is_none() {
            // Timestamps of a device node: accepted, not kept.
            return Ok(());
        }
        self.pty.set_node_attrs(attr);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(fs: &DevPts) -> Vec<String> {
        fs.root()
            .readdir(0, 100)
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect()
    }

    #[test]
    fn ptmx_opens_numbered_replicas_that_vanish_with_the_master() {
        let fs = DevPts::new();
        let ptmx = fs.root().lookup(&[b"ptmx"]).unwrap().pop().unwrap();
        let m0 = ptmx.open(libc::O_RDWR).unwrap();
        let m1 = ptmx.open(libc::O_RDWR).unwrap();
        assert_eq!(names(&fs), ["ptmx", "0", "1"]);
        let node = fs.root().lookup(&[b"1"]).unwrap().pop().unwrap();
        let st = node.stat().unwrap();
        assert_eq!(st.st_mode, libc::S_IFCHR | 0o620);
        assert_eq!(st.st_gid, 5);
        assert_eq!(st.st_rdev, makedev(136, 1));
        // Locked until TIOCSPTLCK(0).
        assert_eq!(node.open(libc::O_RDWR | libc::O_NOCTTY).err(), Some(Errno::EIO));
        drop(m0);
        assert_eq!(names(&fs), ["ptmx", "1"]);
        assert!(fs.root().lookup(&[b"0"]).unwrap().is_empty());
        // Index 0 is free again.
        let m2 = ptmx.open(libc::O_RDWR).unwrap();
        assert_eq!(names(&fs), ["ptmx", "0", "1"]);
        drop((m1, m2));
        assert_eq!(names(&fs), ["ptmx"]);
    }

    #[test]
    fn master_and_replica_talk_through_the_line_discipline() {
        let fs = DevPts::new();
        let ptmx = fs.root().lookup(&[b"ptmx"]).unwrap().pop().unwrap();
        let m = ptmx.open(libc::O_RDWR).unwrap();
        let node = fs.root().lookup(&[b"0"]).unwrap().pop().unwrap();
        let any = m.as_any().unwrap();
        let master = any.downcast_ref::<MasterFile>().unwrap();
        let mut buf = [0u8; 64];
        // No replica opened yet: the master's read would block.
        assert_eq!(m.read(&mut buf, 0, true), Err(Errno::EAGAIN));
        master.pty().lock().locked = false;
        let r = node.open(libc::O_RDWR | libc::O_NOCTTY).unwrap();
        assert_eq!(m.write(b"hi\r", 0, false), Ok(3));
        assert_eq!(r.read(&mut buf, 0, false), Ok(3));
        assert_eq!(&buf[..3], b"hi\n");
        assert_eq!(m.read(&mut buf, 0, false), Ok(4));
        assert_eq!(&buf[..4], b"hi\r\n");
        assert_eq!(r.write(b"out\n", 0, false), Ok(4));
        assert_eq!(m.read(&mut buf, 0, false), Ok(5));
        assert_eq!(&buf[..5], b"out\r\n");
        let pollin = libc::POLLIN as u32;
        assert_eq!(r.readiness(pollin), 0);
        drop(r);
        // Replica closed: EIO and POLLHUP on the master.
        assert_eq!(m.read(&mut buf, 0, false), Err(Errno::EIO));
        assert_ne!(m.readiness(pollin) & libc::POLLHUP as u32, 0);
        let r = node.open(libc::O_RDWR | libc::O_NOCTTY).unwrap();
        drop(m);
        // Master closed: the replica reads EOF, writes EIO, polls HUP.
        assert_eq!(r.read(&mut buf, 0, false), Ok(0));
        assert_eq!(r.write(b"x", 0, false), Err(Errno::EIO));
        assert_ne!(r.readiness(pollin) & libc::POLLHUP as u32, 0);
    }
}
