//! Checkpoint signing keys (HMAC-SHA256 by default, Ed25519 for third-party
//! verification), key ids, and the verifier's keyring.

use crate::error::{AuditError, Result, clip};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Signature algorithm of a checkpoint.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Algorithm {
    /// HMAC-SHA256 (RFC 2104): verifying needs the secret key.
    HmacSha256,
    /// Ed25519 (RFC 8032): anyone with the public key can verify.
    Ed25519,
}

impl Algorithm {
    /// Text form in exports: `hmac-sha256` or `ed25519`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::Ed25519 => "ed25519",
        }
    }
    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::HmacSha256 => 1,
            Self::Ed25519 => 2,
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::HmacSha256, Self::Ed25519]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// A key id, carried in every checkpoint: 1–64 characters of
/// `A-Z a-z 0-9 . _ -`. Put the version in it (`audit-hmac-v3`) and rotate
/// by adding a key with a new id; verifiers keep the old ids.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Validate a key id.
    ///
    /// # Errors
    /// [`AuditError::KeyId`] when empty, longer than 64 bytes or with another character.
    pub fn new(id: &str) -> Result<Self> {
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(AuditError::KeyId {
                input: clip(id, 80),
            })
        }
    }

    /// The id text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// HMAC key bytes (32–64), zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
struct HmacSecret(Vec<u8>);

impl HmacSecret {
    fn new(bytes: &[u8]) -> Result<Self> {
        if !(32..=64).contains(&bytes.len()) {
            return Err(AuditError::Key {
                kind: "hmac-sha256",
                reason: "use a key of 32 to 64 random bytes",
            });
        }
        Ok(Self(bytes.to_vec()))
    }
    fn mac(&self, msg: &[u8]) -> Hmac<Sha256> {
        // Any key length is valid for HMAC; 32..=64 is checked above.
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        m.update(msg);
        m
    }
}

/// HKDF `info` of the record MAC key.
pub(crate) const RECORD_MAC_INFO: &[u8] = b"palisade-audit record-mac v1";

/// The record MAC key, as a keyed HMAC state (cloned per record, so a MAC
/// costs three SHA-256 blocks). Never leaves the crate.
#[derive(Clone)]
pub(crate) struct RecordMacKey(Hmac<Sha256>);

impl RecordMacKey {
    /// `HMAC-SHA256(K, chain ‖ leaf_hash)`.
    pub(crate) fn mac(&self, chain: &[u8; 32], leaf: &[u8; 32]) -> [u8; 32] {
        let mut m = self.0.clone();
        m.update(chain);
        m.update(leaf);
        m.finalize().into_bytes().into()
    }

    /// True when `tag` is the MAC of `chain ‖ leaf` (constant time).
    pub(crate) fn check(&self, chain: &[u8; 32], leaf: &[u8; 32], tag: &[u8; 32]) -> bool {
        let mut m = self.0.clone();
        m.update(chain);
        m.update(leaf);
        m.verify_slice(tag).is_ok()
    }
}

enum SignerKind {
    Hmac(HmacSecret),
    Ed25519(SigningKey),
}

/// A checkpoint signing key with its id. No `Debug` of key bytes, no
/// `Clone`; zeroized on drop.
pub struct CheckpointSigner {
    id: KeyId,
    kind: SignerKind,
}

impl CheckpointSigner {
    /// An HMAC-SHA256 signer from 32–64 secret bytes.
    ///
    /// # Errors
    /// [`AuditError::Key`] when the key length is outside 32–64 bytes.
    pub fn hmac(id: KeyId, key: &[u8]) -> Result<Self> {
        Ok(Self {
            id,
            kind: SignerKind::Hmac(HmacSecret::new(key)?),
        })
    }

    /// A fresh random 32-byte HMAC-SHA256 key.
    ///
    /// # Errors
    /// [`AuditError::Random`] when the system RNG fails.
    pub fn generate_hmac(id: KeyId) -> Result<Self> {
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(k.as_mut()).map_err(|e| AuditError::Random(e.to_string()))?;
        Self::hmac(id, k.as_ref())
    }

    /// An Ed25519 signer from its 32-byte secret seed (RFC 8032).
    #[must_use]
    pub fn ed25519(id: KeyId, seed: &[u8; 32]) -> Self {
        Self {
            id,
            kind: SignerKind::Ed25519(SigningKey::from_bytes(seed)),
        }
    }

    /// A fresh random Ed25519 key.
    ///
    /// # Errors
    /// [`AuditError::Random`] when the system RNG fails.
    pub fn generate_ed25519(id: KeyId) -> Result<Self> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| AuditError::Random(e.to_string()))?;
        Ok(Self::ed25519(id, &seed))
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.id
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self.kind {
            SignerKind::Hmac(_) => Algorithm::HmacSha256,
            SignerKind::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The key a verifier needs: the Ed25519 public key, or for HMAC a copy
    /// of the secret (which must then be kept as secret as the signer).
    #[must_use]
    pub fn verify_key(&self) -> VerifyKey {
        match &self.kind {
            SignerKind::Hmac(s) => VerifyKey(VerifyKind::Hmac(HmacSecret(s.0.clone()))),
            SignerKind::Ed25519(k) => VerifyKey(VerifyKind::Ed25519(k.verifying_key())),
        }
    }

    /// The key of the record MACs (`docs/audit-format.md` §8): HKDF-Expand
    /// (RFC 5869 §2.3) of the signing secret (the HMAC key, or the Ed25519
    /// seed) as PRK, `info` = [`RECORD_MAC_INFO`], L = 32, i.e.
    /// `HMAC-SHA256(secret, info ‖ 0x01)`. Only the signer can compute it:
    /// a verifier with an Ed25519 public key cannot, nor can a file writer.
    pub(crate) fn record_mac_key(&self) -> RecordMacKey {
        let secret: zeroize::Zeroizing<Vec<u8>> = match &self.kind {
            SignerKind::Hmac(s) => zeroize::Zeroizing::new(s.0.clone()),
            SignerKind::Ed25519(k) => zeroize::Zeroizing::new(k.to_bytes().to_vec()),
        };
        let prk = HmacSecret(secret.to_vec());
        let mut m = prk.mac(RECORD_MAC_INFO);
        m.update(&[0x01]);
        let okm: zeroize::Zeroizing<[u8; 32]> =
            zeroize::Zeroizing::new(m.finalize().into_bytes().into());
        RecordMacKey(HmacSecret(okm.as_ref().to_vec()).mac(&[]))
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match &self.kind {
            SignerKind::Hmac(s) => s.mac(msg).finalize().into_bytes().to_vec(),
            SignerKind::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
        }
    }
}

