//! Linux capabilities, modelled in the sentry (capabilities(7)).
//!
//! Every task holds the five sets (permitted, effective, inheritable,
//! bounding, ambient) and its securebits in its [`Credentials`]. Privilege
//! checks ask for one capability in the effective set
//! ([`Credentials::has_cap`]); the rules that move capabilities when user
//! ids change ([`fix_setuid`], [`fix_setfsuid`]) and on execve
//! ([`exec_transform`]) follow the man page. The sandbox has no file
//! capabilities: for root the "file sets" are all ones, as Linux does for
//! set-user-ID-root programs and for root itself.

use super::Credentials;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A capability set: bit N is capability N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CapSet(pub u64);

macro_rules! caps {
    ($($name:ident = $n:expr),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "` (capability number ", stringify!($n), ").")]
            pub const $name: u32 = $n;
        )*
        /// Every capability's name, indexed by number.
        pub const NAMES: [&str; CAP_LAST_CAP as usize + 1] = [$(stringify!($name)),*];
    };
}

caps! {
    CAP_CHOWN = 0,
    CAP_DAC_OVERRIDE = 1,
    CAP_DAC_READ_SEARCH = 2,
    CAP_FOWNER = 3,
    CAP_FSETID = 4,
    CAP_KILL = 5,
    CAP_SETGID = 6,
    CAP_SETUID = 7,
    CAP_SETPCAP = 8,
    CAP_LINUX_IMMUTABLE = 9,
    CAP_NET_BIND_SERVICE = 10,
    CAP_NET_BROADCAST = 11,
    CAP_NET_ADMIN = 12,
    CAP_NET_RAW = 13,
    CAP_IPC_LOCK = 14,
    CAP_IPC_OWNER = 15,
    CAP_SYS_MODULE = 16,
    CAP_SYS_RAWIO = 17,
    CAP_SYS_CHROOT = 18,
    CAP_SYS_PTRACE = 19,
    CAP_SYS_PACCT = 20,
    CAP_SYS_ADMIN = 21,
    CAP_SYS_BOOT = 22,
    CAP_SYS_NICE = 23,
    CAP_SYS_RESOURCE = 24,
    CAP_SYS_TIME = 25,
    CAP_SYS_TTY_CONFIG = 26,
    CAP_MKNOD = 27,
    CAP_LEASE = 28,
    CAP_AUDIT_WRITE = 29,
    CAP_AUDIT_CONTROL = 30,
    CAP_SETFCAP = 31,
    CAP_MAC_OVERRIDE = 32,
    CAP_MAC_ADMIN = 33,
    CAP_SYSLOG = 34,
    CAP_WAKE_ALARM = 35,
    CAP_BLOCK_SUSPEND = 36,
    CAP_AUDIT_READ = 37,
    CAP_PERFMON = 38,
    CAP_BPF = 39,
    CAP_CHECKPOINT_RESTORE = 40,
}

/// The highest capability number Linux defines.
pub const CAP_LAST_CAP: u32 = 40;

/// `SECBIT_NOROOT`: uid 0 gets no capabilities from execve.
pub const SECBIT_NOROOT: u32 = 1 << 0;
/// `SECBIT_NO_SETUID_FIXUP`: uid changes leave the capability sets alone.
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
/// `SECBIT_KEEP_CAPS`: leaving uid 0 keeps the permitted set (cleared by execve).
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
/// `SECBIT_KEEP_CAPS_LOCKED`.
pub const SECBIT_KEEP_CAPS_LOCKED: u32 = 1 << 5;
/// `SECBIT_NO_CAP_AMBIENT_RAISE`: `PR_CAP_AMBIENT_RAISE` is refused.
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
/// Every securebit (`SECURE_ALL_BITS`).
pub const SECURE_ALL_BITS: u32 = 0x55;
/// Every lock bit (`SECURE_ALL_LOCKS`): each locks the bit below it.
pub const SECURE_ALL_LOCKS: u32 = 0xaa;

