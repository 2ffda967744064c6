//! [`KeyEntry`]: an immutable record snapshot plus live usage counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use palisade_tenancy::{Principal, Timestamp};

use crate::error::ApiKeyError;
use crate::record::KeyRecord;

const UNLIMITED: u64 = u64::MAX;
const NEVER: i64 = i64::MIN;
/// `last_used` is refreshed at most this often (ms), so verifying does not
/// write a shared cache line on every request.
const TOUCH_GRANULARITY_MS: i64 = 1000;

/// Counters that change per request, shared by every snapshot of a record
/// so that replacing the record (revoke, rotate, rescope) loses no count.
#[derive(Debug)]
pub(crate) struct Usage {
    remaining: AtomicU64,
    last_used: AtomicI64,
    /// Refill period of the last refill (or of the record's last use).
    period: AtomicI64,
}

impl Usage {
    fn of(record: &KeyRecord) -> Self {
        let since = record.last_used.unwrap_or(record.created_at);
        Self {
            remaining: AtomicU64::new(record.live_uses_bound().unwrap_or(UNLIMITED)),
            last_used: AtomicI64::new(record.last_used.map_or(NEVER, |t| t.unix_millis())),
            period: AtomicI64::new(record.refill.and_then(|r| r.period(since)).unwrap_or(NEVER)),
        }
    }
}

/// An immutable snapshot of a [`KeyRecord`] with its principal built once,
/// plus the live usage counters. Verification hands out `Arc<KeyEntry>`
/// (no copy of scopes or strings per request).
///
/// Building an entry does not check the record's seal: `ApiKeys` checks it
/// on every verification, so an adapter may build entries straight from
/// database rows.
#[derive(Debug)]
pub struct KeyEntry {
    record: KeyRecord,
    principal: Principal,
    /// `SHA-256(E)` of the record as sealed (`None`: no seal), computed once:
    /// the record here never changes.
    seal_digest: Option<[u8; 32]>,
    pub(crate) usage: Arc<Usage>,
}

impl KeyEntry {
    /// Wrap a record with fresh counters taken from it (the live count
    /// starts at `remaining_uses`, never above the authenticated
    /// [`KeyRecord::remaining_uses_cap`]).
    ///
    /// # Errors
    /// [`ApiKeyError::Principal`] if the key id is not a valid principal id.
    pub fn new(record: KeyRecord) -> Result<Self, ApiKeyError> {
        let usage = Arc::new(Usage::of(&record));
        Self::with_usage(record, usage)
    }

    /// Wrap `record` sharing the live counters of `other`: a store uses
    /// this for a new snapshot of the same key (revoke, rescope) and for a
    /// key in its rotation grace period and its successor, which share one
    /// budget of uses.
    ///
    /// # Errors
    /// As [`KeyEntry::new`].
    pub fn sharing_uses_with(record: KeyRecord, other: &KeyEntry) -> Result<Self, ApiKeyError> {
        Self::with_usage(record, Arc::clone(&other.usage))
    }

    fn with_usage(record: KeyRecord, usage: Arc<Usage>) -> Result<Self, ApiKeyError> {
        let seal_digest = record
            .seal
            .map(|s| crate::seal::digest(&record, s.pepper_version));
        Ok(Self {
            principal: record.principal()?,
            record,
            seal_digest,
            usage,
        })
    }

    /// The record as of this snapshot (counters as of its reading).
    #[must_use]
    pub fn record(&self) -> &KeyRecord {
        &self.record
    }

    /// The digest of the record's canonical encoding, for the per-verify
    /// keyed check.
    pub(crate) fn seal_digest(&self) -> Option<&[u8; 32]> {
        self.seal_digest.as_ref()
    }

    /// The key's principal, `key:{key_id}`.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Live remaining uses (`None`: unlimited).
    #[must_use]
    pub fn remaining_uses(&self) -> Option<u64> {
        match self.usage.remaining.load(Ordering::Relaxed) {
            UNLIMITED => None,
            n => Some(n),
        }
    }

    /// Live last-used time (coarse, ≤ 1 s stale).
    #[must_use]
    pub fn last_used(&self) -> Option<Timestamp> {
        match self.usage.last_used.load(Ordering::Relaxed) {
            NEVER => None,
            ms => Some(Timestamp::from_unix_millis(ms)),
        }
    }

    /// The record with live counters, e.g. to persist or list. The counters
    /// (`remaining_uses`, `last_used`) are outside the record MAC, so the
    /// snapshot keeps a valid seal.
    #[must_use]
    pub fn snapshot(&self) -> KeyRecord {
        let mut r = self.record.clone();
        r.remaining_uses = self.remaining_uses();
        r.last_used = self.last_used();
        r
    }

    /// True when `self` and `other` count uses in the same counter.
    #[must_use]
    pub fn shares_uses_with(&self, other: &KeyEntry) -> bool {
        Arc::ptr_eq(&self.usage, &other.usage)
    }

    /// Take one use at `now` (refilling first when a new refill period has
    /// begun): `Ok(remaining after)` or `Err(())` when none are left.
    pub(crate) fn try_consume(&self, now: Timestamp) -> Result<Option<u64>, ()> {
        if let Some(refill) = self.record.refill
            && let Some(p) = refill.period(now)
        {
            let seen = self.usage.period.load(Ordering::Acquire);
            // One thread wins the period change and refills; uses taken
            // between its swap and its store are forgiven (bounded by the
            // number of concurrent verifications).
            if p > seen
                && self
                    .usage
                    .period
                    .compare_exchange(seen, p, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                self.usage.remaining.store(refill.amount, Ordering::Release);
            }
        }
        let mut cur = self.usage.remaining.load(Ordering::Relaxed);
        loop {
            match cur {
                UNLIMITED => return Ok(None),
                0 => return Err(()),
                n => match self.usage.remaining.compare_exchange_weak(
                    n,
                    n - 1,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(Some(n - 1)),
                    Err(actual) => cur = actual,
                },
            }
        }
    }

    /// Record a use at `now`, writing only when the stored value is more
    /// than a second old.
    pub(crate) fn touch(&self, now: Timestamp) {
        let ms = now.unix_millis();
        if self.usage.last_used.load(Ordering::Relaxed) < ms.saturating_sub(TOUCH_GRANULARITY_MS) {
            self.usage.last_used.fetch_max(ms, Ordering::Relaxed);
        }
    }
}
