//! `PgKeyStore`: API-key records in PostgreSQL, verified records cached in
//! memory, changes from other replicas applied by generation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use palisade_apikey::{
    ApiKeyError, BoxFuture, Change, KeyEntry, KeyId, KeyRecord, KeyStore, Lookup, Replaced,
    StoreError, UseRefused,
};
use palisade_tenancy::{TenantId, Timestamp};
use sqlx::PgPool;

use crate::error::PgError;
use crate::notify::Change as Notice;

/// Most negative answers and generation floors remembered (then cleared).
const MAX_MARKERS: usize = 10_000;

/// What the cache knows of one key id.
#[derive(Clone)]
pub(crate) enum Slot {
    /// The record, as last read or written.
    Live(Arc<KeyEntry>),
    /// No usable cached record. `since`: when the database said "no such
    /// key" (a negative answer, trusted for the negative TTL); `floor`: no
    /// record below this generation may be cached (a notification named
    /// it, so an older fill in flight must not land).
    Marker { since: Option<Instant>, floor: u64 },
}

#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) slots: HashMap<KeyId, Slot>,
    pub(crate) imports: HashMap<[u8; 32], KeyId>,
    markers: usize,
}

/// API-key records in PostgreSQL (`palisade.api_keys`) for any number of
/// replicas.
///
/// * **Verify hot path**: [`KeyStore::lookup`] reads memory only. A miss is
///   filled by [`KeyStore::fetch`] (`ApiKeys::verify_async`); "no such
///   key" is cached for the negative TTL.
/// * **Changes** (issue, revoke, rotate, rescope) commit in one transaction
///   with a `NOTIFY` on [`CHANNEL`](crate::CHANNEL); every replica running
///   [`PgSync`](crate::PgSync) re-reads the record and applies it by
///   generation: a lower generation never replaces a higher one, and a
///   fill that read the record before a revocation cannot restore it.
/// * **`remaining_uses`** is one counter in the database, decremented
///   atomically by `take_use_async` (no over-use across replicas; the
///   synchronous `take_use` fails closed for keys with a use limit).
/// * **Database down**: cached keys keep verifying; a miss is
///   [`StoreError::Unavailable`] (503); writes fail with a typed error and
///   leave nothing half-done.
///
/// Cloning is cheap and shares the cache (give one clone to the builder,
/// one to [`PgSync`](crate::PgSync)).
#[derive(Clone)]
pub struct PgKeyStore {
    pub(crate) pool: PgPool,
    pub(crate) cache: Arc<RwLock<Cache>>,
    negative_ttl: Duration,
    imports: Arc<AtomicBool>,
}

impl core::fmt::Debug for PgKeyStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgKeyStore").finish_non_exhaustive()
    }
}

pub(crate) fn store_error(e: PgError) -> StoreError {
    match e {
        PgError::Timeout { .. } => StoreError::Timeout,
        PgError::Corrupt { reason, .. } => StoreError::Corrupt {
            key_id: String::new(),
            reason,
        },
        other => StoreError::Unavailable {
            reason: other.to_string(),
        },
    }
}

