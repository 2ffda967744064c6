//! Palisade facade: tenancy, RBAC, envelope encryption, API keys and audit behind one request path.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod config;
mod csp;
mod denial;
mod error;
#[cfg(feature = "axum")]
mod http_headers;
mod ratelimit;

pub use config::{
    BreakGlassConfig, HttpConfig, PalisadeConfig, PlanConfig, RateConfig, RateLimitConfig,
    SecretSource, SecretsConfig, TenantConfig,
};
pub use csp::Csp;
pub use denial::{Denial, DenialKind, DenyReason};
pub use error::{PalisadeError, Result};
#[cfg(feature = "axum")]
pub use http_headers::{SecurityHeaders, tenant_cors};
pub use palisade_tenancy as tenancy;
pub use ratelimit::{LimitLevel, RateLimited, RateLimiter, RateStatus};
