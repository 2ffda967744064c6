//! What a log checks before it continues a stored one (issue 11 F1): every
//! stored checkpoint's signature, and the record MAC chain of every record
//! after the last checkpoint. The sink's replay has already checked leaf
//! hashes, indexes, roots and the checkpoint chain; together nothing a
//! writer of the storage can produce without the signing secret is resumed.

use crate::checkpoint::{Checkpoint, SignatureCheck};
use crate::error::{AuditError, Result};
use crate::findings::Problem;
use crate::keys::{CheckpointSigner, Keyring, RecordMacKey};
use crate::merkle::Hash;
use crate::sink::Resume;

/// The checked state: the record-MAC chain value to continue from.
pub(crate) struct Checked {
    pub(crate) mac_chain: Hash,
}

fn signature(signer: &CheckpointSigner, keys: &Keyring, cp: &Checkpoint) -> SignatureCheck {
    if cp.key_id() != signer.key_id() {
        return cp.check_signature(keys);
    }
    let own = signer.verify_key();
    if own.algorithm() != cp.algorithm() {
        SignatureCheck::AlgorithmMismatch
    } else if own.verify(&cp.body(), cp.signature()) {
        SignatureCheck::Valid
    } else {
        SignatureCheck::Invalid
    }
}

/// Check `state` against `signer` (its own checkpoints and record MACs)
/// and `keys` (checkpoints of earlier signing keys).
///
/// # Errors
/// [`AuditError::ResumeRefused`] naming the first line that does not verify.
pub(crate) fn check(
    signer: &CheckpointSigner,
    mac_key: &RecordMacKey,
    keys: &Keyring,
    state: &Resume,
) -> Result<Checked> {
    let refuse = |line: u64, index: Option<u64>, problem: Problem| AuditError::ResumeRefused {
        log: state.source.clone(),
        line,
        index,
        problem,
    };
    let mut covered = 0;
    for (line, cp) in &state.checkpoints {
        let problem = match signature(signer, keys, cp) {
            SignatureCheck::Valid => {
                covered = cp.size();
                continue;
            }
            SignatureCheck::UnknownKey => Problem::UnknownKey {
                key_id: cp.key_id().as_str().to_owned(),
            },
            SignatureCheck::AlgorithmMismatch => Problem::AlgorithmMismatch,
            SignatureCheck::Invalid => Problem::BadSignature,
        };
        return Err(refuse(*line, Some(covered), problem));
    }
    if state.last_checkpoint.as_ref().map_or(0, Checkpoint::size) != covered
        || state.last_checkpoint.as_ref() != state.checkpoints.last().map(|(_, c)| c)
    {
        return Err(refuse(0, Some(covered), Problem::ChainBroken));
    }
    let mut chain = state
        .last_checkpoint
        .as_ref()
        .map_or([0; 32], Checkpoint::chain_hash);
    let tail = state
        .leaves
        .get(usize::try_from(covered).unwrap_or(usize::MAX)..);
    let tail = tail.unwrap_or_default();
    if tail.len() != state.tail.len() {
        let line = state.tail.first().map_or(0, |(l, _)| *l);
        return Err(refuse(line, Some(covered), Problem::UnauthenticatedRecord));
    }
    for (k, (leaf, (line, mac))) in tail.iter().zip(&state.tail).enumerate() {
        match mac {
            Some(m) if mac_key.check(&chain, leaf, m) => chain = *m,
            _ => {
                return Err(refuse(
                    *line,
                    Some(covered + k as u64),
                    Problem::UnauthenticatedRecord,
                ));
            }
        }
    }
    Ok(Checked { mac_chain: chain })
}
