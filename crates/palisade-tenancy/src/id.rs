//! Typed 128-bit ids with a readable type prefix (`ten_…`, `prj_…`).
//!
//! The text form follows the TypeID convention: `{prefix}_{26 chars}`, the
//! 26 characters being the UUID's 128 bits in lowercase Crockford base32,
//! most significant bits first (the first character carries 3 bits, so it is
//! `0`–`7`). See `docs/tenancy.md`.

use crate::error::{Result, TenancyError, clip};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Length of the base32 body of an id.
pub(crate) const BODY_LEN: usize = 26;

/// Decode table: byte → 5-bit value, or 0xff when the byte is not in the alphabet.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: a bad index fails the build"
)]
const DECODE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 32 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Encode 128 bits as 26 base32 characters (ASCII).
pub(crate) fn encode_u128(v: u128) -> [u8; BODY_LEN] {
    let mut out = [0u8; BODY_LEN];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (BODY_LEN - 1 - i);
        let digit = ((v >> shift) & 0x1f) as usize;
        *slot = ALPHABET.get(digit).copied().unwrap_or(b'0');
    }
    out
}

/// Encode arbitrary bytes as lowercase base32 without padding (5 bits a
/// character, most significant first); the last character is zero-padded.
pub(crate) fn encode_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let d = ((acc >> bits) & 0x1f) as usize;
            out.push(char::from(ALPHABET.get(d).copied().unwrap_or(b'0')));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        let d = ((acc << (5 - bits)) & 0x1f) as usize;
        out.push(char::from(ALPHABET.get(d).copied().unwrap_or(b'0')));
    }
    out
}

/// True when every byte is in the base32 alphabet.
pub(crate) fn is_base32(s: &str) -> bool {
    s.bytes()
        .all(|b| DECODE.get(usize::from(b)).is_some_and(|&d| d != 0xff))
}

/// Parse `{prefix}_{26 chars}` into 128 bits.
pub(crate) fn parse_prefixed(kind: &'static str, prefix: &'static str, s: &str) -> Result<u128> {
    let Some((found, body)) = s.split_once('_') else {
        return Err(TenancyError::IdPrefix {
            kind,
            expected: prefix,
            found: clip(s, 16),
        });
    };
    if found != prefix {
        return Err(TenancyError::IdPrefix {
            kind,
            expected: prefix,
            found: clip(found, 16),
        });
    }
    decode_body(kind, body, prefix.len() + 1)
}

fn decode_body(kind: &'static str, body: &str, offset: usize) -> Result<u128> {
    if body.len() != BODY_LEN {
        return Err(TenancyError::IdLength {
            kind,
            found: body.chars().count(),
        });
    }
    let mut v: u128 = 0;
    for (i, b) in body.bytes().enumerate() {
        let d = DECODE.get(usize::from(b)).copied().unwrap_or(0xff);
        if d == 0xff {
            let found = body.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            return Err(TenancyError::IdCharacter {
                kind,
                found,
                position: offset + i,
            });
        }
        if i == 0 && d > 7 {
            return Err(TenancyError::IdOverflow { kind });
        }
        v = (v << 5) | u128::from(d);
    }
    Ok(v)
}

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// The text prefix of this id type (before the `_`).
            pub const PREFIX: &'static str = $prefix;

            /// A new random id: a UUIDv7 (time-ordered, 74 random bits), so ids
            /// sort by creation time in databases and logs.
            #[must_use]
            pub fn new_v7() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// A new fully random id (UUIDv4, 122 random bits), for when the
            /// creation time must not be readable from the id.
            #[must_use]
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// Wrap an existing UUID (e.g. one read from a database column).
            #[must_use]
            pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }

            /// Build from the 16 big-endian bytes of the UUID.
            #[must_use]
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Uuid::from_bytes(bytes))
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }

            /// The 16 big-endian bytes of the UUID.
            #[must_use]
            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let body = $crate::id::encode_u128(self.0.as_u128());
                f.write_str($prefix)?;
                f.write_str("_")?;
                // The body is ASCII by construction.
                f.write_str(core::str::from_utf8(&body).map_err(|_| core::fmt::Error)?)
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(self, f)
            }
        }

        impl core::str::FromStr for $name {
            type Err = $crate::TenancyError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::id::parse_prefixed($kind, $prefix, s)
                    .map(|v| Self(uuid::Uuid::from_u128(v)))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        write!(f, "a {} id string `{}_…`", $kind, $prefix)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

define_id!(
    /// A tenant: the customer organisation (workspace, account) whose data
    /// must never be visible to any other tenant. Text form `ten_…`.
    ///
    /// ```
    /// use palisade_tenancy::TenantId;
    /// let t = TenantId::new_v7();
    /// let again: TenantId = t.to_string().parse()?;
    /// assert_eq!(t, again);
    /// assert!(t.to_string().starts_with("ten_"));
    /// # Ok::<(), palisade_tenancy::TenancyError>(())
    /// ```
    TenantId,
    "tenant",
    "ten"
);

define_id!(
    /// A project inside a tenant (an environment, a workspace, an app).
    /// Text form `prj_…`. A `ProjectId` on its own does not say which tenant
    /// owns it: always carry it in a [`Scope`](crate::Scope).
    ProjectId,
    "project",
    "prj"
);
