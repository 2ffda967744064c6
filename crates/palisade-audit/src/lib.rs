//! Tamper-evident audit log for multi-tenant services: canonical audit
//! events, one RFC 9162 Merkle tree per tenant, signed checkpoints
//! (HMAC-SHA256 or Ed25519), inclusion and consistency proofs, and an offline
//! verifier that names the first modified, missing, inserted or reordered
//! record. Formats are specified byte for byte in `docs/audit-format.md`.
//!
//! ```
//! use palisade_audit::*;
//! use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};
//!
//! let tenant = TenantId::new_v7();
//! let signer = CheckpointSigner::generate_hmac(KeyId::new("audit-hmac-v1")?)?;
//! let keys = Keyring::new().with(signer.key_id().clone(), signer.verify_key())?;
//! let log = AuditLog::new(Box::new(MemorySinks), signer);
//!
//! let now = Timestamp::from_unix_seconds(1_800_000_000);
//! let event = AuditEvent::new(
//!     now,
//!     Scope::tenant(tenant),
//!     Actor::new(Principal::user("alice@example.com")?)?,
//!     "billing.update",
//!     Resource::new("invoice", "inv_42")?,
//!     Outcome::Denied,
//! )?
//! .with_reason("no grant for billing:update")?
//! .with_detail("api_token", DetailValue::Str("sk_live_123".into()))?; // masked by default
//! let receipt = log.append(event)?;
//!
//! // Prove the record is in the signed tree, then verify the whole export offline.
//! let cp = log.checkpoint(tenant, now)?;
//! let proof = log.with_tenant(tenant, |l| l.prove_inclusion(receipt.index, cp.size()))??;
//! assert!(proof.verify(&receipt.leaf_hash, cp.root()));
//! let mut export = Vec::new();
//! log.export(tenant, now, &mut export)?;
//! assert!(!String::from_utf8_lossy(&export).contains("sk_live"));
//! let report = verify(&export, &keys, tenant);
//! assert!(report.is_ok(), "{:?}", report.problem);
//! assert_eq!(report.records, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod anchors;
mod canonical;
mod checkpoint;
mod default_redactor;
mod error;
mod event;
mod export;
mod export_in;
mod findings;
mod jsonl;
mod keys;
mod log;
mod merkle;
#[cfg(test)]
mod merkle_tests;
mod proof;
mod publish;
mod redact;
mod redact_text;
mod resume;
mod shared;
mod sink;
mod validate;
mod verify;

pub use canonical::{RECORD_VERSION, decode_record, encode_record};
pub use checkpoint::{CHECKPOINT_LABEL, CHECKPOINT_VERSION, Checkpoint, SignatureCheck};
pub use default_redactor::DefaultRedactor;
pub use error::{AuditError, Result};
pub use event::{
    Actor, AuditEvent, DetailValue, MAX_ACTION_LEN, MAX_DETAILS, MAX_REASON_LEN, MAX_TEXT_LEN,
    Outcome, RequestFacts, Resource,
};
pub use export::{EXPORT_FORMAT, EXPORT_VERSION};
pub use findings::{Finding, Problem, Report};
pub use jsonl::{FsyncPolicy, JsonlDir, JsonlFileSink, TornTail};
pub use keys::{Algorithm, CheckpointSigner, KeyId, Keyring, VerifyKey};
pub use log::{CheckpointPolicy, Receipt, TenantLog};
pub use merkle::{Hash, empty_root, leaf_hash, node_hash};
pub use proof::{ConsistencyProof, InclusionProof, MAX_PROOF_HASHES, PROOF_VERSION};
pub use publish::{CheckpointPublisher, FilePublisher, StdoutPublisher, read_published};
pub use redact::{Commitment, Opening, Redaction, Redactor};
pub use redact_text::{MASK, TextField};
pub use shared::{AuditLog, MemorySinks, SinkFactory};
pub use sink::{AuditSink, MemorySink, Record, Resume};
pub use verify::{VerifyOptions, verify, verify_with};
