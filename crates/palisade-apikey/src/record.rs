//! The stored record of an API key: everything but the secret.

use palisade_tenancy::{Principal, Scope, Timestamp};

use crate::cidr::Cidr;
use crate::error::Rejection;
use crate::format::Env;
use crate::hash::KeyHash;
use crate::keyid::KeyId;

/// A key's stored record (serde). It holds a hash of the secret, never the
/// secret itself; its `Debug` shows the hash's algorithm only.
///
/// Times are half-open: a key is usable from `not_before` (inclusive) until
/// the earliest of `expires_at`, `grace_until` and `revoked_at`
/// (exclusive).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct KeyRecord {
    /// Serialized layout version: [`RECORD_VERSION`] (2) for records
    /// written by this build; version 1 (no seal) is still read. Other
    /// values are refused when deserializing.
    #[serde(deserialize_with = "record_version")]
    pub version: u8,
    /// Public id, also the lookup key.
    pub key_id: KeyId,
    /// The tenant (or tenant project) the key belongs to.
    pub scope: Scope,
    /// The environment marker the key text carries.
    pub env: Env,
    /// A human label, e.g. "CI deploy key".
    pub name: String,
    /// The user or service the key acts for; RBAC narrows its roles by
    /// [`KeyRecord::scopes`]. `None`: the key is its own principal.
    pub owner: Option<Principal>,
    /// Granted permissions, `resource:action` (wildcard `*` per part).
    pub scopes: Vec<String>,
    /// When the key was issued.
    pub created_at: Timestamp,
    /// Not usable before this instant.
    pub not_before: Option<Timestamp>,
    /// Not usable from this instant on.
    pub expires_at: Option<Timestamp>,
    /// Revoked at this instant (not usable from then on).
    pub revoked_at: Option<Timestamp>,
    /// Client IPs allowed; empty means any.
    pub allowed_ips: Vec<Cidr>,
    /// Uses left (`None`: unlimited). In a store, the live count is kept
    /// in memory; this field is its value when the record was read. It
    /// changes per request, so it is outside the record MAC: the live
    /// count never exceeds the authenticated
    /// [`KeyRecord::remaining_uses_cap`].
    pub remaining_uses: Option<u64>,
    /// Periodic top-up of `remaining_uses`, if any.
    #[serde(default)]
    pub refill: Option<Refill>,
    /// How the secret is stored.
    pub hash: KeyHash,
    /// The key this one replaced by rotation.
    pub rotated_from: Option<KeyId>,
    /// After a rotation: the old key stops working at this instant.
    pub grace_until: Option<Timestamp>,
    /// Last successful verification (coarse: updated at most once a second).
    pub last_used: Option<Timestamp>,
    /// Raised by every change to the record (and authenticated by the
    /// record MAC), so caches keyed by `(key_id, generation)` (e.g. a
    /// compiled RBAC mask of `scopes`) are invalidated, and a store never
    /// lets a lower generation overwrite a higher one.
    pub generation: u64,
    /// (Version 2.) The authenticated bound of `remaining_uses`: its value
    /// when the record was last sealed by an issue, rotation or admin
    /// change (`None`: unlimited). The live count is clamped to it (or to
    /// the refill amount, if larger), so a database write cannot grant
    /// more uses than the key last had (see `docs/apikey-format.md` §9).
    #[serde(default)]
    pub remaining_uses_cap: Option<u64>,
    /// (Version 2.) The key that replaced this one by rotation: a key has
    /// at most one successor.
    #[serde(default)]
    pub rotated_to: Option<KeyId>,
    /// (Version 2.) The record MAC over every security-relevant field (see
    /// [`RecordSeal`]); `None` only in version 1 records.
    #[serde(default)]
    pub seal: Option<RecordSeal>,
}

/// The record MAC: HMAC-SHA256, under a key derived from pepper
/// `pepper_version`, of the record's canonical encoding
/// (`docs/apikey-format.md` §10). Checked on every verification.
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordSeal {
    /// The pepper whose derived record key made the MAC.
    pub pepper_version: u32,
    /// The 32-byte MAC (hex in serde).
    #[serde(with = "crate::hash::hex_32")]
    pub mac: [u8; 32],
}

