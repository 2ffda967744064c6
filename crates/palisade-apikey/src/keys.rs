//! [`ApiKeys`]: issue, verify, rotate, revoke and list keys over a
//! [`KeyStore`], with a pepper set and a key format. The synchronous
//! methods drive the store's futures by polling them once (a memory store's
//! are always ready) and return [`StoreError::WouldBlock`] when one is not
//! ready; every method has an `_async` twin that awaits them.

use std::sync::Arc;

use palisade_tenancy::{ProjectId, Scope, TenantId, Timestamp};
use secrecy::SecretString;

use crate::base62;
use crate::entry::KeyEntry;
use crate::error::{ApiKeyError, StoreError};
use crate::format::{Env, KeyFormat, SECRET_LEN, display_form};
use crate::hash::{Argon2Params, KeyHash, Message};
use crate::issued::{Hashing, IssuedKey, NewKey};
use crate::keyid::{KEY_ID_LEN, KeyId};
use crate::memory::MemoryStore;
use crate::pepper::PepperSet;
use crate::record::KeyRecord;
use crate::seal::{self, SealCheck};
use crate::store::{Change, KeyStore, Lookup, now_or_would_block};

/// Scope used for the decoy hash computed when a key id is unknown.
pub(crate) const DECOY_SCOPE: Scope = Scope::project(
    TenantId::from_bytes([0; 16]),
    ProjectId::from_bytes([0; 16]),
);

/// The API-key service: one key format, one pepper set, one store.
///
/// ```
/// use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, VerifyContext};
/// use palisade_tenancy::{Scope, TenantId, Timestamp};
///
/// let keys = ApiKeys::in_memory(KeyFormat::new("pal")?, PepperSet::new([Pepper::generate(1)?])?);
/// let now = Timestamp::from_unix_seconds(1_800_000_000);
/// let tenant = Scope::tenant(TenantId::new_v7());
/// let issued = keys.issue(NewKey::new(tenant, "ci").scopes(["knowledge:*"])?, now)?;
/// let ok = keys.verify(issued.expose_secret(), &VerifyContext::new(now).require("knowledge:read"))?;
/// assert_eq!(ok.scope(), &tenant);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ApiKeys<S = MemoryStore> {
    pub(crate) format: KeyFormat,
    pub(crate) peppers: PepperSet,
    pub(crate) store: S,
    pub(crate) accept_env: Option<Env>,
    pub(crate) rehash_on_verify: bool,
    pub(crate) accept_legacy: bool,
    pub(crate) decoy_argon2: Argon2Params,
}

