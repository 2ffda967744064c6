//! [`KeyAdminError`]: why a key-administration call was refused or failed.

use palisade_apikey::ApiKeyError;
use palisade_tenancy::Scope;

/// Why a [`KeyAdmin`](crate::KeyAdmin) call did not happen (or, for
/// [`KeyAdminError::Unaudited`], happened without its audit record).
///
/// Messages are meant for the administrator making the call (they name
/// the missing permission or the excess scopes, so it can be fixed); they
/// never name another tenant's keys: an id outside the caller's scope reads
/// exactly like an id that does not exist. Every refusal is also in the
/// audit log, with the full reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyAdminError {
    /// No key with this id in the caller's scope (whether it exists in
    /// another tenant or project or not at all: the two are not told apart).
    #[error("no API key with id `{key_id}`")]
    NotFound {
        /// The id asked for.
        key_id: String,
    },
    /// The caller's roles (narrowed by its key's scopes, or its break-glass
    /// grant) do not include `permission` in `scope`.
    #[error("`{principal}` may not `{permission}` in `{scope}`")]
    NotPermitted {
        /// The acting principal.
        principal: String,
        /// The permission needed, e.g. `apikeys:revoke`.
        permission: &'static str,
        /// Where it was needed.
        scope: Scope,
    },
    /// The key is (or would be) owned by a principal the caller may not
    /// administer: only its own keys, unless it holds `apikeys:admin` in
    /// the key's scope.
    #[error(
        "`{principal}` may not manage keys owned by `{owner}` in `{scope}`: that needs `apikeys:admin` there"
    )]
    OwnerNotAdministrable {
        /// The acting principal.
        principal: String,
        /// The key's owner (`key:…` for a key that is its own principal).
        owner: String,
        /// The key's scope.
        scope: Scope,
    },
    /// Staff act through break-glass grants, never through keys of their own.
    #[error("`{owner}` is a staff principal: staff use break-glass grants, not API keys")]
    StaffOwner {
        /// The staff principal named as owner.
        owner: String,
    },
    /// The key's scopes would let it do what the caller may not do now.
    #[error(
        "the key's scopes exceed what `{principal}` may do now: `{}` (grant at most the caller's own permissions)",
        .excess.join("`, `")
    )]
    Escalation {
        /// The acting principal.
        principal: String,
        /// The permissions (or, against the caller's own key scopes, the
        /// patterns) the caller does not hold.
        excess: Vec<String>,
    },
    /// A key scope matches no permission of the policy in force, so the
    /// key would silently be useless.
    #[error(
        "key scope `{scope}` matches no permission of the policy in force (version {policy_version}): declare it in the policy or fix the scope"
    )]
    UnknownScope {
        /// The offending pattern.
        scope: String,
        /// The policy's version.
        policy_version: u64,
    },
    /// The key's stored record fails its MAC: it was edited outside
    /// Palisade. It may only be revoked.
    #[error(
        "the stored record of API key `{key_id}` fails its integrity check (edited outside Palisade): revoke it and issue a new key"
    )]
    RecordTampered {
        /// The key.
        key_id: String,
    },
    /// The key request or change itself is invalid (dates, limits, scope
    /// syntax, an inactive key to rotate…).
    #[error(transparent)]
    Key(ApiKeyError),
    /// The key store or the audit log could not be used; nothing changed.
    #[error("key administration unavailable: {reason}")]
    Unavailable {
        /// What failed.
        reason: String,
    },
    /// The change took effect but its audit record could not be written.
    #[error(
        "`{action}` of key `{key_id}` took effect, but its audit record failed: {reason} (check the audit sinks)"
    )]
    Unaudited {
        /// The action, e.g. `apikey.revoke`.
        action: &'static str,
        /// The key changed.
        key_id: String,
        /// The audit error.
        reason: String,
    },
}

impl KeyAdminError {
    /// The HTTP status a handler should answer with: 404 not found, 403
    /// refused, 422 an invalid request, 409 a key in the wrong state, 503
    /// unavailable or unaudited.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. } => 404,
            Self::NotPermitted { .. }
            | Self::OwnerNotAdministrable { .. }
            | Self::StaffOwner { .. }
            | Self::Escalation { .. } => 403,
            Self::UnknownScope { .. } => 422,
            Self::RecordTampered { .. } => 409,
            Self::Key(
                ApiKeyError::Inactive { .. }
                | ApiKeyError::DuplicateKey { .. }
                | ApiKeyError::AlreadyRotated { .. },
            ) => 409,
            Self::Key(ApiKeyError::NoSuchKey { .. }) => 404,
            Self::Key(_) => 422,
            Self::Unavailable { .. } | Self::Unaudited { .. } => 503,
        }
    }

    /// A stable snake-case code (for the audit record's `decision` detail
    /// and for response bodies).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::NotPermitted { .. } => "not_permitted",
            Self::OwnerNotAdministrable { .. } => "owner_not_administrable",
            Self::StaffOwner { .. } => "staff_owner",
            Self::Escalation { .. } => "escalation",
            Self::UnknownScope { .. } => "unknown_scope",
            Self::RecordTampered { .. } => "record_tampered",
            Self::Key(_) => "invalid_request",
            Self::Unavailable { .. } => "unavailable",
            Self::Unaudited { .. } => "unaudited",
        }
    }
}

impl From<ApiKeyError> for KeyAdminError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::NoSuchKey { key_id } => Self::NotFound { key_id },
            ApiKeyError::RecordNotAuthentic { key_id, .. } => Self::RecordTampered { key_id },
            ApiKeyError::StaffOwner { owner } => Self::StaffOwner { owner },
            ApiKeyError::Store(_) => Self::Unavailable {
                reason: e.to_string(),
            },
            other => Self::Key(other),
        }
    }
}
