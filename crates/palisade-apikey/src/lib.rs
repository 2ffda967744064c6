//! API keys for multi-tenant services: prefixed, base62, CRC32-checksummed
//! keys (`pal_live_…`) whose secret is stored only as a peppered
//! HMAC-SHA256 (or Argon2id) hash, with tenant scopes, granted permissions,
//! expiry, IP allow-lists, usage limits, rotation with a grace period,
//! revocation and leak scanning. The byte layout is specified in
//! `docs/apikey-format.md`.
//!
//! ```
//! use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, PublicRejection, VerifyContext};
//! use palisade_tenancy::{Scope, TenantId, Timestamp};
//! use std::time::Duration;
//!
//! let keys = ApiKeys::in_memory(KeyFormat::new("pal")?, PepperSet::new([Pepper::generate(1)?])?);
//! let now = Timestamp::from_unix_seconds(1_800_000_000);
//! let tenant = Scope::tenant(TenantId::new_v7());
//!
//! // Issue: the full key is returned once; the store keeps a hash.
//! let issued = keys.issue(NewKey::new(tenant, "deploy").scopes(["knowledge:*"])?, now)?;
//! let key = issued.expose_secret();
//! assert!(keys.format().looks_valid(key));
//!
//! // Verify on each request.
//! let ctx = VerifyContext::new(now).require("knowledge:read");
//! let who = keys.verify(key, &ctx)?;
//! assert_eq!(who.scope(), &tenant);
//! assert_eq!(who.key_principal().to_string(), format!("key:{}", issued.key_id()));
//!
//! // Rotate with a one-hour grace: the old key works until then.
//! let new = keys.rotate(issued.key_id(), Duration::from_secs(3600), now)?;
//! assert!(keys.verify(key, &ctx).is_ok());
//! let later = VerifyContext::new(now.saturating_add(Duration::from_secs(3601)));
//! let refused = keys.verify(key, &later).unwrap_err();
//! assert_eq!(refused.public(), PublicRejection::KeyInactive);
//! assert!(keys.verify(new.expose_secret(), &later).is_ok());
//!
//! // Find and redact leaked keys in a log line.
//! let line = format!("auth header was Bearer {}", new.expose_secret());
//! assert_eq!(keys.format().scan(&line).len(), 1);
//! assert!(!keys.format().redact(&line).contains(new.expose_secret()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Two kinds of refusal: [`Rejection`] names the exact reason and belongs in
//! logs; [`Rejection::public`] gives the [`PublicRejection`] to send to the
//! caller, which never tells "no such key" from "wrong secret" (an unknown
//! key id also costs the same hashing). Keys issued elsewhere can be
//! imported as SHA-256 digests (verified without a key id) or, for
//! low-entropy keys, as Argon2id (verified with [`ApiKeys::verify_with_id`]).
//!
//! [`ApiKeys::verify_with_id`] is an expensive path: any id with any short
//! text that is not a Palisade key costs an Argon2id hash (a decoy one for
//! an unknown id or a record that is not an Argon2id import, so timing does
//! not reveal which ids exist). Hosts must rate-limit it per client before
//! calling it (the `palisade` facade budgets refused credentials per IP
//! address); otherwise each junk request buys ~12 ms of a core.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod admin;
mod base62;
mod cidr;
mod entry;
mod error;
mod format;
mod hash;
mod import;
mod issued;
mod keyid;
mod keys;
mod memory;
mod pepper;
mod record;
mod scan;
mod scopes;
mod seal;
mod store;
mod verifier;
#[cfg(test)]
mod verifier_tests;
mod verify;

pub use admin::MAX_ROTATION_GRACE;
pub use cidr::Cidr;
pub use entry::KeyEntry;
pub use error::{ApiKeyError, ParseError, PublicRejection, Rejection, StoreError, StoreErrorKind};
pub use format::{BODY_LEN, Env, FORMAT_VERSION, KeyFormat, MAX_PREFIX_LEN, ParsedKey, SECRET_LEN};
pub use hash::{Argon2Params, HASH_LABEL, KeyHash};
pub use import::MAX_FOREIGN_KEY_LEN;
pub use issued::{Hashing, IssuedKey, NewKey};
pub use keyid::{KEY_ID_LEN, KeyId};
pub use keys::ApiKeys;
pub use memory::MemoryStore;
pub use pepper::{MAX_PEPPER_LEN, MIN_PEPPER_LEN, Pepper, PepperSet};
pub use record::{KeyRecord, RECORD_VERSION, RECORD_VERSION_V1, RecordSeal, Refill};
pub use scan::FoundKey;
pub use scopes::{MAX_SCOPE_PART_LEN, scope_covers, validate_scope};
pub use seal::{RECORD_KEY_INFO, RECORD_MAC_LABEL};
pub use store::{BoxFuture, Change, KeyStore, Lookup, Replaced, UseRefused};
pub use verify::{Verified, VerifyContext};
