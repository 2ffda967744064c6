//! Rate limiting: per key, per project and per tenant at once; plans; eviction; headers.

use std::collections::BTreeMap;
use std::time::Duration;

use palisade::{LimitLevel, PlanConfig, RateConfig, RateLimitConfig, RateLimiter};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use proptest::prelude::*;

#[cfg(test)] // helpers count as test code for clippy's unwrap/panic allowances
fn cfg(key: u32, project: u32, tenant: u32) -> RateLimitConfig {
    let mut c = RateLimitConfig::default();
    c.plans = BTreeMap::from([
        (
            "free".to_owned(),
            PlanConfig::new(
                RateConfig::per_second(key),
                RateConfig::per_second(project),
                RateConfig::per_second(tenant),
            ),
        ),
        (
            "pro".to_owned(),
            PlanConfig::new(
                RateConfig::per_second(key * 10),
                RateConfig::per_second(project * 10),
                RateConfig::per_second(tenant * 10),
            ),
        ),
    ]);
    c.default_plan = "free".into();
    c
}

#[cfg(test)]
fn key(i: usize) -> Principal {
    Principal::api_key(&format!("k{i}")).unwrap()
}

const T0: i64 = 1_800_000_000_000;

#[test]
fn per_key_burst_then_refused_with_retry_after() {
    let rl = RateLimiter::new(&cfg(5, 100, 100), []).unwrap();
    let scope = Scope::tenant(TenantId::new_v7());
    let now = Timestamp::from_unix_millis(T0);
    for i in 0..5 {
        let s = rl.check(&key(0), &scope, now).unwrap();
        assert_eq!(s.remaining, 4 - i, "remaining after request {i}");
    }
    let refused = rl.check(&key(0), &scope, now).unwrap_err();
    assert_eq!(refused.level, LimitLevel::Key);
    assert_eq!(refused.retry_after, Duration::from_millis(200));
    assert_eq!(refused.retry_after_secs(), 1);
    assert_eq!(refused.header_value(), "\"key\";r=0;t=1");
    assert_eq!(
        refused.policy_value(),
        "\"key\";q=5;w=1, \"project\";q=100;w=1, \"tenant\";q=100;w=1"
    );
    // Another key of the same tenant is unaffected by this key's limit.
    assert!(rl.check(&key(1), &scope, now).is_ok());
    // 200 ms later one request is replenished.
    assert!(
        rl.check(&key(0), &scope, Timestamp::from_unix_millis(T0 + 200))
            .is_ok()
    );
    assert!(
        rl.check(&key(0), &scope, Timestamp::from_unix_millis(T0 + 200))
            .is_err()
    );
}

#[test]
fn many_keys_cannot_route_around_the_tenant_limit() {
    let rl = RateLimiter::new(&cfg(5, 100, 20), []).unwrap();
    let scope = Scope::tenant(TenantId::new_v7());
    let now = Timestamp::from_unix_millis(T0);
    let allowed = (0..100)
        .filter(|i| rl.check(&key(*i), &scope, now).is_ok())
        .count();
    assert_eq!(allowed, 20);
    let refused = rl.check(&key(500), &scope, now).unwrap_err();
    assert_eq!(refused.level, LimitLevel::Tenant);
    // Another tenant is untouched.
    assert!(
        rl.check(&key(0), &Scope::tenant(TenantId::new_v7()), now)
            .is_ok()
    );
}

#[test]
fn project_limit_applies_to_project_scopes_only() {
    let rl = RateLimiter::new(&cfg(100, 3, 100), []).unwrap();
    let t = TenantId::new_v7();
    let p = Scope::project(t, ProjectId::new_v7());
    let now = Timestamp::from_unix_millis(T0);
    for i in 0..3 {
        assert!(rl.check(&key(i), &p, now).is_ok());
    }
    assert_eq!(
        rl.check(&key(9), &p, now).unwrap_err().level,
        LimitLevel::Project
    );
    assert!(
        rl.check(&key(9), &Scope::project(t, ProjectId::new_v7()), now)
            .is_ok()
    );
    assert!(rl.check(&key(9), &Scope::tenant(t), now).is_ok());
}

#[test]
fn plan_tiers_differ() {
    let pro = TenantId::new_v7();
    let rl = RateLimiter::new(&cfg(2, 100, 100), [(pro, "pro")]).unwrap();
    let now = Timestamp::from_unix_millis(T0);
    let count = |scope: Scope| {
        (0..50)
            .filter(|_| rl.check(&key(0), &scope, now).is_ok())
            .count()
    };
    assert_eq!(count(Scope::tenant(TenantId::new_v7())), 2);
    assert_eq!(count(Scope::tenant(pro)), 20);
}

#[test]
fn unknown_plan_is_a_config_error() {
    let err = RateLimiter::new(&cfg(1, 1, 1), [(TenantId::new_v7(), "gold")]).unwrap_err();
    assert!(
        err.to_string().contains("plan `gold` is not defined"),
        "{err}"
    );
    let mut c = cfg(1, 1, 1);
    c.default_plan = "nope".into();
    assert!(RateLimiter::new(&c, []).is_err());
    let c = cfg(0, 1, 1);
    assert!(
        RateLimiter::new(&c, [])
            .unwrap_err()
            .to_string()
            .contains("per_key.requests")
    );
}

