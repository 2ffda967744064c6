//! One tenant's log: append (encode, hash, extend the tree, hand to the
//! sink), checkpoints, proofs, export.

use crate::canonical::encode_record;
use crate::checkpoint::Checkpoint;
use crate::default_redactor::DefaultRedactor;
use crate::error::{AuditError, Result};
use crate::event::AuditEvent;
use crate::keys::{CheckpointSigner, KeyId, Keyring, RecordMacKey};
use crate::merkle::{Hash, Tree, leaf_hash};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::publish::CheckpointPublisher;
use crate::redact::{Redactor, apply};
use crate::sink::{AuditSink, Record, Resume};
use palisade_tenancy::{TenantId, Timestamp};
use std::io::Write;
use std::sync::Arc;

/// When the log signs a checkpoint on its own (besides explicit calls).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CheckpointPolicy {
    /// After this many records since the last checkpoint (0 = never by count).
    pub every_records: u64,
    /// When `now` (an appended event's time, or `tick`'s argument) is this
    /// many milliseconds after the first record not yet covered by a
    /// checkpoint (0 = never by time).
    pub every_millis: u64,
}

impl Default for CheckpointPolicy {
    /// Every 1 000 records or 60 s, whichever comes first.
    fn default() -> Self {
        Self {
            every_records: 1000,
            every_millis: 60_000,
        }
    }
}

/// Proof of an append: where the record is and what it hashes to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Receipt {
    /// The record's index in its tenant's log.
    pub index: u64,
    /// `SHA-256(0x00 ‖ canonical record)`.
    pub leaf_hash: Hash,
}

/// The append-only log of one tenant. Not `Sync`: share it through
/// [`crate::AuditLog`] (a mutex per tenant) or your own lock.
pub struct TenantLog {
    tenant: TenantId,
    tree: Tree,
    buf: Vec<u8>,
    sink: Box<dyn AuditSink>,
    signer: Arc<CheckpointSigner>,
    redactor: Arc<dyn Redactor>,
    policy: CheckpointPolicy,
    last: Option<Checkpoint>,
    /// Time of the first record not yet covered by a checkpoint.
    pending_since: Option<Timestamp>,
    closed: bool,
    /// Key ids that signed this log before (rotated out, or read on resume).
    used_ids: Vec<KeyId>,
    /// Key and chain value of the record MACs (`docs/audit-format.md` §8).
    mac_key: RecordMacKey,
    mac_chain: Hash,
    /// The latest event time appended (for the checkpoint a rotation signs).
    latest: Option<Timestamp>,
    publisher: Option<Arc<dyn CheckpointPublisher>>,
    /// Publication failures not yet reported, and the last one's message.
    publish_failures: u64,
    publish_last: String,
}

impl core::fmt::Debug for TenantLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TenantLog({}, size {})", self.tenant, self.tree.size())
    }
}

/// Records a resumed log holds beyond its last checkpoint (their times are
/// unknown here, so a time-based checkpoint is due at the first `tick`).
fn tree_size_after(state: &Resume) -> u64 {
    let covered = state.last_checkpoint.as_ref().map_or(0, |c| c.size);
    (state.leaves.len() as u64).saturating_sub(covered)
}

impl TenantLog {
    /// A new, empty log for `tenant` writing to `sink`, signing with
    /// `signer`, using the default redactor and checkpoint policy.
    #[must_use]
    pub fn new(tenant: TenantId, sink: Box<dyn AuditSink>, signer: Arc<CheckpointSigner>) -> Self {
        Self::build(tenant, sink, signer, Resume::default(), [0; 32])
    }

