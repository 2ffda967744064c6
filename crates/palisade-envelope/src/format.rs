//! The binary header (byte layout in `docs/envelope-format.md`).

use std::io::Read;
use std::ops::Range;

use crate::derive::{COMMITMENT_LEN, NONCE_LEN};
use crate::error::{EnvelopeError, Result};
use crate::provider::{KekId, KeyRef, MAX_KEK_ID_LEN, MAX_WRAPPED_LEN, WrappedKey, valid_kek_id};

/// Format version written and read by this build.
pub const FORMAT_VERSION: u8 = 0x01;
/// Suite 1: AES-256-GCM body, HKDF-SHA-256 per-message key and commitment.
pub const SUITE_AES256GCM_HKDF_COMMIT: u8 = 0x01;
pub(crate) const MODE_SINGLE: u8 = 0x01;
pub(crate) const MODE_STREAM: u8 = 0x02;
/// Smallest allowed stream segment (plaintext bytes).
pub const MIN_SEGMENT_SIZE: u32 = 16;
/// Largest allowed stream segment (plaintext bytes).
pub const MAX_SEGMENT_SIZE: u32 = 1 << 24;
/// Default stream segment: 64 KiB.
pub const DEFAULT_SEGMENT_SIZE: u32 = 1 << 16;

/// A parsed header, borrowing from the ciphertext.
pub(crate) struct Header<'a> {
    pub(crate) mode: u8,
    pub(crate) kek_id: &'a str,
    pub(crate) kek_version: u32,
    pub(crate) wrapped: &'a [u8],
    pub(crate) nonce: &'a [u8; NONCE_LEN],
    pub(crate) commitment: &'a [u8; COMMITMENT_LEN],
    pub(crate) segment_size: u32,
    /// Bytes of the key-reference section (replaced by rewrap).
    pub(crate) key_section: Range<usize>,
    /// Where the body starts.
    pub(crate) body_start: usize,
}

impl Header<'_> {
    /// The KEK reference (allocates the id).
    pub(crate) fn key_ref(&self) -> Result<KeyRef> {
        Ok(KeyRef {
            kek: KekId::new(self.kek_id)?,
            version: self.kek_version,
        })
    }

    /// True when this header names `r`.
    pub(crate) fn names(&self, r: &KeyRef) -> bool {
        self.kek_id == r.kek.as_str() && self.kek_version == r.version
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(EnvelopeError::Truncated { field })?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or(EnvelopeError::Truncated { field })?;
        self.pos = end;
        Ok(s)
    }
    fn byte(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?.first().copied().unwrap_or(0))
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<&'a [u8; N]> {
        self.take(N, field)?
            .try_into()
            .map_err(|_| EnvelopeError::Truncated { field })
    }
}

/// Parse the header at the start of `bytes`.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>> {
    let mut c = Cursor { bytes, pos: 0 };
    let version = c.byte("version")?;
    if version != FORMAT_VERSION {
        return Err(EnvelopeError::UnsupportedVersion { found: version });
    }
    let suite = c.byte("suite")?;
    if suite != SUITE_AES256GCM_HKDF_COMMIT {
        return Err(EnvelopeError::UnsupportedSuite { found: suite });
    }
    let mode = c.byte("mode")?;
    if mode != MODE_SINGLE && mode != MODE_STREAM {
        return Err(EnvelopeError::WrongMode { found: mode });
    }
    let key_start = c.pos;
    let id_len = usize::from(c.byte("kek id length")?);
    if id_len == 0 || id_len > MAX_KEK_ID_LEN {
        return Err(EnvelopeError::InvalidHeader {
            field: "kek id length",
            reason: "must be 1 to 64",
        });
    }
    let id = c.take(id_len, "kek id")?;
    let id = core::str::from_utf8(id).map_err(|_| EnvelopeError::InvalidHeader {
        field: "kek id",
        reason: "must be ASCII A-Z a-z 0-9 . _ -",
    })?;
    if !valid_kek_id(id) {
        return Err(EnvelopeError::InvalidHeader {
            field: "kek id",
            reason: "must be ASCII A-Z a-z 0-9 . _ -",
        });
    }
    let version = u32::from_be_bytes(*c.array::<4>("kek version")?);
    if version == 0 {
        return Err(EnvelopeError::InvalidHeader {
            field: "kek version",
            reason: "must be 1 or more",
        });
    }
    let wlen = usize::from(u16::from_be_bytes(*c.array::<2>("wrapped key length")?));
    if wlen == 0 || wlen > MAX_WRAPPED_LEN {
        return Err(EnvelopeError::InvalidHeader {
            field: "wrapped key length",
            reason: "must be 1 to 1024",
        });
    }
    let wrapped = c.take(wlen, "wrapped key")?;
    let key_section = key_start..c.pos;
    let nonce = c.array::<NONCE_LEN>("nonce")?;
    let commitment = c.array::<COMMITMENT_LEN>("commitment")?;
    let segment_size = if mode == MODE_STREAM {
        let s = u32::from_be_bytes(*c.array::<4>("segment size")?);
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&s) {
            return Err(EnvelopeError::InvalidHeader {
                field: "segment size",
                reason: "must be 16 to 16777216",
            });
        }
        s
    } else {
        0
    };
    Ok(Header {
        mode,
        kek_id: id,
        kek_version: version,
        wrapped,
        nonce,
        commitment,
        segment_size,
        key_section,
        body_start: c.pos,
    })
}

