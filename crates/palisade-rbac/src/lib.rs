//! Compiled RBAC for multi-tenant services: a policy document (roles with
//! inheritance, per-tenant and per-project bindings, deny rules, time-bound
//! break-glass grants) is validated and compiled once, then answers "may
//! this principal do this, in this scope, now?" allocation-free in tens of
//! nanoseconds, narrowed by API-key scopes, with an explanation on demand.
//! The model, file format and decision procedure are in `docs/rbac.md`.
//!
//! ```
//! use palisade_rbac::{compile, Decision, PolicyDocument, Request};
//! use palisade_tenancy::{Principal, Scope, Timestamp};
//!
//! let tenant = "ten_01jd8x5gq0f6r9t2m4b7c3w8ye";
//! let doc = PolicyDocument::from_toml(&format!(r#"
//!     version = 1
//!     permissions = ["inbox:read", "inbox:write", "billing:read"]
//!
//!     [[roles]]
//!     name = "viewer"
//!     permissions = ["inbox:read"]
//!
//!     [[roles]]
//!     name = "member"
//!     inherits = ["viewer"]
//!     permissions = ["inbox:*"]
//!
//!     [[bindings]]
//!     principal = "user:alice@example.com"
//!     role = "member"
//!     scope = "{tenant}"
//! "#))?;
//! let now = Timestamp::from_unix_seconds(1_790_000_000);
//! let policy = compile(&doc, now)?;
//!
//! // Resolve permissions once; check per request.
//! let write = policy.permission("inbox:write").expect("declared");
//! let alice: Principal = "user:alice@example.com".parse()?;
//! let scope: Scope = tenant.parse()?;
//! assert_eq!(policy.check(&Request::new(&alice, scope, write, now)), Decision::Allow);
//!
//! // An API key of alice's that was only granted `inbox:read` narrows it.
//! let key = policy.scope_mask(&["inbox:read"])?;
//! let req = Request::new(&alice, scope, write, now).with_key_scopes(&key);
//! assert_eq!(policy.check(&req), Decision::Deny);
//! println!("{}", policy.explain(&req)); // "... outside the API key's scopes"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bitset;
mod compile;
mod document;
mod error;
mod explain;
mod permission;
mod policy;
mod request;
mod roles;
mod shared;
mod timeline;
mod warning;

// The guide's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/rbac.md")]
struct GuideDoctests;

pub use compile::{MAX_REASON_LEN, MAX_RULES, MAX_TIMED_PER_SCOPE, compile};
pub use document::{Binding, DenyRule, POLICY_VERSION, PolicyDocument, RoleDef};
pub use error::{RbacError, Result};
pub use explain::{DenyTrace, Explanation, GrantTrace, Outcome};
pub use permission::{Generation, MAX_PERMISSION_PART_LEN, MAX_PERMISSIONS, PermissionId};
pub use policy::{CompiledPolicy, HeapUsage};
pub use request::{Decision, Request, ScopeMask, Subject};
pub use roles::MAX_ROLES;
pub use shared::SharedPolicy;
pub use warning::Warning;
