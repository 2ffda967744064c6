//! The crate's one error type.

/// Result alias for this crate.
pub type Result<T, E = AuditError> = core::result::Result<T, E>;

/// Everything that can go wrong while building events, appending, signing,
/// proving or reading an export.
///
/// Verification findings (a modified record, a bad signature) are not errors:
/// they are reported in a [`crate::Report`]. Errors here mean "the operation
/// could not be carried out", and say what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// An event field is empty, too long, or has a character it may not hold.
    #[error("invalid event field `{field}`: {reason}")]
    Field {
        /// The field, e.g. `action`.
        field: &'static str,
        /// What is wrong and what is accepted.
        reason: &'static str,
    },
    /// A staff actor was given without the reason for the access.
    #[error("a `staff:` actor needs a non-empty reason for the access (at most 512 bytes)")]
    StaffReasonRequired,
    /// An event of one tenant was appended to another tenant's log.
    #[error(
        "event for tenant `{event}` appended to the log of tenant `{log}`: use that tenant's log"
    )]
    WrongTenant {
        /// The log's tenant.
        log: String,
        /// The event's tenant.
        event: String,
    },
    /// Canonical bytes could not be decoded.
    #[error("malformed canonical event bytes at offset {offset}: {reason}")]
    Canonical {
        /// Byte offset of the problem.
        offset: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A key id is empty, longer than 64 bytes or outside `A-Z a-z 0-9 . _ -`.
    #[error("invalid key id `{input}`: use 1-64 characters of `A-Z a-z 0-9 . _ -`")]
    KeyId {
        /// The offending input (clipped).
        input: String,
    },
    /// A key id was given a second, different key (a keyring entry, or a
    /// signer rotated in under an id already used): checkpoints signed
    /// under the old key would stop verifying, or the two would be confused.
    #[error(
        "key id `{key_id}` is already in use with another key: give the new key a new id (e.g. bump its version suffix)"
    )]
    KeyIdReused {
        /// The key id.
        key_id: String,
    },
    /// Key material has the wrong length or encoding.
    #[error("invalid {kind} key: {reason}")]
    Key {
        /// `hmac-sha256` or `ed25519`.
        kind: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A proof's encoding is malformed.
    #[error("malformed proof encoding: {reason}")]
    ProofEncoding {
        /// What is wrong.
        reason: &'static str,
    },
    /// A proof was requested for sizes or indexes the log does not have.
    #[error("cannot prove {what}: the log has {size} records")]
    ProofRange {
        /// What was requested, e.g. `inclusion of index 7 in size 5`.
        what: String,
        /// The log's current size.
        size: u64,
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// Reading or writing a sink or export failed.
    #[error("audit sink i/o failed: {0}")]
    Io(#[from] std::io::Error),
    /// A record could not be serialized.
    #[error("could not serialize a record: {0}")]
    Serialize(String),
    /// A previous sink failure left the log unusable until it is reopened.
    #[error(
        "the audit sink failed earlier and the log is closed: reopen it (recovering the file) before appending"
    )]
    SinkClosed,
    /// A JSON Lines file ends with a partial line (a crash during a write).
    #[error(
        "the audit file `{path}` ends with a torn line of {len} bytes at byte {offset}: open it with `JsonlFileSink::open_recovering` to cut it off (it is reported, not silently dropped)"
    )]
    TornTail {
        /// The file.
        path: String,
        /// Byte offset where the torn line starts.
        offset: u64,
        /// Its length in bytes.
        len: u64,
    },
    /// A file of published checkpoints has a line that is not one.
    #[error("published checkpoints, line {line}: {reason}")]
    Published {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint was signed and stored, but its publication failed.
    #[error(
        "{count} checkpoint(s) were signed and stored but not published (last error: {last}): check the publisher"
    )]
    PublishFailed {
        /// Failures since the last report.
        count: u64,
        /// The last error.
        last: String,
    },
    /// A stored log was refused on resume: its signed part does not verify,
    /// or a record after the last checkpoint has no valid record MAC. The
    /// stored log was not modified.
    #[error(
        "refusing to continue the audit log `{log}`: line {line}: {problem}; it was not modified (verify it, and restore it from a copy or move it aside)"
    )]
    ResumeRefused {
        /// Where the log is stored (a path).
        log: String,
        /// 1-based line of the first problem.
        line: u64,
        /// The first record index affected, if one can be named.
        index: Option<u64>,
        /// What is wrong.
        problem: crate::findings::Problem,
    },
    /// An existing file could not be resumed because it does not verify.
    #[error(
        "the existing audit file `{path}` does not verify, refusing to append to it: {problem}"
    )]
    ResumeFailed {
        /// The file.
        path: String,
        /// The first problem found.
        problem: String,
    },
}

pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.to_owned(),
    }
}
