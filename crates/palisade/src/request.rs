//! The inputs of one authorization: who, what, on which target, with which
//! request facts, at which time.

use std::net::IpAddr;

use palisade_tenancy::{Principal, Scope, Timestamp};

/// How the caller identifies itself.
#[derive(Clone, Copy, Debug)]
pub enum Credential<'a> {
    /// An API key as presented (the whole key text).
    ApiKey(&'a str),
    /// A user (or service) the host has already authenticated (session,
    /// OIDC…), acting in `scope`.
    Authenticated {
        /// The principal.
        principal: &'a Principal,
        /// The tenant or project it acts in.
        scope: Scope,
    },
    /// A credential header that cannot be used (two credentials, empty, too
    /// long, not valid text, a scheme other than `Bearer`). It is refused,
    /// counted against the client's refused-credential budget and recorded
    /// (in the log of the tenant whose key `claimed` names, else in the
    /// unattributed log).
    Unusable {
        /// What is wrong with it.
        problem: UnusableCredential,
        /// One of the presented values that parses as an API key, if any
        /// (it attributes the attempt to that key's tenant).
        claimed: Option<&'a str>,
    },
    /// A staff member acting under a break-glass grant
    /// ([`Palisade::break_glass`](crate::Palisade::break_glass)).
    Staff {
        /// The staff principal (`staff:…`).
        principal: &'a Principal,
        /// The id of the grant.
        grant: crate::GrantId,
    },
}

/// Why a presented credential header cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnusableCredential {
    /// Both `Authorization` and the API-key header (or one of them twice).
    TwoCredentials,
    /// An empty value.
    Empty,
    /// Longer than the layer reads.
    TooLong,
    /// Not visible ASCII text.
    Unreadable,
    /// An `Authorization` scheme other than `Bearer` (e.g. `Basic`).
    WrongScheme,
}

impl UnusableCredential {
    /// A stable snake-case code, for audit records.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TwoCredentials => "two_credentials",
            Self::Empty => "empty",
            Self::TooLong => "too_long",
            Self::Unreadable => "unreadable",
            Self::WrongScheme => "wrong_scheme",
        }
    }
}

/// Facts about the request, recorded in the audit trail and used for the
/// key's IP allow-list and the tenant's origin allow-list.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFacts<'a> {
    /// The client address (behind trusted proxies, the first untrusted hop:
    /// see [`TrustedProxies`](crate::TrustedProxies)).
    pub ip: Option<IpAddr>,
    /// The `User-Agent` (clipped and sanitized in the audit record).
    pub user_agent: Option<&'a str>,
    /// The request id, for correlation.
    pub request_id: Option<&'a str>,
    /// The browser `Origin`, if any: it must be one of the tenant's allowed origins.
    pub origin: Option<&'a str>,
}

/// One request to authorize.
///
/// ```
/// use palisade::{Credential, Request};
/// use palisade_tenancy::Timestamp;
/// let req = Request::new(Credential::ApiKey("pal_live_…"), "inbox:read", "inbox", "msg_1", Timestamp::from_unix_seconds(1_800_000_000));
/// assert_eq!(req.permission, "inbox:read");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who.
    pub credential: Credential<'a>,
    /// The permission needed, `resource:action` (e.g. `billing:write`).
    pub permission: &'a str,
    /// The resource type, for the audit record (e.g. `invoice`).
    pub resource_kind: &'a str,
    /// The resource id, for the audit record (e.g. `inv_42`, or a route
    /// template such as `/v1/keys/{id}`). Credential-looking parts are
    /// replaced by `[redacted]` before it is recorded.
    pub resource_id: &'a str,
    /// The scope owning the target, when the host knows it (e.g. the
    /// tenant of the row being read). It must lie within the caller's
    /// scope; `None` means the caller's own scope.
    pub target: Option<Scope>,
    /// Request facts.
    pub facts: RequestFacts<'a>,
    /// The request's time (never read from a clock inside the decision).
    pub now: Timestamp,
}

impl<'a> Request<'a> {
    /// A request with no target scope and no facts.
    #[must_use]
    pub fn new(
        credential: Credential<'a>,
        permission: &'a str,
        resource_kind: &'a str,
        resource_id: &'a str,
        now: Timestamp,
    ) -> Self {
        Self {
            credential,
            permission,
            resource_kind,
            resource_id,
            target: None,
            facts: RequestFacts::default(),
            now,
        }
    }

    /// Set the target scope.
    #[must_use]
    pub fn target(mut self, scope: Scope) -> Self {
        self.target = Some(scope);
        self
    }

    /// Set the request facts.
    #[must_use]
    pub fn facts(mut self, facts: RequestFacts<'a>) -> Self {
        self.facts = facts;
        self
    }
}
