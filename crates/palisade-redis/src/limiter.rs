//! [`RedisLimiter`]: the [`RateLimitBackend`] that decides in Redis.

use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use palisade::{
    AddressBlock, BackendEvent, BoxFuture, BudgetConfig, FailureCheck, FailureVerdict, LimitLevel,
    LimitRequest, RateLimitBackend, RateLimitConfig, RateLimited, RateLimiter, RateRefusal,
    RateStatus, Suppression,
};
use palisade_tenancy::Timestamp;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::config::{ClockSource, FailurePolicy, RedisLimitConfig};
use crate::error::{RedisLimitError, Result};
use crate::local::{DenyCache, Fallback, Local};

const LIMIT_LUA: &str = crate::LIMIT_SCRIPT;
const BUDGET_LUA: &str = crate::BUDGET_SCRIPT;
/// Blocks with an open suppression window this instance remembers for
/// [`RateLimitBackend::drain_suppressions_async`].
const OPEN_WINDOWS: usize = 4_096;

type Outcome = core::result::Result<RateStatus, RateRefusal>;

fn micros(t: Timestamp) -> u64 {
    u64::try_from(t.unix_millis())
        .unwrap_or(0)
        .saturating_mul(1_000)
}

/// Rate limits and the refused-credential budget decided in Redis, shared
/// by every replica that uses the same Redis and key prefix.
///
/// One request is one `EVALSHA` of an atomic GCRA script over the key,
/// project and tenant limits (all or nothing). Keys of one tenant share a
/// hash tag (one Redis Cluster slot); every key has a TTL. Takes the
/// caller's [`ConnectionManager`] (no hidden connections) and spawns
/// nothing. Needs a Tokio runtime with timers (the timeout).
pub struct RedisLimiter {
    conn: ConnectionManager,
    cfg: RedisLimitConfig,
    budget: BudgetConfig,
    limit_script: Script,
    budget_script: Script,
    timeout: Duration,
    degraded: AtomicBool,
    last_probe_ms: AtomicI64,
    fallback_decisions: AtomicU64,
    events: Mutex<Vec<BackendEvent>>,
    events_pending: AtomicBool,
    deny: DenyCache,
    fallback: Fallback,
    fallback_budget: RateLimiter,
    open_windows: Mutex<BTreeSet<AddressBlock>>,
}

