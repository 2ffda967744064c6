//! Deterministic, validated names for per-tenant partitions of external
//! stores (vector-database namespaces, object-storage prefixes, cache keys,
//! database schemas).

use crate::error::{Result, TenancyError, clip};
use crate::id::{encode_bytes, encode_u128, is_base32};
use crate::scope::Scope;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// The longest namespace name, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 63;
/// The longest purpose, in bytes.
pub const MAX_PURPOSE_LEN: usize = 9;
const OPAQUE_LEN: usize = 32;
const OPAQUE_DOMAIN: &[u8] = b"palisade.namespace.v1";

/// A partition name for one scope and one purpose.
///
/// Names are 3–63 bytes of `a-z 0-9 _`, start with a letter and never end
/// with `_`: valid unquoted as PostgreSQL identifiers (63 bytes), Milvus and
/// Qdrant collection names, Pinecone and Turbopuffer namespaces, Elasticsearch
/// index names, S3 key prefixes and Redis key prefixes.
///
/// Two forms, both deterministic and injective across scopes and purposes:
/// - transparent `{purpose}_{tenant}` or `{purpose}_{tenant}_{project}` (the
///   ids' 26-character bodies), readable by operators;
/// - opaque `{purpose}_{32 chars}`: 160 bits of HMAC-SHA256 over the purpose
///   and the scope's context bytes, under a [`NamespaceKey`], so the store
///   never learns tenant ids.
///
/// ```
/// use palisade_tenancy::{Namespace, NamespaceKey, Scope, TenantId};
/// let scope = Scope::tenant(TenantId::new_v7());
/// let ns = Namespace::transparent(&scope, "vec")?;
/// assert!(ns.as_str().starts_with("vec_"));
/// assert_eq!(ns.scope(), Some(scope));
/// let key = NamespaceKey::from_bytes([7; 32]);
/// let hidden = Namespace::opaque(&scope, "vec", &key)?;
/// assert_eq!(hidden.as_str().len(), 4 + 32);
/// assert_eq!(hidden.scope(), None);
/// # Ok::<(), palisade_tenancy::TenancyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace {
    name: String,
    purpose_len: usize,
}

/// The key for opaque namespace names. Keep it as stable as the names it
/// makes: a new key gives every tenant new names.
pub struct NamespaceKey(SecretBox<[u8; 32]>);

impl NamespaceKey {
    /// Wrap 32 secret bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }
}

impl core::fmt::Debug for NamespaceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NamespaceKey(<redacted>)")
    }
}

fn validate_purpose(purpose: &str) -> Result<()> {
    let bad = |reason| TenancyError::Namespace {
        input: clip(purpose, 80),
        reason,
    };
    if purpose.is_empty() || purpose.len() > MAX_PURPOSE_LEN {
        return Err(bad("the purpose must be 1 to 9 bytes"));
    }
    if !purpose
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase())
    {
        return Err(bad("the purpose must start with `a-z`"));
    }
    if !purpose
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(bad(
            "the purpose may only hold `a-z 0-9` (no `_`, which separates the parts)",
        ));
    }
    Ok(())
}

impl Namespace {
    /// The readable form `{purpose}_{tenant}[_{project}]`.
    ///
    /// # Errors
    /// [`TenancyError::Namespace`] when `purpose` is not 1–9 bytes of
    /// `a-z 0-9` starting with a letter.
    pub fn transparent(scope: &Scope, purpose: &str) -> Result<Self> {
        validate_purpose(purpose)?;
        let mut name = String::with_capacity(MAX_NAMESPACE_LEN);
        name.push_str(purpose);
        name.push('_');
        name.extend(
            encode_u128(scope.tenant_id().as_uuid().as_u128())
                .iter()
                .map(|&b| char::from(b)),
        );
        if let Some(p) = scope.project_id() {
            name.push('_');
            name.extend(
                encode_u128(p.as_uuid().as_u128())
                    .iter()
                    .map(|&b| char::from(b)),
            );
        }
        Ok(Self {
            name,
            purpose_len: purpose.len(),
        })
    }

    /// The opaque form `{purpose}_{HMAC-SHA256(key, …) truncated to 160 bits}`.
    ///
    /// The MAC input is `"palisade.namespace.v1" || len(purpose) as one byte ||
    /// purpose || scope context bytes` (see `docs/tenancy.md`).
    ///
    /// # Errors
    /// As [`Namespace::transparent`].
    pub fn opaque(scope: &Scope, purpose: &str, key: &NamespaceKey) -> Result<Self> {
        validate_purpose(purpose)?;
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key.0.expose_secret()).map_err(|_| {
                TenancyError::Namespace {
                    input: String::new(),
                    reason: "bad HMAC key length",
                }
            })?;
        mac.update(OPAQUE_DOMAIN);
        mac.update(&[u8::try_from(purpose.len()).unwrap_or(u8::MAX)]);
        mac.update(purpose.as_bytes());
        mac.update(scope.to_context_bytes().as_slice());
        let tag = mac.finalize().into_bytes();
        let mut name = String::with_capacity(purpose.len() + 1 + OPAQUE_LEN);
        name.push_str(purpose);
        name.push('_');
        name.push_str(&encode_bytes(tag.get(..20).unwrap_or_default()));
        Ok(Self {
            name,
            purpose_len: purpose.len(),
        })
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The purpose part.
    #[must_use]
    pub fn purpose(&self) -> &str {
        self.name.get(..self.purpose_len).unwrap_or_default()
    }

    /// True for the opaque (HMAC) form.
    #[must_use]
    pub fn is_opaque(&self) -> bool {
        self.name.len() == self.purpose_len + 1 + OPAQUE_LEN
    }

    /// The scope a transparent name was made for; `None` for an opaque name.
    #[must_use]
    pub fn scope(&self) -> Option<Scope> {
        let rest = self.name.get(self.purpose_len + 1..)?;
        match rest.split_once('_') {
            None if rest.len() == 26 => format!("ten_{rest}").parse().ok(),
            Some((t, p)) => format!("ten_{t}/prj_{p}").parse().ok(),
            None => None,
        }
    }
}

impl core::fmt::Display for Namespace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.name)
    }
}

impl core::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Namespace({})", self.name)
    }
}

impl AsRef<str> for Namespace {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl core::str::FromStr for Namespace {
    type Err = TenancyError;

    /// Parse either form back (for example from a store's listing). The
    /// opaque form is checked for shape only: verifying it needs the scope and
    /// key, by calling [`Namespace::opaque`] and comparing.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| TenancyError::Namespace {
            input: clip(s, 80),
            reason,
        };
        let (purpose, rest) = s
            .split_once('_')
            .ok_or_else(|| bad("expected `purpose_…`"))?;
        validate_purpose(purpose)?;
        let ok = match rest.split_once('_') {
            None if rest.len() == OPAQUE_LEN => is_base32(rest),
            None if rest.len() == 26 => format!("ten_{rest}").parse::<Scope>().is_ok(),
            Some((t, p)) if t.len() == 26 && p.len() == 26 => {
                format!("ten_{t}/prj_{p}").parse::<Scope>().is_ok()
            }
            _ => false,
        };
        if !ok {
            return Err(bad(
                "after `purpose_` expected a 26-character tenant id, tenant and project ids joined by `_`, or 32 opaque characters",
            ));
        }
        Ok(Self {
            name: s.to_owned(),
            purpose_len: purpose.len(),
        })
    }
}
