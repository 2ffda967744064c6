//! Error types: [`ParseError`] (key text, allocation-free), [`ApiKeyError`]
//! (configuration, storage, hashing) and the verification outcomes
//! [`Rejection`] (log-facing) / [`PublicRejection`] (caller-facing).

use crate::format::Env;

/// Why a presented string is not a well-formed key. Copyable and
/// allocation-free so that malformed input is rejected cheaply; messages
/// never echo the presented text (it may be a real key with a typo).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text does not start with the configured `{prefix}_`.
    #[error(
        "the key does not start with the expected type prefix and `_`: check that the whole key was copied"
    )]
    Prefix,
    /// The environment marker after the prefix is not `live_` or `test_`.
    #[error("the key's environment marker must be `live` or `test` followed by `_`")]
    Environment,
    /// The key has the wrong length.
    #[error(
        "the key must be {expected} characters long, found {found}: check for truncation or extra characters"
    )]
    Length {
        /// The length of a well-formed key of the configured prefix.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A character of the body is outside `0-9 A-Z a-z`.
    #[error("the key has a character outside `0-9 A-Z a-z` at byte {position}")]
    Character {
        /// Byte offset of the first bad character.
        position: usize,
    },
    /// The body's format version is not one this crate reads.
    #[error("unknown key format version `{found}`: this verifier reads version `1`")]
    Version {
        /// The version character found.
        found: char,
    },
    /// The CRC32 checksum does not match: a typo or a random string.
    #[error("the key's checksum does not match: the key was mistyped or is not a key")]
    Checksum,
}

/// Errors of configuration, issuing, storage and hashing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// A key's text is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The configured type prefix is not allowed.
    #[error(
        "invalid key prefix `{input}`: use 2-12 characters of `a-z 0-9` starting with a letter"
    )]
    Prefix {
        /// The prefix given (clipped).
        input: String,
    },
    /// A key id is not 16 base62 characters.
    #[error("invalid key id `{input}`: a key id is exactly 16 characters of `0-9 A-Z a-z`")]
    KeyIdSyntax {
        /// The id given (clipped).
        input: String,
    },
    /// A granted scope is not a permission pattern (`*` or `resource:action`).
    #[error(
        "invalid scope `{input}`: use `*` or `resource:action`, each part `*` or 1-64 characters of `A-Z a-z 0-9 _ - .`"
    )]
    ScopeSyntax {
        /// The scope given (clipped).
        input: String,
    },
    /// A CIDR block does not parse.
    #[error(
        "invalid CIDR block `{input}`: use `address/prefix-length` such as `10.0.0.0/8` or `2001:db8::/32`"
    )]
    Cidr {
        /// The block given (clipped).
        input: String,
    },
    /// A pepper is unusable.
    #[error("invalid pepper: {reason}")]
    Pepper {
        /// What to fix.
        reason: &'static str,
    },
    /// A record names a pepper version that the pepper set does not hold.
    #[error(
        "no pepper of version {version} is configured: keep old pepper versions until their keys are rehashed"
    )]
    UnknownPepper {
        /// The missing version.
        version: u32,
    },
    /// Argon2id parameters or hashing failed.
    #[error("argon2id: {reason}")]
    Argon2 {
        /// What failed.
        reason: String,
    },
    /// An imported hash is not usable.
    #[error("cannot import hash: {reason}")]
    Import {
        /// What to fix.
        reason: &'static str,
    },
    /// No record has this key id.
    #[error("no API key with id `{key_id}`")]
    NoSuchKey {
        /// The id looked up.
        key_id: String,
    },
    /// A record with this key id (or import digest) already exists.
    #[error("an API key with id `{key_id}` already exists")]
    DuplicateKey {
        /// The id.
        key_id: String,
    },
    /// The key is revoked, expired or past its grace period, so it cannot be rotated.
    #[error("API key `{key_id}` is no longer active: issue a new key instead of rotating it")]
    Inactive {
        /// The id.
        key_id: String,
    },
    /// A lifetime setting is inconsistent.
    #[error("invalid key lifetime: {reason}")]
    Lifetime {
        /// What to fix.
        reason: &'static str,
    },
    /// A principal id derived from a key id was refused by tenancy.
    #[error(transparent)]
    Principal(#[from] palisade_tenancy::TenancyError),
    /// The operating system's random source failed.
    #[error("the OS random source failed: {0}")]
    Random(getrandom::Error),
    /// A store backend failed.
    #[error("key store: {reason}")]
    Store {
        /// What failed.
        reason: String,
    },
}

