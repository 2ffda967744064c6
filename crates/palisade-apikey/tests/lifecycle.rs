//! Verification outcomes: every rejection, rotation with grace,
//! revocation, usage limits and refills, IP allow-lists, scopes, environments.

use std::net::IpAddr;
use std::time::Duration;

use palisade_apikey::{
    ApiKeyError, Env, KeyFormat, KeyStore, NewKey, ParseError, PublicRejection, Rejection,
    VerifyContext,
};
use palisade_tenancy::Principal;

mod common;
use common::{at, now, service, tenant};

#[test]
fn malformed_input_is_rejected_before_lookup() {
    let keys = service();
    let r = keys.verify("hello", &at(0)).unwrap_err();
    assert_eq!(r, Rejection::Malformed(ParseError::Prefix));
    assert_eq!(r.public(), PublicRejection::InvalidKey);
    assert_eq!(r.public().http_status(), 401);
}

#[test]
fn unknown_key_and_wrong_secret_look_the_same_to_the_caller() {
    let keys = service();
    let issued = keys.issue(NewKey::new(tenant(), "a"), now()).unwrap();
    // Another service (other pepper) issues a well-formed key unknown here.
    let stranger = service().issue(NewKey::new(tenant(), "b"), now()).unwrap();
    let unknown = keys.verify(stranger.expose_secret(), &at(0)).unwrap_err();
    assert_eq!(unknown, Rejection::UnknownKey);
    // Same key id, different secret, valid checksum.
    let forged = {
        let k = issued.expose_secret();
        let mut body = k[..66].to_owned();
        let flip = if &body[40..41] == "A" { "B" } else { "A" };
        body.replace_range(40..41, flip);
        let crc = crc32fast::hash(body.as_bytes());
        let mut digits = String::new();
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = crc as u64;
        for _ in 0..6 {
            digits.insert(0, alphabet[(n % 62) as usize] as char);
            n /= 62;
        }
        body + &digits
    };
    assert!(keys.format().looks_valid(&forged));
    let wrong = keys.verify(&forged, &at(0)).unwrap_err();
    assert_eq!(wrong, Rejection::WrongSecret);
    assert_eq!(unknown.public(), wrong.public());
    assert_eq!(unknown.public().to_string(), wrong.public().to_string());
}

#[test]
fn window_revocation_and_expiry() {
    let keys = service();
    let k = keys
        .issue(
            NewKey::new(tenant(), "w")
                .not_before(now().saturating_add(Duration::from_secs(10)))
                .expires_at(now().saturating_add(Duration::from_secs(100))),
            now(),
        )
        .unwrap();
    let key = k.expose_secret();
    assert_eq!(
        keys.verify(key, &at(9)).unwrap_err(),
        Rejection::NotYetValid
    );
    assert!(keys.verify(key, &at(10)).is_ok());
    assert!(keys.verify(key, &at(99)).is_ok());
    let exp = keys.verify(key, &at(100)).unwrap_err();
    assert_eq!(exp, Rejection::Expired);
    assert_eq!(exp.public(), PublicRejection::KeyInactive);
    keys.revoke(k.key_id(), now().saturating_add(Duration::from_secs(50)))
        .unwrap();
    assert!(keys.verify(key, &at(49)).is_ok());
    assert_eq!(keys.verify(key, &at(50)).unwrap_err(), Rejection::Revoked);
    // A later revoke does not move the revocation time.
    keys.revoke(k.key_id(), now().saturating_add(Duration::from_secs(80)))
        .unwrap();
    assert_eq!(keys.verify(key, &at(60)).unwrap_err(), Rejection::Revoked);
}

