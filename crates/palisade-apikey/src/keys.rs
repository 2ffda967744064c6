//! [`ApiKeys`]: issue, verify, rotate, revoke and list keys over a
//! [`KeyStore`], with a pepper set and a key format.

use core::time::Duration;
use std::sync::Arc;

use palisade_tenancy::{ProjectId, Scope, TenantId, Timestamp};
use secrecy::{ExposeSecret, SecretString};

use crate::base62;
use crate::error::{ApiKeyError, ParseError, Rejection};
use crate::format::{Env, KeyFormat, ParsedKey, SECRET_LEN, display_form};
use crate::hash::{self, Argon2Params, HashCheck, KeyHash, Message};
use crate::issued::{Hashing, IssuedKey, NewKey};
use crate::keyid::{KEY_ID_LEN, KeyId};
use crate::pepper::PepperSet;
use crate::record::KeyRecord;
use crate::scopes::validate_scope;
use crate::store::{KeyEntry, KeyStore, MemoryStore};
use crate::verify::{Verified, VerifyContext};

/// Longest foreign (imported) key accepted, in bytes: longer input is
/// refused before any hashing, so huge headers cannot buy hashing work.
pub const MAX_FOREIGN_KEY_LEN: usize = 512;

/// Scope used for the decoy hash computed when a key id is unknown.
const DECOY_SCOPE: Scope = Scope::project(
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
    format: KeyFormat,
    peppers: PepperSet,
    store: S,
    accept_env: Option<Env>,
    rehash_on_verify: bool,
    decoy_argon2: Argon2Params,
}

impl ApiKeys<MemoryStore> {
    /// A service over a fresh [`MemoryStore`].
    #[must_use]
    pub fn in_memory(format: KeyFormat, peppers: PepperSet) -> Self {
        Self::new(format, peppers, MemoryStore::new())
    }
}

impl<S: KeyStore> ApiKeys<S> {
    /// A service over `store`. Keys of both environments verify and keys
    /// under old peppers are rehashed on their next successful verify.
    #[must_use]
    pub fn new(format: KeyFormat, peppers: PepperSet, store: S) -> Self {
        Self {
            format,
            peppers,
            store,
            accept_env: None,
            rehash_on_verify: true,
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

    /// Issue a key. The returned [`IssuedKey`] is the only place the full
    /// key ever exists; the store keeps its hash.
    ///
    /// # Errors
    /// [`ApiKeyError::Lifetime`] for inconsistent dates or limits,
    /// [`ApiKeyError::Random`], [`ApiKeyError::Argon2`], or a store error.
    pub fn issue(&self, req: NewKey, now: Timestamp) -> Result<IssuedKey, ApiKeyError> {
        self.issue_inner(req, now, None)
    }

    fn issue_inner(
        &self,
        req: NewKey,
        now: Timestamp,
        rotated_from: Option<KeyId>,
    ) -> Result<IssuedKey, ApiKeyError> {
        req.check(now)?;
        // One OS call draws the key id and the secret together.
        let mut id = [0u8; KEY_ID_LEN];
        let mut secret = zeroize::Zeroizing::new([0u8; SECRET_LEN]);
        base62::fill_random(id.iter_mut().chain(secret.iter_mut())).map_err(ApiKeyError::Random)?;
        let secret: &[u8; SECRET_LEN] = &secret;
        let key_id = KeyId::from_checked(id);
        let msg = Message::new(&req.scope, &key_id, secret);
        let hash = match req.hashing {
            Hashing::HmacSha256 => KeyHash::hmac(&self.peppers, &msg)?,
            Hashing::Argon2id(p) => KeyHash::argon2id(&p, &msg)?,
        };
        let text = self.format.assemble(req.env, &key_id, secret);
        let display = display_form(self.format.prefix(), req.env, &key_id);
        let mut record = req.into_record(key_id, hash, now);
        record.rotated_from = rotated_from;
        let entry = self.store.insert(record)?;
        Ok(IssuedKey::new(
            SecretString::from(text.as_str()),
            display,
            entry,
        ))
    }

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
        let key_id = KeyId::random()?;
        self.store.insert(req.into_record(key_id, hash, now))?;
        Ok(key_id)
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
        let key_id = KeyId::random()?;
        self.store.insert(req.into_record(key_id, hash, now))?;
        Ok(key_id)
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
        let key_id = KeyId::random()?;
        self.store.insert(req.into_record(key_id, hash, now))?;
        Ok(key_id)
    }

    /// Verify `presented` as the key with id `key_id`, for keys whose text
    /// carries no id (imported with [`ApiKeys::import_plaintext`],
    /// [`ApiKeys::import_argon2id`] or [`ApiKeys::import_sha256`]) when the
    /// caller learns the id separately (e.g. as the user name of HTTP Basic
    /// auth). A Palisade-format key must carry `key_id` and is then verified
    /// as by [`ApiKeys::verify`].
    ///
    /// An unknown id costs one Argon2id hash (see
    /// [`ApiKeys::decoy_argon2_params`]), like a wrong secret.
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
        let Some(entry) = self.store.get(key_id) else {
            let decoy = KeyHash::argon2id_of_text(&self.decoy_argon2, presented);
            core::hint::black_box(decoy.is_ok());
            return Err(Rejection::UnknownKey);
        };
        match entry.record().hash.check_text(presented) {
            HashCheck::Match => {}
            HashCheck::Mismatch => return Err(Rejection::WrongSecret),
            HashCheck::UnknownPepper(version) => return Err(Rejection::UnknownPepper { version }),
            HashCheck::Unusable => return Err(Rejection::BadStoredHash),
        }
        if self.accept_env.is_some_and(|env| env != entry.record().env) {
            return Err(Rejection::WrongEnvironment {
                found: entry.record().env,
            });
        }
        self.finish(entry, ctx, false)
    }

