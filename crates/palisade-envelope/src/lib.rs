//! Key-committing envelope encryption bound to tenant context, with versioned key-encryption keys, rewrap and streaming.
//!
//! (Work in progress: this crate's issue is open.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]
