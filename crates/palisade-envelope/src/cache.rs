//! Per-tenant data-key cache with age, message and byte limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use palisade_tenancy::{Scope, Timestamp};

use crate::derive::KeyMaterial;
use crate::provider::KeyRef;

/// Limits for the data-key cache. A cached data key is used for at most
/// `max_messages` seals and `max_bytes` plaintext bytes, and for at most
/// `max_age` after it was made; then a fresh data key is generated. Unwrapped
/// keys on the open side are kept at most `max_age` too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Longest a data key stays in the cache.
    pub max_age: Duration,
    /// Most messages sealed under one cached data key.
    pub max_messages: u64,
    /// Most plaintext bytes sealed under one cached data key.
    pub max_bytes: u64,
    /// Most entries per side (seal and open) before the oldest is evicted.
    pub max_entries: usize,
}

impl Default for CacheLimits {
    /// 5 minutes, 2^20 messages, 1 GiB, 4096 entries.
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            max_messages: 1 << 20,
            max_bytes: 1 << 30,
            max_entries: 4096,
        }
    }
}

/// What a seal needs from a data key: its HKDF state and its encoded
/// key-reference header section.
pub(crate) struct SealMaterial {
    pub(crate) keys: Arc<OpenMaterial>,
    pub(crate) key_section: Vec<u8>,
}

/// An unwrapped data key's HKDF state and the KEK version that wrapped it.
pub(crate) struct OpenMaterial {
    pub(crate) keys: KeyMaterial,
    pub(crate) key_ref: KeyRef,
}

struct SealEntry {
    material: Arc<SealMaterial>,
    created: Timestamp,
    messages: u64,
    bytes: u64,
}

struct OpenEntry {
    material: Arc<OpenMaterial>,
    scope: Scope,
    created: Timestamp,
}

pub(crate) struct DataKeyCache {
    limits: CacheLimits,
    seal: Mutex<HashMap<Scope, SealEntry>>,
    open: Mutex<HashMap<Box<[u8]>, OpenEntry>>,
}

fn fresh(limits: &CacheLimits, created: Timestamp, now: Timestamp) -> bool {
    // A clock that went backwards counts as expired (never extends a key's life).
    now.duration_since(created)
        .is_some_and(|age| age < limits.max_age)
}

impl DataKeyCache {
    pub(crate) fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            seal: Mutex::default(),
            open: Mutex::default(),
        }
    }

    /// A cached seal key for `scope` with room for one more message of `len`
    /// bytes, counted as used; `None` when a fresh key is needed.
    pub(crate) fn take_seal(
        &self,
        scope: &Scope,
        len: u64,
        now: Timestamp,
    ) -> Option<Arc<SealMaterial>> {
        let mut map = self.seal.lock().unwrap_or_else(PoisonError::into_inner);
        let l = &self.limits;
        let entry = map.get_mut(scope)?;
        let ok = fresh(l, entry.created, now)
            && entry.messages < l.max_messages
            && entry
                .bytes
                .checked_add(len)
                .is_some_and(|b| b <= l.max_bytes);
        if ok {
            entry.messages += 1;
            entry.bytes += len;
            Some(Arc::clone(&entry.material))
        } else {
            // Exhausted or expired: never reuse it again.
            map.remove(scope);
            None
        }
    }

    /// Store a fresh seal key after its first message of `len` bytes.
    pub(crate) fn put_seal(
        &self,
        scope: Scope,
        material: Arc<SealMaterial>,
        len: u64,
        now: Timestamp,
    ) {
        let l = &self.limits;
        if l.max_messages < 2 || len >= l.max_bytes || l.max_entries == 0 || l.max_age.is_zero() {
            return; // it could not be used again anyway
        }
        let mut map = self.seal.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= l.max_entries && !map.contains_key(&scope) {
            map.retain(|_, e| fresh(l, e.created, now));
            evict_oldest(&mut map, l.max_entries, |e| e.created);
        }
        map.insert(
            scope,
            SealEntry {
                material,
                created: now,
                messages: 1,
                bytes: len,
            },
        );
    }

    /// A cached unwrapped key for this key section and scope.
    pub(crate) fn get_open(
        &self,
        key_section: &[u8],
        scope: &Scope,
        now: Timestamp,
    ) -> Option<Arc<OpenMaterial>> {
        let mut map = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let e = map.get(key_section)?;
        if !fresh(&self.limits, e.created, now) {
            map.remove(key_section);
            return None;
        }
        // Another scope must go through the provider (which will refuse it).
        (e.scope == *scope).then(|| Arc::clone(&e.material))
    }

    pub(crate) fn put_open(
        &self,
        key_section: &[u8],
        scope: Scope,
        material: Arc<OpenMaterial>,
        now: Timestamp,
    ) {
        let l = &self.limits;
        if l.max_entries == 0 || l.max_age.is_zero() {
            return;
        }
        let mut map = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= l.max_entries && !map.contains_key(key_section) {
            map.retain(|_, e| fresh(l, e.created, now));
            evict_oldest(&mut map, l.max_entries, |e| e.created);
        }
        map.insert(
            key_section.into(),
            OpenEntry {
                material,
                scope,
                created: now,
            },
        );
    }

    pub(crate) fn remove_seal(&self, scope: &Scope) {
        self.seal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(scope);
    }

    pub(crate) fn clear(&self) {
        self.seal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn limits(&self) -> &CacheLimits {
        &self.limits
    }
}

fn evict_oldest<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    created: impl Fn(&V) -> Timestamp,
) {
    if map.len() >= max
        && let Some(k) = map
            .iter()
            .min_by_key(|(_, v)| created(v))
            .map(|(k, _)| k.clone())
    {
        map.remove(&k);
    }
}
