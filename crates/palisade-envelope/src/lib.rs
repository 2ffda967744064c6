//! Key-committing envelope encryption for multi-tenant services: each value
//! is sealed with AES-256-GCM under a per-message key derived from a data
//! key, which is itself wrapped by a versioned key-encryption key (KEK) with
//! the tenant [`Scope`](palisade_tenancy::Scope) bound in. A ciphertext
//! opens only under the one data key that made it and the exact
//! [`EncryptionContext`] (tenant, table, column, record) it was sealed with;
//! KEKs rotate without downtime ([`Envelope::rewrap`], [`Envelope::sweep`])
//! and large documents stream in constant memory.
//!
//! ```
//! use palisade_envelope::{EncryptionContext, Envelope, Kek, LocalKeyring, Rewrap, key_ref};
//! use palisade_tenancy::{Scope, TenantId};
//!
//! let keyring = LocalKeyring::with_primary("provider-keys", Kek::generate()?)?;
//! let env = Envelope::new(keyring);
//! let acme = Scope::tenant(TenantId::new_v7());
//! let ctx = EncryptionContext::new(acme).with("table", "provider_keys")?.with("record", "42")?;
//!
//! let ct = env.seal(&ctx, b"sk-live-abc")?;
//! assert_eq!(&env.open(&ctx, &ct)?[..], b"sk-live-abc");
//!
//! // Another record, or another tenant, does not open.
//! let other_record = EncryptionContext::new(acme).with("table", "provider_keys")?.with("record", "43")?;
//! assert!(env.open(&other_record, &ct).is_err());
//! let other_tenant = EncryptionContext::new(Scope::tenant(TenantId::new_v7()))
//!     .with("table", "provider_keys")?.with("record", "42")?;
//! assert!(env.open(&other_tenant, &ct).is_err());
//!
//! // Rotate the KEK, rewrap the header only, then retire version 1.
//! let id = key_ref(&ct)?.kek;
//! env.provider().rotate(&id, Kek::generate()?)?;
//! let Rewrap::Rewrapped(ct2) = env.rewrap(&ctx, &ct)? else { unreachable!() };
//! assert_eq!(key_ref(&ct2)?.version, 2);
//! env.provider().set_min_decryption_version(&id, 2)?;
//! assert!(env.open(&ctx, &ct).is_err());
//! assert_eq!(&env.open(&ctx, &ct2)?[..], b"sk-live-abc");
//! # Ok::<(), palisade_envelope::EnvelopeError>(())
//! ```
//!
//! The byte format, the key-derivation and the keyring text format are
//! specified in `docs/envelope-format.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod async_envelope;
mod backend;
mod cache;
mod context;
mod derive;
mod envelope;
mod error;
mod format;
mod keyring;
mod provider;
mod scoped;
mod secret;
mod single;
mod stream;

#[cfg(test)]
mod kat;
#[cfg(test)]
mod review_tests;
#[cfg(test)]
mod worked_example;

pub use async_envelope::AsyncEnvelope;
pub use backend::{BACKEND, TAG_LEN};
pub use cache::CacheLimits;
pub use context::{
    CONTEXT_VERSION, EncryptionContext, MAX_CONTEXT_FIELDS, MAX_CONTEXT_KEY_LEN,
    MAX_CONTEXT_VALUE_LEN,
};
pub use derive::{COMMITMENT_LEN, NONCE_LEN};
pub use envelope::{Envelope, Rewrap, SweepReport, key_ref};
pub use error::{DecryptFailure, EnvelopeError, Result};
pub use format::{
    DEFAULT_SEGMENT_SIZE, FORMAT_VERSION, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE,
    SUITE_AES256GCM_HKDF_COMMIT,
};
pub use keyring::{KEYRING_MAGIC, LOCAL_WRAPPED_LEN, LocalKeyring};
pub use provider::{
    AsyncKeyProvider, KekId, KeyProvider, KeyRef, MAX_KEK_ID_LEN, MAX_WRAPPED_LEN, ProviderFuture,
    WrappedKey,
};
pub use scoped::ScopedEnvelope;
pub use secret::{DataKey, KEY_LEN, Kek};
pub use single::MAX_SINGLE_LEN;
pub use stream::{DecryptReader, EncryptWriter, StreamOpener, StreamSealer};
#[cfg(test)]
mod perf_probe;
