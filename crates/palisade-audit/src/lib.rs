//! Tamper-evident audit log: canonical events, per-tenant Merkle trees, signed checkpoints, proofs and an offline verifier.
//!
//! (Work in progress: this crate's issue is open.)
#![forbid(unsafe_code)]
#![deny(missing_docs)]
