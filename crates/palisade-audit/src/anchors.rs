//! Checkpoints the verifier is given from outside the export (published by
//! a [`crate::CheckpointPublisher`], or one `(size, root)` the auditor
//! trusts): the export must agree with each (same root at its size) and
//! reach the largest. This is what detects a truncation at a checkpoint and
//! a fork, which no export can reveal on its own.

use crate::checkpoint::{Checkpoint, SignatureCheck};
use crate::findings::Problem;
use crate::keys::Keyring;
use crate::merkle::{Frontier, Hash};
use crate::verify::VerifyOptions;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

struct Anchor {
    size: u64,
    root: Hash,
    /// The published checkpoint (`None` for a bare trusted `(size, root)`).
    cp: Option<Checkpoint>,
}

/// The anchors of one verification, in size order, and how far the export
/// is known to agree with them.
pub(crate) struct Anchors {
    list: Vec<Anchor>,
    next: usize,
    /// The largest anchor size the export agrees with.
    agreed: u64,
    /// Chain hash → size of the export's verified checkpoints (only kept
    /// when there are anchors), to place a divergence after the checkpoint
    /// a disagreeing published one follows.
    chains: HashMap<Hash, u64>,
}

impl Anchors {
    pub(crate) fn new(opts: &VerifyOptions) -> Self {
        let mut list: Vec<Anchor> = opts
            .published
            .iter()
            .filter(|cp| cp.tenant() == opts.tenant)
            .map(|cp| Anchor {
                size: cp.size(),
                root: *cp.root(),
                cp: Some(cp.clone()),
            })
            .chain(opts.trusted.map(|(size, root)| Anchor {
                size,
                root,
                cp: None,
            }))
            .collect();
        list.sort_by_key(|a| a.size);
        Self {
            list,
            next: 0,
            agreed: 0,
            chains: HashMap::new(),
        }
    }

    /// Every published checkpoint must verify itself.
    pub(crate) fn check_signatures(&self, keys: &Keyring) -> Result<(), Problem> {
        for a in &self.list {
            let Some(cp) = &a.cp else { continue };
            let reason = match cp.check_signature(keys) {
                SignatureCheck::Valid => continue,
                SignatureCheck::UnknownKey => "signed by a key id not in the keyring",
                SignatureCheck::AlgorithmMismatch => "algorithm differs from the key's",
                SignatureCheck::Invalid => "signature invalid",
            };
            return Err(Problem::BadPublishedCheckpoint {
                size: a.size,
                reason,
            });
        }
        Ok(())
    }

    /// Note a verified export checkpoint (its chain hash and size).
    pub(crate) fn export_checkpoint(&mut self, chain: &Hash, size: u64) {
        if !self.list.is_empty() {
            self.chains.insert(*chain, size);
        }
    }

    /// Compare the anchors of the frontier's size with its root. On a
    /// mismatch: the index of the first record not covered by an anchor
    /// the export agrees with, or by the export checkpoint the disagreeing
    /// anchor follows (the records diverge at or after it), and the problem.
    pub(crate) fn reached(&mut self, frontier: &Frontier) -> Result<(), (u64, Problem)> {
        let size = frontier.size();
        while let Some(a) = self.list.get(self.next) {
            if a.size > size {
                break;
            }
            self.next += 1;
            if a.size < size {
                continue; // cannot happen: sizes grow by one
            }
            if bool::from(frontier.root().ct_eq(&a.root)) {
                self.agreed = self.agreed.max(a.size);
                continue;
            }
            let after_prev =
                a.cp.as_ref()
                    .and_then(|cp| self.chains.get(cp.prev()))
                    .copied()
                    .unwrap_or(0);
            return Err((
                self.agreed.max(after_prev),
                Problem::TrustedRootMismatch {
                    trusted_size: a.size,
                },
            ));
        }
        Ok(())
    }

    /// The largest anchor size beyond `end` (the export was truncated).
    pub(crate) fn beyond(&self, end: u64) -> Option<u64> {
        self.list.iter().map(|a| a.size).filter(|&s| s > end).max()
    }
}
