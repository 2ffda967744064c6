//! The envelope over an [`AsyncKeyProvider`] (remote KMS adapters).

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::context::EncryptionContext;
use crate::derive::{KeyMaterial, LABEL_MSG};
use crate::envelope::{Rewrap, material_from};
use crate::error::{DecryptFailure, EnvelopeError, Result};
use crate::format::{parse_header, write_key_section};
use crate::provider::AsyncKeyProvider;
use crate::single::{self, Parsed};

/// [`Envelope`](crate::Envelope)'s seal, open and rewrap for providers that
/// must not block: the provider call is awaited, the cryptography runs
/// inline. Same format, byte for byte. The futures are `Send` and need no
/// particular runtime. (No data-key cache here yet: each seal is one
/// `generate_data_key` call, each open one `unwrap`.)
pub struct AsyncEnvelope<P> {
    provider: Arc<P>,
}

impl<P> Clone for AsyncEnvelope<P> {
    fn clone(&self) -> Self {
        Self {
            provider: Arc::clone(&self.provider),
        }
    }
}

impl<P> core::fmt::Debug for AsyncEnvelope<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsyncEnvelope").finish_non_exhaustive()
    }
}

impl<P: AsyncKeyProvider> AsyncEnvelope<P> {
    /// Wrap a provider.
    #[must_use]
    pub fn new(provider: P) -> Self {
        Self {
            provider: Arc::new(provider),
        }
    }

    /// Like [`Envelope::seal`](crate::Envelope::seal).
    ///
    /// # Errors
    /// As [`Envelope::seal`](crate::Envelope::seal).
    pub async fn seal(&self, ctx: &EncryptionContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        let (key, wrapped) = self.provider.generate_data_key(ctx.scope()).await?;
        let m = material_from(&key, &wrapped)?;
        let mut out = Vec::new();
        single::seal_to(&m, ctx, plaintext, None, &mut out)?;
        Ok(out)
    }

    /// Like [`Envelope::open`](crate::Envelope::open).
    ///
    /// # Errors
    /// As [`Envelope::open`](crate::Envelope::open).
    pub async fn open(
        &self,
        ctx: &EncryptionContext,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let h = parse_header(ciphertext)?;
        let p = Parsed::of(&h)?;
        if ciphertext.len().saturating_sub(p.body_start) < crate::backend::TAG_LEN {
            return Err(EnvelopeError::Truncated { field: "tag" });
        }
        let key_ref = h.key_ref()?;
        let key = self
            .provider
            .unwrap(&key_ref, h.wrapped, ctx.scope())
            .await?;
        let keys = KeyMaterial::new(key.expose_secret_bytes());
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len =
            single::open_body(&keys, ctx, &p.nonce, &p.commitment, &mut buf, p.body_start)?.len();
        buf.drain(..p.body_start);
        buf.truncate(len);
        Ok(buf)
    }

    /// Like [`Envelope::rewrap`](crate::Envelope::rewrap); the new wrap
    /// comes from [`AsyncKeyProvider::wrap`] (the provider's primary).
    ///
    /// # Errors
    /// As [`Envelope::rewrap`](crate::Envelope::rewrap).
    pub async fn rewrap(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<Rewrap> {
        let h = parse_header(ciphertext)?;
        let key_ref = h.key_ref()?;
        let key = self
            .provider
            .unwrap(&key_ref, h.wrapped, ctx.scope())
            .await?;
        let d = KeyMaterial::new(key.expose_secret_bytes()).derive(
            LABEL_MSG,
            h.nonce,
            ctx.canonical_bytes(),
        );
        if !d.commitment_matches(h.commitment) {
            return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Commitment));
        }
        let wrapped = self.provider.wrap(&key, ctx.scope()).await?;
        if wrapped.key_ref == key_ref {
            return Ok(Rewrap::AlreadyPrimary);
        }
        let mut out = Vec::with_capacity(ciphertext.len() + wrapped.bytes.len());
        out.extend_from_slice(ciphertext.get(..h.key_section.start).unwrap_or_default());
        write_key_section(&mut out, &wrapped)?;
        out.extend_from_slice(ciphertext.get(h.key_section.end..).unwrap_or_default());
        Ok(Rewrap::Rewrapped(out))
    }
}
