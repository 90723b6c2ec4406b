//! Task credentials: the guest's view of uids, gids and capabilities,
//! modelled in the sentry (no host credential ever changes).

use super::caps::{CapSets, CAP_LAST_CAP};

/// The credentials of a task (all ids are guest ids).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub ruid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Filesystem user id (follows `euid` except through `setfsuid`).
    pub fsuid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// Filesystem group id.
    pub fsgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// The capability sets (see [`super::caps`]).
    pub caps: CapSets,
    /// `SECBIT_*` flags (`PR_SET_SECUREBITS`, `PR_SET_KEEPCAPS`).
    pub securebits: u32,
}

impl Credentials {
    /// Credentials with every uid equal to `uid` and every gid to `gid`,
    /// and the capabilities such a process holds by default (uid 0 all of
    /// them, others none).
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Self {
        Credentials {
            ruid: uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            rgid: gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups,
            caps: CapSets::default_for(uid),
            securebits: 0,
        }
    }

    /// Whether the effective set holds capability `cap` (a `CAP_*` of
    /// [`super::caps`]): the one privilege check.
    pub fn has_cap(&self, cap: u32) -> bool {
        cap <= CAP_LAST_CAP && self.caps.effective.has(cap)
    }

    /// True when the effective uid is 0. Only an identity: privilege is
    /// [`Credentials::has_cap`].
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// True when `gid` is the filesystem group or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }
}