    /// Continue a log from the state recovered from its sink, after checking
    /// it: every stored checkpoint must be signed by `signer`, and every
    /// record after the last checkpoint must carry a valid record MAC under
    /// `signer`'s secret (`docs/audit-format.md` §8). Use
    /// [`TenantLog::resume_with_keys`] when earlier checkpoints were signed
    /// by keys rotated out since.
    ///
    /// # Errors
    /// [`AuditError::ResumeRefused`] naming the first line that does not
    /// verify (the sink is dropped without writing anything).
    pub fn resume(
        tenant: TenantId,
        sink: Box<dyn AuditSink>,
        signer: Arc<CheckpointSigner>,
        state: Resume,
    ) -> Result<Self> {
        Self::resume_with_keys(tenant, sink, signer, state, &Keyring::new())
    }

    /// As [`TenantLog::resume`], also accepting stored checkpoints signed
    /// by the keys in `keys` (earlier signing keys).
    ///
    /// # Errors
    /// As [`TenantLog::resume`].
    pub fn resume_with_keys(
        tenant: TenantId,
        sink: Box<dyn AuditSink>,
        signer: Arc<CheckpointSigner>,
        state: Resume,
        keys: &Keyring,
    ) -> Result<Self> {
        let checked = crate::resume::check(&signer, &signer.record_mac_key(), keys, &state)?;
        let mut log = Self::build(tenant, sink, signer, state, checked.mac_chain);
        log.used_ids.sort();
        log.used_ids.dedup();
        Ok(log)
    }

    fn build(
        tenant: TenantId,
        sink: Box<dyn AuditSink>,
        signer: Arc<CheckpointSigner>,
        state: Resume,
        mac_chain: Hash,
    ) -> Self {
        let uncovered = tree_size_after(&state);
        let mut tree = Tree::new();
        for l in state.leaves {
            tree.push(l);
        }
        let used_ids = state
            .checkpoints
            .iter()
            .map(|(_, c)| c.key_id().clone())
            .filter(|id| id != signer.key_id())
            .collect();
        Self {
            tenant,
            tree,
            buf: Vec::with_capacity(1024),
            sink,
            mac_key: signer.record_mac_key(),
            signer,
            redactor: Arc::new(DefaultRedactor),
            policy: CheckpointPolicy::default(),
            pending_since: (uncovered > 0).then(|| {
                state
                    .last_checkpoint
                    .as_ref()
                    .map_or(Timestamp::EPOCH, |c| c.time)
            }),
            last: state.last_checkpoint,
            closed: false,
            used_ids,
            mac_chain,
            latest: None,
            publisher: None,
            publish_failures: 0,
            publish_last: String::new(),
        }
    }

