//! STREAM-style segmented encryption (Hoang, Reyhanitabar, Rogaway, Vizár,
//! "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
//! CRYPTO 2015): segment `i` is sealed with nonce `i ‖ last-flag` under the
//! per-stream derived key, so truncation, reordering, duplication and
//! appended data all fail authentication. Memory is one segment.

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

use crate::backend::{Cipher, TAG_LEN, segment_nonce};
use crate::context::EncryptionContext;
use crate::error::{DecryptFailure, EnvelopeError, Result};
use crate::format::{
    DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, MODE_STREAM, body_aad, parse_header,
    read_header,
};
use crate::provider::KeyProvider;
use crate::{Envelope, single};

/// Seals a stream segment by segment (the chunk API).
pub struct StreamSealer {
    cipher: Cipher,
    header: Vec<u8>,
    segment_size: usize,
    aad: [u8; 7],
    index: u64,
    finished: bool,
}

/// Opens a stream segment by segment (the chunk API).
pub struct StreamOpener {
    cipher: Cipher,
    segment_size: usize,
    aad: [u8; 7],
    index: u64,
    finished: bool,
}

impl StreamSealer {
    /// The header: write it before the first segment.
    #[must_use]
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Plaintext bytes per segment (the last may be shorter; empty only for
    /// an empty plaintext).
    #[must_use]
    pub fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// Encrypt one segment in place: `segment` holds exactly
    /// [`segment_size`](Self::segment_size) plaintext bytes (or 1 to that
    /// many when `last`; 0 only when it is the only segment, for an empty
    /// plaintext) and receives the ciphertext and its 16-byte tag. A
    /// plaintext of whole segments ends with a full final segment.
    ///
    /// # Errors
    /// [`EnvelopeError::StreamFinished`] after the last segment;
    /// [`EnvelopeError::InvalidHeader`] for a wrong segment length;
    /// [`EnvelopeError::TooLong`] past 2^64 segments.
    pub fn seal_segment(&mut self, segment: &mut Vec<u8>, last: bool) -> Result<()> {
        if self.finished {
            return Err(EnvelopeError::StreamFinished);
        }
        let ok = if last {
            // One encoding per plaintext: an empty final segment only for
            // an empty plaintext (after full segments, the last full one
            // is the final segment).
            segment.len() <= self.segment_size && (self.index == 0 || !segment.is_empty())
        } else {
            segment.len() == self.segment_size
        };
        if !ok {
            return Err(EnvelopeError::InvalidHeader {
                field: "segment length",
                reason: "non-final segments must be exactly the segment size, and the final one may be empty only when it is the only segment",
            });
        }
        let tag = self
            .cipher
            .seal(&segment_nonce(self.index, last), &self.aad, segment)?;
        segment.extend_from_slice(&tag);
        self.index = self.index.checked_add(1).ok_or(EnvelopeError::TooLong {
            reason: "more than 2^64 segments",
        })?;
        self.finished = last;
        Ok(())
    }

    /// True after the last segment.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Seal a segment with no length rule (tests only: to craft the second
    /// encoding that readers must refuse).
    #[cfg(test)]
    pub(crate) fn seal_unchecked(&mut self, segment: &mut Vec<u8>, last: bool) -> Result<()> {
        let tag = self
            .cipher
            .seal(&segment_nonce(self.index, last), &self.aad, segment)?;
        segment.extend_from_slice(&tag);
        self.index += 1;
        self.finished = last;
        Ok(())
    }
}

impl StreamOpener {
    /// Ciphertext bytes of a full segment (`segment_size + 16`).
    #[must_use]
    pub fn encrypted_segment_size(&self) -> usize {
        self.segment_size + TAG_LEN
    }