/// The capabilities that follow the filesystem uid (`CAP_FS_MASK`).
pub const FS_CAPS: CapSet = CapSet(
    1 << CAP_CHOWN
        | 1 << CAP_DAC_OVERRIDE
        | 1 << CAP_DAC_READ_SEARCH
        | 1 << CAP_FOWNER
        | 1 << CAP_FSETID
        | 1 << CAP_LINUX_IMMUTABLE
        | 1 << CAP_MAC_OVERRIDE,
);

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);
    /// Every capability up to [`CAP_LAST_CAP`].
    pub const FULL: CapSet = CapSet((1 << (CAP_LAST_CAP + 1)) - 1);

    /// Whether capability `cap` is in the set.
    pub fn has(self, cap: u32) -> bool {
        cap <= CAP_LAST_CAP && self.0 & (1 << cap) != 0
    }

    /// The set with `cap` added.
    pub fn with(self, cap: u32) -> CapSet {
        if cap > CAP_LAST_CAP {
            return self;
        }
        CapSet(self.0 | 1 << cap)
    }

    /// The set without `cap`.
    pub fn without(self, cap: u32) -> CapSet {
        if cap > CAP_LAST_CAP {
            return self;
        }
        CapSet(self.0 & !(1 << cap))
    }

    /// Whether every member of `self` is in `other`.
    pub fn is_subset(self, other: CapSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Members of both.
    pub fn and(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    /// Members of either.
    pub fn or(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }

    /// Only the bits of capabilities Linux defines.
    pub fn valid(self) -> CapSet {
        self.and(CapSet::FULL)
    }

    /// The set of the named capabilities.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<CapSet, UnknownCap> {
        names
            .into_iter()
            .try_fold(CapSet::EMPTY, |set, name| Ok(set.with(cap_by_name(name)?)))
    }

    /// The names of the members, in number order.
    pub fn names(self) -> Vec<&'static str> {
        (0..=CAP_LAST_CAP)
            .filter(|&c| self.has(c))
            .map(|c| NAMES[c as usize])
            .collect()
    }
}

impl fmt::LowerHex for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}

/// A capability name that Linux does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {0:?}")]
pub struct UnknownCap(pub String);

/// The number of a capability named like `CAP_SYS_ADMIN` (case-insensitive;
/// the `CAP_` prefix may be left out, as runc accepts).
pub fn cap_by_name(name: &str) -> Result<u32, UnknownCap> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    NAMES
        .iter()
        .position(|n| *n == full)
        .map(|n| n as u32)
        .ok_or_else(|| UnknownCap(name.to_string()))
}

/// The five sets of a process, as a runtime configures them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSets {
    /// Capabilities the process may use (a limit for `effective`).
    pub permitted: CapSet,
    /// Capabilities the kernel checks.
    pub effective: CapSet,
    /// Capabilities kept across execve (with the ambient set).
    pub inheritable: CapSet,
    /// The limit of what execve can grant.
    pub bounding: CapSet,
    /// Capabilities a non-root program keeps across execve.
    pub ambient: CapSet,
}

impl CapSets {
    /// What a process of user `uid` holds without configuration: uid 0
    /// everything (permitted, effective, bounding), others only a full
    /// bounding set.
    pub fn default_for(uid: u32) -> CapSets {
        let held = if uid == 0 { CapSet::FULL } else { CapSet::EMPTY };
        CapSets {
            permitted: held,
            effective: held,
            inheritable: CapSet::EMPTY,
            bounding: CapSet::FULL,
            ambient: CapSet::EMPTY,
        }
    }

    /// The sets with Linux's invariants restored: effective within
    /// permitted, ambient within permitted and inheritable.
    pub fn normalized(self) -> CapSets {
        let permitted = self.permitted.valid();
        let inheritable = self.inheritable.valid();
        CapSets {
            permitted,
            effective: self.effective.and(permitted),
            inheritable,
            bounding: self.bounding.valid(),
            ambient: self.ambient.and(permitted).and(inheritable),
        }
    }
}

/// Adjusts the sets after a setuid/setreuid/setresuid changed `new`'s uids
/// from `old`'s ("Effect of user ID changes on capabilities").
pub fn fix_setuid(old: &Credentials, new: &mut Credentials) {
    if new.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
        return;
    }
    let had_root = [old.ruid, old.euid, old.suid].contains(&0);
    let has_root = [new.ruid, new.euid, new.suid].contains(&0);
    if had_root && !has_root {
        if new.securebits & SECBIT_KEEP_CAPS == 0 {
            new.caps.permitted = CapSet::EMPTY;
            new.caps.effective = CapSet::EMPTY;
        }
        new.caps.ambient = CapSet::EMPTY;
    }
    if old.euid == 0 && new.euid != 0 {
        new.caps.effective = CapSet::EMPTY;
    }
    if old.euid != 0 && new.euid == 0 {
        new.caps.effective = new.caps.permitted;
    }
}

