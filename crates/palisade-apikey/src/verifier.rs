//! The verification path: [`ApiKeys::verify`] (synchronous, memory hit,
//! allocation-free) and [`ApiKeys::verify_async`] (awaits a cache fill).

use std::sync::Arc;

use palisade_tenancy::PrincipalKind;

use crate::entry::KeyEntry;
use crate::error::{Rejection, StoreError, StoreErrorKind};
use crate::format::ParsedKey;
use crate::hash::{self, HashCheck, KeyHash, Message};
use crate::keyid::KeyId;
use crate::keys::{ApiKeys, DECOY_SCOPE};
use crate::record::KeyRecord;
use crate::seal::{self, SealCheck};
use crate::store::{KeyStore, Lookup, UseRefused, poll_once};
use crate::verify::{Verified, VerifyContext};

/// What the authentication step found out about a record.
pub(crate) struct Authenticated {
    /// The hash uses an older pepper than the current one.
    pub(crate) needs_rehash: bool,
    /// The record is an unsealed version 1 record (accepted as legacy).
    pub(crate) legacy: bool,
}

impl<S: KeyStore> ApiKeys<S> {
    /// Verify a presented key. Checks, in order: format and checksum, the
    /// environment written in the key against [`ApiKeys::accept_only`] (both
    /// from the text alone: no storage touched), record lookup by key id
    /// (memory only; a miss polls [`KeyStore::fetch`] once), the secret's
    /// hash in constant time and the record MAC (both always computed),
    /// the key's environment against the record's, a staff owner,
    /// revocation, not-before, expiry, rotation grace, IP allow-list,
    /// required scope, remaining uses.
    ///
    /// On success no heap allocation is made (HMAC mode, current pepper,
    /// record in memory). Every refusal before the secret is proven costs
    /// one secret HMAC and one record MAC (decoys when there is no record
    /// or no usable pepper), so timing does not tell them apart.
    ///
    /// # Errors
    /// A [`Rejection`] for the log; send only [`Rejection::public`] to the
    /// caller. [`Rejection::StoreUnavailable`] (503) when the store cannot
    /// answer, or must be awaited (use [`ApiKeys::verify_async`]).
    pub fn verify(&self, presented: &str, ctx: &VerifyContext<'_>) -> Result<Verified, Rejection> {
        let parsed = match self.format.parse(presented) {
            Ok(p) => p,
            Err(e) if self.store.has_imports() => return self.verify_import(presented, ctx, e),
            Err(e) => return Err(Rejection::Malformed(e)),
        };
        self.check_env(&parsed)?;
        let entry = match self.store.lookup(parsed.key_id()) {
            Lookup::Found(e) => e,
            Lookup::Miss => {
                let fetched = poll_once(self.store.fetch(parsed.key_id()))
                    .unwrap_or(Err(StoreError::WouldBlock));
                self.fetched(&parsed, fetched)?
            }
            other => return Err(self.not_found(&parsed, other)),
        };
        let auth = self.authenticate(&parsed, &entry)?;
        self.check_use(&entry, ctx)?;
        let remaining = self.store.take_use(&entry, ctx.now).map_err(use_refused)?;
        entry.touch(ctx.now);
        let mut v = Verified::new(entry, remaining, auth.needs_rehash);
        if (auth.needs_rehash && self.rehash_on_verify) || auth.legacy {
            let done = poll_once(self.rewrite(&parsed, &v, auth.legacy));
            v.set_rewritten(done.unwrap_or(false), auth.legacy);
        }
        Ok(v)
    }

    /// [`ApiKeys::verify`], awaiting a cache fill on a miss, the shared
    /// use counter of a key with a use limit, and a rehash.
    ///
    /// # Errors
    /// As [`ApiKeys::verify`].
    pub async fn verify_async(
        &self,
        presented: &str,
        ctx: &VerifyContext<'_>,
    ) -> Result<Verified, Rejection> {
        let parsed = match self.format.parse(presented) {
            Ok(p) => p,
            Err(e) if self.store.has_imports() => {
                return self.verify_import_async(presented, ctx, e).await;
            }
            Err(e) => return Err(Rejection::Malformed(e)),
        };
        self.check_env(&parsed)?;
        let entry = match self.store.lookup(parsed.key_id()) {
            Lookup::Found(e) => e,
            Lookup::Miss => {
                let fetched = self.store.fetch(parsed.key_id()).await;
                self.fetched(&parsed, fetched)?
            }
            other => return Err(self.not_found(&parsed, other)),
        };
        let auth = self.authenticate(&parsed, &entry)?;
        self.check_use(&entry, ctx)?;
        let remaining = self.take_use_async(&entry, ctx).await?;
        entry.touch(ctx.now);
        let mut v = Verified::new(entry, remaining, auth.needs_rehash);
        if (auth.needs_rehash && self.rehash_on_verify) || auth.legacy {
            let done = self.rewrite(&parsed, &v, auth.legacy).await;
            v.set_rewritten(done, auth.legacy);
        }
        Ok(v)
    }

    pub(crate) async fn take_use_async(
        &self,
        entry: &KeyEntry,
        ctx: &VerifyContext<'_>,
    ) -> Result<Option<u64>, Rejection> {
        if entry.record().live_uses_bound().is_some() {
            self.store.take_use_async(entry, ctx.now).await
        } else {
            self.store.take_use(entry, ctx.now)
        }
        .map_err(use_refused)
    }

    fn check_env(&self, parsed: &ParsedKey<'_>) -> Result<(), Rejection> {
        // The environment is in the key text (public, checksummed): a key
        // of a refused environment is turned away before storage is touched.
        if self.accept_env.is_some_and(|env| env != parsed.env()) {
            return Err(Rejection::WrongEnvironment {
                found: parsed.env(),
            });
        }
        Ok(())
    }

