//! Granted scopes: permission strings `resource:action` (the strings that
//! `palisade-rbac` compiles), with `*` as a whole-part wildcard.

use crate::error::ApiKeyError;

/// Longest accepted part (resource or action) of a scope string.
pub const MAX_SCOPE_PART_LEN: usize = 64;

fn part_ok(p: &str) -> bool {
    p == "*"
        || (!p.is_empty()
            && p.len() <= MAX_SCOPE_PART_LEN
            && p.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            }))
}

/// Check that `scope` is `resource:action`, each part `*` or 1–64
/// characters of `a-z 0-9 _ . -`.
///
/// # Errors
/// [`ApiKeyError::ScopeSyntax`] otherwise.
pub fn validate_scope(scope: &str) -> Result<(), ApiKeyError> {
    match scope.split_once(':') {
        Some((r, a)) if part_ok(r) && part_ok(a) => Ok(()),
        _ => Err(ApiKeyError::ScopeSyntax {
            input: crate::error::clip(scope, 80),
        }),
    }
}

/// True when the granted scope `granted` covers the permission `required`:
/// each part is equal, or the granted part is `*`. A malformed string never
/// matches. No allocation.
#[must_use]
pub fn scope_covers(granted: &str, required: &str) -> bool {
    let (Some((gr, ga)), Some((rr, ra))) = (granted.split_once(':'), required.split_once(':'))
    else {
        return false;
    };
    (gr == "*" || gr == rr) && (ga == "*" || ga == ra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        for ok in ["knowledge:read", "knowledge:*", "*:*", "a.b-c_d:x9"] {
            assert!(validate_scope(ok).is_ok(), "{ok}");
        }
        for bad in [
            "knowledge",
            ":read",
            "knowledge:",
            "Knowledge:read",
            "a:b:c",
            "a b:c",
            "kn*:read",
            "",
        ] {
            assert!(
                matches!(validate_scope(bad), Err(ApiKeyError::ScopeSyntax { .. })),
                "{bad}"
            );
        }
        assert!(validate_scope(&format!("{}:x", "a".repeat(65))).is_err());
    }

    #[test]
    fn wildcards_cover_whole_parts_only() {
        assert!(scope_covers("knowledge:*", "knowledge:read"));
        assert!(scope_covers("*:read", "chat:read"));
        assert!(scope_covers("knowledge:read", "knowledge:read"));
        assert!(!scope_covers("knowledge:read", "knowledge:write"));
        assert!(!scope_covers("knowledge:*", "knowledgebase:read"));
        assert!(!scope_covers("bad", "bad"));
    }
}
