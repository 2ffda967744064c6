//! Issue 11's limiter findings, each a regression test that failed before the
//! fix: the refused-credential budget per IPv6 /64, bounded limiter memory
//! under address churn, and the limiter clock under interleaved skewed times.
#![cfg(feature = "service")]

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{DenialKind, PlanConfig, RateConfig, RateLimitConfig, RateLimiter, RequestFacts};

use common::{at, key_req, records, world};

/// F6: rotating through one IPv6 /64 wrote 2,000+ denial records (each
/// address had its own budget). Now the /64 shares one budget: 20 refusals
/// are audited one by one, then one marks the start of the suppression.
#[test]
fn refusals_rotating_through_one_ipv6_64_share_one_budget() {
    let w = world();
    let base = u128::from("2001:db8:1:2::".parse::<Ipv6Addr>().unwrap());
    let mut limited = 0;
    for i in 0..2_000u128 {
        let facts = RequestFacts {
            ip: Some(IpAddr::V6(Ipv6Addr::from(base + i * 7_919 + 1))),
            ..RequestFacts::default()
        };
        let d = w
            .palisade
            .authorize(&key_req("pal_live_garbage", "inbox:read", at(0)).facts(facts))
            .unwrap_err();
        if d.kind() == DenialKind::RateLimited {
            limited += 1;
        }
    }
    assert_eq!(
        limited,
        2_000 - 20,
        "only the /64's budget of 20 got through"
    );
    let (n, _) = records(&w, palisade::UNATTRIBUTED);
    assert!(n <= 22, "{n} records for one /64 (was 2,000)");
    // Another /64 has its own budget.
    let facts = RequestFacts {
        ip: Some("2001:db8:1:3::1".parse().unwrap()),
        ..RequestFacts::default()
    };
    let d = w
        .palisade
        .authorize(&key_req("pal_live_garbage", "inbox:read", at(1)).facts(facts))
        .unwrap_err();
    assert_eq!(d.kind(), DenialKind::Unauthenticated);
}

/// F6: nothing on the refusal path swept, so the limiter's memory grew with
/// every new address. A million distinct addresses now stay under a fixed
/// bound (the default `max_tracked_addresses`, 65,536).
#[test]
fn a_million_churning_addresses_stay_under_a_fixed_bound() {
    let rl = RateLimiter::new(&RateLimitConfig::default(), []).unwrap();
    let now = Timestamp::from_unix_millis(common::T0);
    for i in 0..1_000_000u32 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let _ = rl.check_failure(ip, now);
    }
    assert!(rl.tracked() <= 65_536, "tracked {}", rl.tracked());
}

/// The clock ratchet: request times >= 5 s apart that interleave (two
/// sources with skewed clocks) re-added the gap on every alternation and
/// refilled every bucket, so ~100 of 200 requests passed a 1/s limit.
#[test]
fn interleaved_skewed_clocks_admit_only_what_the_span_allows() {
    let mut cfg = RateLimitConfig::default();
    cfg.plans.insert(
        "free".into(),
        PlanConfig::new(
            RateConfig::per_second(1),
            RateConfig::per_second(1_000),
            RateConfig::per_second(1_000),
        ),
    );
    let rl = RateLimiter::new(&cfg, []).unwrap();
    let scope = Scope::tenant(TenantId::new_v7());
    let key = Principal::api_key("k1").unwrap();
    let mut admitted = 0;
    // 200 requests 100 ms apart (a 19.9 s span), alternating between a
    // source on time and one 10 s behind.
    for i in 0..200i64 {
        let real = common::T0 + i * 100;
        let seen = if i % 2 == 0 { real } else { real - 10_000 };
        if rl
            .check(&key, &scope, Timestamp::from_unix_millis(seen))
            .is_ok()
        {
            admitted += 1;
        }
    }
    // 1/s with burst 1 over 19.9 s: 20 at most (the bug admitted ~100).
    assert!(admitted <= 21, "admitted {admitted}");
    assert!(admitted >= 15, "admitted {admitted}: the clock froze");
}

/// Each switch of a rate-limit backend to and from its failure policy is
/// one audit record (written by `audit_tick`), not one per request.
#[test]
fn backend_failure_policy_switches_are_audited_once_each() {
    use std::sync::{Arc, Mutex};

    use palisade::{
        BackendEvent, FailureCheck, LimitRequest, Palisade, PalisadeConfig, RateLimitBackend,
        RateRefusal, RateStatus,
    };

    #[derive(Debug)]
    struct Flaky {
        inner: RateLimiter,
        events: Mutex<Vec<BackendEvent>>,
    }
    impl RateLimitBackend for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }
        fn try_check(&self, req: &LimitRequest<'_>) -> Result<RateStatus, RateRefusal> {
            self.inner.try_check(req)
        }
        fn try_check_failure(
            &self,
            ip: IpAddr,
            now: Timestamp,
        ) -> Result<FailureCheck, RateRefusal> {
            self.inner.try_check_failure(ip, now)
        }
        fn take_events(&self) -> Vec<BackendEvent> {
            std::mem::take(&mut *self.events.lock().unwrap())
        }
    }
    let flaky = Arc::new(Flaky {
        inner: RateLimiter::new(&RateLimitConfig::default(), []).unwrap(),
        events: Mutex::new(vec![
            BackendEvent::FallbackStarted {
                backend: "redis",
                policy: "fallback_local",
                reason: "connection refused".into(),
                at: at(1),
            },
            BackendEvent::FallbackEnded {
                backend: "redis",
                decisions: 42,
                at: at(2),
            },
        ]),
    });
    let p = Palisade::builder(PalisadeConfig::default())
        .at(at(0))
        .rate_limit_backend(flaky)
        .build()
        .unwrap();
    p.audit_tick(at(3)).unwrap();
    p.audit_tick(at(4)).unwrap();
    let export = p.export_audit(palisade::UNATTRIBUTED, at(5)).unwrap();
    let text = String::from_utf8(export).unwrap();
    assert_eq!(text.matches("fallback_started").count(), 1, "{text}");
    assert_eq!(text.matches("fallback_ended").count(), 1, "{text}");
    assert!(text.contains("connection refused"));
}
