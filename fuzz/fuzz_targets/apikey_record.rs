#![no_main]
//! Stored key records (what a database-write attacker controls): JSON
//! decoding, the record MAC check and a verification against a decoded
//! record never panic, and no decoded record other than the genuine one
//! authenticates (a forgery would be a bug).
use std::sync::OnceLock;

use palisade_apikey::{ApiKeys, KeyFormat, KeyRecord, MemoryStore, NewKey, Pepper, PepperSet, VerifyContext};
use palisade_tenancy::{Scope, TenantId, Timestamp};

struct Fixture {
    keys: ApiKeys,
    key: String,
    genuine: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let peppers = PepperSet::new([Pepper::new(1, vec![7u8; 32].into()).unwrap()]).unwrap();
        let keys = ApiKeys::new(KeyFormat::default(), peppers, MemoryStore::new());
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let k = keys
            .issue(NewKey::new(Scope::tenant(TenantId::from_bytes([1; 16])), "fuzz"), now)
            .unwrap();
        let genuine = serde_json::to_string(k.record()).unwrap();
        Fixture { key: k.expose_secret().to_owned(), keys, genuine }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(record) = serde_json::from_slice::<KeyRecord>(data) else {
        return;
    };
    if f.keys.record_is_authentic(&record) {
        let canonical = serde_json::to_string(&record).unwrap();
        let genuine: KeyRecord = serde_json::from_str(&f.genuine).unwrap();
        // Only the genuine record (up to the unauthenticated fields) authenticates.
        let mut a = record.clone();
        let mut b = genuine;
        for r in [&mut a, &mut b] {
            r.name.clear();
            r.remaining_uses = None;
            r.last_used = None;
        }
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap(), "{canonical}");
    }
    let store = MemoryStore::new();
    if store.restore(record).is_ok() {
        let keys = ApiKeys::new(
            KeyFormat::default(),
            PepperSet::new([Pepper::new(1, vec![7u8; 32].into()).unwrap()]).unwrap(),
            store,
        );
        let _ = keys.verify(&f.key, &VerifyContext::new(Timestamp::from_unix_seconds(1_800_000_000)));
    }
});
