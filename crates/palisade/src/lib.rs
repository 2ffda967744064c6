//! Palisade facade: tenancy, RBAC, envelope encryption, API keys and audit behind one request path.
//!
//! (Work in progress: this crate's issue is open.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]
