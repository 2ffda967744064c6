//! The envelope: seal and open under data keys wrapped by a [`KeyProvider`].

use std::fmt;
use std::sync::Arc;

use palisade_tenancy::{Scope, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::cache::{CacheLimits, DataKeyCache, OpenMaterial, SealMaterial};
use crate::context::EncryptionContext;
use crate::derive::{KeyMaterial, LABEL_MSG};
use crate::error::{DecryptFailure, EnvelopeError, Result};
use crate::format::{Header, parse_header, write_key_section};
use crate::provider::{KeyProvider, KeyRef, WrappedKey};
use crate::secret::DataKey;
use crate::single::{self, Parsed};

/// Envelope encryption bound to tenant context.
///
/// Each seal encrypts under a data key (fresh, or from the per-tenant cache)
/// wrapped by the provider's primary KEK with the tenant [`Scope`] bound in;
/// the body is AES-256-GCM under a key derived per message from the data
/// key, a 32-byte random nonce and the full [`EncryptionContext`], with a
/// key commitment checked before decryption. Cheap to clone (an `Arc`).
pub struct Envelope<P> {
    inner: Arc<Inner<P>>,
}

struct Inner<P> {
    provider: P,
    cache: Option<DataKeyCache>,
}

impl<P> Clone for Envelope<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P> fmt::Debug for Envelope<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("backend", &crate::backend::BACKEND)
            .field(
                "cache",
                &self.inner.cache.as_ref().map(DataKeyCache::limits),
            )
            .finish_non_exhaustive()
    }
}

/// The outcome of [`Envelope::rewrap`].
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub enum Rewrap {
    /// The header now names the primary KEK version; store these bytes.
    Rewrapped(Vec<u8>),
    /// Already wrapped under the primary version: nothing to store.
    AlreadyPrimary,
}

/// Totals of an [`Envelope::sweep`].
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Ciphertexts whose header was rewrapped in place.
    pub rewrapped: usize,
    /// Ciphertexts already under the primary version.
    pub unchanged: usize,
    /// Positions (in the input order) that failed, with why.
    pub failed: Vec<(usize, EnvelopeError)>,
}

/// Which KEK version wrapped `ciphertext`'s data key (single-shot or stream
/// header; only the header is read).
///
/// # Errors
/// Header format errors ([`EnvelopeError::UnsupportedVersion`],
/// [`EnvelopeError::Truncated`], …).
pub fn key_ref(ciphertext: &[u8]) -> Result<KeyRef> {
    parse_header(ciphertext)?.key_ref()
}

