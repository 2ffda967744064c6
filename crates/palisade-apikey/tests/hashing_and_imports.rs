//! Hashing modes and migration: pepper rotation with rehash-on-verify,
//! Argon2id, imported SHA-256 and Argon2id keys, store failures.
use std::time::Duration;

use palisade_apikey::{
    ApiKeyError, ApiKeys, Argon2Params, Hashing, KeyFormat, KeyStore, MemoryStore, NewKey,
    ParseError, PepperSet, PublicRejection, Rejection,
};
use palisade_tenancy::{ProjectId, Scope, TenantId};

mod common;
use common::{at, now, pepper, service, tenant};

#[test]
fn pepper_rotation_rehashes_on_verify() {
    let store = MemoryStore::new();
    let old = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1)]).unwrap(),
        store,
    );
    let k = old.issue(NewKey::new(tenant(), "p"), now()).unwrap();
    let id = *k.key_id();
    // Move the store to a service that knows pepper 1 and 2.
    let store = old;
    let entry = store.store().get(&id).unwrap();
    let record = entry.snapshot();
    let fresh = MemoryStore::new();
    fresh.restore(record.clone()).unwrap();
    let both = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1), pepper(2, 2)]).unwrap(),
        fresh,
    );
    let v = both.verify(k.expose_secret(), &at(0)).unwrap();
    assert!(v.needs_rehash());
    assert_eq!(
        both.store()
            .get(&id)
            .unwrap()
            .record()
            .hash
            .pepper_version(),
        Some(2)
    );
    assert!(
        !both
            .verify(k.expose_secret(), &at(0))
            .unwrap()
            .needs_rehash()
    );
    // Only pepper 2 now: still verifies (rehashed); a store still on v1 does not.
    let only_new = MemoryStore::new();
    only_new
        .restore(both.store().get(&id).unwrap().snapshot())
        .unwrap();
    let svc2 = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(2, 2)]).unwrap(),
        only_new,
    );
    assert!(svc2.verify(k.expose_secret(), &at(0)).is_ok());
    let stale = MemoryStore::new();
    stale.restore(record).unwrap();
    let svc3 = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(2, 2)]).unwrap(),
        stale,
    );
    let r = svc3.verify(k.expose_secret(), &at(0)).unwrap_err();
    assert_eq!(r, Rejection::UnknownPepper { version: 1 });
    assert_eq!(r.public(), PublicRejection::InvalidKey);
    // With rehashing off, the hash stays on the old version.
    let off_store = MemoryStore::new();
    off_store
        .restore(store.store().get(&id).unwrap().snapshot())
        .unwrap();
    let off = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1), pepper(2, 2)]).unwrap(),
        off_store,
    )
    .rehash_on_verify(false);
    assert!(
        off.verify(k.expose_secret(), &at(0))
            .unwrap()
            .needs_rehash()
    );
    assert_eq!(
        off.store().get(&id).unwrap().record().hash.pepper_version(),
        Some(1)
    );
}

