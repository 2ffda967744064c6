//! Granted scopes: permission patterns `resource:action` (the strings that
//! `palisade-rbac` compiles, with exactly its pattern grammar), with `*` as
//! a whole-part wildcard and `*` alone for every permission.

use crate::error::ApiKeyError;

/// Longest accepted part (resource or action) of a scope string.
pub const MAX_SCOPE_PART_LEN: usize = 64;

/// A resource or action name: `palisade-rbac`'s rule, byte for byte.
fn name_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_SCOPE_PART_LEN
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn part_ok(p: &str) -> bool {
    p == "*" || name_ok(p)
}

/// Check that `scope` is a permission pattern as `palisade-rbac` accepts
/// one: `*`, or `resource:action` with each part `*` or 1–64 characters of
/// `A-Z a-z 0-9 _ - .` (case-sensitive).
///
/// # Errors
/// [`ApiKeyError::ScopeSyntax`] otherwise.
pub fn validate_scope(scope: &str) -> Result<(), ApiKeyError> {
    if scope == "*" {
        return Ok(());
    }
    match scope.split_once(':') {
        Some((r, a)) if part_ok(r) && part_ok(a) => Ok(()),
        _ => Err(ApiKeyError::ScopeSyntax {
            input: crate::error::clip(scope, 80),
        }),
    }
}

/// True when the granted scope `granted` covers the permission `required`
/// (`resource:action`): `granted` is `*`, or each part is equal
/// (case-sensitive) or the granted part is `*`. A `required` without `:`
/// never matches, nor does a malformed `granted`. No allocation.
#[must_use]
pub fn scope_covers(granted: &str, required: &str) -> bool {
    let Some((rr, ra)) = required.split_once(':') else {
        return false;
    };
    if granted == "*" {
        return true;
    }
    let Some((gr, ga)) = granted.split_once(':') else {
        return false;
    };
    (gr == "*" || gr == rr) && (ga == "*" || ga == ra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        for ok in [
            "knowledge:read",
            "knowledge:*",
            "*:*",
            "*",
            "a.b-c_d:x9",
            "Knowledge:Read",
        ] {
            assert!(validate_scope(ok).is_ok(), "{ok}");
        }
        for bad in [
            "knowledge",
            ":read",
            "knowledge:",
            "a:b:c",
            "a b:c",
            "kn*:read",
            "**",
            "*:",
            "",
        ] {
            assert!(
                matches!(validate_scope(bad), Err(ApiKeyError::ScopeSyntax { .. })),
                "{bad}"
            );
        }
        assert!(validate_scope(&format!("{}:x", "a".repeat(64))).is_ok());
        assert!(validate_scope(&format!("{}:x", "a".repeat(65))).is_err());
    }

    #[test]
    fn wildcards_cover_whole_parts_only() {
        assert!(scope_covers("knowledge:*", "knowledge:read"));
        assert!(scope_covers("*:read", "chat:read"));
        assert!(scope_covers("*", "chat:read"));
        assert!(scope_covers("knowledge:read", "knowledge:read"));
        assert!(!scope_covers("knowledge:read", "knowledge:write"));
        assert!(!scope_covers("knowledge:*", "knowledgebase:read"));
        assert!(!scope_covers("Knowledge:read", "knowledge:read"));
        assert!(!scope_covers("bad", "bad"));
        assert!(!scope_covers("*", "bad"));
    }
}
