//! Granted scopes: permission patterns `resource:action` in the one
//! permission grammar of `palisade-tenancy` (shared with `palisade-rbac`
//! and audit action names): lowercase parts, `*` as a whole-part wildcard,
//! `*` alone for every permission, at most 64 bytes.

use crate::error::ApiKeyError;

/// Longest accepted part (resource or action) of a scope string; the whole
/// scope is at most [`palisade_tenancy::MAX_PERMISSION_LEN`] (64) bytes.
pub const MAX_SCOPE_PART_LEN: usize = 64;

/// Check that `scope` is a permission pattern
/// ([`palisade_tenancy::check_pattern`]): `*`, or `resource:action` with
/// each part `*` or 1 or more characters of `a-z 0-9 _ - .`, at most 64
/// bytes in all.
///
/// # Errors
/// [`ApiKeyError::ScopeSyntax`] otherwise.
pub fn validate_scope(scope: &str) -> Result<(), ApiKeyError> {
    palisade_tenancy::check_pattern(scope).map_err(|_| ApiKeyError::ScopeSyntax {
        input: crate::error::clip(scope, 80),
    })
}

/// True when the granted scope `granted` covers the permission `required`
/// (`resource:action`): `granted` is `*`, or each part is equal or the
/// granted part is `*` ([`palisade_tenancy::pattern_covers`]). A `required`
/// without `:` never matches, nor does a malformed `granted`. No allocation.
#[must_use]
pub fn scope_covers(granted: &str, required: &str) -> bool {
    palisade_tenancy::pattern_covers(granted, required)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        for ok in ["knowledge:read", "knowledge:*", "*:*", "*", "a.b-c_d:x9"] {
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
            "Knowledge:Read",
        ] {
            assert!(
                matches!(validate_scope(bad), Err(ApiKeyError::ScopeSyntax { .. })),
                "{bad}"
            );
        }
        assert!(validate_scope(&format!("{}:x", "a".repeat(62))).is_ok());
        assert!(validate_scope(&format!("{}:x", "a".repeat(63))).is_err());
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