impl core::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "CheckpointSigner({}, {}, <redacted>)",
            self.id,
            self.algorithm().as_str()
        )
    }
}

/// A key that verifies checkpoint signatures: an HMAC-SHA256 secret
/// (redacted `Debug`, zeroized on drop) or an Ed25519 public key.
pub struct VerifyKey(VerifyKind);

enum VerifyKind {
    Hmac(HmacSecret),
    Ed25519(VerifyingKey),
}

impl VerifyKey {
    /// An HMAC-SHA256 verification key from 32–64 secret bytes.
    ///
    /// # Errors
    /// [`AuditError::Key`] when the length is outside 32–64 bytes.
    pub fn hmac(key: &[u8]) -> Result<Self> {
        HmacSecret::new(key).map(|k| Self(VerifyKind::Hmac(k)))
    }

    /// An Ed25519 public key from its 32 bytes.
    ///
    /// # Errors
    /// [`AuditError::Key`] when the bytes are not a valid curve point.
    pub fn ed25519(public: &[u8; 32]) -> Result<Self> {
        VerifyingKey::from_bytes(public)
            .map(|k| Self(VerifyKind::Ed25519(k)))
            .map_err(|_| AuditError::Key {
                kind: "ed25519",
                reason: "not a valid public key",
            })
    }

    /// The algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self.0 {
            VerifyKind::Hmac(_) => Algorithm::HmacSha256,
            VerifyKind::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// True when both are the same key (HMAC secrets compared in constant time).
    pub(crate) fn same_key(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        match (&self.0, &other.0) {
            (VerifyKind::Hmac(a), VerifyKind::Hmac(b)) => {
                a.0.len() == b.0.len() && bool::from(a.0.ct_eq(&b.0))
            }
            (VerifyKind::Ed25519(a), VerifyKind::Ed25519(b)) => a == b,
            _ => false,
        }
    }

    /// The Ed25519 public key bytes (to publish for third-party
    /// verifiers), or `None` for an HMAC key.
    #[must_use]
    pub fn ed25519_public_bytes(&self) -> Option<[u8; 32]> {
        match &self.0 {
            VerifyKind::Hmac(_) => None,
            VerifyKind::Ed25519(k) => Some(k.to_bytes()),
        }
    }

    /// True when `sig` is a valid signature (or full 32-byte HMAC tag,
    /// compared in constant time) of `msg`. Ed25519 uses `verify_strict`
    /// (rejects non-canonical and small-order encodings).
    #[must_use]
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.0 {
            VerifyKind::Hmac(s) => sig.len() == 32 && s.mac(msg).verify_slice(sig).is_ok(),
            VerifyKind::Ed25519(k) => {
                let Ok(bytes) = <[u8; 64]>::try_from(sig) else {
                    return false;
                };
                k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            }
        }
    }
}

impl core::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            VerifyKind::Hmac(_) => f.write_str("VerifyKey::Hmac(<redacted>)"),
            VerifyKind::Ed25519(k) => {
                write!(f, "VerifyKey::Ed25519({})", hex::encode(k.to_bytes()))
            }
        }
    }
}

/// The keys a verifier trusts, by key id (old ids stay after a rotation).
#[derive(Default, Debug)]
pub struct Keyring {
    keys: HashMap<KeyId, VerifyKey>,
}

impl Keyring {
    /// An empty keyring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add the key for `id`. Adding the same key again is a no-op.
    ///
    /// # Errors
    /// [`AuditError::KeyIdReused`] when `id` already has another key: a key
    /// id names one key forever, so a replacement would make every
    /// checkpoint signed under the old key fail to verify.
    pub fn insert(&mut self, id: KeyId, key: VerifyKey) -> Result<&mut Self> {
        match self.keys.get(&id) {
            Some(old) if !old.same_key(&key) => Err(AuditError::KeyIdReused {
                key_id: id.as_str().to_owned(),
            }),
            Some(_) => Ok(self),
            None => {
                self.keys.insert(id, key);
                Ok(self)
            }
        }
    }

    /// Builder form of [`Keyring::insert`].
    ///
    /// # Errors
    /// As [`Keyring::insert`].
    pub fn with(mut self, id: KeyId, key: VerifyKey) -> Result<Self> {
        self.insert(id, key)?;
        Ok(self)
    }

    /// True when no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for `id`.
    #[must_use]
    pub fn get(&self, id: &KeyId) -> Option<&VerifyKey> {
        self.keys.get(id)
    }
}
