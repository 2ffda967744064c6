//! The result of an allowed request: who, in which scope, and the means to
//! reach that scope's data (and nothing else).

use palisade_apikey::{KeyId, Verified};
use palisade_envelope::{KeyProvider, ScopedEnvelope};
use palisade_tenancy::{Principal, Scope, Scoped, TenantId};

use crate::breakglass::BreakGlassGrant;
use crate::ratelimit::RateStatus;

/// An allowed request. Handlers get it from [`Palisade::authorize`]
/// (or, with the `axum` feature, as an extractor).
///
/// It carries the acting principal, the request's [`Scope`], an envelope
/// handle bound to that scope (data sealed for another tenant does not open
/// through it), [`Authorized::open`] for [`Scoped`] values (a cross-tenant
/// refusal is recorded in both tenants' logs) and
/// [`Authorized::record_outcome`] for what the handler did.
///
/// [`Palisade::authorize`]: crate::Palisade::authorize
pub struct Authorized<P = palisade_envelope::LocalKeyring> {
    pub(crate) principal: Principal,
    pub(crate) key: Option<Principal>,
    pub(crate) scope: Scope,
    pub(crate) envelope: ScopedEnvelope<P>,
    pub(crate) rate: Option<RateStatus>,
    pub(crate) staff_reason: Option<String>,
    /// The decision record, for outcome records (see `outcome.rs`).
    pub(crate) link: Option<std::sync::Arc<crate::outcome::Link>>,
    /// The presenting key as verified (an `Arc` snapshot of its record).
    pub(crate) verified: Option<Verified>,
    /// For staff access: the grant it was allowed under.
    pub(crate) grant: Option<std::sync::Arc<BreakGlassGrant>>,
}

impl<P> Clone for Authorized<P> {
    fn clone(&self) -> Self {
        Self {
            principal: self.principal.clone(),
            key: self.key.clone(),
            scope: self.scope,
            envelope: self.envelope.clone(),
            rate: self.rate.clone(),
            staff_reason: self.staff_reason.clone(),
            link: self.link.clone(),
            verified: self.verified.clone(),
            grant: self.grant.clone(),
        }
    }
}

impl<P> core::fmt::Debug for Authorized<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Authorized")
            .field("principal", &self.principal)
            .field("key", &self.key)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl<P: KeyProvider> Authorized<P> {
    /// The principal whose permissions were checked: the key's owner, the
    /// key itself, the authenticated user, or the staff member.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The API key used (`key:…`), when the request came with one.
    #[must_use]
    pub fn key(&self) -> Option<&Principal> {
        self.key.as_ref()
    }

    /// The id of the API key presented, when the request came with one.
    #[must_use]
    pub fn key_id(&self) -> Option<&KeyId> {
        self.verified.as_ref().map(Verified::key_id)
    }

    /// The presenting key's effective scopes: the permission patterns
    /// (`resource:action`, `*` wildcards) its record granted when it was
    /// verified for this request. They narrow, never widen, what the
    /// [`principal`](Authorized::principal)'s roles allow, so what the
    /// request may do is the intersection of the two. `None` when the
    /// request came without a key (no narrowing).
    #[must_use]
    pub fn key_scopes(&self) -> Option<&[String]> {
        self.verified.as_ref().map(Verified::granted_scopes)
    }

    /// True when the presenting key's scopes cover `permission`
    /// (`resource:action`); true for requests without a key, which are not
    /// narrowed. It does not consult the owner's roles: ask
    /// [`Palisade::authorize`](crate::Palisade::authorize) for a decision.
    #[must_use]
    pub fn key_grants(&self, permission: &str) -> bool {
        self.verified.as_ref().is_none_or(|v| v.grants(permission))
    }

    /// The request's scope (the target's, when one was named).
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The tenant.
    #[must_use]
    pub fn tenant(&self) -> TenantId {
        self.scope.tenant_id()
    }

    /// Envelope encryption bound to this request's scope.
    #[must_use]
    pub fn envelope(&self) -> &ScopedEnvelope<P> {
        &self.envelope
    }

    /// Wrap `value` as owned by this request's scope.
    #[must_use]
    pub fn own<T>(&self, value: T) -> Scoped<T> {
        Scoped::new(self.scope, value)
    }

    /// The tightest rate limit the request passed (for `RateLimit` headers);
    /// `None` for staff break-glass access, which is not rate-limited.
    #[must_use]
    pub fn rate_status(&self) -> Option<&RateStatus> {
        self.rate.as_ref()
    }

    /// For staff break-glass access: the reason given for the grant.
    #[must_use]
    pub fn staff_reason(&self) -> Option<&str> {
        self.staff_reason.as_deref()
    }
}
