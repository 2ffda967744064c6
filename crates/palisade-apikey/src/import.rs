//! Migration from other key systems: importing SHA-256 digests (found by
//! digest, no key id needed) and low-entropy keys as Argon2id (verified with
//! their key id), and verifying them.

use secrecy::{ExposeSecret, SecretString};

use palisade_tenancy::Timestamp;

use crate::entry::KeyEntry;
use crate::error::StoreError;
use crate::error::{ApiKeyError, ParseError, Rejection};
use crate::hash::{self, Argon2Params, HashCheck, KeyHash};
use crate::issued::NewKey;
use crate::keyid::KeyId;
use crate::keys::ApiKeys;
use crate::seal::{self, SealCheck};
use crate::store::{KeyStore, Lookup, UseRefused, now_or_would_block, poll_once};
use crate::verify::{Verified, VerifyContext};
use std::sync::Arc;

fn import_fetched(
    fetched: Result<Option<Arc<KeyEntry>>, StoreError>,
    parse_error: ParseError,
) -> Result<Arc<KeyEntry>, Rejection> {
    match fetched {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err(Rejection::Malformed(parse_error)),
        Err(e) => Err(Rejection::StoreUnavailable { kind: e.kind() }),
    }
}

fn import_not_found(lookup: Lookup, parse_error: ParseError) -> Rejection {
    match lookup {
        Lookup::Unavailable(e) => Rejection::StoreUnavailable { kind: e.kind() },
        Lookup::Miss => Rejection::StoreUnavailable {
            kind: crate::error::StoreErrorKind::WouldBlock,
        },
        Lookup::Found(_) | Lookup::Absent => Rejection::Malformed(parse_error),
    }
}

/// Longest foreign (imported) key accepted, in bytes: longer input is
/// refused before any hashing, so huge headers cannot buy hashing work.
pub const MAX_FOREIGN_KEY_LEN: usize = 512;

impl<S: KeyStore> ApiKeys<S> {
    /// Import a key hashed elsewhere as plain SHA-256 of its whole text (hex
    /// or base64, as Unkey stores it), so its holders keep working while they
    /// migrate. Such keys are found by digest; `req.hashing` is ignored.
    ///
    /// # Errors
    /// [`ApiKeyError::Import`] for a malformed digest, [`ApiKeyError::Lifetime`],
    /// [`ApiKeyError::DuplicateKey`] if the digest is already imported.
    pub fn import_sha256(
        &self,
        req: NewKey,
        digest: &str,
        now: Timestamp,
    ) -> Result<KeyId, ApiKeyError> {
        req.check(now)?;
        let hash = KeyHash::sha256_import(digest)?;
        self.insert_import(req, hash, now)
    }

    /// Import a (possibly low-entropy) key of another format whose plain
    /// text is known, stored as Argon2id with `params` over its whole text.
    /// It is verified with [`ApiKeys::verify_with_id`] under the returned id.
    ///
    /// # Errors
    /// [`ApiKeyError::Import`] for an empty key, [`ApiKeyError::Argon2`],
    /// [`ApiKeyError::Lifetime`] or a store error.
    pub fn import_plaintext(
        &self,
        req: NewKey,
        legacy_key: &SecretString,
        params: &Argon2Params,
        now: Timestamp,
    ) -> Result<KeyId, ApiKeyError> {
        req.check(now)?;
        let text = legacy_key.expose_secret();
        if text.is_empty() || text.len() > MAX_FOREIGN_KEY_LEN {
            return Err(ApiKeyError::Import {
                reason: "the legacy key must be 1 to 512 bytes long",
            });
        }
        let hash = KeyHash::argon2id_of_text(params, text)?;
        self.insert_import(req, hash, now)
    }

    /// Import an Argon2id PHC string computed elsewhere over a key's whole
    /// text. It is verified with [`ApiKeys::verify_with_id`].
    ///
    /// # Errors
    /// [`ApiKeyError::Import`] for anything but an Argon2id PHC string,
    /// [`ApiKeyError::Lifetime`] or a store error.
    pub fn import_argon2id(
        &self,
        req: NewKey,
        phc: &str,
        now: Timestamp,
    ) -> Result<KeyId, ApiKeyError> {
        req.check(now)?;
        let hash = KeyHash::argon2id_import(phc)?;
        self.insert_import(req, hash, now)
    }

