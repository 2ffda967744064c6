//! The offline verifier: replays an export, recomputes every leaf and every
//! checkpoint's root, checks signatures and the checkpoint chain, and
//! reports the first problem with its line and index.

use crate::checkpoint::{Checkpoint, SignatureCheck};
use crate::export::{EXPORT_FORMAT, EXPORT_VERSION};
use crate::export_in::{LineIn, hex32, parse_line, parse_tenant};
use crate::keys::Keyring;
use crate::merkle::{Frontier, Hash, leaf_hash};
use palisade_tenancy::TenantId;
use subtle::ConstantTimeEq;

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
    /// The first line is not a version-1 header.
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
    /// The export's root at the trusted size differs from the trusted root.
    TrustedRootMismatch,
    /// The file ends with a partial line (a crash in the middle of a write).
    TornLastLine,
}

impl core::fmt::Display for Problem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Malformed { reason } => write!(f, "malformed line: {reason}"),
            Self::BadHeader => write!(
                f,
                "the first line is not a `{EXPORT_FORMAT}` version {EXPORT_VERSION} header"
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
            Self::TrustedRootMismatch => {
                f.write_str("root differs from the trusted checkpoint's root")
            }
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

/// Options for [`verify_with`].
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The tenant whose export this must be: the header and every line must
    /// name it (another tenant's export is [`Problem::WrongTenant`]).
    pub tenant: TenantId,
    /// A checkpoint `(size, root)` the auditor already trusts (e.g. a
    /// published one): the export must extend it. This is what detects a
    /// truncation that removed whole checkpoints from the end.
    pub trusted: Option<(u64, Hash)>,
    /// Accept records after the last checkpoint (a live file); exports made
    /// by `export` always end with a checkpoint, so the default is `false`.
    pub allow_unsigned_tail: bool,
}

impl VerifyOptions {
    /// Default options for `tenant`'s export: no trusted checkpoint, no
    /// unsigned tail accepted.
    #[must_use]
    pub fn new(tenant: TenantId) -> Self {
        Self {
            tenant,
            trusted: None,
            allow_unsigned_tail: false,
        }
    }
}

/// Verify `tenant`'s export with default options. Never panics on any input.
#[must_use]
pub fn verify(export: &[u8], keys: &Keyring, tenant: TenantId) -> Report {
    verify_with(export, keys, &VerifyOptions::new(tenant))
}

/// Verify an export.
#[must_use]
pub fn verify_with(export: &[u8], keys: &Keyring, opts: &VerifyOptions) -> Report {
    Verifier::run(export, Some(keys), opts, None).0
}

/// Replay without signature checks, collecting leaves (resuming own files).
pub(crate) fn scan(
    export: &[u8],
    tenant: TenantId,
    leaves: &mut Vec<Hash>,
) -> (Report, Option<Checkpoint>) {
    let opts = VerifyOptions {
        allow_unsigned_tail: true,
        ..VerifyOptions::new(tenant)
    };
    Verifier::run(export, None, &opts, Some(leaves))
}

fn eq(a: &Hash, b: &Hash) -> bool {
    a.ct_eq(b).into()
}

struct Verifier<'k> {
    keys: Option<&'k Keyring>,
    report: Report,
    frontier: Frontier,
    buf: Vec<u8>,
    prev: Hash,
    last_cp: Option<Checkpoint>,
    trusted_root_seen: bool,
}

