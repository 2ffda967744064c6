//! The rate-limit backend trait: where the limits are decided.
//!
//! [`RateLimiter`](crate::RateLimiter), the in-process limiter, is the
//! embedded default; `palisade-redis` decides the same limits for a whole
//! fleet. A backend answers on the sync fast path ([`RateLimitBackend::try_check`])
//! when it can, and says [`RateRefusal::WouldBlock`] when it must await a
//! server, so the in-process path never allocates a future:
//!
//! - `Palisade::authorize` (sync) calls `try_check*`; `WouldBlock` and
//!   `Unavailable` become a fail-closed 503.
//! - `Palisade::authorize_async` calls `try_check*` and only on `WouldBlock`
//!   awaits `check*`.

use core::future::Future;
use core::pin::Pin;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};

use crate::config::{RateConfig, RateLimitConfig};
use crate::error::{PalisadeError, Result};
use crate::ratelimit::{LimitLevel, RateLimited, RateStatus, ceil_secs_micros};
use crate::ratelimit_budget::{FailureCheck, Suppression};

/// A boxed, `Send` future (no runtime dependency).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a backend did not allow a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateRefusal {
    /// Over a limit: HTTP 429 with `Retry-After`.
    Limited(RateLimited),
    /// The backend could not decide (server down or too slow) and its
    /// failure policy is to refuse: HTTP 503.
    Unavailable {
        /// The backend (e.g. `"redis"`).
        backend: &'static str,
        /// What failed (no credentials, no request content).
        reason: String,
    },
    /// Only from the sync `try_check*` methods: this backend must await a
    /// server; call the async method. The sync request path answers 503.
    WouldBlock,
}

/// The denial for a backend's refusal: 429 when limited, else a
/// fail-closed 503.
#[cfg(feature = "service")]
pub(crate) fn refusal_denial(r: RateRefusal) -> crate::Denial {
    match r {
        RateRefusal::Limited(l) => crate::Denial::rate_limited(l),
        RateRefusal::Unavailable { backend, reason } => crate::Denial::new(
            crate::DenyReason::Internal,
            format!("rate-limit backend `{backend}` unavailable: {reason}"),
        ),
        RateRefusal::WouldBlock => crate::Denial::new(
            crate::DenyReason::Internal,
            "the rate-limit backend must be awaited: call `Palisade::authorize_async`",
        ),
    }
}

impl From<RateLimited> for RateRefusal {
    fn from(r: RateLimited) -> Self {
        Self::Limited(r)
    }
}

/// One request to check against its plan's key, project and tenant limits.
#[derive(Clone, Copy, Debug)]
pub struct LimitRequest<'a> {
    /// The limited principal (the API key when a key was used).
    pub principal: &'a Principal,
    /// The request's scope (tenant, and project when it names one).
    pub scope: Scope,
    /// The tenant's plan (resolved by the facade from its configuration).
    pub plan: &'a Plan,
    /// The request's time.
    pub now: Timestamp,
}

/// Something a backend wants audited once (not per request).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendEvent {
    /// The backend became unreachable and decisions now follow its failure
    /// policy (refuse, or the local fallback limiter).
    FallbackStarted {
        /// The backend (e.g. `"redis"`).
        backend: &'static str,
        /// `"fail_closed"` or `"fallback_local"`.
        policy: &'static str,
        /// What failed.
        reason: String,
        /// The request time at which it was noticed.
        at: Timestamp,
    },
    /// The backend answers again; decisions are shared again.
    FallbackEnded {
        /// The backend (e.g. `"redis"`).
        backend: &'static str,
        /// Requests decided under the failure policy meanwhile.
        decisions: u64,
        /// The request time at which it was noticed.
        at: Timestamp,
    },
}

/// Where rate limits and the refused-credential budget are decided.
///
/// Implementations keep the limits' contract: key, project and tenant
/// limits of the request's [`Plan`] (GCRA), the tightest allowed limit in
/// [`RateStatus`], the refusing limit in [`RateLimited`].
pub trait RateLimitBackend: Send + Sync + core::fmt::Debug {
    /// A short name for diagnostics (`"in-process"`, `"redis"`).
    fn name(&self) -> &'static str;

