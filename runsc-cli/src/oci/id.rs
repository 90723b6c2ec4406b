//! Container ids: they name a directory under `--root`, so they must be
//! one harmless path component. The charset is runc's.

use super::OciError;

/// Checks `id` as runc does: non-empty, not `.` or `..`, at most 1024
/// bytes, only ASCII letters, digits and `_ + - .`.
pub fn validate(id: &str) -> Result<(), OciError> {
    let bad = |reason| {
        Err(OciError::BadId {
            id: id.to_string(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id == "." || id == ".." {
        return bad("it names a directory");
    }
    if id.len() > 1024 {
        return bad("it is longer than 1024 bytes");
    }
    if id.contains('/') {
        return bad("it contains '/'");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
    {
        return bad("only letters, digits and _ + - . are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ids() {
        for id in [
            "a",
            "abc-123",
            "x.y_z+1",
            "0123456789abcdef0123456789abcdef",
            "..a",
            "a..b",
        ] {
            assert!(validate(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn bad_ids() {
        for id in ["", ".", "..", "a/b", "/x", "a b", "é", "a\0b", "x:y"] {
            assert!(validate(id).is_err(), "{id:?}");
        }
        assert!(validate(&"a".repeat(1025)).is_err());
        let msg = validate("a/b").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(msg, "invalid container id \"a/b\": it contains '/'");
    }
}
