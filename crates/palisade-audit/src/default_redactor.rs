//! The default redaction policy: secret-looking detail keys, and string
//! values that look like credentials, are masked.
//!
//! Runs on every detail of every append, so it is plain byte scanning: no
//! allocation, no regular expressions, a few comparisons per byte.

use crate::event::DetailValue;
use crate::redact::{Redaction, Redactor};

/// The default policy (rules in `docs/audit-format.md` §1, "Redaction by
/// default"): masks a string or integer detail when its key is sensitive
/// ([`DefaultRedactor::is_sensitive_key`]), and a string detail whose value
/// looks like a credential ([`DefaultRedactor::looks_like_credential`]).
/// Commitments and booleans are kept: they reveal nothing.
///
/// Extend it by writing a [`Redactor`] that first asks the default:
/// ```
/// use palisade_audit::{DefaultRedactor, DetailValue, Redaction, Redactor};
/// struct NoEmails;
/// impl Redactor for NoEmails {
///     fn redact(&self, key: &str, value: &DetailValue) -> Redaction {
///         match DefaultRedactor.redact(key, value) {
///             Redaction::Keep if key.contains("email") => Redaction::Drop,
///             other => other,
///         }
///     }
/// }
/// assert_eq!(NoEmails.redact("email", &DetailValue::Bool(true)), Redaction::Drop);
/// assert_eq!(NoEmails.redact("api_token", &DetailValue::Int(1)), Redaction::Mask);
/// assert_eq!(NoEmails.redact("x-api-key", &DetailValue::Int(1)), Redaction::Mask);
/// assert_eq!(NoEmails.redact("key_id", &DetailValue::Int(1)), Redaction::Keep);
/// let bearer = DetailValue::Str("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x".into());
/// assert_eq!(NoEmails.redact("note", &bearer), Redaction::Mask);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultRedactor;

