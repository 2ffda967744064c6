//! The offline verifier: replays an export, recomputes every leaf and every
//! checkpoint's root, checks signatures and the checkpoint chain, and
//! reports the first problem with its line and index.

use crate::anchors::Anchors;
use crate::checkpoint::{Checkpoint, SignatureCheck};
use crate::export::{EXPORT_FORMAT, EXPORT_VERSION};
use crate::export_in::{LineIn, hex32, parse_line, parse_tenant};
use crate::findings::{Finding, Problem, Report};
use crate::keys::Keyring;
use crate::merkle::{Frontier, Hash, leaf_hash};
use palisade_tenancy::TenantId;
use subtle::ConstantTimeEq;

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
    /// Checkpoints published earlier (by a [`crate::CheckpointPublisher`],
    /// read back with [`crate::read_published`]), of any tenants: those of
    /// [`VerifyOptions::tenant`] must verify with the keyring, and the
    /// export must agree with every one of them (same root at its size) and
    /// reach the largest ([`Problem::Truncated`] otherwise, a fork is
    /// [`Problem::TrustedRootMismatch`]).
    pub published: Vec<Checkpoint>,
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
            published: Vec::new(),
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
    Verifier::run(export, Some(keys), opts, None).report
}

/// What a structural replay (no keys) of a stored log collects for resuming.
pub(crate) struct Scanned {
    pub(crate) report: Report,
    pub(crate) last_cp: Option<Checkpoint>,
    /// Every checkpoint with its 1-based line.
    pub(crate) checkpoints: Vec<(u64, Checkpoint)>,
    /// Records after the last checkpoint: line and stored MAC.
    pub(crate) tail: Vec<(u64, Option<Hash>)>,
    /// The header's version.
    pub(crate) version: u8,
}

/// Replay without signature checks, collecting leaves (resuming own files).
pub(crate) fn scan(export: &[u8], tenant: TenantId, leaves: &mut Vec<Hash>) -> Scanned {
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
    version: u8,
    /// Scan mode: collect checkpoints and the tail for resuming.
    collect: bool,
    checkpoints: Vec<(u64, Checkpoint)>,
    tail: Vec<(u64, Option<Hash>)>,
    anchors: Anchors,
}

impl Verifier<'_> {
    fn run(
        data: &[u8],
        keys: Option<&Keyring>,
        opts: &VerifyOptions,
        mut leaves: Option<&mut Vec<Hash>>,
    ) -> Scanned {
        let mut v = Verifier {
            keys,
            report: Report::default(),
            frontier: Frontier::default(),
            buf: Vec::with_capacity(1024),
            prev: [0; 32],
            last_cp: None,
            version: 0,
            collect: leaves.is_some(),
            checkpoints: Vec::new(),
            tail: Vec::new(),
            anchors: Anchors::new(opts),
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
        let fail = |v: &mut Verifier<'_>, line: u64, index: Option<u64>, problem: Problem| {
            v.report.problem = Some(Finding {
                line,
                index,
                problem,
            });
        };
        if let Some(keys) = keys
            && let Err(problem) = v.anchors.check_signatures(keys)
        {
            // Line 0: the problem is in the published checkpoints.
            fail(&mut v, 0, None, problem);
            return v.finish();
        }
        for (n, raw) in lines.iter().take(count).enumerate() {
            if let Err((index, problem)) = v.line(
                n,
                raw,
                lines.get(n + 1..count).unwrap_or_default(),
                opts,
                leaves.as_deref_mut(),
            ) {
                fail(&mut v, n as u64 + 1, index, problem);
                return v.finish();
            }
            if let Err((index, problem)) = v.anchors.reached(&v.frontier) {
                let line = line_of_record(&lines, index).unwrap_or(n) as u64 + 1;
                fail(&mut v, line, Some(index), problem);
                return v.finish();
            }
        }
        let end = v.frontier.size();
        let last = count as u64; // the last complete line, 1-based
        if count == 0 && torn.is_empty() {
            fail(&mut v, 1, None, Problem::BadHeader);
        } else if !torn.is_empty() {
            fail(&mut v, last + 1, Some(end), Problem::TornLastLine);
        } else if let Some(size) = v.anchors.beyond(end) {
            fail(
                &mut v,
                last,
                Some(end),
                Problem::Truncated { trusted_size: size },
            );
        } else if !opts.allow_unsigned_tail && v.report.signed_size < end {
            let from = v.report.signed_size;
            fail(&mut v, last, Some(from), Problem::UnsignedTail);
        }
        v.finish()
    }

    fn finish(self) -> Scanned {
        Scanned {
            report: self.report,
            last_cp: self.last_cp,
            checkpoints: self.checkpoints,
            tail: self.tail,
            version: self.version,
        }
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
                if format != EXPORT_FORMAT || !(1..=EXPORT_VERSION).contains(&version) {
                    return Err((None, Problem::BadHeader));
                }
                self.version = version;
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
                    mac,
                    event,
                },
            ) => {
                if index != expected {
                    return Err(classify(index, expected, rest));
                }
                let stored = hex32("leaf_hash", &stored).map_err(|e| malformed(e.to_string()))?;
                let mac = match (self.version, mac) {
                    (1, None) => None,
                    (1, Some(_)) => {
                        return Err(malformed("`mac` is not part of version 1".into()));
                    }
                    (_, None) => return Err(malformed("missing field `mac`".into())),
                    (_, Some(m)) => Some(hex32("mac", &m).map_err(|e| malformed(e.to_string()))?),
                };
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
                if self.collect {
                    self.tail.push((n as u64 + 1, mac));
                }
                self.report.records += 1;
                Ok(())
            }
            (_, LineIn::Checkpoint(cp)) => {
                let cp = cp.to_checkpoint().map_err(|e| malformed(e.to_string()))?;
                self.checkpoint(cp, expected)?;
                if self.collect
                    && let Some(cp) = &self.last_cp
                {
                    self.checkpoints.push((n as u64 + 1, cp.clone()));
                    self.tail.clear();
                }
                Ok(())
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
        self.anchors.export_checkpoint(&self.prev, cp.size);
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

/// The 0-based line of the record with `index`, if any (slow path: only
/// after a divergence from a trusted checkpoint was found).
fn line_of_record(lines: &[&[u8]], index: u64) -> Option<usize> {
    lines
        .iter()
        .position(|l| matches!(parse_line(l), Ok(LineIn::Record { index: i, .. }) if i == index))
}
