//! Permission checks: Unix mode bits against the task's credentials, then
//! the DAC-overriding capabilities.

use crate::kernel::caps::{CapSet, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, SECBIT_NO_SETUID_FIXUP};
use crate::kernel::Credentials;
use syscalls::structs::Stat;
use syscalls::Errno;

/// Execute (search, for directories).
pub const MAY_EXEC: u32 = 1;
/// Write.
pub const MAY_WRITE: u32 = 2;
/// Read.
pub const MAY_READ: u32 = 4;

/// Which ids a check uses: the effective ones (every syscall) or the real
/// ones (`access` without `AT_EACCESS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// euid/egid.
    Effective,
    /// ruid/rgid.
    Real,
}

/// Whether `creds` may access a node with attributes `st` for `mask`
/// (`MAY_*` bits): the mode bits, then CAP_DAC_OVERRIDE and
/// CAP_DAC_READ_SEARCH as Linux's `generic_permission`. Read-only mounts
/// are the caller's concern.
pub fn permitted(creds: &Credentials, ids: IdKind, st: &Stat, mask: u32) -> bool {
    let (uid, gid, caps) = match ids {
        IdKind::Effective => (creds.fsuid, creds.fsgid, creds.caps.effective),
        // access(2) checks as the real user, with root's permitted set or
        // (another real user) no capability at all.
        IdKind::Real => {
            let caps = if creds.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
                creds.caps.effective
            } else if creds.ruid == 0 {
                creds.caps.permitted
            } else {
                CapSet::EMPTY
            };
            (creds.ruid, creds.rgid, caps)
        }
    };
    let mode = st.st_mode;
    let bits = if uid == st.st_uid {
        mode >> 6
    } else if gid == st.st_gid || creds.groups.contains(&st.st_gid) {
        mode >> 3
    } else {
        mode
    } & 7;
    if bits & mask == mask {
        return true;
    }
    if super::inode::is_dir(mode) {
        // Directories: read and search with CAP_DAC_READ_SEARCH, anything
        // with CAP_DAC_OVERRIDE.
        return (mask & MAY_WRITE == 0 && caps.has(CAP_DAC_READ_SEARCH)) || caps.has(CAP_DAC_OVERRIDE);
    }
    // Files: CAP_DAC_OVERRIDE executes only what some execute bit allows.
    if (mask & MAY_EXEC == 0 || mode & 0o111 != 0) && caps.has(CAP_DAC_OVERRIDE) {
        return true;
    }
    mask == MAY_READ && caps.has(CAP_DAC_READ_SEARCH)
}

/// [`permitted`] with effective ids, as an errno.
pub fn check(creds: &Credentials, st: &Stat, mask: u32) -> Result<(), Errno> {
    if permitted(creds, IdKind::Effective, st, mask) {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syscalls::Pod;

    fn st(mode: u32, uid: u32, gid: u32) -> Stat {
        let mut s = Stat::zeroed();
        s.st_mode = mode;
        s.st_uid = uid;
        s.st_gid = gid;
        s
    }

    #[test]
    fn owner_group_other_bits() {
        let user = Credentials::new(1000, 1000, vec![27]);
        let f = st(libc::S_IFREG | 0o640, 1000, 50);
        assert!(permitted(&user, IdKind::Effective, &f, MAY_READ | MAY_WRITE));
        assert!(!permitted(&user, IdKind::Effective, &f, MAY_EXEC));
        let g = st(libc::S_IFREG | 0o640, 0, 27);
        assert!(permitted(&user, IdKind::Effective, &g, MAY_READ));
        assert!(!permitted(&user, IdKind::Effective, &g, MAY_WRITE));
        let o = st(libc::S_IFREG | 0o604, 0, 0);
        assert!(permitted(&user, IdKind::Effective, &o, MAY_READ));
        // The owner class applies even when "other" would allow more.
        let owner_denied = st(libc::S_IFREG | 0o066, 1000, 0);
        assert!(!permitted(&user, IdKind::Effective, &owner_denied, MAY_READ));
    }

    #[test]
    fn root_bypasses_but_needs_an_exec_bit_for_files() {
        let root = Credentials::new(0, 0, vec![]);
        assert!(permitted(
            &root,
            IdKind::Effective,
            &st(libc::S_IFREG, 5, 5),
            MAY_READ | MAY_WRITE
        ));
        assert!(!permitted(
            &root,
            IdKind::Effective,
            &st(libc::S_IFREG | 0o644, 5, 5),
            MAY_EXEC
        ));
        assert!(permitted(
            &root,
            IdKind::Effective,
            &st(libc::S_IFREG | 0o010, 5, 5),
            MAY_EXEC
        ));
        assert!(permitted(&root, IdKind::Effective, &st(libc::S_IFDIR, 5, 5), MAY_EXEC));
    }

    #[test]
    fn capabilities_override_dac() {
        let mut c = Credentials::new(0, 0, vec![]);
        let f = st(libc::S_IFREG, 5, 5);
        let d = st(libc::S_IFDIR, 5, 5);
        c.caps.effective = CapSet(1 << CAP_DAC_READ_SEARCH);
        assert!(permitted(&c, IdKind::Effective, &f, MAY_READ));
        assert!(!permitted(&c, IdKind::Effective, &f, MAY_WRITE));
        assert!(permitted(&c, IdKind::Effective, &d, MAY_READ | MAY_EXEC));
        assert!(!permitted(&c, IdKind::Effective, &d, MAY_WRITE));
        c.caps.effective = CapSet(1 << CAP_DAC_OVERRIDE);
        assert!(permitted(&c, IdKind::Effective, &f, MAY_READ | MAY_WRITE));
        assert!(permitted(&c, IdKind::Effective, &d, MAY_WRITE | MAY_EXEC));
        // Root without either is an ordinary user to the mode bits.
        c.caps.effective = CapSet::EMPTY;
        assert!(!permitted(&c, IdKind::Effective, &f, MAY_READ));
        assert!(permitted(
            &c,
            IdKind::Effective,
            &st(libc::S_IFREG | 0o004, 5, 5),
            MAY_READ
        ));
    }

    #[test]
    fn real_ids_for_access() {
        let mut c = Credentials::new(1000, 1000, vec![]);
        c.euid = 0;
        c.fsuid = 0;
        c.caps = crate::kernel::caps::CapSets::default_for(0);
        let f = st(libc::S_IFREG | 0o600, 0, 0);
        assert!(permitted(&c, IdKind::Effective, &f, MAY_READ));
        assert!(!permitted(&c, IdKind::Real, &f, MAY_READ));
    }
}