impl Verifier<'_> {
    fn run(
        data: &[u8],
        keys: Option<&Keyring>,
        opts: &VerifyOptions,
        mut leaves: Option<&mut Vec<Hash>>,
    ) -> (Report, Option<Checkpoint>) {
        let mut v = Verifier {
            keys,
            report: Report::default(),
            frontier: Frontier::default(),
            buf: Vec::with_capacity(1024),
            prev: [0; 32],
            last_cp: None,
            trusted_root_seen: false,
        };
        let (complete, torn) = match data.iter().rposition(|&b| b == b'\n') {
            Some(p) => (
                data.get(..=p).unwrap_or_default(),
                data.get(p + 1..).unwrap_or_default(),
            ),
            None => (&[][..], data),
        };
        let lines: Vec<&[u8]> = complete.split(|&b| b == b'\n').collect();
        let count = lines.len().saturating_sub(1); // the piece after the final '\n' is empty
        let fail = |v: &mut Verifier<'_>, line: usize, index: Option<u64>, problem: Problem| {
            v.report.problem = Some(Finding {
                line: line as u64 + 1,
                index,
                problem,
            });
        };
        for (n, raw) in lines.iter().take(count).enumerate() {
            if let Err((index, problem)) = v.line(
                n,
                raw,
                lines.get(n + 1..count).unwrap_or_default(),
                opts,
                leaves.as_deref_mut(),
            ) {
                fail(&mut v, n, index, problem);
                return (v.report, v.last_cp);
            }
            if let Some((size, root)) = &opts.trusted
                && !v.trusted_root_seen
                && v.frontier.size() == *size
            {
                v.trusted_root_seen = true;
                if !eq(&v.frontier.root(), root) {
                    fail(&mut v, n, Some(0), Problem::TrustedRootMismatch);
                    return (v.report, v.last_cp);
                }
            }
        }
        let end = v.frontier.size();
        if count == 0 && torn.is_empty() {
            fail(&mut v, 0, None, Problem::BadHeader);
        } else if !torn.is_empty() {
            fail(&mut v, count, Some(end), Problem::TornLastLine);
        } else if let Some((size, _)) = opts
            .trusted
            .filter(|(s, _)| end < *s || !v.trusted_root_seen)
        {
            fail(
                &mut v,
                count.saturating_sub(1),
                Some(end),
                Problem::Truncated { trusted_size: size },
            );
        } else if !opts.allow_unsigned_tail && v.report.signed_size < end {
            let from = v.report.signed_size;
            fail(
                &mut v,
                count.saturating_sub(1),
                Some(from),
                Problem::UnsignedTail,
            );
        }
        (v.report, v.last_cp)
    }

    fn line(
        &mut self,
        n: usize,
        raw: &[u8],
        rest: &[&[u8]],
        opts: &VerifyOptions,
        leaves: Option<&mut Vec<Hash>>,
    ) -> Result<(), (Option<u64>, Problem)> {
        let expected = self.frontier.size();
        let malformed = |reason: String| (Some(expected), Problem::Malformed { reason });
        let parsed = parse_line(raw).map_err(malformed)?;
        match (n, parsed) {
            (
                0,
                LineIn::Header {
                    format,
                    version,
                    tenant,
                },
            ) => {
                if format != EXPORT_FORMAT || version != EXPORT_VERSION {
                    return Err((None, Problem::BadHeader));
                }
                let t = parse_tenant(&tenant).map_err(|e| malformed(e.to_string()))?;
                if t != opts.tenant {
                    return Err((None, Problem::WrongTenant));
                }
                self.report.tenant = Some(t);
                Ok(())
            }
            (0, _) | (_, LineIn::Header { .. }) => Err((None, Problem::BadHeader)),
            (
                _,
                LineIn::Record {
                    index,
                    leaf_hash: stored,
                    event,
                },
            ) => {
                if index != expected {
                    return Err(classify(index, expected, rest));
                }
                let stored = hex32("leaf_hash", &stored).map_err(|e| malformed(e.to_string()))?;
                let tenant = event
                    .encode(index, &mut self.buf)
                    .map_err(|e| malformed(e.to_string()))?;
                if Some(tenant) != self.report.tenant {
                    return Err((Some(index), Problem::WrongTenant));
                }
                let lh = leaf_hash(&self.buf);
                if !eq(&lh, &stored) {
                    // A record renumbered by one after an insertion or a
                    // deletion still hashes with its original index.
                    let mut shifted = |i: u64| {
                        event.encode(i, &mut self.buf).is_ok() && eq(&leaf_hash(&self.buf), &stored)
                    };
                    if index > 0 && shifted(index - 1) {
                        return Err((Some(index - 1), Problem::Inserted));
                    }
                    if index.checked_add(1).is_some_and(&mut shifted) {
                        return Err((Some(index), Problem::Missing { count: 1 }));
                    }
                    return Err((Some(index), Problem::Modified));
                }
                self.frontier.push(lh);
                if let Some(l) = leaves {
                    l.push(lh);
                }
                self.report.records += 1;
                Ok(())
            }
            (_, LineIn::Checkpoint(cp)) => {
                let cp = cp.to_checkpoint().map_err(|e| malformed(e.to_string()))?;
                self.checkpoint(cp, expected)
            }
        }
    }

    fn checkpoint(&mut self, cp: Checkpoint, expected: u64) -> Result<(), (Option<u64>, Problem)> {
        let from = Some(self.report.signed_size);
        if Some(cp.tenant) != self.report.tenant {
            return Err((from, Problem::WrongTenant));
        }
        if !eq(&cp.prev, &self.prev)
            || self
                .last_cp
                .as_ref()
                .is_some_and(|l| cp.size < l.size || cp.time < l.time)
        {
            return Err((from, Problem::ChainBroken));
        }
        if cp.size > expected {
            return Err((
                Some(expected),
                Problem::Missing {
                    count: cp.size - expected,
                },
            ));
        }
        if cp.size < expected {
            return Err((Some(cp.size), Problem::CheckpointMisplaced));
        }
        if !eq(&self.frontier.root(), &cp.root) {
            return Err((from, Problem::RootMismatch { size: cp.size }));
        }
        if let Some(keys) = self.keys {
            match cp.check_signature(keys) {
                SignatureCheck::Valid => {}
                SignatureCheck::UnknownKey => {
                    return Err((
                        from,
                        Problem::UnknownKey {
                            key_id: cp.key_id.as_str().to_owned(),
                        },
                    ));
                }
                SignatureCheck::AlgorithmMismatch => {
                    return Err((from, Problem::AlgorithmMismatch));
                }
                SignatureCheck::Invalid => return Err((from, Problem::BadSignature)),
            }
        }
        self.prev = cp.chain_hash();
        self.report.checkpoints += 1;
        self.report.signed_size = cp.size;
        self.report.signed_root = Some(cp.root);
        self.last_cp = Some(cp);
        Ok(())
    }
}

/// Name what happened when a record's index is not the expected one.
fn classify(index: u64, expected: u64, rest: &[&[u8]]) -> (Option<u64>, Problem) {
    if index < expected {
        return (Some(index), Problem::Inserted);
    }
    let later = rest
        .iter()
        .any(|l| matches!(parse_line(l), Ok(LineIn::Record { index: i, .. }) if i == expected));
    if later {
        (Some(expected), Problem::Reordered)
    } else {
        (
            Some(expected),
            Problem::Missing {
                count: index - expected,
            },
        )
    }
}
