//! Where break-glass grants live: the [`GrantStore`] trait, its in-memory
//! default, and the random [`GrantId`] that names a grant.
//!
//! A shared store (e.g. `palisade-postgres`'s `PgGrantStore`) keeps the
//! live grants in memory for the synchronous request path and fills a miss
//! from the database asynchronously, so a grant made through one replica
//! works on every other one, and ending it ends it everywhere.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll, Waker};

use palisade_tenancy::Timestamp;

use crate::breakglass::BreakGlassGrant;

/// The id of a break-glass grant: 128 random bits, written `bg_` followed
/// by 32 lowercase hex digits. Ids are unguessable, so a grant cannot be
/// found by counting, and unique across replicas without coordination.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId([u8; 16]);

/// Length of the text form: `bg_` + 32 hex digits.
const GRANT_ID_LEN: usize = 35;

impl GrantId {
    /// A fresh random id from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`GrantStoreError::Unavailable`] when the OS has no randomness to give.
    pub fn random() -> Result<Self, GrantStoreError> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| GrantStoreError::Unavailable {
            message: format!("no randomness for a grant id: {e}"),
        })?;
        Ok(Self(b))
    }

    /// The id with these bytes (e.g. read back from a database).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl core::fmt::Display for GrantId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("bg_")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl core::fmt::Debug for GrantId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GrantId({self})")
    }
}

/// The text form did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a grant id is `bg_` followed by 32 lowercase hex digits")]
pub struct GrantIdError;

impl core::str::FromStr for GrantId {
    type Err = GrantIdError;
    fn from_str(s: &str) -> Result<Self, GrantIdError> {
        let hex = s.strip_prefix("bg_").ok_or(GrantIdError)?;
        if s.len() != GRANT_ID_LEN
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(GrantIdError);
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let pair = hex.get(i * 2..i * 2 + 2).ok_or(GrantIdError)?;
            *o = u8::from_str_radix(pair, 16).map_err(|_| GrantIdError)?;
        }
        Ok(Self(out))
    }
}

/// Why a grant store could not answer. Every variant fails closed: a
/// request that needs the grant is refused with 503, never allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantStoreError {
    /// The backend is down, slow or out of connections.
    #[error("grant store unavailable: {message}")]
    Unavailable {
        /// What failed (no row content, no credential).
        message: String,
    },
    /// A grant with this id exists already.
    #[error("grant `{id}` exists already")]
    Conflict {
        /// The id.
        id: GrantId,
    },
    /// A stored grant did not decode.
    #[error("stored grant is corrupt: {message}")]
    Corrupt {
        /// What did not decode.
        message: String,
    },
    /// The store needs to wait for its backend, and the caller used a
    /// synchronous method: use the `_async` one.
    #[error("the grant store must wait for its backend: use the `_async` method")]
    WouldBlock,
}

/// The answer of the synchronous, in-memory [`GrantStore::lookup`].
#[derive(Clone, Debug)]
pub enum GrantLookup {
    /// The grant (live or not: the caller checks its times).
    Found(Arc<BreakGlassGrant>),
    /// Known not to exist, or ended.
    Absent,
    /// Not in memory: call [`GrantStore::fetch`].
    Miss,
    /// The store knows it cannot answer now.
    Unavailable(GrantStoreError),
}

/// A boxed, `Send` future returned by a [`GrantStore`] (no runtime needed:
/// an in-memory store returns a ready one).
pub type GrantFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GrantStoreError>> + Send + 'a>>;

/// Where break-glass grants live.
///
/// Contract: a grant, once ended, never becomes usable again in any replica
/// (a fill racing an end must not restore it); grants are immutable
/// otherwise, so there is no other ordering to keep.
pub trait GrantStore: Send + Sync {
    /// The grant with `id` as this process knows it, without waiting.
    fn lookup(&self, id: &GrantId) -> GrantLookup;

    /// Read the grant from the backend (and remember it for `lookup`).
    /// `Ok(None)`: no such grant, or it has ended.
    ///
    /// # Errors
    /// [`GrantStoreError::Unavailable`] or [`GrantStoreError::Corrupt`].
    fn fetch(&self, id: GrantId) -> GrantFuture<'_, Option<Arc<BreakGlassGrant>>>;

