//! The worked example of `docs/apikey-format.md` §8, end to end: a record
//! holding the documented MAC verifies the documented key text.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failure is the test failing"
)]

use palisade_apikey::{
    ApiKeys, Env, KeyFormat, KeyHash, KeyId, KeyRecord, Pepper, PepperSet, PublicRejection,
    Rejection, VerifyContext,
};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use secrecy::SecretSlice;

const KEY: &str = "pal_live_1Kx7Pq2Zr9TbW4mNcabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN0CUrI3";
const MAC: &str = "60bf394a05f37217ecd2cc64740d7be47c2b827d5a4e8ea126fe29a19c1a3bf3";

fn record(tenant: &str) -> KeyRecord {
    let json = format!(
        r#"{{"version":1,"key_id":"Kx7Pq2Zr9TbW4mNc","scope":"{tenant}","env":"live","name":"doc example","owner":null,
        "scopes":["knowledge:*"],"created_at":"2026-11-23T00:00:00Z","not_before":null,"expires_at":null,
        "revoked_at":null,"allowed_ips":[],"remaining_uses":null,
        "hash":{{"alg":"hmac_sha256","pepper_version":1,"mac":"{MAC}"}},
        "rotated_from":null,"grace_until":null,"last_used":null,"generation":0}}"#
    );
    serde_json::from_str(&json).unwrap()
}

fn service() -> ApiKeys {
    let pepper = Pepper::new(1, SecretSlice::from((0u8..32).collect::<Vec<_>>())).unwrap();
    ApiKeys::in_memory(
        KeyFormat::new("pal").unwrap(),
        PepperSet::new([pepper]).unwrap(),
    )
}

/// The same service, accepting the unsealed version 1 record above.
fn legacy_service() -> ApiKeys {
    service().accept_legacy_records(true)
}

#[test]
fn documented_key_verifies_against_documented_record() {
    let tenant: TenantId = "ten_01jbrc38nkfh6rx7x0p71d7s7n".parse().unwrap();
    assert_eq!(
        tenant.as_bytes(),
        &hex::decode("0192f0c1a2b37c4d8e9fa0b1c2d3e4f5").unwrap()[..]
    );
    let keys = legacy_service();
    keys.store()
        .restore(record("ten_01jbrc38nkfh6rx7x0p71d7s7n"))
        .unwrap();
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let v = keys
        .verify(KEY, &VerifyContext::new(now).require("knowledge:read"))
        .unwrap();
    assert_eq!(v.scope(), &Scope::tenant(tenant));
    assert_eq!(v.key_id(), &"Kx7Pq2Zr9TbW4mNc".parse::<KeyId>().unwrap());
    assert_eq!(v.key_principal().to_string(), "key:Kx7Pq2Zr9TbW4mNc");
    assert_eq!(v.record().env, Env::Live);
    assert!(!v.needs_rehash());
    let parsed = keys.format().parse(KEY).unwrap();
    assert_eq!(parsed.key_id().as_str(), "Kx7Pq2Zr9TbW4mNc");
}

#[test]
fn documented_mac_does_not_verify_for_another_tenant() {
    // The same record moved to another tenant: the scope is in the MAC input.
    let keys = legacy_service();
    keys.store()
        .restore(record(&TenantId::new_v7().to_string()))
        .unwrap();
    let err = keys
        .verify(KEY, &VerifyContext::new(Timestamp::EPOCH))
        .unwrap_err();
    assert_eq!(err, Rejection::WrongSecret);
    assert_eq!(err.public(), PublicRejection::InvalidKey);
}

#[test]
fn unknown_record_version_is_refused() {
    let json = serde_json::to_string(&record("ten_01jbrc38nkfh6rx7x0p71d7s7n")).unwrap();
    let v3 = json.replacen(r#""version":1"#, r#""version":3"#, 1);
    let err = serde_json::from_str::<KeyRecord>(&v3).unwrap_err();
    assert!(
        err.to_string()
            .contains("unsupported key record version `3`"),
        "{err}"
    );
    let none = json.replacen(r#""version":1,"#, "", 1);
    assert!(serde_json::from_str::<KeyRecord>(&none).is_err());
}

#[test]
fn record_serde_round_trip() {
    let r = record("ten_01jbrc38nkfh6rx7x0p71d7s7n");
    let j = serde_json::to_string(&r).unwrap();
    let back: KeyRecord = serde_json::from_str(&j).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), j);
    assert!(matches!(
        back.hash,
        KeyHash::HmacSha256 {
            pepper_version: 1,
            ..
        }
    ));
    assert!(j.contains(MAC) && !j.contains("abcdefghijklmnopqrstuvwxyz"));
}

/// docs/apikey-format.md §9: the record JSON shown there is exactly what
/// this crate writes (read from the doc itself) and reads back.
#[test]
fn documented_record_json() {
    let mut r = record("ten_01jbrc38nkfh6rx7x0p71d7s7n");
    r.allowed_ips = vec![
        "10.0.0.0/8".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
    ];
    r.expires_at = Some("2027-01-01T00:00:00Z".parse().unwrap());
    r.remaining_uses = Some(1000);
    r.refill = Some(palisade_apikey::Refill {
        amount: 1000,
        interval_secs: 86_400,
    });
    r.owner = Some("user:alice@example.com".parse().unwrap());
    r.remaining_uses_cap = Some(1000);
    let r = service().seal_legacy(r);
    let doc = include_str!("../../../docs/apikey-format.md");
    let section = &doc[doc.find("## 9.").expect("doc has section 9")..];
    let start = section.find("```json\n").expect("a json block") + 8;
    let block = &section[start..start + section[start..].find("```").unwrap()];
    assert_eq!(
        serde_json::to_string_pretty(&r).unwrap().trim(),
        block.trim()
    );
    let back: KeyRecord = serde_json::from_str(block).unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&back).unwrap().trim(),
        block.trim()
    );
    // And the documented key verifies against it.
    let keys = service();
    keys.store().restore(back).unwrap();
    let ctx = VerifyContext::new(Timestamp::from_unix_seconds(1_790_000_000))
        .with_ip("10.1.2.3".parse().unwrap());
    assert_eq!(keys.verify(KEY, &ctx).unwrap().remaining_uses(), Some(999));
}
