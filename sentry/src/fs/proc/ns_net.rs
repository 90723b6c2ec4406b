//! `/proc/[pid]/ns/` and `/proc/[pid]/net/`: the sandbox is one set of
//! namespaces and has no network devices but loopback, and says so.

use super::nodes::{Attr, ProcDir, ProcFile, ProcLink, StaticEntries};
use crate::vfs::Inode;
use std::sync::Arc;

/// The namespace kinds of `ns/` and their inode numbers: every process of
/// the sandbox shares one of each (Linux numbers the initial ones from
/// 0xEFFFFFFB down; the values only need to be stable and distinct).
const NAMESPACES: [(&str, u32); 10] = [
    ("cgroup", 0xEFFF_FFFB),
    ("ipc", 0xEFFF_FFFF),
    ("mnt", 0xF000_0000),
    ("net", 0xEFFF_FFF9),
    ("pid", 0xEFFF_FFFC),
    ("pid_for_children", 0xEFFF_FFFC),
    ("time", 0xEFFF_FFFA),
    ("time_for_children", 0xEFFF_FFFA),
    ("user", 0xEFFF_FFFD),
    ("uts", 0xEFFF_FFFE),
];

/// `ns/`: one link per namespace, `kind:[inode]` as readlink shows it.
pub fn ns_dir(key: &str, owner: (u32, u32)) -> Arc<dyn Inode> {
    let entries = NAMESPACES
        .iter()
        .map(|&(name, ino)| {
            let kind = name.trim_end_matches("_for_children");
            let target = format!("{kind}:[{ino}]").into_bytes();
            let node = ProcLink::node(
                &format!("{key}/{name}"),
                owner.0,
                owner.1,
                Box::new(move || Ok(target.clone())),
            );
            (name, node)
        })
        .collect();
    ProcDir::node(
        key.to_string(),
        Attr {
            mode: libc::S_IFDIR | 0o511,
            uid: owner.0,
            gid: owner.1,
        },
        StaticEntries(entries),
    )
}

/// `/proc/net/dev`: the loopback device, idle.
const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
";

/// The header lines of the socket tables (no inet sockets exist yet).
const NET_TABLES: [(&str, &str); 6] = [
    (
        "tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    ),
    (
        "tcp6",
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    ),
    (
        "udp",
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
    ),
    (
        "udp6",
        "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
    ),
    ("unix", "Num       RefCount Protocol Flags    Type St Inode Path\n"),
    (
        "route",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
    ),
];

/// `net/`: loopback in `dev`, empty socket tables.
pub fn net_dir(key: &str, owner: (u32, u32)) -> Arc<dyn Inode> {
    let mut entries: Vec<(&'static str, Arc<dyn Inode>)> =
        vec![("dev", ProcFile::fixed(&format!("{key}/dev"), NET_DEV))];
    for (name, header) in NET_TABLES {
        let path = format!("{key}/{name}");
        // The socket tables are generated from the live sockets.
        let live: Option<fn() -> Vec<u8>> = match name {
            "unix" => Some(crate::net::procnet::unix_table),
            "tcp" => Some(|| crate::net::procnet::inet_table(true, false)),
            "tcp6" => Some(|| crate::net::procnet::inet_table(true, true)),
            "udp" => Some(|| crate::net::procnet::inet_table(false, false)),
            "udp6" => Some(|| crate::net::procnet::inet_table(false, true)),
            _ => None,
        };
        let node = match live {
            Some(f) => ProcFile::node(&path, Attr::root(libc::S_IFREG | 0o444), Box::new(move || Ok(f()))),
            None => ProcFile::fixed(&path, header),
        };
        entries.push((name, node));
    }
    ProcDir::node(
        key.to_string(),
        Attr {
            mode: libc::S_IFDIR | 0o555,
            uid: owner.0,
            gid: owner.1,
        },
        StaticEntries(entries),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ns_links_name_their_kind() {
        let ns = ns_dir("1/ns", (0, 0));
        let pid = ns.lookup(&[b"pid_for_children"]).unwrap();
        assert_eq!(pid[0].readlink().unwrap(), b"pid:[4026531836]");
        let names: Vec<_> = ns.readdir(0, 100).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names.len(), NAMESPACES.len());
    }

    #[test]
    fn net_has_loopback_only() {
        let net = net_dir("1/net", (0, 0));
        let dev = net.lookup(&[b"dev"]).unwrap();
        let mut file = dev[0].open(libc::O_RDONLY).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = file.read(&mut buf, 0, false).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert_eq!(text.lines().filter(|l| l.contains(':')).count(), 1);
        assert!(text.contains("    lo:"));
        let _ = &mut file;
    }
}