/// Adjusts the effective set after a filesystem uid change: leaving fsuid 0
/// drops the filesystem capabilities, returning to it raises the permitted
/// ones.
pub fn fix_setfsuid(old: &Credentials, new: &mut Credentials) {
    if new.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
        return;
    }
    let eff = new.caps.effective;
    if old.fsuid == 0 && new.fsuid != 0 {
        new.caps.effective = CapSet(eff.0 & !FS_CAPS.0);
    }
    if old.fsuid != 0 && new.fsuid == 0 {
        new.caps.effective = eff.or(new.caps.permitted.and(FS_CAPS));
    }
}

/// The set-user-ID / set-group-ID owner of a program being executed, when
/// its mode bits ask for it (and the mount allows it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetId {
    /// The file's owner, for a set-user-ID program.
    pub uid: Option<u32>,
    /// The file's group, for a set-group-ID program (with group execute).
    pub gid: Option<u32>,
}

impl SetId {
    /// From a program's mode and owner, and whether its mount is `nosuid`.
    pub fn from_mode(mode: u32, uid: u32, gid: u32, nosuid: bool) -> SetId {
        if nosuid {
            return SetId::default();
        }
        SetId {
            uid: (mode & libc::S_ISUID != 0).then_some(uid),
            gid: (mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP).then_some(gid),
        }
    }
}

