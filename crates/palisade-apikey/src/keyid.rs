//! Public key ids: 16 base62 characters, unique per store, safe to log.

use crate::base62;
use crate::error::ApiKeyError;

/// Length of a key id in characters.
pub const KEY_ID_LEN: usize = 16;

/// The public id of an API key: 16 base62 characters (≈ 95 random bits),
/// carried in the key's body so the record is found in O(1) without hashing.
///
/// It is not secret: it appears in [`crate::KeyRecord`]s, logs, the display
/// form of a key and the key's [`palisade_tenancy::Principal`] (`key:{id}`),
/// whose id charset it fits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// A fresh random key id from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`ApiKeyError::Random`] when the OS random source fails.
    pub fn random() -> Result<Self, ApiKeyError> {
        let mut b = [0u8; KEY_ID_LEN];
        base62::fill_random(b.iter_mut()).map_err(ApiKeyError::Random)?;
        Ok(Self(b))
    }

    /// Build from 16 bytes already checked to be base62.
    pub(crate) fn from_checked(b: [u8; KEY_ID_LEN]) -> Self {
        Self(b)
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Always ASCII base62 by construction.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The id's ASCII bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

impl core::str::FromStr for KeyId {
    type Err = ApiKeyError;

    fn from_str(s: &str) -> Result<Self, ApiKeyError> {
        // The input is never echoed: it may be a whole key, secret included.
        let bad = || ApiKeyError::KeyIdSyntax { len: s.len() };
        let bytes: [u8; KEY_ID_LEN] = s.as_bytes().try_into().map_err(|_| bad())?;
        if !bytes.iter().all(|&b| base62::is_digit(b)) {
            return Err(bad());
        }
        Ok(Self(bytes))
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyId({})", self.as_str())
    }
}

impl serde::Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = KeyId;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a key id of 16 base62 characters")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyId, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_back_and_fit_principal_ids() {
        let id = KeyId::random().unwrap();
        assert_eq!(id.as_str().parse::<KeyId>().unwrap(), id);
        assert!(palisade_tenancy::Principal::api_key(id.as_str()).is_ok());
        assert_ne!(id, KeyId::random().unwrap());
    }

    #[test]
    fn bad_ids_are_rejected() {
        assert!(matches!(
            "short".parse::<KeyId>(),
            Err(ApiKeyError::KeyIdSyntax { .. })
        ));
        assert!("0123456789abcde_".parse::<KeyId>().is_err());
        assert!("0123456789abcdef0".parse::<KeyId>().is_err());
        assert!("0123456789abcdef".parse::<KeyId>().is_ok());
    }
}
