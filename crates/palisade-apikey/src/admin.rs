//! Lifecycle operations of [`ApiKeys`] by key id: get, list, revoke,
//! rotate, set scopes and IP allow-lists, each with an `_async` twin.
//!
//! These take a bare key id and do no tenant check: they are the raw API
//! for background jobs and for the `palisade` facade, whose admin methods
//! check the acting caller's scope, permission and audit first.

use core::time::Duration;

use palisade_tenancy::{TenantId, Timestamp};

use crate::cidr::Cidr;
use crate::error::{ApiKeyError, StoreError};
use crate::issued::{IssuedKey, NewKey, check_timestamp};
use crate::keyid::KeyId;
use crate::keys::ApiKeys;
use crate::record::KeyRecord;
use crate::scopes::validate_scope;
use crate::seal::{self, SealCheck};
use crate::store::{KeyStore, Lookup, now_or_would_block};

/// The longest rotation grace period accepted (366 days): both keys are
/// live during it, so it is a window, not a retention.
pub const MAX_ROTATION_GRACE: Duration = Duration::from_secs(366 * 86_400);

impl<S: KeyStore> ApiKeys<S> {
    /// The record of `id` with live counters, or `None`.
    ///
    /// # Errors
    /// A store error ([`StoreError::WouldBlock`]: use [`ApiKeys::get_async`]).
    pub fn get(&self, id: &KeyId) -> Result<Option<KeyRecord>, ApiKeyError> {
        now_or_would_block(self.get_async(id))
    }

