//! Requests for new keys ([`NewKey`]) and the one-time result ([`IssuedKey`]).

use std::sync::Arc;

use palisade_tenancy::{Principal, Scope, Timestamp};
use secrecy::{ExposeSecret, SecretString};

use crate::cidr::Cidr;
use crate::entry::KeyEntry;
use crate::error::ApiKeyError;
use crate::format::Env;
use crate::hash::Argon2Params;
use crate::keyid::KeyId;
use crate::record::{KeyRecord, Refill};
use crate::scopes::validate_scope;

/// How a new key's secret is stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Hashing {
    /// HMAC-SHA256 under the current pepper (the default: the secret has
    /// ≈ 238 bits of entropy, so a fast keyed hash is enough, NIST SP
    /// 800-63B §5.1.1.2 / §5.2.x).
    #[default]
    HmacSha256,
    /// Argon2id with these parameters: ~10 ms and 19 MiB per verify at the
    /// OWASP defaults, for operators who cannot keep a pepper secret.
    Argon2id(Argon2Params),
}

/// What to issue: the tenant scope, a name, and optional limits.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub(crate) scope: Scope,
    pub(crate) name: String,
    pub(crate) env: Env,
    pub(crate) owner: Option<Principal>,
    pub(crate) scopes: Vec<String>,
    pub(crate) not_before: Option<Timestamp>,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) allowed_ips: Vec<Cidr>,
    pub(crate) remaining_uses: Option<u64>,
    pub(crate) refill: Option<Refill>,
    pub(crate) hashing: Hashing,
}

impl NewKey {
    /// A `live` key for `scope` named `name`, with no scopes, no limits and
    /// HMAC-SHA256 hashing.
    #[must_use]
    pub fn new(scope: Scope, name: &str) -> Self {
        Self {
            scope,
            name: name.to_owned(),
            env: Env::Live,
            owner: None,
            scopes: Vec::new(),
            not_before: None,
            expires_at: None,
            allowed_ips: Vec::new(),
            remaining_uses: None,
            refill: None,
            hashing: Hashing::HmacSha256,
        }
    }

    /// Set the environment marker.
    #[must_use]
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Set the principal the key acts for.
    #[must_use]
    pub fn owner(mut self, owner: Principal) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Grant permissions: `palisade-rbac` permission patterns (`*`, or
    /// `resource:action` with `*` per part; see [`crate::validate_scope`]).
    ///
    /// # Errors
    /// [`ApiKeyError::ScopeSyntax`] for the first malformed scope.
    pub fn scopes<I, S>(mut self, scopes: I) -> Result<Self, ApiKeyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for s in scopes {
            let s = s.into();
            validate_scope(&s)?;
            if !self.scopes.contains(&s) {
                self.scopes.push(s);
            }
        }
        Ok(self)
    }

    /// Not usable before `t`.
    #[must_use]
    pub fn not_before(mut self, t: Timestamp) -> Self {
        self.not_before = Some(t);
        self
    }

    /// Not usable from `t` on.
    #[must_use]
    pub fn expires_at(mut self, t: Timestamp) -> Self {
        self.expires_at = Some(t);
        self
    }

    /// Allow only these client networks.
    #[must_use]
    pub fn allow_ips(mut self, nets: impl IntoIterator<Item = Cidr>) -> Self {
        self.allowed_ips.extend(nets);
        self
    }

    /// Allow `n` successful verifications in all.
    #[must_use]
    pub fn remaining_uses(mut self, n: u64) -> Self {
        self.remaining_uses = Some(n);
        self
    }

    /// Reset the remaining uses to `amount` at the first use of every
    /// period of `interval_secs` (epoch-aligned). Starts with `amount` uses
    /// unless [`NewKey::remaining_uses`] says otherwise.
    #[must_use]
    pub fn refill(mut self, amount: u64, interval_secs: u64) -> Self {
        self.refill = Some(Refill {
            amount,
            interval_secs,
        });
        if self.remaining_uses.is_none() {
            self.remaining_uses = Some(amount);
        }
        self
    }

    /// Choose the hashing of the secret.
    #[must_use]
    pub fn hashing(mut self, h: Hashing) -> Self {
        self.hashing = h;
        self
    }

    /// The key's label.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tenant (or project) scope the key will belong to.
    #[must_use]
    pub fn target_scope(&self) -> &Scope {
        &self.scope
    }

    /// The principal the key will act for, if set.
    #[must_use]
    pub fn owner_ref(&self) -> Option<&Principal> {
        self.owner.as_ref()
    }

