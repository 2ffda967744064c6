//! Key providers: who wraps and unwraps data keys under versioned KEKs.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use palisade_tenancy::Scope;

use crate::error::{EnvelopeError, Result, clip};
use crate::secret::DataKey;

/// Longest KEK id, in bytes.
pub const MAX_KEK_ID_LEN: usize = 64;
/// Longest wrapped data key a provider may return, in bytes.
pub const MAX_WRAPPED_LEN: usize = 1024;

/// The name of a key-encryption key: 1–64 of `A-Z a-z 0-9 . _ -`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KekId(String);

impl KekId {
    /// Validate a KEK id.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidKekId`] when empty, over 64 bytes, or with
    /// other characters.
    pub fn new(id: &str) -> Result<Self> {
        if valid_kek_id(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(EnvelopeError::InvalidKekId { id: clip(id, 80) })
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KekId({})", self.0)
    }
}

impl core::str::FromStr for KekId {
    type Err = EnvelopeError;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

pub(crate) fn valid_kek_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEK_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Which KEK, and which version of it, wrapped a data key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyRef {
    /// The KEK's name.
    pub kek: KekId,
    /// Its version (1 or more).
    pub version: u32,
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:v{}", self.kek, self.version)
    }
}

/// A data key wrapped by a provider. The bytes are opaque to the envelope and
/// not secret (they only open with the KEK and the same scope).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    /// The KEK version that wrapped it.
    pub key_ref: KeyRef,
    /// The provider's wrapped bytes, 1–1024 long.
    pub bytes: Vec<u8>,
}

/// Wraps and unwraps data keys under named, versioned key-encryption keys,
/// binding the tenant [`Scope`] into every wrap (a wrapped key of one tenant
/// never unwraps for another).
///
/// This is the synchronous shape, right for an in-process keyring
/// ([`LocalKeyring`](crate::LocalKeyring)). Remote KMS adapters implement
/// [`AsyncKeyProvider`] instead; every `KeyProvider` is also an
/// `AsyncKeyProvider` through a blanket implementation.
pub trait KeyProvider: Send + Sync {
    /// The KEK version used for new writes.
    ///
    /// # Errors
    /// [`EnvelopeError::NoPrimaryKek`] when none is configured.
    fn primary(&self) -> Result<KeyRef>;

    /// Wrap `key` under the primary KEK, binding `scope`.
    ///
    /// # Errors
    /// Provider failures ([`EnvelopeError::NoPrimaryKek`],
    /// [`EnvelopeError::Random`], [`EnvelopeError::Provider`]).
    fn wrap(&self, key: &DataKey, scope: &Scope) -> Result<WrappedKey>;

    /// Unwrap `wrapped` (made by `key_ref`) for `scope`.
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`], [`EnvelopeError::KeyVersionRetired`],
    /// or [`EnvelopeError::DecryptionFailed`] when the bytes or scope do not
    /// match.
    fn unwrap(&self, key_ref: &KeyRef, wrapped: &[u8], scope: &Scope) -> Result<DataKey>;

    /// A fresh data key and its wrap under the primary KEK. The default
    /// draws 32 random bytes and calls [`KeyProvider::wrap`].
    ///
    /// # Errors
    /// As [`KeyProvider::wrap`].
    fn generate_data_key(&self, scope: &Scope) -> Result<(DataKey, WrappedKey)> {
        let key = DataKey::generate()?;
        let wrapped = self.wrap(&key, scope)?;
        Ok((key, wrapped))
    }

    /// Whether `key_ref` is still the primary version (consulted before a
    /// cached data key seals again, so a rotation takes effect at once). The
    /// default compares with [`KeyProvider::primary`].
    fn is_primary(&self, key_ref: &KeyRef) -> bool {
        self.primary().is_ok_and(|p| &p == key_ref)
    }

    /// Whether `key_ref` may still be used for decryption: consulted on
    /// every reuse of a cached data key, so retiring a version (or removing
    /// a KEK) takes effect at once. There is no default: a provider must
    /// answer for its own versions (an allow-all default let a cached key of
    /// a retired version keep decrypting until the cache's max age).
    ///
    /// ```compile_fail
    /// # use palisade_envelope::*;
    /// # use palisade_tenancy::Scope;
    /// struct NoCheck;
    /// impl KeyProvider for NoCheck {
    ///     fn primary(&self) -> Result<KeyRef> { Err(EnvelopeError::NoPrimaryKek) }
    ///     fn wrap(&self, _: &DataKey, _: &Scope) -> Result<WrappedKey> { Err(EnvelopeError::NoPrimaryKek) }
    ///     fn unwrap(&self, _: &KeyRef, _: &[u8], _: &Scope) -> Result<DataKey> { Err(EnvelopeError::NoPrimaryKek) }
    ///     // missing: check_decryptable
    /// }
    /// ```
    ///
    /// # Errors
    /// [`EnvelopeError::KeyVersionRetired`] or [`EnvelopeError::UnknownKek`].
    fn check_decryptable(&self, key_ref: &KeyRef) -> Result<()>;
}

/// A boxed, `Send` future, so async providers need no runtime dependency.
pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The async-friendly shape for remote KMS adapters (AWS KMS, Vault Transit,
/// GCP KMS): each call returns a boxed `Send` future, so an adapter can await
/// its HTTP client without blocking the executor, and this crate pulls in no
/// runtime. Use it through [`AsyncEnvelope`](crate::AsyncEnvelope).
pub trait AsyncKeyProvider: Send + Sync {
    /// A fresh data key and its wrap under the primary KEK, binding `scope`
    /// (KMS `GenerateDataKey`).
    ///
    /// # Errors
    /// Provider failures.
    fn generate_data_key<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> ProviderFuture<'a, (DataKey, WrappedKey)>;

    /// Wrap an existing data key under the primary KEK (used by rewrap).
    ///
    /// # Errors
    /// Provider failures.
    fn wrap<'a>(&'a self, key: &'a DataKey, scope: &'a Scope) -> ProviderFuture<'a, WrappedKey>;

    /// Unwrap a data key for `scope` (KMS `Decrypt`).
    ///
    /// # Errors
    /// As [`KeyProvider::unwrap`].
    fn unwrap<'a>(
        &'a self,
        key_ref: &'a KeyRef,
        wrapped: &'a [u8],
        scope: &'a Scope,
    ) -> ProviderFuture<'a, DataKey>;
}

impl<P: KeyProvider> AsyncKeyProvider for P {
    fn generate_data_key<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> ProviderFuture<'a, (DataKey, WrappedKey)> {
        Box::pin(std::future::ready(KeyProvider::generate_data_key(
            self, scope,
        )))
    }

    fn wrap<'a>(&'a self, key: &'a DataKey, scope: &'a Scope) -> ProviderFuture<'a, WrappedKey> {
        Box::pin(std::future::ready(KeyProvider::wrap(self, key, scope)))
    }

    fn unwrap<'a>(
        &'a self,
        key_ref: &'a KeyRef,
        wrapped: &'a [u8],
        scope: &'a Scope,
    ) -> ProviderFuture<'a, DataKey> {
        Box::pin(std::future::ready(KeyProvider::unwrap(
            self, key_ref, wrapped, scope,
        )))
    }
}