    /// Call `publisher` for every checkpoint signed from now on.
    #[must_use]
    pub fn with_publisher(mut self, publisher: Arc<dyn CheckpointPublisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Replace the redaction hook.
    #[must_use]
    pub fn with_redactor(mut self, redactor: Arc<dyn Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Replace the checkpoint policy.
    #[must_use]
    pub fn with_policy(mut self, policy: CheckpointPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sign future checkpoints with `signer` (key rotation). Verifiers need
    /// both the old and the new key id in their keyring.
    ///
    /// # Errors
    /// [`AuditError::KeyIdReused`] when `signer`'s key id has signed in this
    /// log before (the current key or an earlier one): a key id names one
    /// key forever.
    pub fn rotate_signer(&mut self, signer: Arc<CheckpointSigner>) -> Result<()> {
        if self.has_used(signer.key_id()) {
            return Err(AuditError::KeyIdReused {
                key_id: signer.key_id().as_str().to_owned(),
            });
        }
        // Records not yet covered carry MACs under the old key: cover them
        // with a checkpoint of the old key first, so a resumed log only ever
        // checks MACs under the key of its current signer.
        if self.last.as_ref().map_or(0, |c| c.size) < self.size() {
            let now = self
                .latest
                .or(self.last.as_ref().map(|c| c.time))
                .unwrap_or(Timestamp::EPOCH);
            self.sign_checkpoint(now)?;
        }
        self.used_ids.push(self.signer.key_id().clone());
        self.mac_key = signer.record_mac_key();
        self.signer = signer;
        Ok(())
    }

    /// True when `id` has signed (or is signing) this log's checkpoints.
    #[must_use]
    pub fn has_used(&self, id: &KeyId) -> bool {
        self.signer.key_id() == id || self.used_ids.contains(id)
    }

    /// The tenant.
    #[must_use]
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Number of records.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The last checkpoint signed.
    #[must_use]
    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.last.as_ref()
    }

    /// Redact, encode, hash and store `event` as the next record; sign a
    /// checkpoint when the policy says so (using the event's time as now,
    /// clamped as in [`TenantLog::checkpoint`]).
    ///
    /// # Errors
    /// [`AuditError::WrongTenant`] for another tenant's event;
    /// [`AuditError::SinkClosed`] after an earlier sink failure; the sink's
    /// error (after which the log is closed: nothing is half-appended).
    pub fn append(&mut self, mut event: AuditEvent) -> Result<Receipt> {
        if self.closed {
            return Err(AuditError::SinkClosed);
        }
        if event.scope.tenant_id() != self.tenant {
            return Err(AuditError::WrongTenant {
                log: self.tenant.to_string(),
                event: event.scope.tenant_id().to_string(),
            });
        }
        apply(self.redactor.as_ref(), &mut event);
        let index = self.tree.size();
        encode_record(index, &event, &mut self.buf);
        let lh = leaf_hash(&self.buf);
        let mac = self.mac_key.mac(&self.mac_chain, &lh);
        let rec = Record {
            index,
            leaf_hash: &lh,
            mac: &mac,
            event: &event,
            canonical: &self.buf,
        };
        if let Err(e) = self.sink.append(&rec) {
            self.closed = true;
            return Err(e);
        }
        self.mac_chain = mac;
        self.latest = Some(self.latest.map_or(event.time, |l| l.max(event.time)));
        self.tree.push(lh);
        if self.pending_since.is_none() {
            self.pending_since = Some(event.time);
        }
        if self.due(event.time) {
            self.sign_checkpoint(event.time)?;
        }
        Ok(Receipt {
            index,
            leaf_hash: lh,
        })
    }

    fn due(&self, now: Timestamp) -> bool {
        let size = self.last.as_ref().map_or(0, |c| c.size);
        let pending = self.tree.size() - size;
        if pending == 0 {
            return false;
        }
        let by_count = self.policy.every_records != 0 && pending >= self.policy.every_records;
        // At most T ms between a record and the first checkpoint covering it.
        let by_time = self.policy.every_millis != 0
            && self.pending_since.is_some_and(|t| {
                now.duration_since(t)
                    .is_some_and(|d| d.as_millis() >= u128::from(self.policy.every_millis))
            });
        by_count || by_time
    }

    /// Sign a checkpoint of the current size and root and store it (the sink
    /// commits per its fsync policy).
    ///
    /// The checkpoint's time is `now`, or the previous checkpoint's time when
    /// `now` is earlier (a late event's time, or a host clock stepped back):
    /// checkpoint times never decrease, which the verifier requires. A record
    /// may therefore carry an earlier time than the checkpoint covering it.
    ///
    /// # Errors
    /// [`AuditError::SinkClosed`] or the sink's error;
    /// [`AuditError::PublishFailed`] when this or an earlier checkpoint was
    /// signed and stored but the publisher failed (reported once).
    pub fn checkpoint(&mut self, now: Timestamp) -> Result<Checkpoint> {
        let cp = self.sign_checkpoint(now)?;
        self.take_publish_error()?;
        Ok(cp)
    }

    /// Report (once) publication failures since the last report.
    fn take_publish_error(&mut self) -> Result<()> {
        if self.publish_failures == 0 {
            return Ok(());
        }
        let count = core::mem::take(&mut self.publish_failures);
        Err(AuditError::PublishFailed {
            count,
            last: core::mem::take(&mut self.publish_last),
        })
    }

    fn sign_checkpoint(&mut self, now: Timestamp) -> Result<Checkpoint> {
        if self.closed {
            return Err(AuditError::SinkClosed);
        }
        let size = self.tree.size();
        let root = self
            .tree
            .root_at(size)
            .unwrap_or_else(crate::merkle::empty_root);
        let (prev, time) = self.last.as_ref().map_or(([0; 32], now), |l| {
            (l.chain_hash(), core::cmp::max(now, l.time))
        });
        let cp = Checkpoint::sign(&self.signer, self.tenant, size, root, time, prev);
        if let Err(e) = self.sink.checkpoint(&cp) {
            self.closed = true;
            return Err(e);
        }
        self.mac_chain = cp.chain_hash();
        if let Some(p) = &self.publisher
            && let Err(e) = p.publish(&cp)
        {
            self.publish_failures += 1;
            self.publish_last = e.to_string();
        }
        self.last = Some(cp.clone());
        self.pending_since = None;
        Ok(cp)
    }

    /// Sign a checkpoint if the time policy says one is due at `now` (call
    /// periodically so a quiet tenant's tail still gets signed).
    ///
    /// # Errors
    /// As [`TenantLog::checkpoint`].
    pub fn tick(&mut self, now: Timestamp) -> Result<Option<Checkpoint>> {
        let cp = if self.due(now) {
            Some(self.sign_checkpoint(now)?)
        } else {
            None
        };
        self.take_publish_error()?;
        Ok(cp)
    }

    /// Make everything appended so far durable (the sink's commit).
    ///
    /// # Errors
    /// The sink's error (the log is then closed).
    pub fn commit(&mut self) -> Result<()> {
        let r = self.sink.commit();
        if r.is_err() {
            self.closed = true;
        }
        r
    }

    /// The Merkle root of the first `size` records.
    #[must_use]
    pub fn root(&self, size: u64) -> Option<Hash> {
        self.tree.root_at(size)
    }

    /// The leaf hash of record `index`.
    #[must_use]
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        self.tree.leaf(index)
    }

    /// Prove that record `index` is in the tree of `size` records.
    ///
    /// # Errors
    /// [`AuditError::ProofRange`] unless `index < size <= self.size()`.
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<InclusionProof> {
        let mut path = Vec::with_capacity(64);
        if index >= size
            || size > self.size()
            || self
                .tree
                .inclusion_path(index, 0, size, &mut path)
                .is_none()
        {
            return Err(AuditError::ProofRange {
                what: format!("inclusion of index {index} in size {size}"),
                size: self.size(),
            });
        }
        Ok(InclusionProof { index, size, path })
    }

    /// Prove that the tree of `old_size` records is a prefix of the tree of
    /// `new_size` records.
    ///
    /// # Errors
    /// [`AuditError::ProofRange`] unless `old_size <= new_size <= self.size()`.
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof> {
        let mut path = Vec::with_capacity(64);
        let ok = old_size <= new_size
            && new_size <= self.size()
            && (old_size == 0
                || self
                    .tree
                    .subproof(old_size, 0, new_size, true, &mut path)
                    .is_some());
        if !ok {
            return Err(AuditError::ProofRange {
                what: format!("consistency of size {old_size} with size {new_size}"),
                size: self.size(),
            });
        }
        Ok(ConsistencyProof {
            old_size,
            new_size,
            path,
        })
    }

    /// Write the JSON Lines export, first signing a checkpoint at `now` if
    /// records were appended since the last one, so the export ends signed.
    ///
    /// # Errors
    /// Sink errors, or [`AuditError::Io`] writing to `out`.
    pub fn export(&mut self, now: Timestamp, out: &mut dyn Write) -> Result<()> {
        if self.last.as_ref().is_none_or(|c| c.size < self.size()) {
            self.sign_checkpoint(now)?;
        }
        self.sink.export(self.tenant, out)
    }
}
