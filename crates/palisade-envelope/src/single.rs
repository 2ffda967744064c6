//! Single-shot bodies: header + `AES-256-GCM(message key, segment 0 last)`.

use crate::backend::{Cipher, TAG_LEN, segment_nonce};
use crate::cache::SealMaterial;
use crate::context::EncryptionContext;
use crate::derive::{COMMITMENT_LEN, Derived, KeyMaterial, LABEL_MSG, NONCE_LEN};
use crate::error::{DecryptFailure, EnvelopeError, Result};
use crate::format::{FORMAT_VERSION, Header, MODE_SINGLE, SUITE_AES256GCM_HKDF_COMMIT, body_aad};
use crate::secret::random_nonce;

/// Largest single-shot plaintext: the AES-GCM limit of 2^36 − 32 bytes.
pub const MAX_SINGLE_LEN: u64 = (1 << 36) - 32;

/// Write `version ‖ suite ‖ mode ‖ key section ‖ nonce ‖ commitment` (and the
/// segment size for streams) to `out`, returning the derived message key.
pub(crate) fn write_header(
    material: &SealMaterial,
    ctx: &EncryptionContext,
    mode: u8,
    segment_size: Option<u32>,
    out: &mut Vec<u8>,
) -> Result<Derived> {
    let nonce = random_nonce()?;
    Ok(write_header_with_nonce(
        material,
        ctx,
        mode,
        segment_size,
        &nonce,
        out,
    ))
}

pub(crate) fn write_header_with_nonce(
    material: &SealMaterial,
    ctx: &EncryptionContext,
    mode: u8,
    segment_size: Option<u32>,
    nonce: &[u8; NONCE_LEN],
    out: &mut Vec<u8>,
) -> Derived {
    let d = material
        .keys
        .keys
        .derive(LABEL_MSG, nonce, ctx.canonical_bytes());
    out.extend_from_slice(&[FORMAT_VERSION, SUITE_AES256GCM_HKDF_COMMIT, mode]);
    out.extend_from_slice(&material.key_section);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&d.commitment);
    if let Some(s) = segment_size {
        out.extend_from_slice(&s.to_be_bytes());
    }
    d
}

/// Encrypt `out[body_start..]` in place and append the tag.
pub(crate) fn seal_body(d: &Derived, out: &mut Vec<u8>, body_start: usize) -> Result<()> {
    let (aad, n) = body_aad(MODE_SINGLE, 0);
    let body = out.get_mut(body_start..).unwrap_or_default();
    let tag = Cipher::new(&d.key).seal(
        &segment_nonce(0, true),
        aad.get(..n).unwrap_or_default(),
        body,
    )?;
    out.extend_from_slice(&tag);
    Ok(())
}

/// Seal `plaintext` as a fresh single-shot ciphertext appended to `out`.
pub(crate) fn seal_to(
    material: &SealMaterial,
    ctx: &EncryptionContext,
    plaintext: &[u8],
    nonce: Option<&[u8; NONCE_LEN]>,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_len(plaintext.len())?;
    out.reserve(
        3 + material.key_section.len() + NONCE_LEN + COMMITMENT_LEN + plaintext.len() + TAG_LEN,
    );
    let d = match nonce {
        Some(n) => write_header_with_nonce(material, ctx, MODE_SINGLE, None, n, out),
        None => write_header(material, ctx, MODE_SINGLE, None, out)?,
    };
    let start = out.len();
    out.extend_from_slice(plaintext);
    seal_body(&d, out, start)
}

/// Seal the plaintext held in `buf`, replacing it with the ciphertext.
pub(crate) fn seal_in_place(
    material: &SealMaterial,
    ctx: &EncryptionContext,
    buf: &mut Vec<u8>,
) -> Result<()> {
    check_len(buf.len())?;
    let mut header =
        Vec::with_capacity(3 + material.key_section.len() + NONCE_LEN + COMMITMENT_LEN);
    let d = write_header(material, ctx, MODE_SINGLE, None, &mut header)?;
    buf.reserve(header.len() + TAG_LEN);
    buf.splice(0..0, header.iter().copied());
    seal_body(&d, buf, header.len())
}

pub(crate) fn check_len(len: usize) -> Result<()> {
    if u64::try_from(len).map_or(true, |l| l > MAX_SINGLE_LEN) {
        return Err(EnvelopeError::TooLong {
            reason: "a single-shot plaintext is at most 2^36 - 32 bytes: use the stream API",
        });
    }
    Ok(())
}

/// Check the commitment, then decrypt the body of `buf` (whose header is
/// `h`-shaped) in place; returns the plaintext range.
pub(crate) fn open_body<'b>(
    keys: &KeyMaterial,
    ctx: &EncryptionContext,
    nonce: &[u8; NONCE_LEN],
    commitment: &[u8; COMMITMENT_LEN],
    buf: &'b mut [u8],
    body_start: usize,
) -> Result<&'b mut [u8]> {
    let d = keys.derive(LABEL_MSG, nonce, ctx.canonical_bytes());
    if !d.commitment_matches(commitment) {
        return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Commitment));
    }
    let body = buf
        .get_mut(body_start..)
        .ok_or(EnvelopeError::Truncated { field: "tag" })?;
    let ct_len = body
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(EnvelopeError::Truncated { field: "tag" })?;
    let (ct, tag) = body.split_at_mut(ct_len);
    let tag: [u8; TAG_LEN] = (&*tag)
        .try_into()
        .map_err(|_| EnvelopeError::Truncated { field: "tag" })?;
    let (aad, n) = body_aad(MODE_SINGLE, 0);
    Cipher::new(&d.key).open(
        &segment_nonce(0, true),
        aad.get(..n).unwrap_or_default(),
        ct,
        &tag,
    )?;
    Ok(ct)
}

/// The parts of a parsed single-shot header that outlive the borrow.
pub(crate) struct Parsed {
    pub(crate) nonce: [u8; NONCE_LEN],
    pub(crate) commitment: [u8; COMMITMENT_LEN],
    pub(crate) body_start: usize,
}

impl Parsed {
    pub(crate) fn of(h: &Header<'_>) -> Result<Self> {
        if h.mode != MODE_SINGLE {
            return Err(EnvelopeError::WrongMode { found: h.mode });
        }
        Ok(Self {
            nonce: *h.nonce,
            commitment: *h.commitment,
            body_start: h.body_start,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn over_long_plaintexts_are_refused() {
        assert!(matches!(
            super::check_len(usize::MAX),
            Err(crate::EnvelopeError::TooLong { .. })
        ));
        assert!(super::check_len(1 << 20).is_ok());
    }
}
