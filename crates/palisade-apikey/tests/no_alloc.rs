//! The success path of `verify` (HMAC mode, in-memory store) and the
//! malformed-input path make no heap allocation.

use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, VerifyContext};
use palisade_tenancy::{Scope, TenantId, Timestamp};

#[test]
fn verify_does_not_allocate() {
    let keys = ApiKeys::in_memory(
        KeyFormat::default(),
        PepperSet::new([Pepper::generate(1).unwrap()]).unwrap(),
    );
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let scope = Scope::tenant(TenantId::new_v7());
    let k = keys
        .issue(
            NewKey::new(scope, "n")
                .scopes(["knowledge:*"])
                .unwrap()
                .allow_ips(["10.0.0.0/8".parse().unwrap()])
                .remaining_uses(1000),
            now,
        )
        .unwrap();
    let key = k.expose_secret().to_owned();
    let ctx = VerifyContext::new(now)
        .with_ip("10.1.2.3".parse().unwrap())
        .require("knowledge:read");
    assert!(keys.verify(&key, &ctx).is_ok());
    // The counter counts (so a zero below means something).
    let probe = allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert!(probe.count_total >= 1);
    let info = allocation_counter::measure(|| {
        for _ in 0..100 {
            let v = keys.verify(&key, &ctx).unwrap();
            assert_eq!(v.scope(), &scope);
            assert!(v.grants("knowledge:write"));
        }
    });
    assert_eq!(info.count_total, 0, "verify allocated on the success path");
    let bad = format!("{}x", &key[..71]);
    let info = allocation_counter::measure(|| {
        for _ in 0..100 {
            assert!(keys.verify(&bad, &ctx).is_err());
            assert!(keys.verify("not a key", &ctx).is_err());
        }
    });
    assert_eq!(
        info.count_total, 0,
        "verify allocated when rejecting malformed input"
    );
}
