//! What a check asks (subject, permission) and what it answers.

use crate::permission::{Generation, PermissionId};
use palisade_tenancy::{Principal, Scope, Timestamp};

/// The answer of a check: two-valued, and `Deny` whenever anything is
/// unknown or wrong.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The principal may do this, here, now.
    Allow,
    /// Anything else.
    Deny,
}

impl Decision {
    /// True for [`Decision::Allow`].
    #[must_use]
    pub const fn is_allow(self) -> bool {
        matches!(self, Self::Allow)
    }
}

impl core::fmt::Display for Decision {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        })
    }
}

/// An API key's granted scopes as a permission mask of one policy
/// [`Generation`]: made once per key and generation with
/// [`CompiledPolicy::scope_mask`](crate::CompiledPolicy::scope_mask) and
/// cached by the host. In a check it can only remove permissions.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScopeMask {
    pub(crate) generation: Generation,
    pub(crate) bits: Box<[u64]>,
}

impl ScopeMask {
    /// The generation of the policy it was made for.
    #[must_use]
    pub const fn generation(&self) -> Generation {
        self.generation
    }
}

/// Who asks, where and when (and through which key): everything of a check
/// except the permission. Shared by [`Request`] and
/// [`CompiledPolicy::check_many`](crate::CompiledPolicy::check_many).
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The acting principal (for an API key, whoever the host resolves it to).
    pub principal: &'a Principal,
    /// The scope the request touches.
    pub scope: Scope,
    /// The instant of the decision, passed in (no hidden clock).
    pub now: Timestamp,
    /// The presenting API key's scopes, if any: they narrow, never widen.
    pub key_scopes: Option<&'a ScopeMask>,
}

impl<'a> Subject<'a> {
    /// `principal` acting in `scope` at `now`, without key scopes.
    #[must_use]
    pub const fn new(principal: &'a Principal, scope: Scope, now: Timestamp) -> Self {
        Self {
            principal,
            scope,
            now,
            key_scopes: None,
        }
    }

    /// Narrow by an API key's scopes.
    #[must_use]
    pub const fn with_key_scopes(mut self, mask: &'a ScopeMask) -> Self {
        self.key_scopes = Some(mask);
        self
    }

    /// A request for `permission` by this subject.
    #[must_use]
    pub const fn request(self, permission: PermissionId) -> Request<'a> {
        Request {
            subject: self,
            permission,
        }
    }
}

/// "May this principal do this, in this scope, now?"
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Who, where, when, through which key.
    pub subject: Subject<'a>,
    /// What (interned by [`CompiledPolicy::permission`](crate::CompiledPolicy::permission)).
    pub permission: PermissionId,
}

impl<'a> Request<'a> {
    /// `principal` wants `permission` in `scope` at `now`.
    #[must_use]
    pub const fn new(
        principal: &'a Principal,
        scope: Scope,
        permission: PermissionId,
        now: Timestamp,
    ) -> Self {
        Self {
            subject: Subject::new(principal, scope, now),
            permission,
        }
    }

    /// Narrow by an API key's scopes.
    #[must_use]
    pub const fn with_key_scopes(mut self, mask: &'a ScopeMask) -> Self {
        self.subject.key_scopes = Some(mask);
        self
    }
}
