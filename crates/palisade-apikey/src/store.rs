//! The `KeyStore` trait and its thread-safe in-memory default.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use palisade_tenancy::{Principal, TenantId, Timestamp};

use crate::error::ApiKeyError;
use crate::hash::KeyHash;
use crate::keyid::KeyId;
use crate::record::KeyRecord;

const UNLIMITED: u64 = u64::MAX;
const NEVER: i64 = i64::MIN;
/// `last_used` is refreshed at most this often (ms), so verifying does not
/// write a shared cache line on every request.
const TOUCH_GRANULARITY_MS: i64 = 1000;

/// Counters that change per request, shared by every snapshot of a record
/// so that replacing the record (revoke, rotate, rescope) loses no count.
#[derive(Debug)]
struct Usage {
    remaining: AtomicU64,
    last_used: AtomicI64,
    /// Refill period of the last refill (or of the record's last use).
    period: AtomicI64,
}

impl Usage {
    fn of(record: &KeyRecord) -> Self {
        let since = record.last_used.unwrap_or(record.created_at);
        Self {
            remaining: AtomicU64::new(record.remaining_uses.unwrap_or(UNLIMITED)),
            last_used: AtomicI64::new(record.last_used.map_or(NEVER, |t| t.unix_millis())),
            period: AtomicI64::new(record.refill.and_then(|r| r.period(since)).unwrap_or(NEVER)),
        }
    }
}

/// An immutable snapshot of a [`KeyRecord`] with its principal built once,
/// plus the live usage counters. Verification hands out `Arc<KeyEntry>`
/// (no copy of scopes or strings per request).
#[derive(Debug)]
pub struct KeyEntry {
    record: KeyRecord,
    principal: Principal,
    usage: Arc<Usage>,
}

impl KeyEntry {
    /// Wrap a record with fresh counters taken from it.
    ///
    /// # Errors
    /// [`ApiKeyError::Principal`] if the key id is not a valid principal id.
    pub fn new(record: KeyRecord) -> Result<Self, ApiKeyError> {
        let usage = Arc::new(Usage::of(&record));
        Ok(Self {
            principal: record.principal()?,
            record,
            usage,
        })
    }

    fn with_usage(record: KeyRecord, usage: Arc<Usage>) -> Result<Self, ApiKeyError> {
        Ok(Self {
            principal: record.principal()?,
            record,
            usage,
        })
    }

    /// The record as of this snapshot (counters as of its reading).
    #[must_use]
    pub fn record(&self) -> &KeyRecord {
        &self.record
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

    /// The record with live counters, e.g. to persist or list.
    #[must_use]
    pub fn snapshot(&self) -> KeyRecord {
        let mut r = self.record.clone();
        r.remaining_uses = self.remaining_uses();
        r.last_used = self.last_used();
        r
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

/// Where key records live. Implementations must be thread-safe; `get` is on
/// the per-request path and should be a cache hit (an adapter for a
/// database keeps `Arc<KeyEntry>` snapshots in memory and persists
/// [`KeyEntry::snapshot`]s in the background).
pub trait KeyStore: Send + Sync {
    /// The entry with this key id.
    fn get(&self, id: &KeyId) -> Option<Arc<KeyEntry>>;

    /// The entry whose imported SHA-256 digest is `digest`.
    fn get_import(&self, digest: &[u8; 32]) -> Option<Arc<KeyEntry>>;

    /// True when any imported (digest-indexed) key exists; lets verification
    /// skip hashing foreign-format input otherwise.
    fn has_imports(&self) -> bool;

    /// Add a new record.
    ///
    /// # Errors
    /// [`ApiKeyError::DuplicateKey`] when the key id (or imported digest)
    /// is taken; [`ApiKeyError::Store`] on backend failure.
    fn insert(&self, record: KeyRecord) -> Result<Arc<KeyEntry>, ApiKeyError>;

    /// Change a record through `change`, bump its generation and return the
    /// new snapshot. Usage counters carry over unless `change` sets a new
    /// `remaining_uses`.
    ///
    /// # Errors
    /// [`ApiKeyError::NoSuchKey`], any error of `change`, or a backend error.
    fn update(
        &self,
        id: &KeyId,
        change: &mut dyn FnMut(&mut KeyRecord) -> Result<(), ApiKeyError>,
    ) -> Result<Arc<KeyEntry>, ApiKeyError>;

    /// Every entry of `tenant` (all its projects), oldest first.
    fn list_by_tenant(&self, tenant: TenantId) -> Vec<Arc<KeyEntry>>;
}

#[derive(Default)]
struct Maps {
    by_id: HashMap<KeyId, Arc<KeyEntry>>,
    imports: HashMap<[u8; 32], KeyId>,
}

/// The default [`KeyStore`]: a `RwLock`ed map in memory. Reads (every
/// verification) share the lock; writes (issue, revoke, rotate) take it
/// briefly.
#[derive(Default)]
pub struct MemoryStore {
    maps: RwLock<Maps>,
    has_imports: AtomicBool,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.maps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .len()
    }

    /// True when there are no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MemoryStore({} keys)", self.len())
    }
}

impl KeyStore for MemoryStore {
    fn get(&self, id: &KeyId) -> Option<Arc<KeyEntry>> {
        self.maps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .get(id)
            .cloned()
    }

