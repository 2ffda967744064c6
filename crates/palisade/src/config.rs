//! Start-up configuration (serde: TOML or JSON), with embedded defaults so an
//! empty file — or no file — yields a working development set-up.
//!
//! Secrets are never written in the configuration itself: it names the
//! environment variable or file that holds each one (see [`SecretSource`]).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;
use palisade_tenancy::TenantId;
use serde::{Deserialize, Serialize};

use crate::error::{PalisadeError, Result};

/// The whole configuration of a [`Palisade`](crate) instance.
///
/// ```
/// let cfg = palisade::PalisadeConfig::from_toml_str(r#"
///     [rate_limits]
///     default_plan = "free"
///     [rate_limits.plans.free]
///     per_key = { requests = 5, per_seconds = 1 }
///     per_project = { requests = 20, per_seconds = 1 }
///     per_tenant = { requests = 50, per_seconds = 1, burst = 100 }
/// "#)?;
/// assert_eq!(cfg.rate_limits.plans["free"].per_tenant.burst, Some(100));
/// # Ok::<(), palisade::PalisadeError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PalisadeConfig {
    /// Plans and their rate limits.
    pub rate_limits: RateLimitConfig,
    /// Per-tenant settings: plan, allowed browser origins.
    pub tenants: BTreeMap<TenantId, TenantConfig>,
    /// HTTP integration: credential header, security headers.
    pub http: HttpConfig,
    /// Where the secrets live (pepper, KEK, audit signing key).
    pub secrets: SecretsConfig,
    /// The RBAC policy file; `None` for the built-in deny-everything policy.
    pub policy_path: Option<String>,
    /// Directory of the audit log; `None` keeps the log in memory.
    pub audit_dir: Option<String>,
    /// Staff break-glass limits.
    pub break_glass: BreakGlassConfig,
    /// Shared key and grant stores on PostgreSQL (`palisade-postgres`);
    /// `None`: keys and grants live in this process's memory.
    #[serde(default)]
    pub postgres: Option<crate::config_postgres::PostgresConfig>,
}

impl PalisadeConfig {
    /// Parse and validate a TOML configuration.
    ///
    /// # Errors
    /// [`PalisadeError::ConfigSyntax`] for malformed TOML or unknown fields,
    /// [`PalisadeError::Config`] for inconsistent values (see [`PalisadeConfig::validate`]).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let cfg: Self = toml::from_str(text).map_err(|e| PalisadeError::ConfigSyntax {
            format: "TOML",
            message: e.message().to_owned(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parse and validate a JSON configuration.
    ///
    /// # Errors
    /// As [`PalisadeConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(text).map_err(|e| PalisadeError::ConfigSyntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read the file named by the environment variable `var` (see
    /// [`PalisadeConfig::from_file`]); the defaults when `var` is unset.
    ///
    /// # Errors
    /// As [`PalisadeConfig::from_file`].
    pub fn from_env(var: &str) -> Result<Self> {
        match std::env::var(var) {
            Ok(path) => Self::from_file(&path),
            Err(_) => Ok(Self::default()),
        }
    }

    /// Read a configuration file: JSON when the name ends in `.json`, else TOML.
    ///
    /// # Errors
    /// [`PalisadeError::Io`] when the file cannot be read, else as the parsers.
    pub fn from_file(path: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| PalisadeError::Io {
            path: path.to_owned(),
            source,
        })?;
        if path.ends_with(".json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        }
    }

    /// Check cross-field consistency: every plan named exists, every rate is
    /// positive, every CORS origin is a bare `scheme://host[:port]`, the
    /// credential header is a valid lowercase header name.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] naming the first offending field.
    pub fn validate(&self) -> Result<()> {
        let rl = &self.rate_limits;
        if !rl.plans.contains_key(&rl.default_plan) {
            return Err(PalisadeError::config(
                "rate_limits.default_plan",
                format!(
                    "plan `{}` is not defined under `rate_limits.plans`",
                    rl.default_plan
                ),
            ));
        }
        for (name, plan) in &rl.plans {
            for (level, rate) in [
                ("per_key", &plan.per_key),
                ("per_project", &plan.per_project),
                ("per_tenant", &plan.per_tenant),
            ] {
                rate.to_quota(&format!("rate_limits.plans.{name}.{level}"))?;
            }
        }
        crate::ratelimit_budget::BudgetConfig::from_config(rl)?;
        if rl.sweep_every == 0 {
            return Err(PalisadeError::config(
                "rate_limits.sweep_every",
                "must be at least 1",
            ));
        }
        for (tenant, tc) in &self.tenants {
            if let Some(plan) = &tc.plan
                && !rl.plans.contains_key(plan)
            {
                return Err(PalisadeError::config(
                    format!("tenants.{tenant}.plan"),
                    format!("plan `{plan}` is not defined under `rate_limits.plans`"),
                ));
            }
            for origin in &tc.cors_origins {
                check_origin(origin).map_err(|reason| {
                    PalisadeError::config(
                        format!("tenants.{tenant}.cors_origins"),
                        format!("`{origin}`: {reason}"),
                    )
                })?;
            }
        }
        let h = &self.http.api_key_header;
        if h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(PalisadeError::config(
                "http.api_key_header",
                "use a lowercase header name such as `x-api-key`",
            ));
        }
        crate::proxy::TrustedProxies::parse(&self.http.trusted_proxies)?;
        if let Some(pg) = &self.postgres {
            pg.validate()?;
        }
        if self.break_glass.max_minutes == 0 || self.break_glass.min_reason_len == 0 {
            return Err(PalisadeError::config(
                "break_glass",
                "`max_minutes` and `min_reason_len` must be at least 1",
            ));
        }
        Ok(())
    }