#[test]
fn idle_state_is_evicted() {
    let mut c = cfg(5, 5, 1000);
    c.sweep_every = 1_000_000;
    let rl = RateLimiter::new(&c, []).unwrap();
    let t = TenantId::new_v7();
    let now = Timestamp::from_unix_millis(T0);
    for i in 0..200 {
        rl.check(&key(i), &Scope::project(t, ProjectId::new_v7()), now)
            .unwrap();
    }
    assert_eq!(rl.tracked(), 200 + 200 + 1);
    rl.sweep();
    assert_eq!(rl.tracked(), 200 + 200 + 1, "nothing is idle yet");
    // Ten seconds later every bucket is full again: indistinguishable from fresh.
    let later = Scope::tenant(TenantId::new_v7());
    rl.check(&key(999), &later, Timestamp::from_unix_millis(T0 + 10_000))
        .unwrap();
    rl.sweep();
    assert_eq!(rl.tracked(), 2, "only the latest key and tenant remain");
}

#[test]
fn automatic_sweep_bounds_memory() {
    let mut c = cfg(5, 5, 1_000_000);
    c.sweep_every = 64;
    let rl = RateLimiter::new(&c, []).unwrap();
    let t = Scope::tenant(TenantId::new_v7());
    for i in 0..10_000usize {
        // One new key every 10 s: each earlier key is idle by the next sweep.
        let now = Timestamp::from_unix_millis(T0 + 10_000 * i64::try_from(i).unwrap());
        rl.check(&key(i), &t, now).unwrap();
        assert!(rl.tracked() <= 64 + 2, "tracked {} at {i}", rl.tracked());
    }
}

#[test]
fn headers_of_allowed_requests() {
    let rl = RateLimiter::new(&cfg(10, 100, 4), []).unwrap();
    let s = rl
        .check(
            &key(0),
            &Scope::tenant(TenantId::new_v7()),
            Timestamp::from_unix_millis(T0),
        )
        .unwrap();
    assert_eq!(s.level, LimitLevel::Tenant);
    assert_eq!(s.remaining, 3);
    assert_eq!(s.reset, Duration::from_millis(250));
    assert_eq!(s.header_value(), "\"tenant\";r=3;t=1");
    assert!(s.policy_value().starts_with("\"key\";q=10;w=1"));
}

#[test]
fn clock_never_runs_backwards() {
    let rl = RateLimiter::new(&cfg(1, 10, 10), []).unwrap();
    let scope = Scope::tenant(TenantId::new_v7());
    rl.check(&key(0), &scope, Timestamp::from_unix_millis(T0 + 5_000))
        .unwrap();
    // A request stamped earlier (clock skew) cannot refill the bucket.
    assert!(
        rl.check(&key(0), &scope, Timestamp::from_unix_millis(T0))
            .is_err()
    );
    assert_eq!(rl.clock_millis(), u64::try_from(T0 + 5_000).unwrap());
}

#[test]
fn a_stepped_wall_clock_neither_refills_nor_freezes() {
    let rl = RateLimiter::new(&cfg(2, 100, 100), []).unwrap();
    let scope = Scope::tenant(TenantId::new_v7());
    let ok = |ms: i64| {
        rl.check(&key(0), &scope, Timestamp::from_unix_millis(T0 + ms))
            .is_ok()
    };
    assert!(ok(0) && ok(0) && !ok(0));
    // Clock stepped an hour ahead: the bucket refills once (one burst)…
    assert!(ok(3_600_000) && ok(3_600_000) && !ok(3_600_000));
    // …and stepped back: no refill, and no freeze until the wall clock
    // catches up — half a second later one request is replenished.
    assert!(!ok(1_000));
    assert!(ok(1_500));
    assert!(!ok(1_500));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever mix of keys and projects a tenant uses, it never gets more
    /// than burst + rate × elapsed requests through.
    #[test]
    fn tenant_total_is_bounded(steps in proptest::collection::vec((0usize..50, 0u8..4, 0i64..120), 1..300)) {
        let rl = RateLimiter::new(&cfg(1_000, 1_000, 10), []).unwrap();
        let t = TenantId::new_v7();
        let projects: Vec<ProjectId> = (0..4).map(|_| ProjectId::new_v7()).collect();
        let mut now = T0;
        let mut allowed = 0u64;
        for (k, p, dt) in &steps {
            now += dt;
            let scope = if *p == 3 { Scope::tenant(t) } else { Scope::project(t, projects[usize::from(*p)]) };
            if rl.check(&key(*k), &scope, Timestamp::from_unix_millis(now)).is_ok() {
                allowed += 1;
            }
        }
        let elapsed_ms = u64::try_from(now - T0).unwrap();
        prop_assert!(allowed <= 10 + elapsed_ms / 100, "allowed {} in {} ms", allowed, elapsed_ms);
    }
}