    /// [`ApiKeys::get`], awaiting the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn get_async(&self, id: &KeyId) -> Result<Option<KeyRecord>, ApiKeyError> {
        let found = match self.store.lookup(id) {
            Lookup::Found(e) => Some(e),
            Lookup::Absent => None,
            Lookup::Miss => self.store.fetch(id).await?,
            Lookup::Unavailable(e) => return Err(ApiKeyError::Store(e)),
        };
        Ok(found.map(|e| e.snapshot()))
    }

    /// Every key record of `tenant` with live counters, oldest first.
    /// Records hold hashes, never secrets.
    ///
    /// # Errors
    /// A store error ([`StoreError::WouldBlock`]: use [`ApiKeys::list_async`]).
    pub fn list(&self, tenant: TenantId) -> Result<Vec<KeyRecord>, ApiKeyError> {
        now_or_would_block(self.list_async(tenant))
    }

    /// [`ApiKeys::list`], awaiting the store.
    ///
    /// # Errors
    /// A store error.
    pub async fn list_async(&self, tenant: TenantId) -> Result<Vec<KeyRecord>, ApiKeyError> {
        let entries = self.store.list_by_tenant(tenant).await?;
        Ok(entries.iter().map(|e| e.snapshot()).collect())
    }

    /// Revoke a key from `now` on (idempotent: an earlier revocation
    /// stays). Works on any stored record, even one whose MAC does not
    /// verify (revocation only makes a key less usable).
    ///
    /// # Errors
    /// [`ApiKeyError::NoSuchKey`], [`ApiKeyError::Lifetime`] for a `now`
    /// outside years 0000–9999, or a store error.
    pub fn revoke(&self, id: &KeyId, now: Timestamp) -> Result<KeyRecord, ApiKeyError> {
        now_or_would_block(self.revoke_async(id, now))
    }

    /// [`ApiKeys::revoke`], awaiting the store.
    ///
    /// # Errors
    /// As [`ApiKeys::revoke`].
    pub async fn revoke_async(&self, id: &KeyId, now: Timestamp) -> Result<KeyRecord, ApiKeyError> {
        check_timestamp(now)?;
        let change = self.change(true, move |r| {
            r.revoked_at = Some(r.revoked_at.map_or(now, |t| t.min(now)));
            Ok(())
        });
        Ok(self.store.update(id, change).await?.snapshot())
    }

    /// Roll a key: issue its successor with the same tenant, owner, scopes,
    /// limits, expiry and scheduled revocation, and let the old one keep
    /// working for `grace` (zero: it stops now). Both keys are live during
    /// the grace period and share one budget of remaining uses. A key has
    /// at most one successor: rotating a key that was already rotated (in
    /// its grace period or after) is refused. The successor is inserted and
    /// the old record updated in one store transaction
    /// ([`KeyStore::replace`]). The new key is a Palisade key hashed with
    /// HMAC-SHA256 under the current pepper, whatever the old one was (so
    /// rotation also migrates imported keys).
    ///
    /// # Errors
    /// [`ApiKeyError::Duration`] for a grace above [`MAX_ROTATION_GRACE`],
    /// [`ApiKeyError::NoSuchKey`], [`ApiKeyError::AlreadyRotated`],
    /// [`ApiKeyError::Inactive`] when the old key is revoked or expired,
    /// [`ApiKeyError::RecordNotAuthentic`], or an issue or store error.
    pub fn rotate(
        &self,
        id: &KeyId,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, ApiKeyError> {
        now_or_would_block(self.rotate_async(id, grace, now))
    }

    /// [`ApiKeys::rotate`], awaiting the store.
    ///
    /// # Errors
    /// As [`ApiKeys::rotate`].
    pub async fn rotate_async(
        &self,
        id: &KeyId,
        grace: Duration,
        now: Timestamp,
    ) -> Result<IssuedKey, ApiKeyError> {
        if grace > MAX_ROTATION_GRACE {
            return Err(ApiKeyError::Duration {
                reason: "a rotation grace period must be at most 366 days",
            });
        }
        check_timestamp(now)?;
        let until = now.saturating_add(grace);
        check_timestamp(until)?;
        let old = self.load(id).await?;
        let rec = old.record();
        let authentic = match seal::check_digest(&self.peppers, rec, old.seal_digest()) {
            SealCheck::Authentic => true,
            SealCheck::Legacy => self.accept_legacy,
            SealCheck::Tampered => false,
        };
        if !authentic {
            return Err(ApiKeyError::RecordNotAuthentic {
                key_id: id.to_string(),
                reason: "its record MAC does not verify (or it is an unsealed version 1 record)",
            });
        }
        if rec.rotated_to.is_some() || rec.grace_until.is_some() {
            return Err(ApiKeyError::AlreadyRotated {
                key_id: id.to_string(),
            });
        }
        if !rec.is_active_at(now) {
            return Err(ApiKeyError::Inactive {
                key_id: id.to_string(),
            });
        }
        let seen = rec.generation;
        let mut req = NewKey::like(rec);
        let remaining = old.remaining_uses();
        req.remaining_uses = remaining;
        let (mut successor, secret) = self.mint(req, now)?;
        successor.rotated_from = Some(*id);
        successor.revoked_at = rec.revoked_at;
        successor.remaining_uses_cap = remaining;
        let successor = self.sealed(successor);
        let new_id = successor.key_id;
        let change = self.change(false, move |r| {
            if r.generation != seen {
                return Err(ApiKeyError::Store(StoreError::Conflict {
                    key_id: r.key_id.to_string(),
                    reason: "the key changed while it was being rotated: retry",
                }));
            }
            if r.rotated_to.is_some() || r.grace_until.is_some() {
                return Err(ApiKeyError::AlreadyRotated {
                    key_id: r.key_id.to_string(),
                });
            }
            r.rotated_to = Some(new_id);
            r.grace_until = Some(until);
            Ok(())
        });
        let (new_entry, _old) = self.store.replace(id, change, successor).await?;
        Ok(self.issued(&new_entry, &secret))
    }

    /// Replace a key's granted scopes (raises its generation).
    ///
    /// # Errors
    /// [`ApiKeyError::ScopeSyntax`], [`ApiKeyError::NoSuchKey`],
    /// [`ApiKeyError::RecordNotAuthentic`] or a store error.
    pub fn set_scopes(&self, id: &KeyId, scopes: &[&str]) -> Result<KeyRecord, ApiKeyError> {
        now_or_would_block(self.set_scopes_async(id, scopes))
    }

    /// [`ApiKeys::set_scopes`], awaiting the store.
    ///
    /// # Errors
    /// As [`ApiKeys::set_scopes`].
    pub async fn set_scopes_async(
        &self,
        id: &KeyId,
        scopes: &[&str],
    ) -> Result<KeyRecord, ApiKeyError> {
        for s in scopes {
            validate_scope(s)?;
        }
        let owned: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let change = self.change(false, move |r| {
            r.scopes.clone_from(&owned);
            Ok(())
        });
        Ok(self.store.update(id, change).await?.snapshot())
    }

    /// Replace a key's IP allow-list (empty: any address; raises its
    /// generation).
    ///
    /// # Errors
    /// [`ApiKeyError::NoSuchKey`], [`ApiKeyError::RecordNotAuthentic`] or a
    /// store error.
    pub fn set_allowed_ips(&self, id: &KeyId, nets: &[Cidr]) -> Result<KeyRecord, ApiKeyError> {
        now_or_would_block(self.set_allowed_ips_async(id, nets))
    }

    /// [`ApiKeys::set_allowed_ips`], awaiting the store.
    ///
    /// # Errors
    /// As [`ApiKeys::set_allowed_ips`].
    pub async fn set_allowed_ips_async(
        &self,
        id: &KeyId,
        nets: &[Cidr],
    ) -> Result<KeyRecord, ApiKeyError> {
        let owned = nets.to_vec();
        let change = self.change(false, move |r| {
            r.allowed_ips.clone_from(&owned);
            Ok(())
        });
        Ok(self.store.update(id, change).await?.snapshot())
    }
}
