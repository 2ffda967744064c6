//! [`AuditLog`]: the `Send + Sync` handle a service shares across threads,
//! holding one [`TenantLog`] per tenant behind its own mutex.

use crate::checkpoint::Checkpoint;
use crate::default_redactor::DefaultRedactor;
use crate::error::{AuditError, Result};
use crate::event::AuditEvent;
use crate::findings::Report;
use crate::keys::{CheckpointSigner, KeyId, Keyring, VerifyKey};
use crate::log::{CheckpointPolicy, Receipt, TenantLog};
use crate::publish::CheckpointPublisher;
use crate::redact::Redactor;
use crate::sink::{AuditSink, MemorySink, Resume};
use crate::verify::{VerifyOptions, verify_with};
use palisade_tenancy::{TenantId, Timestamp};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

/// Opens the sink of a tenant's log the first time the tenant is seen.
pub trait SinkFactory: Send + Sync {
    /// Open (or create) `tenant`'s sink and return what it already holds.
    ///
    /// # Errors
    /// The sink's open errors (e.g. a torn or unverifiable file).
    fn open(&self, tenant: TenantId) -> Result<(Box<dyn AuditSink>, Resume)>;
}

/// A [`SinkFactory`] of [`MemorySink`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemorySinks;

impl SinkFactory for MemorySinks {
    fn open(&self, _tenant: TenantId) -> Result<(Box<dyn AuditSink>, Resume)> {
        Ok((Box::new(MemorySink::new()), Resume::default()))
    }
}

type Shared = Arc<Mutex<TenantLog>>;

/// One tenant's place in the map: the log once opened, and the lock that
/// serialises opening it (so a slow replay of one tenant's file never holds
/// the map's lock, and other tenants keep appending meanwhile).
#[derive(Default)]
struct Slot {
    log: OnceLock<Shared>,
    opening: Mutex<()>,
}

/// Per-tenant audit logs behind one thread-safe handle.
///
/// ```
/// use palisade_audit::{AuditLog, CheckpointSigner, KeyId, MemorySinks};
/// let log = AuditLog::new(Box::new(MemorySinks), CheckpointSigner::generate_hmac(KeyId::new("k1")?)?);
/// fn shared<T: Send + Sync>(_: &T) {}
/// shared(&log);
/// # Ok::<(), palisade_audit::AuditError>(())
/// ```
pub struct AuditLog {
    tenants: RwLock<HashMap<TenantId, Arc<Slot>>>,
    factory: Box<dyn SinkFactory>,
    signer: RwLock<Arc<CheckpointSigner>>,
    /// Every key id this handle has signed with (the current one last).
    used_ids: Mutex<Vec<KeyId>>,
    redactor: Arc<dyn Redactor>,
    policy: CheckpointPolicy,
    /// Keys of earlier signers, for checking stored logs on resume.
    keys: RwLock<Keyring>,
    publisher: Option<Arc<dyn CheckpointPublisher>>,
}