#[test]
fn argon2id_mode() {
    let keys = service();
    let small = Argon2Params {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let k = keys
        .issue(
            NewKey::new(tenant(), "a2").hashing(Hashing::Argon2id(small)),
            now(),
        )
        .unwrap();
    let v = keys.verify(k.expose_secret(), &at(0)).unwrap();
    assert!(!v.needs_rehash());
    assert!(matches!(
        v.record().hash,
        palisade_apikey::KeyHash::Argon2id { .. }
    ));
    // Corrupt the stored PHC string.
    common::tamper(&keys, k.key_id(), |r| {
        r.hash = palisade_apikey::KeyHash::Argon2id {
            phc: "not a phc".into(),
        };
    });
    assert_eq!(
        keys.verify(k.expose_secret(), &at(0)).unwrap_err(),
        Rejection::BadStoredHash
    );
}

#[test]
fn imported_sha256_keys_verify_by_digest() {
    use sha2::Digest;
    let keys = service();
    let foreign = "unkey_3ZfXk9pLmQ2rT7vW8yB1nC4dE6gH";
    let digest = hex::encode(sha2::Sha256::digest(foreign.as_bytes()));
    let scope = Scope::project(TenantId::new_v7(), ProjectId::new_v7());
    let id = keys
        .import_sha256(
            NewKey::new(scope, "migrated").scopes(["chat:*"]).unwrap(),
            &digest,
            now(),
        )
        .unwrap();
    let v = keys.verify(foreign, &at(0).require("chat:send")).unwrap();
    assert_eq!(v.key_id(), &id);
    assert_eq!(v.scope(), &scope);
    let huge = format!("{foreign}{}", "x".repeat(600));
    assert_eq!(
        keys.verify(&huge, &at(0)).unwrap_err(),
        Rejection::Malformed(ParseError::Prefix)
    );
    let miss = keys.verify("unkey_somethingElse", &at(0)).unwrap_err();
    assert_eq!(miss, Rejection::Malformed(ParseError::Prefix));
    assert!(matches!(
        keys.import_sha256(NewKey::new(scope, "dup"), &digest, now()),
        Err(ApiKeyError::DuplicateKey { .. })
    ));
    assert!(matches!(
        keys.import_sha256(NewKey::new(scope, "bad"), "abc", now()),
        Err(ApiKeyError::Import { .. })
    ));
    // Rotating an imported key migrates its holder to a Palisade key.
    let migrated = keys.rotate(&id, Duration::from_secs(30), now()).unwrap();
    assert!(
        keys.verify(migrated.expose_secret(), &at(0).require("chat:send"))
            .is_ok()
    );
    assert!(keys.verify(foreign, &at(29)).is_ok());
    assert_eq!(
        keys.verify(foreign, &at(30)).unwrap_err(),
        Rejection::GraceEnded
    );
    // Revocation applies to imported keys too.
    keys.revoke(&id, now()).unwrap();
    assert_eq!(
        keys.verify(foreign, &at(0)).unwrap_err(),
        Rejection::Revoked
    );
}

/// A backend that is down: its errors reach the caller as `Store`, and a
/// verify fails closed with `StoreUnavailable`, never "no such key".
struct DownStore;

fn down() -> palisade_apikey::StoreError {
    palisade_apikey::StoreError::Unavailable {
        reason: "connection refused".into(),
    }
}

type Entry = std::sync::Arc<palisade_apikey::KeyEntry>;

impl KeyStore for DownStore {
    fn lookup(&self, _: &palisade_apikey::KeyId) -> palisade_apikey::Lookup {
        palisade_apikey::Lookup::Miss
    }
    fn lookup_import(&self, _: &[u8; 32]) -> palisade_apikey::Lookup {
        palisade_apikey::Lookup::Unavailable(down())
    }
    fn has_imports(&self) -> bool {
        false
    }
    fn fetch<'a>(
        &'a self,
        _: &'a palisade_apikey::KeyId,
    ) -> palisade_apikey::BoxFuture<'a, Result<Option<Entry>, palisade_apikey::StoreError>> {
        Box::pin(async { Err(down()) })
    }
    fn fetch_import<'a>(
        &'a self,
        _: &'a [u8; 32],
    ) -> palisade_apikey::BoxFuture<'a, Result<Option<Entry>, palisade_apikey::StoreError>> {
        Box::pin(async { Err(down()) })
    }
    fn insert(
        &self,
        _: palisade_apikey::KeyRecord,
    ) -> palisade_apikey::BoxFuture<'_, Result<Entry, ApiKeyError>> {
        Box::pin(async { Err(down().into()) })
    }
    fn update<'a>(
        &'a self,
        _: &'a palisade_apikey::KeyId,
        _: palisade_apikey::Change<'a>,
    ) -> palisade_apikey::BoxFuture<'a, Result<Entry, ApiKeyError>> {
        Box::pin(async { Err(down().into()) })
    }
    fn replace<'a>(
        &'a self,
        _: &'a palisade_apikey::KeyId,
        _: palisade_apikey::Change<'a>,
        _: palisade_apikey::KeyRecord,
    ) -> palisade_apikey::BoxFuture<'a, Result<(Entry, Entry), ApiKeyError>> {
        Box::pin(async { Err(down().into()) })
    }
    fn list_by_tenant(
        &self,
        _: TenantId,
    ) -> palisade_apikey::BoxFuture<'_, Result<Vec<Entry>, palisade_apikey::StoreError>> {
        Box::pin(async { Err(down()) })
    }
}

