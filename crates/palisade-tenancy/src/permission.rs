//! The one grammar for permission names, shared by `palisade-rbac`
//! (declared permissions and role/deny patterns), `palisade-apikey` (a key's
//! granted scopes) and `palisade-audit` (record action names), so that every
//! permission a policy accepts can be granted to a key and recorded verbatim
//! as an audit action (`docs/tenancy.md`, "Permission names").
//!
//! - A *part* is one or more bytes of `a-z 0-9 _ - .` (lowercase ASCII only:
//!   `Billing:Read` and `billing:read` can never be two permissions).
//! - A *permission* is `resource:action`, two parts, at most
//!   [`MAX_PERMISSION_LEN`] bytes in all.
//! - A *pattern* is `*`, or `resource:action` where either part may be `*`
//!   (a whole-part wildcard), at most [`MAX_PERMISSION_LEN`] bytes.
//! - An *action* (what an audit record says was attempted) is a permission,
//!   or a plain name of one part (`apikey.issue`), at most
//!   [`MAX_PERMISSION_LEN`] bytes. Every permission is therefore an action,
//!   unchanged: the mapping from decisions to audit records is the identity.
//!
//! ```
//! use palisade_tenancy::{check_action, check_pattern, check_permission, pattern_covers};
//! assert!(check_permission("billing:read").is_ok());
//! assert!(check_permission("Billing:Read").is_err());
//! assert!(check_pattern("billing:*").is_ok());
//! assert!(check_action("billing:read").is_ok() && check_action("apikey.issue").is_ok());
//! assert!(pattern_covers("billing:*", "billing:read"));
//! ```

/// The longest permission, pattern or action, in bytes (the whole string,
/// both parts and the `:`).
pub const MAX_PERMISSION_LEN: usize = 64;

/// Why a string is not a permission, pattern or action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PermissionSyntax {
    /// The string is empty.
    #[error("must not be empty")]
    Empty,
    /// The string is longer than [`MAX_PERMISSION_LEN`] bytes.
    #[error("longer than 64 bytes")]
    TooLong,
    /// The string is not `resource:action` (or, for a pattern, `*`).
    #[error("expected `resource:action`")]
    Shape,
    /// A part is empty or holds a byte outside `a-z 0-9 _ - .`.
    #[error("each part must be 1 or more characters of `a-z 0-9 _ - .` (lowercase)")]
    Part,
    /// A part of a pattern is neither `*` nor a valid part.
    #[error("each part must be `*` or 1 or more characters of `a-z 0-9 _ - .` (lowercase)")]
    PatternPart,
}

/// True when `p` is a valid part: one or more bytes of `a-z 0-9 _ - .`.
#[must_use]
pub fn is_permission_part(p: &str) -> bool {
    !p.is_empty()
        && p.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
}

fn check_len(s: &str) -> Result<(), PermissionSyntax> {
    if s.is_empty() {
        Err(PermissionSyntax::Empty)
    } else if s.len() > MAX_PERMISSION_LEN {
        Err(PermissionSyntax::TooLong)
    } else {
        Ok(())
    }
}

/// Check a permission `resource:action`.
///
/// # Errors
/// [`PermissionSyntax`] saying what is wrong.
pub fn check_permission(s: &str) -> Result<(), PermissionSyntax> {
    check_len(s)?;
    let (r, a) = s.split_once(':').ok_or(PermissionSyntax::Shape)?;
    if is_permission_part(r) && is_permission_part(a) {
        Ok(())
    } else {
        Err(PermissionSyntax::Part)
    }
}

/// Check a permission pattern: `*`, or `resource:action` with `*` allowed
/// as either whole part.
///
/// # Errors
/// [`PermissionSyntax`] saying what is wrong.
pub fn check_pattern(s: &str) -> Result<(), PermissionSyntax> {
    check_len(s)?;
    if s == "*" {
        return Ok(());
    }
    let (r, a) = s.split_once(':').ok_or(PermissionSyntax::Shape)?;
    let side = |p: &str| p == "*" || is_permission_part(p);
    if side(r) && side(a) {
        Ok(())
    } else {
        Err(PermissionSyntax::PatternPart)
    }
}

/// Check an audit action name: a permission (`billing:read`) or a plain
/// name of one part (`apikey.issue`).
///
/// # Errors
/// [`PermissionSyntax`] saying what is wrong.
pub fn check_action(s: &str) -> Result<(), PermissionSyntax> {
    check_len(s)?;
    if s.contains(':') {
        check_permission(s)
    } else if is_permission_part(s) {
        Ok(())
    } else {
        Err(PermissionSyntax::Part)
    }
}

/// True when the pattern `pattern` covers the permission `permission`:
/// `*`, or each part equal or `*` in the pattern. A `permission` without
/// `:` is never covered. Byte comparison, no allocation; both arguments are
/// assumed to have passed [`check_pattern`] / [`check_permission`] (a
/// malformed pattern covers nothing it would not cover as plain text).
#[must_use]
pub fn pattern_covers(pattern: &str, permission: &str) -> bool {
    let Some((nr, na)) = permission.split_once(':') else {
        return false;
    };
    if pattern == "*" {
        return true;
    }
    let Some((pr, pa)) = pattern.split_once(':') else {
        return false;
    };
    (pr == "*" || pr == nr) && (pa == "*" || pa == na)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        for ok in ["billing:read", "a.b-c_d:x9", "a:b"] {
            assert_eq!(check_permission(ok), Ok(()), "{ok}");
            assert_eq!(check_pattern(ok), Ok(()), "{ok}");
            assert_eq!(check_action(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_permission(""), Err(PermissionSyntax::Empty));
        assert_eq!(check_permission("billing"), Err(PermissionSyntax::Shape));
        assert_eq!(
            check_permission("Billing:read"),
            Err(PermissionSyntax::Part)
        );
        assert_eq!(check_permission("a:b:c"), Err(PermissionSyntax::Part));
        assert_eq!(check_permission("a:*"), Err(PermissionSyntax::Part));
        let long = format!("{}:{}", "a".repeat(32), "b".repeat(32));
        assert_eq!(check_permission(&long), Err(PermissionSyntax::TooLong));
        assert_eq!(check_permission(&long[1..]), Ok(()));
        for ok in ["*", "*:*", "a:*", "*:b"] {
            assert_eq!(check_pattern(ok), Ok(()), "{ok}");
        }
        for bad in ["**", "*:", ":a", "a*:b", "A:*"] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
        assert_eq!(check_action("apikey.issue"), Ok(()));
        assert_eq!(check_action("*"), Err(PermissionSyntax::Part));
        assert_eq!(check_action("a:"), Err(PermissionSyntax::Part));
        assert!(pattern_covers("*", "a:b") && pattern_covers("a:*", "a:b"));
        assert!(pattern_covers("*:b", "a:b") && !pattern_covers("a:c", "a:b"));
        assert!(!pattern_covers("*", "ab") && !pattern_covers("ab", "ab"));
    }
}