impl PgKeyStore {
    /// A store on `pool` (the application's role), trusting "no such key"
    /// answers for `negative_ttl`.
    #[must_use]
    pub fn new(pool: PgPool, negative_ttl: Duration) -> Self {
        Self {
            pool,
            cache: Arc::new(RwLock::new(Cache::default())),
            negative_ttl,
            imports: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Say whether imported (foreign-format, digest-indexed) keys exist.
    /// Off by default, so malformed input never reaches the database; turn
    /// it on in every replica of a service that imported keys (a replica
    /// that imports one turns it on for itself).
    #[must_use]
    pub fn with_imports(self, on: bool) -> Self {
        self.imports.store(on, Ordering::Relaxed);
        self
    }

    /// Number of live records in memory.
    #[must_use]
    pub fn cached(&self) -> usize {
        self.read()
            .slots
            .values()
            .filter(|s| matches!(s, Slot::Live(_)))
            .count()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Put `entry` in the cache unless it already holds a higher (or
    /// equal) generation or a notification announced a higher one; returns
    /// what the cache holds for the id afterwards (`None`: the fill was
    /// stale, refetch).
    pub(crate) fn fill(&self, entry: Arc<KeyEntry>) -> Option<Arc<KeyEntry>> {
        let id = entry.record().key_id;
        let generation = entry.record().generation;
        let mut c = self.write();
        match c.slots.get(&id) {
            Some(Slot::Live(cur)) if cur.record().generation >= generation => {
                return Some(Arc::clone(cur));
            }
            Some(Slot::Marker { floor, .. }) if *floor > generation => return None,
            Some(Slot::Marker { .. }) => c.markers = c.markers.saturating_sub(1),
            _ => {}
        }
        if let palisade_apikey::KeyHash::Sha256Import { digest } = &entry.record().hash {
            c.imports.insert(*digest, id);
            self.imports.store(true, Ordering::Relaxed);
        }
        c.slots.insert(id, Slot::Live(Arc::clone(&entry)));
        Some(entry)
    }

    /// Remember that the database has no record `id` (or, with `floor`,
    /// that no record below that generation may be cached).
    pub(crate) fn mark(&self, id: KeyId, negative: bool, floor: u64) {
        let mut c = self.write();
        if c.markers >= MAX_MARKERS {
            c.slots.retain(|_, s| matches!(s, Slot::Live(_)));
            c.markers = 0;
        }
        let floor = match c.slots.get(&id) {
            Some(Slot::Marker { floor: f, .. }) => floor.max(*f),
            Some(Slot::Live(_)) | None => floor,
        };
        if !matches!(c.slots.get(&id), Some(Slot::Marker { .. })) {
            c.markers += 1;
        }
        let since = negative.then(Instant::now);
        c.slots.insert(id, Slot::Marker { since, floor });
    }

    /// Apply a change notification: re-read the record if the cache holds
    /// an older generation (or none). If the read fails, the cached entry
    /// is dropped, so the next verification refetches (and fails closed
    /// while the database is down) rather than trusting a record known to
    /// be stale.
    pub(crate) async fn apply(&self, notice: &Notice) {
        let Notice::Key { key_id, generation } = *notice else {
            return;
        };
        let known = match self.read().slots.get(&key_id) {
            Some(Slot::Live(e)) => Some(e.record().generation),
            _ => None,
        };
        if known.is_some_and(|g| g >= generation) {
            return;
        }
        // Raise the floor first: a fill in flight with an older record is
        // refused from now on.
        if known.is_none() {
            self.mark(key_id, false, generation);
        }
        match self.load(&key_id).await {
            Ok(Some(e)) if e.record().generation >= generation => {
                let _ = self.fill(e);
            }
            Ok(None) => self.mark(key_id, true, generation),
            Ok(Some(_)) | Err(_) => self.mark(key_id, false, generation),
        }
    }

    /// Re-read the generation of every cached record and reload the ones
    /// that changed (or vanished).
    ///
    /// # Errors
    /// [`PgError::Unavailable`]; the cache keeps what it had.
    pub async fn refresh(&self) -> Result<(), PgError> {
        let ids: Vec<(KeyId, u64)> = {
            let mut c = self.write();
            // Negative answers and floors are re-learned on demand.
            c.slots.retain(|_, s| matches!(s, Slot::Live(_)));
            c.markers = 0;
            c.slots
                .iter()
                .filter_map(|(id, s)| match s {
                    Slot::Live(e) => Some((*id, e.record().generation)),
                    Slot::Marker { .. } => None,
                })
                .collect()
        };
        for chunk in ids.chunks(crate::keys_sql::REFRESH_BATCH) {
            let current = self.generations(chunk.iter().map(|(id, _)| *id)).await?;
            for (id, cached) in chunk {
                match current.get(id) {
                    Some(g) if *g <= *cached => {}
                    Some(g) => {
                        let g = *g;
                        self.mark(*id, false, g);
                        if let Ok(Some(e)) = self.load(id).await {
                            let _ = self.fill(e);
                        }
                    }
                    None => self.mark(*id, true, *cached + 1),
                }
            }
        }
        Ok(())
    }
}

impl KeyStore for PgKeyStore {
    fn lookup(&self, id: &KeyId) -> Lookup {
        match self.read().slots.get(id) {
            Some(Slot::Live(e)) => Lookup::Found(Arc::clone(e)),
            Some(Slot::Marker { since: Some(t), .. }) if t.elapsed() < self.negative_ttl => {
                Lookup::Absent
            }
            _ => Lookup::Miss,
        }
    }

    fn lookup_import(&self, digest: &[u8; 32]) -> Lookup {
        let id = self.read().imports.get(digest).copied();
        match id {
            Some(id) => self.lookup(&id),
            None => Lookup::Miss,
        }
    }

    fn has_imports(&self) -> bool {
        self.imports.load(Ordering::Relaxed)
    }

    fn fetch<'a>(
        &'a self,
        id: &'a KeyId,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>> {
        Box::pin(async move {
            // Two tries: a fill refused as stale (a newer generation was
            // announced meanwhile) reads again.
            for _ in 0..2 {
                match self.load(id).await.map_err(store_error)? {
                    None => {
                        self.mark(*id, true, 0);
                        return Ok(None);
                    }
                    Some(e) => {
                        if let Some(e) = self.fill(e) {
                            return Ok(Some(e));
                        }
                    }
                }
            }
            Err(StoreError::Conflict {
                key_id: id.to_string(),
                reason: "the record changed while it was read; retry",
            })
        })
    }

    fn fetch_import<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>> {
        Box::pin(async move {
            let Some(e) = self.load_import(digest).await.map_err(store_error)? else {
                return Ok(None);
            };
            Ok(self.fill(e))
        })
    }

    fn insert(&self, record: KeyRecord) -> BoxFuture<'_, Result<Arc<KeyEntry>, ApiKeyError>> {
        Box::pin(async move {
            let entry = self.insert_row(record).await?;
            Ok(self.fill(Arc::clone(&entry)).unwrap_or(entry))
        })
    }

    fn update<'a>(
        &'a self,
        id: &'a KeyId,
        change: Change<'a>,
    ) -> BoxFuture<'a, Result<Arc<KeyEntry>, ApiKeyError>> {
        Box::pin(async move {
            let entry = self.update_row(id, change).await?;
            Ok(self.fill(Arc::clone(&entry)).unwrap_or(entry))
        })
    }