    /// The outcome of a fetch after a miss.
    fn fetched(
        &self,
        parsed: &ParsedKey<'_>,
        fetched: Result<Option<Arc<KeyEntry>>, StoreError>,
    ) -> Result<Arc<KeyEntry>, Rejection> {
        match fetched {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(self.not_found(parsed, Lookup::Absent)),
            Err(e) => Err(self.not_found(parsed, Lookup::Unavailable(e))),
        }
    }

    /// Spend the decoy and name the refusal for a lookup without an entry.
    fn not_found(&self, parsed: &ParsedKey<'_>, lookup: Lookup) -> Rejection {
        self.decoy(parsed);
        match lookup {
            Lookup::Unavailable(e) => Rejection::StoreUnavailable { kind: e.kind() },
            Lookup::Miss => Rejection::StoreUnavailable {
                kind: StoreErrorKind::WouldBlock,
            },
            Lookup::Found(_) | Lookup::Absent => Rejection::UnknownKey,
        }
    }

    /// Hash and record-MAC as if the key existed, so an unknown key id
    /// costs the same time as a wrong secret.
    pub(crate) fn decoy(&self, parsed: &ParsedKey<'_>) {
        let msg = Message::new(&DECOY_SCOPE, parsed.key_id(), parsed.secret());
        core::hint::black_box(hash::hmac_of(
            &self.peppers,
            self.peppers.current_version(),
            &msg,
        ));
        self.decoy_seal();
    }

    /// One keyed record-MAC step (the per-verify cost of a record check).
    pub(crate) fn decoy_seal(&self) {
        seal::decoy(&self.peppers);
    }

    /// The secret and the record MAC (both always computed), then the
    /// environment and the owner.
    fn authenticate(
        &self,
        parsed: &ParsedKey<'_>,
        entry: &KeyEntry,
    ) -> Result<Authenticated, Rejection> {
        let rec = entry.record();
        let msg = Message::new(&rec.scope, parsed.key_id(), parsed.secret());
        let secret = rec.hash.check(&self.peppers, &msg);
        let sealed = seal::check_digest(&self.peppers, rec, entry.seal_digest());
        match secret {
            HashCheck::Match => {}
            HashCheck::Mismatch => return Err(Rejection::WrongSecret),
            HashCheck::UnknownPepper(version) => return Err(Rejection::UnknownPepper { version }),
            HashCheck::Unusable => return Err(Rejection::BadStoredHash),
        }
        let legacy = self.check_seal(sealed)?;
        if rec.env != parsed.env() {
            return Err(Rejection::WrongEnvironment {
                found: parsed.env(),
            });
        }
        let needs_rehash = rec
            .hash
            .pepper_version()
            .is_some_and(|v| v != self.peppers.current_version());
        Ok(Authenticated {
            needs_rehash,
            legacy,
        })
    }

    /// `Ok(legacy)` for an acceptable seal outcome.
    pub(crate) fn check_seal(&self, sealed: SealCheck) -> Result<bool, Rejection> {
        match sealed {
            SealCheck::Authentic => Ok(false),
            SealCheck::Legacy if self.accept_legacy => Ok(true),
            SealCheck::Legacy => Err(Rejection::RecordUnsealed),
            SealCheck::Tampered => Err(Rejection::RecordTampered),
        }
    }

    /// The checks after the secret and record are proven, before a use is
    /// taken (so a refused request does not burn one).
    pub(crate) fn check_use(
        &self,
        entry: &KeyEntry,
        ctx: &VerifyContext<'_>,
    ) -> Result<(), Rejection> {
        let rec = entry.record();
        if rec
            .owner
            .as_ref()
            .is_some_and(|o| o.kind() == PrincipalKind::Staff)
        {
            return Err(Rejection::StaffOwned);
        }
        rec.check_window(ctx.now)?;
        if !rec.ip_allowed(ctx.ip) {
            return Err(Rejection::IpNotAllowed);
        }
        if ctx.required_scope.is_some_and(|s| !rec.grants(s)) {
            return Err(Rejection::ScopeMissing);
        }
        Ok(())
    }

    /// After a successful verify: rewrite the hash under the current pepper
    /// and/or seal a legacy record (best effort: a failure leaves the old,
    /// still valid record in place). True when the store took the write.
    async fn rewrite(&self, parsed: &ParsedKey<'_>, v: &Verified, legacy: bool) -> bool {
        let new_hash = if v.needs_rehash() && self.rehash_on_verify {
            let msg = Message::new(v.scope(), parsed.key_id(), parsed.secret());
            KeyHash::hmac(&self.peppers, &msg).ok()
        } else {
            None
        };
        if new_hash.is_none() && !legacy {
            return false;
        }
        let (scope, generation) = (*v.scope(), v.generation());
        let id: KeyId = *v.key_id();
        let change = self.change(false, move |r: &mut KeyRecord| {
            // Only if the record is still the one that was verified.
            if r.generation != generation || r.scope != scope {
                return Err(crate::ApiKeyError::Store(StoreError::Conflict {
                    key_id: r.key_id.to_string(),
                    reason: "the record changed since it was verified",
                }));
            }
            if let Some(h) = &new_hash {
                r.hash = h.clone();
            }
            Ok(())
        });
        self.store.update(&id, change).await.is_ok()
    }
}

/// The rejection for a refused use.
fn use_refused(r: UseRefused) -> Rejection {
    match r {
        UseRefused::Exhausted => Rejection::UsesExhausted,
        UseRefused::Unavailable(kind) => Rejection::StoreUnavailable { kind },
    }
}