    /// Verify a presented key. Checks, in order: format and checksum (no
    /// storage touched), record lookup by key id, the secret's hash in
    /// constant time, environment, revocation, not-before, expiry, rotation
    /// grace, IP allow-list, required scope, remaining uses.
    ///
    /// On success no heap allocation is made (HMAC mode, current pepper).
    ///
    /// # Errors
    /// A [`Rejection`] for the log; send only [`Rejection::public`] to the
    /// caller.
    pub fn verify(&self, presented: &str, ctx: &VerifyContext<'_>) -> Result<Verified, Rejection> {
        let parsed = match self.format.parse(presented) {
            Ok(p) => p,
            Err(e) if self.store.has_imports() => return self.verify_import(presented, ctx, e),
            Err(e) => return Err(Rejection::Malformed(e)),
        };
        if self.accept_env.is_some_and(|env| env != parsed.env()) {
            return Err(Rejection::WrongEnvironment {
                found: parsed.env(),
            });
        }
        let Some(entry) = self.store.get(parsed.key_id()) else {
            self.decoy(&parsed);
            return Err(Rejection::UnknownKey);
        };
        let rec = entry.record();
        let msg = Message::new(&rec.scope, parsed.key_id(), parsed.secret());
        match rec.hash.check(&self.peppers, &msg) {
            HashCheck::Match => {}
            HashCheck::Mismatch => return Err(Rejection::WrongSecret),
            HashCheck::UnknownPepper(version) => return Err(Rejection::UnknownPepper { version }),
            HashCheck::Unusable => return Err(Rejection::BadStoredHash),
        }
        if rec.env != parsed.env() {
            return Err(Rejection::WrongEnvironment {
                found: parsed.env(),
            });
        }
        let needs_rehash = rec
            .hash
            .pepper_version()
            .is_some_and(|v| v != self.peppers.current_version());
        let verified = self.finish(entry, ctx, needs_rehash)?;
        if needs_rehash && self.rehash_on_verify {
            self.rehash(verified.key_id(), &msg);
        }
        Ok(verified)
    }

    /// Hash as if the key existed, so an unknown key id costs the same time
    /// as a wrong secret.
    fn decoy(&self, parsed: &ParsedKey<'_>) {
        let msg = Message::new(&DECOY_SCOPE, parsed.key_id(), parsed.secret());
        core::hint::black_box(hash::hmac_of(
            &self.peppers,
            self.peppers.current_version(),
            &msg,
        ));
    }

    fn verify_import(
        &self,
        presented: &str,
        ctx: &VerifyContext<'_>,
        parse_error: ParseError,
    ) -> Result<Verified, Rejection> {
        if presented.len() > MAX_FOREIGN_KEY_LEN {
            return Err(Rejection::Malformed(parse_error));
        }
        let digest = hash::sha256(presented);
        let Some(entry) = self.store.get_import(&digest) else {
            return Err(Rejection::Malformed(parse_error));
        };
        if !matches!(entry.record().hash.check_import(&digest), HashCheck::Match) {
            return Err(Rejection::WrongSecret);
        }
        if self.accept_env.is_some_and(|env| env != entry.record().env) {
            return Err(Rejection::WrongEnvironment {
                found: entry.record().env,
            });
        }
        self.finish(entry, ctx, false)
    }