#[test]
fn rotation_with_grace() {
    let keys = service();
    let owner = Principal::user("alice@example.com").unwrap();
    let old = keys
        .issue(
            NewKey::new(tenant(), "r")
                .owner(owner.clone())
                .scopes(["chat:*"])
                .unwrap(),
            now(),
        )
        .unwrap();
    let new = keys
        .rotate(old.key_id(), Duration::from_secs(60), now())
        .unwrap();
    assert_eq!(new.record().rotated_from, Some(*old.key_id()));
    assert_eq!(new.record().scopes, vec!["chat:*".to_owned()]);
    assert_eq!(new.record().owner.as_ref(), Some(&owner));
    assert!(keys.verify(old.expose_secret(), &at(59)).is_ok());
    let ended = keys.verify(old.expose_secret(), &at(60)).unwrap_err();
    assert_eq!(ended, Rejection::GraceEnded);
    assert_eq!(ended.public(), PublicRejection::KeyInactive);
    let v = keys.verify(new.expose_secret(), &at(60)).unwrap();
    assert_eq!(v.acting_principal(), &owner);
    // The old key cannot be rotated again: it has its one successor.
    let late = now().saturating_add(Duration::from_secs(61));
    assert!(matches!(
        keys.rotate(old.key_id(), Duration::ZERO, late),
        Err(ApiKeyError::AlreadyRotated { .. })
    ));
    // Zero grace stops the old key at once.
    let newer = keys.rotate(new.key_id(), Duration::ZERO, late).unwrap();
    assert_eq!(
        keys.verify(new.expose_secret(), &VerifyContext::new(late))
            .unwrap_err(),
        Rejection::GraceEnded
    );
    assert!(
        keys.verify(newer.expose_secret(), &VerifyContext::new(late))
            .is_ok()
    );
}

#[test]
fn ip_allow_list_v4_and_v6() {
    let keys = service();
    let k = keys
        .issue(
            NewKey::new(tenant(), "ip").allow_ips([
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ]),
            now(),
        )
        .unwrap();
    let ok = |ip: &str| {
        keys.verify(
            k.expose_secret(),
            &at(0).with_ip(ip.parse::<IpAddr>().unwrap()),
        )
    };
    assert!(ok("10.9.8.7").is_ok());
    assert!(ok("2001:db8:1::1").is_ok());
    assert!(ok("::ffff:10.1.1.1").is_ok());
    let r = ok("11.0.0.1").unwrap_err();
    assert_eq!(r, Rejection::IpNotAllowed);
    assert_eq!(r.public().http_status(), 403);
    assert_eq!(ok("2001:db9::1").unwrap_err(), Rejection::IpNotAllowed);
    // No IP known: refused when an allow-list is set.
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0)).unwrap_err(),
        Rejection::IpNotAllowed
    );
}

#[test]
fn scopes_and_generation() {
    let keys = service();
    let k = keys
        .issue(
            NewKey::new(tenant(), "s")
                .scopes(["knowledge:*", "chat:read"])
                .unwrap(),
            now(),
        )
        .unwrap();
    let key = k.expose_secret();
    assert!(keys.verify(key, &at(0).require("knowledge:write")).is_ok());
    assert!(keys.verify(key, &at(0).require("chat:read")).is_ok());
    let r = keys.verify(key, &at(0).require("chat:write")).unwrap_err();
    assert_eq!(r, Rejection::ScopeMissing);
    assert_eq!(r.public(), PublicRejection::InsufficientScope);
    let g0 = keys.verify(key, &at(0)).unwrap().generation();
    keys.set_scopes(k.key_id(), &["chat:write"]).unwrap();
    let v = keys.verify(key, &at(0).require("chat:write")).unwrap();
    assert!(v.generation() > g0);
    assert_eq!(v.granted_scopes(), ["chat:write".to_owned()]);
    assert!(matches!(
        keys.set_scopes(k.key_id(), &["Bad Scope"]),
        Err(ApiKeyError::ScopeSyntax { .. })
    ));
    assert!(matches!(
        NewKey::new(tenant(), "x").scopes(["nocolon"]),
        Err(ApiKeyError::ScopeSyntax { .. })
    ));
}