impl<P: KeyProvider> Envelope<P> {
    /// An envelope without data-key cache: every seal asks the provider for
    /// a fresh data key, every open for an unwrap.
    #[must_use]
    pub fn new(provider: P) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                cache: None,
            }),
        }
    }

    /// An envelope whose `*_cached` and `*_in_place` methods reuse data keys
    /// per tenant scope within `limits`.
    #[must_use]
    pub fn with_cache(provider: P, limits: CacheLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                cache: Some(DataKeyCache::new(limits)),
            }),
        }
    }

    /// The key provider.
    #[must_use]
    pub fn provider(&self) -> &P {
        &self.inner.provider
    }

    /// Drop every cached data key (e.g. after retiring a KEK version).
    pub fn clear_cache(&self) {
        if let Some(c) = &self.inner.cache {
            c.clear();
        }
    }

    /// A handle bound to `scope`: everything it seals or opens carries that
    /// tenant binding (see [`ScopedEnvelope`](crate::ScopedEnvelope)).
    #[must_use]
    pub fn for_scope(&self, scope: Scope) -> crate::ScopedEnvelope<P> {
        crate::ScopedEnvelope::new(self.clone(), scope)
    }

    pub(crate) fn fresh_material(&self, scope: &Scope) -> Result<SealMaterial> {
        let (key, wrapped) = self.inner.provider.generate_data_key(scope)?;
        material_from(&key, &wrapped)
    }

    pub(crate) fn seal_material(
        &self,
        scope: &Scope,
        len: usize,
        now: Option<Timestamp>,
    ) -> Result<Arc<SealMaterial>> {
        let (Some(cache), Some(now)) = (&self.inner.cache, now) else {
            return Ok(Arc::new(self.fresh_material(scope)?));
        };
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        if let Some(m) = cache.take_seal(scope, len, now) {
            if self.inner.provider.is_primary(&m.keys.key_ref) {
                return Ok(m);
            }
            // Rotated since: wrap a fresh key under the new primary.
            cache.remove_seal(scope);
        }
        let m = Arc::new(self.fresh_material(scope)?);
        cache.put_seal(*scope, Arc::clone(&m), len, now);
        // The sealer knows the unwrapped key: let opens of it skip the provider.
        cache.put_open(&m.key_section, *scope, Arc::clone(&m.keys), now);
        Ok(m)
    }

    pub(crate) fn open_material(
        &self,
        scope: &Scope,
        h: &Header<'_>,
        bytes: &[u8],
        now: Option<Timestamp>,
    ) -> Result<Arc<OpenMaterial>> {
        let section = bytes.get(h.key_section.clone()).unwrap_or_default();
        if let (Some(cache), Some(now)) = (&self.inner.cache, now)
            && let Some(m) = cache.get_open(section, scope, now)
        {
            self.inner.provider.check_decryptable(&m.key_ref)?;
            return Ok(m);
        }
        let key_ref = h.key_ref()?;
        let key = self.inner.provider.unwrap(&key_ref, h.wrapped, scope)?;
        let m = Arc::new(OpenMaterial {
            keys: KeyMaterial::new(key.expose_secret_bytes()),
            key_ref,
        });
        if let (Some(cache), Some(now)) = (&self.inner.cache, now) {
            cache.put_open(section, *scope, Arc::clone(&m), now);
        }
        Ok(m)
    }

    /// Encrypt `plaintext` under a fresh data key, bound to `ctx`.
    ///
    /// # Errors
    /// Provider failures, [`EnvelopeError::Random`], [`EnvelopeError::TooLong`].
    pub fn seal(&self, ctx: &EncryptionContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        let m = self.seal_material(ctx.scope(), plaintext.len(), None)?;
        let mut out = Vec::new();
        single::seal_to(&m, ctx, plaintext, None, &mut out)?;
        Ok(out)
    }

    /// Like [`Envelope::seal`], reusing the tenant's cached data key when
    /// the envelope has a cache and the key is within its limits at `now`.
    ///
    /// # Errors
    /// As [`Envelope::seal`].
    pub fn seal_cached(
        &self,
        ctx: &EncryptionContext,
        plaintext: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>> {
        let m = self.seal_material(ctx.scope(), plaintext.len(), Some(now))?;
        let mut out = Vec::new();
        single::seal_to(&m, ctx, plaintext, None, &mut out)?;
        Ok(out)
    }

    /// Hot-path seal into a reusable buffer: `out` is cleared and receives
    /// the ciphertext (no allocation once `out` has capacity and the data key
    /// is cached). Uses the cache like [`Envelope::seal_cached`].
    ///
    /// # Errors
    /// As [`Envelope::seal`].
    pub fn seal_into(
        &self,
        ctx: &EncryptionContext,
        plaintext: &[u8],
        out: &mut Vec<u8>,
        now: Timestamp,
    ) -> Result<()> {
        let m = self.seal_material(ctx.scope(), plaintext.len(), Some(now))?;
        out.clear();
        single::seal_to(&m, ctx, plaintext, None, out)
    }

    /// Hot-path seal: `buf` holds the plaintext and is replaced by the
    /// ciphertext (one reserve, no other allocation with a cache hit).
    /// Uses the cache like [`Envelope::seal_cached`].
    ///
    /// # Errors
    /// As [`Envelope::seal`].
    pub fn seal_in_place(
        &self,
        ctx: &EncryptionContext,
        buf: &mut Vec<u8>,
        now: Timestamp,
    ) -> Result<()> {
        let m = self.seal_material(ctx.scope(), buf.len(), Some(now))?;
        single::seal_in_place(&m, ctx, buf)
    }

    fn open_inner<'b>(
        &self,
        ctx: &EncryptionContext,
        buf: &'b mut [u8],
        now: Option<Timestamp>,
    ) -> Result<&'b mut [u8]> {
        let (m, p) = {
            let h = parse_header(buf)?;
            let p = Parsed::of(&h)?;
            if buf.len().saturating_sub(p.body_start) < crate::backend::TAG_LEN {
                return Err(EnvelopeError::Truncated { field: "tag" });
            }
            (self.open_material(ctx.scope(), &h, buf, now)?, p)
        };
        single::open_body(&m.keys, ctx, &p.nonce, &p.commitment, buf, p.body_start)
    }

    /// Decrypt a single-shot ciphertext made under the same `ctx`.
    ///
    /// # Errors
    /// Header format errors; [`EnvelopeError::UnknownKek`],
    /// [`EnvelopeError::KeyVersionRetired`]; [`EnvelopeError::DecryptionFailed`]
    /// for a wrong context, key or any tampering.
    pub fn open(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = self.open_inner(ctx, &mut buf, None)?.len();
        let start = buf.len() - crate::backend::TAG_LEN - len;
        buf.drain(..start);
        buf.truncate(len);
        Ok(buf)
    }

    /// Like [`Envelope::open`], reusing cached unwrapped data keys.
    ///
    /// # Errors
    /// As [`Envelope::open`].
    pub fn open_cached(
        &self,
        ctx: &EncryptionContext,
        ciphertext: &[u8],
        now: Timestamp,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = self.open_inner(ctx, &mut buf, Some(now))?.len();
        let start = buf.len() - crate::backend::TAG_LEN - len;
        buf.drain(..start);
        buf.truncate(len);
        Ok(buf)
    }

    /// Hot-path open: decrypts `buf` in place and returns the plaintext
    /// sub-slice (no allocation with a cache hit). On failure no plaintext
    /// is left in `buf`. Uses the cache like [`Envelope::open_cached`].
    ///
    /// # Errors
    /// As [`Envelope::open`].
    pub fn open_in_place<'b>(
        &self,
        ctx: &EncryptionContext,
        buf: &'b mut [u8],
        now: Timestamp,
    ) -> Result<&'b mut [u8]> {
        self.open_inner(ctx, buf, Some(now))
    }

    /// Seal a small secret such as a provider API key.
    ///
    /// # Errors
    /// As [`Envelope::seal`].
    pub fn seal_secret(&self, ctx: &EncryptionContext, secret: &SecretString) -> Result<Vec<u8>> {
        self.seal(ctx, secret.expose_secret().as_bytes())
    }

    /// Open a secret sealed by [`Envelope::seal_secret`].
    ///
    /// # Errors
    /// As [`Envelope::open`], and [`EnvelopeError::SecretNotUtf8`].
    pub fn open_secret(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<SecretString> {
        let plain = self.open(ctx, ciphertext)?;
        let s = core::str::from_utf8(&plain).map_err(|_| EnvelopeError::SecretNotUtf8)?;
        Ok(SecretString::from(s))
    }

    /// Re-wrap the data key of `ciphertext` (single-shot or a whole stream)
    /// under the provider's primary KEK version. Only the key-reference
    /// section of the header changes; the body bytes are copied untouched.
    /// The key commitment is verified against `ctx` first, so garbage is
    /// never re-blessed.
    ///
    /// # Errors
    /// As [`Envelope::open`] (minus tag errors: the body is not decrypted).
    pub fn rewrap(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<Rewrap> {
        let h = parse_header(ciphertext)?;
        let primary = self.inner.provider.primary()?;
        if h.names(&primary) {
            return Ok(Rewrap::AlreadyPrimary);
        }
        let key = self
            .inner
            .provider
            .unwrap(&h.key_ref()?, h.wrapped, ctx.scope())?;
        let d = KeyMaterial::new(key.expose_secret_bytes()).derive(
            LABEL_MSG,
            h.nonce,
            ctx.canonical_bytes(),
        );
        if !d.commitment_matches(h.commitment) {
            return Err(EnvelopeError::DecryptionFailed(DecryptFailure::Commitment));
        }
        let wrapped = self.inner.provider.wrap(&key, ctx.scope())?;
        let mut out = Vec::with_capacity(ciphertext.len() + wrapped.bytes.len());
        out.extend_from_slice(ciphertext.get(..h.key_section.start).unwrap_or_default());
        write_key_section(&mut out, &wrapped)?;
        out.extend_from_slice(ciphertext.get(h.key_section.end..).unwrap_or_default());
        Ok(Rewrap::Rewrapped(out))
    }

    /// Rewrap a batch in place (e.g. a table scan after a rotation). Each
    /// item is a context and its stored ciphertext; rewrapped ones are
    /// replaced, failures are reported by position and left untouched.
    pub fn sweep<'a, I>(&self, items: I) -> SweepReport
    where
        I: IntoIterator<Item = (&'a EncryptionContext, &'a mut Vec<u8>)>,
    {
        let mut report = SweepReport::default();
        for (i, (ctx, ct)) in items.into_iter().enumerate() {
            match self.rewrap(ctx, ct) {
                Ok(Rewrap::Rewrapped(new)) => {
                    *ct = new;
                    report.rewrapped += 1;
                }
                Ok(Rewrap::AlreadyPrimary) => report.unchanged += 1,
                Err(e) => report.failed.push((i, e)),
            }
        }
        report
    }
}

pub(crate) fn material_from(key: &DataKey, wrapped: &WrappedKey) -> Result<SealMaterial> {
    let mut key_section =
        Vec::with_capacity(7 + wrapped.key_ref.kek.as_str().len() + wrapped.bytes.len());
    write_key_section(&mut key_section, wrapped)?;
    Ok(SealMaterial {
        keys: Arc::new(OpenMaterial {
            keys: KeyMaterial::new(key.expose_secret_bytes()),
            key_ref: wrapped.key_ref.clone(),
        }),
        key_section,
    })
}
