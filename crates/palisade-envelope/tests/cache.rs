//! The data-key cache never uses a data key past its age, message or byte
//! limits, and never shares one across tenants.

#[cfg(test)]
mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ctx, ring, tenant};
use palisade_envelope::{CacheLimits, Envelope};
use palisade_tenancy::Timestamp;
use proptest::prelude::*;

/// The wrapped-key bytes identify the data key (fresh random wrap per key).
#[cfg(test)]
fn data_key_id(ct: &[u8]) -> Vec<u8> {
    let id_len = usize::from(ct[3]);
    let wlen_at = 4 + id_len + 4;
    let wlen = usize::from(u16::from_be_bytes([ct[wlen_at], ct[wlen_at + 1]]));
    ct[wlen_at + 2..wlen_at + 2 + wlen].to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn cache_never_exceeds_its_limits(
        max_age in 1u64..20,
        max_messages in 1u64..6,
        max_bytes in 1u64..200,
        ops in proptest::collection::vec((0u8..3, 0usize..80, 0u64..6), 1..60),
    ) {
        let limits = CacheLimits { max_age: Duration::from_secs(max_age), max_messages, max_bytes, max_entries: 2 };
        let env = Envelope::with_cache(ring(), limits);
        // key id -> (tenant, first use, messages, bytes)
        let mut seen: HashMap<Vec<u8>, (u8, i64, u64, u64)> = HashMap::new();
        let mut now = 1_000i64;
        let mut fresh_keys = 0;
        for (t, len, step) in ops {
            now += i64::try_from(step).unwrap();
            let c = ctx(tenant(t), "r");
            let ct = env.seal_cached(&c, &vec![0u8; len], Timestamp::from_unix_seconds(now)).unwrap();
            let e = seen.entry(data_key_id(&ct)).or_insert_with(|| { fresh_keys += 1; (t, now, 0, 0) });
            e.2 += 1;
            e.3 += len as u64;
            prop_assert_eq!(e.0, t, "a data key crossed tenants");
            prop_assert!(e.2 <= max_messages, "{} messages > {}", e.2, max_messages);
            // A single message longer than the byte limit gets its own key.
            prop_assert!(e.3 <= max_bytes || e.2 == 1, "{} bytes > {}", e.3, max_bytes);
            prop_assert!(now - e.1 < i64::try_from(max_age).unwrap(), "used {}s after creation", now - e.1);
            prop_assert_eq!(&env.open_cached(&c, &ct, Timestamp::from_unix_seconds(now)).unwrap()[..], &vec![0u8; len][..]);
        }
        prop_assert!(fresh_keys >= 1);
    }
}

#[test]
#[cfg(test)]
fn cache_saves_provider_calls_within_limits() {
    let env = Envelope::with_cache(ring(), CacheLimits::default());
    let now = Timestamp::from_unix_seconds(5);
    let c = ctx(tenant(1), "a");
    let a = env.seal_cached(&c, b"x", now).unwrap();
    let b = env.seal_cached(&ctx(tenant(1), "b"), b"y", now).unwrap();
    assert_eq!(
        data_key_id(&a),
        data_key_id(&b),
        "same tenant reuses the data key"
    );
    let other = env.seal_cached(&ctx(tenant(2), "a"), b"x", now).unwrap();
    assert_ne!(data_key_id(&a), data_key_id(&other), "tenants never share");
    // Uncached seal always makes a fresh key; a clock that goes backwards expires.
    assert_ne!(data_key_id(&env.seal(&c, b"x").unwrap()), data_key_id(&a));
    let back = env
        .seal_cached(&c, b"x", Timestamp::from_unix_seconds(4))
        .unwrap();
    assert_ne!(data_key_id(&back), data_key_id(&a));
    // Rotation takes effect for the next cached seal.
    let id = palisade_envelope::key_ref(&a).unwrap().kek;
    env.provider()
        .rotate(&id, palisade_envelope::Kek::generate().unwrap())
        .unwrap();
    let after = env
        .seal_cached(&c, b"x", Timestamp::from_unix_seconds(6))
        .unwrap();
    assert_eq!(palisade_envelope::key_ref(&after).unwrap().version, 2);
    env.clear_cache();
    assert_eq!(&env.open_cached(&c, &a, now).unwrap()[..], b"x");
}

struct Counting(
    palisade_envelope::LocalKeyring,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicUsize,
);
impl palisade_envelope::KeyProvider for Counting {
    fn primary(&self) -> palisade_envelope::Result<palisade_envelope::KeyRef> {
        self.0.primary()
    }
    fn wrap(
        &self,
        k: &palisade_envelope::DataKey,
        s: &palisade_tenancy::Scope,
    ) -> palisade_envelope::Result<palisade_envelope::WrappedKey> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.wrap(k, s)
    }
    fn unwrap(
        &self,
        r: &palisade_envelope::KeyRef,
        w: &[u8],
        s: &palisade_tenancy::Scope,
    ) -> palisade_envelope::Result<palisade_envelope::DataKey> {
        self.2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.unwrap(r, w, s)
    }
    fn is_primary(&self, r: &palisade_envelope::KeyRef) -> bool {
        self.0.is_primary(r)
    }
    fn check_decryptable(&self, r: &palisade_envelope::KeyRef) -> palisade_envelope::Result<()> {
        self.0.check_decryptable(r)
    }
}

#[test]
fn cached_seal_and_open_make_no_provider_calls() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let env = Envelope::with_cache(
        Counting(ring(), AtomicUsize::new(0), AtomicUsize::new(0)),
        CacheLimits::default(),
    );
    let now = Timestamp::from_unix_seconds(5);
    let c = ctx(tenant(1), "a");
    let mut out = Vec::new();
    for _ in 0..100 {
        env.seal_into(&c, b"hello", &mut out, now).unwrap();
        assert_eq!(env.open_in_place(&c, &mut out, now).unwrap(), b"hello");
    }
    assert_eq!(
        (
            env.provider().1.load(Relaxed),
            env.provider().2.load(Relaxed)
        ),
        (1, 0)
    );
}
