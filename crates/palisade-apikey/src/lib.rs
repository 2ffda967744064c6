//! Prefixed, checksummed API keys with peppered hashes, scopes, expiry, rotation with grace, revocation and leak scanning.
//!
//! (Work in progress: this crate's issue is open.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]