#[test]
fn store_and_parse_errors_propagate() {
    let keys = ApiKeys::new(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1)]).unwrap(),
        DownStore,
    );
    let e = keys.issue(NewKey::new(tenant(), "x"), now()).unwrap_err();
    assert!(matches!(e, ApiKeyError::Store(_)));
    assert_eq!(e.to_string(), "key store unavailable: connection refused");
    assert!(matches!(
        keys.revoke(&"0000000000000000".parse().unwrap(), now()),
        Err(ApiKeyError::Store(_))
    ));
    // A verify that misses and cannot fetch fails closed: a 503, never
    // "no such key".
    let presented = service()
        .issue(NewKey::new(tenant(), "elsewhere"), now())
        .unwrap();
    let r = keys.verify(presented.expose_secret(), &at(0)).unwrap_err();
    assert_eq!(
        r,
        Rejection::StoreUnavailable {
            kind: palisade_apikey::StoreErrorKind::Unavailable
        }
    );
    assert_eq!(r.public(), PublicRejection::Unavailable);
    assert_eq!(r.public().http_status(), 503);
    assert!(matches!(
        keys.list(TenantId::new_v7()),
        Err(ApiKeyError::Store(_))
    ));
    fn parse_with_question_mark(s: &str) -> Result<(), ApiKeyError> {
        KeyFormat::default().parse(s)?;
        Ok(())
    }
    let e = parse_with_question_mark("pal_live_short").unwrap_err();
    assert!(matches!(
        e,
        ApiKeyError::Parse(ParseError::Length {
            expected: 72,
            found: 14
        })
    ));
    assert!(
        !e.to_string().contains("short"),
        "parse errors never echo the input"
    );
}

#[test]
fn imported_low_entropy_keys_verify_with_their_id() {
    let small = Argon2Params {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let keys = service().decoy_argon2_params(small);
    let scope = tenant();
    let legacy = secrecy::SecretString::from("acme-1234");
    let id = keys
        .import_plaintext(
            NewKey::new(scope, "legacy").scopes(["chat:*"]).unwrap(),
            &legacy,
            &small,
            now(),
        )
        .unwrap();
    let v = keys
        .verify_with_id(&id, "acme-1234", &at(0).require("chat:read"))
        .unwrap();
    assert_eq!((v.key_id(), v.scope()), (&id, &scope));
    assert_eq!(
        keys.verify_with_id(&id, "acme-1235", &at(0)).unwrap_err(),
        Rejection::WrongSecret
    );
    let stranger = "0000000000000000".parse().unwrap();
    let unknown = keys
        .verify_with_id(&stranger, "acme-1234", &at(0))
        .unwrap_err();
    assert_eq!(unknown, Rejection::UnknownKey);
    assert_eq!(unknown.public(), PublicRejection::InvalidKey);
    // Without the id, the low-entropy key is not a key at all.
    assert!(matches!(
        keys.verify("acme-1234", &at(0)),
        Err(Rejection::Malformed(_))
    ));
    // An Argon2id PHC made elsewhere over the key text.
    let phc = {
        use argon2::PasswordHasher;
        let a = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(64, 1, 1, None).unwrap(),
        );
        a.hash_password_with_salt(b"other-5678", b"saltsaltsalt")
            .unwrap()
            .to_string()
    };
    let id2 = keys
        .import_argon2id(NewKey::new(scope, "phc"), &phc, now())
        .unwrap();
    assert!(keys.verify_with_id(&id2, "other-5678", &at(0)).is_ok());
    assert!(matches!(
        keys.import_argon2id(
            NewKey::new(scope, "x"),
            "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            now()
        ),
        Err(ApiKeyError::Import { .. })
    ));
    assert!(matches!(
        keys.import_argon2id(NewKey::new(scope, "x"), "plain", now()),
        Err(ApiKeyError::Import { .. })
    ));
    assert!(matches!(
        keys.import_plaintext(
            NewKey::new(scope, "x"),
            &secrecy::SecretString::from(""),
            &small,
            now()
        ),
        Err(ApiKeyError::Import { .. })
    ));
    // Oversized input is refused before any hashing.
    let huge = "a".repeat(513);
    assert!(matches!(
        keys.verify_with_id(&id, &huge, &at(0)),
        Err(Rejection::Malformed(ParseError::Length { .. }))
    ));
    let huge_secret = secrecy::SecretString::from(huge.as_str());
    assert!(matches!(
        keys.import_plaintext(NewKey::new(scope, "x"), &huge_secret, &small, now()),
        Err(ApiKeyError::Import { .. })
    ));
    // A Palisade key through verify_with_id must carry that id.
    let k = keys.issue(NewKey::new(scope, "p"), now()).unwrap();
    assert!(
        keys.verify_with_id(k.key_id(), k.expose_secret(), &at(0))
            .is_ok()
    );
    assert_eq!(
        keys.verify_with_id(&id, k.expose_secret(), &at(0))
            .unwrap_err(),
        Rejection::UnknownKey
    );
}
