//! Swapping policy versions under live traffic without locks on the check
//! path (read-copy-update through `arc-swap`).

use crate::policy::CompiledPolicy;
use arc_swap::ArcSwap;
use std::sync::Arc;

/// The current policy of a service, replaceable while requests run.
///
/// Readers call [`SharedPolicy::load`] (lock-free, no reference-count
/// traffic in the common case) and check against the policy they got; a
/// writer compiles a new version off the request path and
/// [`store`](SharedPolicy::store)s it. In-flight requests finish on the
/// version they loaded; the old version is freed when its last reader is
/// done.
///
/// ```
/// use palisade_rbac::{compile, PolicyDocument, SharedPolicy};
/// use palisade_tenancy::Timestamp;
/// let now = Timestamp::from_unix_seconds(1_700_000_000);
/// let v1 = compile(&PolicyDocument::new().permission("inbox:read"), now)?;
/// let shared = SharedPolicy::new(v1);
/// let g1 = shared.load().generation();
/// shared.store(compile(&PolicyDocument::new().permission("inbox:read").permission("inbox:write"), now)?);
/// assert_ne!(shared.load().generation(), g1);
/// # Ok::<(), palisade_rbac::RbacError>(())
/// ```
pub struct SharedPolicy {
    current: ArcSwap<CompiledPolicy>,
}

impl SharedPolicy {
    /// Start with `policy`.
    #[must_use]
    pub fn new(policy: CompiledPolicy) -> Self {
        Self {
            current: ArcSwap::from_pointee(policy),
        }
    }

    /// The current policy, for the duration of one request (hold the guard
    /// briefly: it pins that version).
    pub fn load(&self) -> impl core::ops::Deref<Target = Arc<CompiledPolicy>> + '_ {
        self.current.load()
    }

    /// An owned handle on the current policy (one atomic increment).
    #[must_use]
    pub fn load_full(&self) -> Arc<CompiledPolicy> {
        self.current.load_full()
    }

    /// Replace the policy; returns the previous one.
    pub fn store(&self, policy: CompiledPolicy) -> Arc<CompiledPolicy> {
        self.current.swap(Arc::new(policy))
    }
}

impl core::fmt::Debug for SharedPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedPolicy")
            .field("current", &**self.current.load())
            .finish()
    }
}
