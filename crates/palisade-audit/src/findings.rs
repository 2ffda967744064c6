//! What the verifier reports: the first problem, located by line and
//! record index (`docs/audit-format.md` §10).

use crate::export::{EXPORT_FORMAT, EXPORT_VERSION};
use crate::merkle::Hash;
use palisade_tenancy::TenantId;

/// What the verifier found wrong. Only the first problem is reported: after
/// it, nothing in the export can be trusted.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Problem {
    /// A line is not valid JSON of the export format, or a field is invalid.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The first line is not a header of a known version (1 or 2).
    BadHeader,
    /// The export is for another tenant than expected, or a line names
    /// another tenant than the header.
    WrongTenant,
    /// The record's content does not hash to its leaf hash: it was edited.
    Modified,
    /// Records are missing from this index on.
    Missing {
        /// How many indexes are skipped.
        count: u64,
    },
    /// A record that does not belong here (a duplicate, or one that shifted
    /// the records after it).
    Inserted,
    /// This index appears later in the file: records were reordered.
    Reordered,
    /// A checkpoint's root differs from the root of the records before it:
    /// records from `index` up to `size` were rewritten along with their
    /// leaf hashes.
    RootMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// A checkpoint sits where it does not belong: its size is not the
    /// number of records before it.
    CheckpointMisplaced,
    /// A checkpoint's `prev` is not the hash of the checkpoint before it, or
    /// its size or time went backwards: a checkpoint was removed, reordered
    /// or forged.
    ChainBroken,
    /// A checkpoint's signature is wrong.
    BadSignature,
    /// A checkpoint's key id is not in the keyring.
    UnknownKey {
        /// The key id.
        key_id: String,
    },
    /// The key with the checkpoint's id is of another algorithm.
    AlgorithmMismatch,
    /// Records after the last checkpoint are not covered by any signature.
    UnsignedTail,
    /// The export has fewer records than a checkpoint the auditor already
    /// trusts: it was truncated.
    Truncated {
        /// The trusted size.
        trusted_size: u64,
    },
    /// The export's root at a trusted or published checkpoint's size
    /// differs from that checkpoint's root: the log was forked or rewritten
    /// after what was published. The finding names the first record not
    /// covered by a trusted checkpoint the export does agree with (see
    /// `docs/audit-format.md` §10).
    TrustedRootMismatch {
        /// The size of the trusted checkpoint that disagrees.
        trusted_size: u64,
    },
    /// A published checkpoint handed to the verifier does not verify itself
    /// (bad signature, unknown key, wrong algorithm).
    BadPublishedCheckpoint {
        /// Its size.
        size: u64,
        /// Why (the signature check's result).
        reason: &'static str,
    },
    /// A record written after the last checkpoint has no valid record MAC:
    /// it was forged or altered by someone without the signing secret (or
    /// written under another signing key). Only checked on resume.
    UnauthenticatedRecord,
    /// The file ends with a partial line (a crash in the middle of a write).
    TornLastLine,
}

impl core::fmt::Display for Problem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed { reason } => write!(f, "malformed line: {reason}"),
            Self::BadHeader => write!(
                f,
                "the first line is not a `{EXPORT_FORMAT}` version 1 or {EXPORT_VERSION} header"
            ),
            Self::WrongTenant => f.write_str("line belongs to another tenant"),
            Self::Modified => {
                f.write_str("record modified: its content does not match its leaf hash")
            }
            Self::Missing { count } => write!(f, "{count} record(s) missing (deleted)"),
            Self::Inserted => f.write_str("record inserted: duplicate or shifted index"),
            Self::Reordered => {
                f.write_str("records reordered: this index appears later in the file")
            }
            Self::RootMismatch { size } => write!(
                f,
                "checkpoint of size {size}: root differs from the records (rewritten)"
            ),
            Self::CheckpointMisplaced => {
                f.write_str("checkpoint size does not match the records before it")
            }
            Self::ChainBroken => {
                f.write_str("checkpoint chain broken (checkpoint removed, reordered or forged)")
            }
            Self::BadSignature => f.write_str("checkpoint signature invalid"),
            Self::UnknownKey { key_id } => write!(f, "checkpoint signed by unknown key `{key_id}`"),
            Self::AlgorithmMismatch => {
                f.write_str("checkpoint algorithm differs from the key's algorithm")
            }
            Self::UnsignedTail => f.write_str(
                "records after the last checkpoint are not signed (truncated after a checkpoint?)",
            ),
            Self::Truncated { trusted_size } => write!(
                f,
                "truncated: a trusted checkpoint has {trusted_size} records"
            ),
            Self::TrustedRootMismatch { trusted_size } => write!(
                f,
                "the records differ from a trusted checkpoint of size {trusted_size} (forked or rewritten)"
            ),
            Self::BadPublishedCheckpoint { size, reason } => {
                write!(f, "published checkpoint of size {size} does not verify: {reason}")
            }
            Self::UnauthenticatedRecord => f.write_str(
                "record after the last checkpoint has no valid record MAC (forged, or written under another signing key)",
            ),
            Self::TornLastLine => f.write_str("torn last line (partial write after a crash)"),
        }
    }
}

/// Where the first problem is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Finding {
    /// 1-based line number in the export.
    pub line: u64,
    /// The first record index affected, when one can be named.
    pub index: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
}

impl core::fmt::Display for Finding {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(i) = self.index {
            write!(f, ", index {i}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// The verifier's result.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Report {
    /// The tenant named by the header.
    pub tenant: Option<TenantId>,
    /// Records that verified before the first problem (or all of them).
    pub records: u64,
    /// Checkpoints whose root, chain and signature verified.
    pub checkpoints: u64,
    /// Size covered by the last verified checkpoint.
    pub signed_size: u64,
    /// Root at `signed_size`.
    pub signed_root: Option<Hash>,
    /// The first problem, if any.
    pub problem: Option<Finding>,
}

impl Report {
    /// True when no problem was found.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}
