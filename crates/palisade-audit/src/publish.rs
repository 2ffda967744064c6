//! Publishing checkpoints outside the log: a [`CheckpointPublisher`] is
//! called for every signed checkpoint, so tenants or an auditor can keep
//! them and later show that an export was truncated or forked
//! (`docs/audit-format.md` §10, "Published checkpoints").

use crate::checkpoint::Checkpoint;
use crate::error::{AuditError, Result};
use crate::export::write_checkpoint_line;
use crate::export_in::{LineIn, parse_line};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Receives every checkpoint the log signs, right after the sink stored it
/// (in log order per tenant). Publish it somewhere the log's writer cannot
/// rewrite: a transparency log, a ticket, the tenant's inbox, object
/// storage with retention.
///
/// A failure does not undo the checkpoint (it is signed and stored); it is
/// reported by the next [`crate::TenantLog::tick`] or explicit
/// [`crate::TenantLog::checkpoint`] as [`AuditError::PublishFailed`].
pub trait CheckpointPublisher: Send + Sync {
    /// Publish `checkpoint`.
    ///
    /// # Errors
    /// Whatever prevented publication (I/O, the remote refused it).
    fn publish(&self, checkpoint: &Checkpoint) -> Result<()>;
}

impl Checkpoint {
    /// The checkpoint as one export line,
    /// `{"checkpoint":{...}}\n` (`docs/audit-format.md` §7): the form
    /// publishers write and [`read_published`] reads.
    ///
    /// # Errors
    /// [`AuditError::Serialize`] (not expected for a valid checkpoint).
    pub fn to_line(&self) -> Result<Vec<u8>> {
        let mut line = Vec::with_capacity(512);
        write_checkpoint_line(self, &mut line)?;
        Ok(line)
    }
}

/// Appends each checkpoint as a line to a file and `fsync`s it (one file
/// for all tenants; the lines name their tenant).
pub struct FilePublisher {
    path: PathBuf,
    file: Mutex<File>,
}

impl core::fmt::Debug for FilePublisher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FilePublisher({})", self.path.display())
    }
}

impl FilePublisher {
    /// Append to `path`, creating it if needed.
    ///
    /// # Errors
    /// [`AuditError::Io`] when the file cannot be opened.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }
}

impl CheckpointPublisher for FilePublisher {
    fn publish(&self, checkpoint: &Checkpoint) -> Result<()> {
        let line = checkpoint.to_line()?;
        let mut f = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        f.write_all(&line)?;
        f.sync_data()?;
        Ok(())
    }
}

/// Prints each checkpoint line on standard output (for a log shipper that
/// forwards stdout to storage the service cannot rewrite).
#[derive(Clone, Copy, Debug, Default)]
pub struct StdoutPublisher;

impl CheckpointPublisher for StdoutPublisher {
    fn publish(&self, checkpoint: &Checkpoint) -> Result<()> {
        let line = checkpoint.to_line()?;
        let mut out = std::io::stdout().lock();
        out.write_all(&line)?;
        out.flush()?;
        Ok(())
    }
}

/// Read a file of published checkpoint lines (what [`FilePublisher`] and
/// [`StdoutPublisher`] write; empty lines are skipped), of any tenants, for
/// [`crate::VerifyOptions::published`]. Signatures are checked by the
/// verifier.
///
/// # Errors
/// [`AuditError::Published`] naming the first line that is not a
/// well-formed checkpoint line.
pub fn read_published(bytes: &[u8]) -> Result<Vec<Checkpoint>> {
    let mut out = Vec::new();
    for (n, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = n as u64 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let bad = |reason: String| AuditError::Published { line, reason };
        match parse_line(raw).map_err(bad)? {
            LineIn::Checkpoint(cp) => out.push(cp.to_checkpoint().map_err(|e| bad(e.to_string()))?),
            _ => return Err(bad("not a checkpoint line".into())),
        }
    }
    Ok(out)
}
