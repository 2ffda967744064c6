//! Against a real Redis: limits, all-or-nothing, TTLs, hash tags, both
//! clocks, the refused-credential budget, the deny cache, and the facade.

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use palisade::{FailureVerdict, LimitLevel, LimitRequest, RateLimitBackend, RateRefusal};
use palisade_redis::{ClockSource, FailurePolicy};

use common::{Tenant, at, cleanup, config, connect, key, limiter, plan, prefix, redis_url};

#[cfg(test)]
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn burst_then_refused_with_retry_after_and_nothing_spent_on_refusal() {
    let Some(url) = redis_url("burst_then_refused") else {
        return;
    };
    rt().block_on(async {
        let mut conn = connect(&url).await;
        let pfx = prefix();
        let mut cfg = config(&pfx, ClockSource::Caller, FailurePolicy::FailClosed);
        cfg.deny_cache_entries = 0;
        let rl = limiter(conn.clone(), cfg);
        // key: 5 burst, 1 per 200 ms; tenant: 3 burst, 1 per 1 s.
        let p = plan((200_000, 5), (1_000, 1_000), (1_000_000, 3));
        let t = Tenant::new(1);
        let req = |k: usize, ms: i64| LimitRequest {
            principal: &KEYS[k],
            scope: t.scope(None),
            plan: &p,
            now: at(ms),
        };
        static KEYS: std::sync::LazyLock<Vec<palisade::tenancy::Principal>> =
            std::sync::LazyLock::new(|| (0..4).map(key).collect());
        let s = rl.check(req(0, 0)).await.unwrap();
        assert_eq!((s.level, s.remaining), (LimitLevel::Tenant, 2));
        assert_eq!(s.reset, Duration::from_secs(1));
        assert!(s.policy_value().starts_with("\"key\";q=5;w=1"));
        rl.check(req(0, 0)).await.unwrap();
        rl.check(req(1, 0)).await.unwrap();
        // The tenant is out: refused at the tenant level, retry in 1 s…
        let Err(RateRefusal::Limited(r)) = rl.check(req(0, 0)).await else {
            panic!("not refused")
        };
        assert_eq!(r.level, LimitLevel::Tenant);
        assert_eq!(r.retry_after, Duration::from_secs(1));
        // …and that refusal spent nothing of key 0's budget (governor
        // would have): its stored arrival time is still 2 cells ahead.
        let k = format!("{pfx}:{{{}}}:k:{}", t.id, KEYS[0]);
        let tat: u64 = redis::cmd("GET")
            .arg(&k)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            tat,
            u64::try_from(common::T0).unwrap() * 1_000 + 2 * 200_000
        );
        let s = rl.check(req(0, 1_000)).await.unwrap();
        assert_eq!((s.level, s.remaining), (LimitLevel::Tenant, 0));
        // Every key shares the tenant's hash tag and has a TTL.
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{pfx}:*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(keys.len(), 3, "{keys:?}");
        for k in &keys {
            assert!(k.starts_with(&format!("{pfx}:{{{}}}:", t.id)), "{k}");
            let ttl: i64 = redis::cmd("PTTL")
                .arg(k)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert!(ttl > 0, "{k} has no TTL ({ttl})");
        }
        assert_eq!(cleanup(&mut conn, &pfx).await, 3);
    });
}

#[test]
fn project_limits_apply_to_project_scopes_and_redis_time_is_the_default_clock() {
    let Some(url) = redis_url("project_limits") else {
        return;
    };
    rt().block_on(async {
        let mut conn = connect(&url).await;
        let pfx = prefix();
        let rl = limiter(
            conn.clone(),
            config(&pfx, ClockSource::Redis, FailurePolicy::FailClosed),
        );
        assert_eq!(
            palisade_redis::RedisLimitConfig::default().clock,
            ClockSource::Redis
        );
        // Project: burst 2, slow; key and tenant generous.
        let p = plan((1_000, 1_000), (60_000_000, 2), (1_000, 1_000));
        let t = Tenant::new(2);
        let k = key(0);
        let mk = |proj| LimitRequest {
            principal: &k,
            scope: t.scope(proj),
            plan: &p,
            now: at(0),
        };
        rl.check(mk(Some(0))).await.unwrap();
        rl.check(mk(Some(0))).await.unwrap();
        let Err(RateRefusal::Limited(r)) = rl.check(mk(Some(0))).await else {
            panic!("not refused")
        };
        assert_eq!(r.level, LimitLevel::Project);
        // The caller's `now` is ignored under the Redis clock: retry ~60 s
        // from the server's time, not from the request's (far past) time.
        assert!(
            r.retry_after > Duration::from_secs(50),
            "{:?}",
            r.retry_after
        );
        rl.check(mk(Some(1))).await.unwrap();
        rl.check(mk(None)).await.unwrap();
        // The refusal is now in the deny cache: answered on the sync path.
        assert!(matches!(
            rl.try_check(&mk(Some(0))),
            Err(RateRefusal::Limited(_))
        ));
        assert!(matches!(
            rl.try_check(&mk(Some(1))),
            Err(RateRefusal::WouldBlock)
        ));
        cleanup(&mut conn, &pfx).await;
    });
}

