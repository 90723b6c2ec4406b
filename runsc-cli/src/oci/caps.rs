//! OCI `process.capabilities` to the sentry's capability sets, and runc's
//! `exec --cap` additions.

use oci_spec::runtime::{Capabilities, LinuxCapabilities};
use sentry::kernel::caps::{cap_by_name, CapSet, CapSets, UnknownCap};

/// The number of an oci-spec capability (which already parsed the name).
fn number(cap: &oci_spec::runtime::Capability) -> Result<u32, UnknownCap> {
    let name = serde_json::to_value(cap)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    cap_by_name(&name)
}

fn set(caps: &Option<Capabilities>) -> Result<CapSet, UnknownCap> {
    caps.iter()
        .flatten()
        .try_fold(CapSet::EMPTY, |s, c| Ok(s.with(number(c)?)))
}

/// The sets an OCI process asks for; a set left out is empty. `None` (no
/// `capabilities` at all) leaves the sentry's per-uid default.
pub fn from_spec(caps: Option<&LinuxCapabilities>) -> Result<Option<CapSets>, UnknownCap> {
    let Some(c) = caps else {
        return Ok(None);
    };
    Ok(Some(CapSets {
        permitted: set(c.permitted())?,
        effective: set(c.effective())?,
        inheritable: set(c.inheritable())?,
        bounding: set(c.bounding())?,
        ambient: set(c.ambient())?,
    }))
}

/// `runsc exec --cap NAME...` over `base`: each capability joins the
/// bounding, effective and permitted sets, and the ambient one when some
/// inheritable capability is configured (runc's rule).
pub fn add_exec_caps(mut base: CapSets, names: &[String]) -> Result<CapSets, UnknownCap> {
    for name in names {
        let cap = cap_by_name(name)?;
        base.bounding = base.bounding.with(cap);
        base.effective = base.effective.with(cap);
        base.permitted = base.permitted.with(cap);
        if base.inheritable != CapSet::EMPTY {
            base.ambient = base.ambient.with(cap);
        }
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sentry::kernel::caps::{CAP_CHOWN, CAP_KILL, CAP_SYS_ADMIN};

    #[test]
    fn spec_sets_convert() {
        let c: LinuxCapabilities = serde_json::from_str(
            r#"{"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["cap_kill"]}"#,
        )
        .unwrap();
        let s = from_spec(Some(&c)).unwrap().unwrap();
        assert_eq!(s.bounding, CapSet(1 << CAP_CHOWN | 1 << CAP_KILL));
        assert_eq!(
            (s.effective, s.permitted),
            (CapSet(1 << CAP_KILL), CapSet(1 << CAP_KILL))
        );
        assert_eq!((s.inheritable, s.ambient), (CapSet::EMPTY, CapSet::EMPTY));
        assert_eq!(from_spec(None).unwrap(), None);
        // Every name oci-spec knows is one of ours.
        let all: LinuxCapabilities = serde_json::from_str(&format!(
            r#"{{"bounding": {}}}"#,
            serde_json::to_string(&sentry::kernel::caps::NAMES[..]).unwrap()
        ))
        .unwrap();
        assert_eq!(from_spec(Some(&all)).unwrap().unwrap().bounding, CapSet::FULL);
    }

    #[test]
    fn exec_cap_adds() {
        let s = add_exec_caps(CapSets::default(), &["CAP_SYS_ADMIN".into()]).unwrap();
        assert!(s.bounding.has(CAP_SYS_ADMIN) && s.effective.has(CAP_SYS_ADMIN) && s.permitted.has(CAP_SYS_ADMIN));
        assert!(!s.ambient.has(CAP_SYS_ADMIN));
        let e = add_exec_caps(CapSets::default(), &["CAP_NOPE".into()]).unwrap_err();
        assert_eq!(e.to_string(), "unknown capability \"CAP_NOPE\"");
    }
}
