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
    /// The (already redacted) event.
    pub event: &'a AuditEvent,
    /// Its canonical bytes (`docs/audit-format.md` §3).
    pub canonical: &'a [u8],
}

/// State recovered from an existing sink, so a reopened log continues the
/// same tree instead of starting a second one.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// Leaf hashes of the records already stored, in order.
    pub leaves: Vec<Hash>,
    /// The last checkpoint stored, if any.
    pub last_checkpoint: Option<Checkpoint>,
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
            write_record_line(index, &leaf_hash(bytes), &event, &mut line)?;
            out.write_all(&line)?;
        }
        for cp in cps {
            write_checkpoint_line(cp, &mut line)?;
            out.write_all(&line)?;
        }
        Ok(())
    }
}
