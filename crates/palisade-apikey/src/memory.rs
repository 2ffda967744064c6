//! [`MemoryStore`]: the embedded, authoritative in-memory [`KeyStore`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use palisade_tenancy::TenantId;

use crate::entry::KeyEntry;
use crate::error::{ApiKeyError, StoreError};
use crate::hash::KeyHash;
use crate::keyid::KeyId;
use crate::record::KeyRecord;
use crate::store::{BoxFuture, Change, KeyStore, Lookup, Replaced, ready};

#[derive(Default)]
struct Maps {
    by_id: HashMap<KeyId, Arc<KeyEntry>>,
    imports: HashMap<[u8; 32], KeyId>,
}

impl Maps {
    fn check_new(&self, record: &KeyRecord) -> Result<Option<[u8; 32]>, ApiKeyError> {
        let dup = || ApiKeyError::DuplicateKey {
            key_id: record.key_id.to_string(),
        };
        if self.by_id.contains_key(&record.key_id) {
            return Err(dup());
        }
        match &record.hash {
            KeyHash::Sha256Import { digest } if self.imports.contains_key(digest) => Err(dup()),
            KeyHash::Sha256Import { digest } => Ok(Some(*digest)),
            _ => Ok(None),
        }
    }

    /// The new entry for `id` after `change`, not yet stored.
    fn changed(&self, id: &KeyId, change: &mut Change<'_>) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let old = self.by_id.get(id).ok_or_else(|| ApiKeyError::NoSuchKey {
            key_id: id.to_string(),
        })?;
        let cur = old.snapshot();
        let rec = change(&cur)?;
        let conflict = |reason| {
            ApiKeyError::Store(StoreError::Conflict {
                key_id: id.to_string(),
                reason,
            })
        };
        if rec.key_id != *id {
            return Err(conflict("a change may not alter the key id"));
        }
        if rec.generation <= cur.generation {
            return Err(conflict(
                "a change must raise the generation (a lower generation never overwrites a higher one)",
            ));
        }
        if import_digest(&rec.hash) != import_digest(&cur.hash) {
            return Err(conflict("a change may not alter an imported digest"));
        }
        let entry = if rec.remaining_uses == cur.remaining_uses {
            KeyEntry::sharing_uses_with(rec, old)?
        } else {
            KeyEntry::new(rec)?
        };
        Ok(Arc::new(entry))
    }
}

fn import_digest(h: &KeyHash) -> Option<&[u8; 32]> {
    match h {
        KeyHash::Sha256Import { digest } => Some(digest),
        _ => None,
    }
}