impl core::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Logs whose sinks come from `factory`, signed by `signer`, with the
    /// default redactor and checkpoint policy.
    #[must_use]
    pub fn new(factory: Box<dyn SinkFactory>, signer: CheckpointSigner) -> Self {
        let mut keys = Keyring::new();
        // A fresh keyring has no entry to conflict with.
        let _ = keys.insert(signer.key_id().clone(), signer.verify_key());
        Self {
            tenants: RwLock::new(HashMap::new()),
            factory,
            used_ids: Mutex::new(vec![signer.key_id().clone()]),
            signer: RwLock::new(Arc::new(signer)),
            redactor: Arc::new(DefaultRedactor),
            policy: CheckpointPolicy::default(),
            keys: RwLock::new(keys),
            publisher: None,
        }
    }

    /// Call `publisher` for every checkpoint of tenants opened from now on
    /// (see [`CheckpointPublisher`]).
    #[must_use]
    pub fn with_publisher(mut self, publisher: Arc<dyn CheckpointPublisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Verify `export` with this log's keyring: the keys of every signer
    /// this handle has used, and those added with
    /// [`AuditLog::add_verify_key`] (see [`crate::verify_with`]).
    #[must_use]
    pub fn verify_export(&self, export: &[u8], opts: &VerifyOptions) -> Report {
        verify_with(
            export,
            &self.keys.read().unwrap_or_else(PoisonError::into_inner),
            opts,
        )
    }

    /// Accept stored checkpoints signed by `key` (an earlier signing key)
    /// when a tenant's stored log is resumed, and in
    /// [`AuditLog::verify_export`]. The signers' own keys are always accepted. Without the earlier keys, resuming a log they
    /// signed is refused ([`AuditError::ResumeRefused`], unknown key).
    ///
    /// # Errors
    /// [`AuditError::KeyIdReused`] when `id` already names another key.
    pub fn add_verify_key(&self, id: KeyId, key: VerifyKey) -> Result<()> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, key)
            .map(|_| ())
    }

    /// Use `redactor` for tenants opened from now on.
    #[must_use]
    pub fn with_redactor(mut self, redactor: Arc<dyn Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Use `policy` for tenants opened from now on.
    #[must_use]
    pub fn with_policy(mut self, policy: CheckpointPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn slot(&self, tenant: TenantId) -> Arc<Slot> {
        if let Some(s) = self
            .tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tenant)
        {
            return Arc::clone(s);
        }
        // Only the map entry is made under the write lock: no I/O here.
        Arc::clone(
            self.tenants
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(tenant)
                .or_default(),
        )
    }

    fn tenant(&self, tenant: TenantId) -> Result<Shared> {
        let slot = self.slot(tenant);
        if let Some(log) = slot.log.get() {
            return Ok(Arc::clone(log));
        }
        // Threads wanting this tenant wait here while its file is replayed;
        // other tenants are not blocked. A failed open is not remembered:
        // the next use tries again (and fails again while the file is bad).
        let _opening = slot.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(log) = slot.log.get() {
            return Ok(Arc::clone(log));
        }
        let (sink, state) = self.factory.open(tenant)?;
        let signer = Arc::clone(&self.signer.read().unwrap_or_else(PoisonError::into_inner));
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let mut log = TenantLog::resume_with_keys(tenant, sink, signer, state, &keys)?
            .with_redactor(Arc::clone(&self.redactor))
            .with_policy(self.policy);
        drop(keys);
        if let Some(p) = &self.publisher {
            log = log.with_publisher(Arc::clone(p));
        }
        let shared = Arc::new(Mutex::new(log));
        Ok(Arc::clone(slot.log.get_or_init(|| shared)))
    }

    /// The logs opened so far.
    fn open_logs(&self) -> Vec<Shared> {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(|s| s.log.get().cloned())
            .collect()
    }

    /// Run `f` on `tenant`'s log (opening it on first use), under its lock.
    ///
    /// # Errors
    /// Errors opening the tenant's sink.
    pub fn with_tenant<R>(
        &self,
        tenant: TenantId,
        f: impl FnOnce(&mut TenantLog) -> R,
    ) -> Result<R> {
        let t = self.tenant(tenant)?;
        let mut guard = t.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(f(&mut guard))
    }

    /// Append `event` to its tenant's log (see [`TenantLog::append`]).
    ///
    /// # Errors
    /// As [`TenantLog::append`], or opening the tenant's sink.
    pub fn append(&self, event: AuditEvent) -> Result<Receipt> {
        self.with_tenant(event.scope().tenant_id(), |l| l.append(event))?
    }

    /// Sign a checkpoint of `tenant`'s log at `now`.
    ///
    /// # Errors
    /// As [`TenantLog::checkpoint`].
    pub fn checkpoint(&self, tenant: TenantId, now: Timestamp) -> Result<Checkpoint> {
        self.with_tenant(tenant, |l| l.checkpoint(now))?
    }

    /// Write `tenant`'s export (see [`TenantLog::export`]).
    ///
    /// # Errors
    /// As [`TenantLog::export`].
    pub fn export(&self, tenant: TenantId, now: Timestamp, out: &mut dyn Write) -> Result<()> {
        self.with_tenant(tenant, |l| l.export(now, out))?
    }

    /// Sign due checkpoints of every open tenant at `now`, and commit them.
    ///
    /// # Errors
    /// The first tenant error; the other tenants are still ticked.
    pub fn tick(&self, now: Timestamp) -> Result<()> {
        let mut first = Ok(());
        for t in self.open_logs() {
            let mut g = t.lock().unwrap_or_else(PoisonError::into_inner);
            let r = g.tick(now).and_then(|_| g.commit());
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// Sign every future checkpoint of every tenant with `signer`.
    ///
    /// # Errors
    /// [`AuditError::KeyIdReused`] when `signer`'s key id has been used
    /// before (by this handle, or in an open tenant's stored log); nothing
    /// is rotated then.
    pub fn rotate_signer(&self, signer: CheckpointSigner) -> Result<()> {
        let mut used = self.used_ids.lock().unwrap_or_else(PoisonError::into_inner);
        let logs = self.open_logs();
        let reused = used.contains(signer.key_id())
            || logs.iter().any(|t| {
                t.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .has_used(signer.key_id())
            });
        if reused {
            return Err(AuditError::KeyIdReused {
                key_id: signer.key_id().as_str().to_owned(),
            });
        }
        // Exports will hold checkpoints of the new key (the old one stays).
        self.add_verify_key(signer.key_id().clone(), signer.verify_key())?;
        used.push(signer.key_id().clone());
        let signer = Arc::new(signer);
        *self.signer.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&signer);
        let mut first = Ok(());
        for t in logs {
            let r = t
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .rotate_signer(Arc::clone(&signer));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}