/// The credentials after execve of a program (`setid`: its set-ID bits)
/// and whether the exec is "secure" (`AT_SECURE`): Linux's
/// `cap_bprm_creds_from_file` with no file capabilities. With
/// `no_new_privs` the set-ID bits are ignored and nothing is gained.
pub fn exec_transform(old: &Credentials, setid: SetId, no_new_privs: bool) -> (Credentials, bool) {
    let mut new = old.clone();
    if !no_new_privs {
        if let Some(uid) = setid.uid {
            new.euid = uid;
        }
        if let Some(gid) = setid.gid {
            new.egid = gid;
        }
    }
    // Without file capabilities the new permitted set starts empty.
    new.caps.permitted = CapSet::EMPTY;
    let mut effective = false;
    if old.securebits & SECBIT_NOROOT == 0 {
        // Root's programs are treated as if every file capability were set.
        if new.euid == 0 || new.ruid == 0 {
            new.caps.permitted = old.caps.bounding.or(old.caps.inheritable);
        }
        effective = new.euid == 0;
    }
    let gained = !new.caps.permitted.is_subset(old.caps.permitted);
    let is_setid = new.euid != old.ruid || new.egid != old.rgid;
    if (is_setid || gained) && no_new_privs {
        new.euid = new.ruid;
        new.egid = new.rgid;
        new.caps.permitted = new.caps.permitted.and(old.caps.permitted);
    }
    (new.suid, new.fsuid) = (new.euid, new.euid);
    (new.sgid, new.fsgid) = (new.egid, new.egid);
    if is_setid {
        new.caps.ambient = CapSet::EMPTY;
    }
    new.caps.permitted = new.caps.permitted.or(new.caps.ambient);
    new.caps.effective = if effective {
        new.caps.permitted
    } else {
        new.caps.ambient
    };
    new.securebits &= !SECBIT_KEEP_CAPS;
    let grew = !new.caps.permitted.is_subset(new.caps.ambient);
    let secure = is_setid || (new.ruid != 0 && (effective || grew));
    (new, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(uid: u32) -> Credentials {
        Credentials::new(uid, uid, vec![])
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(NAMES[CAP_SYS_ADMIN as usize], "CAP_SYS_ADMIN");
        assert_eq!(NAMES[CAP_CHECKPOINT_RESTORE as usize], "CAP_CHECKPOINT_RESTORE");
        assert_eq!(cap_by_name("CAP_SYS_ADMIN"), Ok(21));
        assert_eq!(cap_by_name("net_raw"), Ok(13));
        assert!(cap_by_name("CAP_FLY").is_err());
        assert_eq!(CapSet::FULL.0, 0x1ff_ffff_ffff);
        // Docker's default set.
        let docker = CapSet::from_names([
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FSETID",
            "CAP_FOWNER",
            "CAP_MKNOD",
            "CAP_NET_RAW",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_KILL",
            "CAP_AUDIT_WRITE",
        ])
        .unwrap_or_default();
        assert_eq!(docker.0, 0xa80425fb);
        assert_eq!(CapSet(0b101).names(), ["CAP_CHOWN", "CAP_DAC_READ_SEARCH"]);
    }

    #[test]
    fn setuid_from_root_drops_unless_keep_caps() {
        let old = creds(0);
        let mut new = old.clone();
        (new.ruid, new.euid, new.suid) = (1000, 1000, 1000);
        fix_setuid(&old, &mut new);
        assert_eq!((new.caps.permitted, new.caps.effective), (CapSet::EMPTY, CapSet::EMPTY));
        assert_eq!(new.caps.bounding, CapSet::FULL);

        let mut old = creds(0);
        old.securebits = SECBIT_KEEP_CAPS;
        old.caps.inheritable = CapSet::FULL;
        old.caps.ambient = CapSet(1);
        let mut new = old.clone();
        (new.ruid, new.euid, new.suid) = (1000, 1000, 1000);
        fix_setuid(&old, &mut new);
        assert_eq!((new.caps.permitted, new.caps.effective), (CapSet::FULL, CapSet::EMPTY));
        assert_eq!(new.caps.ambient, CapSet::EMPTY);
    }

    #[test]
    fn seteuid_round_trip_restores_effective() {
        let old = creds(0);
        let mut mid = old.clone();
        mid.euid = 1000;
        fix_setuid(&old, &mut mid);
        assert_eq!((mid.caps.permitted, mid.caps.effective), (CapSet::FULL, CapSet::EMPTY));
        let mut back = mid.clone();
        back.euid = 0;
        fix_setuid(&mid, &mut back);
        assert_eq!(back.caps.effective, CapSet::FULL);
    }

    #[test]
    fn fsuid_moves_only_fs_caps() {
        let old = creds(0);
        let mut new = old.clone();
        new.fsuid = 1000;
        fix_setfsuid(&old, &mut new);
        assert!(!new.caps.effective.has(CAP_CHOWN) && !new.caps.effective.has(CAP_DAC_OVERRIDE));
        assert!(new.caps.effective.has(CAP_SYS_ADMIN));
        let mut back = new.clone();
        back.fsuid = 0;
        fix_setfsuid(&new, &mut back);
        assert_eq!(back.caps.effective, CapSet::FULL);
    }

    #[test]
    fn exec_as_root_takes_bounding_and_inheritable() {
        let mut old = creds(0);
        old.caps.bounding = CapSet::FULL.without(CAP_SYS_ADMIN);
        old.caps.permitted = CapSet(1 << CAP_CHOWN);
        old.caps.effective = CapSet::EMPTY;
        old.securebits = SECBIT_KEEP_CAPS;
        let (new, secure) = exec_transform(&old, SetId::default(), false);
        assert_eq!(new.caps.permitted, old.caps.bounding);
        assert_eq!(new.caps.effective, old.caps.bounding);
        assert_eq!(new.securebits, 0);
        assert!(!secure);
        // no_new_privs: nothing beyond the old permitted set.
        let (new, _) = exec_transform(&old, SetId::default(), true);
        assert_eq!(new.caps.permitted, CapSet(1 << CAP_CHOWN));
    }

    #[test]
    fn exec_as_user_keeps_ambient_only() {
        let mut old = creds(1000);
        old.caps.permitted = CapSet(0b11);
        old.caps.inheritable = CapSet(0b11);
        old.caps.ambient = CapSet(0b10);
        let (new, secure) = exec_transform(&old, SetId::default(), false);
        assert_eq!((new.caps.permitted, new.caps.effective), (CapSet(0b10), CapSet(0b10)));
        assert_eq!(new.caps.inheritable, CapSet(0b11));
        assert!(!secure);
        // A set-user-ID-root program: root's sets, ambient cleared.
        let setid = SetId::from_mode(libc::S_IFREG | libc::S_ISUID | 0o755, 0, 0, false);
        let (new, secure) = exec_transform(&old, setid, false);
        assert_eq!((new.euid, new.suid, new.ruid), (0, 0, 1000));
        assert_eq!(new.caps.permitted, CapSet::FULL.or(CapSet(0b11)));
        assert_eq!(new.caps.effective, new.caps.permitted);
        assert_eq!(new.caps.ambient, CapSet::EMPTY);
        assert!(secure);
        // ... ignored under no_new_privs, and on a nosuid mount.
        let (new, _) = exec_transform(&old, setid, true);
        assert_eq!((new.euid, new.caps.permitted), (1000, CapSet(0b10)));
        let nosuid = SetId::from_mode(libc::S_IFREG | libc::S_ISUID | 0o755, 0, 0, true);
        assert_eq!(nosuid, SetId::default());
    }

    #[test]
    fn normalized_restores_invariants() {
        let s = CapSets {
            permitted: CapSet(0b011),
            effective: CapSet(0b111),
            inheritable: CapSet(0b110),
            bounding: CapSet(u64::MAX),
            ambient: CapSet(0b111),
        }
        .normalized();
        assert_eq!(
            (s.effective, s.ambient, s.bounding),
            (CapSet(0b011), CapSet(0b010), CapSet::FULL)
        );
    }
}
