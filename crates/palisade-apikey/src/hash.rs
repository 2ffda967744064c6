//! Stored key hashes: peppered HMAC-SHA256 (default), Argon2id (PHC
//! string) and imported plain SHA-256 digests; constant-time comparison.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use hmac::Mac;
use palisade_tenancy::Scope;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiKeyError;
use crate::format::SECRET_LEN;
use crate::keyid::{KEY_ID_LEN, KeyId};
use crate::pepper::PepperSet;

/// Domain-separation label that opens every hashed message (format v1).
pub const HASH_LABEL: &[u8; 19] = b"palisade-apikey/v1\0";
const MSG_MAX: usize =
    HASH_LABEL.len() + palisade_tenancy::ScopeBytes::MAX_LEN + KEY_ID_LEN + SECRET_LEN;

/// The hashed message: label ‖ scope context bytes ‖ key id ‖ secret. It
/// binds the record's tenant scope and key id, so a hash copied onto
/// another record (another tenant's) never verifies. It borrows its parts:
/// HMAC absorbs them one by one with no copy; Argon2id gets them joined in
/// a zeroized stack buffer.
pub(crate) struct Message<'a> {
    scope: palisade_tenancy::ScopeBytes,
    id: &'a KeyId,
    secret: &'a [u8; SECRET_LEN],
}

impl<'a> Message<'a> {
    pub(crate) fn new(scope: &Scope, id: &'a KeyId, secret: &'a [u8; SECRET_LEN]) -> Self {
        Self {
            scope: scope.to_context_bytes(),
            id,
            secret,
        }
    }

    fn parts(&self) -> [&[u8]; 4] {
        [
            HASH_LABEL.as_slice(),
            self.scope.as_slice(),
            self.id.as_bytes(),
            self.secret,
        ]
    }

    /// The parts joined, for hashes that need one buffer (Argon2id, tests).
    pub(crate) fn joined(&self) -> Joined {
        let mut buf = zeroize::Zeroizing::new([0u8; MSG_MAX]);
        let mut len = 0;
        for part in self.parts() {
            if let Some(dst) = buf.get_mut(len..len + part.len()) {
                dst.copy_from_slice(part);
                len += part.len();
            }
        }
        Joined { buf, len }
    }
}

/// A joined message on the stack, wiped on drop.
pub(crate) struct Joined {
    buf: zeroize::Zeroizing<[u8; MSG_MAX]>,
    len: usize,
}

impl Joined {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// Argon2id cost parameters. The default is OWASP's recommendation for
/// password storage (19 MiB, 2 passes, 1 lane).
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl Argon2Params {
    fn build(&self) -> Result<Argon2<'static>, ApiKeyError> {
        let p = argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32)).map_err(
            |e| ApiKeyError::Argon2 {
                reason: format!("invalid parameters: {e}"),
            },
        )?;
        Ok(Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            p,
        ))
    }
}

/// How a key's secret is stored. Not secret itself, but `Debug` prints only
/// the algorithm and pepper version.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "alg", rename_all = "snake_case")]
pub enum KeyHash {
    /// HMAC-SHA256 under pepper `pepper_version` of the v1 message
    /// (label ‖ scope ‖ key id ‖ secret). The default.
    HmacSha256 {
        /// Which pepper the MAC was made with.
        pepper_version: u32,
        /// The 32-byte MAC (hex in serde).
        #[serde(with = "hex_32")]
        mac: [u8; 32],
    },
    /// Argon2id PHC string of the v1 message (no pepper).
    Argon2id {
        /// `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
        phc: String,
    },
    /// SHA-256 of the whole presented key text, imported from another
    /// system (e.g. Unkey). Found by digest, since such keys carry no key id.
    Sha256Import {
        /// The 32-byte digest (hex in serde).
        #[serde(with = "hex_32")]
        digest: [u8; 32],
    },
    /// Argon2id PHC string of the whole presented key text, for imported
    /// (possibly low-entropy) keys of another format. Such keys carry no key
    /// id, so they are verified through `ApiKeys::verify_with_id`.
    Argon2idImport {
        /// `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
        phc: String,
    },
}

impl core::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::HmacSha256 { pepper_version, .. } => {
                write!(f, "HmacSha256(pepper v{pepper_version})")
            }
            Self::Argon2id { .. } => f.write_str("Argon2id(..)"),
            Self::Sha256Import { .. } => f.write_str("Sha256Import(..)"),
            Self::Argon2idImport { .. } => f.write_str("Argon2idImport(..)"),
        }
    }
}

