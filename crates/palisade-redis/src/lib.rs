//! Palisade rate limits decided in Redis, so they hold across every replica.
//!
//! The in-process limiter of `palisade` counts per process: behind a load
//! balancer with N replicas a tenant gets N times its plan. [`RedisLimiter`]
//! implements `palisade`'s [`RateLimitBackend`](palisade::RateLimitBackend)
//! on Redis: one `EVALSHA` per request runs an atomic GCRA script
//! (`src/scripts/limit.lua`, integer microseconds) over the key, project and
//! tenant limits, all or nothing; keys of one tenant share a hash tag so the
//! call stays on one Redis Cluster slot; every key has a TTL. The
//! refused-credential budget per address block lives in Redis too
//! (`src/scripts/budget.lua`), so a flood spread over replicas is one budget.
//!
//! When Redis is down or slower than `timeout_ms` (default 50 ms), the
//! [`FailurePolicy`] decides: `fail_closed` (503) or `fallback_local` (this
//! process, with every limit divided by `replicas`). Each switch to and
//! from the failure policy is reported once as a
//! [`BackendEvent`](palisade::BackendEvent) (`take_events`), for one audit
//! record each. A local deny cache answers keys already over their limit
//! until their retry time without a round trip.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use palisade_redis::{RedisLimitConfig, RedisLimiter};
//!
//! let client = redis::Client::open("redis://127.0.0.1:6379/")?;
//! let conn = redis::aio::ConnectionManager::new(client).await?;
//! let limits = palisade::RateLimitConfig::default();
//! let backend = RedisLimiter::new(conn, RedisLimitConfig::default(), &limits)?;
//! // palisade::Palisade::builder(cfg).rate_limit_backend(Arc::new(backend))…
//! # let _ = Arc::new(backend); Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod limiter;
mod local;

pub use config::{ClockSource, FailurePolicy, RedisLimitConfig};
pub use error::{RedisLimitError, Result};
pub use limiter::RedisLimiter;

/// The GCRA script over key, project and tenant limits (its model in its header).
pub const LIMIT_SCRIPT: &str = include_str!("scripts/limit.lua");
/// The refused-credential budget script (its model in its header).
pub const BUDGET_SCRIPT: &str = include_str!("scripts/budget.lua");
