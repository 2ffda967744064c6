//! Two Palisade instances (two "replicas") sharing one tenant's rate limit
//! through Redis.
//!
//! ```text
//! PALISADE_REDIS_URL=redis://127.0.0.1:6379/ cargo run --example fleet_limits
//! ```
//!
//! Each instance has its own Redis connection; the tenant's plan allows a
//! burst of 10. Through Redis the two together admit 10; with the in-process
//! limiter (no `PALISADE_REDIS_URL`) each admits 10, so the tenant gets 20.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "an example"
)]

use std::sync::Arc;

use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{
    Credential, Palisade, PalisadeConfig, PlanConfig, RateConfig, RateLimitBackend, Request,
};
use palisade_redis::{RedisLimitConfig, RedisLimiter};

fn config() -> PalisadeConfig {
    let mut cfg = PalisadeConfig::default();
    // Per user 100/s, per tenant 10/s (burst 10): the tenant limit decides.
    cfg.rate_limits.plans.insert(
        "free".into(),
        PlanConfig::new(
            RateConfig::per_second(100),
            RateConfig::per_second(100),
            RateConfig::per_second(10),
        ),
    );
    cfg
}

fn policy(tenant: TenantId) -> String {
    format!(
        "version = 1\npermissions = [\"inbox:read\"]\n[[roles]]\nname = \"reader\"\n\
         permissions = [\"inbox:read\"]\n[[bindings]]\nprincipal = \"user:ada@example.com\"\n\
         role = \"reader\"\nscope = \"{tenant}\"\n"
    )
}

async fn instance(tenant: TenantId, backend: Option<Arc<dyn RateLimitBackend>>) -> Palisade {
    let mut b = Palisade::builder(config()).policy_toml(&policy(tenant));
    if let Some(backend) = backend {
        b = b.rate_limit_backend(backend);
    }
    b.build().expect("a valid configuration")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tenant = TenantId::new_v7();
    let url = std::env::var("PALISADE_REDIS_URL").ok();
    let (a, b, prefix) = match &url {
        Some(url) => {
            let mut rcfg = RedisLimitConfig::default();
            // One prefix per run, so the demo starts from a full budget.
            rcfg.key_prefix = format!("palisade-example:{}", uuid::Uuid::new_v4().simple());
            let mut replicas = Vec::new();
            for _ in 0..2 {
                let conn =
                    redis::aio::ConnectionManager::new(redis::Client::open(url.as_str())?).await?;
                let rl = RedisLimiter::new(conn, rcfg.clone(), &config().rate_limits)?;
                replicas.push(instance(tenant, Some(Arc::new(rl))).await);
            }
            let b = replicas.pop().expect("two");
            let a = replicas.pop().expect("two");
            println!("two instances sharing the tenant's budget through Redis at {url}");
            (a, b, Some(rcfg.key_prefix))
        }
        None => {
            println!(
                "PALISADE_REDIS_URL is not set: both instances use the in-process limiter.\n\
                 To share the budget, run Redis and set it, e.g.\n  \
                 PALISADE_REDIS_URL=redis://127.0.0.1:6379/ cargo run --example fleet_limits"
            );
            (
                instance(tenant, None).await,
                instance(tenant, None).await,
                None,
            )
        }
    };
    let ada = Principal::user("ada@example.com")?;
    let now = Timestamp::now();
    let mut admitted = [0u32; 2];
    for i in 0..40 {
        let p = if i % 2 == 0 { &a } else { &b };
        let cred = Credential::Authenticated {
            principal: &ada,
            scope: Scope::tenant(tenant),
        };
        let req = Request::new(cred, "inbox:read", "inbox", "conv-1", now);
        if p.authorize_async(&req).await.is_ok() {
            admitted[i % 2] += 1;
        }
    }
    println!(
        "40 requests at once, alternating: instance A admitted {}, instance B {} \
         (total {}; the tenant's burst is 10)",
        admitted[0],
        admitted[1],
        admitted[0] + admitted[1]
    );
    if let (Some(url), Some(prefix)) = (url, prefix) {
        let mut conn = redis::Client::open(url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
    }
    Ok(())
}
