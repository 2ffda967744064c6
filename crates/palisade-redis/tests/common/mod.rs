#![cfg(test)]
//! Shared fixture: connect from `PALISADE_TEST_REDIS_URL` (or skip with one
//! line; fail under `PALISADE_REQUIRE_SERVICES=1`), a unique key prefix per
//! test, and clean-up of that prefix.

use palisade::tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use palisade::{Plan, Rate, RateLimitConfig};
use palisade_redis::{ClockSource, FailurePolicy, RedisLimitConfig, RedisLimiter};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub(crate) const T0: i64 = 1_800_000_000_000;

pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

/// The Redis URL, or `None` after printing the skip line.
pub(crate) fn redis_url(test: &str) -> Option<String> {
    match std::env::var("PALISADE_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("PALISADE_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: PALISADE_REQUIRE_SERVICES=1 but PALISADE_TEST_REDIS_URL is unset"
            );
            println!(
                "skipped: {test} needs Redis; set PALISADE_TEST_REDIS_URL=redis://127.0.0.1:6379/ to run"
            );
            None
        }
    }
}

pub(crate) async fn connect(url: &str) -> ConnectionManager {
    let client = redis::Client::open(url).unwrap();
    let cfg = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_max_delay(std::time::Duration::from_millis(200))
        .set_connection_timeout(Some(std::time::Duration::from_millis(500)));
    ConnectionManager::new_with_config(client, cfg)
        .await
        .unwrap()
}

/// A key prefix no other test run uses.
pub(crate) fn prefix() -> String {
    format!("palisade-test:{}", uuid::Uuid::new_v4().simple())
}

/// Delete every key under `prefix`; returns how many there were.
pub(crate) async fn cleanup(conn: &mut ConnectionManager, prefix: &str) -> usize {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(conn)
            .await
            .unwrap();
    }
    keys.len()
}

pub(crate) fn config(prefix: &str, clock: ClockSource, policy: FailurePolicy) -> RedisLimitConfig {
    let mut c = RedisLimitConfig::default();
    c.key_prefix = prefix.to_owned();
    c.clock = clock;
    c.failure_policy = policy;
    c
}

pub(crate) fn limiter(conn: ConnectionManager, cfg: RedisLimitConfig) -> RedisLimiter {
    RedisLimiter::new(conn, cfg, &RateLimitConfig::default()).unwrap()
}

/// A plan: `key`, `project`, `tenant` as (interval µs, burst).
pub(crate) fn plan(key: (u64, u32), project: (u64, u32), tenant: (u64, u32)) -> Plan {
    Plan::new(
        "test",
        Rate::new(key.0, key.1),
        Rate::new(project.0, project.1),
        Rate::new(tenant.0, tenant.1),
    )
}

pub(crate) fn key(i: usize) -> Principal {
    Principal::api_key(&format!("k{i}")).unwrap()
}

pub(crate) struct Tenant {
    pub(crate) id: TenantId,
    pub(crate) projects: Vec<ProjectId>,
}

impl Tenant {
    pub(crate) fn new(projects: usize) -> Self {
        Self {
            id: TenantId::new_v7(),
            projects: (0..projects).map(|_| ProjectId::new_v7()).collect(),
        }
    }

    pub(crate) fn scope(&self, project: Option<usize>) -> Scope {
        match project.and_then(|p| self.projects.get(p)) {
            Some(p) => Scope::project(self.id, *p),
            None => Scope::tenant(self.id),
        }
    }
}
