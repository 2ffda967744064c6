//! The crate's one error type.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = EnvelopeError> = core::result::Result<T, E>;

/// Why a ciphertext failed to open, for logs only.
///
/// Callers see one collapsed [`EnvelopeError::DecryptionFailed`] so that the
/// error cannot be used as an oracle; [`EnvelopeError::failure_detail`] gives
/// this reason to log-facing code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptFailure {
    /// The key provider could not unwrap the data key under this context.
    Unwrap,
    /// The key commitment did not match: another data key, nonce or context.
    Commitment,
    /// The AES-GCM tag did not verify.
    Tag,
    /// A stream ended before its final segment, or a segment was cut short.
    Truncated,
}

impl fmt::Display for DecryptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unwrap => "the data key did not unwrap under this context",
            Self::Commitment => "the key commitment did not match",
            Self::Tag => "the authentication tag did not verify",
            Self::Truncated => "the stream ended before its final segment",
        })
    }
}

/// Everything that can go wrong in this crate.
///
/// `Debug` is as opaque as `Display` (it prints the variant's message, never
/// the collapsed reason of [`EnvelopeError::DecryptionFailed`]); the detail
/// is only on [`EnvelopeError::failure_detail`].
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The ciphertext starts with a format version this build does not know.
    #[error("unsupported envelope version `{found}`: this build reads version 1")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The ciphertext names an algorithm suite this build does not know.
    #[error(
        "unsupported algorithm suite `{found}`: this build reads suite 1 (AES-256-GCM, HKDF-SHA-256, committed)"
    )]
    UnsupportedSuite {
        /// The suite byte found.
        found: u8,
    },
    /// The ciphertext's mode byte is unknown, or the wrong API was used for it
    /// (a stream given to `open`, a single-shot ciphertext to a stream reader).
    #[error(
        "unexpected envelope mode `{found}`: use `open` for mode 1 and the stream API for mode 2"
    )]
    WrongMode {
        /// The mode byte found.
        found: u8,
    },
    /// The ciphertext ended inside its header or before the tag.
    #[error("ciphertext is truncated: `{field}` needs more bytes than remain")]
    Truncated {
        /// The field that could not be read.
        field: &'static str,
    },
    /// A length or value field of the header is out of its allowed range.
    #[error("invalid header field `{field}`: {reason}")]
    InvalidHeader {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes remain after a complete structure.
    #[error("unexpected trailing bytes after the `{what}`: remove them")]
    TrailingBytes {
        /// What was complete.
        what: &'static str,
    },
    /// An encryption-context key is empty, too long or uses other characters
    /// than `a-z`, `0-9`, `_`, `-`, `.`, `:`.
    #[error("invalid encryption context key `{key}`: use 1-64 of a-z 0-9 _ - . :")]
    InvalidContextKey {
        /// The offending key (clipped).
        key: String,
    },
    /// An encryption-context value or field count is over its limit.
    #[error("encryption context too large: {reason}")]
    ContextTooLarge {
        /// Which limit was exceeded.
        reason: &'static str,
    },
    /// The context was built for another scope than the handle that used it.
    #[error(
        "encryption context is for scope `{found}`, but this handle is bound to `{expected}`: build the context with the handle's `context()`"
    )]
    ScopeMismatch {
        /// The handle's scope.
        expected: String,
        /// The context's scope.
        found: String,
    },
    /// A key-encryption-key id is empty, too long, or has characters outside
    /// `A-Za-z0-9._-`.
    #[error("invalid key-encryption key id `{id}`: use 1-64 of A-Z a-z 0-9 . _ -")]
    InvalidKekId {
        /// The offending id (clipped).
        id: String,
    },
    /// The provider does not hold this KEK version.
    #[error("unknown key-encryption key `{kek}` version `{version}`: load it into the keyring")]
    UnknownKek {
        /// KEK id.
        kek: String,
        /// KEK version.
        version: u32,
    },
    /// The KEK version is older than the keyring's `min_decryption_version`.
    #[error(
        "key-encryption key `{kek}` version `{version}` is retired (minimum decryption version is `{min}`): rewrap the ciphertext before retiring its version"
    )]
    KeyVersionRetired {
        /// KEK id.
        kek: String,
        /// The ciphertext's version.
        version: u32,
        /// The keyring's minimum decryption version.
        min: u32,
    },
    /// The keyring has no primary KEK for new writes.
    #[error("the keyring has no primary key-encryption key: add a `primary` line")]
    NoPrimaryKek,
    /// A keyring file or variable is malformed.
    #[error("keyring line {line}: {reason}")]
    KeyringSyntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The keyring environment variable is unset or not UTF-8.
    #[error("environment variable `{var}` is unset or not UTF-8: set it to the keyring text")]
    KeyringEnv {
        /// Variable name.
        var: String,
    },
    /// Decryption failed (wrong key, context, or tampered bytes). Collapsed on
    /// purpose; see [`EnvelopeError::failure_detail`].
    #[error("decryption failed: the ciphertext, its key or its encryption context does not match")]
    DecryptionFailed(DecryptFailure),
    /// `open_secret` decrypted something that is not UTF-8.
    #[error("decrypted secret is not UTF-8: use `open` for binary secrets")]
    SecretNotUtf8,
    /// A plaintext or stream is longer than the format allows.
    #[error("plaintext too long: {reason}")]
    TooLong {
        /// Which limit.
        reason: &'static str,
    },
    /// A stream sealer was used after its final segment.
    #[error("stream already finished: start a new stream")]
    StreamFinished,
    /// The operating system's random number generator failed.
    #[error("system random number generator failed: {0}")]
    Random(getrandom::Error),
    /// A remote key provider failed.
    #[error("key provider failed: {0}")]
    Provider(String),
    /// Reading or writing a stream or keyring file failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl fmt::Debug for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The Display text, which for `DecryptionFailed` is the collapsed
        // message: a derived Debug would print `DecryptionFailed(Tag)`, the
        // very oracle the collapse exists to prevent.
        write!(f, "EnvelopeError(\"{self}\")")
    }
}

impl EnvelopeError {
    /// The detailed reason behind [`EnvelopeError::DecryptionFailed`], for
    /// logs only (never return it to an untrusted caller).
    #[must_use]
    pub fn failure_detail(&self) -> Option<DecryptFailure> {
        match self {
            Self::DecryptionFailed(d) => Some(*d),
            _ => None,
        }
    }

    pub(crate) fn io(self) -> std::io::Error {
        match self {
            Self::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

/// Clip untrusted text for error messages.
pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