/// Outcome of checking a secret against a stored hash.
pub(crate) enum HashCheck {
    Match,
    Mismatch,
    UnknownPepper(u32),
    Unusable,
}

impl KeyHash {
    /// HMAC-SHA256 of `msg` under the current pepper.
    pub(crate) fn hmac(peppers: &PepperSet, msg: &Message<'_>) -> Result<Self, ApiKeyError> {
        let version = peppers.current_version();
        let mac = hmac_of(peppers, version, msg).ok_or(ApiKeyError::UnknownPepper { version })?;
        Ok(Self::HmacSha256 {
            pepper_version: version,
            mac,
        })
    }

    /// Argon2id of `msg` with a fresh 16-byte salt.
    pub(crate) fn argon2id(params: &Argon2Params, msg: &Message<'_>) -> Result<Self, ApiKeyError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(ApiKeyError::Random)?;
        let h = params
            .build()?
            .hash_password_with_salt(msg.joined().as_bytes(), &salt)
            .map_err(|e| ApiKeyError::Argon2 {
                reason: e.to_string(),
            })?;
        Ok(Self::Argon2id { phc: h.to_string() })
    }

    /// Argon2id of a whole foreign key text, for importing a low-entropy key.
    pub(crate) fn argon2id_of_text(params: &Argon2Params, text: &str) -> Result<Self, ApiKeyError> {
        #[cfg(test)]
        work::count(work::ARGON2);
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(ApiKeyError::Random)?;
        let h = params
            .build()?
            .hash_password_with_salt(text.as_bytes(), &salt)
            .map_err(|e| ApiKeyError::Argon2 {
                reason: e.to_string(),
            })?;
        Ok(Self::Argon2idImport { phc: h.to_string() })
    }

    /// Import an Argon2id PHC string made elsewhere over the whole key text.
    ///
    /// # Errors
    /// [`ApiKeyError::Import`] when `phc` is not an Argon2id PHC string.
    pub fn argon2id_import(phc: &str) -> Result<Self, ApiKeyError> {
        let parsed = argon2::PasswordHash::new(phc).map_err(|_| ApiKeyError::Import {
            reason: "expected a PHC string `$argon2id$v=19$m=…,t=…,p=…$salt$hash`",
        })?;
        if parsed.algorithm.as_str() != "argon2id" || parsed.hash.is_none() {
            return Err(ApiKeyError::Import {
                reason: "only Argon2id PHC strings with a hash can be imported",
            });
        }
        Ok(Self::Argon2idImport {
            phc: phc.to_owned(),
        })
    }

    /// Import a SHA-256 digest given as 64 hex characters or 44 characters
    /// of padded standard base64 (Unkey's stored form).
    ///
    /// # Errors
    /// [`ApiKeyError::Import`] when the text is neither.
    pub fn sha256_import(encoded: &str) -> Result<Self, ApiKeyError> {
        let mut digest = [0u8; 32];
        let ok = match encoded.len() {
            64 => hex::decode_to_slice(encoded, &mut digest).is_ok(),
            44 => {
                use base64ct::Encoding;
                base64ct::Base64::decode(encoded, &mut digest).is_ok_and(|d| d.len() == 32)
            }
            _ => false,
        };
        if !ok {
            return Err(ApiKeyError::Import {
                reason: "expected a SHA-256 digest as 64 hex characters or 44 characters of base64",
            });
        }
        Ok(Self::Sha256Import { digest })
    }

    /// The pepper version, for HMAC hashes.
    #[must_use]
    pub fn pepper_version(&self) -> Option<u32> {
        match self {
            Self::HmacSha256 { pepper_version, .. } => Some(*pepper_version),
            _ => None,
        }
    }

