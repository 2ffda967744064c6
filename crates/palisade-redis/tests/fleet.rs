//! Fleet: 4 instances with separate Redis connections hammer one tenant
//! through many keys and projects for 3 s (the issue asks for 10 s; 3 s
//! keeps CI within its budget on 2 shared cores, and the bound is the same
//! formula). The tenant's admitted count stays within burst + rate x time
//! (+1 per replica); the same load on 4 in-process limiters admits ~4x.
//! Run with `--nocapture` for the over-admission ratios.

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade::tenancy::{Principal, Timestamp};
use palisade::{
    LimitRequest, Plan, PlanConfig, Plans, RateConfig, RateLimitBackend, RateLimitConfig,
    RateLimiter,
};
use palisade_redis::{ClockSource, FailurePolicy, RedisLimiter};

use common::{Tenant, cleanup, config, connect, key, prefix, redis_url};

const REPLICAS: usize = 4;
/// How long each fleet hammers (the issue asks for 10 s; bounded, stops by itself).
const RUN: Duration = Duration::from_secs(10);
const RATE: u64 = 200;
const BURST: u64 = 50;

#[cfg(test)]
fn limits() -> RateLimitConfig {
    let mut cfg = RateLimitConfig::default();
    cfg.plans.insert(
        "free".into(),
        PlanConfig::new(
            RateConfig::per_second(100_000),
            RateConfig::per_second(100_000),
            RateConfig {
                requests: u32::try_from(RATE).unwrap(),
                per_seconds: 1,
                burst: Some(u32::try_from(BURST).unwrap()),
            },
        ),
    );
    cfg
}

/// Hammer `backend` for `RUN`: returns (attempts, admitted).
#[cfg(test)]
async fn hammer(
    backend: Arc<dyn RateLimitBackend>,
    plan: Arc<Plan>,
    tenant: Arc<Tenant>,
    keys: Arc<Vec<Principal>>,
    offset: usize,
) -> (u64, u64) {
    let (mut attempts, mut admitted) = (0u64, 0u64);
    let start = Instant::now();
    let mut i = offset;
    while start.elapsed() < RUN {
        i += 1;
        let req = LimitRequest {
            principal: &keys[i % keys.len()],
            scope: tenant.scope(Some(i % tenant.projects.len())),
            plan: &plan,
            now: Timestamp::now(),
        };
        let r = match backend.try_check(&req) {
            Err(palisade::RateRefusal::WouldBlock) => backend.check(req).await,
            other => other,
        };
        attempts += 1;
        admitted += u64::from(r.is_ok());
        tokio::task::yield_now().await;
    }
    (attempts, admitted)
}

#[cfg(test)]
async fn run_fleet(backends: Vec<Arc<dyn RateLimitBackend>>, plan: Plan) -> (u64, u64) {
    let plan = Arc::new(plan);
    let tenant = Arc::new(Tenant::new(8));
    let keys = Arc::new((0..40).map(key).collect::<Vec<_>>());
    let tasks: Vec<_> = backends
        .into_iter()
        .enumerate()
        .map(|(n, b)| tokio::spawn(hammer(b, plan.clone(), tenant.clone(), keys.clone(), n * 7)))
        .collect();
    let (mut attempts, mut admitted) = (0, 0);
    for t in tasks {
        let (a, b) = t.await.unwrap();
        attempts += a;
        admitted += b;
    }
    (attempts, admitted)
}

#[cfg(test)]
async fn redis_micros(conn: &mut redis::aio::ConnectionManager) -> u64 {
    let (s, us): (u64, u64) = redis::cmd("TIME").query_async(conn).await.unwrap();
    s * 1_000_000 + us
}

#[test]
fn four_replicas_through_redis_stay_within_the_tenant_limit_in_process_gives_4x() {
    let Some(url) = redis_url("fleet") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cfg = limits();
        let plans = Plans::from_config(&cfg, []).unwrap();
        let plan = plans.for_tenant(palisade::tenancy::TenantId::new_v7()).clone();
        let mut conn = connect(&url).await;
        let pfx = prefix();
        let mut backends: Vec<Arc<dyn RateLimitBackend>> = Vec::new();
        for _ in 0..REPLICAS {
            let rl = RedisLimiter::new(
                connect(&url).await,
                config(&pfx, ClockSource::Redis, FailurePolicy::FailClosed),
                &cfg,
            )
            .unwrap();
            backends.push(Arc::new(rl));
        }
        let t0 = redis_micros(&mut conn).await;
        let (attempts, admitted) = run_fleet(backends, plan.clone()).await;
        let t1 = redis_micros(&mut conn).await;
        let elapsed = (t1 - t0) as f64 / 1e6;
        let limit = BURST as f64 + RATE as f64 * elapsed;
        let ratio = admitted as f64 / limit;
        println!(
            "fleet via redis: {REPLICAS} replicas, {attempts} attempts, {admitted} admitted in {elapsed:.2} s; \
             limit {limit:.0}; over-admission ratio {ratio:.3}"
        );
        assert!(attempts as f64 > 2.0 * limit, "the load ({attempts}) did not exceed the limit");
        assert!(
            admitted as f64 <= limit + REPLICAS as f64,
            "admitted {admitted} > limit {limit:.0} + {REPLICAS}"
        );
        cleanup(&mut conn, &pfx).await;

        // The same load on 4 in-process limiters: each admits the whole plan.
        let locals: Vec<Arc<dyn RateLimitBackend>> = (0..REPLICAS)
            .map(|_| Arc::new(RateLimiter::from_plans(plans.clone(), &cfg).unwrap()) as _)
            .collect();
        let start = Instant::now();
        let (attempts, admitted) = run_fleet(locals, plan).await;
        let elapsed = start.elapsed().as_secs_f64();
        let limit = BURST as f64 + RATE as f64 * elapsed;
        let ratio = admitted as f64 / limit;
        println!(
            "fleet in-process: {REPLICAS} replicas, {attempts} attempts, {admitted} admitted in {elapsed:.2} s; \
             limit {limit:.0}; over-admission ratio {ratio:.3}"
        );
        assert!(ratio > 2.5, "in-process over-admission {ratio:.2} (expected ~{REPLICAS}x)");
    });
}
