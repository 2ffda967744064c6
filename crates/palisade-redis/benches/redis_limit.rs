//! One limit check through Redis on loopback against the same run's `PING`
//! round trip (goal: p50 within 1.3x of a PING), and the in-process check as
//! the embedded baseline. Needs `PALISADE_TEST_REDIS_URL`; without it only
//! the in-process check runs.
//!
//! Besides criterion's medians it prints p50/p99 of 20,000 interleaved
//! PING / check pairs (same connection, same moment), which is what the goal
//! is about: `cargo bench -p palisade-redis --bench redis_limit`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a benchmark"
)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{LimitRequest, Plan, Rate, RateLimitBackend, RateLimitConfig, RateLimiter};
use palisade_redis::{RedisLimitConfig, RedisLimiter};

fn plan() -> Plan {
    // Generous: every check is allowed, so each is a full script run.
    Plan::new(
        "bench",
        Rate::new(1, 1_000_000),
        Rate::new(1, 1_000_000),
        Rate::new(1, 1_000_000),
    )
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    let ix = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[ix]
}

fn bench(c: &mut Criterion) {
    let tenant = TenantId::new_v7();
    let scope = Scope::tenant(tenant);
    let key = Principal::api_key("bench1").unwrap();
    let p = plan();
    let now = Timestamp::from_unix_millis(1_800_000_000_000);
    let req = LimitRequest {
        principal: &key,
        scope,
        plan: &p,
        now,
    };

    let local = RateLimiter::new(&RateLimitConfig::default(), []).unwrap();
    let lp = local.plans().for_tenant(tenant).clone();
    let mut i = 0i64;
    c.bench_function("inprocess/limit_check", |b| {
        b.iter(|| {
            i += 1;
            let r = LimitRequest {
                plan: &lp,
                now: Timestamp::from_unix_millis(1_800_000_000_000 + i),
                ..req
            };
            std::hint::black_box(local.try_check(&r).is_ok())
        })
    });

    let Ok(url) = std::env::var("PALISADE_TEST_REDIS_URL") else {
        println!(
            "skipped: the Redis benchmarks; set PALISADE_TEST_REDIS_URL=redis://127.0.0.1:6379/ to run"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut conn, rl, prefix) = rt.block_on(async {
        let conn = redis::aio::ConnectionManager::new(redis::Client::open(url.as_str()).unwrap())
            .await
            .unwrap();
        let mut cfg = RedisLimitConfig::default();
        cfg.key_prefix = format!("palisade-bench:{}", uuid::Uuid::new_v4().simple());
        let prefix = cfg.key_prefix.clone();
        let rl = RedisLimiter::new(conn.clone(), cfg, &RateLimitConfig::default()).unwrap();
        // Load the script once (EVALSHA's first call falls back to SCRIPT LOAD).
        let _ = rl.check(req).await;
        (conn, rl, prefix)
    });

    // Interleaved pairs: p50/p99 of each under the same conditions.
    let n = 20_000;
    let (mut pings, mut checks) = (Vec::with_capacity(n), Vec::with_capacity(n));
    rt.block_on(async {
        for _ in 0..n {
            let t = Instant::now();
            let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
            pings.push(t.elapsed());
            let t = Instant::now();
            // A timeout under heavy machine load is a fail-closed 503, not a
            // benchmark failure: it is timed like any other answer.
            let _ = rl.check(req).await;
            checks.push(t.elapsed());
        }
    });
    let (p50, p99) = (pct(&mut pings, 0.5), pct(&mut pings, 0.99));
    let (c50, c99) = (pct(&mut checks, 0.5), pct(&mut checks, 0.99));
    println!(
        "interleaved x{n}: PING p50 {p50:?} p99 {p99:?}; limit check p50 {c50:?} p99 {c99:?}; \
         ratio p50 {:.2} p99 {:.2}",
        c50.as_secs_f64() / p50.as_secs_f64(),
        c99.as_secs_f64() / p99.as_secs_f64()
    );

    c.bench_function("redis/ping", |b| {
        b.iter(|| {
            rt.block_on(async {
                let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
            })
        })
    });
    c.bench_function("redis/limit_check", |b| {
        b.iter(|| rt.block_on(async { std::hint::black_box(rl.check(req).await.is_ok()) }))
    });
    rt.block_on(async {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