#[test]
fn refused_credentials_share_one_budget_per_64_in_redis() {
    let Some(url) = redis_url("refused_credentials") else {
        return;
    };
    rt().block_on(async {
        let mut conn = connect(&url).await;
        let pfx = prefix();
        // Two instances: the budget is one, wherever the refusals land.
        let a = limiter(
            conn.clone(),
            config(&pfx, ClockSource::Caller, FailurePolicy::FailClosed),
        );
        let b = limiter(
            connect(&url).await,
            config(&pfx, ClockSource::Caller, FailurePolicy::FailClosed),
        );
        let mut verdicts = [0usize; 3];
        for i in 0..100u16 {
            let ip = format!("2001:db8:7:7::{i:x}").parse().unwrap();
            let rl = if i % 2 == 0 { &a } else { &b };
            let c = rl.check_failure(ip, at(0)).await.unwrap();
            assert_eq!(c.block.to_string(), "2001:db8:7:7::/64");
            assert_eq!(c.ended, None);
            verdicts[match c.verdict {
                FailureVerdict::Record => 0,
                FailureVerdict::SuppressStart(_) => 1,
                _ => 2,
            }] += 1;
        }
        // The default budget: burst 20.
        assert_eq!(verdicts, [20, 1, 79]);
        // The flood stops; a window later the drain reports it once.
        let ended = a.drain_suppressions_async(at(61_000)).await;
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].count, 79, "both instances' refusals, one window");
        let ended_b = b.drain_suppressions_async(at(61_000)).await;
        assert_eq!(
            ended_b.len(),
            0,
            "the window was closed once, by a: {ended_b:?}"
        );
        cleanup(&mut conn, &pfx).await;
    });
}

#[test]
fn the_facade_awaits_the_redis_backend_and_the_sync_path_fails_closed() {
    let Some(url) = redis_url("facade") else {
        return;
    };
    rt().block_on(async {
        use palisade::apikey::NewKey;
        use palisade::tenancy::{Principal, Scope, TenantId};
        use palisade::{Credential, DenialKind, Palisade, PalisadeConfig, Request};
        let mut conn = connect(&url).await;
        let pfx = prefix();
        let rl = Arc::new(limiter(conn.clone(), config(&pfx, ClockSource::Caller, FailurePolicy::FailClosed)));
        let tenant = TenantId::new_v7();
        let policy = format!(
            "version = 1\npermissions = [\"inbox:read\"]\n[[roles]]\nname = \"r\"\npermissions = [\"inbox:read\"]\n[[bindings]]\nprincipal = \"user:a@x.example\"\nrole = \"r\"\nscope = \"{tenant}\"\n"
        );
        let p = Palisade::builder(PalisadeConfig::default())
            .policy_toml(&policy)
            .at(at(0))
            .rate_limit_backend(rl.clone())
            .build()
            .unwrap();
        let new = NewKey::new(Scope::tenant(tenant), "t")
            .owner(Principal::user("a@x.example").unwrap())
            .scopes(["inbox:read"])
            .unwrap();
        let secret = p.keys_unchecked().issue(new, at(0)).unwrap().expose_secret().to_owned();
        let req = Request::new(Credential::ApiKey(&secret), "inbox:read", "inbox", "1", at(1));
        let ok = p.authorize_async(&req).await.unwrap();
        assert!(ok.rate_status().unwrap().header_value().starts_with("\"key\";r=9"));
        // The sync path cannot await Redis: a fail-closed 503.
        let d = p.authorize(&req).unwrap_err();
        assert_eq!(d.kind(), DenialKind::Unavailable);
        // The free plan's key burst is 10: the 11th in the same ms is a 429.
        for _ in 0..9 {
            p.authorize_async(&req).await.unwrap();
        }
        let d = p.authorize_async(&req).await.unwrap_err();
        assert_eq!(d.kind(), DenialKind::RateLimited);
        assert_eq!(d.rate_limit().unwrap().header_value(), "\"key\";r=0;t=1");
        cleanup(&mut conn, &pfx).await;
    });
}
