//! Issue 11 F7/F2 regressions: free-text fields are redacted by the log (a
//! full API key or `Bearer` token in a URL path, reason or user agent never
//! reaches a record), while key ids stay readable (`key_id` details are kept).
#![expect(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

mod common;

use common::*;
use palisade_audit::*;
use palisade_tenancy::{Principal, Scope};
use std::borrow::Cow;

fn export_of(event: AuditEvent) -> String {
    let t = event.scope().tenant_id();
    let signer = hmac_signer("k1");
    let keys = keyring_for(&[&signer]);
    let log = AuditLog::new(Box::new(MemorySinks), signer);
    log.append(event).unwrap();
    let mut out = Vec::new();
    log.export(t, now(1), &mut out).unwrap();
    assert!(verify(&out, &keys, t).is_ok());
    String::from_utf8(out).unwrap()
}

#[test]
fn credentials_in_free_text_are_masked_and_key_ids_kept() {
    let secret = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0xyzW";
    let key = format!("pal_live_1Kx7Pq2Zr9TbW4mNc{secret}");
    let t = tenant(4);
    let event = AuditEvent::new(
        now(0),
        Scope::tenant(t),
        Actor::with_reason(
            Principal::staff("bob").unwrap(),
            "ticket 9, customer pasted Bearer eyJhbGciOiJIUzI1NiJ9.e30.zzzz",
        )
        .unwrap(),
        "apikeys:read",
        Resource::new("route", &format!("/v1/keys/{key}")).unwrap(),
        Outcome::Denied,
    )
    .unwrap()
    .with_reason(&format!("unknown key {key}"))
    .unwrap()
    .with_request(RequestFacts::new().user_agent("probe sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"))
    .with_detail("key_id", DetailValue::Str("1Kx7Pq2Zr9TbW4mNc".into()))
    .unwrap()
    .with_detail(
        "caller_key_id",
        DetailValue::Str("1Zz9Pq2Zr9TbW4mNc".into()),
    )
    .unwrap()
    .with_detail("api_token", DetailValue::Str("t0ps3cret".into()))
    .unwrap();
    let text = export_of(event);
    for gone in [
        secret,
        "eyJhbGciOiJIUzI1NiJ9",
        "Ab3dEf6hIj9kLm2nOp5qRs8t",
        "t0ps3cret",
    ] {
        assert!(!text.contains(gone), "{gone} leaked: {text}");
    }
    for kept in [
        "\"uid\":\"/v1/keys/pal_live_1Kx7Pq2Zr9TbW4mNc[redacted]\"",
        "unknown key pal_live_1Kx7Pq2Zr9TbW4mNc[redacted]",
        "\"user_agent\":\"probe sk-[redacted]\"",
        "customer pasted Bearer [redacted]",
        "\"key_id\":{\"str\":\"1Kx7Pq2Zr9TbW4mNc\"}",
        "\"caller_key_id\":{\"str\":\"1Zz9Pq2Zr9TbW4mNc\"}",
        "\"api_token\":{\"str\":\"[redacted]\"}",
    ] {
        assert!(text.contains(kept), "{kept} missing: {text}");
    }
}

/// The detail names the facade's key administration records use are not
/// masked (F2: a record must say which key acted).
#[test]
fn key_admin_detail_names_are_kept() {
    for name in [
        "key_id",
        "caller_key_id",
        "successor_key_id",
        "owner",
        "old_scopes",
        "new_scopes",
        "old_allowed_ips",
        "new_allowed_ips",
        "excess_scopes",
        "grace_until",
        "revoked_at",
        "generation",
        "decision",
    ] {
        let v = DetailValue::Str("1Kx7Pq2Zr9TbW4mNc".into());
        assert_eq!(DefaultRedactor.redact(name, &v), Redaction::Keep, "{name}");
    }
    assert_eq!(
        DefaultRedactor.redact("key", &DetailValue::Str("x".into())),
        Redaction::Mask
    );
}

/// A host redactor can take over free text too.
#[test]
fn custom_text_redaction() {
    struct NoPaths;
    impl Redactor for NoPaths {
        fn redact(&self, key: &str, value: &DetailValue) -> Redaction {
            DefaultRedactor.redact(key, value)
        }
        fn redact_text<'a>(&self, field: TextField, text: &'a str) -> Cow<'a, str> {
            if field == TextField::ResourceId {
                Cow::Owned("x".repeat(400))
            } else {
                DefaultRedactor::mask_credentials(text)
            }
        }
    }
    let t = tenant(5);
    let signer = hmac_signer("k1");
    let keys = keyring_for(&[&signer]);
    let log =
        AuditLog::new(Box::new(MemorySinks), signer).with_redactor(std::sync::Arc::new(NoPaths));
    log.append(sample_event(t, 1)).unwrap();
    let mut out = Vec::new();
    log.export(t, now(1), &mut out).unwrap();
    assert!(verify(&out, &keys, t).is_ok());
    // Cut back to the field's limit.
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains(&format!("\"uid\":\"{}\"", "x".repeat(256)))
    );
}
