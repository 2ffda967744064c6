//! The `KeyStore` trait: a synchronous, memory-only lookup for the hot path
//! and asynchronous, fallible operations for everything that may need a
//! remote backend (cache fills, writes, listings).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;

use palisade_tenancy::{TenantId, Timestamp};

use crate::entry::KeyEntry;
use crate::error::{ApiKeyError, StoreError, StoreErrorKind};
use crate::keyid::KeyId;
use crate::record::KeyRecord;

/// A boxed `Send` future, the return type of the store's asynchronous
/// operations (no runtime dependency: any executor can drive it).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A change to a record, applied by [`KeyStore::update`] inside the store's
/// write (lock or transaction). It gets the current record (with live
/// counters) and returns the new record, already sealed and with a higher
/// generation. It may be called more than once (a database retrying a
/// serialization failure), so it must not have side effects.
pub type Change<'a> = Box<dyn FnMut(&KeyRecord) -> Result<KeyRecord, ApiKeyError> + Send + 'a>;

/// What [`KeyStore::replace`] returns: `(successor, old)`, the new entries.
pub type Replaced = (Arc<KeyEntry>, Arc<KeyEntry>);

/// The result of a synchronous, memory-only [`KeyStore::lookup`].
#[derive(Debug)]
pub enum Lookup {
    /// The entry, from memory.
    Found(Arc<KeyEntry>),
    /// The store knows there is no such key (an authoritative store, or a
    /// cached miss).
    Absent,
    /// Not in memory: call [`KeyStore::fetch`] (asynchronously).
    Miss,
    /// The store cannot answer (e.g. it is known to be down and has no
    /// cached answer). Verification fails closed with
    /// [`Rejection::StoreUnavailable`](crate::Rejection::StoreUnavailable).
    Unavailable(StoreError),
}

