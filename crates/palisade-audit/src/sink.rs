//! Where records go: the [`AuditSink`] trait and the in-memory sink.

use crate::canonical::decode_record;
use crate::checkpoint::Checkpoint;
use crate::error::Result;
use crate::event::AuditEvent;
use crate::export::{write_checkpoint_line, write_header_line, write_record_line};
use crate::merkle::{Hash, leaf_hash};
use palisade_tenancy::TenantId;
use std::io::Write;

/// One record as handed to a sink.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Its index in the tenant's log.
    pub index: u64,
    /// `SHA-256(0x00 ‖ canonical)`.
    pub leaf_hash: &'a Hash,
    /// The record MAC (`docs/audit-format.md` §8), chained from the last
    /// checkpoint: what lets a resumed log tell its own unsigned records
    /// from forged ones. Store it with the record.
    pub mac: &'a Hash,
    /// The (already redacted) event.
    pub event: &'a AuditEvent,
    /// Its canonical bytes (`docs/audit-format.md` §3).
    pub canonical: &'a [u8],
}

/// State recovered from an existing sink, so a reopened log continues the
/// same tree instead of starting a second one, and the evidence
/// [`crate::TenantLog::resume`] checks before it appends anything: every
/// stored checkpoint (their signatures) and the MAC of every record after
/// the last one.
///
/// A sink fills it from what it stored (the file sink from a structural
/// replay: leaf hashes, roots and the checkpoint chain already checked).
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// Leaf hashes of the records already stored, in order.
    pub leaves: Vec<Hash>,
    /// The last checkpoint stored, if any.
    pub last_checkpoint: Option<Checkpoint>,
    /// Every stored checkpoint with the 1-based line (or row) it came from,
    /// in log order (the last one is `last_checkpoint`).
    pub checkpoints: Vec<(u64, Checkpoint)>,
    /// The records after the last checkpoint, in order: their line and
    /// stored MAC (`None` when the stored record has none). Must hold one
    /// entry per leaf not covered by `last_checkpoint`, or resuming is refused.
    pub tail: Vec<(u64, Option<Hash>)>,
    /// Where the state was read from (a path), for error messages.
    pub source: String,
}

/// Storage for one tenant's records and checkpoints.
///
/// Contract: `append` and `checkpoint` are called in log order; a record is
/// durable once `commit` (or a checkpoint under the sink's fsync policy) has
/// returned. If any call fails the log stops accepting appends
/// ([`crate::AuditError::SinkClosed`]) until it is reopened, so a gap can
/// never be papered over.
pub trait AuditSink: Send {
    /// Store one record.
    ///
    /// # Errors
    /// I/O or serialization failures.
    fn append(&mut self, record: &Record<'_>) -> Result<()>;
    /// Store a checkpoint (after the records it covers).
    ///
    /// # Errors
    /// I/O or serialization failures.
    fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()>;
    /// Make everything stored so far durable.
    ///
    /// # Errors
    /// I/O failures.
    fn commit(&mut self) -> Result<()>;
    /// Write the tenant's JSON Lines export (`docs/audit-format.md` §7).
    ///
    /// # Errors
    /// I/O failures, or stored bytes that no longer decode.
    fn export(&mut self, tenant: TenantId, out: &mut dyn Write) -> Result<()>;
}

/// An in-memory sink (tests, examples, benchmarks): canonical bytes in one
/// arena, checkpoints beside them. Nothing is durable.
#[derive(Default, Debug)]
pub struct MemorySink {
    arena: Vec<u8>,
    ends: Vec<usize>,
    macs: Vec<Hash>,
    checkpoints: Vec<Checkpoint>,
}

impl MemorySink {
    /// An empty sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records stored.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no record is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl AuditSink for MemorySink {
    fn append(&mut self, record: &Record<'_>) -> Result<()> {
        self.arena.extend_from_slice(record.canonical);
        self.ends.push(self.arena.len());
        self.macs.push(*record.mac);
        Ok(())
    }

    fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        self.checkpoints.push(checkpoint.clone());
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    fn export(&mut self, tenant: TenantId, out: &mut dyn Write) -> Result<()> {
        let mut line = Vec::with_capacity(1024);
        write_header_line(tenant, &mut line)?;
        out.write_all(&line)?;
        let mut cps = self.checkpoints.iter().peekable();
        let mut start = 0usize;
        for (i, &end) in self.ends.iter().enumerate() {
            while let Some(cp) = cps.next_if(|cp| cp.size == i as u64) {
                write_checkpoint_line(cp, &mut line)?;
                out.write_all(&line)?;
            }
            let bytes = self.arena.get(start..end).unwrap_or_default();
            start = end;
            let (index, event) = decode_record(bytes)?;
            let mac = self.macs.get(i).copied().unwrap_or_default();
            write_record_line(index, &leaf_hash(bytes), &mac, &event, &mut line)?;
            out.write_all(&line)?;
        }
        for cp in cps {
            write_checkpoint_line(cp, &mut line)?;
            out.write_all(&line)?;
        }
        Ok(())
    }
}
