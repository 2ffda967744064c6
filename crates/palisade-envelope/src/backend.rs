//! AES-256-GCM, from `aes-gcm` (default) or `aws-lc-rs` (feature `aws-lc`).
//! Both produce identical bytes; the format does not depend on the choice.

use crate::error::{DecryptFailure, EnvelopeError, Result};
use crate::secret::KEY_LEN;

/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// AES-GCM nonce length.
pub(crate) const GCM_NONCE_LEN: usize = 12;

/// Name of the compiled-in AES-GCM implementation.
#[cfg(not(feature = "aws-lc"))]
pub const BACKEND: &str = "aes-gcm";
/// Name of the compiled-in AES-GCM implementation.
#[cfg(feature = "aws-lc")]
pub const BACKEND: &str = "aws-lc-rs";

/// AES-256-GCM keyed once.
pub(crate) struct Cipher {
    #[cfg(not(feature = "aws-lc"))]
    inner: aes_gcm::Aes256Gcm,
    #[cfg(feature = "aws-lc")]
    inner: aws_lc_rs::aead::LessSafeKey,
}

const TAG_FAIL: EnvelopeError = EnvelopeError::DecryptionFailed(DecryptFailure::Tag);

#[cfg(not(feature = "aws-lc"))]
impl Cipher {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> Self {
        use aes_gcm::KeyInit;
        Self {
            inner: aes_gcm::Aes256Gcm::new(key.into()),
        }
    }

    pub(crate) fn seal(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        use aes_gcm::AeadInOut;
        let tag = self
            .inner
            .encrypt_inout_detached(nonce.into(), aad, buf.into())
            .map_err(|_| EnvelopeError::TooLong {
                reason: "over the AES-GCM message limit",
            })?;
        Ok(tag.into())
    }

    /// Decrypt in place; on failure the buffer is zeroed (no unauthenticated
    /// plaintext escapes).
    pub(crate) fn open(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        use aes_gcm::AeadInOut;
        self.inner
            .decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
            .map_err(|_| {
                buf.fill(0);
                TAG_FAIL
            })
    }
}

#[cfg(feature = "aws-lc")]
impl Cipher {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> Self {
        use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        // A 32-byte key is always accepted for AES-256-GCM.
        #[expect(
            clippy::expect_used,
            reason = "UnboundKey::new only rejects wrong key lengths; ours is 32 bytes by type"
        )]
        let key = UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES-256 key");
        Self {
            inner: LessSafeKey::new(key),
        }
    }

    pub(crate) fn seal(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        use aws_lc_rs::aead::{Aad, Nonce};
        let tag = self
            .inner
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|_| EnvelopeError::TooLong {
                reason: "over the AES-GCM message limit",
            })?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    pub(crate) fn open(
        &self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        use aws_lc_rs::aead::{Aad, Nonce};
        match self.inner.open_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            tag,
            buf,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                buf.fill(0);
                Err(TAG_FAIL)
            }
        }
    }
}

/// The 12-byte GCM nonce of segment `index` (STREAM, Hoang et al. 2015):
/// `0x000000 ‖ u64be index ‖ last-flag`. A single-shot body is segment 0, last.
pub(crate) fn segment_nonce(index: u64, last: bool) -> [u8; GCM_NONCE_LEN] {
    let mut n = [0u8; GCM_NONCE_LEN];
    let (_, rest) = n.split_at_mut(3);
    let (idx, flag) = rest.split_at_mut(8);
    idx.copy_from_slice(&index.to_be_bytes());
    if let Some(f) = flag.first_mut() {
        *f = u8::from(last);
    }
    n
}
