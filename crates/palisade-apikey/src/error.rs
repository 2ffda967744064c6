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
    /// A key id is not 16 base62 characters. The input is never echoed
    /// (a whole key passed where an id is expected would leak its secret).
    #[error("invalid key id ({len} bytes): a key id is exactly 16 characters of `0-9 A-Z a-z`")]
    KeyIdSyntax {
        /// The length of the text given, in bytes.
        len: usize,
    },
    /// A granted scope is not a permission pattern (`*` or `resource:action`).
    #[error(
        "invalid scope `{input}`: use `*` or `resource:action`, each part `*` or 1 or more characters of `a-z 0-9 _ - .` (lowercase), at most 64 bytes in all"
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
    /// A store backend failed (unavailable, timed out, conflicting write,
    /// corrupt row, or a pending future on a synchronous method).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key was already rotated (it is in its grace period or has a
    /// successor): a key has at most one successor.
    #[error("API key `{key_id}` was already rotated: rotate its successor instead")]
    AlreadyRotated {
        /// The id.
        key_id: String,
    },
    /// Keys may not act for staff principals: staff use break-glass grants.
    #[error(
        "an API key may not be owned by the staff principal `{owner}`: staff act through break-glass grants"
    )]
    StaffOwner {
        /// The refused owner.
        owner: String,
    },
    /// A duration is outside the accepted range.
    #[error("invalid duration: {reason}")]
    Duration {
        /// What to fix.
        reason: &'static str,
    },
    /// A stored record's MAC does not verify (tampered, or sealed under a
    /// pepper that is not configured): an admin operation refuses to build
    /// on it.
    #[error("the stored record of API key `{key_id}` does not authenticate: {reason}")]
    RecordNotAuthentic {
        /// The id.
        key_id: String,
        /// Why (never record content).
        reason: &'static str,
    },
}

/// The coarse kind of a [`StoreError`], small and `Copy` so it can ride in
/// a [`Rejection`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The backend cannot be reached or refused the operation.
    Unavailable,
    /// The backend did not answer in time.
    Timeout,
    /// A concurrent or out-of-order write was refused.
    Conflict,
    /// A stored row cannot be decoded.
    Corrupt,
    /// The operation would have to wait (a synchronous method met a
    /// pending store future): use the `_async` method.
    WouldBlock,
}

impl core::fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "unavailable",
            Self::Timeout => "timed out",
            Self::Conflict => "conflict",
            Self::Corrupt => "corrupt record",
            Self::WouldBlock => "would block",
        })
    }
}

/// A key-store backend failure. Never carries a credential or row content.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached or refused the operation.
    #[error("key store unavailable: {reason}")]
    Unavailable {
        /// What failed (no credentials, no row content).
        reason: String,
    },
    /// The backend did not answer in time.
    #[error("key store timed out")]
    Timeout,
    /// A write lost a race or would lower a generation.
    #[error("key store refused the write to `{key_id}`: {reason}")]
    Conflict {
        /// The key id written.
        key_id: String,
        /// Why.
        reason: &'static str,
    },
    /// A stored row cannot be decoded.
    #[error("key store row for `{key_id}` is corrupt: {reason}")]
    Corrupt {
        /// The key id read.
        key_id: String,
        /// What is wrong (no row content).
        reason: String,
    },
    /// A synchronous `ApiKeys` method met a store future that is not
    /// ready (a remote store): call the `_async` twin instead.
    #[error("the key store must be awaited here: call the `_async` method")]
    WouldBlock,
}

impl StoreError {
    /// The coarse kind.
    #[must_use]
    pub const fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Unavailable { .. } => StoreErrorKind::Unavailable,
            Self::Timeout => StoreErrorKind::Timeout,
            Self::Conflict { .. } => StoreErrorKind::Conflict,
            Self::Corrupt { .. } => StoreErrorKind::Corrupt,
            Self::WouldBlock => StoreErrorKind::WouldBlock,
        }
    }
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
    /// The key store could not answer (down, timed out, or a synchronous
    /// verify met a store that must be awaited): fail closed, answer 503,
    /// never "no such key".
    #[error("key store {kind}: the key could not be checked")]
    StoreUnavailable {
        /// What went wrong.
        kind: StoreErrorKind,
    },
    /// The stored record's MAC does not verify: a field was changed outside
    /// `ApiKeys` (a database write), or it was sealed under a pepper that is
    /// not configured.
    #[error("the stored key record does not authenticate (record MAC mismatch)")]
    RecordTampered,
    /// The stored record carries no MAC (a version 1 record) and legacy
    /// records are not accepted (see `ApiKeys::accept_legacy_records`).
    #[error("the stored key record is unsealed (record version 1)")]
    RecordUnsealed,
    /// The key's owner is a staff principal: staff act through break-glass
    /// grants, never through API keys.
    #[error("key owned by a staff principal")]
    StaffOwned,
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
    /// The key could not be checked now (the key store is unavailable).
    #[error("API key could not be checked, try again later")]
    Unavailable,
}

impl PublicRejection {
    /// The HTTP status to answer with: 401 for invalid or inactive keys, 403
    /// for IP and scope refusals, 429 for exhausted uses, 503 when the key
    /// store is unavailable.
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::InvalidKey | Self::KeyInactive => 401,
            Self::IpNotAllowed | Self::InsufficientScope => 403,
            Self::UsageExhausted => 429,
            Self::Unavailable => 503,
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
            | Self::BadStoredHash
            | Self::RecordTampered
            | Self::RecordUnsealed
            | Self::StaffOwned => PublicRejection::InvalidKey,
            Self::Revoked | Self::NotYetValid | Self::Expired | Self::GraceEnded => {
                PublicRejection::KeyInactive
            }
            Self::IpNotAllowed => PublicRejection::IpNotAllowed,
            Self::UsesExhausted => PublicRejection::UsageExhausted,
            Self::ScopeMissing => PublicRejection::InsufficientScope,
            Self::StoreUnavailable { .. } => PublicRejection::Unavailable,
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