impl Lookup {
    /// The entry if found in memory.
    #[must_use]
    pub fn found(self) -> Option<Arc<KeyEntry>> {
        match self {
            Self::Found(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a use could not be taken from a key's `remaining_uses`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UseRefused {
    /// The key has no uses left.
    Exhausted,
    /// The shared counter could not be reached (fail closed).
    Unavailable(StoreErrorKind),
}

/// Where key records live.
///
/// **Hot path.** [`KeyStore::lookup`] is synchronous and must only read
/// memory (a cache hit); it says [`Lookup::Miss`] when the record is not in
/// memory, and `ApiKeys::verify_async` then awaits [`KeyStore::fetch`]. The
/// synchronous `ApiKeys` methods poll a store future once with a no-op
/// waker and refuse with [`StoreError::WouldBlock`] (or
/// `Rejection::StoreUnavailable`) when it is not ready: they never block.
///
/// **Errors.** Every operation is fallible; a backend failure is a
/// [`StoreError`], never "no such key".
///
/// **Generation rule.** Every change to a record raises its
/// [`KeyRecord::generation`] (`ApiKeys` sets `generation + 1` in the
/// [`Change`] and seals it: the generation is authenticated by the record
/// MAC). A store must never let a lower (or equal) generation overwrite a
/// higher one: [`KeyStore::update`] refuses a change that does not raise
/// it, and a cache applying records from another replica (a fill, a
/// notification) keeps the higher generation, so a fill racing a
/// revocation can never restore the revoked record.
///
/// **Atomicity.** [`KeyStore::update`] applies its change atomically with
/// respect to other writes of the same record (a lock, or a transaction
/// with `SELECT … FOR UPDATE` / a compare-and-set on the generation);
/// [`KeyStore::replace`] inserts a successor and updates its predecessor
/// in one transaction (rotation), so both or neither happen.
///
/// **Usage counters.** [`KeyStore::take_use`] (and its async twin) decide
/// `remaining_uses`: the default counts in the entry's in-memory counters
/// (per process). A store shared by replicas overrides them with an atomic
/// decrement in the database (async) or leased blocks of uses (sync), and
/// documents its bound on over-use. A key in a rotation grace period shares
/// its successor's counter (see [`KeyEntry::sharing_uses_with`]).
pub trait KeyStore: Send + Sync {
    /// The entry with this key id, from memory only (never blocks, never
    /// does I/O).
    fn lookup(&self, id: &KeyId) -> Lookup;

    /// The entry whose imported SHA-256 digest is `digest`, from memory only.
    fn lookup_import(&self, digest: &[u8; 32]) -> Lookup;

    /// True when any imported (digest-indexed) key may exist; lets
    /// verification skip hashing foreign-format input otherwise. A store
    /// that cannot tell cheaply returns `true`.
    fn has_imports(&self) -> bool;

    /// Load the entry with this key id from the backend (a cache fill):
    /// `Ok(None)` when there is no such key.
    fn fetch<'a>(
        &'a self,
        id: &'a KeyId,
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>>;

    /// Load the entry with this imported digest from the backend.
    fn fetch_import<'a>(
        &'a self,
        digest: &'a [u8; 32],
    ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>>;

    /// Add a new record (sealed by `ApiKeys`).
    ///
    /// Errors: [`ApiKeyError::DuplicateKey`] when the key id (or imported
    /// digest) is taken; [`ApiKeyError::Store`] on backend failure.
    fn insert(&self, record: KeyRecord) -> BoxFuture<'_, Result<Arc<KeyEntry>, ApiKeyError>>;

    /// Apply `change` to the current record of `id` atomically and return
    /// the new snapshot. The new record must keep the key id (and an
    /// imported digest) and raise the generation, else the store refuses
    /// it with [`StoreError::Conflict`]. Usage counters carry over unless
    /// the change sets a different `remaining_uses`.
    ///
    /// Errors: [`ApiKeyError::NoSuchKey`], any error of `change`, or
    /// [`ApiKeyError::Store`].
    fn update<'a>(
        &'a self,
        id: &'a KeyId,
        change: Change<'a>,
    ) -> BoxFuture<'a, Result<Arc<KeyEntry>, ApiKeyError>>;

    /// Rotation in one transaction: apply `change_old` to the record of
    /// `old` (as [`KeyStore::update`]) and insert `successor`; both or
    /// neither. The predecessor's usage counter is shared with the
    /// successor while both are live. Returns `(successor, old)`.
    ///
    /// Errors: as [`KeyStore::update`] and [`KeyStore::insert`].
    fn replace<'a>(
        &'a self,
        old: &'a KeyId,
        change_old: Change<'a>,
        successor: KeyRecord,
    ) -> BoxFuture<'a, Result<Replaced, ApiKeyError>>;

    /// Every entry of `tenant` (all its projects), oldest first.
    fn list_by_tenant(
        &self,
        tenant: TenantId,
    ) -> BoxFuture<'_, Result<Vec<Arc<KeyEntry>>, StoreError>>;

    /// Take one use of a key with a use limit at `now` (synchronous path):
    /// `Ok(remaining after)`, `Ok(None)` for an unlimited key. The default
    /// counts in the entry's in-memory counters.
    ///
    /// # Errors
    /// [`UseRefused::Exhausted`], or [`UseRefused::Unavailable`] when a
    /// shared counter cannot be reached.
    fn take_use(&self, entry: &KeyEntry, now: Timestamp) -> Result<Option<u64>, UseRefused> {
        entry.try_consume(now).map_err(|()| UseRefused::Exhausted)
    }

    /// Take one use asynchronously (`ApiKeys::verify_async` calls this for
    /// keys with a use limit): a shared store does its atomic decrement
    /// here. The default calls [`KeyStore::take_use`].
    fn take_use_async<'a>(
        &'a self,
        entry: &'a KeyEntry,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<u64>, UseRefused>> {
        Box::pin(core::future::ready(self.take_use(entry, now)))
    }
}

/// Poll `fut` once with a no-op waker: `Some(output)` if it was ready.
/// This is how the synchronous `ApiKeys` methods drive store futures (a
/// memory store's are always ready); it never blocks.
pub(crate) fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = core::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// [`poll_once`] for operations returning `Result<_, ApiKeyError>`: a
/// pending future becomes [`StoreError::WouldBlock`].
pub(crate) fn now_or_would_block<T, F>(fut: F) -> Result<T, ApiKeyError>
where
    F: Future<Output = Result<T, ApiKeyError>>,
{
    poll_once(fut).unwrap_or(Err(ApiKeyError::Store(StoreError::WouldBlock)))
}

/// A ready future (what [`crate::MemoryStore`] returns).
pub(crate) fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(core::future::ready(v))
}
