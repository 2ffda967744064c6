//! Regression tests for issue 10's palisade-apikey findings (A1, A2, A4,
//! A5; A3 and A6 are unit tests in `cidr.rs` and `verifier_tests.rs`), the
//! staff-owner refusal of issue 11 F5, and the async store path.

use std::time::Duration;

use palisade_apikey::{
    ApiKeyError, ApiKeys, KeyFormat, KeyRecord, NewKey, PepperSet, PublicRejection, Rejection,
    VerifyContext,
};
use palisade_tenancy::{Principal, Timestamp};

mod common;
use common::{at, now, pepper, service, tamper, tenant};

// ---- A1: at most one successor; uses and revocation carry over ----------

#[test]
fn a1_rotating_a_key_in_grace_is_refused_and_mints_no_second_successor() {
    let keys = service();
    let t = tenant();
    let old = keys.issue(NewKey::new(t, "r"), now()).unwrap();
    let first = keys
        .rotate(old.key_id(), Duration::from_secs(600), now())
        .unwrap();
    let again = keys.rotate(old.key_id(), Duration::from_secs(600), now());
    assert!(
        matches!(again, Err(ApiKeyError::AlreadyRotated { .. })),
        "{again:?}"
    );
    // Exactly two records: the old key and its one successor.
    let list = keys.list(t.tenant_id()).unwrap();
    assert_eq!(list.len(), 2);
    let old_rec = list.iter().find(|r| r.key_id == *old.key_id()).unwrap();
    assert_eq!(old_rec.rotated_to, Some(*first.key_id()));
    // The successor itself can be rotated (once).
    assert!(keys.rotate(first.key_id(), Duration::ZERO, now()).is_ok());
}

#[test]
fn a1_successor_shares_the_remaining_uses_of_its_predecessor() {
    let keys = service();
    let old = keys
        .issue(NewKey::new(tenant(), "u").remaining_uses(3), now())
        .unwrap();
    assert!(keys.verify(old.expose_secret(), &at(0)).is_ok()); // 2 left
    let new = keys
        .rotate(old.key_id(), Duration::from_secs(600), now())
        .unwrap();
    assert_eq!(new.record().remaining_uses, Some(2));
    assert_eq!(new.record().remaining_uses_cap, Some(2));
    // During the grace both keys draw on one budget of 2 uses.
    assert_eq!(
        keys.verify(old.expose_secret(), &at(1))
            .unwrap()
            .remaining_uses(),
        Some(1)
    );
    assert_eq!(
        keys.verify(new.expose_secret(), &at(1))
            .unwrap()
            .remaining_uses(),
        Some(0)
    );
    assert_eq!(
        keys.verify(old.expose_secret(), &at(2)).unwrap_err(),
        Rejection::UsesExhausted
    );
    assert_eq!(
        keys.verify(new.expose_secret(), &at(2)).unwrap_err(),
        Rejection::UsesExhausted
    );
}

#[test]
fn a1_successor_keeps_a_scheduled_revocation() {
    let keys = service();
    let old = keys.issue(NewKey::new(tenant(), "s"), now()).unwrap();
    let at_100 = now().saturating_add(Duration::from_secs(100));
    keys.revoke(old.key_id(), at_100).unwrap();
    let new = keys
        .rotate(old.key_id(), Duration::from_secs(10), now())
        .unwrap();
    assert_eq!(new.record().revoked_at, Some(at_100));
    assert!(keys.verify(new.expose_secret(), &at(99)).is_ok());
    assert_eq!(
        keys.verify(new.expose_secret(), &at(100)).unwrap_err(),
        Rejection::Revoked
    );
}

// ---- A2: every security-relevant field is authenticated ------------------

