//! Committing per-message key derivation (HKDF-SHA-256, RFC 5869), in the
//! style of the AWS Encryption SDK's committing suites and XAES-256-GCM:
//! every message gets its own AES key and a 256-bit key commitment from
//! (key, 32-byte random nonce, context).

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::secret::KEY_LEN;

/// HKDF-Extract salt: fixed, for domain separation of this crate's PRKs.
pub(crate) const PRK_SALT: &[u8] = b"palisade-envelope/v1/prk";
/// HKDF-Expand label for message bodies.
pub(crate) const LABEL_MSG: &[u8; 24] = b"palisade-envelope/v1/msg";
/// HKDF-Expand label for data keys wrapped by the local keyring.
pub(crate) const LABEL_KEK: &[u8; 24] = b"palisade-envelope/v1/kek";

/// Length of per-message nonces (HKDF inputs).
pub const NONCE_LEN: usize = 32;
/// Length of key commitments.
pub const COMMITMENT_LEN: usize = 32;

/// The HKDF state keyed by one data key or KEK (the Extract step done once,
/// so a cached data key costs only the Expand per message).
pub(crate) struct KeyMaterial {
    hkdf: Hkdf<Sha256>,
}

/// A derived message key and its commitment.
pub(crate) struct Derived {
    pub(crate) key: Zeroizing<[u8; KEY_LEN]>,
    pub(crate) commitment: [u8; COMMITMENT_LEN],
}

impl KeyMaterial {
    pub(crate) fn new(ikm: &[u8; KEY_LEN]) -> Self {
        Self {
            hkdf: Hkdf::<Sha256>::new(Some(PRK_SALT), ikm),
        }
    }

    /// `OKM = HKDF-Expand(PRK, label ‖ nonce ‖ context, 64)`; the first 32
    /// bytes are the AES-256 key, the last 32 the commitment.
    pub(crate) fn derive(
        &self,
        label: &[u8; 24],
        nonce: &[u8; NONCE_LEN],
        context: &[u8],
    ) -> Derived {
        let mut okm = Zeroizing::new([0u8; KEY_LEN + COMMITMENT_LEN]);
        // 64 bytes is far below HKDF's 255 × 32 limit, so expand cannot fail;
        // the fallback leaves `okm` zero, which no honest commitment matches.
        let _ = self
            .hkdf
            .expand_multi_info(&[label, nonce, context], okm.as_mut_slice());
        let (k, c) = okm.split_at(KEY_LEN);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(k);
        let mut commitment = [0u8; COMMITMENT_LEN];
        commitment.copy_from_slice(c);
        Derived { key, commitment }
    }
}

impl Derived {
    /// Constant-time comparison with a stored commitment.
    pub(crate) fn commitment_matches(&self, stored: &[u8; COMMITMENT_LEN]) -> bool {
        self.commitment.ct_eq(stored).into()
    }
}
