//! Rate limits per principal, per project and per tenant at once (GCRA, via
//! `governor`), by plan tier, with idle state evicted so memory stays bounded.
//!
//! Order of checks: key, then project, then tenant. A request refused at the
//! key level costs its project and tenant nothing, so one runaway key does not
//! eat its tenant's budget; a request refused at the tenant level has spent one
//! cell of its key's budget (governor has no "peek then commit", and checking
//! the broad limit first would let one key drain it). The per-tenant limit is
//! keyed by tenant id alone, so issuing more keys never raises a tenant's
//! throughput.
//!
//! This is the embedded [`RateLimitBackend`]: it decides on the sync fast
//! path, per process. With N replicas behind a load balancer a tenant gets N
//! times its plan; `palisade-redis` decides the same limits for a fleet.

use core::sync::atomic::{AtomicU64, Ordering};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::keyed::DashMapStateStore;
use governor::{NotUntil, Quota};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};

use crate::clock::{Instant, RequestClock};
use crate::config::RateLimitConfig;
use crate::error::Result;
use crate::ratelimit_backend::{LimitRequest, Plans, RateLimitBackend, RateRefusal};
use crate::ratelimit_budget::{AddressBudget, BudgetConfig, FailureCheck, Suppression};

type Keyed<K> =
    governor::RateLimiter<K, DashMapStateStore<K>, RequestClock, StateInformationMiddleware>;

fn keyed<K: core::hash::Hash + Eq + Clone>(quota: Quota, clock: &RequestClock) -> Keyed<K> {
    governor::RateLimiter::dashmap_with_clock(quota, clock.clone())
        .with_middleware::<StateInformationMiddleware>()
}

/// Which of the three limits decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitLevel {
    /// The principal's own limit.
    Key,
    /// The project's limit.
    Project,
    /// The tenant's limit (all its keys and projects together).
    Tenant,
    /// Refused credentials per client address.
    Address,
}

impl LimitLevel {
    /// The policy name used in the `RateLimit` headers.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Project => "project",
            Self::Tenant => "tenant",
            Self::Address => "address",
        }
    }
}

struct PlanLimiters {
    by_key: Keyed<Principal>,
    by_project: Keyed<(TenantId, ProjectId)>,
    by_tenant: Keyed<TenantId>,
    name: Arc<str>,
    policy: Arc<str>,
}

/// The in-process limiter (the embedded [`RateLimitBackend`]). Cheap to
/// share by reference; all methods take `&self`.
pub struct RateLimiter {
    clock: RequestClock,
    plans: Vec<PlanLimiters>,
    resolved: Plans,
    sweep_every: u64,
    checks: AtomicU64,
    failures: AddressBudget,
}

impl core::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("plans", &self.plans.len())
            .field("tracked", &self.tracked())
            .finish()
    }
}

/// The outcome of an allowed request: the tightest of the limits it passed,
/// for the `RateLimit` / `RateLimit-Policy` response headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateStatus {
    /// The limit with the fewest requests left.
    pub level: LimitLevel,
    /// Requests that may still be made at once under it.
    pub remaining: u32,
    /// Time until that limit is fully replenished.
    pub reset: Duration,
    policy: Arc<str>,
}

impl RateStatus {
    /// The `RateLimit` header value (draft-ietf-httpapi-ratelimit-headers):
    /// `"tenant";r=41;t=2`.
    #[must_use]
    pub fn header_value(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.level.as_str(),
            self.remaining,
            ceil_secs(self.reset)
        )
    }

    /// The `RateLimit-Policy` header value: every limit of the plan, as
    /// `"key";q=20;w=2, "project";q=…;w=…, "tenant";q=…;w=…` (`q` the
    /// burst, `w` the seconds to replenish it).
    #[must_use]
    pub fn policy_value(&self) -> &str {
        &self.policy
    }
}

/// A refused request: which limit, and when to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimited {
    /// The limit that refused.
    pub level: LimitLevel,
    /// How long until one request would be allowed.
    pub retry_after: Duration,
    policy: Arc<str>,
}

impl RateLimited {
    /// Whole seconds for `Retry-After` (rounded up, at least 1).
    #[must_use]
    pub fn retry_after_secs(&self) -> u64 {
        ceil_secs(self.retry_after).max(1)
    }

    /// The `RateLimit` header value: `"tenant";r=0;t=3`.
    #[must_use]
    pub fn header_value(&self) -> String {
        format!(
            "\"{}\";r=0;t={}",
            self.level.as_str(),
            self.retry_after_secs()
        )
    }