    /// Authenticate and decrypt one segment (`ciphertext ‖ tag`) in place,
    /// returning its plaintext. `last` must be true exactly for the final
    /// segment; nothing is returned unless the segment authenticates.
    ///
    /// # Errors
    /// [`EnvelopeError::DecryptionFailed`] for a tampered, reordered,
    /// duplicated or wrongly flagged segment; [`EnvelopeError::TrailingBytes`]
    /// for data after the final segment; [`EnvelopeError::Truncated`] for a
    /// segment shorter than its tag.
    pub fn open_segment<'b>(&mut self, segment: &'b mut [u8], last: bool) -> Result<&'b mut [u8]> {
        if self.finished {
            return Err(EnvelopeError::TrailingBytes {
                what: "final segment",
            });
        }
        let n = segment
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(EnvelopeError::Truncated {
                field: "segment tag",
            })?;
        // An empty final segment is valid only as the only segment (an empty
        // plaintext): after full segments it is a second encoding of the
        // same plaintext, refused.
        if n > self.segment_size
            || (!last && n != self.segment_size)
            || (last && n == 0 && self.index > 0)
        {
            return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Truncated));
        }
        let (ct, tag) = segment.split_at_mut(n);
        let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| EnvelopeError::Truncated {
            field: "segment tag",
        })?;
        self.cipher
            .open(&segment_nonce(self.index, last), &self.aad, ct, &tag)?;
        self.index = self.index.checked_add(1).ok_or(EnvelopeError::TooLong {
            reason: "more than 2^64 segments",
        })?;
        self.finished = last;
        Ok(ct)
    }

    /// True after the final segment authenticated.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl<P: KeyProvider> Envelope<P> {
    /// Start a stream under a fresh data key. `segment_size` is the plaintext
    /// bytes per segment, 16 to 16 MiB (`None`: 64 KiB).
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidHeader`] for a segment size out of range;
    /// provider and random failures.
    pub fn stream_sealer(
        &self,
        ctx: &EncryptionContext,
        segment_size: Option<u32>,
    ) -> Result<StreamSealer> {
        let s = segment_size.unwrap_or(DEFAULT_SEGMENT_SIZE);
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&s) {
            return Err(EnvelopeError::InvalidHeader {
                field: "segment size",
                reason: "must be 16 to 16777216",
            });
        }
        let m = self.fresh_material(ctx.scope())?;
        let mut header = Vec::new();
        let d = single::write_header(&m, ctx, MODE_STREAM, Some(s), &mut header)?;
        let (aad, _) = body_aad(MODE_STREAM, s);
        Ok(StreamSealer {
            cipher: Cipher::new(&d.key),
            header,
            segment_size: usize::try_from(s).unwrap_or(usize::MAX),
            aad,
            index: 0,
            finished: false,
        })
    }

    /// Open a stream whose ciphertext starts with `header` (extra bytes after
    /// the header are ignored). Returns the opener and the header length;
    /// segments follow it.
    ///
    /// # Errors
    /// Header format errors, [`EnvelopeError::WrongMode`] for a single-shot
    /// ciphertext, provider errors, and [`EnvelopeError::DecryptionFailed`]
    /// when the key commitment does not match `ctx`.
    pub fn stream_opener(
        &self,
        ctx: &EncryptionContext,
        header: &[u8],
    ) -> Result<(StreamOpener, usize)> {
        let h = parse_header(header)?;
        if h.mode != MODE_STREAM {
            return Err(EnvelopeError::WrongMode { found: h.mode });
        }
        let m = self.open_material(ctx.scope(), &h, header, None)?;
        let d = m
            .keys
            .derive(crate::derive::LABEL_MSG, h.nonce, ctx.canonical_bytes());
        if !d.commitment_matches(h.commitment) {
            return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Commitment));
        }
        let (aad, _) = body_aad(MODE_STREAM, h.segment_size);
        let opener = StreamOpener {
            cipher: Cipher::new(&d.key),
            segment_size: usize::try_from(h.segment_size).unwrap_or(usize::MAX),
            aad,
            index: 0,
            finished: false,
        };
        Ok((opener, h.body_start))
    }

    /// Encrypt everything written to the returned writer into `inner`. Call
    /// [`EncryptWriter::finish`]: a dropped writer leaves a truncated stream
    /// that will not open.
    ///
    /// # Errors
    /// As [`Envelope::stream_sealer`].
    pub fn encrypt_writer<W: Write>(
        &self,
        ctx: &EncryptionContext,
        inner: W,
        segment_size: Option<u32>,
    ) -> Result<EncryptWriter<W>> {
        let sealer = self.stream_sealer(ctx, segment_size)?;
        let buf = Zeroizing::new(Vec::with_capacity(sealer.segment_size + TAG_LEN));
        Ok(EncryptWriter {
            sealer,
            inner,
            buf,
            header_written: false,
        })
    }

    /// Decrypt a stream read from `inner`. The header is read now; reads
    /// return plaintext one authenticated segment at a time.
    ///
    /// # Errors
    /// As [`Envelope::stream_opener`], and [`EnvelopeError::Io`].
    pub fn decrypt_reader<R: Read>(
        &self,
        ctx: &EncryptionContext,
        mut inner: R,
    ) -> Result<DecryptReader<R>> {
        let header = read_header(&mut inner)?;
        let (opener, _) = self.stream_opener(ctx, &header)?;
        let buf = Zeroizing::new(Vec::with_capacity(opener.encrypted_segment_size() + 1));
        Ok(DecryptReader {
            opener,
            inner,
            buf,
            pos: 0,
            end: 0,
            failed: false,
        })
    }
}

/// A [`Write`] that encrypts into an inner writer in constant memory.
pub struct EncryptWriter<W: Write> {
    sealer: StreamSealer,
    inner: W,
    buf: Zeroizing<Vec<u8>>,
    header_written: bool,
}

impl<W: Write> EncryptWriter<W> {
    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.inner.write_all(self.sealer.header())?;
            self.header_written = true;
        }
        Ok(())
    }

    fn flush_segment(&mut self, last: bool) -> io::Result<()> {
        self.sealer
            .seal_segment(&mut self.buf, last)
            .map_err(EnvelopeError::io)?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Seal the final segment, flush, and return the inner writer.
    ///
    /// # Errors
    /// [`EnvelopeError::Io`] from the inner writer.
    pub fn finish(mut self) -> Result<W> {
        self.write_header()?;
        self.flush_segment(true)?;
        self.inner.flush()?;
        let Self { inner, .. } = self;
        Ok(inner)
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_header()?;
        if self.sealer.is_finished() {
            return Err(EnvelopeError::StreamFinished.io());
        }
        let mut rest = data;
        while !rest.is_empty() {
            let size = self.sealer.segment_size;
            // A full buffer is sealed only once more data proves it is not the last.
            if self.buf.len() == size {
                self.flush_segment(false)?;
            }
            let take = (size - self.buf.len()).min(rest.len());
            let (now, later) = rest.split_at(take);
            self.buf.extend_from_slice(now);
            rest = later;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A [`Read`] that yields plaintext only after each segment authenticates.
/// An error from `read` is final: the stream is corrupt, truncated or under
/// another key or context.
pub struct DecryptReader<R: Read> {
    opener: StreamOpener,
    inner: R,
    /// Ciphertext of the current segment plus one byte of look-ahead.
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    end: usize,
    failed: bool,
}

impl<R: Read> DecryptReader<R> {
    /// The inner reader.
    pub fn into_inner(self) -> R {
        let Self { inner, .. } = self;
        inner
    }

    fn next_segment(&mut self) -> Result<()> {
        let full = self.opener.encrypted_segment_size();
        // Keep the look-ahead byte of the previous round.
        let keep = self.buf.len().saturating_sub(self.end + TAG_LEN).min(1);
        if keep == 1 {
            let last = self.buf.last().copied().unwrap_or(0);
            self.buf.clear();
            self.buf.push(last);
        } else {
            self.buf.clear();
        }
        let want = full + 1;
        while self.buf.len() < want {
            let old = self.buf.len();
            self.buf.resize(want, 0);
            let n = match self.inner.read(self.buf.get_mut(old..).unwrap_or_default()) {
                Ok(n) => n,
                // Interrupted is not the end of input: retry the read.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.buf.truncate(old);
                    continue;
                }
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(EnvelopeError::Io(e));
                }
            };
            self.buf.truncate(old + n);
            if n == 0 {
                break;
            }
        }
        let last = self.buf.len() < want;
        let seg_len = if last { self.buf.len() } else { full };
        if last && seg_len < TAG_LEN {
            return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Truncated));
        }
        let segment = self.buf.get_mut(..seg_len).unwrap_or_default();
        let plain = self.opener.open_segment(segment, last)?.len();
        self.pos = 0;
        self.end = plain;
        Ok(())
    }
}

impl<R: Read> Read for DecryptReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.end {
            if self.failed {
                return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Truncated).io());
            }
            if self.opener.is_finished() || out.is_empty() {
                return Ok(0);
            }
            if let Err(e) = self.next_segment() {
                self.failed = true;
                self.buf.clear();
                return Err(e.io());
            }
        }
        let src = self.buf.get(self.pos..self.end).unwrap_or_default();
        let n = src.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

impl core::fmt::Debug for StreamSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamSealer")
            .field("segment_size", &self.segment_size)
            .field("index", &self.index)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for StreamOpener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamOpener")
            .field("segment_size", &self.segment_size)
            .field("index", &self.index)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<W: Write> core::fmt::Debug for EncryptWriter<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EncryptWriter")
            .field("sealer", &self.sealer)
            .finish_non_exhaustive()
    }
}

impl<R: Read> core::fmt::Debug for DecryptReader<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DecryptReader")
            .field("opener", &self.opener)
            .finish_non_exhaustive()
    }
}