/// The gateway scenario: a revoked, expired, IP-pinned, read-only key whose
/// row is edited to revive it with scope `*` is refused, whatever field the
/// attacker touches.
#[test]
fn a2_an_edited_record_is_refused_for_every_security_relevant_field() {
    type Edit = fn(&mut KeyRecord);
    let edits: [(&str, Edit); 13] = [
        ("revoked_at", |r| r.revoked_at = None),
        ("expires_at", |r| r.expires_at = None),
        ("not_before", |r| r.not_before = None),
        ("grace_until", |r| r.grace_until = None),
        ("scopes", |r| r.scopes = vec!["*".into()]),
        ("owner", |r| {
            r.owner = Some(Principal::user("admin@acme.example").unwrap());
        }),
        ("allowed_ips", |r| r.allowed_ips.clear()),
        ("remaining_uses_cap", |r| r.remaining_uses_cap = None),
        ("refill", |r| {
            r.refill = Some(palisade_apikey::Refill {
                amount: 1_000_000,
                interval_secs: 1,
            });
        }),
        ("env", |r| r.env = palisade_apikey::Env::Test),
        ("generation", |r| r.generation += 7),
        ("rotated_to", |r| r.rotated_to = None),
        ("version", |r| r.version = 1),
    ];
    for (field, edit) in edits {
        let keys = service();
        let k = keys
            .issue(
                NewKey::new(tenant(), "pinned")
                    .scopes(["knowledge:read"])
                    .unwrap()
                    .allow_ips(["10.0.0.0/8".parse().unwrap()])
                    .not_before(now())
                    .expires_at(now().saturating_add(Duration::from_secs(3600)))
                    .remaining_uses(5),
                now(),
            )
            .unwrap();
        let succ = keys
            .rotate(k.key_id(), Duration::from_secs(1800), now())
            .unwrap();
        keys.revoke(k.key_id(), now()).unwrap();
        tamper(&keys, k.key_id(), edit);
        let ctx = VerifyContext::new(now()).with_ip("10.0.0.1".parse().unwrap());
        let r = keys.verify(k.expose_secret(), &ctx).unwrap_err();
        assert_eq!(r, Rejection::RecordTampered, "edited field `{field}`");
        assert_eq!(r.public(), PublicRejection::InvalidKey);
        // The successor is untouched and still verifies.
        assert!(keys.verify(succ.expose_secret(), &ctx).is_ok());
    }
}

#[test]
fn a2_the_live_use_counter_never_exceeds_the_authenticated_cap() {
    let keys = service();
    let k = keys
        .issue(NewKey::new(tenant(), "u").remaining_uses(2), now())
        .unwrap();
    // remaining_uses is a live counter outside the MAC: raising it in the
    // row buys nothing beyond the sealed cap; removing it neither.
    tamper(&keys, k.key_id(), |r| r.remaining_uses = Some(1_000_000));
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0))
            .unwrap()
            .remaining_uses(),
        Some(1)
    );
    tamper(&keys, k.key_id(), |r| r.remaining_uses = None);
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0))
            .unwrap()
            .remaining_uses(),
        Some(1)
    );
}

#[test]
fn a2_admin_changes_refuse_to_build_on_a_tampered_record_but_revoke_works() {
    let keys = service();
    let k = keys.issue(NewKey::new(tenant(), "t"), now()).unwrap();
    tamper(&keys, k.key_id(), |r| r.scopes = vec!["*".into()]);
    assert!(matches!(
        keys.set_scopes(k.key_id(), &["chat:read"]),
        Err(ApiKeyError::RecordNotAuthentic { .. })
    ));
    assert!(matches!(
        keys.rotate(k.key_id(), Duration::ZERO, now()),
        Err(ApiKeyError::RecordNotAuthentic { .. })
    ));
    let revoked = keys.revoke(k.key_id(), now()).unwrap();
    assert_eq!(revoked.revoked_at, Some(now()));
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0)).unwrap_err(),
        Rejection::Revoked
    );
}

#[test]
fn a2_rollback_to_an_older_authentic_version_verifies_and_shows_its_generation() {
    // The documented residual risk: an attacker with write access can put
    // back an older sealed version of a row. Its generation is lower than
    // the one the host logged, which is how the host detects it.
    let keys = service();
    let k = keys.issue(NewKey::new(tenant(), "r"), now()).unwrap();
    let before = keys.store().get(k.key_id()).unwrap().snapshot();
    let revoked = keys.revoke(k.key_id(), now()).unwrap();
    assert_eq!(revoked.generation, before.generation + 1);
    keys.store().restore(before.clone()).unwrap();
    let v = keys.verify(k.expose_secret(), &at(0)).unwrap();
    assert_eq!(v.generation(), before.generation);
    assert!(v.generation() < revoked.generation);
}

