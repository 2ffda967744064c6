//! Denials: a caller-facing form that leaks nothing, and a log-facing
//! explanation of why.

use crate::ratelimit::{LimitLevel, RateLimited};

/// What the caller may learn: one of four outcomes, nothing more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenialKind {
    /// No credential, or one that does not verify (malformed, unknown,
    /// wrong secret, expired, revoked: all look the same). HTTP 401.
    Unauthenticated,
    /// Authenticated, but not allowed this action, on this target, from
    /// this address or origin. HTTP 403.
    Forbidden,
    /// Over a rate limit. HTTP 429 with `Retry-After`.
    RateLimited,
    /// Palisade could not decide safely (e.g. the audit log refused the
    /// record), so it denied. HTTP 503.
    Unavailable,
}

impl DenialKind {
    /// The HTTP status code.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
        }
    }

    /// The machine-readable code of the caller-facing body.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Why a request was denied: for logs and audit records, never for callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DenyReason {
    /// No credential was presented.
    MissingCredential,
    /// The credential did not parse, or no key has that id, or the secret is wrong.
    InvalidKey,
    /// The key is revoked, expired, not yet valid, rotated out or used up.
    KeyInactive,
    /// The key may not be used from the request's address.
    AddressNotAllowed,
    /// A rate limit refused the request.
    RateLimited(LimitLevel),
    /// The target lies outside the principal's tenant or project.
    CrossTenant,
    /// RBAC denied (no grant, a deny rule, or the key's scopes exclude it).
    NotPermitted,
    /// The browser origin is not allowed for the tenant.
    OriginNotAllowed,
    /// A break-glass grant was missing, expired, or did not cover the target.
    BreakGlass,
    /// Palisade failed internally (audit append, policy unavailable).
    Internal,
}

impl DenyReason {
    /// A stable snake-case code, for audit records and metrics.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MissingCredential => "missing_credential",
            Self::InvalidKey => "invalid_key",
            Self::KeyInactive => "key_inactive",
            Self::AddressNotAllowed => "address_not_allowed",
            Self::RateLimited(LimitLevel::Key) => "rate_limited_key",
            Self::RateLimited(LimitLevel::Project) => "rate_limited_project",
            Self::RateLimited(LimitLevel::Tenant) => "rate_limited_tenant",
            Self::RateLimited(LimitLevel::Address) => "rate_limited_address",
            Self::CrossTenant => "cross_tenant",
            Self::NotPermitted => "not_permitted",
            Self::OriginNotAllowed => "origin_not_allowed",
            Self::BreakGlass => "break_glass",
            Self::Internal => "internal",
        }
    }

    /// What the caller is told.
    #[must_use]
    pub const fn kind(&self) -> DenialKind {
        match self {
            Self::MissingCredential | Self::InvalidKey | Self::KeyInactive => {
                DenialKind::Unauthenticated
            }
            Self::RateLimited(_) => DenialKind::RateLimited,
            Self::AddressNotAllowed
            | Self::CrossTenant
            | Self::NotPermitted
            | Self::OriginNotAllowed
            | Self::BreakGlass => DenialKind::Forbidden,
            Self::Internal => DenialKind::Unavailable,
        }
    }
}

/// A denied request.
///
/// `Display` prints only the caller-facing code (so formatting a denial into
/// a response cannot leak); [`Denial::explain`] is the log-facing account.
///
/// ```
/// use palisade::{Denial, DenyReason, DenialKind};
/// let d = Denial::new(DenyReason::KeyInactive, "key `k_123` revoked at 2026-01-01T00:00:00Z");
/// assert_eq!(d.kind(), DenialKind::Unauthenticated);
/// assert_eq!(d.to_string(), "unauthorized");
/// assert!(d.explain().contains("revoked"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    reason: DenyReason,
    detail: String,
    rate: Option<RateLimited>,
}

impl Denial {
    /// A denial for `reason`, with a log-facing `detail`.
    #[must_use]
    pub fn new(reason: DenyReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            rate: None,
        }
    }

    /// The denial for a request refused by a rate limit.
    #[must_use]
    pub fn rate_limited(r: RateLimited) -> Self {
        let detail = format!(
            "{} rate limit exceeded; retry in {:?}",
            r.level.as_str(),
            r.retry_after
        );
        Self {
            reason: DenyReason::RateLimited(r.level),
            detail,
            rate: Some(r),
        }
    }

    /// The same denial with `extra` appended to its explanation.
    #[cfg(feature = "service")]
    #[must_use]
    pub(crate) fn with_extra_detail(mut self, extra: &str) -> Self {
        self.detail.push_str(extra);
        self
    }

    /// What the caller is told.
    #[must_use]
    pub const fn kind(&self) -> DenialKind {
        self.reason.kind()
    }

    /// Why (log-facing).
    #[must_use]
    pub const fn reason(&self) -> DenyReason {
        self.reason
    }

    /// The log-facing explanation: which check refused and why. Never send
    /// it to the caller.
    #[must_use]
    pub fn explain(&self) -> &str {
        &self.detail
    }

    /// The rate-limit details of a 429 (for `Retry-After` and `RateLimit`).
    #[must_use]
    pub const fn rate_limit(&self) -> Option<&RateLimited> {
        self.rate.as_ref()
    }

    /// The caller-facing JSON body: `{"error":"forbidden"}`, plus the
    /// request id when there is one (it helps support, not attackers).
    #[must_use]
    pub fn public_body(&self, request_id: Option<&str>) -> String {
        let mut body = String::with_capacity(64);
        body.push_str("{\"error\":\"");
        body.push_str(self.kind().code());
        body.push('"');
        if let Some(id) = request_id.filter(|id| is_safe_request_id(id)) {
            body.push_str(",\"request_id\":\"");
            body.push_str(id);
            body.push('"');
        }
        body.push('}');
        body
    }
}

/// Request ids are echoed only when they are short and plain (no quoting needed).
pub(crate) fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl core::fmt::Display for Denial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.kind().code())
    }
}

/// The error's `Display` is the caller-facing code; use
/// [`Denial::explain`] for the log.
impl std::error::Error for Denial {}
