//! The RBAC step: the policy in force (swappable while serving) and the
//! per-key cache of scope masks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arc_swap::ArcSwap;
use palisade_apikey::{KeyId, Verified};
use palisade_rbac::{CompiledPolicy, Decision, Generation, PolicyDocument, ScopeMask, Subject};
use palisade_tenancy::{Principal, Scope, Timestamp};

use crate::error::{PalisadeError, Result};

/// Beyond this many cached masks the cache is emptied (it refills from
/// the keys in use), so memory stays bounded however many keys exist.
const MAX_CACHED_MASKS: usize = 100_000;

struct Loaded {
    version: u64,
    compiled: CompiledPolicy,
}

/// A key's mask, valid for one record generation and one policy generation.
struct CachedMask {
    key_generation: u64,
    policy_generation: Generation,
    /// `Err` when the key's scopes do not fit the policy: its requests are denied.
    mask: core::result::Result<Arc<ScopeMask>, Arc<str>>,
}

pub(crate) struct PolicySlot {
    current: ArcSwap<Loaded>,
    masks: RwLock<HashMap<KeyId, CachedMask>>,
    swap_lock: Mutex<()>,
}

fn component(e: palisade_rbac::RbacError) -> PalisadeError {
    PalisadeError::Component {
        component: "rbac",
        message: e.to_string(),
    }
}

/// `now` only rejects grants that have already expired; decisions take their own.
fn compile_text(text: &str, now: Timestamp) -> Result<CompiledPolicy> {
    let doc = PolicyDocument::from_toml(text).map_err(component)?;
    palisade_rbac::compile(&doc, now).map_err(component)
}

impl PolicySlot {
    /// The policy compiled from TOML `text`.
    pub(crate) fn from_text(text: &str, now: Timestamp) -> Result<Self> {
        Ok(Self::new(compile_text(text, now)?))
    }

    /// The empty policy: every check is denied.
    pub(crate) fn deny_all(now: Timestamp) -> Result<Self> {
        Ok(Self::new(
            palisade_rbac::compile(&PolicyDocument::new(), now).map_err(component)?,
        ))
    }

    fn new(compiled: CompiledPolicy) -> Self {
        Self {
            current: ArcSwap::from_pointee(Loaded {
                version: 1,
                compiled,
            }),
            masks: RwLock::new(HashMap::new()),
            swap_lock: Mutex::new(()),
        }
    }

    pub(crate) fn version(&self) -> u64 {
        self.current.load().version
    }

    /// Compile `text` and put it in force; returns the new version.
    /// Checks already running keep the policy they loaded.
    pub(crate) fn swap(&self, text: &str, now: Timestamp) -> Result<u64> {
        let compiled = compile_text(text, now)?;
        let _one_swap_at_a_time = self
            .swap_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let version = self.current.load().version + 1;
        self.current.store(Arc::new(Loaded { version, compiled }));
        Ok(version)
    }

    /// The policy in force (for explanations and listings).
    pub(crate) fn with_policy<R>(&self, f: impl FnOnce(&CompiledPolicy, u64) -> R) -> R {
        let loaded = self.current.load();
        f(&loaded.compiled, loaded.version)
    }

    fn mask_for(
        &self,
        policy: &CompiledPolicy,
        key: &Verified,
    ) -> core::result::Result<Arc<ScopeMask>, Arc<str>> {
        let id = *key.key_id();
        let fresh = |c: &CachedMask| {
            c.key_generation == key.generation() && c.policy_generation == policy.generation()
        };
        if let Some(c) = self
            .masks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .filter(|c| fresh(c))
        {
            return c.mask.clone();
        }
        let mask = policy
            .scope_mask(key.granted_scopes())
            .map(Arc::new)
            .map_err(|e| Arc::from(format!("key `{id}` scopes do not fit the policy: {e}")));
        let mut map = self.masks.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_CACHED_MASKS {
            map.clear();
        }
        map.insert(
            id,
            CachedMask {
                key_generation: key.generation(),
                policy_generation: policy.generation(),
                mask: mask.clone(),
            },
        );
        mask
    }

    /// Allow, or the log-facing reason for a denial.
    pub(crate) fn check(
        &self,
        principal: &Principal,
        key: Option<&Verified>,
        permission: &str,
        scope: &Scope,
        now: Timestamp,
    ) -> core::result::Result<(), String> {
        let loaded = self.current.load();
        let policy = &loaded.compiled;
        let mask = match key {
            Some(v) => Some(self.mask_for(policy, v).map_err(|e| e.to_string())?),
            None => None,
        };
        let mut subject = Subject::new(principal, *scope, now);
        if let Some(m) = &mask {
            subject = subject.with_key_scopes(m);
        }
        match policy.check_named(&subject, permission) {
            Decision::Allow => Ok(()),
            Decision::Deny => Err(format!(
                "policy v{}: {}",
                loaded.version,
                policy.explain_named(&subject, permission)
            )),
        }
    }
}
