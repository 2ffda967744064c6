//! Palisade facade: tenancy, RBAC, envelope encryption, API keys and audit behind one request path.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "service")]
mod authorized;
#[cfg(feature = "service")]
mod breakglass;
#[cfg(feature = "service")]
mod builder;
mod clock;
mod config;
mod csp;
mod denial;
mod error;
#[cfg(feature = "axum")]
mod http_headers;
#[cfg(feature = "axum")]
mod http_layer;
#[cfg(feature = "service")]
mod policy;
mod ratelimit;
#[cfg(feature = "service")]
mod request;
#[cfg(feature = "service")]
mod secrets;
#[cfg(feature = "service")]
mod service;
#[cfg(feature = "service")]
mod trail;

#[cfg(feature = "service")]
pub use authorized::Authorized;
#[cfg(feature = "service")]
pub use breakglass::BreakGlassGrant;
#[cfg(feature = "service")]
pub use builder::{DEFAULT_KEY_PREFIX, PalisadeBuilder};
pub use config::{
    BreakGlassConfig, HttpConfig, NamedSecret, PalisadeConfig, PlanConfig, RateConfig,
    RateLimitConfig, SecretSource, SecretsConfig, TenantConfig, VersionedSecret,
};
pub use csp::Csp;
pub use denial::{Denial, DenialKind, DenyReason};
pub use error::{PalisadeError, Result};
#[cfg(feature = "axum")]
pub use http_headers::{SecurityHeaders, tenant_cors};
#[cfg(feature = "axum")]
pub use http_layer::{PalisadeLayer, PalisadeService, denial_response};
pub use ratelimit::{LimitLevel, RateLimited, RateLimiter, RateStatus};
#[cfg(feature = "service")]
pub use request::{Credential, Request, RequestFacts};
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
