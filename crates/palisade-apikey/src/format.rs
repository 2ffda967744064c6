//! The key text format `{prefix}_{env}_{body}` (see `docs/apikey-format.md`):
//! building, parsing and checksumming. Parsing never allocates.

use crate::base62;
use crate::error::{ApiKeyError, ParseError};
use crate::keyid::{KEY_ID_LEN, KeyId};

/// The format version this crate writes and reads (the body's first character).
pub const FORMAT_VERSION: u8 = b'1';
/// Number of base62 characters of secret in a key (≈ 238 bits).
pub const SECRET_LEN: usize = 40;
/// Length of the body after `{prefix}_{env}_`: version, key id, secret, checksum.
pub const BODY_LEN: usize = 1 + KEY_ID_LEN + SECRET_LEN + base62::U32_WIDTH;
/// Longest accepted type prefix.
pub const MAX_PREFIX_LEN: usize = 12;

const ENV_LEN: usize = 4;

/// The environment marker of a key: production or test.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    /// `live`: production traffic.
    Live,
    /// `test`: sandboxes and CI; a verifier can refuse it in production.
    Test,
}

impl Env {
    /// The marker text.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }

    fn from_bytes(b: &[u8]) -> Option<Self> {
        match b {
            b"live" => Some(Self::Live),
            b"test" => Some(Self::Test),
            _ => None,
        }
    }
}

impl core::fmt::Display for Env {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configured type prefix (e.g. `pal`), which makes keys greppable and
/// lets secret scanners attribute a leaked key to its issuer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyFormat {
    prefix: Box<str>,
}

impl KeyFormat {
    /// A format with type prefix `prefix`: 2–12 characters of `a-z 0-9`,
    /// starting with a letter (no `_`, so the fields split unambiguously).
    ///
    /// # Errors
    /// [`ApiKeyError::Prefix`] when `prefix` breaks those rules.
    pub fn new(prefix: &str) -> Result<Self, ApiKeyError> {
        let ok = (2..=MAX_PREFIX_LEN).contains(&prefix.len())
            && prefix
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_lowercase)
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(ApiKeyError::Prefix {
                input: crate::error::clip(prefix, 20),
            });
        }
        Ok(Self {
            prefix: prefix.into(),
        })
    }

    /// The type prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Total length of a key of this format, in bytes.
    #[must_use]
    pub fn key_len(&self) -> usize {
        self.prefix.len() + 1 + ENV_LEN + 1 + BODY_LEN
    }

    /// Assemble the key text from its fields, appending the checksum.
    pub(crate) fn assemble(
        &self,
        env: Env,
        id: &KeyId,
        secret: &[u8; SECRET_LEN],
    ) -> zeroize::Zeroizing<String> {
        let mut s = zeroize::Zeroizing::new(String::with_capacity(self.key_len()));
        s.push_str(&self.prefix);
        s.push('_');
        s.push_str(env.as_str());
        s.push('_');
        s.push(char::from(FORMAT_VERSION));
        s.push_str(id.as_str());
        for &b in secret {
            s.push(char::from(b));
        }
        let crc = base62::encode_u32(crc32fast::hash(s.as_bytes()));
        for b in crc {
            s.push(char::from(b));
        }
        s
    }

    /// Parse `s` as a key of this format and check its checksum. Never
    /// allocates and never panics; touches no storage.
    ///
    /// # Errors
    /// The first failed check, in this order: [`ParseError::Prefix`],
    /// [`ParseError::Environment`], [`ParseError::Length`],
    /// [`ParseError::Character`], [`ParseError::Version`],
    /// [`ParseError::Checksum`].
    pub fn parse<'a>(&self, s: &'a str) -> Result<ParsedKey<'a>, ParseError> {
        let b = s.as_bytes();
        let p = self.prefix.len();
        if b.get(..p) != Some(self.prefix.as_bytes()) || b.get(p) != Some(&b'_') {
            return Err(ParseError::Prefix);
        }
        let env_end = p + 1 + ENV_LEN;
        let env = b
            .get(p + 1..env_end)
            .and_then(Env::from_bytes)
            .ok_or(ParseError::Environment)?;
        if b.get(env_end) != Some(&b'_') {
            return Err(ParseError::Environment);
        }
        let body_start = env_end + 1;
        let body = b.get(body_start..).unwrap_or_default();
        if body.len() != BODY_LEN {
            return Err(ParseError::Length {
                expected: self.key_len(),
                found: b.len(),
            });
        }
        if let Some(i) = body.iter().position(|&c| !base62::is_digit(c)) {
            return Err(ParseError::Character {
                position: body_start + i,
            });
        }
        let (version, rest) = body.split_first().ok_or(ParseError::Length {
            expected: self.key_len(),
            found: b.len(),
        })?;
        if *version != FORMAT_VERSION {
            return Err(ParseError::Version {
                found: char::from(*version),
            });
        }
        let (id, rest) = rest
            .split_first_chunk::<KEY_ID_LEN>()
            .ok_or(ParseError::Checksum)?;
        let (secret, crc) = rest
            .split_first_chunk::<SECRET_LEN>()
            .ok_or(ParseError::Checksum)?;
        let checked_len = b.len() - base62::U32_WIDTH;
        let expected = crc32fast::hash(b.get(..checked_len).unwrap_or_default());
        if base62::decode_u32(crc) != Some(expected) {
            return Err(ParseError::Checksum);
        }
        Ok(ParsedKey {
            env,
            key_id: KeyId::from_checked(*id),
            secret,
        })
    }

    /// True when `s` is a well-formed key of this format with a valid
    /// checksum (no storage is touched).
    #[must_use]
    pub fn looks_valid(&self, s: &str) -> bool {
        self.parse(s).is_ok()
    }
}