/// The default [`KeyStore`]: a `RwLock`ed map in memory, authoritative
/// (a lookup never misses: an unknown id is [`Lookup::Absent`]), with ready
/// futures. Reads (every verification) share the lock; writes take it
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
        self.read().by_id.len()
    }

    /// True when there are no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry with this id (synchronous convenience).
    #[must_use]
    pub fn get(&self, id: &KeyId) -> Option<Arc<KeyEntry>> {
        self.read().by_id.get(id).cloned()
    }

    /// Put a persisted record in place as it is, replacing any entry of its
    /// id, with fresh counters: for loading records saved by
    /// [`KeyEntry::snapshot`] at start-up. It bypasses the generation rule
    /// (it is a restore, not a change); the record's seal is checked when
    /// it is verified, as for any record.
    ///
    /// # Errors
    /// [`ApiKeyError::DuplicateKey`] when another id holds its imported
    /// digest; [`ApiKeyError::Principal`].
    pub fn restore(&self, record: KeyRecord) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let mut maps = self.write();
        let id = record.key_id;
        if let Some(d) = import_digest(&record.hash)
            && maps.imports.get(d).is_some_and(|other| *other != id)
        {
            return Err(ApiKeyError::DuplicateKey {
                key_id: id.to_string(),
            });
        }
        let digest = import_digest(&record.hash).copied();
        let entry = Arc::new(KeyEntry::new(record)?);
        if let Some(d) = digest {
            maps.imports.insert(d, id);
            self.has_imports.store(true, Ordering::Relaxed);
        }
        maps.by_id.insert(id, Arc::clone(&entry));
        Ok(entry)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert_now(&self, record: KeyRecord) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let mut maps = self.write();
        let import = maps.check_new(&record)?;
        let id = record.key_id;
        let entry = Arc::new(KeyEntry::new(record)?);
        if let Some(d) = import {
            maps.imports.insert(d, id);
            self.has_imports.store(true, Ordering::Relaxed);
        }
        maps.by_id.insert(id, Arc::clone(&entry));
        Ok(entry)
    }

    fn update_now(&self, id: &KeyId, mut change: Change<'_>) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let mut maps = self.write();
        let entry = maps.changed(id, &mut change)?;
        maps.by_id.insert(*id, Arc::clone(&entry));
        Ok(entry)
    }

    fn replace_now(
        &self,
        old: &KeyId,
        mut change_old: Change<'_>,
        successor: KeyRecord,
    ) -> Result<Replaced, ApiKeyError> {
        let mut maps = self.write();
        let old_entry = maps.changed(old, &mut change_old)?;
        let import = maps.check_new(&successor)?;
        let new_id = successor.key_id;
        let new_entry = Arc::new(KeyEntry::sharing_uses_with(successor, &old_entry)?);
        if let Some(d) = import {
            maps.imports.insert(d, new_id);
            self.has_imports.store(true, Ordering::Relaxed);
        }
        maps.by_id.insert(*old, Arc::clone(&old_entry));
        maps.by_id.insert(new_id, Arc::clone(&new_entry));
        Ok((new_entry, old_entry))
    }

    fn list_now(&self, tenant: TenantId) -> Vec<Arc<KeyEntry>> {
        let maps = self.read();
        let mut v: Vec<Arc<KeyEntry>> = maps
            .by_id
            .values()
            .filter(|e| e.record().scope.tenant_id() == tenant)
            .cloned()
            .collect();
        v.sort_by_key(|e| (e.record().created_at, e.record().key_id));
        v
    }
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MemoryStore({} keys)", self.len())
    }
}

impl KeyStore for MemoryStore {
    fn lookup(&self, id: &KeyId) -> Lookup {
        match self.read().by_id.get(id) {
            Some(e) => Lookup::Found(Arc::clone(e)),
            None => Lookup::Absent,
        }
    }

    fn lookup_import(&self, digest: &[u8; 32]) -> Lookup {
        let maps = self.read();
        match maps.imports.get(digest).and_then(|id| maps.by_id.get(id)) {
            Some(e) => Lookup::Found(Arc::clone(e)),
            None => Lookup::Absent,
        }
    }

    fn has_imports(&self) -> bool {
        self.has_imports.load(Ordering::Relaxed)
    }

    fn fetch<'a>(
        &'a self,
        id: &'a KeyId,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>> {
        ready(Ok(self.get(id)))
    }

    fn fetch_import<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>> {
        ready(Ok(self.lookup_import(digest).found()))
    }

    fn insert(&self, record: KeyRecord) -> BoxFuture<'_, Result<Arc<KeyEntry>, ApiKeyError>> {
        ready(self.insert_now(record))
    }

    fn update<'a>(
        &'a self,
        id: &'a KeyId,
        change: Change<'a>,
    ) -> BoxFuture<'a, Result<Arc<KeyEntry>, ApiKeyError>> {
        ready(self.update_now(id, change))
    }

    fn replace<'a>(
        &'a self,
        old: &'a KeyId,
        change_old: Change<'a>,
        successor: KeyRecord,
    ) -> BoxFuture<'a, Result<Replaced, ApiKeyError>> {
        ready(self.replace_now(old, change_old, successor))
    }

    fn list_by_tenant(
        &self,
        tenant: TenantId,
    ) -> BoxFuture<'_, Result<Vec<Arc<KeyEntry>>, StoreError>> {
        ready(Ok(self.list_now(tenant)))
    }
}