impl DefaultRedactor {
    /// Key fragments masked wherever they occur in the normalized key.
    pub const SENSITIVE: &'static [&'static str] = &[
        "password",
        "passwd",
        "passphrase",
        "passcode",
        "secret",
        "token",
        "authorization",
        "bearer",
        "jwt",
        "cookie",
        "session",
        "credential",
        "private",
        "signature",
        "prompt",
        "completion",
        "body",
        "content",
    ];

    /// Whole `_`-separated key tokens that are masked unless preceded by
    /// `public`/`pub` or followed by a [`DefaultRedactor::PUBLIC_QUALIFIERS`]
    /// token (`key_id`, `auth_method` are kept; `x_api_key`, `auth_header` are not).
    pub const SENSITIVE_TOKENS: &'static [&'static str] = &[
        "key", "keys", "apikey", "apikeys", "pass", "pwd", "auth", "sig", "otp", "pin",
    ];

    /// Tokens that, right after a [`DefaultRedactor::SENSITIVE_TOKENS`]
    /// token, name a public attribute of the secret rather than the secret.
    pub const PUBLIC_QUALIFIERS: &'static [&'static str] = &[
        "id",
        "ids",
        "uid",
        "prefix",
        "name",
        "type",
        "kind",
        "method",
        "scheme",
        "alg",
        "algorithm",
        "version",
        "fingerprint",
        "count",
        "len",
        "length",
        "size",
        "status",
        "expires",
        "expiry",
        "created",
        "rotated",
    ];

    /// Prefixes of provider credentials (at the start of a value or after a
    /// byte that is not a letter or digit) that mask a value when followed
    /// by at least 20 bytes of `A-Z a-z 0-9 _ -` holding a digit or an
    /// uppercase letter: OpenAI/Anthropic/Stripe (`sk-`, `sk_`, `rk_`),
    /// GitHub, GitLab, Slack and Hugging Face tokens.
    pub const CREDENTIAL_PREFIXES: &'static [&'static str] = &[
        "sk-",
        "sk_",
        "rk_",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "xoxa-",
        "xoxb-",
        "xoxp-",
        "xoxr-",
        "xoxs-",
        "hf_",
    ];

    /// True when the detail key `key` names a secret or a model input/output.
    ///
    /// The key is normalized first (ASCII lowercase, `-` and `.` read as
    /// `_`). It is sensitive when it contains one of
    /// [`DefaultRedactor::SENSITIVE`], or when one of its `_`-separated
    /// tokens is one of [`DefaultRedactor::SENSITIVE_TOKENS`] and is neither
    /// preceded by `public`/`pub` nor followed by one of
    /// [`DefaultRedactor::PUBLIC_QUALIFIERS`].
    #[must_use]
    pub fn is_sensitive_key(key: &str) -> bool {
        let k = key.as_bytes();
        // At each position only the fragments starting with its letter are tried.
        let fragment = (0..k.len()).any(|i| {
            let rest = k.get(i..).unwrap_or_default();
            let first = rest.first().map_or(0, |&b| norm(b));
            let mut m = FRAGMENTS_BY_LETTER
                .get(usize::from(first.wrapping_sub(b'a')))
                .copied()
                .unwrap_or(0);
            while m != 0 {
                let f = Self::SENSITIVE.get(m.trailing_zeros() as usize);
                if f.is_some_and(|f| starts_with_norm(rest, f)) {
                    return true;
                }
                m &= m - 1;
            }
            false
        });
        if fragment {
            return true;
        }
        let mut tokens = k
            .split(|&b| matches!(b, b'_' | b'-' | b'.'))
            .filter(|t| !t.is_empty())
            .peekable();
        let mut prev: &[u8] = &[];
        while let Some(t) = tokens.next() {
            if is_one_of(t, Self::SENSITIVE_TOKENS)
                && !is_one_of(prev, &["public", "pub"])
                && !tokens
                    .peek()
                    .is_some_and(|n| is_one_of(n, Self::PUBLIC_QUALIFIERS))
            {
                return true;
            }
            prev = t;
        }
        false
    }

    /// True when `value` holds something that looks like a credential: an
    /// HTTP `Bearer` credential (`bearer`, case-insensitive, at a word
    /// start, then spaces and at least 8 non-space bytes), a provider key
    /// ([`DefaultRedactor::CREDENTIAL_PREFIXES`]), or a Palisade API key
    /// (`_live_` or `_test_` followed by at least 40 base62 characters).
    #[must_use]
    pub fn looks_like_credential(value: &str) -> bool {
        let v = value.as_bytes();
        let mut at_word_start = true;
        (0..v.len()).any(|i| {
            let rest = v.get(i..).unwrap_or_default();
            let first = rest.first().copied().unwrap_or_default();
            let word_start = core::mem::replace(&mut at_word_start, !first.is_ascii_alphanumeric());
            match first {
                b'_' => is_palisade_key(rest),
                b'b' | b'B' if word_start => is_bearer(rest),
                b's' | b'r' | b'g' | b'x' | b'h' if word_start => {
                    Self::CREDENTIAL_PREFIXES.iter().any(|p| {
                        rest.strip_prefix(p.as_bytes())
                            .is_some_and(is_random_looking_run)
                    })
                }
                _ => false,
            }
        })
    }
}

impl Redactor for DefaultRedactor {
    fn redact(&self, key: &str, value: &DetailValue) -> Redaction {
        let hit = match value {
            DetailValue::Commitment(_) | DetailValue::Bool(_) => false,
            DetailValue::Int(_) => Self::is_sensitive_key(key),
            DetailValue::Str(s) => Self::is_sensitive_key(key) || Self::looks_like_credential(s),
        };
        if hit {
            Redaction::Mask
        } else {
            Redaction::Keep
        }
    }
}

/// Bit `i` of entry `c - 'a'` is set when `SENSITIVE[i]` starts with `c`.
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time: an out-of-range index fails the build"
)]
const FRAGMENTS_BY_LETTER: [u32; 26] = {
    let list = DefaultRedactor::SENSITIVE;
    assert!(list.len() <= 32);
    let mut t = [0u32; 26];
    let mut i = 0;
    while i < list.len() {
        let c = list[i].as_bytes()[0];
        t[(c - b'a') as usize] |= 1 << i;
        i += 1;
    }
    t
};