impl Default for KeyFormat {
    /// The `pal` prefix.
    fn default() -> Self {
        Self {
            prefix: "pal".into(),
        }
    }
}

/// A key whose format and checksum are valid. It borrows the presented
/// text; its `Debug` hides the secret.
pub struct ParsedKey<'a> {
    env: Env,
    key_id: KeyId,
    secret: &'a [u8; SECRET_LEN],
}

impl ParsedKey<'_> {
    /// The environment marker.
    #[must_use]
    pub fn env(&self) -> Env {
        self.env
    }

    /// The public key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The secret characters (base62 ASCII), the input to the key hash.
    pub(crate) fn secret(&self) -> &[u8; SECRET_LEN] {
        self.secret
    }
}

impl core::fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "ParsedKey({}, {}, secret: <redacted>)",
            self.env, self.key_id
        )
    }
}

/// The log- and UI-safe form of a key: `{prefix}_{env}_1{key_id}...`. It
/// holds only public parts (never a character of the secret).
pub(crate) fn display_form(prefix: &str, env: Env, id: &KeyId) -> String {
    format!("{prefix}_{env}_{}{id}...", char::from(FORMAT_VERSION))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str =
        "pal_live_1Kx7Pq2Zr9TbW4mNcabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN0CUrI3";

    /// docs/apikey-format.md §8: key text, checksum and display form.
    #[test]
    fn worked_example_key_text() {
        let f = KeyFormat::default();
        let id: KeyId = "Kx7Pq2Zr9TbW4mNc".parse().unwrap();
        let text = f.assemble(Env::Live, &id, b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
        assert_eq!(text.as_str(), EXAMPLE);
        assert_eq!(f.key_len(), 72);
        let p = f.parse(EXAMPLE).unwrap();
        assert_eq!((p.env(), *p.key_id()), (Env::Live, id));
        assert_eq!(p.secret(), b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");
        assert_eq!(crc32fast::hash(&EXAMPLE.as_bytes()[..66]), 0x0b01_da03);
        assert_eq!(
            display_form("pal", Env::Live, &id),
            "pal_live_1Kx7Pq2Zr9TbW4mNc..."
        );
        assert!(!format!("{p:?}").contains("abcdefgh"));
    }

    #[test]
    fn each_check_has_its_error() {
        let f = KeyFormat::default();
        let with = |i: usize, c: char| {
            let mut s = EXAMPLE.to_owned();
            s.replace_range(i..=i, &c.to_string());
            s
        };
        assert_eq!(f.parse("").unwrap_err(), ParseError::Prefix);
        assert_eq!(
            f.parse(&EXAMPLE.replacen("pal", "pak", 1)).unwrap_err(),
            ParseError::Prefix
        );
        assert_eq!(
            f.parse(&EXAMPLE.replacen("pal_", "palx", 1)).unwrap_err(),
            ParseError::Prefix
        );
        assert_eq!(
            f.parse(&EXAMPLE.replacen("live", "prod", 1)).unwrap_err(),
            ParseError::Environment
        );
        assert_eq!(
            f.parse(&EXAMPLE.replacen("live_", "live-", 1)).unwrap_err(),
            ParseError::Environment
        );
        assert_eq!(
            f.parse(&EXAMPLE[..71]).unwrap_err(),
            ParseError::Length {
                expected: 72,
                found: 71
            }
        );
        assert_eq!(
            f.parse(&format!("{EXAMPLE}x")).unwrap_err(),
            ParseError::Length {
                expected: 72,
                found: 73
            }
        );
        assert_eq!(
            f.parse(&with(30, '-')).unwrap_err(),
            ParseError::Character { position: 30 }
        );
        assert_eq!(
            f.parse(&with(9, '2')).unwrap_err(),
            ParseError::Version { found: '2' }
        );
        assert_eq!(f.parse(&with(30, 'Q')).unwrap_err(), ParseError::Checksum);
        assert_eq!(f.parse(&with(71, '4')).unwrap_err(), ParseError::Checksum);
        // A checksum field above u32::MAX.
        assert_eq!(
            f.parse(&format!("{}zzzzzz", &EXAMPLE[..66])).unwrap_err(),
            ParseError::Checksum
        );
        // Multi-byte UTF-8 never panics.
        assert!(f.parse(&format!("pal_live_{}", "é".repeat(31))).is_err());
        assert!(f.looks_valid(EXAMPLE) && !f.looks_valid(&with(40, 'x')));
    }

    #[test]
    fn test_env_and_custom_prefix() {
        let f = KeyFormat::new("acme2").unwrap();
        let id: KeyId = "0000000000000000".parse().unwrap();
        let t = f.assemble(Env::Test, &id, &[b'9'; SECRET_LEN]);
        assert!(t.starts_with("acme2_test_10000000000000000"));
        assert_eq!(f.parse(&t).unwrap().env(), Env::Test);
        assert_eq!(
            KeyFormat::default().parse(&t).unwrap_err(),
            ParseError::Prefix
        );
    }

    #[test]
    fn prefix_rules() {
        for bad in ["", "p", "Pal", "pa_l", "1pal", "abcdefghijklm", "pàl"] {
            assert!(
                matches!(KeyFormat::new(bad), Err(ApiKeyError::Prefix { .. })),
                "{bad}"
            );
        }
        for ok in ["pa", "pal", "sk", "abcdefghijkl", "a1"] {
            assert!(KeyFormat::new(ok).is_ok(), "{ok}");
        }
    }
}