    /// Check a parsed key's message (HMAC or Argon2id records).
    pub(crate) fn check(&self, peppers: &PepperSet, msg: &Message<'_>) -> HashCheck {
        match self {
            Self::HmacSha256 {
                pepper_version,
                mac,
            } => match hmac_of(peppers, *pepper_version, msg) {
                Some(m) if bool::from(m.ct_eq(mac)) => HashCheck::Match,
                Some(_) => HashCheck::Mismatch,
                None => {
                    // The pepper was removed: spend the HMAC a present one
                    // costs, so timing does not tell such ids exist.
                    core::hint::black_box(hmac_of(peppers, peppers.current_version(), msg));
                    HashCheck::UnknownPepper(*pepper_version)
                }
            },
            Self::Argon2id { phc } => argon2_check(phc, msg.joined().as_bytes()),
            // An imported hash covers a foreign key's whole text: a
            // Palisade-format key must never verify against one. The HMAC
            // an HMAC record or an unknown id would cost is still spent, so
            // the refusal takes the same time.
            Self::Sha256Import { .. } | Self::Argon2idImport { .. } => {
                core::hint::black_box(hmac_of(peppers, peppers.current_version(), msg));
                HashCheck::Mismatch
            }
        }
    }

    /// Check a foreign key's whole text against an imported hash.
    pub(crate) fn check_text(&self, text: &str) -> HashCheck {
        match self {
            Self::Sha256Import { .. } => self.check_import(&sha256(text)),
            Self::Argon2idImport { phc } => argon2_check(phc, text.as_bytes()),
            Self::HmacSha256 { .. } | Self::Argon2id { .. } => HashCheck::Mismatch,
        }
    }

    /// Check the whole presented text against an imported digest.
    pub(crate) fn check_import(&self, digest: &[u8; 32]) -> HashCheck {
        match self {
            Self::Sha256Import { digest: stored } if bool::from(stored.ct_eq(digest)) => {
                HashCheck::Match
            }
            _ => HashCheck::Mismatch,
        }
    }
}

/// Verify `input` against an Argon2 PHC string (its own parameters apply).
fn argon2_check(phc: &str, input: &[u8]) -> HashCheck {
    let Ok(parsed) = argon2::PasswordHash::new(phc) else {
        return HashCheck::Unusable;
    };
    #[cfg(test)]
    work::count(work::ARGON2);
    match Argon2::default().verify_password(input, &parsed) {
        Ok(()) => HashCheck::Match,
        Err(argon2::password_hash::Error::PasswordInvalid) => HashCheck::Mismatch,
        Err(_) => HashCheck::Unusable,
    }
}

/// HMAC-SHA256 of `msg` under pepper `version`, from a cloned pre-keyed state.
pub(crate) fn hmac_of(peppers: &PepperSet, version: u32, msg: &Message<'_>) -> Option<[u8; 32]> {
    let mut mac = peppers.mac(version)?;
    #[cfg(test)]
    work::count(work::SECRET_HMAC);
    for part in msg.parts() {
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().into())
}

/// Test-only accounting of the MACs a verification computes, to check that
/// every refusal costs the same work (issue 10 A6) without timing anything.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    pub(crate) const SECRET_HMAC: u32 = 1;
    pub(crate) const RECORD_MAC: u32 = 1 << 8;
    pub(crate) const ARGON2: u32 = 1 << 16;

    thread_local! {
        static SPENT: Cell<u32> = const { Cell::new(0) };
    }

    pub(crate) fn count(unit: u32) {
        SPENT.with(|s| s.set(s.get() + unit));
    }

    /// The work spent by `f`: secret HMACs in the low byte, record MACs
    /// above.
    pub(crate) fn spent<T>(f: impl FnOnce() -> T) -> u32 {
        SPENT.with(|s| s.set(0));
        core::hint::black_box(f());
        SPENT.with(Cell::get)
    }
}

/// SHA-256 of the presented text, the lookup key for imported hashes.
pub(crate) fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