/// `-` and `.` read as `_`, ASCII letters lowercased.
const fn norm(b: u8) -> u8 {
    match b {
        b'-' | b'.' => b'_',
        _ => b.to_ascii_lowercase(),
    }
}

/// `hay` starts with the lowercase `needle` after normalization.
fn starts_with_norm(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    hay.len() >= n.len() && hay.iter().zip(n).all(|(h, n)| norm(*h) == *n)
}

fn is_one_of(token: &[u8], list: &[&str]) -> bool {
    list.iter()
        .any(|w| token.eq_ignore_ascii_case(w.as_bytes()))
}

/// `bearer`, one or more spaces, then at least 8 non-space bytes.
pub(crate) fn is_bearer(rest: &[u8]) -> bool {
    if !starts_with_norm(rest, "bearer") {
        return false;
    }
    let after = rest.get(6..).unwrap_or_default();
    let spaces = after.iter().take_while(|&&b| b == b' ').count();
    let token = after.get(spaces..).unwrap_or_default();
    // An already masked credential is not one.
    spaces > 0
        && !token.starts_with(crate::redact_text::MASK.as_bytes())
        && after
            .get(spaces..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| b != b' ')
            .count()
            >= 8
}

/// At least 20 bytes of `A-Z a-z 0-9 _ -`, holding a digit or an uppercase
/// letter (so `sk_learn_model_selection` is kept).
pub(crate) fn is_random_looking_run(rest: &[u8]) -> bool {
    let run = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    let (mut len, mut mixed) = (0usize, false);
    for b in run {
        len += 1;
        mixed |= b.is_ascii_digit() || b.is_ascii_uppercase();
    }
    len >= 20 && mixed
}

