//! Issue 11 docs gap: spellings the verifier used to accept that the writer
//! never produces are now refused (uppercase hex, non-hyphenated or
//! uppercase UUIDs); the equivalent ones it still accepts are documented in
//! `docs/audit-format.md` §7 and checked here.
#![expect(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

mod common;

use common::*;
use palisade_audit::*;
use palisade_tenancy::{Principal, Scope};

/// A one-record export with no details, no request facts, no reason.
fn minimal() -> (String, Keyring) {
    let t = tenant(1);
    let signer = hmac_signer("k1");
    let keys = keyring_for(&[&signer]);
    let log = AuditLog::new(Box::new(MemorySinks), signer);
    let id = uuid::Uuid::parse_str("01935c9e-0a00-7000-8000-00000000abcd").unwrap();
    let e = AuditEvent::with_id(
        id,
        now(0),
        Scope::tenant(t),
        Actor::new(Principal::user("alice").unwrap()).unwrap(),
        "billing:read",
        Resource::new("invoice", "inv_1").unwrap(),
        Outcome::Allowed,
    )
    .unwrap();
    log.append(e).unwrap();
    let mut out = Vec::new();
    log.export(t, now(1), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), keys)
}

fn edited(from: &str, to: &str) -> Report {
    let (text, keys) = minimal();
    assert!(text.contains(from), "{from} not in {text}");
    verify(text.replacen(from, to, 1).as_bytes(), &keys, tenant(1))
}

fn malformed(r: &Report, what: &str) -> bool {
    matches!(&r.problem, Some(Finding { problem: Problem::Malformed { reason }, .. }) if reason.contains(what))
}

#[test]
fn uppercase_hex_and_other_uuid_forms_are_refused() {
    let (text, _) = minimal();
    let uid = "01935c9e-0a00-7000-8000-00000000abcd";
    for other in [
        uid.to_uppercase(),
        uid.replace('-', ""),
        format!("{{{uid}}}"),
        format!("urn:uuid:{uid}"),
    ] {
        let r = edited(
            &format!("\"uid\":\"{uid}\""),
            &format!("\"uid\":\"{other}\""),
        );
        assert!(malformed(&r, "UUID"), "{other}: {:?}", r.problem);
    }
    for field in ["leaf_hash", "mac", "root", "sig"] {
        let at = text.find(&format!("\"{field}\":\"")).unwrap() + field.len() + 4;
        let hex = &text[at..at + 64];
        assert!(hex.bytes().any(|b| b.is_ascii_lowercase()), "{field}");
        let r = edited(hex, &hex.to_uppercase());
        assert!(malformed(&r, "lowercase hex"), "{field}: {:?}", r.problem);
    }
}

#[test]
fn documented_equivalent_spellings_verify() {
    assert!(edited("x", "x").is_ok());
    // Empty objects and a `null` reason mean "absent"; so does an empty
    // `status_detail`.
    for (from, to) in [
        ("\"status\":", "\"details\":{},\"status\":"),
        ("\"status\":", "\"request\":{},\"status\":"),
        ("\"status\":", "\"status_detail\":\"\",\"status\":"),
        (
            "\"principal\":\"user:alice\"",
            "\"principal\":\"user:alice\",\"reason\":null",
        ),
        // JSON escapes and a time offset: the same canonical bytes.
        ("\"inv_1\"", "\"\\u0069nv_1\""),
    ] {
        let r = edited(from, to);
        assert!(r.is_ok(), "{to}: {:?}", r.problem);
    }
    // Unsorted or repeated detail keys are refused.
    let r = edited(
        "\"status\":",
        "\"details\":{\"b\":{\"int\":1},\"a\":{\"int\":2}},\"status\":",
    );
    assert!(malformed(&r, "increasing order"), "{:?}", r.problem);
    // A control character in a `str` value (escaped in JSON) is refused.
    let r = edited(
        "\"status\":",
        "\"details\":{\"a\":{\"str\":\"x\\ny\"}},\"status\":",
    );
    assert!(malformed(&r, "control characters"), "{:?}", r.problem);
}
