//! Palisade for multi-tenant services: one dependency and one call per
//! request. [`Palisade::authorize`] verifies the API key, derives the
//! tenant [`Scope`](tenancy::Scope), applies per-key/project/tenant rate
//! limits, checks RBAC (the key's scopes narrowing its owner's roles) and
//! appends a signed audit record, allow or deny alike; it returns an
//! [`Authorized`] context whose envelope handle only opens that tenant's
//! data, or a [`Denial`] that tells the caller nothing useful and the log
//! everything. The member crates are re-exported behind one feature each
//! (`palisade::rbac`, `::envelope`, `::apikey`, `::audit`); the `axum`
//! feature adds a tower layer, an extractor, security headers and
//! per-tenant CORS. See `docs/guide.md`.
//!
//! ```
//! # #[cfg(not(feature = "service"))] fn main() {}
//! # #[cfg(feature = "service")] fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use palisade::apikey::NewKey;
//! use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
//! use palisade::{Credential, DenialKind, Palisade, PalisadeConfig, Request};
//!
//! let acme = TenantId::new_v7();
//! let policy = format!(r#"
//!     version = 1
//!     permissions = ["inbox:read", "billing:write"]
//!     [[roles]]
//!     name = "agent"
//!     permissions = ["inbox:read"]
//!     [[bindings]]
//!     principal = "user:ann@acme.example"
//!     role = "agent"
//!     scope = "{acme}"
//! "#);
//! let palisade = Palisade::builder(PalisadeConfig::default()).policy_toml(&policy).build()?;
//! let now = Timestamp::from_unix_seconds(1_800_000_000);
//!
//! // A key acting for Ann, issued once (only its hash is stored).
//! let new = NewKey::new(Scope::tenant(acme), "bot").owner(Principal::user("ann@acme.example")?).scopes(["inbox:*"])?;
//! let key = palisade.keys_unchecked().issue(new, now)?;
//!
//! // The request path: allowed, with a context bound to Acme…
//! let req = Request::new(Credential::ApiKey(key.expose_secret()), "inbox:read", "inbox", "conv-1", now);
//! let auth = palisade.authorize(&req)?;
//! assert_eq!(auth.tenant(), acme);
//!
//! // …or denied: callers see `forbidden`, logs see why.
//! let req = Request::new(Credential::ApiKey(key.expose_secret()), "billing:write", "plan", "p-1", now);
//! let denial = palisade.authorize(&req).unwrap_err();
//! assert_eq!(denial.kind(), DenialKind::Forbidden);
//! assert!(denial.explain().contains("billing:write"));
//!
//! // Both decisions are in Acme's signed audit log.
//! let export = palisade.export_audit(acme, now)?;
//! assert_eq!(palisade.verify_audit(acme, &export).records, 2);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "service")]
mod admin;
#[cfg(feature = "service")]
mod admin_audit;
#[cfg(feature = "service")]
mod admin_check;
#[cfg(feature = "service")]
mod admin_error;
#[cfg(feature = "service")]
mod admin_info;
#[cfg(feature = "service")]
mod admin_issue;
#[cfg(feature = "service")]
mod admin_ops;
#[cfg(feature = "service")]
mod authorized;
#[cfg(feature = "service")]
mod breakglass;
#[cfg(feature = "service")]
mod breakglass_store;
#[cfg(feature = "service")]
mod builder;
mod clock;
mod config;
mod config_postgres;
mod csp;
mod denial;
mod error;
#[cfg(feature = "axum")]
mod http_headers;
#[cfg(feature = "axum")]
mod http_layer;
#[cfg(feature = "service")]
mod outage;
#[cfg(feature = "service")]
mod outcome;
#[cfg(feature = "service")]
mod policy;
mod proxy;
mod ratelimit;
mod ratelimit_backend;
mod ratelimit_budget;
mod ratelimit_gcra;
#[cfg(feature = "service")]
mod refusal;
#[cfg(feature = "service")]
mod request;
#[cfg(feature = "service")]
mod secrets;
#[cfg(feature = "service")]
mod service;
#[cfg(feature = "service")]
mod suppress;
#[cfg(feature = "service")]
mod trail;

#[cfg(feature = "service")]
pub use admin::{KeyAdmin, PERM_CREATE, PERM_READ, PERM_REVOKE, PERM_ROTATE, PERM_UPDATE};
#[cfg(feature = "service")]
pub use admin_check::ADMIN_PERMISSION;
#[cfg(feature = "service")]
pub use admin_error::KeyAdminError;
#[cfg(feature = "service")]
pub use admin_info::KeyInfo;
#[cfg(feature = "service")]
pub use authorized::Authorized;
#[cfg(feature = "service")]
pub use breakglass::{BreakGlassGrant, MAX_GRANT_PERMISSION_BYTES};
#[cfg(feature = "service")]
pub use breakglass_store::{
    GrantFuture, GrantId, GrantIdError, GrantLookup, GrantStore, GrantStoreError, MemoryGrantStore,
};
#[cfg(feature = "service")]
pub use builder::{DEFAULT_KEY_PREFIX, PalisadeBuilder};
pub use config::{
    BreakGlassConfig, HttpConfig, NamedSecret, PalisadeConfig, PlanConfig, RateConfig,
    RateLimitConfig, SecretSource, SecretsConfig, TenantConfig, VersionedSecret,
};
pub use config_postgres::PostgresConfig;
pub use csp::Csp;
pub use denial::{Denial, DenialKind, DenyReason};
pub use error::{PalisadeError, Result};
#[cfg(feature = "axum")]
pub use http_headers::{SecurityHeaders, tenant_cors};
#[cfg(feature = "axum")]
pub use http_layer::{PalisadeLayer, PalisadeService, Session, denial_response};
pub use proxy::TrustedProxies;
pub use ratelimit::{LimitLevel, RateLimited, RateLimiter, RateStatus};
pub use ratelimit_backend::{
    BackendEvent, BoxFuture, LimitRequest, Plan, Plans, Rate, RateLimitBackend, RateRefusal,
};
pub use ratelimit_budget::{AddressBlock, BudgetConfig, FailureCheck, FailureVerdict, Suppression};
pub use ratelimit_gcra::{GcraDecision, gcra};
#[cfg(feature = "service")]
pub use request::{Credential, Request, RequestFacts, UnusableCredential};
#[cfg(feature = "service")]
pub use service::Palisade;
#[cfg(feature = "service")]
pub use trail::UNATTRIBUTED;

/// API keys: format, issue, verify, rotate, revoke (`palisade-apikey`).
#[cfg(feature = "apikey")]
pub use palisade_apikey as apikey;
/// The tamper-evident audit log (`palisade-audit`).
#[cfg(feature = "audit")]
pub use palisade_audit as audit;
/// Envelope encryption bound to tenant scopes (`palisade-envelope`).
#[cfg(feature = "envelope")]
pub use palisade_envelope as envelope;
/// RBAC policies: documents, compile, check, explain (`palisade-rbac`).
#[cfg(feature = "rbac")]
pub use palisade_rbac as rbac;
/// Tenant and project ids, scopes, principals, `Scoped<T>` (`palisade-tenancy`).
pub use palisade_tenancy as tenancy;
