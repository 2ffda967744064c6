//! Round trips, tamper detection and context binding of single-shot envelopes.

#[cfg(test)]
mod common;

use common::{ctx, env, project, tenant};
use palisade_envelope::{
    CacheLimits, DecryptFailure, EncryptionContext, Envelope, EnvelopeError, Kek, KeyProvider,
    LocalKeyring, Rewrap, key_ref,
};
use palisade_tenancy::Timestamp;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

#[cfg(test)]
fn arb_ctx() -> impl Strategy<Value = EncryptionContext> {
    (
        any::<[u8; 16]>(),
        proptest::option::of(any::<[u8; 16]>()),
        proptest::collection::btree_map(
            "[a-z0-9_.:-]{1,12}",
            proptest::collection::vec(any::<u8>(), 0..40),
            0..5,
        ),
    )
        .prop_map(|(t, p, fields)| {
            let t = palisade_tenancy::TenantId::from_bytes(t);
            let scope = match p {
                None => palisade_tenancy::Scope::tenant(t),
                Some(p) => {
                    palisade_tenancy::Scope::project(t, palisade_tenancy::ProjectId::from_bytes(p))
                }
            };
            let mut c = EncryptionContext::new(scope);
            for (k, v) in fields {
                c.insert(&k, v).unwrap();
            }
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip_any_plaintext_and_context(pt in proptest::collection::vec(any::<u8>(), 0..2048), c in arb_ctx()) {
        let env = env();
        let ct = env.seal(&c, &pt).unwrap();
        prop_assert_eq!(&env.open(&c, &ct).unwrap()[..], &pt[..]);
        // In-place variants agree.
        let mut buf = pt.clone();
        env.seal_in_place(&c, &mut buf, Timestamp::from_unix_seconds(0)).unwrap();
        let got = env.open_in_place(&c, &mut buf, Timestamp::from_unix_seconds(0)).unwrap();
        prop_assert_eq!(&got[..], &pt[..]);
    }

    #[test]
    fn any_flipped_bit_fails(pt in proptest::collection::vec(any::<u8>(), 0..256), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let env = env();
        let c = ctx(tenant(1), "r1");
        let mut ct = env.seal(&c, &pt).unwrap();
        let i = pos.index(ct.len());
        ct[i] ^= 1 << bit;
        prop_assert!(env.open(&c, &ct).is_err(), "flip at byte {} of {}", i, ct.len());
    }

    #[test]
    fn a_different_context_fails(pt in proptest::collection::vec(any::<u8>(), 0..256), a in arb_ctx(), b in arb_ctx()) {
        prop_assume!(a != b);
        let env = env();
        let ct = env.seal(&a, &pt).unwrap();
        prop_assert!(env.open(&b, &ct).is_err());
    }

    #[test]
    fn rewrap_preserves_plaintext_and_body(pt in proptest::collection::vec(any::<u8>(), 0..512), c in arb_ctx()) {
        let env = env();
        let ct = env.seal(&c, &pt).unwrap();
        let id = key_ref(&ct).unwrap().kek;
        env.provider().rotate(&id, Kek::generate().unwrap()).unwrap();
        let Rewrap::Rewrapped(new) = env.rewrap(&c, &ct).unwrap() else { panic!("expected a rewrap") };
        prop_assert_eq!(key_ref(&new).unwrap().version, 2);
        // The body (everything after the key section) is byte-identical.
        let tail = pt.len() + 16 + 64;
        prop_assert_eq!(&new[new.len() - tail..], &ct[ct.len() - tail..]);
        prop_assert_eq!(&env.open(&c, &new).unwrap()[..], &pt[..]);
        prop_assert_eq!(env.rewrap(&c, &new).unwrap(), Rewrap::AlreadyPrimary);
    }
}

#[test]
#[cfg(test)]
fn other_tenant_project_and_record_fail() {
    let env = env();
    let c = ctx(project(1, 1), "42");
    let ct = env.seal(&c, b"secret").unwrap();
    for other in [
        ctx(project(1, 2), "42"),
        ctx(tenant(1), "42"),
        ctx(project(2, 1), "42"),
        ctx(project(1, 1), "43"),
    ] {
        let e = env.open(&other, &ct).unwrap_err();
        assert!(matches!(e, EnvelopeError::DecryptionFailed(_)), "{e}");
    }
    // Another tenant fails already at the key unwrap; another record at the commitment.
    assert_eq!(
        env.open(&ctx(project(2, 1), "42"), &ct)
            .unwrap_err()
            .failure_detail(),
        Some(DecryptFailure::Unwrap)
    );
    assert_eq!(
        env.open(&ctx(project(1, 1), "43"), &ct)
            .unwrap_err()
            .failure_detail(),
        Some(DecryptFailure::Commitment)
    );
}

#[test]
#[cfg(test)]
fn a_different_data_key_fails_commitment() {
    // Same KEK, same context: swapping in another message's key section must
    // fail the commitment before any decryption.
    let env = env();
    let c = ctx(tenant(1), "1");
    let a = env.seal(&c, b"aaaa").unwrap();
    let b = env.seal(&c, b"bbbb").unwrap();
    let ks = 1 + 4 + 4 + 2 + 112; // kek id "main"
    let mut mixed = b[..3 + ks].to_vec();
    mixed.extend_from_slice(&a[3 + ks..]);
    let e = env.open(&c, &mixed).unwrap_err();
    assert_eq!(e.failure_detail(), Some(DecryptFailure::Commitment));
}

#[test]
#[cfg(test)]
fn secrets_and_scoped_handle() {
    let env = env();
    let h = env.for_scope(tenant(3));
    let c = h.context().with("column", "openai").unwrap();
    let ct = h.seal_secret(&c, &SecretString::from("sk-abc")).unwrap();
    assert_eq!(h.open_secret(&c, &ct).unwrap().expose_secret(), "sk-abc");
    let foreign = ctx(tenant(4), "x");
    assert!(matches!(
        h.seal(&foreign, b"x"),
        Err(EnvelopeError::ScopeMismatch { .. })
    ));
    assert!(matches!(
        h.open(&foreign, &ct),
        Err(EnvelopeError::ScopeMismatch { .. })
    ));
    // The handle is Send + Sync and clones cheaply.
    fn assert_send_sync<T: Send + Sync + Clone>(_: &T) {}
    assert_send_sync(&h);
    let h2 = h.clone();
    std::thread::spawn(move || h2.seal(&h2.context(), b"x").unwrap())
        .join()
        .unwrap();
}

#[test]
#[cfg(test)]
fn retired_versions_fail_clearly_and_sweep_moves_everything() {
    let env = env();
    let contexts: Vec<_> = (0..5).map(|i| ctx(tenant(i), &i.to_string())).collect();
    let mut cts: Vec<Vec<u8>> = contexts
        .iter()
        .map(|c| env.seal(c, b"payload").unwrap())
        .collect();
    cts.push(b"garbage".to_vec());
    let id = key_ref(&cts[0]).unwrap().kek;
    env.provider()
        .rotate(&id, Kek::generate().unwrap())
        .unwrap();
    let bad_ctx = ctx(tenant(9), "9");
    let mut items: Vec<(&EncryptionContext, &mut Vec<u8>)> = contexts
        .iter()
        .chain([&bad_ctx])
        .zip(cts.iter_mut())
        .collect();
    let report = env.sweep(items.iter_mut().map(|(c, v)| (*c, &mut **v)));
    assert_eq!(
        (report.rewrapped, report.unchanged, report.failed.len()),
        (5, 0, 1)
    );
    assert_eq!(report.failed[0].0, 5);
    env.provider().set_min_decryption_version(&id, 2).unwrap();
    for (c, ct) in contexts.iter().zip(&cts) {
        assert_eq!(&env.open(c, ct).unwrap()[..], b"payload");
    }
    let old = {
        let ring = LocalKeyring::with_primary("main", Kek::generate().unwrap()).unwrap();
        let e = Envelope::new(ring);
        let ct = e.seal(&contexts[0], b"x").unwrap();
        e.provider().rotate(&id, Kek::generate().unwrap()).unwrap();
        e.provider().set_min_decryption_version(&id, 2).unwrap();
        e.open(&contexts[0], &ct).unwrap_err()
    };
    assert!(
        matches!(
            old,
            EnvelopeError::KeyVersionRetired {
                version: 1,
                min: 2,
                ..
            }
        ),
        "{old}"
    );
}

#[test]
#[cfg(test)]
fn cached_keys_respect_retirement() {
    let env = Envelope::with_cache(common::ring(), CacheLimits::default());
    let now = Timestamp::from_unix_seconds(1_000);
    let c = ctx(tenant(1), "1");
    let ct = env.seal_cached(&c, b"x", now).unwrap();
    assert_eq!(&env.open_cached(&c, &ct, now).unwrap()[..], b"x");
    let id = key_ref(&ct).unwrap().kek;
    env.provider()
        .rotate(&id, Kek::generate().unwrap())
        .unwrap();
    env.provider().set_min_decryption_version(&id, 2).unwrap();
    assert!(matches!(
        env.open_cached(&c, &ct, now),
        Err(EnvelopeError::KeyVersionRetired { .. })
    ));
    assert_eq!(env.provider().primary().unwrap().version, 2);
}
