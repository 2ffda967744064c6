//! Encryption contexts: the tenant scope plus caller key/value pairs,
//! canonically encoded and authenticated (never stored in the ciphertext).

use std::collections::BTreeMap;
use std::fmt;

use palisade_tenancy::Scope;

use crate::error::{EnvelopeError, Result, clip};

/// Version byte that opens the canonical context encoding.
pub const CONTEXT_VERSION: u8 = 0x01;
/// Longest context key, in bytes.
pub const MAX_CONTEXT_KEY_LEN: usize = 64;
/// Longest context value, in bytes.
pub const MAX_CONTEXT_VALUE_LEN: usize = 4096;
/// Most caller fields in one context.
pub const MAX_CONTEXT_FIELDS: usize = 32;

/// What a ciphertext is bound to: always a tenant [`Scope`], plus caller
/// fields such as table, column and record id.
///
/// The canonical bytes (see `docs/envelope-format.md`) are
/// `0x01 ‖ u8 len ‖ scope bytes ‖ u8 n ‖ n × (u8 klen ‖ key ‖ u16be vlen ‖ value)`
/// with fields sorted by key, keys unique. Different contexts always encode
/// differently. The context is authenticated but not stored: `open` must be
/// given the same context again.
///
/// ```
/// use palisade_envelope::EncryptionContext;
/// use palisade_tenancy::{Scope, TenantId};
/// let ctx = EncryptionContext::new(Scope::tenant(TenantId::new_v7()))
///     .with("table", "provider_keys")?
///     .with("record", "42")?;
/// assert_eq!(ctx.get("table"), Some(&b"provider_keys"[..]));
/// # Ok::<(), palisade_envelope::EnvelopeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EncryptionContext {
    scope: Scope,
    fields: BTreeMap<String, Vec<u8>>,
    encoded: Vec<u8>,
}

impl EncryptionContext {
    /// A context holding only `scope`.
    #[must_use]
    pub fn new(scope: Scope) -> Self {
        let mut ctx = Self {
            scope,
            fields: BTreeMap::new(),
            encoded: Vec::new(),
        };
        ctx.encode();
        ctx
    }

    /// Add (or replace) a caller field.
    ///
    /// # Errors
    /// [`EnvelopeError::InvalidContextKey`] for a key that is empty, longer
    /// than 64 bytes or not made of `a-z 0-9 _ - . :`;
    /// [`EnvelopeError::ContextTooLarge`] for a value over 4096 bytes or more
    /// than 32 fields.
    pub fn with(mut self, key: &str, value: impl AsRef<[u8]>) -> Result<Self> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// Add (or replace) a caller field in place.
    ///
    /// # Errors
    /// As [`EncryptionContext::with`].
    pub fn insert(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<()> {
        let value = value.as_ref();
        let key_ok = !key.is_empty()
            && key.len() <= MAX_CONTEXT_KEY_LEN
            && key.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'_' | b'-' | b'.' | b':')
            });
        if !key_ok {
            return Err(EnvelopeError::InvalidContextKey { key: clip(key, 80) });
        }
        if value.len() > MAX_CONTEXT_VALUE_LEN {
            return Err(EnvelopeError::ContextTooLarge {
                reason: "a value is over 4096 bytes",
            });
        }
        if !self.fields.contains_key(key) && self.fields.len() >= MAX_CONTEXT_FIELDS {
            return Err(EnvelopeError::ContextTooLarge {
                reason: "more than 32 fields",
            });
        }
        self.fields.insert(key.to_owned(), value.to_vec());
        self.encode();
        Ok(())
    }

    /// The tenant scope this context binds.
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// A caller field's value.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.fields.get(key).map(Vec::as_slice)
    }

    /// The caller fields, sorted by key.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The canonical bytes that are authenticated.
    #[must_use]
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.encoded
    }

    fn encode(&mut self) {
        let scope = self.scope.to_context_bytes();
        let scope = scope.as_slice();
        let mut out = Vec::with_capacity(
            3 + scope.len()
                + self
                    .fields
                    .iter()
                    .map(|(k, v)| 3 + k.len() + v.len())
                    .sum::<usize>(),
        );
        out.push(CONTEXT_VERSION);
        // Lengths are bounded by the checks in `insert` and by ScopeBytes::MAX_LEN,
        // so the narrowing conversions cannot truncate.
        out.push(u8::try_from(scope.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(scope);
        out.push(u8::try_from(self.fields.len()).unwrap_or(u8::MAX));
        for (k, v) in &self.fields {
            out.push(u8::try_from(k.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&u16::try_from(v.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(v);
        }
        self.encoded = out;
    }
}

impl fmt::Debug for EncryptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be record ids: show keys and value lengths only.
        let mut d = f.debug_struct("EncryptionContext");
        d.field("scope", &self.scope);
        for (k, v) in &self.fields {
            d.field(k, &format_args!("<{} bytes>", v.len()));
        }
        d.finish()
    }
}