    /// The plan of `tenant` (its own, else the default plan).
    #[must_use]
    pub fn plan_of(&self, tenant: &TenantId) -> &str {
        self.tenants
            .get(tenant)
            .and_then(|t| t.plan.as_deref())
            .unwrap_or(&self.rate_limits.default_plan)
    }
}

fn check_origin(origin: &str) -> core::result::Result<(), &'static str> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or("an origin starts with `https://` (or `http://` for local development)")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '*', '@', ' ']) {
        return Err("an origin is `scheme://host[:port]` with no path, wildcard or user info");
    }
    if origin.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("write origins in lowercase, as browsers send them");
    }
    Ok(())
}

/// Rate limits: named plans, the default plan, and eviction of idle state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// The plan of tenants that name none.
    pub default_plan: String,
    /// Plans by name.
    pub plans: BTreeMap<String, PlanConfig>,
    /// Every this many checks, state that is indistinguishable from fresh
    /// (idle keys, projects, tenants) is dropped, bounding memory.
    pub sweep_every: u32,
    /// Refused credentials per client address. Beyond it, further refusals
    /// from that address answer 429 and are not audited one by one, so a
    /// flood of bad keys cannot fill the audit log.
    pub failed_auth_per_ip: RateConfig,
    /// IPv6 clients are budgeted per prefix of this length (default 64: one
    /// customer line, which its holder can rotate through freely); IPv4 per
    /// address.
    pub failed_auth_ipv6_prefix: u8,
    /// At most this many address blocks hold refused-credential state; the
    /// blocks past it share one budget (so churn neither grows memory nor
    /// escapes the budget).
    pub max_tracked_addresses: u32,
    /// Refusals suppressed past the budget are summed into one aggregated
    /// audit record per block per window of this many seconds.
    pub suppression_window_seconds: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let plan = |k: u32, p: u32, t: u32| PlanConfig {
            per_key: RateConfig::per_second(k),
            per_project: RateConfig::per_second(p),
            per_tenant: RateConfig::per_second(t),
        };
        Self {
            default_plan: "free".into(),
            plans: BTreeMap::from([
                ("free".into(), plan(10, 25, 50)),
                ("pro".into(), plan(100, 250, 500)),
                ("enterprise".into(), plan(1_000, 2_500, 5_000)),
            ]),
            sweep_every: 4096,
            failed_auth_per_ip: RateConfig {
                requests: 10,
                per_seconds: 60,
                burst: Some(20),
            },
            failed_auth_ipv6_prefix: 64,
            max_tracked_addresses: 65_536,
            suppression_window_seconds: 60,
        }
    }
}

/// One plan: limits applied at once per API key (or user), per project and
/// per tenant, so a tenant's many keys cannot route around its limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PlanConfig {
    /// Per principal (API key or user).
    pub per_key: RateConfig,
    /// Per project (requests whose scope names a project).
    pub per_project: RateConfig,
    /// Per tenant, all keys and projects together.
    pub per_tenant: RateConfig,
}

impl PlanConfig {
    /// A plan from its three rates.
    #[must_use]
    pub const fn new(per_key: RateConfig, per_project: RateConfig, per_tenant: RateConfig) -> Self {
        Self {
            per_key,
            per_project,
            per_tenant,
        }
    }
}

