//! capget, capset and the capability options of prctl (bounding set,
//! ambient set, securebits, keep-caps, no_new_privs), over the model of
//! `kernel::caps` (capget(2), prctl(2), capabilities(7)).

use super::{SysResult, SyscallArgs};
use crate::kernel::caps::CapSets;
use crate::kernel::caps::{
    CapSet, CAP_LAST_CAP, CAP_SETPCAP, SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE,
    SECURE_ALL_BITS, SECURE_ALL_LOCKS,
};
use crate::kernel::Task;
use syscalls::Errno;

/// `_LINUX_CAPABILITY_VERSION_1` (one 32-bit word per set).
const VERSION_1: u32 = 0x1998_0330;
/// `_LINUX_CAPABILITY_VERSION_2` (two words, deprecated).
const VERSION_2: u32 = 0x2007_1026;
/// `_LINUX_CAPABILITY_VERSION_3` (two words): what the kernel prefers.
const VERSION_3: u32 = 0x2008_0522;

const PR_CAPBSET_READ: i32 = 23;
const PR_CAPBSET_DROP: i32 = 24;
const PR_GET_KEEPCAPS: i32 = 7;
const PR_SET_KEEPCAPS: i32 = 8;
const PR_GET_SECUREBITS: i32 = 27;
const PR_SET_SECUREBITS: i32 = 28;
const PR_SET_NO_NEW_PRIVS: i32 = 38;
const PR_GET_NO_NEW_PRIVS: i32 = 39;
const PR_CAP_AMBIENT: i32 = 47;
const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;

/// The prctl options this module handles.
pub const PRCTL_OPTIONS: [i32; 9] = [
    PR_CAPBSET_READ,
    PR_CAPBSET_DROP,
    PR_GET_KEEPCAPS,
    PR_SET_KEEPCAPS,
    PR_GET_SECUREBITS,
    PR_SET_SECUREBITS,
    PR_SET_NO_NEW_PRIVS,
    PR_GET_NO_NEW_PRIVS,
    PR_CAP_AMBIENT,
];

