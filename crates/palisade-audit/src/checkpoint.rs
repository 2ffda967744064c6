//! Signed checkpoints: (tenant, size, root, time, previous checkpoint) under
//! a key id, chained like CloudTrail digest files and shaped like C2SP
//! checkpoints. Byte layout in `docs/audit-format.md` §5.

use crate::keys::{Algorithm, CheckpointSigner, KeyId, Keyring};
use crate::merkle::Hash;
use palisade_tenancy::{TenantId, Timestamp};
use sha2::{Digest, Sha256};

/// Domain-separation label that opens the signed checkpoint body.
pub const CHECKPOINT_LABEL: &[u8] = b"palisade-audit checkpoint\x00";
/// Version byte after the label.
pub const CHECKPOINT_VERSION: u8 = 0x01;

/// A signed statement "tenant T's log had `size` records with root `root`
/// at `time`, following the checkpoint whose body hashes to `prev`".
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    pub(crate) tenant: TenantId,
    pub(crate) size: u64,
    pub(crate) root: Hash,
    pub(crate) time: Timestamp,
    pub(crate) prev: Hash,
    pub(crate) key_id: KeyId,
    pub(crate) alg: Algorithm,
    pub(crate) signature: Vec<u8>,
}

/// Why a checkpoint's signature does not verify.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SignatureCheck {
    /// The signature verifies.
    Valid,
    /// No key with the checkpoint's key id is in the keyring.
    UnknownKey,
    /// The key with that id is of another algorithm.
    AlgorithmMismatch,
    /// The signature is wrong.
    Invalid,
}

impl Checkpoint {
    /// Sign a checkpoint.
    #[must_use]
    pub fn sign(
        signer: &CheckpointSigner,
        tenant: TenantId,
        size: u64,
        root: Hash,
        time: Timestamp,
        prev: Hash,
    ) -> Self {
        let mut cp = Self {
            tenant,
            size,
            root,
            time,
            prev,
            key_id: signer.key_id().clone(),
            alg: signer.algorithm(),
            signature: Vec::new(),
        };
        cp.signature = signer.sign(&cp.body());
        cp
    }

    /// The signed bytes: label, version, algorithm, key id, tenant, size,
    /// root, time, previous-checkpoint hash.
    #[must_use]
    pub fn body(&self) -> Vec<u8> {
        let kid = self.key_id.as_str().as_bytes();
        let mut b =
            Vec::with_capacity(CHECKPOINT_LABEL.len() + 2 + 1 + kid.len() + 16 + 8 + 32 + 8 + 32);
        b.extend_from_slice(CHECKPOINT_LABEL);
        b.push(CHECKPOINT_VERSION);
        b.push(self.alg.code());
        b.push(u8::try_from(kid.len()).unwrap_or(u8::MAX));
        b.extend_from_slice(kid);
        b.extend_from_slice(self.tenant.as_bytes());
        b.extend_from_slice(&self.size.to_be_bytes());
        b.extend_from_slice(&self.root);
        b.extend_from_slice(&self.time.unix_millis().to_be_bytes());
        b.extend_from_slice(&self.prev);
        b
    }

    /// `SHA-256(body)`: what the next checkpoint carries as `prev`.
    #[must_use]
    pub fn chain_hash(&self) -> Hash {
        Sha256::digest(self.body()).into()
    }

    /// Check the signature against `keys`.
    #[must_use]
    pub fn check_signature(&self, keys: &Keyring) -> SignatureCheck {
        let Some(key) = keys.get(&self.key_id) else {
            return SignatureCheck::UnknownKey;
        };
        if key.algorithm() != self.alg {
            return SignatureCheck::AlgorithmMismatch;
        }
        if key.verify(&self.body(), &self.signature) {
            SignatureCheck::Valid
        } else {
            SignatureCheck::Invalid
        }
    }

    /// The tenant.
    #[must_use]
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    /// The number of records covered.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The Merkle root of the first `size` records.
    #[must_use]
    pub fn root(&self) -> &Hash {
        &self.root
    }
    /// When the checkpoint was made.
    #[must_use]
    pub fn time(&self) -> Timestamp {
        self.time
    }
    /// The previous checkpoint's [`Checkpoint::chain_hash`] (zeros for the first).
    #[must_use]
    pub fn prev(&self) -> &Hash {
        &self.prev
    }
    /// The signing key's id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
    /// The signature algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
    /// The signature (32-byte HMAC tag or 64-byte Ed25519 signature).
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}
