//! Server-side peppers: versioned HMAC-SHA256 keys held outside the
//! database, pre-keyed once so each verification only clones a state.

use hmac::{Hmac, KeyInit};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::error::ApiKeyError;

/// Shortest accepted pepper, in bytes (the HMAC-SHA256 output size).
pub const MIN_PEPPER_LEN: usize = 32;
/// Longest accepted pepper, in bytes (one SHA-256 block: longer keys would be hashed first).
pub const MAX_PEPPER_LEN: usize = 64;

/// One version of the server-side pepper: the HMAC key under which key
/// secrets are hashed. Keep it outside the database (a secrets manager or
/// KMS-unwrapped file), so a dump of the key records alone cannot be used
/// to test guesses. `Debug` shows only the version.
pub struct Pepper {
    version: u32,
    secret: SecretSlice<u8>,
}

impl Pepper {
    /// A pepper of `version` from 32–64 secret bytes.
    ///
    /// # Errors
    /// [`ApiKeyError::Pepper`] when the length is outside 32–64 bytes.
    pub fn new(version: u32, secret: SecretSlice<u8>) -> Result<Self, ApiKeyError> {
        let len = secret.expose_secret().len();
        if !(MIN_PEPPER_LEN..=MAX_PEPPER_LEN).contains(&len) {
            return Err(ApiKeyError::Pepper {
                reason: "a pepper must be 32 to 64 random bytes",
            });
        }
        Ok(Self { version, secret })
    }

    /// A fresh random 32-byte pepper of `version`.
    ///
    /// # Errors
    /// [`ApiKeyError::Random`] when the OS random source fails.
    pub fn generate(version: u32) -> Result<Self, ApiKeyError> {
        let mut b = vec![0u8; MIN_PEPPER_LEN];
        getrandom::fill(&mut b).map_err(ApiKeyError::Random)?;
        Ok(Self {
            version,
            secret: SecretSlice::from(b),
        })
    }

    /// The version stored in records hashed under this pepper.
    #[must_use]
    pub const fn version(&self) -> u32 {
        self.version
    }
}

impl core::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Pepper(v{}, <redacted>)", self.version)
    }
}

/// A pre-keyed HMAC state: the key is absorbed once; each use clones it.
/// With `hmac`'s `zeroize` feature the state is wiped when dropped.
struct Keyed {
    version: u32,
    mac: Hmac<Sha256>,
    /// Pre-keyed with the derived record-MAC key (record format v2).
    record_mac: Hmac<Sha256>,
}

/// All pepper versions a service still accepts. New keys (and rehashes)
/// use the highest version; older versions keep verifying until their keys
/// are rehashed (see `docs/apikey-format.md`, "Pepper rotation").
pub struct PepperSet {
    keyed: Vec<Keyed>,
    current: usize,
}

impl PepperSet {
    /// A set from one or more peppers.
    ///
    /// # Errors
    /// [`ApiKeyError::Pepper`] when `peppers` is empty or two share a version.
    pub fn new(peppers: impl IntoIterator<Item = Pepper>) -> Result<Self, ApiKeyError> {
        let mut keyed: Vec<Keyed> = Vec::new();
        for p in peppers {
            if keyed.iter().any(|k| k.version == p.version) {
                return Err(ApiKeyError::Pepper {
                    reason: "two peppers share a version number",
                });
            }
            let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(p.secret.expose_secret()).map_err(
                |_| ApiKeyError::Pepper {
                    reason: "the HMAC key was refused",
                },
            )?;
            let record_mac = derive_record_mac(&mac)?;
            keyed.push(Keyed {
                version: p.version,
                mac,
                record_mac,
            });
        }
        let current = keyed
            .iter()
            .enumerate()
            .max_by_key(|(_, k)| k.version)
            .map(|(i, _)| i)
            .ok_or(ApiKeyError::Pepper {
                reason: "configure at least one pepper",
            })?;
        Ok(Self { keyed, current })
    }

    /// The version new keys are hashed under (the highest configured).
    #[must_use]
    pub fn current_version(&self) -> u32 {
        self.keyed.get(self.current).map_or(0, |k| k.version)
    }

