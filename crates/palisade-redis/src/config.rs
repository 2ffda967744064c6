//! Configuration of the Redis backend (serde; every field has a default).

use serde::{Deserialize, Serialize};

/// Whose clock the scripts use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockSource {
    /// Redis `TIME` (the production default): one clock per shard, so
    /// replicas with skewed clocks cannot refill each other's buckets.
    #[default]
    Redis,
    /// The request's `now` (tests, reproducible replays). Replicas' clocks
    /// must then agree: a replica running ahead spends future cells.
    Caller,
}

/// What to decide when Redis does not answer within the timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Refuse every request that Redis should have decided (HTTP 503).
    #[default]
    FailClosed,
    /// Decide in this process with every limit divided by `replicas`, so
    /// the fleet together stays within the plan.
    FallbackLocal,
}

impl FailurePolicy {
    /// The configuration spelling.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::FailClosed => "fail_closed",
            Self::FallbackLocal => "fallback_local",
        }
    }
}

/// `[rate_limits.redis]`-style settings of [`RedisLimiter`](crate::RedisLimiter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RedisLimitConfig {
    /// Prefix of every key (one per deployment; tests use one per run).
    pub key_prefix: String,
    /// Whose clock decides.
    pub clock: ClockSource,
    /// What to do when Redis is down or slow.
    pub failure_policy: FailurePolicy,
    /// How many replicas share the limits (divides them under `fallback_local`).
    pub replicas: u32,
    /// How long one script call may take before the failure policy applies (ms).
    pub timeout_ms: u64,
    /// While Redis is failing, try it again at most this often (ms of
    /// request time); other requests follow the failure policy at once.
    pub probe_interval_ms: u64,
    /// Keys remembered as over their limit until their retry time, answered
    /// without a round trip (0 disables the cache).
    pub deny_cache_entries: usize,
    /// Entries of the local fallback limiter (bounded like the deny cache).
    pub fallback_entries: usize,
    /// Added to every key's TTL (ms): keys expire on Redis's clock, so with
    /// the caller's clock a caller running behind Redis must not see its
    /// state expire early.
    pub ttl_slack_ms: u64,
}

impl Default for RedisLimitConfig {
    fn default() -> Self {
        Self {
            key_prefix: "palisade:rl".into(),
            clock: ClockSource::Redis,
            failure_policy: FailurePolicy::FailClosed,
            replicas: 1,
            timeout_ms: 50,
            probe_interval_ms: 1_000,
            deny_cache_entries: 10_000,
            fallback_entries: 100_000,
            ttl_slack_ms: 1_000,
        }
    }
}
