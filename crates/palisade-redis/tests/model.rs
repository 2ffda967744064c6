//! Property: for any sequence of requests and (caller-clock) times, the
//! Redis script decides exactly as a naive model built on `palisade::gcra`:
//! all or nothing over key, project and tenant; the refusing level is the one
//! with the longest wait, the reported level of an allow the one with the
//! fewest requests left (the first of equals).

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::collections::HashMap;
use std::time::Duration;

use palisade::{GcraDecision, LimitLevel, LimitRequest, Plan, RateLimitBackend, RateRefusal, gcra};
use palisade_redis::{ClockSource, FailurePolicy};
use proptest::prelude::*;

use common::{Tenant, cleanup, config, connect, key, limiter, plan, prefix, redis_url};

/// What both sides are compared on.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Allowed(LimitLevel, u32, Duration),
    Refused(LimitLevel, Duration),
}

/// The naive model: one map of arrival times, every limit checked, then
/// all written or none.
#[derive(Default)]
struct Model {
    tat: HashMap<String, u64>,
}

impl Model {
    #[cfg(test)]
    fn check(&mut self, keys: &[(String, LimitLevel)], p: &Plan, now: u64) -> Decision {
        let outcomes: Vec<GcraDecision> = keys
            .iter()
            .map(|(k, l)| gcra(self.tat.get(k).copied(), now, p.rate(*l)))
            .collect();
        let mut refused: Option<(LimitLevel, u64)> = None;
        for ((_, l), o) in keys.iter().zip(&outcomes) {
            if let GcraDecision::Refused { retry_after_micros } = o
                && refused.is_none_or(|(_, w)| *retry_after_micros > w)
            {
                refused = Some((*l, *retry_after_micros));
            }
        }
        if let Some((l, w)) = refused {
            return Decision::Refused(l, Duration::from_micros(w));
        }
        let mut best: Option<(LimitLevel, u32, u64)> = None;
        for ((k, l), o) in keys.iter().zip(&outcomes) {
            let GcraDecision::Allowed {
                tat,
                remaining,
                reset_micros,
            } = o
            else {
                continue;
            };
            self.tat.insert(k.clone(), *tat);
            if best.is_none_or(|(_, r, _)| *remaining < r) {
                best = Some((*l, *remaining, *reset_micros));
            }
        }
        let (l, r, reset) = best.unwrap();
        Decision::Allowed(l, r, Duration::from_micros(reset))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn redis_decides_as_the_model_gcra(
        rates in proptest::array::uniform3((1u64..300, 1u32..6)),
        steps in proptest::collection::vec((0usize..4, proptest::option::of(0usize..3), -30i64..400), 1..60),
    ) {
        let Some(url) = redis_url("redis_decides_as_the_model_gcra") else { return Ok(()) };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut conn = connect(&url).await;
            let pfx = prefix();
            let mut cfg = config(&pfx, ClockSource::Caller, FailurePolicy::FailClosed);
            // Exact equality of every field: no deny-cache shortcut (which
            // may report a shorter-waiting level), TTLs far past the test.
            cfg.deny_cache_entries = 0;
            cfg.ttl_slack_ms = 600_000;
            let rl = limiter(conn.clone(), cfg);
            let ms = |(i, b): (u64, u32)| (i * 1_000, b);
            let p = plan(ms(rates[0]), ms(rates[1]), ms(rates[2]));
            let t = Tenant::new(3);
            let keys: Vec<_> = (0..4).map(key).collect();
            let mut model = Model::default();
            let mut now = common::T0;
            for (k, project, dt) in steps {
                now += dt;
                let req = LimitRequest {
                    principal: &keys[k],
                    scope: t.scope(project),
                    plan: &p,
                    now: palisade::tenancy::Timestamp::from_unix_millis(now),
                };
                let mut names = vec![(format!("k:{}", keys[k]), LimitLevel::Key)];
                if let Some(pj) = project {
                    names.push((format!("p:{pj}"), LimitLevel::Project));
                }
                names.push(("t".to_owned(), LimitLevel::Tenant));
                let expected = model.check(&names, &p, u64::try_from(now).unwrap() * 1_000);
                let got = match rl.check(req).await {
                    Ok(s) => Decision::Allowed(s.level, s.remaining, s.reset),
                    Err(RateRefusal::Limited(r)) => Decision::Refused(r.level, r.retry_after),
                    Err(e) => panic!("redis failed: {e:?}"),
                };
                assert_eq!(got, expected, "at {now} key {k} project {project:?}");
            }
            cleanup(&mut conn, &pfx).await;
        });
    }
}
