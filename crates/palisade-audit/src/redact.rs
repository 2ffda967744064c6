//! Redaction by default, and salted commitments for erasable sensitive values.
//!
//! Events have no free-form body field and string details are at most 256
//! bytes, so prompts, completions and request bodies cannot enter a record by
//! construction. On top of that the log runs a [`Redactor`] over every
//! event's details and free-text fields before it is encoded: the default one
//! ([`crate::DefaultRedactor`]) masks keys that look like secrets or model
//! inputs/outputs, and values that look like credentials. Hosts extend it
//! by wrapping.

use crate::error::{AuditError, Result};
use crate::event::{AuditEvent, DetailValue};
use crate::redact_text::TextField;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What a redactor decides for one detail.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Redaction {
    /// Keep the detail as is.
    Keep,
    /// Replace its value with the string `[redacted]` (the key stays, so an
    /// auditor sees that something was removed).
    Mask,
    /// Remove the detail.
    Drop,
}

/// A hook that decides, per detail, what may enter the audit log.
///
/// Runs inside `append` on every event, so keep it cheap (no allocation on
/// the keep path).
pub trait Redactor: Send + Sync {
    /// Decide for the detail `key` = `value`.
    fn redact(&self, key: &str, value: &DetailValue) -> Redaction;

    /// Redact the free-text `field` holding `text` (resource id, outcome
    /// reason, user agent, staff reason): return it unchanged (borrowed) or
    /// a cleaned copy. The log cuts an owned result back to the field's
    /// limit. The default masks credentials in place
    /// ([`crate::DefaultRedactor::mask_credentials`]): a full API key or
    /// `Bearer` token in a URL path is stored as `[redacted]`, with a
    /// Palisade key's public display form (its key id) kept.
    fn redact_text<'a>(&self, field: TextField, text: &'a str) -> Cow<'a, str> {
        let _ = field;
        crate::DefaultRedactor::mask_credentials(text)
    }
}

/// Apply `r` to `event`'s details and free-text fields in place.
pub(crate) fn apply(r: &dyn Redactor, event: &mut AuditEvent) {
    crate::redact_text::apply_text(r, event);
    event.details_mut().retain(|k, v| match r.redact(k, v) {
        Redaction::Keep => true,
        Redaction::Drop => false,
        Redaction::Mask => {
            *v = DetailValue::Str(crate::redact_text::MASK.to_owned());
            true
        }
    });
}

const COMMIT_LABEL: &[u8] = b"palisade-audit commitment v1\x00";

/// A salted SHA-256 commitment to a sensitive value, stored in the record in
/// place of the value: `SHA-256("palisade-audit commitment v1" 0x00 ‖ salt ‖ value)`.
///
/// The record stays verifiable forever; erasing the [`Opening`] (salt and
/// value, kept by the host outside the log) makes the value unrecoverable
/// even when it has little entropy (an email, an IP), which is how a
/// right-to-erasure request is honoured without breaking the Merkle tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment([u8; 32]);

impl Commitment {
    /// Commit to `value` under a fresh random 32-byte salt.
    ///
    /// # Errors
    /// [`AuditError::Random`] when the system RNG fails.
    pub fn commit(value: &[u8]) -> Result<(Self, Opening)> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(|e| AuditError::Random(e.to_string()))?;
        let opening = Opening {
            salt,
            value: value.to_vec(),
        };
        Ok((opening.commitment(), opening))
    }

    /// From the 32 digest bytes (as read from an export).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 digest bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Commitment({})", hex::encode(self.0))
    }
}

/// The secret half of a [`Commitment`]: the salt and the value. Keep it out
/// of the audit log; delete it to erase the value. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    salt: [u8; 32],
    value: Vec<u8>,
}

impl Opening {
    /// Rebuild an opening from a stored salt and value.
    #[must_use]
    pub fn from_parts(salt: [u8; 32], value: &[u8]) -> Self {
        Self {
            salt,
            value: value.to_vec(),
        }
    }

    /// The committed value.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The salt (secret as long as the value should stay hidden).
    #[must_use]
    pub fn salt(&self) -> &[u8; 32] {
        &self.salt
    }

    /// The commitment this opening opens.
    #[must_use]
    pub fn commitment(&self) -> Commitment {
        let mut h = Sha256::new();
        h.update(COMMIT_LABEL);
        h.update(self.salt);
        h.update(&self.value);
        Commitment(h.finalize().into())
    }

    /// True when this opening opens `c` (constant-time comparison).
    #[must_use]
    pub fn opens(&self, c: &Commitment) -> bool {
        self.commitment().0.ct_eq(&c.0).into()
    }
}

impl core::fmt::Debug for Opening {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Opening(<redacted>)")
    }
}