    /// Seal and insert an imported record (a store that must be awaited
    /// gives [`StoreError::WouldBlock`]: imports are one-off jobs, run
    /// them over a store whose writes complete, or insert
    /// [`ApiKeys::seal_legacy`]ed records through the store directly).
    fn insert_import(
        &self,
        req: NewKey,
        hash: KeyHash,
        now: Timestamp,
    ) -> Result<KeyId, ApiKeyError> {
        let key_id = KeyId::random()?;
        let record = self.sealed(req.into_record(key_id, hash, now));
        now_or_would_block(self.store.insert(record))?;
        Ok(key_id)
    }

    /// Verify `presented` as the key with id `key_id`, for keys whose text
    /// carries no id (imported with [`ApiKeys::import_plaintext`],
    /// [`ApiKeys::import_argon2id`] or [`ApiKeys::import_sha256`]) when the
    /// caller learns the id separately (e.g. as the user name of HTTP Basic
    /// auth). A Palisade-format key must carry `key_id` and is then verified
    /// as by [`ApiKeys::verify`].
    ///
    /// For a text that is not a Palisade key, every refusal before the
    /// secret is proven costs one Argon2id hash: an unknown id, an id whose record is not an Argon2id import (a
    /// SHA-256 import, a Palisade key's record) and an unusable stored hash
    /// spend a decoy hash with [`ApiKeys::decoy_argon2_params`], a wrong
    /// secret the record's own. So timing does not tell which key ids exist,
    /// provided the decoy parameters match those of the imported hashes.
    ///
    /// **This is an expensive path**: any id with any text of at most
    /// [`MAX_FOREIGN_KEY_LEN`] bytes that is not a Palisade key costs an
    /// Argon2id hash (19 MiB and ~12 ms of CPU at the default, OWASP
    /// parameters), so each request is a denial-of-service lever. Hosts
    /// must rate-limit it per client and consult that budget *before*
    /// calling it (the `palisade` facade budgets refused credentials per IP
    /// address, `rate_limits.failed_auth_per_ip`); the decoy hash that hides
    /// which ids exist is exactly what makes an unthrottled caller able to
    /// buy a core's time with junk requests.
    ///
    /// # Errors
    /// As [`ApiKeys::verify`].
    pub fn verify_with_id(
        &self,
        key_id: &KeyId,
        presented: &str,
        ctx: &VerifyContext<'_>,
    ) -> Result<Verified, Rejection> {
        if let Ok(parsed) = self.format.parse(presented) {
            if parsed.key_id() != key_id {
                self.decoy(&parsed);
                return Err(Rejection::UnknownKey);
            }
            return self.verify(presented, ctx);
        }
        if presented.len() > MAX_FOREIGN_KEY_LEN {
            return Err(Rejection::Malformed(ParseError::Length {
                expected: MAX_FOREIGN_KEY_LEN,
                found: presented.len(),
            }));
        }
        let entry = match self.store.lookup(key_id) {
            Lookup::Found(e) => e,
            Lookup::Miss => {
                match poll_once(self.store.fetch(key_id)).unwrap_or(Err(StoreError::WouldBlock)) {
                    Ok(Some(e)) => e,
                    Ok(None) => return Err(self.refuse_with_id(presented, Rejection::UnknownKey)),
                    Err(e) => {
                        let r = Rejection::StoreUnavailable { kind: e.kind() };
                        return Err(self.refuse_with_id(presented, r));
                    }
                }
            }
            Lookup::Unavailable(e) => {
                let r = Rejection::StoreUnavailable { kind: e.kind() };
                return Err(self.refuse_with_id(presented, r));
            }
            Lookup::Absent => return Err(self.refuse_with_id(presented, Rejection::UnknownKey)),
        };
        let hash = &entry.record().hash;
        let check = hash.check_text(presented);
        let sealed = seal::check_digest(&self.peppers, entry.record(), entry.seal_digest());
        // Only an Argon2id import that got as far as comparing has spent an
        // Argon2id hash; every other refusal (a record of another kind, a
        // SHA-256 import, an unusable PHC string) spends the decoy, so that
        // it costs what an unknown id costs and timing does not tell them
        // apart.
        let spent_argon2 = matches!(hash, KeyHash::Argon2idImport { .. })
            && matches!(check, HashCheck::Match | HashCheck::Mismatch);
        if !spent_argon2 && !matches!(check, HashCheck::Match) {
            self.decoy_argon2(presented);
        }
        match check {
            HashCheck::Match => {}
            HashCheck::Mismatch => return Err(Rejection::WrongSecret),
            HashCheck::UnknownPepper(version) => return Err(Rejection::UnknownPepper { version }),
            HashCheck::Unusable => return Err(Rejection::BadStoredHash),
        }
        self.finish_import(entry, ctx, sealed)
    }