    /// Store a new grant, visible to every replica once the future resolves.
    ///
    /// # Errors
    /// [`GrantStoreError::Conflict`] for a taken id, or a backend error.
    fn insert(&self, grant: BreakGlassGrant) -> GrantFuture<'_, ()>;

    /// End the grant at `now`: `Ok(Some(grant))` when it was live (not
    /// ended, not expired at `now`), `Ok(None)` otherwise.
    ///
    /// # Errors
    /// A backend error (then the grant may still be live: retry).
    fn end(&self, id: GrantId, now: Timestamp) -> GrantFuture<'_, Option<BreakGlassGrant>>;
}

/// The default [`GrantStore`]: grants in this process's memory (lost on
/// restart, not shared between replicas).
#[derive(Debug, Default)]
pub struct MemoryGrantStore {
    state: RwLock<MemState>,
}

#[derive(Debug, Default)]
struct MemState {
    live: HashMap<GrantId, Arc<BreakGlassGrant>>,
    ended: HashSet<GrantId>,
}

impl MemoryGrantStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

fn ready<'a, T: Send + 'a>(v: Result<T, GrantStoreError>) -> GrantFuture<'a, T> {
    Box::pin(core::future::ready(v))
}

impl GrantStore for MemoryGrantStore {
    fn lookup(&self, id: &GrantId) -> GrantLookup {
        let st = self.state.read().unwrap_or_else(PoisonError::into_inner);
        match st.live.get(id) {
            Some(g) => GrantLookup::Found(Arc::clone(g)),
            None => GrantLookup::Absent,
        }
    }

    fn fetch(&self, id: GrantId) -> GrantFuture<'_, Option<Arc<BreakGlassGrant>>> {
        let st = self.state.read().unwrap_or_else(PoisonError::into_inner);
        ready(Ok(st.live.get(&id).cloned()))
    }

    fn insert(&self, grant: BreakGlassGrant) -> GrantFuture<'_, ()> {
        let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let now = grant.granted_at;
        // Expired grants are dropped whenever a new one arrives (bounded memory).
        let expired: Vec<GrantId> = st
            .live
            .iter()
            .filter(|(_, g)| now >= g.expires_at)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            st.live.remove(&id);
            st.ended.remove(&id);
        }
        if st.live.contains_key(&grant.id) || st.ended.contains(&grant.id) {
            return ready(Err(GrantStoreError::Conflict { id: grant.id }));
        }
        st.live.insert(grant.id, Arc::new(grant));
        ready(Ok(()))
    }

    fn end(&self, id: GrantId, now: Timestamp) -> GrantFuture<'_, Option<BreakGlassGrant>> {
        let mut st = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let Some(g) = st.live.remove(&id) else {
            return ready(Ok(None));
        };
        if now >= g.expires_at {
            return ready(Ok(None));
        }
        st.ended.insert(id);
        ready(Ok(Some((*g).clone())))
    }
}

/// Poll `fut` once without a runtime: `Some(output)` if it was ready (as
/// the in-memory store's futures are), `None` if it would have to wait.
/// Never blocks, never spins.
pub(crate) fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = core::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grant_ids_are_random_128_bit_and_round_trip() {
        let a = GrantId::random().unwrap();
        let b = GrantId::random().unwrap();
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 35);
        assert!(text.starts_with("bg_"));
        assert_eq!(text.parse::<GrantId>().unwrap(), a);
    }

    #[test]
    fn grant_id_parse_refuses_near_misses() {
        for bad in [
            "",
            "bg_",
            "1",
            "bg_0123456789abcdef0123456789abcde",
            "bg_0123456789abcdef0123456789abcdef0",
            "bg_0123456789ABCDEF0123456789abcdef",
            "BG_0123456789abcdef0123456789abcdef",
            "bg_0123456789abcdef0123456789abcdeg",
            "bg_+123456789abcdef0123456789abcdef",
            "bg_é23456789abcdef0123456789abcde",
        ] {
            assert!(bad.parse::<GrantId>().is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn grant_id_parse_never_panics_and_only_accepts_canonical(s in ".{0,40}") {
            if let Ok(id) = s.parse::<GrantId>() {
                prop_assert_eq!(id.to_string(), s);
            }
        }

        #[test]
        fn grant_id_text_round_trips(b in any::<[u8; 16]>()) {
            let id = GrantId::from_bytes(b);
            prop_assert_eq!(id.to_string().parse::<GrantId>().unwrap(), id);
        }
    }
}
