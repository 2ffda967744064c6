//! The policy document: the serde model read from TOML or JSON, and a
//! builder for the same model in code.

use crate::error::{RbacError, Result};
use palisade_tenancy::{Principal, Scope, Timestamp};
use serde::{Deserialize, Serialize};

/// The policy format version this crate reads and writes.
pub const POLICY_VERSION: u32 = 1;

/// A policy document: declared permissions, roles, role bindings and deny
/// rules. Load it with [`PolicyDocument::from_toml`] /
/// [`PolicyDocument::from_json`] or build it in code, then
/// [`compile`](crate::compile) it. The format is specified in `docs/rbac.md`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Format version; must be [`POLICY_VERSION`].
    pub version: u32,
    /// Every permission (`resource:action`) the policy knows, in the order
    /// that numbers them. Wildcards elsewhere expand over this list.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Role definitions.
    #[serde(default)]
    pub roles: Vec<RoleDef>,
    /// Who holds which role where (and when).
    #[serde(default)]
    pub bindings: Vec<Binding>,
    /// Deny rules; a matching deny beats every allow.
    #[serde(default)]
    pub denies: Vec<DenyRule>,
}

/// A role: permissions (patterns allowed) plus the roles it inherits from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// Unique name, 1–64 characters of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// Permissions or patterns (`inbox:read`, `knowledge:*`, `*:read`, `*`).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Roles whose permissions this role also has.
    #[serde(default)]
    pub inherits: Vec<String>,
    /// Free text for people; not used in decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A role binding: `principal` holds `role` in `scope`, optionally only
/// during `[not_before, expires_at)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// Who.
    pub principal: Principal,
    /// Which role (by name).
    pub role: String,
    /// Where: a tenant (covers its projects) or one project.
    pub scope: Scope,
    /// Not valid before this instant (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// Not valid from this instant on (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Why the grant exists; required for staff and time-bound grants and
    /// shown by explain so it can be audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A deny rule: `permissions` are denied to `principal` (or to everyone
/// when `principal` is absent) in `scope`, optionally only during a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyRule {
    /// Who; absent means every principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// Permissions or patterns denied.
    pub permissions: Vec<String>,
    /// Where: a tenant (covers its projects) or one project.
    pub scope: Scope,
    /// Not in force before this instant (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// Not in force from this instant on (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Why; shown by explain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Default for PolicyDocument {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyDocument {
    /// An empty version-1 document, to fill with the builder methods.
    #[must_use]
    pub fn new() -> Self {
        Self {
            version: POLICY_VERSION,
            permissions: Vec::new(),
            roles: Vec::new(),
            bindings: Vec::new(),
            denies: Vec::new(),
        }
    }

    /// Parse a TOML policy document (structure only: [`compile`](crate::compile) validates).
    ///
    /// # Errors
    /// [`RbacError::Parse`] for malformed TOML, unknown fields, or a
    /// principal, scope or timestamp that does not parse.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| RbacError::Parse {
            format: "toml",
            message: e.to_string(),
        })
    }

    /// Parse a JSON policy document (structure only).
    ///
    /// # Errors
    /// As [`PolicyDocument::from_toml`], for JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| RbacError::Parse {
            format: "json",
            message: e.to_string(),
        })
    }

    /// The document as pretty JSON.
    ///
    /// # Errors
    /// [`RbacError::Parse`] if serialization fails (it does not for documents
    /// built from this crate's types).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| RbacError::Parse {
            format: "json",
            message: e.to_string(),
        })
    }

    /// Declare one permission.
    #[must_use]
    pub fn permission(mut self, name: impl Into<String>) -> Self {
        self.permissions.push(name.into());
        self
    }

    /// Declare several permissions.
    #[must_use]
    pub fn permissions<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.permissions.extend(names.into_iter().map(Into::into));
        self
    }

    /// Add a role.
    #[must_use]
    pub fn role(mut self, role: RoleDef) -> Self {
        self.roles.push(role);
        self
    }

    /// Add a binding.
    #[must_use]
    pub fn bind(mut self, binding: Binding) -> Self {
        self.bindings.push(binding);
        self
    }

    /// Add a deny rule.
    #[must_use]
    pub fn deny(mut self, rule: DenyRule) -> Self {
        self.denies.push(rule);
        self
    }
}

impl RoleDef {
    /// A role with no permissions yet.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            permissions: Vec::new(),
            inherits: Vec::new(),
            description: None,
        }
    }

    /// Allow a permission or pattern.
    #[must_use]
    pub fn allow(mut self, pattern: impl Into<String>) -> Self {
        self.permissions.push(pattern.into());
        self
    }

    /// Inherit another role's permissions.
    #[must_use]
    pub fn inherit(mut self, role: impl Into<String>) -> Self {
        self.inherits.push(role.into());
        self
    }
}

impl Binding {
    /// `principal` holds `role` in `scope`, with no time limit.
    #[must_use]
    pub fn new(principal: Principal, role: impl Into<String>, scope: Scope) -> Self {
        Self {
            principal,
            role: role.into(),
            scope,
            not_before: None,
            expires_at: None,
            reason: None,
        }
    }

    /// Valid only from `t` on.
    #[must_use]
    pub fn not_before(mut self, t: Timestamp) -> Self {
        self.not_before = Some(t);
        self
    }

    /// Valid only before `t`.
    #[must_use]
    pub fn expires_at(mut self, t: Timestamp) -> Self {
        self.expires_at = Some(t);
        self
    }

    /// Why the grant exists (required for staff and time-bound grants).
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl DenyRule {
    /// Deny to one principal in `scope`.
    #[must_use]
    pub fn principal(principal: Principal, scope: Scope) -> Self {
        Self {
            principal: Some(principal),
            permissions: Vec::new(),
            scope,
            not_before: None,
            expires_at: None,
            reason: None,
        }
    }

    /// Deny to every principal in `scope`.
    #[must_use]
    pub fn everyone(scope: Scope) -> Self {
        Self {
            principal: None,
            permissions: Vec::new(),
            scope,
            not_before: None,
            expires_at: None,
            reason: None,
        }
    }

    /// Deny a permission or pattern.
    #[must_use]
    pub fn deny(mut self, pattern: impl Into<String>) -> Self {
        self.permissions.push(pattern.into());
        self
    }

    /// In force only from `t` on.
    #[must_use]
    pub fn not_before(mut self, t: Timestamp) -> Self {
        self.not_before = Some(t);
        self
    }

    /// In force only before `t`.
    #[must_use]
    pub fn expires_at(mut self, t: Timestamp) -> Self {
        self.expires_at = Some(t);
        self
    }

    /// Why.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}