#[test]
fn remaining_uses_count_down_and_survive_updates() {
    let keys = service();
    let k = keys
        .issue(
            NewKey::new(tenant(), "u")
                .remaining_uses(3)
                .scopes(["a:b"])
                .unwrap(),
            now(),
        )
        .unwrap();
    let key = k.expose_secret();
    assert_eq!(keys.verify(key, &at(0)).unwrap().remaining_uses(), Some(2));
    // A refused request does not burn a use.
    assert_eq!(
        keys.verify(key, &at(0).require("x:y")).unwrap_err(),
        Rejection::ScopeMissing
    );
    keys.set_scopes(k.key_id(), &["a:b", "c:d"]).unwrap();
    assert_eq!(keys.verify(key, &at(0)).unwrap().remaining_uses(), Some(1));
    assert_eq!(keys.verify(key, &at(0)).unwrap().remaining_uses(), Some(0));
    let r = keys.verify(key, &at(0)).unwrap_err();
    assert_eq!(r, Rejection::UsesExhausted);
    assert_eq!(r.public().http_status(), 429);
    let listed = keys.list(k.record().scope.tenant_id()).unwrap();
    assert_eq!(listed[0].remaining_uses, Some(0));
    assert!(listed[0].last_used.is_some());
}

#[test]
fn environments() {
    let keys = service().accept_only(Env::Live);
    let t = keys
        .issue(NewKey::new(tenant(), "t").env(Env::Test), now())
        .unwrap();
    assert!(t.expose_secret().starts_with("pal_test_1"));
    let r = keys.verify(t.expose_secret(), &at(0)).unwrap_err();
    assert_eq!(r, Rejection::WrongEnvironment { found: Env::Test });
    assert_eq!(r.public(), PublicRejection::InvalidKey);
    // docs/apikey-format.md §6: the accepted environment is read from the
    // key text before the record lookup, so a `test` key unknown to this
    // store is refused for its environment, not as an unknown key.
    let elsewhere = service()
        .issue(NewKey::new(tenant(), "t").env(Env::Test), now())
        .unwrap();
    let r = keys.verify(elsewhere.expose_secret(), &at(0)).unwrap_err();
    assert_eq!(r, Rejection::WrongEnvironment { found: Env::Test });
    assert_eq!(r.public(), PublicRejection::InvalidKey);
    // Without the restriction the same key is simply unknown.
    assert_eq!(
        service()
            .verify(elsewhere.expose_secret(), &at(0))
            .unwrap_err(),
        Rejection::UnknownKey
    );
    // A live key whose text was re-labelled `test` (checksum recomputed) is refused.
    let both = service();
    let live = both.issue(NewKey::new(tenant(), "l"), now()).unwrap();
    let relabelled = {
        let body = live.expose_secret()[..66].replacen("_live_", "_test_", 1);
        let crc = crc32fast::hash(body.as_bytes());
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = crc as u64;
        let mut d = [b'0'; 6];
        for i in (0..6).rev() {
            d[i] = alphabet[(n % 62) as usize];
            n /= 62;
        }
        body + std::str::from_utf8(&d).unwrap()
    };
    assert_eq!(
        both.verify(&relabelled, &at(0)).unwrap_err(),
        Rejection::WrongEnvironment { found: Env::Test }
    );
}

#[test]
fn issue_validation_and_store_errors() {
    let keys = service();
    let t = tenant();
    let past = NewKey::new(t, "x").expires_at(now());
    assert!(matches!(
        keys.issue(past, now()),
        Err(ApiKeyError::Lifetime { .. })
    ));
    let inverted = NewKey::new(t, "x")
        .not_before(now().saturating_add(Duration::from_secs(20)))
        .expires_at(now().saturating_add(Duration::from_secs(10)));
    assert!(matches!(
        keys.issue(inverted, now()),
        Err(ApiKeyError::Lifetime { .. })
    ));
    assert!(matches!(
        keys.issue(NewKey::new(t, "x").remaining_uses(u64::MAX), now()),
        Err(ApiKeyError::Lifetime { .. })
    ));
    let missing = "0000000000000000".parse().unwrap();
    assert!(matches!(
        keys.revoke(&missing, now()),
        Err(ApiKeyError::NoSuchKey { .. })
    ));
    assert!(matches!(
        keys.rotate(&missing, Duration::ZERO, now()),
        Err(ApiKeyError::NoSuchKey { .. })
    ));
    let k = keys.issue(NewKey::new(t, "x"), now()).unwrap();
    let dup = common::ready(keys.store().insert(k.record().clone())).unwrap();
    assert!(matches!(dup, Err(ApiKeyError::DuplicateKey { .. })));
    assert!(matches!(
        "nope".parse::<palisade_apikey::KeyId>(),
        Err(ApiKeyError::KeyIdSyntax { .. })
    ));
    assert!(matches!(
        "10.0.0.1/8".parse::<palisade_apikey::Cidr>(),
        Err(ApiKeyError::Cidr { .. })
    ));
    assert!(matches!(
        KeyFormat::new("BAD"),
        Err(ApiKeyError::Prefix { .. })
    ));
}

