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
    /// Serialized layout version, always [`RECORD_VERSION`]; other values
    /// are refused when deserializing.
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
    /// in memory; this field is its value when the record was read.
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
    /// Bumped by the store on every change to the record, so caches keyed
    /// by `(key_id, generation)` (e.g. a compiled RBAC mask of `scopes`)
    /// are invalidated.
    pub generation: u64,
}

/// The serialized layout version of [`KeyRecord`] (see
/// `docs/apikey-format.md` §9).
pub const RECORD_VERSION: u8 = 1;

fn record_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v: u8 = serde::Deserialize::deserialize(d)?;
    if v != RECORD_VERSION {
        return Err(serde::de::Error::custom(format_args!(
            "unsupported key record version `{v}`: this build reads version {RECORD_VERSION}"
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