#[test]
fn a2_version_1_records_are_refused_unless_accepted_and_then_sealed_on_verify() {
    let keys = service();
    let k = keys.issue(NewKey::new(tenant(), "v1"), now()).unwrap();
    // A downgrade: seal stripped, version set to 1.
    tamper(&keys, k.key_id(), |r| {
        r.seal = None;
        r.version = 1;
    });
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0)).unwrap_err(),
        Rejection::RecordUnsealed
    );
    // A v2 record without a seal is tampered, not legacy.
    tamper(&keys, k.key_id(), |r| r.version = 2);
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0)).unwrap_err(),
        Rejection::RecordTampered
    );
    // During a migration: accepted once, sealed as version 2 by the verify.
    tamper(&keys, k.key_id(), |r| r.version = 1);
    let store = palisade_apikey::MemoryStore::new();
    store
        .restore(keys.store().get(k.key_id()).unwrap().snapshot())
        .unwrap();
    let migrating = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1)]).unwrap(),
        store,
    )
    .accept_legacy_records(true);
    let v = migrating.verify(k.expose_secret(), &at(0)).unwrap();
    assert!(v.resealed());
    let rec = migrating.store().get(k.key_id()).unwrap().snapshot();
    assert_eq!(rec.version, 2);
    assert!(rec.seal.is_some() && migrating.record_is_authentic(&rec));
    // Or sealed in a migration job.
    let mut legacy = rec.clone();
    legacy.seal = None;
    legacy.version = 1;
    assert!(!keys.record_is_authentic(&legacy));
    assert!(keys.record_is_authentic(&keys.seal_legacy(legacy)));
}

#[test]
fn pepper_rehash_is_flagged_on_verified_and_resealed() {
    let old = service();
    let k = old.issue(NewKey::new(tenant(), "p"), now()).unwrap();
    let store = palisade_apikey::MemoryStore::new();
    store
        .restore(old.store().get(k.key_id()).unwrap().snapshot())
        .unwrap();
    let both = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1), pepper(2, 2)]).unwrap(),
        store,
    );
    let v = both.verify(k.expose_secret(), &at(0)).unwrap();
    assert!(v.needs_rehash() && v.rehashed());
    let rec = both.store().get(k.key_id()).unwrap().snapshot();
    assert_eq!(rec.hash.pepper_version(), Some(2));
    assert_eq!(rec.seal.unwrap().pepper_version, 2);
    let again = both.verify(k.expose_secret(), &at(0)).unwrap();
    assert!(!again.needs_rehash() && !again.rehashed());
    // Pepper 1 removed: the rehashed, resealed record still verifies.
    let only2 = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(2, 2)]).unwrap(),
        palisade_apikey::MemoryStore::new(),
    );
    only2.store().restore(rec).unwrap();
    assert!(only2.verify(k.expose_secret(), &at(0)).is_ok());
}

// ---- A4: errors never echo secret-bearing input ---------------------------

#[test]
fn a4_key_id_errors_never_echo_the_input() {
    let keys = service();
    let k = keys.issue(NewKey::new(tenant(), "x"), now()).unwrap();
    let whole = k.expose_secret();
    let err = whole.parse::<palisade_apikey::KeyId>().unwrap_err();
    let text = format!("{err} {err:?}");
    let secret_part = &whole[26..66];
    for window in secret_part.as_bytes().windows(4) {
        let w = std::str::from_utf8(window).unwrap();
        assert!(!text.contains(w), "error `{text}` echoes `{w}`");
    }
    assert!(text.contains("72 bytes"), "{text}");
    // The same through serde (a record with a key where an id belongs).
    let json = format!("\"{whole}\"");
    let e = serde_json::from_str::<palisade_apikey::KeyId>(&json).unwrap_err();
    assert!(!e.to_string().contains(&whole[30..40]), "{e}");
}

// ---- A5: durations are bounded; every timestamp round-trips --------------