impl core::fmt::Debug for RecordSeal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RecordSeal(pepper v{})", self.pepper_version)
    }
}

/// The serialized layout version of [`KeyRecord`] written by this build
/// (see `docs/apikey-format.md` §9): 2, with a record MAC. Version 1
/// (unsealed) records are still read.
pub const RECORD_VERSION: u8 = 2;

/// The oldest record version still read.
pub const RECORD_VERSION_V1: u8 = 1;

fn record_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v: u8 = serde::Deserialize::deserialize(d)?;
    if v != RECORD_VERSION && v != RECORD_VERSION_V1 {
        return Err(serde::de::Error::custom(format_args!(
            "unsupported key record version `{v}`: this build reads versions 1 and 2"
        )));
    }
    Ok(v)
}

/// A periodic reset of a key's remaining uses (as Unkey's refill): at the
/// first use in each new period of `interval_secs` (aligned to the Unix
/// epoch), the remaining uses are set back to `amount`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Refill {
    /// Uses available in each period.
    pub amount: u64,
    /// Period length in seconds (at least 1).
    pub interval_secs: u64,
}

impl Refill {
    /// The index of the period containing `t`, or `None` for a zero interval.
    pub(crate) fn period(&self, t: Timestamp) -> Option<i64> {
        let len = i64::try_from(self.interval_secs.checked_mul(1000)?).ok()?;
        (len > 0).then(|| t.unix_millis().div_euclid(len))
    }
}

impl KeyRecord {
    /// The bound of the live use counter: `remaining_uses`, never above the
    /// authenticated cap (or the refill amount, when larger). `None`:
    /// unlimited.
    pub(crate) fn live_uses_bound(&self) -> Option<u64> {
        match self.remaining_uses_cap {
            None => self.remaining_uses,
            Some(cap) => {
                let bound = self.refill.map_or(cap, |r| cap.max(r.amount));
                Some(self.remaining_uses.map_or(bound, |r| r.min(bound)))
            }
        }
    }

    /// The key's own principal, `key:{key_id}`.
    ///
    /// # Errors
    /// Never for a valid [`KeyId`] (its charset fits principal ids); the
    /// tenancy error is passed on otherwise.
    pub fn principal(&self) -> Result<Principal, palisade_tenancy::TenancyError> {
        Principal::api_key(self.key_id.as_str())
    }

    /// Why the key is not usable at `now` by its dates and revocation, if so.
    ///
    /// # Errors
    /// [`Rejection::Revoked`], [`Rejection::NotYetValid`],
    /// [`Rejection::Expired`] or [`Rejection::GraceEnded`].
    pub fn check_window(&self, now: Timestamp) -> Result<(), Rejection> {
        if self.revoked_at.is_some_and(|t| now >= t) {
            return Err(Rejection::Revoked);
        }
        if self.not_before.is_some_and(|t| now < t) {
            return Err(Rejection::NotYetValid);
        }
        if self.expires_at.is_some_and(|t| now >= t) {
            return Err(Rejection::Expired);
        }
        if self.grace_until.is_some_and(|t| now >= t) {
            return Err(Rejection::GraceEnded);
        }
        Ok(())
    }

    /// True when the dates and revocation allow use at `now`.
    #[must_use]
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.check_window(now).is_ok()
    }

    /// True when `ip` may use the key (an empty allow-list allows all; a
    /// non-empty one refuses a request with no known IP).
    #[must_use]
    pub fn ip_allowed(&self, ip: Option<std::net::IpAddr>) -> bool {
        if self.allowed_ips.is_empty() {
            return true;
        }
        ip.is_some_and(|ip| self.allowed_ips.iter().any(|c| c.contains(ip)))
    }

    /// True when one of the granted scopes covers `required`.
    #[must_use]
    pub fn grants(&self, required: &str) -> bool {
        self.scopes
            .iter()
            .any(|g| crate::scopes::scope_covers(g, required))
    }
}