    /// Decide without waiting, or answer [`RateRefusal::WouldBlock`].
    ///
    /// # Errors
    /// [`RateRefusal`]: limited, unavailable, or would block.
    fn try_check(&self, req: &LimitRequest<'_>) -> core::result::Result<RateStatus, RateRefusal>;

    /// Decide, awaiting the backend if it needs to (default: the sync path).
    fn check<'a>(
        &'a self,
        req: LimitRequest<'a>,
    ) -> BoxFuture<'a, core::result::Result<RateStatus, RateRefusal>> {
        let r = self.try_check(&req);
        Box::pin(core::future::ready(r))
    }

    /// Count one refused credential from `ip` at `now` against its
    /// address block's budget, without waiting (or `WouldBlock`).
    ///
    /// # Errors
    /// [`RateRefusal::Unavailable`] / [`RateRefusal::WouldBlock`]; being over
    /// budget is not an error but a [`FailureVerdict`](crate::FailureVerdict).
    fn try_check_failure(
        &self,
        ip: IpAddr,
        now: Timestamp,
    ) -> core::result::Result<FailureCheck, RateRefusal>;

    /// As [`RateLimitBackend::try_check_failure`], awaiting if needed.
    fn check_failure<'a>(
        &'a self,
        ip: IpAddr,
        now: Timestamp,
    ) -> BoxFuture<'a, core::result::Result<FailureCheck, RateRefusal>> {
        let r = self.try_check_failure(ip, now);
        Box::pin(core::future::ready(r))
    }

    /// Close and return the suppression windows of floods that stopped (no
    /// refusal for a whole window), so each gets its aggregated audit record.
    /// Call it from a timer.
    fn drain_suppressions(&self, now: Timestamp) -> Vec<Suppression> {
        let _ = now;
        Vec::new()
    }

    /// As [`RateLimitBackend::drain_suppressions`], awaiting a remote
    /// backend (default: the sync one).
    fn drain_suppressions_async<'a>(&'a self, now: Timestamp) -> BoxFuture<'a, Vec<Suppression>> {
        let r = self.drain_suppressions(now);
        Box::pin(core::future::ready(r))
    }

    /// Events to audit once each (fallback started/ended). Cheap when there
    /// are none (no allocation).
    fn take_events(&self) -> Vec<BackendEvent> {
        Vec::new()
    }

    /// Drop state indistinguishable from fresh (in-process backends).
    fn sweep(&self) {}
}

/// One GCRA limit in integer microseconds: one request every
/// `interval_micros`, bursts of up to `burst` (tolerance
/// `interval × (burst − 1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    interval_micros: u64,
    burst: u32,
}

impl Rate {
    /// A rate of one request per `interval_micros` (at least 1) and `burst`
    /// (at least 1).
    #[must_use]
    pub const fn new(interval_micros: u64, burst: u32) -> Self {
        Self {
            interval_micros: if interval_micros == 0 {
                1
            } else {
                interval_micros
            },
            burst: if burst == 0 { 1 } else { burst },
        }
    }

    /// From a configured rate. The resolution is 1 µs: a rate above 10^6
    /// requests per second is applied as 10^6 (its burst unchanged).
    ///
    /// # Errors
    /// [`PalisadeError::Config`] for a zero rate, window or burst, or a rate
    /// above 10^9 requests per second.
    pub fn from_config(rate: RateConfig, field: &str) -> Result<Self> {
        // The same validation as the in-process limiter's.
        rate.to_quota(field)?;
        let interval =
            u64::from(rate.per_seconds).saturating_mul(1_000_000) / u64::from(rate.requests.max(1));
        Ok(Self::new(interval, rate.burst.unwrap_or(rate.requests)))
    }

    /// The emission interval `T` (µs).
    #[must_use]
    pub const fn interval_micros(&self) -> u64 {
        self.interval_micros
    }

    /// The burst.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The tolerance `τ = T × (burst − 1)` (µs).
    #[must_use]
    pub const fn tolerance_micros(&self) -> u64 {
        self.interval_micros
            .saturating_mul(self.burst.saturating_sub(1) as u64)
    }

    /// This rate shared by `replicas` instances deciding alone: each gets
    /// the rate divided by `replicas` and the burst divided (at least 1).
    #[must_use]
    pub const fn divided(&self, replicas: u32) -> Self {
        let n = if replicas == 0 { 1 } else { replicas };
        Self::new(
            self.interval_micros.saturating_mul(n as u64),
            self.burst / n,
        )
    }

    pub(crate) fn quota(&self) -> governor::Quota {
        governor::Quota::with_period(core::time::Duration::from_micros(self.interval_micros))
            .unwrap_or_else(|| governor::Quota::per_second(core::num::NonZeroU32::MAX))
            .allow_burst(
                core::num::NonZeroU32::new(self.burst).unwrap_or(core::num::NonZeroU32::MIN),
            )
    }