/// The detailed, log-facing reason a presented key was refused. Never send
/// it to the remote caller: use [`Rejection::public`], which does not tell
/// "no such key" from "wrong secret".
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Not a well-formed key (rejected before any store lookup).
    #[error("malformed key: {0}")]
    Malformed(ParseError),
    /// The key's environment marker differs from its record's (or the
    /// verifier refuses that environment).
    #[error("key environment `{found}` is not accepted here")]
    WrongEnvironment {
        /// The environment in the presented key.
        found: Env,
    },
    /// No record has the key id (or, for imported keys, the digest).
    #[error("no such key")]
    UnknownKey,
    /// The record exists but the secret does not match its hash.
    #[error("wrong secret for an existing key id")]
    WrongSecret,
    /// The record's hash needs a pepper version that is not configured.
    #[error("the key's pepper version {version} is not configured")]
    UnknownPepper {
        /// The pepper version stored in the record.
        version: u32,
    },
    /// The stored hash cannot be used (e.g. a corrupt PHC string).
    #[error("the stored key hash is unusable")]
    BadStoredHash,
    /// The key was revoked.
    #[error("key revoked")]
    Revoked,
    /// `now` is before the key's not-before time.
    #[error("key not yet valid")]
    NotYetValid,
    /// `now` is at or after the key's expiry.
    #[error("key expired")]
    Expired,
    /// The key was rotated and its grace period has ended.
    #[error("key rotated and its grace period has ended")]
    GraceEnded,
    /// The client IP is missing or outside the key's allow-list.
    #[error("client IP not in the key's allow-list")]
    IpNotAllowed,
    /// The key has no remaining uses.
    #[error("key has no remaining uses")]
    UsesExhausted,
    /// The key lacks the scope the request needs.
    #[error("key lacks the required scope")]
    ScopeMissing,
}

/// What the remote caller may be told about a refused key.
///
/// Every failure before the secret is proven ([`Rejection::Malformed`],
/// [`Rejection::WrongEnvironment`], [`Rejection::UnknownKey`],
/// [`Rejection::WrongSecret`], [`Rejection::UnknownPepper`],
/// [`Rejection::BadStoredHash`]) is [`PublicRejection::InvalidKey`], so a
/// caller cannot probe which key ids exist. Only a caller holding the right
/// secret learns more (that the key is inactive, or refused for its IP,
/// uses or scopes), which helps the key's owner and nobody else.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum PublicRejection {
    /// The key is not valid (malformed, unknown, or wrong secret).
    #[error("invalid API key")]
    InvalidKey,
    /// The key is revoked, expired, not yet valid or rotated out.
    #[error("API key is not active")]
    KeyInactive,
    /// The key may not be used from this address.
    #[error("API key not allowed from this IP address")]
    IpNotAllowed,
    /// The key has no uses left.
    #[error("API key usage limit reached")]
    UsageExhausted,
    /// The key does not grant the permission the request needs.
    #[error("API key lacks the required scope")]
    InsufficientScope,
}

impl PublicRejection {
    /// The HTTP status to answer with: 401 for invalid or inactive keys, 403
    /// for IP and scope refusals, 429 for exhausted uses.
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::InvalidKey | Self::KeyInactive => 401,
            Self::IpNotAllowed | Self::InsufficientScope => 403,
            Self::UsageExhausted => 429,
        }
    }
}

impl Rejection {
    /// The caller-facing form (see [`PublicRejection`]).
    #[must_use]
    pub const fn public(&self) -> PublicRejection {
        match self {
            Self::Malformed(_)
            | Self::WrongEnvironment { .. }
            | Self::UnknownKey
            | Self::WrongSecret
            | Self::UnknownPepper { .. }
            | Self::BadStoredHash => PublicRejection::InvalidKey,
            Self::Revoked | Self::NotYetValid | Self::Expired | Self::GraceEnded => {
                PublicRejection::KeyInactive
            }
            Self::IpNotAllowed => PublicRejection::IpNotAllowed,
            Self::UsesExhausted => PublicRejection::UsageExhausted,
            Self::ScopeMissing => PublicRejection::InsufficientScope,
        }
    }
}

/// Clip user input for an error message (char-boundary safe).
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or_default())
}