    fn get_import(&self, digest: &[u8; 32]) -> Option<Arc<KeyEntry>> {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        maps.imports
            .get(digest)
            .and_then(|id| maps.by_id.get(id))
            .cloned()
    }

    fn has_imports(&self) -> bool {
        self.has_imports.load(Ordering::Relaxed)
    }

    fn insert(&self, record: KeyRecord) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        let dup = || ApiKeyError::DuplicateKey {
            key_id: record.key_id.to_string(),
        };
        if maps.by_id.contains_key(&record.key_id) {
            return Err(dup());
        }
        let import = match &record.hash {
            KeyHash::Sha256Import { digest } if maps.imports.contains_key(digest) => {
                return Err(dup());
            }
            KeyHash::Sha256Import { digest } => Some(*digest),
            _ => None,
        };
        let id = record.key_id;
        let entry = Arc::new(KeyEntry::new(record)?);
        if let Some(d) = import {
            maps.imports.insert(d, id);
            self.has_imports.store(true, Ordering::Relaxed);
        }
        maps.by_id.insert(id, Arc::clone(&entry));
        Ok(entry)
    }

    fn update(
        &self,
        id: &KeyId,
        change: &mut dyn FnMut(&mut KeyRecord) -> Result<(), ApiKeyError>,
    ) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        let old = maps.by_id.get(id).ok_or_else(|| ApiKeyError::NoSuchKey {
            key_id: id.to_string(),
        })?;
        let mut rec = old.snapshot();
        let before_uses = rec.remaining_uses;
        change(&mut rec)?;
        // The id and (for imports) the digest index must not change under us.
        rec.key_id = *id;
        rec.generation = old.record.generation.wrapping_add(1);
        let entry = if rec.remaining_uses == before_uses {
            KeyEntry::with_usage(rec, Arc::clone(&old.usage))?
        } else {
            KeyEntry::new(rec)?
        };
        let entry = Arc::new(entry);
        maps.by_id.insert(*id, Arc::clone(&entry));
        Ok(entry)
    }

    fn list_by_tenant(&self, tenant: TenantId) -> Vec<Arc<KeyEntry>> {
        let maps = self.maps.read().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<Arc<KeyEntry>> = maps
            .by_id
            .values()
            .filter(|e| e.record.scope.tenant_id() == tenant)
            .cloned()
            .collect();
        v.sort_by_key(|e| (e.record.created_at, e.record.key_id));
        v
    }
}