pub(crate) mod hex_32 {
    pub(crate) fn serialize<S: serde::Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; 64];
        hex::encode_to_slice(v, &mut out).map_err(serde::ser::Error::custom)?;
        s.serialize_str(core::str::from_utf8(&out).map_err(serde::ser::Error::custom)?)
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<[u8; 32], D::Error> {
        let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut out)
            .map_err(|_| serde::de::Error::custom("expected 64 hex characters"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pepper::Pepper;
    use secrecy::SecretSlice;

    fn example() -> (Scope, KeyId, [u8; SECRET_LEN]) {
        let t = palisade_tenancy::TenantId::from_bytes(
            hex::decode("0192f0c1a2b37c4d8e9fa0b1c2d3e4f5")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        let id: KeyId = "Kx7Pq2Zr9TbW4mNc".parse().unwrap();
        (
            Scope::tenant(t),
            id,
            *b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
        )
    }

    /// docs/apikey-format.md §8: message bytes and MAC.
    #[test]
    fn worked_example_message_and_mac() {
        let (scope, id, secret) = example();
        let msg = Message::new(&scope, &id, &secret);
        assert_eq!(
            hex::encode(msg.joined().as_bytes()),
            "70616c69736164652d6170696b65792f76310001540192f0c1a2b37c4d8e9fa0b1c2d3e4\
             f54b78375071325a7239546257346d4e636162636465666768696a6b6c6d6e6f70717273\
             7475767778797a4142434445464748494a4b4c4d4e"
        );
        let set =
            PepperSet::new([
                Pepper::new(1, SecretSlice::from((0u8..32).collect::<Vec<_>>())).unwrap(),
            ])
            .unwrap();
        let KeyHash::HmacSha256 {
            pepper_version,
            mac,
        } = KeyHash::hmac(&set, &msg).unwrap()
        else {
            panic!()
        };
        assert_eq!(pepper_version, 1);
        assert_eq!(
            hex::encode(mac),
            "60bf394a05f37217ecd2cc64740d7be47c2b827d5a4e8ea126fe29a19c1a3bf3"
        );
        let j = serde_json::to_string(&KeyHash::HmacSha256 {
            pepper_version,
            mac,
        })
        .unwrap();
        assert_eq!(
            j,
            r#"{"alg":"hmac_sha256","pepper_version":1,"mac":"60bf394a05f37217ecd2cc64740d7be47c2b827d5a4e8ea126fe29a19c1a3bf3"}"#
        );
    }

    #[test]
    fn project_scope_message_is_longer_and_different() {
        let (scope, id, secret) = example();
        let p = Scope::project(
            scope.tenant_id(),
            palisade_tenancy::ProjectId::from_bytes([9; 16]),
        );
        let a = Message::new(&scope, &id, &secret);
        let b = Message::new(&p, &id, &secret);
        assert_eq!(a.joined().as_bytes().len(), 93);
        assert_eq!(b.joined().as_bytes().len(), 109);
        assert_ne!(a.joined().as_bytes(), b.joined().as_bytes());
    }

    #[test]
    fn argon2id_round_trip_and_mismatch() {
        let (scope, id, secret) = example();
        let small = Argon2Params {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        };
        let msg = Message::new(&scope, &id, &secret);
        let h = KeyHash::argon2id(&small, &msg).unwrap();
        let KeyHash::Argon2id { phc } = &h else {
            panic!()
        };
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let set = PepperSet::new([Pepper::generate(1).unwrap()]).unwrap();
        assert!(matches!(h.check(&set, &msg), HashCheck::Match));
        let mut other = secret;
        other[0] = b'z';
        assert!(matches!(
            h.check(&set, &Message::new(&scope, &id, &other)),
            HashCheck::Mismatch
        ));
        let corrupt = KeyHash::Argon2id {
            phc: "$argon2id$nonsense".into(),
        };
        assert!(matches!(corrupt.check(&set, &msg), HashCheck::Unusable));
        let bad = Argon2Params {
            m_cost_kib: 1,
            t_cost: 0,
            p_cost: 1,
        };
        assert!(matches!(
            KeyHash::argon2id(&bad, &msg),
            Err(ApiKeyError::Argon2 { .. })
        ));
    }

    #[test]
    fn sha256_import_accepts_hex_and_base64_only() {
        let d = sha256("pal_live_1Kx7Pq2Zr9TbW4mNcabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN0CUrI3");
        assert_eq!(
            hex::encode(d),
            "847ffbeff9758a046bfe481d34423b0b8b40d4fbcfe9aae0c114097fee15797a"
        );
        use base64ct::Encoding;
        let b64 = base64ct::Base64::encode_string(&d);
        for enc in [hex::encode(d), b64] {
            let h = KeyHash::sha256_import(&enc).unwrap();
            assert!(matches!(h.check_import(&d), HashCheck::Match));
            assert!(matches!(h.check_import(&[0; 32]), HashCheck::Mismatch));
        }
        for bad in ["", "zz", &"g".repeat(64), &"!".repeat(44)] {
            assert!(
                matches!(KeyHash::sha256_import(bad), Err(ApiKeyError::Import { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_hash_bytes() {
        let h = KeyHash::HmacSha256 {
            pepper_version: 3,
            mac: [0xAB; 32],
        };
        assert_eq!(format!("{h:?}"), "HmacSha256(pepper v3)");
    }
}