/// `_live_` or `_test_` then at least 40 base62 characters (a Palisade API
/// key's body, `docs/apikey-format.md`).
fn is_palisade_key(rest: &[u8]) -> bool {
    let body = rest
        .strip_prefix(b"_live_")
        .or_else(|| rest.strip_prefix(b"_test_"))
        .unwrap_or_default();
    body.iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count()
        >= 40
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for k in [
            "x-api-key",
            "api.key",
            "api_key",
            "apikey",
            "openai_key",
            "bearer",
            "auth_header",
            "auth",
            "passphrase",
            "jwt",
            "id_jwt",
            "password",
            "db.pass",
            "user_pwd",
            "client_secret",
            "access_token",
            "authorization",
            "set-cookie",
            "session_id",
            "aws_credentials",
            "private_key",
            "signature",
            "webhook_sig",
            "prompt_text",
            "completion",
            "request_body",
            "content",
            "key",
            "signing_keys",
            "API-Key",
            "mfa_otp",
            "card_pin",
        ] {
            assert!(DefaultRedactor::is_sensitive_key(k), "{k} kept");
        }
        for k in [
            "key_id",
            "keyid",
            "api_key_id",
            "api-key-prefix",
            "monkey",
            "keyboard_layout",
            "public_key",
            "pub.key",
            "auth_method",
            "author",
            "passed",
            "bypass",
            "compass",
            "amount_cents",
            "email",
            "currency",
            "plan",
            "seats",
            "pinned",
        ] {
            assert!(!DefaultRedactor::is_sensitive_key(k), "{k} masked");
        }
    }

    #[test]
    fn values() {
        let pal = format!("pal_live_{}", "1Kx7Pq2Zr9TbW4mN".repeat(4));
        let pal_test = format!("acme_test_{}", "a".repeat(40));
        for v in [
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
            "authorization: bearer abcdefgh",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
            "key=sk_live_51H8abcdefGHIJKLmnopqrst",
            "rk_live_51H8abcdefGHIJKLmnopqrst",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "token github_pat_11ABCDEFG0123456789_abcdefghijkl",
            "glpat-xxxxxxxxxxxxxxxxxxx1",
            "xoxb-1234567890-abcdefghijklmnop",
            "hf_AbCdEfGhIjKlMnOpQrStUvWxYz",
            pal.as_str(),
            pal_test.as_str(),
        ] {
            assert!(DefaultRedactor::looks_like_credential(v), "{v} kept");
        }
        let short_pal = format!("pal_live_{}", "a".repeat(39));
        for v in [
            "",
            "EUR",
            "enterprise-annual-2026",
            "the bearer of bad news",
            "Bearer",
            "bearer short",
            "sk_learn_model_selection_pipeline",
            "risk-0123456789ABCDEFGHIJ",
            "task_0123456789ABCDEFGHIJ",
            "sk-short1",
            "pal_live_1Kx7Pq2Zr9TbW4mNc...",
            short_pal.as_str(),
        ] {
            assert!(!DefaultRedactor::looks_like_credential(v), "{v} masked");
        }
    }

    #[test]
    fn decisions() {
        let r = DefaultRedactor;
        let secret = DetailValue::Str("Bearer abcdefghijkl".into());
        assert_eq!(r.redact("note", &secret), Redaction::Mask);
        assert_eq!(r.redact("note", &DetailValue::Int(7)), Redaction::Keep);
        assert_eq!(r.redact("api_key", &DetailValue::Int(7)), Redaction::Mask);
        assert_eq!(
            r.redact("api_key", &DetailValue::Bool(true)),
            Redaction::Keep
        );
        let c = DetailValue::Commitment(crate::redact::Commitment::from_bytes([1; 32]));
        assert_eq!(r.redact("password", &c), Redaction::Keep);
        assert_eq!(
            r.redact("plan", &DetailValue::Str("enterprise".into())),
            Redaction::Keep
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any key or value is decided without panicking.
        #[test]
        fn total(k in "\\PC{0,80}", v in "\\PC{0,300}") {
            let _ = DefaultRedactor.redact(&k, &DetailValue::Str(v));
        }

        /// A sensitive fragment is found whatever surrounds it and however
        /// the key is spelled (case, `-`, `.`).
        #[test]
        fn fragments_anywhere(
            pre in "[a-z0-9_.-]{0,10}",
            post in "[a-z0-9_.-]{0,10}",
            i in 0..DefaultRedactor::SENSITIVE.len(),
            upper in proptest::prelude::any::<bool>(),
        ) {
            let f = DefaultRedactor::SENSITIVE[i];
            let f = if upper { f.to_ascii_uppercase() } else { f.to_owned() };
            let key = format!("{pre}{f}{post}");
            proptest::prop_assert!(DefaultRedactor::is_sensitive_key(&key), "{}", key);
        }

        /// A secret token as its own `_`/`-`/`.`-separated word is masked
        /// unless qualified as public.
        #[test]
        fn tokens_as_words(
            pre in "([a-z]{1,6}[_.-]){0,2}",
            sep in "[_.-]",
            post in "[a-z]{1,6}",
            i in 0..DefaultRedactor::SENSITIVE_TOKENS.len(),
        ) {
            let t = DefaultRedactor::SENSITIVE_TOKENS[i];
            let public = pre.ends_with("public_") || pre.ends_with("pub_")
                || pre.ends_with("public.") || pre.ends_with("pub.")
                || pre.ends_with("public-") || pre.ends_with("pub-");
            let qualified = DefaultRedactor::PUBLIC_QUALIFIERS.contains(&post.as_str());
            let key = format!("{pre}{t}{sep}{post}");
            if !public && !qualified {
                proptest::prop_assert!(DefaultRedactor::is_sensitive_key(&key), "{}", key);
            }
            let bare = format!("{pre}{t}");
            proptest::prop_assert!(public || DefaultRedactor::is_sensitive_key(&bare), "{}", bare);
        }

        /// Palisade API keys are masked inside any text around them.
        #[test]
        fn palisade_keys_anywhere(
            pre in "[ -~]{0,40}",
            prefix in "[a-z][a-z0-9]{1,11}",
            live in proptest::prelude::any::<bool>(),
            body in "[A-Za-z0-9]{40,63}",
            post in "[ -~]{0,40}",
        ) {
            let env = if live { "live" } else { "test" };
            let v = format!("{pre}{prefix}_{env}_{body}{post}");
            proptest::prop_assert!(DefaultRedactor::looks_like_credential(&v));
        }
    }
}
