//! The interface ioctls every socket answers (`SIOCGIFINDEX`,
//! `SIOCGIFNAME`, `SIOCGIFCONF`, ...), from the same one-interface picture
//! as [`super::netlink`]: `lo`, index 1, 127.0.0.1/8. glibc's
//! `if_nametoindex`/`if_indextoname` use them on a throwaway socket.

use crate::mm::MemoryManager;
use syscalls::Errno;

const SIOCGIFNAME: u64 = 0x8910;
const SIOCGIFCONF: u64 = 0x8912;
const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCGIFADDR: u64 = 0x8915;
const SIOCGIFBRDADDR: u64 = 0x8919;
const SIOCGIFNETMASK: u64 = 0x891b;
const SIOCGIFMTU: u64 = 0x8921;
const SIOCGIFHWADDR: u64 = 0x8927;
const SIOCGIFINDEX: u64 = 0x8933;
const SIOCGIFTXQLEN: u64 = 0x8942;

/// `sizeof(struct ifreq)`.
const IFREQ: usize = 40;
/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// `struct sockaddr_in` for `a.b.c.d`.
fn sockaddr_in(ip: [u8; 4]) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    s[4..8].copy_from_slice(&ip);
    s
}

/// An `ifreq` naming `lo` with `data` in its union.
fn lo_ifreq(data: &[u8]) -> [u8; IFREQ] {
    let mut r = [0u8; IFREQ];
    r[..2].copy_from_slice(b"lo");
    r[IFNAMSIZ..IFNAMSIZ + data.len()].copy_from_slice(data);
    r
}

/// Handles `cmd` if it is an interface ioctl (`None`: it is not one).
/// `inet`: the socket is `AF_INET`/`AF_INET6`, which alone answer the
/// address requests, as in Linux.
pub fn ioctl(mm: &MemoryManager, cmd: u64, arg: u64, inet: bool) -> Option<Result<u64, Errno>> {
    let known = matches!(
        cmd,
        SIOCGIFNAME | SIOCGIFCONF | SIOCGIFFLAGS | SIOCGIFMTU | SIOCGIFHWADDR | SIOCGIFINDEX | SIOCGIFTXQLEN
    ) || (inet && matches!(cmd, SIOCGIFADDR | SIOCGIFBRDADDR | SIOCGIFNETMASK));
    known.then(|| answer(mm, cmd, arg))
}

fn answer(mm: &MemoryManager, cmd: u64, arg: u64) -> Result<u64, Errno> {
    if cmd == SIOCGIFCONF {
        return ifconf(mm, arg);
    }
    let mut req = [0u8; IFREQ];
    mm.read(arg, &mut req)?;
    if cmd == SIOCGIFNAME {
        let index = i32::from_ne_bytes([req[16], req[17], req[18], req[19]]);
        if index != 1 {
            return Err(Errno::ENODEV);
        }
        mm.write(arg, &lo_ifreq(&1i32.to_ne_bytes()))?;
        return Ok(0);
    }
    let end = req[..IFNAMSIZ].iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
    if &req[..end] != b"lo" {
        return Err(Errno::ENODEV);
    }
    let out = match cmd {
        SIOCGIFINDEX => 1i32.to_ne_bytes().to_vec(),
        // IFF_UP | IFF_LOOPBACK | IFF_RUNNING (a short: no IFF_LOWER_UP).
        SIOCGIFFLAGS => 0x49i16.to_ne_bytes().to_vec(),
        SIOCGIFMTU => 65536i32.to_ne_bytes().to_vec(),
        SIOCGIFTXQLEN => 1000i32.to_ne_bytes().to_vec(),
        // sa_family ARPHRD_LOOPBACK, an all-zero address.
        SIOCGIFHWADDR => {
            let mut s = vec![0u8; 16];
            s[..2].copy_from_slice(&772u16.to_ne_bytes());
            s
        }
        SIOCGIFADDR => sockaddr_in([127, 0, 0, 1]).to_vec(),
        SIOCGIFNETMASK => sockaddr_in([255, 0, 0, 0]).to_vec(),
        SIOCGIFBRDADDR => sockaddr_in([0; 4]).to_vec(),
        _ => return Err(Errno::ENOTTY),
    };
    mm.write(arg + IFNAMSIZ as u64, &out)?;
    Ok(0)
}

/// `SIOCGIFCONF`: one `ifreq` per IPv4 address (lo's 127.0.0.1); a NULL
/// buffer asks for the size needed.
fn ifconf(mm: &MemoryManager, arg: u64) -> Result<u64, Errno> {
    // struct ifconf { int ifc_len; (pad) ; char *ifc_buf; }
    let len: i32 = mm.read_obj(arg)?;
    let buf: u64 = mm.read_obj(arg + 8)?;
    let used = if buf == 0 {
        IFREQ as i32
    } else if len >= IFREQ as i32 {
        mm.write(buf, &lo_ifreq(&sockaddr_in([127, 0, 0, 1])))?;
        IFREQ as i32
    } else {
        0
    };
    mm.write_obj(arg, &used)?;
    Ok(0)
}
