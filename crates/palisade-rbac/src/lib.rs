//! Compiled, allocation-free RBAC policy evaluation per tenant, with API-key scopes, deny rules, time-bound grants and explanations.
//!
//! (Work in progress: this crate's issue is open.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]