/// Append the key-reference section.
pub(crate) fn write_key_section(out: &mut Vec<u8>, wrapped: &WrappedKey) -> Result<()> {
    let id = wrapped.key_ref.kek.as_str().as_bytes();
    let id_len = u8::try_from(id.len())
        .ok()
        .filter(|n| *n >= 1 && usize::from(*n) <= MAX_KEK_ID_LEN);
    let wlen = u16::try_from(wrapped.bytes.len())
        .ok()
        .filter(|n| *n >= 1 && usize::from(*n) <= MAX_WRAPPED_LEN);
    let (Some(id_len), Some(wlen)) = (id_len, wlen) else {
        return Err(EnvelopeError::Provider(
            "provider returned a wrapped key of 0 or over 1024 bytes".into(),
        ));
    };
    if wrapped.key_ref.version == 0 {
        return Err(EnvelopeError::Provider(
            "provider returned key version 0".into(),
        ));
    }
    out.push(id_len);
    out.extend_from_slice(id);
    out.extend_from_slice(&wrapped.key_ref.version.to_be_bytes());
    out.extend_from_slice(&wlen.to_be_bytes());
    out.extend_from_slice(&wrapped.bytes);
    Ok(())
}

/// The body's associated data: `version ‖ suite ‖ mode` (‖ `u32be segment size` for streams).
pub(crate) fn body_aad(mode: u8, segment_size: u32) -> ([u8; 7], usize) {
    let s = segment_size.to_be_bytes();
    let aad = [
        FORMAT_VERSION,
        SUITE_AES256GCM_HKDF_COMMIT,
        mode,
        s[0],
        s[1],
        s[2],
        s[3],
    ];
    (aad, if mode == MODE_STREAM { 7 } else { 3 })
}

/// Read exactly one stream header from `r` (no byte past it).
pub(crate) fn read_header<R: Read>(r: &mut R) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 4];
    read_exact(r, &mut buf, "kek id length")?;
    // Reject unknown versions, suites and modes before trusting any length.
    match parse_header(&buf) {
        Err(EnvelopeError::Truncated { .. }) => {}
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let id_len = usize::from(buf.get(3).copied().unwrap_or(0));
    grow(r, &mut buf, id_len + 6, "wrapped key length")?;
    let n = buf.len();
    let wlen = buf
        .get(n.saturating_sub(2)..)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map_or(0, |s| usize::from(u16::from_be_bytes(s)));
    let tail = if buf.get(2) == Some(&MODE_STREAM) {
        4
    } else {
        0
    };
    grow(
        r,
        &mut buf,
        wlen + NONCE_LEN + COMMITMENT_LEN + tail,
        "commitment",
    )?;
    Ok(buf)
}

fn grow<R: Read>(r: &mut R, buf: &mut Vec<u8>, more: usize, field: &'static str) -> Result<()> {
    let old = buf.len();
    buf.resize(old + more, 0);
    read_exact(r, buf.get_mut(old..).unwrap_or_default(), field)
}

fn read_exact<R: Read>(r: &mut R, buf: &mut [u8], field: &'static str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => EnvelopeError::Truncated { field },
        _ => EnvelopeError::Io(e),
    })
}
