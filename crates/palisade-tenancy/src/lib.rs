//! Tenancy primitives for multi-tenant services: typed tenant and project
//! ids, request [`Scope`]s with canonical bytes for cryptographic binding,
//! [`Scoped<T>`] values that cannot be read across tenants, per-tenant
//! [`Namespace`]s for external stores, and [`RetentionPolicy`] with "no
//! prompt storage" as the default. Every other Palisade crate builds on it.
//!
//! ```
//! use palisade_tenancy::{Namespace, ProjectId, RecordKind, RetentionPolicy, Scope, Scoped, TenantId, Timestamp};
//!
//! let acme = TenantId::new_v7();
//! let request = Scope::project(acme, ProjectId::new_v7());
//!
//! // A value owned by the whole tenant is readable from any of its projects…
//! let settings = Scoped::new(Scope::tenant(acme), "acme settings");
//! assert_eq!(*settings.get(&request)?, "acme settings");
//! // …and from no other tenant.
//! assert!(settings.get(&Scope::tenant(TenantId::new_v7())).is_err());
//!
//! // Canonical bytes to bind into encryption contexts and signatures.
//! assert_eq!(request.to_context_bytes().as_slice().len(), 34);
//!
//! // A per-tenant vector-store namespace, and the default retention rules.
//! let ns = Namespace::transparent(&request, "vec")?;
//! assert!(ns.as_str().len() <= 63);
//! let now = Timestamp::now();
//! assert!(!RetentionPolicy::default().may_store(&RecordKind::PROMPT));
//! # let _ = now;
//! # Ok::<(), palisade_tenancy::TenancyError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod id;
mod namespace;
mod permission;
mod principal;
mod retention;
mod scope;
mod scoped;
mod time;

pub use error::{Result, TenancyError};
pub use id::{ProjectId, TenantId};
pub use namespace::{MAX_NAMESPACE_LEN, MAX_PURPOSE_LEN, Namespace, NamespaceKey};
pub use permission::{
    MAX_PERMISSION_LEN, PermissionSyntax, check_action, check_pattern, check_permission,
    is_permission_part, pattern_covers,
};
pub use principal::{MAX_PRINCIPAL_ID_LEN, Principal, PrincipalKind};
pub use retention::{
    MAX_RETENTION_DAYS, RecordKind, Retention, RetentionDecision, RetentionPolicy,
};
pub use scope::{SCOPE_BYTES_VERSION, Scope, ScopeBytes};
pub use scoped::{Scoped, filter_visible, filter_visible_ref};
pub use time::Timestamp;