/// `requests` per `per_seconds`, with bursts of up to `burst` (default: `requests`).
///
/// This is a GCRA quota: one request is replenished every
/// `per_seconds / requests` seconds, and at most `burst` may be spent at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Sustained requests per window.
    pub requests: u32,
    /// The window, in seconds.
    pub per_seconds: u32,
    /// The largest burst (defaults to `requests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateConfig {
    /// `requests` per second, burst `requests`.
    #[must_use]
    pub const fn per_second(requests: u32) -> Self {
        Self {
            requests,
            per_seconds: 1,
            burst: None,
        }
    }

    /// The same rate with a different burst.
    #[must_use]
    pub const fn with_burst(self, burst: u32) -> Self {
        Self {
            burst: Some(burst),
            ..self
        }
    }

    pub(crate) fn to_quota(self, field: &str) -> Result<Quota> {
        let requests = NonZeroU32::new(self.requests).ok_or_else(|| {
            PalisadeError::config(format!("{field}.requests"), "must be at least 1")
        })?;
        if self.per_seconds == 0 {
            return Err(PalisadeError::config(
                format!("{field}.per_seconds"),
                "must be at least 1",
            ));
        }
        let burst = NonZeroU32::new(self.burst.unwrap_or(self.requests))
            .ok_or_else(|| PalisadeError::config(format!("{field}.burst"), "must be at least 1"))?;
        let period = Duration::from_secs(u64::from(self.per_seconds)) / requests.get();
        Quota::with_period(period)
            .map(|q| q.allow_burst(burst))
            .ok_or_else(|| {
                PalisadeError::config(
                    field,
                    "the rate is too high: at most 10^9 requests per second",
                )
            })
    }
}

/// Per-tenant settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantConfig {
    /// The tenant's plan; `None` for the default plan.
    pub plan: Option<String>,
    /// Browser origins allowed to call the API with this tenant's credentials.
    pub cors_origins: Vec<String>,
}

impl TenantConfig {
    /// A tenant on `plan` with the given allowed origins.
    #[must_use]
    pub fn new(plan: Option<&str>, cors_origins: &[&str]) -> Self {
        Self {
            plan: plan.map(str::to_owned),
            cors_origins: cors_origins.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// HTTP integration settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpConfig {
    /// A header that may carry the API key instead of `Authorization: Bearer`.
    pub api_key_header: String,
    /// `Strict-Transport-Security` max-age in seconds (0 disables the header).
    pub hsts_max_age_secs: u64,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: bool,
    /// Who may frame the pages (`frame-ancestors`); empty means `'none'`.
    pub frame_ancestors: Vec<String>,
    /// Networks of the load balancers / reverse proxies in front of the
    /// service (`["10.0.0.0/8", "2001:db8:1::/48"]`). Requests from them
    /// take the client address from `Forwarded` / `X-Forwarded-For`, read
    /// right to left up to the first untrusted hop (see
    /// [`TrustedProxies`](crate::TrustedProxies)); empty: the peer address
    /// is the client, and forwarding headers are ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            api_key_header: "x-api-key".into(),
            hsts_max_age_secs: 63_072_000,
            hsts_include_subdomains: true,
            frame_ancestors: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Where each secret is read from. Absent entries mean fresh random secrets
/// per process: fine for examples and tests, wrong for production (keys
/// issued by one process would not verify in the next, and sealed data
/// would not open).
///
/// ```toml
/// [secrets]
/// peppers = [
///   { version = 2, source = { env = "PALISADE_PEPPER_V2" } },
///   { version = 1, source = { file = "/run/secrets/pepper_v1" } },
/// ]
/// keyring = { env = "PALISADE_KEYRING" }
/// audit_signing_key = { id = "audit-2026", source = { file = "/run/secrets/audit_ed25519" } }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SecretsConfig {
    /// API-key hashing peppers (64–128 hex digits each); new keys use the
    /// highest version, older ones keep verifying until rehashed.
    pub peppers: Vec<VersionedSecret>,
    /// The envelope keyring text (`palisade-keyring v1`, see
    /// `docs/envelope-format.md`).
    pub keyring: Option<SecretSource>,
    /// The audit checkpoint signing key (an Ed25519 seed, 64 hex digits).
    pub audit_signing_key: Option<NamedSecret>,
}

/// A secret with a version number (peppers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionedSecret {
    /// The version (stored with every hash made under it).
    pub version: u32,
    /// Where it is.
    pub source: SecretSource,
}

/// A secret with a public key id (audit signing keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedSecret {
    /// The public id, written into every checkpoint it signs.
    pub id: String,
    /// Where it is.
    pub source: SecretSource,
}

/// The location of one secret's text. The configuration never holds the
/// secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (trailing whitespace ignored).
    File(String),
}

/// Limits on staff break-glass grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakGlassConfig {
    /// The longest grant, in minutes.
    pub max_minutes: u32,
    /// The shortest accepted reason, in characters.
    pub min_reason_len: usize,
}

impl Default for BreakGlassConfig {
    fn default() -> Self {
        Self {
            max_minutes: 60,
            min_reason_len: 10,
        }
    }
}
