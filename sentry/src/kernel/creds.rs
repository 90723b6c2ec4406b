//! Task credentials: the guest's view of uid/gid, modelled in the sentry.

/// The credentials of a task (all ids are guest ids).
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Real user id.
    pub ruid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Saved set-user-id.
    pub suid: u32,
    /// Real group id.
    pub rgid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Saved set-group-id.
    pub sgid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Credentials {
    /// Credentials with every uid equal to `uid` and every gid to `gid`.
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>) -> Self {
        Credentials {
            ruid: uid,
            euid: uid,
            suid: uid,
            rgid: gid,
            egid: gid,
            sgid: gid,
            groups,
        }
    }

    /// True when the task acts as the sandbox's root (full capabilities inside).
    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// True when `gid` is the effective group or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.egid == gid || self.groups.contains(&gid)
    }
}