impl core::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("key_prefix", &self.cfg.key_prefix)
            .field("failure_policy", &self.cfg.failure_policy)
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// A limiter on `conn` with `cfg`; the refused-credential budget comes
    /// from `limits` (the facade's `rate_limits`; plans come with each request).
    ///
    /// # Errors
    /// [`RedisLimitError::Config`] for zero replicas or timeout, or an
    /// invalid budget in `limits`.
    pub fn new(
        conn: ConnectionManager,
        cfg: RedisLimitConfig,
        limits: &RateLimitConfig,
    ) -> Result<Self> {
        let bad = |field, reason: &str| RedisLimitError::Config {
            field,
            reason: reason.into(),
        };
        if cfg.replicas == 0 {
            return Err(bad("replicas", "must be at least 1"));
        }
        if cfg.timeout_ms == 0 {
            return Err(bad("timeout_ms", "must be at least 1"));
        }
        let budget =
            BudgetConfig::from_config(limits).map_err(|e| bad("rate_limits", &e.to_string()))?;
        // The fallback budget: this replica's share of the address budget.
        let mut shared = limits.clone();
        let per = &mut shared.failed_auth_per_ip;
        per.per_seconds = per.per_seconds.saturating_mul(cfg.replicas);
        per.burst = Some((per.burst.unwrap_or(per.requests) / cfg.replicas).max(1));
        let fallback_budget =
            RateLimiter::new(&shared, []).map_err(|e| bad("rate_limits", &e.to_string()))?;
        Ok(Self {
            conn,
            timeout: Duration::from_millis(cfg.timeout_ms),
            deny: DenyCache::new(cfg.deny_cache_entries),
            fallback: Fallback::new(cfg.fallback_entries),
            cfg,
            budget,
            limit_script: Script::new(LIMIT_LUA),
            budget_script: Script::new(BUDGET_LUA),
            degraded: AtomicBool::new(false),
            last_probe_ms: AtomicI64::new(i64::MIN),
            fallback_decisions: AtomicU64::new(0),
            events: Mutex::new(Vec::new()),
            events_pending: AtomicBool::new(false),
            fallback_budget,
            open_windows: Mutex::new(BTreeSet::new()),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &RedisLimitConfig {
        &self.cfg
    }

    /// Whether decisions currently follow the failure policy (Redis failing).
    #[must_use]
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    /// The Redis keys of a request's limits (one hash tag: the tenant).
    fn keys(&self, req: &LimitRequest<'_>) -> Vec<(String, LimitLevel)> {
        let p = &self.cfg.key_prefix;
        let t = req.scope.tenant_id();
        let mut keys = Vec::with_capacity(3);
        keys.push((format!("{p}:{{{t}}}:k:{}", req.principal), LimitLevel::Key));
        if let Some(project) = req.scope.project_id() {
            keys.push((format!("{p}:{{{t}}}:p:{project}"), LimitLevel::Project));
        }
        keys.push((format!("{p}:{{{t}}}:t"), LimitLevel::Tenant));
        keys
    }

    fn clock_arg(&self, now: Timestamp) -> String {
        match self.cfg.clock {
            ClockSource::Redis => String::new(),
            ClockSource::Caller => micros(now).to_string(),
        }
    }

    fn push_event(&self, e: BackendEvent) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(e);
        self.events_pending.store(true, Ordering::Release);
    }

    fn failed(&self, err: &RedisLimitError, now: Timestamp) {
        self.last_probe_ms
            .store(now.unix_millis(), Ordering::Release);
        if !self.degraded.swap(true, Ordering::AcqRel) {
            self.fallback_decisions.store(0, Ordering::Release);
            self.push_event(BackendEvent::FallbackStarted {
                backend: "redis",
                policy: self.cfg.failure_policy.as_str(),
                reason: err.to_string(),
                at: now,
            });
        }
    }

    fn recovered(&self, now: Timestamp) {
        if self.degraded.swap(false, Ordering::AcqRel) {
            self.push_event(BackendEvent::FallbackEnded {
                backend: "redis",
                decisions: self.fallback_decisions.swap(0, Ordering::AcqRel),
                at: now,
            });
        }
    }

    fn probe_peek(&self, now: Timestamp) -> bool {
        let last = self.last_probe_ms.load(Ordering::Acquire);
        now.unix_millis().saturating_sub(last)
            >= i64::try_from(self.cfg.probe_interval_ms).unwrap_or(i64::MAX)
    }

    /// While degraded, whether this request should try Redis again (one
    /// request per probe interval claims the probe).
    fn probe_claim(&self, now: Timestamp) -> bool {
        let last = self.last_probe_ms.load(Ordering::Acquire);
        self.probe_peek(now)
            && self
                .last_probe_ms
                .compare_exchange(last, now.unix_millis(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    fn denied(&self, req: &LimitRequest<'_>, keys: &[(String, LimitLevel)]) -> Option<Outcome> {
        let now = micros(req.now);
        let (level, wait) = self
            .deny
            .lookup(keys.iter().map(|(k, l)| (k.as_str(), *l)), now)?;
        Some(Err(RateRefusal::Limited(RateLimited::new(
            level,
            Duration::from_micros(wait),
            Arc::clone(req.plan.policy()),
        ))))
    }

    /// The failure policy's decision.
    fn degraded_decision(&self, req: &LimitRequest<'_>, keys: &[(String, LimitLevel)]) -> Outcome {
        self.fallback_decisions.fetch_add(1, Ordering::AcqRel);
        if self.cfg.failure_policy == FailurePolicy::FailClosed {
            return Err(RateRefusal::Unavailable {
                backend: "redis",
                reason: "redis is failing and the policy is fail_closed".into(),
            });
        }
        let share = req.plan.divided(self.cfg.replicas);
        let limits: Vec<(&str, LimitLevel, palisade::Rate)> = keys
            .iter()
            .map(|(k, l)| (k.as_str(), *l, share.rate(*l)))
            .collect();
        let policy = Arc::clone(req.plan.policy());
        match self.fallback.check(&limits, micros(req.now)) {
            Local::Allowed {
                level,
                remaining,
                reset,
            } => Ok(RateStatus::new(
                level,
                remaining,
                Duration::from_micros(reset),
                policy,
            )),
            Local::Refused { level, retry } => Err(RateRefusal::Limited(RateLimited::new(
                level,
                Duration::from_micros(retry),
                policy,
            ))),
            Local::Full => Err(RateRefusal::Unavailable {
                backend: "redis",
                reason: "the local fallback limiter is full".into(),
            }),
        }
    }

    async fn eval_limits(
        &self,
        req: &LimitRequest<'_>,
        keys: &[(String, LimitLevel)],
    ) -> Result<[i64; 5]> {
        let mut inv = self.limit_script.prepare_invoke();
        for (k, _) in keys {
            inv.key(k);
        }
        inv.arg(self.clock_arg(req.now)).arg(self.cfg.ttl_slack_ms);
        for (_, level) in keys {
            let r = req.plan.rate(*level);
            inv.arg(r.interval_micros()).arg(r.tolerance_micros());
        }
        let mut conn = self.conn.clone();
        let reply: Vec<i64> = tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| RedisLimitError::Timeout(self.cfg.timeout_ms))?
            .map_err(|e| RedisLimitError::Unavailable(e.to_string()))?;
        <[i64; 5]>::try_from(reply)
            .map_err(|r| RedisLimitError::Corrupt(format!("{} values", r.len())))
    }

    async fn check_remote(&self, req: LimitRequest<'_>) -> Outcome {
        let keys = self.keys(&req);
        if let Some(hit) = self.denied(&req, &keys) {
            return hit;
        }
        if self.is_degraded() && !self.probe_claim(req.now) {
            return self.degraded_decision(&req, &keys);
        }
        let reply = match self.eval_limits(&req, &keys).await {
            Ok(r) => r,
            Err(e) => {
                self.failed(&e, req.now);
                return self.degraded_decision(&req, &keys);
            }
        };
        let [ok, level_ix, value, reset, _now] = reply;
        let Some((key, level)) = usize::try_from(level_ix - 1).ok().and_then(|i| keys.get(i))
        else {
            let e = RedisLimitError::Corrupt(format!("level {level_ix}"));
            self.failed(&e, req.now);
            return self.degraded_decision(&req, &keys);
        };
        self.recovered(req.now);
        let value = u64::try_from(value).unwrap_or(0);
        let policy = Arc::clone(req.plan.policy());
        if ok == 1 {
            let reset = Duration::from_micros(u64::try_from(reset).unwrap_or(0));
            let remaining = u32::try_from(value).unwrap_or(u32::MAX);
            Ok(RateStatus::new(*level, remaining, reset, policy))
        } else {
            let now = micros(req.now);
            self.deny.deny(key, now.saturating_add(value), now);
            Err(RateRefusal::Limited(RateLimited::new(
                *level,
                Duration::from_micros(value),
                policy,
            )))
        }
    }

    fn budget_key(&self, block: &AddressBlock) -> String {
        format!("{}:{{addr:{block}}}:b", self.cfg.key_prefix)
    }

    async fn eval_budget(
        &self,
        block: &AddressBlock,
        now: Timestamp,
        mode: &str,
    ) -> Result<[i64; 6]> {
        let rate = self.budget.rate;
        let mut inv = self.budget_script.prepare_invoke();
        inv.key(self.budget_key(block))
            .arg(self.clock_arg(now))
            .arg(rate.interval_micros())
            .arg(rate.tolerance_micros())
            .arg(self.budget.window_micros)
            .arg(now.unix_millis())
            .arg(mode)
            .arg(self.cfg.ttl_slack_ms);
        let mut conn = self.conn.clone();
        let reply: Vec<i64> = tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| RedisLimitError::Timeout(self.cfg.timeout_ms))?
            .map_err(|e| RedisLimitError::Unavailable(e.to_string()))?;
        <[i64; 6]>::try_from(reply)
            .map_err(|r| RedisLimitError::Corrupt(format!("{} values", r.len())))
    }

    fn ended(block: AddressBlock, count: i64, first: i64, last: i64) -> Option<Suppression> {
        (count > 0).then(|| Suppression {
            block,
            count: u64::try_from(count).unwrap_or(0),
            first: Timestamp::from_unix_millis(first),
            last: Timestamp::from_unix_millis(last),
        })
    }

    async fn check_failure_remote(&self, ip: IpAddr, now: Timestamp) -> FailureCheck {
        let block = AddressBlock::of(ip, self.budget.ipv6_prefix);
        if self.is_degraded() && !self.probe_claim(now) {
            // The budget always falls back locally (this replica's share):
            // refusing a refusal gains nothing, and auditing every one of a
            // flood while Redis is down would fill the log.
            return self.fallback_budget.check_failure(ip, now);
        }
        let reply = match self.eval_budget(&block, now, "check").await {
            Ok(r) => r,
            Err(e) => {
                self.failed(&e, now);
                return self.fallback_budget.check_failure(ip, now);
            }
        };
        self.recovered(now);
        let [verdict, retry, count, first, last, _] = reply;
        let limited = || {
            RateLimited::new(
                LimitLevel::Address,
                Duration::from_micros(u64::try_from(retry).unwrap_or(0)),
                Arc::clone(&self.budget.policy),
            )
        };
        let verdict = match verdict {
            0 => FailureVerdict::Record,
            1 => FailureVerdict::SuppressStart(limited()),
            _ => FailureVerdict::Suppressed(limited()),
        };
        if !matches!(verdict, FailureVerdict::Record) {
            let mut open = self
                .open_windows
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if open.len() < OPEN_WINDOWS {
                open.insert(block);
            }
        }
        FailureCheck {
            block,
            verdict,
            ended: Self::ended(block, count, first, last),
        }
    }

    async fn drain_remote(&self, now: Timestamp) -> Vec<Suppression> {
        let blocks: Vec<AddressBlock> = self
            .open_windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        let mut out = self.fallback_budget.drain_suppressions(now);
        for block in blocks {
            match self.eval_budget(&block, now, "drain").await {
                Ok([_, _, count, first, last, _]) => {
                    out.extend(Self::ended(block, count, first, last));
                    self.open_windows
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&block);
                }
                // Kept for the next drain (its key outlives a window).
                Err(e) => self.failed(&e, now),
            }
        }
        out
    }
}

impl RateLimitBackend for RedisLimiter {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn try_check(&self, req: &LimitRequest<'_>) -> Outcome {
        let keys = self.keys(req);
        if let Some(hit) = self.denied(req, &keys) {
            return hit;
        }
        if self.is_degraded() && !self.probe_peek(req.now) {
            return self.degraded_decision(req, &keys);
        }
        Err(RateRefusal::WouldBlock)
    }

    fn check<'a>(&'a self, req: LimitRequest<'a>) -> BoxFuture<'a, Outcome> {
        Box::pin(self.check_remote(req))
    }

    fn try_check_failure(
        &self,
        ip: IpAddr,
        now: Timestamp,
    ) -> core::result::Result<FailureCheck, RateRefusal> {
        if self.is_degraded() && !self.probe_peek(now) {
            return Ok(self.fallback_budget.check_failure(ip, now));
        }
        Err(RateRefusal::WouldBlock)
    }

    fn check_failure<'a>(
        &'a self,
        ip: IpAddr,
        now: Timestamp,
    ) -> BoxFuture<'a, core::result::Result<FailureCheck, RateRefusal>> {
        Box::pin(async move { Ok(self.check_failure_remote(ip, now).await) })
    }

    fn drain_suppressions(&self, now: Timestamp) -> Vec<Suppression> {
        self.fallback_budget.drain_suppressions(now)
    }

    fn drain_suppressions_async<'a>(&'a self, now: Timestamp) -> BoxFuture<'a, Vec<Suppression>> {
        Box::pin(self.drain_remote(now))
    }

    fn take_events(&self) -> Vec<BackendEvent> {
        if !self.events_pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        core::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn sweep(&self) {
        RateLimitBackend::sweep(&self.fallback_budget);
    }
}