    /// A clone of the pre-keyed record-MAC state of `version`.
    pub(crate) fn record_mac(&self, version: u32) -> Option<Hmac<Sha256>> {
        self.keyed
            .iter()
            .find(|k| k.version == version)
            .map(|k| k.record_mac.clone())
    }

    /// A clone of the pre-keyed HMAC state of `version`.
    pub(crate) fn mac(&self, version: u32) -> Option<Hmac<Sha256>> {
        self.keyed
            .iter()
            .find(|k| k.version == version)
            .map(|k| k.mac.clone())
    }
}

/// The record-MAC key of a pepper, by HKDF-Expand (RFC 5869 §2.3) with the
/// pepper as PRK (it is uniformly random and at least 32 bytes), `info` =
/// [`crate::seal::RECORD_KEY_INFO`] and L = 32: one block,
/// `HMAC-SHA256(pepper, info ‖ 0x01)`. Separate from the secret-hash key,
/// so neither MAC can stand in for the other.
fn derive_record_mac(pepper_mac: &Hmac<Sha256>) -> Result<Hmac<Sha256>, ApiKeyError> {
    use hmac::Mac;
    let mut m = pepper_mac.clone();
    m.update(crate::seal::RECORD_KEY_INFO);
    m.update(&[1]);
    let key = zeroize::Zeroizing::new(<[u8; 32]>::from(m.finalize().into_bytes()));
    <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_slice()).map_err(|_| ApiKeyError::Pepper {
        reason: "the HMAC key was refused",
    })
}

impl core::fmt::Debug for PepperSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let versions: Vec<u32> = self.keyed.iter().map(|k| k.version).collect();
        write!(
            f,
            "PepperSet(versions {versions:?}, current v{}, <redacted>)",
            self.current_version()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;

    /// Wycheproof HMAC-SHA256 known answers through the pre-keyed,
    /// cloned-state path that verification uses.
    #[test]
    fn wycheproof_hmac_sha256_known_answers() {
        let json = include_str!("../tests/data/wycheproof_hmac_sha256_k256_t256.json");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let tests = v["testGroups"][0]["tests"].as_array().unwrap();
        let (mut valid, mut invalid) = (0, 0);
        for t in tests {
            let key = hex::decode(t["key"].as_str().unwrap()).unwrap();
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let tag = hex::decode(t["tag"].as_str().unwrap()).unwrap();
            let set = PepperSet::new([Pepper::new(9, SecretSlice::from(key)).unwrap()]).unwrap();
            // Twice from the same pre-keyed state: cloning must not leak state.
            for _ in 0..2 {
                let mut m = set.mac(9).unwrap();
                m.update(&msg);
                let ok = m.verify_slice(&tag).is_ok();
                match t["result"].as_str().unwrap() {
                    "valid" => assert!(ok, "tcId {}", t["tcId"]),
                    _ => assert!(!ok, "tcId {}", t["tcId"]),
                }
            }
            if t["result"] == "valid" {
                valid += 1
            } else {
                invalid += 1
            }
        }
        assert_eq!((valid, invalid), (27, 54));
    }

    #[test]
    fn pepper_rules() {
        assert!(matches!(
            Pepper::new(1, SecretSlice::from(vec![0u8; 31])),
            Err(ApiKeyError::Pepper { .. })
        ));
        assert!(matches!(
            Pepper::new(1, SecretSlice::from(vec![0u8; 65])),
            Err(ApiKeyError::Pepper { .. })
        ));
        assert!(matches!(
            PepperSet::new([]),
            Err(ApiKeyError::Pepper { .. })
        ));
        let dup = PepperSet::new([Pepper::generate(1).unwrap(), Pepper::generate(1).unwrap()]);
        assert!(matches!(dup, Err(ApiKeyError::Pepper { .. })));
        let set = PepperSet::new([
            Pepper::generate(2).unwrap(),
            Pepper::generate(5).unwrap(),
            Pepper::generate(3).unwrap(),
        ])
        .unwrap();
        assert_eq!(set.current_version(), 5);
        assert!(set.mac(4).is_none());
        let dbg = format!(
            "{set:?} {:?}",
            Pepper::new(7, SecretSlice::from(vec![0xAB; 32])).unwrap()
        );
        assert!(
            dbg.contains("redacted")
                && !dbg.contains("171")
                && !dbg.to_lowercase().contains("abab")
        );
    }
}
