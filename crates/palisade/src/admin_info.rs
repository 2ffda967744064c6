//! [`KeyInfo`]: what an administrator may see of a key (everything but its
//! hash), safe to serialize into an admin API response.

use palisade_apikey::{Cidr, Env, KeyId, KeyRecord};
use palisade_tenancy::{Principal, Scope, Timestamp};

/// A key as shown to an administrator: the record without its hash (the
/// secret's peppered hash never leaves the store through the admin API),
/// with live counters as of the read. `Serialize` so a handler can return
/// it as JSON.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct KeyInfo {
    /// Public id.
    pub key_id: KeyId,
    /// The tenant (or project) it belongs to.
    pub scope: Scope,
    /// The environment marker.
    pub env: Env,
    /// Its label.
    pub name: String,
    /// Whom it acts for (`None`: itself).
    pub owner: Option<Principal>,
    /// Granted permission patterns.
    pub scopes: Vec<String>,
    /// Issued at.
    pub created_at: Timestamp,
    /// Not usable before.
    pub not_before: Option<Timestamp>,
    /// Not usable from.
    pub expires_at: Option<Timestamp>,
    /// Revoked from.
    pub revoked_at: Option<Timestamp>,
    /// Client networks allowed (empty: any).
    pub allowed_ips: Vec<Cidr>,
    /// Uses left (`None`: unlimited).
    pub remaining_uses: Option<u64>,
    /// The key it replaced by rotation.
    pub rotated_from: Option<KeyId>,
    /// After a rotation: stops working at this instant.
    pub grace_until: Option<Timestamp>,
    /// Last successful use (coarse).
    pub last_used: Option<Timestamp>,
    /// Record generation (bumped on every change).
    pub generation: u64,
    /// The pepper version of its HMAC hash (`None`: an imported hash).
    pub pepper_version: Option<u32>,
    /// False when the stored record's MAC does not verify: it was edited
    /// outside Palisade (or is an unsealed version 1 record). Such a key is
    /// refused on every request; revoke it and issue a new one.
    pub authentic: bool,
}

impl KeyInfo {
    /// The view of `r`; `authentic` is whether its record MAC verifies.
    #[must_use]
    pub fn new(r: &KeyRecord, authentic: bool) -> Self {
        Self {
            key_id: r.key_id,
            scope: r.scope,
            env: r.env,
            name: r.name.clone(),
            owner: r.owner.clone(),
            scopes: r.scopes.clone(),
            created_at: r.created_at,
            not_before: r.not_before,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
            allowed_ips: r.allowed_ips.clone(),
            remaining_uses: r.remaining_uses,
            rotated_from: r.rotated_from,
            grace_until: r.grace_until,
            last_used: r.last_used,
            generation: r.generation,
            pepper_version: r.hash.pepper_version(),
            authentic,
        }
    }
}