#[test]
fn listing_is_per_tenant_and_secret_free() {
    let keys = service();
    let (a, b) = (tenant(), tenant());
    let k1 = keys.issue(NewKey::new(a, "one"), now()).unwrap();
    let _k2 = keys.issue(NewKey::new(b, "two"), now()).unwrap();
    let k3 = keys
        .issue(
            NewKey::new(a, "three"),
            now().saturating_add(Duration::from_secs(1)),
        )
        .unwrap();
    let list = keys.list(a.tenant_id()).unwrap();
    assert_eq!(
        list.iter().map(|r| r.key_id).collect::<Vec<_>>(),
        vec![*k1.key_id(), *k3.key_id()]
    );
    let dump = serde_json::to_string(&list).unwrap() + &format!("{list:?} {k1:?}");
    for k in [&k1, &k3] {
        let secret_part = &k.expose_secret()[26..66];
        assert!(
            !dump.contains(secret_part),
            "a secret leaked into a listing or Debug"
        );
    }
    assert!(format!("{k1:?}").contains(k1.display()));
}

#[test]
fn concurrent_verifies_never_overspend_uses() {
    let keys = std::sync::Arc::new(service());
    let k = keys
        .issue(NewKey::new(tenant(), "c").remaining_uses(200), now())
        .unwrap();
    let key = std::sync::Arc::new(k.expose_secret().to_owned());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (keys, key) = (keys.clone(), key.clone());
            std::thread::spawn(move || {
                (0..100)
                    .filter(|_| keys.verify(&key, &at(0)).is_ok())
                    .count()
            })
        })
        .collect();
    let ok: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ok, 200);
    assert_eq!(
        keys.verify(&key, &at(0)).unwrap_err(),
        Rejection::UsesExhausted
    );
}

#[test]
fn remaining_uses_refill_each_period() {
    let keys = service();
    // `now()` is a multiple of 60 s, so periods start at at(0), at(60), …
    let k = keys
        .issue(NewKey::new(tenant(), "r").refill(2, 60), now())
        .unwrap();
    let key = k.expose_secret();
    assert_eq!(keys.verify(key, &at(0)).unwrap().remaining_uses(), Some(1));
    assert_eq!(keys.verify(key, &at(1)).unwrap().remaining_uses(), Some(0));
    assert_eq!(
        keys.verify(key, &at(59)).unwrap_err(),
        Rejection::UsesExhausted
    );
    assert_eq!(keys.verify(key, &at(60)).unwrap().remaining_uses(), Some(1));
    assert_eq!(keys.verify(key, &at(61)).unwrap().remaining_uses(), Some(0));
    assert_eq!(
        keys.verify(key, &at(62)).unwrap_err(),
        Rejection::UsesExhausted
    );
    // A long idle time refills once, not once per missed period.
    assert_eq!(
        keys.verify(key, &at(600)).unwrap().remaining_uses(),
        Some(1)
    );
    // Rotation keeps the refill.
    let new = keys
        .rotate(k.key_id(), Duration::ZERO, at(600).now)
        .unwrap();
    assert_eq!(new.record().refill, k.record().refill);
    let bad = NewKey::new(tenant(), "x").refill(5, 0);
    assert!(matches!(
        keys.issue(bad, now()),
        Err(ApiKeyError::Lifetime { .. })
    ));
}
