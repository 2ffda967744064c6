//! [`ApiKeys`]: issue, verify, rotate, revoke and list keys over a
//! [`KeyStore`], with a pepper set and a key format.

use core::time::Duration;
use std::sync::Arc;

use palisade_tenancy::{ProjectId, Scope, TenantId, Timestamp};
use secrecy::SecretString;

use crate::base62;
use crate::error::{ApiKeyError, Rejection};
use crate::format::{Env, KeyFormat, ParsedKey, SECRET_LEN, display_form};
use crate::hash::{self, Argon2Params, HashCheck, KeyHash, Message};
use crate::issued::{Hashing, IssuedKey, NewKey};
use crate::keyid::{KEY_ID_LEN, KeyId};
use crate::pepper::PepperSet;
use crate::record::KeyRecord;
use crate::scopes::validate_scope;
use crate::store::{KeyEntry, KeyStore, MemoryStore};
use crate::verify::{Verified, VerifyContext};

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
    pub(crate) format: KeyFormat,
    pub(crate) peppers: PepperSet,
    pub(crate) store: S,
    pub(crate) accept_env: Option<Env>,
    rehash_on_verify: bool,
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

    /// Verify a presented key. Checks, in order: format and checksum, the
    /// environment written in the key against [`ApiKeys::accept_only`] (both
    /// from the text alone: no storage touched), record lookup by key id,
    /// the secret's hash in constant time, the key's environment against
    /// the record's, revocation, not-before, expiry, rotation grace, IP
    /// allow-list, required scope, remaining uses.
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
        // The environment is in the key text (public, checksummed): a key
        // of a refused environment is turned away before storage is touched.
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
            self.rehash(verified.key_id(), verified.scope(), &msg);
        }
        Ok(verified)
    }

    /// Hash as if the key existed, so an unknown key id costs the same time
    /// as a wrong secret.
    pub(crate) fn decoy(&self, parsed: &ParsedKey<'_>) {
        let msg = Message::new(&DECOY_SCOPE, parsed.key_id(), parsed.secret());
        core::hint::black_box(hash::hmac_of(
            &self.peppers,
            self.peppers.current_version(),
            &msg,
        ));
    }

    /// The checks after the secret is proven; consumes a use last, so a
    /// refused request does not burn one.
    pub(crate) fn finish(
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
    fn rehash(&self, id: &KeyId, scope: &Scope, msg: &Message<'_>) {
        let Ok(new_hash) = KeyHash::hmac(&self.peppers, msg) else {
            return;
        };
        let current = self.peppers.current_version();
        let _ignored = self.store.update(id, &mut |r| {
            // Only if the record still has the scope the MAC was made over.
            if r.scope == *scope && r.hash.pepper_version().is_some_and(|v| v != current) {
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
    /// The new key is a Palisade key hashed with HMAC-SHA256 under the
    /// current pepper, whatever the old one was (so rotation also migrates
    /// imported keys).
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