#[test]
fn a5_rotation_grace_is_bounded_and_saved_records_load_again() {
    let keys = service();
    let k = keys.issue(NewKey::new(tenant(), "g"), now()).unwrap();
    assert!(matches!(
        keys.rotate(k.key_id(), Duration::MAX, now()),
        Err(ApiKeyError::Duration { .. })
    ));
    let max = palisade_apikey::MAX_ROTATION_GRACE;
    assert!(matches!(
        keys.rotate(k.key_id(), max + Duration::from_secs(1), now()),
        Err(ApiKeyError::Duration { .. })
    ));
    let new = keys.rotate(k.key_id(), max, now()).unwrap();
    for rec in keys.list(new.record().scope.tenant_id()).unwrap() {
        let j = serde_json::to_string(&rec).unwrap();
        let back: KeyRecord = serde_json::from_str(&j).unwrap();
        assert!(keys.record_is_authentic(&back));
    }
}

#[test]
fn a5_timestamps_outside_years_0000_to_9999_are_refused() {
    let keys = service();
    for t in [
        Timestamp::MAX,
        Timestamp::MIN,
        Timestamp::from_unix_millis(253_402_300_800_000),
    ] {
        assert!(matches!(
            keys.issue(NewKey::new(tenant(), "e").expires_at(t), now()),
            Err(ApiKeyError::Lifetime { .. })
        ));
        assert!(matches!(
            keys.issue(NewKey::new(tenant(), "e"), t),
            Err(ApiKeyError::Lifetime { .. })
        ));
    }
    let k = keys.issue(NewKey::new(tenant(), "e"), now()).unwrap();
    assert!(matches!(
        keys.revoke(k.key_id(), Timestamp::MAX),
        Err(ApiKeyError::Lifetime { .. })
    ));
    // The last representable instant works and round-trips.
    let last = Timestamp::from_unix_millis(253_402_300_799_999);
    let k = keys
        .issue(NewKey::new(tenant(), "e").expires_at(last), now())
        .unwrap();
    let j = serde_json::to_string(k.record()).unwrap();
    assert!(j.contains("9999-12-31T23:59:59.999Z"), "{j}");
    assert!(serde_json::from_str::<KeyRecord>(&j).is_ok());
}

// ---- issue 11 F5 (apikey side): no staff-owned keys ----------------------

#[test]
fn f5_staff_owned_keys_are_refused_at_issue_and_at_verify() {
    let keys = service();
    let staff = Principal::staff("bob").unwrap();
    assert!(matches!(
        keys.issue(NewKey::new(tenant(), "s").owner(staff.clone()), now()),
        Err(ApiKeyError::StaffOwner { .. })
    ));
    // A record that names a staff owner anyway (written by an older build
    // and sealed) is refused at verify.
    let k = keys.issue(NewKey::new(tenant(), "s"), now()).unwrap();
    let mut rec = keys.store().get(k.key_id()).unwrap().snapshot();
    rec.owner = Some(staff);
    let rec = keys.seal_legacy(rec);
    keys.store().restore(rec).unwrap();
    let r = keys.verify(k.expose_secret(), &at(0)).unwrap_err();
    assert_eq!(r, Rejection::StaffOwned);
    assert_eq!(r.public(), PublicRejection::InvalidKey);
}

// ---- the async path ------------------------------------------------------

#[test]
fn async_twins_drive_the_same_operations() {
    let keys = service();
    let k = common::ready(keys.issue_async(NewKey::new(tenant(), "a"), now()))
        .unwrap()
        .unwrap();
    let v = common::ready(keys.verify_async(k.expose_secret(), &at(0)))
        .unwrap()
        .unwrap();
    assert_eq!(v.key_id(), k.key_id());
    let r =
        common::ready(keys.set_allowed_ips_async(k.key_id(), &["192.0.2.0/24".parse().unwrap()]))
            .unwrap()
            .unwrap();
    assert_eq!(r.allowed_ips.len(), 1);
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0)).unwrap_err(),
        Rejection::IpNotAllowed
    );
    let got = common::ready(keys.get_async(k.key_id())).unwrap().unwrap();
    assert_eq!(got.unwrap().generation, r.generation);
}