impl ApiKeys<MemoryStore> {
    /// A service over a fresh [`MemoryStore`].
    #[must_use]
    pub fn in_memory(format: KeyFormat, peppers: PepperSet) -> Self {
        Self::new(format, peppers, MemoryStore::new())
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// A service over `store`. Keys of both environments verify, keys under
    /// old peppers are rehashed on their next successful verify, and
    /// unsealed (version 1) records are refused.
    #[must_use]
    pub fn new(format: KeyFormat, peppers: PepperSet, store: S) -> Self {
        Self {
            format,
            peppers,
            store,
            accept_env: None,
            rehash_on_verify: true,
            accept_legacy: false,
            decoy_argon2: Argon2Params::default(),
        }
    }

    /// Accept only keys marked `env` (e.g. refuse `test` keys in production).
    #[must_use]
    pub fn accept_only(mut self, env: Env) -> Self {
        self.accept_env = Some(env);
        self
    }

    /// Whether a successful verify of a key hashed under an old pepper
    /// rewrites its hash under the current pepper (default: yes).
    #[must_use]
    pub fn rehash_on_verify(mut self, on: bool) -> Self {
        self.rehash_on_verify = on;
        self
    }

    /// Whether records of format version 1 (written before record MACs,
    /// so unauthenticated) are accepted during a migration (default: no).
    /// When on, such a record verifies and is sealed as version 2 on its
    /// first successful verify (or any admin change); see
    /// [`ApiKeys::seal_legacy`] to seal them all at once instead. Leave it
    /// off once migrated: while it is on, a database-write attacker can
    /// strip a record's seal and write it as version 1
    /// (`docs/apikey-format.md` §10, "Migration from version 1").
    #[must_use]
    pub fn accept_legacy_records(mut self, on: bool) -> Self {
        self.accept_legacy = on;
        self
    }

    /// The Argon2id cost spent on an unknown key id in
    /// [`ApiKeys::verify_with_id`] (default: OWASP's); match it to the
    /// parameters of the imported hashes.
    #[must_use]
    pub fn decoy_argon2_params(mut self, params: Argon2Params) -> Self {
        self.decoy_argon2 = params;
        self
    }

    /// The key format.
    #[must_use]
    pub fn format(&self) -> &KeyFormat {
        &self.format
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Seal a version 1 record as version 2 (a migration step, run once
    /// in a trusted job over the stored rows before serving with legacy
    /// records refused). The record's content is trusted as it is.
    #[must_use]
    pub fn seal_legacy(&self, mut record: KeyRecord) -> KeyRecord {
        seal::seal(&self.peppers, &mut record);
        record
    }

    /// True when `record`'s MAC verifies under the configured peppers (for
    /// a consistency check of stored rows; verification checks it anyway).
    #[must_use]
    pub fn record_is_authentic(&self, record: &KeyRecord) -> bool {
        seal::check(&self.peppers, record) == SealCheck::Authentic
    }

    /// Issue a key. The returned [`IssuedKey`] is the only place the full
    /// key ever exists; the store keeps its hash.
    ///
    /// # Errors
    /// [`ApiKeyError::Lifetime`] for inconsistent dates or limits,
    /// [`ApiKeyError::StaffOwner`], [`ApiKeyError::Random`],
    /// [`ApiKeyError::Argon2`], or a store error
    /// ([`StoreError::WouldBlock`] when the store must be awaited: use
    /// [`ApiKeys::issue_async`]).
    pub fn issue(&self, req: NewKey, now: Timestamp) -> Result<IssuedKey, ApiKeyError> {
        now_or_would_block(self.issue_async(req, now))
    }

    /// [`ApiKeys::issue`], awaiting the store.
    ///
    /// # Errors
    /// As [`ApiKeys::issue`].
    pub async fn issue_async(&self, req: NewKey, now: Timestamp) -> Result<IssuedKey, ApiKeyError> {
        let (record, secret) = self.mint(req, now)?;
        let entry = self.store.insert(record).await?;
        Ok(self.issued(&entry, &secret))
    }

    /// Draw a key id and secret and build the sealed record for `req`.
    pub(crate) fn mint(
        &self,
        req: NewKey,
        now: Timestamp,
    ) -> Result<(KeyRecord, zeroize::Zeroizing<[u8; SECRET_LEN]>), ApiKeyError> {
        req.check(now)?;
        // One OS call draws the key id and the secret together.
        let mut id = [0u8; KEY_ID_LEN];
        let mut secret = zeroize::Zeroizing::new([0u8; SECRET_LEN]);
        base62::fill_random(id.iter_mut().chain(secret.iter_mut())).map_err(ApiKeyError::Random)?;
        let key_id = KeyId::from_checked(id);
        let msg = Message::new(&req.scope, &key_id, &secret);
        let hash = match req.hashing {
            Hashing::HmacSha256 => KeyHash::hmac(&self.peppers, &msg)?,
            Hashing::Argon2id(p) => KeyHash::argon2id(&p, &msg)?,
        };
        let mut record = req.into_record(key_id, hash, now);
        seal::seal(&self.peppers, &mut record);
        Ok((record, secret))
    }

    /// The one-time result for a stored entry and its secret.
    pub(crate) fn issued(&self, entry: &Arc<KeyEntry>, secret: &[u8; SECRET_LEN]) -> IssuedKey {
        let rec = entry.record();
        let text = self.format.assemble(rec.env, &rec.key_id, secret);
        let display = display_form(self.format.prefix(), rec.env, &rec.key_id);
        IssuedKey::new(
            SecretString::from(text.as_str()),
            display,
            Arc::clone(entry),
        )
    }

    /// Seal a record for storage under the current pepper (an import).
    pub(crate) fn sealed(&self, mut record: KeyRecord) -> KeyRecord {
        seal::seal(&self.peppers, &mut record);
        record
    }

    /// The entry of `id`: from memory, else fetched from the backend.
    pub(crate) async fn load(&self, id: &KeyId) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let found = match self.store.lookup(id) {
            Lookup::Found(e) => Some(e),
            Lookup::Absent => None,
            Lookup::Miss => self.store.fetch(id).await?,
            Lookup::Unavailable(e) => return Err(ApiKeyError::Store(e)),
        };
        found.ok_or_else(|| ApiKeyError::NoSuchKey {
            key_id: id.to_string(),
        })
    }

    /// A [`Change`] that applies `f` to a copy of the current record, raises
    /// its generation and seals it. It refuses to build on a record whose
    /// MAC does not verify (or an unsealed one, unless legacy records are
    /// accepted), except when `any_record` (revocation, which only ever
    /// makes a key less usable).
    pub(crate) fn change<'a, F>(&'a self, any_record: bool, mut f: F) -> Change<'a>
    where
        F: FnMut(&mut KeyRecord) -> Result<(), ApiKeyError> + Send + 'a,
    {
        Box::new(move |cur: &KeyRecord| {
            let ok = match seal::check(&self.peppers, cur) {
                SealCheck::Authentic => true,
                SealCheck::Legacy => self.accept_legacy,
                SealCheck::Tampered => false,
            };
            if !ok && !any_record {
                return Err(ApiKeyError::RecordNotAuthentic {
                    key_id: cur.key_id.to_string(),
                    reason: "its record MAC does not verify (or it is an unsealed version 1 record)",
                });
            }
            let mut r = cur.clone();
            f(&mut r)?;
            r.generation = cur.generation.checked_add(1).ok_or_else(|| {
                ApiKeyError::Store(StoreError::Conflict {
                    key_id: cur.key_id.to_string(),
                    reason: "the generation is exhausted",
                })
            })?;
            seal::seal(&self.peppers, &mut r);
            Ok(r)
        })
    }
}

impl<S> core::fmt::Debug for ApiKeys<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("prefix", &self.format.prefix())
            .field("peppers", &self.peppers)
            .field("accept_env", &self.accept_env)
            .field("accept_legacy", &self.accept_legacy)
            .finish_non_exhaustive()
    }
}
