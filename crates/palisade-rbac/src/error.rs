//! The crate's error type: every way a policy document, a permission pattern
//! or a key's scope list can be rejected, each located and saying what to fix.

/// A `Result` whose error is [`RbacError`].
pub type Result<T, E = RbacError> = core::result::Result<T, E>;

/// Why a policy document could not be loaded or compiled, or a key's scope
/// list could not be turned into a [`ScopeMask`](crate::ScopeMask).
///
/// `at` fields locate the offending item in the document, e.g.
/// ``roles[2] (`admin`).permissions[1]``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RbacError {
    /// The TOML or JSON text is not a well-formed policy document.
    #[error("policy document is not valid {format}: {message}")]
    Parse {
        /// `toml` or `json`.
        format: &'static str,
        /// The parser's message (with its line and column).
        message: String,
    },
    /// The document's `version` is not one this crate understands.
    #[error("unsupported policy version `{found}`: this crate reads version 1")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// A permission or permission pattern is malformed.
    #[error("{at}: invalid permission `{input}`: {reason}")]
    PermissionSyntax {
        /// Where in the document (or `key scopes[i]`).
        at: String,
        /// The text, clipped.
        input: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A permission is declared twice in `permissions`.
    #[error("{at}: permission `{permission}` is declared twice; remove one")]
    DuplicatePermission {
        /// Where the second declaration is.
        at: String,
        /// The permission.
        permission: String,
    },
    /// A permission (or a wildcard pattern) names nothing that is declared.
    #[error(
        "{at}: `{permission}` matches no permission declared in `permissions`; declare it or fix the spelling"
    )]
    UnknownPermission {
        /// Where it is used.
        at: String,
        /// The permission or pattern.
        permission: String,
    },
    /// A role name is malformed.
    #[error("{at}: invalid role name `{input}`: use 1 to 64 characters of `A-Z a-z 0-9 . _ -`")]
    RoleName {
        /// Where it is.
        at: String,
        /// The name, clipped.
        input: String,
    },
    /// Two roles share a name.
    #[error("{at}: role `{role}` is already defined at {first}; rename or merge them")]
    DuplicateRole {
        /// The second definition.
        at: String,
        /// The first definition.
        first: String,
        /// The role name.
        role: String,
    },
    /// A role inherits from a role that does not exist.
    #[error("{at}: role `{role}` inherits from `{parent}`, which is not defined")]
    UnknownParentRole {
        /// Where the `inherits` entry is.
        at: String,
        /// The inheriting role.
        role: String,
        /// The missing role.
        parent: String,
    },
    /// Role inheritance forms a cycle.
    #[error("role inheritance cycle: {cycle}; remove one of these `inherits` entries")]
    RoleCycle {
        /// The cycle, e.g. `admin -> member -> admin`.
        cycle: String,
    },
    /// A binding names a role that does not exist.
    #[error("{at}: binding refers to role `{role}`, which is not defined")]
    UnknownRole {
        /// The binding.
        at: String,
        /// The missing role.
        role: String,
    },
    /// Two bindings grant the same role to the same principal in the same
    /// scope with the same validity window.
    #[error("{at}: duplicate of {first} (same principal, role, scope and window); remove one")]
    DuplicateBinding {
        /// The second binding.
        at: String,
        /// The first binding.
        first: String,
    },
    /// A grant or deny whose `not_before` is not before its `expires_at`.
    #[error("{at}: `not_before` ({not_before}) must be earlier than `expires_at` ({expires_at})")]
    EmptyWindow {
        /// The binding or deny.
        at: String,
        /// Its start.
        not_before: String,
        /// Its end.
        expires_at: String,
    },
    /// A grant that has already expired at the compile time passed in.
    #[error("{at}: grant expired at {expires_at} (compiled at {now}); delete it")]
    GrantExpired {
        /// The binding.
        at: String,
        /// Its expiry.
        expires_at: String,
        /// The `now` given to compile.
        now: String,
    },
    /// A staff grant without an `expires_at`: staff access is break-glass only.
    #[error(
        "{at}: staff principal `{principal}` needs `expires_at` (staff access is time-bound break-glass)"
    )]
    StaffGrantNotTimeBound {
        /// The binding.
        at: String,
        /// The staff principal.
        principal: String,
    },
    /// A staff or time-bound grant without a `reason`.
    #[error("{at}: staff and time-bound grants need a non-empty `reason` (it is audited)")]
    MissingReason {
        /// The binding.
        at: String,
    },
    /// A `reason` longer than [`MAX_REASON_LEN`](crate::MAX_REASON_LEN) bytes.
    #[error("{at}: `reason` is longer than {max} bytes; shorten it or link to a ticket")]
    ReasonTooLong {
        /// The binding or deny.
        at: String,
        /// The limit.
        max: usize,
    },
    /// A `reason` holds a control character (a newline from a multi-line
    /// TOML string, a tab, an escape): reasons are recorded in audit
    /// records, which refuse control characters.
    #[error(
        "{at}: `reason` holds a control character at byte {position}; write it on one line without tabs or escapes"
    )]
    ReasonControlCharacter {
        /// The binding or deny.
        at: String,
        /// Byte offset of the first control character.
        position: usize,
    },
    /// A size limit of the compiled form is exceeded.
    #[error("{at}: too many {what} (at most {max}); split the policy")]
    Limit {
        /// Where the limit was hit.
        at: String,
        /// What was counted.
        what: &'static str,
        /// The limit.
        max: usize,
    },
}

/// Clip user input for an error message, on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
    }
}