    /// The checks after the secret is proven; consumes a use last, so a
    /// refused request does not burn one.
    fn finish(
        &self,
        entry: Arc<KeyEntry>,
        ctx: &VerifyContext<'_>,
        needs_rehash: bool,
    ) -> Result<Verified, Rejection> {
        let rec = entry.record();
        rec.check_window(ctx.now)?;
        if !rec.ip_allowed(ctx.ip) {
            return Err(Rejection::IpNotAllowed);
        }
        if ctx.required_scope.is_some_and(|s| !rec.grants(s)) {
            return Err(Rejection::ScopeMissing);
        }
        let remaining = entry
            .try_consume(ctx.now)
            .map_err(|()| Rejection::UsesExhausted)?;
        entry.touch(ctx.now);
        Ok(Verified::new(entry, remaining, needs_rehash))
    }

    /// Rewrite an HMAC hash under the current pepper (best effort: a failure
    /// leaves the old, still valid hash in place).
    fn rehash(&self, id: &KeyId, msg: &Message<'_>) {
        let Ok(new_hash) = KeyHash::hmac(&self.peppers, msg) else {
            return;
        };
        let current = self.peppers.current_version();
        let _ignored = self.store.update(id, &mut |r| {
            if r.hash.pepper_version().is_some_and(|v| v != current) {
                r.hash = new_hash.clone();
            }
            Ok(())
        });
    }

    /// Revoke a key from `now` on (idempotent: an earlier revocation stays).
    ///
    /// # Errors
    /// [`ApiKeyError::NoSuchKey`] or a store error.
    pub fn revoke(&self, id: &KeyId, now: Timestamp) -> Result<(), ApiKeyError> {
        self.store.update(id, &mut |r| {
            r.revoked_at = Some(r.revoked_at.map_or(now, |t| t.min(now)));
            Ok(())
        })?;
        Ok(())
    }

    /// Roll a key: issue a new one with the same tenant, owner, scopes,
    /// limits and expiry, and let the old one keep working for `grace`
    /// (zero: it stops now). Both keys are live during the grace period.
    ///
    /// # Errors
    /// [`ApiKeyError::NoSuchKey`], [`ApiKeyError::Inactive`] when the old
    /// key is revoked, expired or past an earlier grace, or an issue error.
    pub fn rotate(
        &self,
        id: &KeyId,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, ApiKeyError> {
        let old = self.store.get(id).ok_or_else(|| ApiKeyError::NoSuchKey {
            key_id: id.to_string(),
        })?;
        if !old.record().is_active_at(now) {
            return Err(ApiKeyError::Inactive {
                key_id: id.to_string(),
            });
        }
        let mut req = NewKey::like(old.record());
        req.remaining_uses = old.remaining_uses();
        let issued = self.issue_inner(req, now, Some(*id))?;
        let until = now.saturating_add(grace);
        self.store.update(id, &mut |r| {
            r.grace_until = Some(r.grace_until.map_or(until, |g| g.min(until)));
            Ok(())
        })?;
        Ok(issued)
    }

    /// Replace a key's granted scopes (bumps its generation).
    ///
    /// # Errors
    /// [`ApiKeyError::ScopeSyntax`], [`ApiKeyError::NoSuchKey`] or a store error.
    pub fn set_scopes(&self, id: &KeyId, scopes: &[&str]) -> Result<(), ApiKeyError> {
        for s in scopes {
            validate_scope(s)?;
        }
        self.store.update(id, &mut |r| {
            r.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
            Ok(())
        })?;
        Ok(())
    }

    /// Every key record of `tenant` with live counters, oldest first. Records
    /// hold hashes, never secrets.
    #[must_use]
    pub fn list(&self, tenant: TenantId) -> Vec<KeyRecord> {
        self.store
            .list_by_tenant(tenant)
            .iter()
            .map(|e| e.snapshot())
            .collect()
    }
}

impl<S> core::fmt::Debug for ApiKeys<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("prefix", &self.format.prefix())
            .field("peppers", &self.peppers)
            .field("accept_env", &self.accept_env)
            .finish_non_exhaustive()
    }
}