/// Reads the header's version: the number of 32-bit words per set, or
/// EINVAL with the preferred version written back.
fn header_words(task: &Task, header: u64) -> Result<usize, Errno> {
    let version: u32 = task.mm.read_obj(header)?;
    match version {
        VERSION_1 => Ok(1),
        VERSION_2 | VERSION_3 => Ok(2),
        _ => {
            task.mm.write_obj(header, &VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

/// `capget(header, data)`: the effective, permitted and inheritable sets
/// of the caller or (pid != 0) any thread. A NULL `data` only probes the
/// version (an unknown one is then not an error).
pub fn sys_capget(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (header, data) = (args.u64(0), args.u64(1));
    let words = match header_words(task, header) {
        Ok(w) => w,
        Err(e) if e == Errno::EINVAL && data == 0 => return Ok(0),
        Err(e) => return Err(e),
    };
    if data == 0 {
        return Ok(0);
    }
    let pid: i32 = task.mm.read_obj(header + 4)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let caps = if pid == 0 || pid == task.tid {
        task.creds.caps
    } else {
        task.kernel.task(pid).ok_or(Errno::ESRCH)?.proc.snapshot().creds.caps
    };
    let mut out = Vec::with_capacity(12 * words);
    for w in 0..words {
        for set in [caps.effective, caps.permitted, caps.inheritable] {
            out.extend_from_slice(&((set.0 >> (32 * w)) as u32).to_ne_bytes());
        }
    }
    task.mm.write(data, &out)?;
    Ok(0)
}

/// The capset rules of capabilities(7) on the caller's sets `old`:
/// returns the new sets or EPERM.
fn capset_rules(old: &CapSets, has_setpcap: bool, e: CapSet, p: CapSet, i: CapSet) -> Result<CapSets, Errno> {
    if !has_setpcap && !i.is_subset(old.inheritable.or(old.permitted)) {
        return Err(Errno::EPERM);
    }
    if !i.is_subset(old.inheritable.or(old.bounding)) || !p.is_subset(old.permitted) || !e.is_subset(p) {
        return Err(Errno::EPERM);
    }
    Ok(CapSets {
        permitted: p,
        effective: e,
        inheritable: i,
        bounding: old.bounding,
        // Ambient capabilities no longer both permitted and inheritable go.
        ambient: old.ambient.and(p).and(i),
    })
}

/// `capset(header, data)`: changes the caller's own sets (another pid is
/// EPERM).
pub fn sys_capset(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let words = header_words(task, args.u64(0))?;
    let pid: i32 = task.mm.read_obj(args.u64(0) + 4)?;
    if pid != 0 && pid != task.tid {
        return Err(Errno::EPERM);
    }
    let raw = task.mm.read_vec(args.u64(1), 12 * words)?;
    let mut sets = [0u64; 3];
    for (n, chunk) in raw.chunks_exact(4).enumerate() {
        let v = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as u64;
        sets[n % 3] |= v << (32 * (n / 3));
    }
    let [e, p, i] = sets.map(|s| CapSet(s).valid());
    let caps = capset_rules(&task.creds.caps, task.creds.has_cap(CAP_SETPCAP), e, p, i)?;
    task.creds.caps = caps;
    Ok(0)
}

/// A capability number argument: EINVAL past `CAP_LAST_CAP`.
fn cap_arg(v: u64) -> Result<u32, Errno> {
    if v > CAP_LAST_CAP as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(v as u32)
}

/// The `PR_SET_SECUREBITS` rules: locked bits cannot change, locks cannot
/// be released, unknown bits are refused, and CAP_SETPCAP is needed.
fn securebits_rules(old: u32, new: u64, has_setpcap: bool) -> Result<u32, Errno> {
    let locked = (old & SECURE_ALL_LOCKS) >> 1;
    let new32 = new as u32;
    if new > u32::MAX as u64
        || locked & (old ^ new32) != 0
        || old & SECURE_ALL_LOCKS & !new32 != 0
        || new32 & !(SECURE_ALL_LOCKS | SECURE_ALL_BITS) != 0
        || !has_setpcap
    {
        return Err(Errno::EPERM);
    }
    Ok(new32)
}

/// The prctl options of [`PRCTL_OPTIONS`].
pub fn prctl(task: &mut Task, args: &SyscallArgs) -> SysResult {
    let (a2, a3, a4, a5) = (args.u64(1), args.u64(2), args.u64(3), args.u64(4));
    let c = &mut task.creds;
    match args.i32(0) {
        PR_CAPBSET_READ => Ok(c.caps.bounding.has(cap_arg(a2)?) as u64),
        PR_CAPBSET_DROP => {
            if !c.has_cap(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            c.caps.bounding = c.caps.bounding.without(cap_arg(a2)?);
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok((c.securebits & SECBIT_KEEP_CAPS != 0) as u64),
        PR_SET_KEEPCAPS => {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            if c.securebits & SECBIT_KEEP_CAPS_LOCKED != 0 {
                return Err(Errno::EPERM);
            }
            c.securebits = if a2 == 1 {
                c.securebits | SECBIT_KEEP_CAPS
            } else {
                c.securebits & !SECBIT_KEEP_CAPS
            };
            Ok(0)
        }
        PR_GET_SECUREBITS => Ok(c.securebits as u64),
        PR_SET_SECUREBITS => {
            c.securebits = securebits_rules(c.securebits, a2, c.has_cap(CAP_SETPCAP))?;
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a2 != 1 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            task.no_new_privs = true;
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a2 != 0 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(task.no_new_privs as u64)
        }
        PR_CAP_AMBIENT => ambient(c, a2, a3, a4 | a5),
        _ => Err(Errno::EINVAL),
    }
}

/// `PR_CAP_AMBIENT` with sub-command `op` on capability `cap`; `rest` is
/// the OR of the arguments that must be zero.
fn ambient(c: &mut crate::kernel::Credentials, op: u64, cap: u64, rest: u64) -> SysResult {
    if op == PR_CAP_AMBIENT_CLEAR_ALL {
        if cap | rest != 0 {
            return Err(Errno::EINVAL);
        }
        c.caps.ambient = CapSet::EMPTY;
        return Ok(0);
    }
    let cap = cap_arg(cap)?;
    if rest != 0 {
        return Err(Errno::EINVAL);
    }
    match op {
        PR_CAP_AMBIENT_IS_SET => Ok(c.caps.ambient.has(cap) as u64),
        PR_CAP_AMBIENT_RAISE => {
            if !c.caps.permitted.has(cap)
                || !c.caps.inheritable.has(cap)
                || c.securebits & SECBIT_NO_CAP_AMBIENT_RAISE != 0
            {
                return Err(Errno::EPERM);
            }
            c.caps.ambient = c.caps.ambient.with(cap);
            Ok(0)
        }
        PR_CAP_AMBIENT_LOWER => {
            c.caps.ambient = c.caps.ambient.without(cap);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Credentials;

    #[test]
    fn capset_only_lowers_permitted() {
        let root = CapSets::default_for(0);
        let chown = CapSet(1 << crate::kernel::caps::CAP_CHOWN);
        let dropped = CapSet::FULL.without(crate::kernel::caps::CAP_CHOWN);
        // Dropping from effective only, then raising back: both allowed.
        let s = capset_rules(&root, true, dropped, CapSet::FULL, CapSet::EMPTY).unwrap_or_default();
        assert_eq!(s.effective, dropped);
        assert!(capset_rules(&s, true, CapSet::FULL, CapSet::FULL, CapSet::EMPTY).is_ok());
        // Dropping from permitted is for good.
        let s = capset_rules(&root, true, dropped, dropped, CapSet::EMPTY).unwrap_or_default();
        assert_eq!(
            capset_rules(&s, true, dropped, CapSet::FULL, CapSet::EMPTY),
            Err(Errno::EPERM)
        );
        // Effective must stay within the new permitted set.
        assert_eq!(
            capset_rules(&root, true, chown, CapSet::EMPTY, CapSet::EMPTY),
            Err(Errno::EPERM)
        );
        // Inheritable: without CAP_SETPCAP only from permitted|inheritable,
        // and never beyond the bounding set.
        let user = CapSets::default_for(1000);
        assert_eq!(
            capset_rules(&user, false, CapSet::EMPTY, CapSet::EMPTY, chown),
            Err(Errno::EPERM)
        );
        let mut bounded = root;
        bounded.bounding = dropped;
        assert_eq!(
            capset_rules(&bounded, true, CapSet::EMPTY, CapSet::EMPTY, chown),
            Err(Errno::EPERM)
        );
    }

    #[test]
    fn capset_trims_ambient() {
        let mut c = CapSets::default_for(0);
        c.inheritable = CapSet(0b11);
        c.ambient = CapSet(0b11);
        let s = capset_rules(&c, true, CapSet::EMPTY, CapSet(0b01), CapSet(0b11)).unwrap_or_default();
        assert_eq!(s.ambient, CapSet(0b01));
    }

    #[test]
    fn securebits_locks() {
        assert_eq!(securebits_rules(0, SECBIT_KEEP_CAPS as u64, true), Ok(SECBIT_KEEP_CAPS));
        assert_eq!(securebits_rules(0, SECBIT_KEEP_CAPS as u64, false), Err(Errno::EPERM));
        assert_eq!(securebits_rules(0, 1 << 8, true), Err(Errno::EPERM));
        let locked = SECBIT_KEEP_CAPS_LOCKED;
        // A locked bit cannot change, and the lock stays.
        assert_eq!(
            securebits_rules(locked, (locked | SECBIT_KEEP_CAPS) as u64, true),
            Err(Errno::EPERM)
        );
        assert_eq!(securebits_rules(locked, 0, true), Err(Errno::EPERM));
        assert_eq!(securebits_rules(locked, locked as u64, true), Ok(locked));
    }

    #[test]
    fn ambient_rules() {
        let mut c = Credentials::new(0, 0, vec![]);
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_RAISE, 3, 0), Err(Errno::EPERM));
        c.caps.inheritable = CapSet(1 << 3);
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_RAISE, 3, 0), Ok(0));
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_IS_SET, 3, 0), Ok(1));
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_IS_SET, 41, 0), Err(Errno::EINVAL));
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_IS_SET, 3, 1), Err(Errno::EINVAL));
        assert_eq!(ambient(&mut c, 9, 3, 0), Err(Errno::EINVAL));
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0), Err(Errno::EINVAL));
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0), Ok(0));
        assert_eq!(c.caps.ambient, CapSet::EMPTY);
        c.securebits = SECBIT_NO_CAP_AMBIENT_RAISE;
        assert_eq!(ambient(&mut c, PR_CAP_AMBIENT_RAISE, 3, 0), Err(Errno::EPERM));
    }
}