    /// The `RateLimit-Policy` header value (see [`RateStatus::policy_value`]).
    #[must_use]
    pub fn policy_value(&self) -> &str {
        &self.policy
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

pub(crate) const fn ceil_secs_micros(us: u64) -> u64 {
    us / 1_000_000 + !us.is_multiple_of(1_000_000) as u64
}

impl RateStatus {
    /// An allowed request's status (for [`RateLimitBackend`] implementations).
    #[must_use]
    pub fn new(level: LimitLevel, remaining: u32, reset: Duration, policy: Arc<str>) -> Self {
        Self {
            level,
            remaining,
            reset,
            policy,
        }
    }
}

impl RateLimited {
    /// A refusal (for [`RateLimitBackend`] implementations).
    #[must_use]
    pub fn new(level: LimitLevel, retry_after: Duration, policy: Arc<str>) -> Self {
        Self {
            level,
            retry_after,
            policy,
        }
    }
}

fn status(level: LimitLevel, snap: &StateSnapshot, policy: &Arc<str>) -> RateStatus {
    let q = snap.quota();
    let remaining = snap.remaining_burst_capacity();
    let used = q.burst_size().get().saturating_sub(remaining);
    RateStatus {
        level,
        remaining,
        reset: q.replenish_interval().saturating_mul(used),
        policy: Arc::clone(policy),
    }
}

impl RateLimiter {
    /// Build the limiters for every plan in `cfg`; `tenant_plans` maps
    /// tenants to plan names (others get the default plan).
    ///
    /// # Errors
    /// [`PalisadeError::Config`](crate::PalisadeError::Config) for an unknown
    /// plan name or a zero rate.
    pub fn new<'a>(
        cfg: &RateLimitConfig,
        tenant_plans: impl IntoIterator<Item = (TenantId, &'a str)>,
    ) -> Result<Self> {
        Self::from_plans(Plans::from_config(cfg, tenant_plans)?, cfg)
    }

    /// Build the limiters for `plans`; the refused-credential budget and the
    /// sweep interval come from `cfg`.
    ///
    /// # Errors
    /// [`PalisadeError::Config`](crate::PalisadeError::Config) for an invalid
    /// refused-credential budget.
    pub fn from_plans(plans: Plans, cfg: &RateLimitConfig) -> Result<Self> {
        let clock = RequestClock::default();
        let limiters = plans
            .iter()
            .map(|p| PlanLimiters {
                by_key: keyed(p.rate(LimitLevel::Key).quota(), &clock),
                by_project: keyed(p.rate(LimitLevel::Project).quota(), &clock),
                by_tenant: keyed(p.rate(LimitLevel::Tenant).quota(), &clock),
                name: p.name().into(),
                policy: Arc::clone(p.policy()),
            })
            .collect();
        Ok(Self {
            failures: AddressBudget::new(BudgetConfig::from_config(cfg)?),
            clock,
            plans: limiters,
            resolved: plans,
            sweep_every: u64::from(cfg.sweep_every.max(1)),
            checks: AtomicU64::new(0),
        })
    }

    /// The plans this limiter applies (the facade resolves requests' plans here).
    #[must_use]
    pub fn plans(&self) -> &Plans {
        &self.resolved
    }

    /// Spend one request of `principal` in `scope` at `now` against the key,
    /// project (when `scope` names one) and tenant limits of the tenant's plan.
    ///
    /// # Errors
    /// [`RateLimited`] naming the first limit that refused.
    pub fn check(
        &self,
        principal: &Principal,
        scope: &Scope,
        now: Timestamp,
    ) -> core::result::Result<RateStatus, RateLimited> {
        let ix = self.resolved.index_for_tenant(scope.tenant_id());
        self.check_in(ix, principal, scope, now)
    }

    fn check_in(
        &self,
        plan_ix: usize,
        principal: &Principal,
        scope: &Scope,
        now: Timestamp,
    ) -> core::result::Result<RateStatus, RateLimited> {
        let Some(plan) = self.plans.get(plan_ix) else {
            // Unreachable by construction (indices come from `plans`); deny rather than panic.
            return Err(RateLimited {
                level: LimitLevel::Tenant,
                retry_after: Duration::from_secs(1),
                policy: Arc::from(""),
            });
        };
        let at = self.clock.observe(now);
        let refused = |level, nu: NotUntil<Instant>| RateLimited {
            level,
            retry_after: nu.wait_time_from(at),
            policy: Arc::clone(&plan.policy),
        };
        let mut tightest = status(
            LimitLevel::Key,
            &plan
                .by_key
                .check_key(principal)
                .map_err(|nu| refused(LimitLevel::Key, nu))?,
            &plan.policy,
        );
        if let Some(project) = scope.project_id() {
            let s = plan
                .by_project
                .check_key(&(scope.tenant_id(), project))
                .map_err(|nu| refused(LimitLevel::Project, nu))?;
            tightest = tighter(tightest, status(LimitLevel::Project, &s, &plan.policy));
        }
        let s = plan
            .by_tenant
            .check_key(&scope.tenant_id())
            .map_err(|nu| refused(LimitLevel::Tenant, nu))?;
        tightest = tighter(tightest, status(LimitLevel::Tenant, &s, &plan.policy));
        if self.checks.fetch_add(1, Ordering::Relaxed) % self.sweep_every == self.sweep_every - 1 {
            self.sweep();
        }
        Ok(tightest)
    }

    /// Count one refused credential from `ip` at `now` against its address
    /// block's budget (IPv4 address, IPv6 prefix): whether to audit it,
    /// answer 429, and which suppression window it closed (see
    /// [`FailureVerdict`](crate::FailureVerdict)).
    #[must_use]
    pub fn check_failure(&self, ip: IpAddr, now: Timestamp) -> FailureCheck {
        let at = self
            .clock
            .observe(now)
            .duration_since(Instant::ZERO)
            .as_u64()
            / 1_000;
        self.failures.check(ip, at, now)
    }

    /// Close and return the suppression windows of floods that stopped (no
    /// refusal for a whole window), each for one aggregated audit record.
    #[must_use]
    pub fn drain_suppressions(&self, now: Timestamp) -> Vec<Suppression> {
        let at = self
            .clock
            .observe(now)
            .duration_since(Instant::ZERO)
            .as_u64()
            / 1_000;
        self.failures.drain(at)
    }

    /// Address blocks holding refused-credential state (bounded by
    /// `rate_limits.max_tracked_addresses`).
    #[must_use]
    pub fn tracked_addresses(&self) -> usize {
        self.failures.tracked()
    }

    /// Drop all state indistinguishable from a fresh bucket (principals,
    /// projects and tenants idle for at least their burst window). Runs by
    /// itself every `sweep_every` checks; call it from a timer as well if the
    /// service can go quiet for long.
    pub fn sweep(&self) {
        for p in &self.plans {
            p.by_key.retain_recent();
            p.by_key.shrink_to_fit();
            p.by_project.retain_recent();
            p.by_project.shrink_to_fit();
            p.by_tenant.retain_recent();
            p.by_tenant.shrink_to_fit();
        }
        self.failures
            .sweep(self.clock.now().duration_since(Instant::ZERO).as_u64() / 1_000);
    }

    /// How many principals, projects and tenants currently hold state.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.plans
            .iter()
            .map(|p| p.by_key.len() + p.by_project.len() + p.by_tenant.len())
            .sum::<usize>()
            + self.failures.tracked()
    }

    /// The limiter's clock: the latest `now` any check has presented.
    #[must_use]
    pub fn clock_millis(&self) -> u64 {
        self.clock.now().duration_since(Instant::ZERO).as_u64() / 1_000_000
    }
}

fn tighter(a: RateStatus, b: RateStatus) -> RateStatus {
    if b.remaining < a.remaining { b } else { a }
}

impl RateLimitBackend for RateLimiter {
    fn name(&self) -> &'static str {
        "in-process"
    }

    fn try_check(&self, req: &LimitRequest<'_>) -> core::result::Result<RateStatus, RateRefusal> {
        // The facade's plans are normally this limiter's own (same `Arc`).
        let ix = self
            .plans
            .iter()
            .position(|p| *p.name == *req.plan.name())
            .unwrap_or_else(|| self.resolved.default_index());
        self.check_in(ix, req.principal, &req.scope, req.now)
            .map_err(RateRefusal::Limited)
    }

    fn try_check_failure(
        &self,
        ip: IpAddr,
        now: Timestamp,
    ) -> core::result::Result<FailureCheck, RateRefusal> {
        Ok(self.check_failure(ip, now))
    }

    fn drain_suppressions(&self, now: Timestamp) -> Vec<Suppression> {
        Self::drain_suppressions(self, now)
    }

    fn sweep(&self) {
        Self::sweep(self);
    }
}
