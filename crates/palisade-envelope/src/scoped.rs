//! A tenant-bound envelope handle for request handlers.

use palisade_tenancy::{Scope, Timestamp};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::context::EncryptionContext;
use crate::envelope::{Envelope, Rewrap};
use crate::error::{EnvelopeError, Result};
use crate::provider::KeyProvider;

/// An [`Envelope`] bound to one [`Scope`]: contexts come from
/// [`ScopedEnvelope::context`], and every operation refuses a context of any
/// other scope, so a handler cannot forget (or swap) the tenant binding.
///
/// `Send + Sync` when the provider is, and cheap to clone (an `Arc` and a
/// copy of the scope).
///
/// ```
/// use palisade_envelope::{Envelope, Kek, LocalKeyring};
/// use palisade_tenancy::{Scope, TenantId};
/// let env = Envelope::new(LocalKeyring::with_primary("main", Kek::generate()?)?);
/// let acme = env.for_scope(Scope::tenant(TenantId::new_v7()));
/// let ctx = acme.context().with("record", "7")?;
/// let ct = acme.seal(&ctx, b"sk-live-123")?;
/// assert_eq!(&acme.open(&ctx, &ct)?[..], b"sk-live-123");
/// // A context for another tenant is refused outright.
/// let other = env.for_scope(Scope::tenant(TenantId::new_v7())).context();
/// assert!(acme.open(&other, &ct).is_err());
/// # Ok::<(), palisade_envelope::EnvelopeError>(())
/// ```
pub struct ScopedEnvelope<P> {
    env: Envelope<P>,
    scope: Scope,
}

impl<P> Clone for ScopedEnvelope<P> {
    fn clone(&self) -> Self {
        Self {
            env: self.env.clone(),
            scope: self.scope,
        }
    }
}

impl<P> core::fmt::Debug for ScopedEnvelope<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScopedEnvelope")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl<P: KeyProvider> ScopedEnvelope<P> {
    pub(crate) fn new(env: Envelope<P>, scope: Scope) -> Self {
        Self { env, scope }
    }

    /// The bound scope.
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// A fresh context for this scope; add table/column/record fields.
    #[must_use]
    pub fn context(&self) -> EncryptionContext {
        EncryptionContext::new(self.scope)
    }

    fn check(&self, ctx: &EncryptionContext) -> Result<()> {
        if *ctx.scope() == self.scope {
            Ok(())
        } else {
            Err(EnvelopeError::ScopeMismatch {
                expected: self.scope.to_string(),
                found: ctx.scope().to_string(),
            })
        }
    }

    /// [`Envelope::seal`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::seal`].
    pub fn seal(&self, ctx: &EncryptionContext, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.check(ctx)?;
        self.env.seal(ctx, plaintext)
    }

    /// [`Envelope::seal_cached`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::seal`].
    pub fn seal_cached(
        &self,
        ctx: &EncryptionContext,
        plaintext: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>> {
        self.check(ctx)?;
        self.env.seal_cached(ctx, plaintext, now)
    }

    /// [`Envelope::open`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::open`].
    pub fn open(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.check(ctx)?;
        self.env.open(ctx, ciphertext)
    }

    /// [`Envelope::open_cached`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::open`].
    pub fn open_cached(
        &self,
        ctx: &EncryptionContext,
        ciphertext: &[u8],
        now: Timestamp,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.check(ctx)?;
        self.env.open_cached(ctx, ciphertext, now)
    }

    /// [`Envelope::seal_secret`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::seal`].
    pub fn seal_secret(&self, ctx: &EncryptionContext, secret: &SecretString) -> Result<Vec<u8>> {
        self.check(ctx)?;
        self.env.seal_secret(ctx, secret)
    }

    /// [`Envelope::open_secret`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::open_secret`].
    pub fn open_secret(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<SecretString> {
        self.check(ctx)?;
        self.env.open_secret(ctx, ciphertext)
    }

    /// [`Envelope::rewrap`] for this scope.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`], or as [`Envelope::rewrap`].
    pub fn rewrap(&self, ctx: &EncryptionContext, ciphertext: &[u8]) -> Result<Rewrap> {
        self.check(ctx)?;
        self.env.rewrap(ctx, ciphertext)
    }

    /// The unbound envelope (for code that must handle several tenants).
    #[must_use]
    pub fn envelope(&self) -> &Envelope<P> {
        &self.env
    }
}