    fn policy(&self, level: LimitLevel) -> String {
        let window = self.interval_micros.saturating_mul(u64::from(self.burst));
        format!(
            "\"{}\";q={};w={}",
            level.as_str(),
            self.burst,
            ceil_secs_micros(window).max(1)
        )
    }
}

/// A plan's three limits and its `RateLimit-Policy` header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    name: Arc<str>,
    key: Rate,
    project: Rate,
    tenant: Rate,
    policy: Arc<str>,
}

impl Plan {
    /// A plan from its three limits.
    #[must_use]
    pub fn new(name: &str, key: Rate, project: Rate, tenant: Rate) -> Self {
        let policy = [
            key.policy(LimitLevel::Key),
            project.policy(LimitLevel::Project),
            tenant.policy(LimitLevel::Tenant),
        ]
        .join(", ");
        Self {
            name: name.into(),
            key,
            project,
            tenant,
            policy: policy.into(),
        }
    }

    /// Its name in the configuration.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The limit of `level` (the address level has none here: the key's).
    #[must_use]
    pub const fn rate(&self, level: LimitLevel) -> Rate {
        match level {
            LimitLevel::Project => self.project,
            LimitLevel::Tenant => self.tenant,
            LimitLevel::Key | LimitLevel::Address => self.key,
        }
    }

    /// The `RateLimit-Policy` header value.
    #[must_use]
    pub fn policy(&self) -> &Arc<str> {
        &self.policy
    }

    /// The plan each of `replicas` instances applies alone (see [`Rate::divided`]).
    #[must_use]
    pub fn divided(&self, replicas: u32) -> Self {
        Self::new(
            &self.name,
            self.key.divided(replicas),
            self.project.divided(replicas),
            self.tenant.divided(replicas),
        )
    }
}

/// Every plan of a configuration and which tenant has which.
#[derive(Clone, Debug)]
pub struct Plans {
    plans: Vec<Plan>,
    tenant_plan: HashMap<TenantId, usize>,
    default_plan: usize,
    default: Plan,
}

impl Plans {
    /// The plans of `cfg`; `tenant_plans` maps tenants to plan names.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] for an unknown plan name or an invalid rate.
    pub fn from_config<'a>(
        cfg: &RateLimitConfig,
        tenant_plans: impl IntoIterator<Item = (TenantId, &'a str)>,
    ) -> Result<Self> {
        let mut plans = Vec::with_capacity(cfg.plans.len());
        let mut names = HashMap::new();
        for (name, p) in &cfg.plans {
            let field = format!("rate_limits.plans.{name}");
            names.insert(name.as_str(), plans.len());
            plans.push(Plan::new(
                name,
                Rate::from_config(p.per_key, &format!("{field}.per_key"))?,
                Rate::from_config(p.per_project, &format!("{field}.per_project"))?,
                Rate::from_config(p.per_tenant, &format!("{field}.per_tenant"))?,
            ));
        }
        let lookup = |field: &str, name: &str| {
            names.get(name).copied().ok_or_else(|| {
                PalisadeError::config(
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
        let default = plans
            .get(default_plan)
            .cloned()
            .ok_or_else(|| PalisadeError::config("rate_limits.plans", "no plan is defined"))?;
        Ok(Self {
            plans,
            tenant_plan,
            default_plan,
            default,
        })
    }

    /// The plan of `tenant` (the default plan unless configured).
    #[must_use]
    pub fn for_tenant(&self, tenant: TenantId) -> &Plan {
        let ix = self.index_for_tenant(tenant);
        // Indices come from `plans`; the copy only keeps this panic-free.
        self.plans.get(ix).unwrap_or(&self.default)
    }

    /// Every plan, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Plan> {
        self.plans.iter()
    }

    pub(crate) fn index_for_tenant(&self, tenant: TenantId) -> usize {
        self.tenant_plan
            .get(&tenant)
            .copied()
            .unwrap_or(self.default_plan)
    }

    pub(crate) fn default_index(&self) -> usize {
        self.default_plan
    }

    /// Every plan divided among `replicas` (see [`Rate::divided`]).
    #[must_use]
    pub fn divided(&self, replicas: u32) -> Self {
        Self {
            plans: self.plans.iter().map(|p| p.divided(replicas)).collect(),
            tenant_plan: self.tenant_plan.clone(),
            default_plan: self.default_plan,
            default: self.default.divided(replicas),
        }
    }
}