    /// The permission patterns the key will grant.
    #[must_use]
    pub fn granted_scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The client networks the key will be limited to (empty: any).
    #[must_use]
    pub fn allowed_ips(&self) -> &[Cidr] {
        &self.allowed_ips
    }

    pub(crate) fn check(&self, now: Timestamp) -> Result<(), ApiKeyError> {
        if let Some(o) = &self.owner
            && o.kind() == palisade_tenancy::PrincipalKind::Staff
        {
            return Err(ApiKeyError::StaffOwner {
                owner: o.to_string(),
            });
        }
        for t in [Some(now), self.not_before, self.expires_at]
            .into_iter()
            .flatten()
        {
            check_timestamp(t)?;
        }
        if let (Some(nb), Some(exp)) = (self.not_before, self.expires_at)
            && exp <= nb
        {
            return Err(ApiKeyError::Lifetime {
                reason: "expires_at must be after not_before",
            });
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(ApiKeyError::Lifetime {
                reason: "expires_at must be in the future",
            });
        }
        if self
            .refill
            .is_some_and(|r| r.interval_secs == 0 || r.amount == u64::MAX)
        {
            return Err(ApiKeyError::Lifetime {
                reason: "a refill needs an interval of at least 1 s and an amount below u64::MAX",
            });
        }
        if self.remaining_uses == Some(u64::MAX) {
            return Err(ApiKeyError::Lifetime {
                reason: "remaining_uses must be below u64::MAX (omit it for unlimited)",
            });
        }
        Ok(())
    }

    pub(crate) fn into_record(
        self,
        key_id: KeyId,
        hash: crate::hash::KeyHash,
        now: Timestamp,
    ) -> KeyRecord {
        KeyRecord {
            version: crate::record::RECORD_VERSION,
            key_id,
            scope: self.scope,
            env: self.env,
            name: self.name,
            owner: self.owner,
            scopes: self.scopes,
            created_at: now,
            not_before: self.not_before,
            expires_at: self.expires_at,
            revoked_at: None,
            allowed_ips: self.allowed_ips,
            remaining_uses: self.remaining_uses,
            refill: self.refill,
            hash,
            rotated_from: None,
            grace_until: None,
            last_used: None,
            generation: 0,
            remaining_uses_cap: self.remaining_uses,
            rotated_to: None,
            seal: None,
        }
    }

    /// A request for a key like `record` (same tenant, owner, scopes,
    /// limits and window), for rotation.
    pub(crate) fn like(record: &KeyRecord) -> Self {
        Self {
            scope: record.scope,
            name: record.name.clone(),
            env: record.env,
            owner: record.owner.clone(),
            scopes: record.scopes.clone(),
            not_before: None,
            expires_at: record.expires_at,
            allowed_ips: record.allowed_ips.clone(),
            remaining_uses: record.remaining_uses,
            refill: record.refill,
            hashing: Hashing::HmacSha256,
        }
    }
}

/// Earliest instant a record may hold: 0000-01-01T00:00:00Z (the text
/// form of [`Timestamp`] covers years 0000–9999).
pub(crate) const MIN_RECORD_MS: i64 = -62_167_219_200_000;
/// Latest instant a record may hold: 9999-12-31T23:59:59.999Z.
pub(crate) const MAX_RECORD_MS: i64 = 253_402_300_799_999;

/// Refuse an instant whose text form would not parse back (outside years
/// 0000–9999), so every record the API writes can be loaded again.
pub(crate) fn check_timestamp(t: Timestamp) -> Result<(), ApiKeyError> {
    if (MIN_RECORD_MS..=MAX_RECORD_MS).contains(&t.unix_millis()) {
        Ok(())
    } else {
        Err(ApiKeyError::Lifetime {
            reason: "times must lie in the years 0000 to 9999",
        })
    }
}

/// A freshly issued key. The full key text is available here and only
/// here: the store keeps a hash. `Debug` shows the display form only.
pub struct IssuedKey {
    key: SecretString,
    display: String,
    entry: Arc<KeyEntry>,
}

impl IssuedKey {
    pub(crate) fn new(key: SecretString, display: String, entry: Arc<KeyEntry>) -> Self {
        Self {
            key,
            display,
            entry,
        }
    }

    /// The full key, to show to its owner once.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.key.expose_secret()
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.entry.record().key_id
    }

    /// The log- and UI-safe form, `{prefix}_{env}_1{key_id}...`.
    #[must_use]
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The stored record.
    #[must_use]
    pub fn record(&self) -> &KeyRecord {
        self.entry.record()
    }
}

impl core::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "IssuedKey({})", self.display)
    }
}