    /// Refuse a [`ApiKeys::verify_with_id`] that found no record, after the
    /// work a found one costs (a decoy Argon2id hash and record MAC).
    fn refuse_with_id(&self, presented: &str, why: Rejection) -> Rejection {
        self.decoy_argon2(presented);
        self.decoy_seal();
        why
    }

    /// One Argon2id hash with the decoy parameters, spent by every refusal
    /// of [`ApiKeys::verify_with_id`] that did not hash with Argon2id.
    fn decoy_argon2(&self, presented: &str) {
        let decoy = KeyHash::argon2id_of_text(&self.decoy_argon2, presented);
        core::hint::black_box(decoy.is_ok());
    }

    pub(crate) fn verify_import(
        &self,
        presented: &str,
        ctx: &VerifyContext<'_>,
        parse_error: ParseError,
    ) -> Result<Verified, Rejection> {
        let digest = self.import_digest(presented, parse_error)?;
        let entry = match self.store.lookup_import(&digest) {
            Lookup::Found(e) => e,
            Lookup::Miss => import_fetched(
                poll_once(self.store.fetch_import(&digest)).unwrap_or(Err(StoreError::WouldBlock)),
                parse_error,
            )?,
            other => return Err(import_not_found(other, parse_error)),
        };
        let sealed = self.check_import_entry(&entry, &digest)?;
        self.finish_import(entry, ctx, sealed)
    }

    /// [`ApiKeys::verify`] of an imported key's text, awaiting the store.
    pub(crate) async fn verify_import_async(
        &self,
        presented: &str,
        ctx: &VerifyContext<'_>,
        parse_error: ParseError,
    ) -> Result<Verified, Rejection> {
        let digest = self.import_digest(presented, parse_error)?;
        let entry = match self.store.lookup_import(&digest) {
            Lookup::Found(e) => e,
            Lookup::Miss => import_fetched(self.store.fetch_import(&digest).await, parse_error)?,
            other => return Err(import_not_found(other, parse_error)),
        };
        let sealed = self.check_import_entry(&entry, &digest)?;
        self.before_import_use(&entry, ctx, sealed)?;
        let remaining = self.take_use_async(&entry, ctx).await?;
        entry.touch(ctx.now);
        Ok(Verified::new(entry, remaining, false))
    }

    fn import_digest(
        &self,
        presented: &str,
        parse_error: ParseError,
    ) -> Result<[u8; 32], Rejection> {
        if presented.len() > MAX_FOREIGN_KEY_LEN {
            return Err(Rejection::Malformed(parse_error));
        }
        Ok(hash::sha256(presented))
    }

    fn check_import_entry(
        &self,
        entry: &KeyEntry,
        digest: &[u8; 32],
    ) -> Result<SealCheck, Rejection> {
        let sealed = seal::check_digest(&self.peppers, entry.record(), entry.seal_digest());
        if !matches!(entry.record().hash.check_import(digest), HashCheck::Match) {
            return Err(Rejection::WrongSecret);
        }
        Ok(sealed)
    }

    /// The checks after an imported key's secret is proven, before a use
    /// is taken. (A legacy record of an imported key is accepted under
    /// [`ApiKeys::accept_legacy_records`] but not resealed on verify.)
    fn before_import_use(
        &self,
        entry: &KeyEntry,
        ctx: &VerifyContext<'_>,
        sealed: SealCheck,
    ) -> Result<(), Rejection> {
        self.check_seal(sealed)?;
        if self.accept_env.is_some_and(|env| env != entry.record().env) {
            return Err(Rejection::WrongEnvironment {
                found: entry.record().env,
            });
        }
        self.check_use(entry, ctx)
    }

    fn finish_import(
        &self,
        entry: Arc<KeyEntry>,
        ctx: &VerifyContext<'_>,
        sealed: SealCheck,
    ) -> Result<Verified, Rejection> {
        self.before_import_use(&entry, ctx, sealed)?;
        let remaining = self.store.take_use(&entry, ctx.now).map_err(|r| match r {
            UseRefused::Exhausted => Rejection::UsesExhausted,
            UseRefused::Unavailable(kind) => Rejection::StoreUnavailable { kind },
        })?;
        entry.touch(ctx.now);
        Ok(Verified::new(entry, remaining, false))
    }
}
