//! The embedded durable sink: one append-only JSON Lines file per tenant, in
//! the export format, with group commit and torn-tail detection.
//!
//! Crash behaviour (also in `docs/audit-format.md` §8): records are written
//! through a buffer; the file is flushed and `fsync`ed (`sync_data`) at each
//! commit point of the [`FsyncPolicy`]. A crash loses at most the records
//! since the last commit point, and may leave a torn last line. Opening the
//! file again detects the torn line and refuses to append
//! ([`AuditError::TornTail`]) until the operator opens it with
//! [`JsonlFileSink::open_recovering`], which cuts the partial line off and
//! returns how many bytes were cut, so a loss is never silent.

use crate::checkpoint::Checkpoint;
use crate::error::{AuditError, Result};
use crate::export::{EXPORT_VERSION, write_checkpoint_line, write_header_line, write_record_line};
use crate::shared::SinkFactory;
use crate::sink::{AuditSink, Record, Resume};
use crate::verify::scan;
use palisade_tenancy::TenantId;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// When the file sink makes records durable.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FsyncPolicy {
    /// Group commit: flush and `fsync` after every `n` records (and at every
    /// checkpoint and explicit commit). `EveryRecords(1)` is one fsync per record.
    EveryRecords(u32),
    /// Flush and `fsync` only at checkpoints and explicit commits.
    AtCheckpoints,
    /// Never `fsync` (flush to the OS at checkpoints and commits only):
    /// for tests and benchmarks; a power loss can lose anything recent.
    Never,
}

impl Default for FsyncPolicy {
    /// Group commit every 256 records.
    fn default() -> Self {
        Self::EveryRecords(256)
    }
}

/// What [`JsonlFileSink::open_recovering`] cut off.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TornTail {
    /// Byte offset where the torn line started (the new file length).
    pub offset: u64,
    /// How many bytes were cut.
    pub len: u64,
}

/// An append-only JSON Lines file holding one tenant's log.
pub struct JsonlFileSink {
    path: PathBuf,
    file: BufWriter<File>,
    policy: FsyncPolicy,
    pending: u32,
    line: Vec<u8>,
}

impl core::fmt::Debug for JsonlFileSink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "JsonlFileSink({})", self.path.display())
    }
}

impl JsonlFileSink {
    /// Open `path` for `tenant`, creating it (with its header line) if it
    /// does not exist, else replaying it to resume the tree.
    ///
    /// # Errors
    /// [`AuditError::TornTail`] when the file ends with a partial line;
    /// [`AuditError::ResumeRefused`] (naming the line) when it does not
    /// verify structurally or belongs to another tenant;
    /// [`AuditError::ResumeFailed`] for a version-1 file; [`AuditError::Io`].
    /// The signatures and record MACs are checked by
    /// [`crate::TenantLog::resume`], which the returned state is for. An
    /// existing file is never written to here.
    pub fn open(path: &Path, tenant: TenantId, policy: FsyncPolicy) -> Result<(Self, Resume)> {
        Self::open_inner(path, tenant, policy, false).map(|(s, r, _)| (s, r))
    }

    /// As [`JsonlFileSink::open`], but a torn last line is cut off and
    /// reported instead of refused.
    ///
    /// # Errors
    /// As [`JsonlFileSink::open`], except for the torn tail.
    pub fn open_recovering(
        path: &Path,
        tenant: TenantId,
        policy: FsyncPolicy,
    ) -> Result<(Self, Resume, Option<TornTail>)> {
        Self::open_inner(path, tenant, policy, true)
    }

    fn open_inner(
        path: &Path,
        tenant: TenantId,
        policy: FsyncPolicy,
        recover: bool,
    ) -> Result<(Self, Resume, Option<TornTail>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        let mut torn = None;
        let good = data.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        if good < data.len() {
            let t = TornTail {
                offset: good as u64,
                len: (data.len() - good) as u64,
            };
            if !recover {
                return Err(AuditError::TornTail {
                    path: path.display().to_string(),
                    offset: t.offset,
                    len: t.len,
                });
            }
            file.set_len(t.offset)?;
            file.sync_data()?;
            data.truncate(good);
            torn = Some(t);
        }
        let mut sink = Self {
            path: path.to_owned(),
            file: BufWriter::with_capacity(1 << 20, file),
            policy,
            pending: 0,
            line: Vec::with_capacity(1024),
        };
        if data.is_empty() {
            write_header_line(tenant, &mut sink.line)?;
            sink.file.write_all(&sink.line)?;
            sink.sync()?;
            return Ok((sink, Resume::default(), torn));
        }
        let mut leaves = Vec::new();
        let scanned = scan(&data, tenant, &mut leaves);
        let log = path.display().to_string();
        if let Some(f) = scanned.report.problem {
            return Err(AuditError::ResumeRefused {
                log,
                line: f.line,
                index: f.index,
                problem: f.problem,
            });
        }
        if scanned.version != EXPORT_VERSION {
            return Err(AuditError::ResumeFailed {
                path: log,
                problem: format!(
                    "it is a version-{} file, whose records after the last checkpoint cannot be authenticated: verify and archive it, and start a new file for the tenant (docs/audit-format.md §8)",
                    scanned.version
                ),
            });
        }
        Ok((
            sink,
            Resume {
                leaves,
                last_checkpoint: scanned.last_cp,
                checkpoints: scanned.checkpoints,
                tail: scanned.tail,
                source: log,
            },
            torn,
        ))
    }

    fn sync(&mut self) -> Result<()> {
        self.file.flush()?;
        if self.policy != FsyncPolicy::Never {
            self.file.get_ref().sync_data()?;
        }
        self.pending = 0;
        Ok(())
    }
}

impl AuditSink for JsonlFileSink {
    fn append(&mut self, record: &Record<'_>) -> Result<()> {
        write_record_line(
            record.index,
            record.leaf_hash,
            record.mac,
            record.event,
            &mut self.line,
        )?;
        self.file.write_all(&self.line)?;
        self.pending += 1;
        if let FsyncPolicy::EveryRecords(n) = self.policy
            && self.pending >= n
        {
            self.sync()?;
        }
        Ok(())
    }

    fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        write_checkpoint_line(checkpoint, &mut self.line)?;
        self.file.write_all(&self.line)?;
        self.sync()
    }

    fn commit(&mut self) -> Result<()> {
        self.sync()
    }

    fn export(&mut self, _tenant: TenantId, out: &mut dyn Write) -> Result<()> {
        self.sync()?;
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(0))?;
        std::io::copy(&mut f, out)?;
        Ok(())
    }
}

/// A [`SinkFactory`] of [`JsonlFileSink`]s: `DIR/{tenant}.jsonl`.
#[derive(Clone, Debug)]
pub struct JsonlDir {
    dir: PathBuf,
    policy: FsyncPolicy,
}

impl JsonlDir {
    /// Files in `dir` (which must exist) under `policy`.
    #[must_use]
    pub fn new(dir: &Path, policy: FsyncPolicy) -> Self {
        Self {
            dir: dir.to_owned(),
            policy,
        }
    }

    /// The file of `tenant`.
    #[must_use]
    pub fn path_of(&self, tenant: TenantId) -> PathBuf {
        self.dir.join(format!("{tenant}.jsonl"))
    }
}

impl SinkFactory for JsonlDir {
    fn open(&self, tenant: TenantId) -> Result<(Box<dyn AuditSink>, Resume)> {
        let (s, r) = JsonlFileSink::open(&self.path_of(tenant), tenant, self.policy)?;
        Ok((Box::new(s), r))
    }
}
