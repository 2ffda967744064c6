//! Field validation shared by the event constructors, the canonical
//! decoder and the export reader, so all three accept exactly the same values.

use crate::error::{AuditError, Result};
use crate::event::{MAX_ACTION_LEN, MAX_REASON_LEN};
use palisade_tenancy::{Principal, PrincipalKind, Timestamp};

/// 0000-01-01T00:00:00Z in Unix milliseconds.
const MIN_TIME_MS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z in Unix milliseconds.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A name: 1–64 bytes of `a-z 0-9 _ . -`.
pub(crate) fn check_name(field: &'static str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= MAX_ACTION_LEN
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(AuditError::Field {
            field,
            reason: "use 1-64 characters of `a-z 0-9 _ . -`",
        })
    }
}

/// An action: a permission `resource:action` or a plain name, in the one
/// grammar of [`palisade_tenancy::check_action`] (at most 64 bytes,
/// lowercase), so every permission a policy accepts is recorded verbatim.
pub(crate) fn check_action(s: &str) -> Result<()> {
    palisade_tenancy::check_action(s).map_err(|_| AuditError::Field {
        field: "action",
        reason: "use a permission `resource:action` or a name, 1-64 characters of `a-z 0-9 _ . -` (and one `:`)",
    })
}

/// Text without control characters, at most `max` bytes, non-empty if `non_empty`.
pub(crate) fn check_text(field: &'static str, s: &str, max: usize, non_empty: bool) -> Result<()> {
    if non_empty && s.is_empty() {
        return Err(AuditError::Field {
            field,
            reason: "must not be empty",
        });
    }
    if s.len() > max {
        return Err(AuditError::Field {
            field,
            reason: "too long (see the MAX_* limits)",
        });
    }
    if s.chars().any(char::is_control) {
        return Err(AuditError::Field {
            field,
            reason: "control characters are not allowed",
        });
    }
    Ok(())
}

/// Staff must state a non-empty reason; any reason is bounded text.
pub(crate) fn check_actor(principal: &Principal, reason: Option<&str>) -> Result<()> {
    let staff = principal.kind() == PrincipalKind::Staff;
    match reason {
        None | Some("") if staff => Err(AuditError::StaffReasonRequired),
        None => Ok(()),
        Some(r) => check_text("actor.reason", r, MAX_REASON_LEN, false),
    }
}

/// Years 0000–9999 (what RFC 3339 can write).
pub(crate) fn check_time(time: Timestamp) -> Result<()> {
    if (MIN_TIME_MS..=MAX_TIME_MS).contains(&time.unix_millis()) {
        Ok(())
    } else {
        Err(AuditError::Field {
            field: "time",
            reason: "must lie in the years 0000 to 9999",
        })
    }
}

/// A request id: 1–128 bytes of `A-Z a-z 0-9 . _ : -`.
pub(crate) fn check_request_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(AuditError::Field {
            field: "request.uid",
            reason: "use 1-128 characters of `A-Z a-z 0-9 . _ : -`",
        })
    }
}
