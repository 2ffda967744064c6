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

use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
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
    policy: Arc<str>,
}

/// The limiter of one [`Palisade`](crate) instance. Cheap to share by reference;
/// all methods take `&self`.
pub struct RateLimiter {
    clock: RequestClock,
    plans: Vec<PlanLimiters>,
    tenant_plan: HashMap<TenantId, usize>,
    default_plan: usize,
    sweep_every: u64,
    checks: AtomicU64,
    failures: Keyed<std::net::IpAddr>,
    failure_policy: Arc<str>,
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
        let clock = RequestClock::default();
        let mut names = HashMap::new();
        let mut plans = Vec::with_capacity(cfg.plans.len());
        for (name, plan) in &cfg.plans {
            let field = format!("rate_limits.plans.{name}");
            let qk = plan.per_key.to_quota(&format!("{field}.per_key"))?;
            let qp = plan.per_project.to_quota(&format!("{field}.per_project"))?;
            let qt = plan.per_tenant.to_quota(&format!("{field}.per_tenant"))?;
            let pol = |l: LimitLevel, q: Quota| {
                format!(
                    "\"{}\";q={};w={}",
                    l.as_str(),
                    q.burst_size(),
                    ceil_secs(q.burst_size_replenished_in()).max(1)
                )
            };
            let policy = [
                pol(LimitLevel::Key, qk),
                pol(LimitLevel::Project, qp),
                pol(LimitLevel::Tenant, qt),
            ]
            .join(", ");
            names.insert(name.as_str(), plans.len());
            plans.push(PlanLimiters {
                by_key: keyed(qk, &clock),
                by_project: keyed(qp, &clock),
                by_tenant: keyed(qt, &clock),
                policy: policy.into(),
            });
        }
        let lookup = |field: &str, name: &str| {
            names.get(name).copied().ok_or_else(|| {
                crate::PalisadeError::config(
                    field,
                    format!("plan `{name}` is not defined under `rate_limits.plans`"),
                )
            })
        };
        let default_plan = lookup("rate_limits.default_plan", &cfg.default_plan)?;
        let mut tenant_plan = HashMap::new();
        for (tenant, name) in tenant_plans {
            tenant_plan.insert(tenant, lookup(&format!("tenants.{tenant}.plan"), name)?);
        }
        let qf = cfg
            .failed_auth_per_ip
            .to_quota("rate_limits.failed_auth_per_ip")?;
        let failure_policy = format!(
            "\"address\";q={};w={}",
            qf.burst_size(),
            ceil_secs(qf.burst_size_replenished_in()).max(1)
        );
        Ok(Self {
            failures: keyed(qf, &clock),
            failure_policy: failure_policy.into(),
            clock,
            plans,
            tenant_plan,
            default_plan,
            sweep_every: u64::from(cfg.sweep_every.max(1)),
            checks: AtomicU64::new(0),
        })
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
        let plan_ix = self
            .tenant_plan
            .get(&scope.tenant_id())
            .copied()
            .unwrap_or(self.default_plan);
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

    /// Count one refused credential from `ip` at `now`.
    ///
    /// # Errors
    /// [`RateLimited`] (level [`LimitLevel::Address`]) once the address is
    /// over `failed_auth_per_ip`.
    pub fn check_failure(
        &self,
        ip: std::net::IpAddr,
        now: Timestamp,
    ) -> core::result::Result<(), RateLimited> {
        let at = self.clock.observe(now);
        self.failures
            .check_key(&ip)
            .map(|_| ())
            .map_err(|nu| RateLimited {
                level: LimitLevel::Address,
                retry_after: nu.wait_time_from(at),
                policy: Arc::clone(&self.failure_policy),
            })
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
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
    }

    /// How many principals, projects and tenants currently hold state.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.plans
            .iter()
            .map(|p| p.by_key.len() + p.by_project.len() + p.by_tenant.len())
            .sum::<usize>()
            + self.failures.len()
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