    fn replace<'a>(
        &'a self,
        old: &'a KeyId,
        change_old: Change<'a>,
        successor: KeyRecord,
    ) -> BoxFuture<'a, Result<Replaced, ApiKeyError>> {
        Box::pin(async move {
            let (new, old) = self.replace_rows(old, change_old, successor).await?;
            let new = self.fill(Arc::clone(&new)).unwrap_or(new);
            let old = self.fill(Arc::clone(&old)).unwrap_or(old);
            Ok((new, old))
        })
    }

    fn list_by_tenant(
        &self,
        tenant: TenantId,
    ) -> BoxFuture<'_, Result<Vec<Arc<KeyEntry>>, StoreError>> {
        Box::pin(async move { self.list_rows(tenant).await.map_err(store_error) })
    }

    fn take_use(&self, entry: &KeyEntry, _now: Timestamp) -> Result<Option<u64>, UseRefused> {
        if crate::keys_sql::unlimited(entry.record()) {
            // Unlimited keys never touch the database.
            Ok(None)
        } else {
            // The shared counter needs the database: use verify_async.
            Err(UseRefused::Unavailable(
                palisade_apikey::StoreErrorKind::WouldBlock,
            ))
        }
    }

    fn take_use_async<'a>(
        &'a self,
        entry: &'a KeyEntry,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<u64>, UseRefused>> {
        Box::pin(async move {
            let r = entry.record();
            if crate::keys_sql::unlimited(r) {
                return Ok(None);
            }
            match self.decrement(r, now).await {
                Ok(Some(left)) => Ok(Some(left)),
                Ok(None) => Err(UseRefused::Exhausted),
                Err(e) => Err(UseRefused::Unavailable(store_error(e).kind())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet};
    use palisade_tenancy::Scope;

    fn nowhere() -> PgKeyStore {
        // Never connects: these tests only exercise the cache.
        let pool = crate::pool_options(1, Duration::from_millis(300))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        PgKeyStore::new(pool, Duration::from_secs(60))
    }

    /// The record of a key at generation g and g+1 (revoked).
    fn two_generations() -> (Arc<KeyEntry>, Arc<KeyEntry>) {
        let keys = ApiKeys::in_memory(
            KeyFormat::new("pal").unwrap(),
            PepperSet::new([Pepper::generate(1).unwrap()]).unwrap(),
        );
        let t = Timestamp::from_unix_seconds(1_800_000_000);
        let issued = keys
            .issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "k"), t)
            .unwrap();
        let id = *issued.key_id();
        let old = keys.store().get(&id).unwrap();
        keys.revoke(&id, t).unwrap();
        let new = keys.store().get(&id).unwrap();
        assert!(new.record().generation > old.record().generation);
        (old, new)
    }

    #[tokio::test]
    async fn a_lower_generation_never_overwrites_a_higher_one() {
        let s = nowhere();
        let (old, new) = two_generations();
        let id = old.record().key_id;
        s.fill(Arc::clone(&new));
        let kept = s.fill(Arc::clone(&old)).unwrap();
        assert_eq!(kept.record().generation, new.record().generation);
        let Lookup::Found(e) = s.lookup(&id) else {
            panic!("cached")
        };
        assert!(e.record().revoked_at.is_some());
    }

    #[tokio::test]
    async fn a_fill_racing_a_revoke_never_restores_the_revoked_record() {
        let s = nowhere();
        let (old, new) = two_generations();
        let id = old.record().key_id;
        // A fill read the record (generation g) just before the revocation
        // committed; the revocation's notification (g+1) is applied first,
        // while the database is unreachable, so only the floor is known.
        s.mark(id, false, new.record().generation);
        assert!(s.fill(Arc::clone(&old)).is_none(), "stale fill refused");
        assert!(matches!(s.lookup(&id), Lookup::Miss));
        // The revoked record itself is accepted.
        assert!(s.fill(Arc::clone(&new)).is_some());
        let Lookup::Found(e) = s.lookup(&id) else {
            panic!("cached")
        };
        assert!(e.record().revoked_at.is_some());
    }

    #[tokio::test]
    async fn negative_answers_are_remembered_and_bounded() {
        let s = nowhere();
        for _ in 0..(MAX_MARKERS + 10) {
            s.mark(KeyId::random().unwrap(), true, 0);
        }
        assert!(s.read().slots.len() <= MAX_MARKERS + 1);
        let id = KeyId::random().unwrap();
        s.mark(id, true, 0);
        assert!(matches!(s.lookup(&id), Lookup::Absent));
    }

    #[tokio::test]
    async fn a_cache_miss_with_the_database_down_is_unavailable_not_absent() {
        let s = nowhere();
        let id = KeyId::random().unwrap();
        assert!(matches!(s.lookup(&id), Lookup::Miss));
        let e = s.fetch(&id).await.unwrap_err();
        assert!(
            matches!(e, StoreError::Unavailable { .. } | StoreError::Timeout),
            "{e:?}"
        );
    }
}
