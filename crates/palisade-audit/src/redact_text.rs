//! Redaction of free-text fields: the resource id, the outcome reason, the
//! user agent and a staff actor's reason are scanned for credentials, which
//! are replaced by `[redacted]` in place (the rest of the text, e.g. the
//! route around a key in a URL path, stays readable).

use crate::default_redactor::{DefaultRedactor, is_bearer, is_random_looking_run};
use crate::event::{AuditEvent, MAX_REASON_LEN, MAX_TEXT_LEN};
use crate::redact::Redactor;
use std::borrow::Cow;

/// The text that replaces a masked credential (or a masked detail value).
pub const MASK: &str = "[redacted]";

/// Characters of a Palisade API key kept after `_live_` / `_test_`: its
/// display form (`1` and the 16-character public key id,
/// `docs/apikey-format.md`), so the record still names the key.
const PALISADE_KEPT: usize = 17;

/// A free-text field of an event, as handed to [`Redactor::redact_text`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum TextField {
    /// `resource.uid` (e.g. a URL path or a route's id parameter).
    ResourceId,
    /// `status_detail`, the outcome reason.
    Reason,
    /// `request.user_agent`.
    UserAgent,
    /// `actor.reason`, a staff access reason.
    ActorReason,
}

impl TextField {
    /// The field's export name.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::ResourceId => "resource.uid",
            Self::Reason => "status_detail",
            Self::UserAgent => "request.user_agent",
            Self::ActorReason => "actor.reason",
        }
    }
}

/// `(kept, end)`: bytes of `rest` kept before the mask, and where the
/// credential ends, when `rest` starts a credential.
fn credential_at(rest: &[u8], word_start: bool) -> Option<(usize, usize)> {
    let run = |from: usize, ok: &dyn Fn(u8) -> bool| {
        from + rest
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| ok(b))
            .count()
    };
    match rest.first().copied()? {
        b'_' if rest.starts_with(b"_live_") || rest.starts_with(b"_test_") => {
            let end = run(6, &|b| b.is_ascii_alphanumeric());
            (end - 6 >= 40).then_some((6 + PALISADE_KEPT, end))
        }
        b'b' | b'B' if word_start && is_bearer(rest) => {
            let kept = run(6, &|b| b == b' ');
            Some((kept, run(kept, &|b| b != b' ')))
        }
        b's' | b'r' | b'g' | b'x' | b'h' if word_start => DefaultRedactor::CREDENTIAL_PREFIXES
            .iter()
            .map(|p| p.as_bytes())
            .find(|p| rest.strip_prefix(*p).is_some_and(is_random_looking_run))
            .map(|p| {
                let end = run(p.len(), &|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
                });
                (p.len(), end)
            }),
        _ => None,
    }
}

impl DefaultRedactor {
    /// `text` with every credential that
    /// [`DefaultRedactor::looks_like_credential`] finds replaced by
    /// [`MASK`]: a `Bearer` credential after the scheme, a provider key
    /// after its prefix (`sk-[redacted]`), and a Palisade API key after its
    /// 17-character display form (the key id stays readable, the secret
    /// does not). Borrows when there is nothing to mask.
    #[must_use]
    pub fn mask_credentials(text: &str) -> Cow<'_, str> {
        let v = text.as_bytes();
        let (mut out, mut copied, mut i) = (None::<String>, 0usize, 0usize);
        let mut word_start = true;
        while let Some(&b) = v.get(i) {
            let rest = v.get(i..).unwrap_or_default();
            if let Some((kept, end)) = credential_at(rest, word_start) {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(text.get(copied..i + kept).unwrap_or_default());
                o.push_str(MASK);
                i += end;
                copied = i;
                word_start = v.get(i - 1).is_none_or(|p| !p.is_ascii_alphanumeric());
                continue;
            }
            word_start = !b.is_ascii_alphanumeric();
            i += 1;
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut o) => {
                o.push_str(text.get(copied..).unwrap_or_default());
                Cow::Owned(o)
            }
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn clip_to(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Run `r` over the free-text fields of `event`, keeping each within its
/// limit (a mask can be longer than what it hides).
pub(crate) fn apply_text(r: &dyn Redactor, event: &mut AuditEvent) {
    if let Cow::Owned(s) = r.redact_text(TextField::ResourceId, event.resource.id()) {
        event.resource.set_id(clip_to(s, MAX_TEXT_LEN));
    }
    if let Cow::Owned(s) = r.redact_text(TextField::Reason, &event.reason) {
        event.reason = clip_to(s, MAX_REASON_LEN);
    }
    if let Some(ua) = event.request.user_agent_str()
        && let Cow::Owned(s) = r.redact_text(TextField::UserAgent, ua)
    {
        event.request.set_user_agent(clip_to(s, MAX_TEXT_LEN));
    }
    if let Some(why) = event.actor.reason()
        && let Cow::Owned(s) = r.redact_text(TextField::ActorReason, why)
    {
        event.actor.set_reason(clip_to(s, MAX_REASON_LEN));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> String {
        DefaultRedactor::mask_credentials(s).into_owned()
    }

    #[test]
    fn masks_in_place() {
        let key = format!("pal_live_1Kx7Pq2Zr9TbW4mNc{}", "a1B2".repeat(11));
        assert_eq!(
            masked(&format!("/v1/keys/{key}/rotate")),
            "/v1/keys/pal_live_1Kx7Pq2Zr9TbW4mNc[redacted]/rotate"
        );
        assert_eq!(
            masked("auth: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x tail"),
            "auth: Bearer [redacted] tail"
        );
        assert_eq!(
            masked("k=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t!"),
            "k=sk-[redacted]!"
        );
        for keep in [
            "/v1/keys/1Kx7Pq2Zr9TbW4mNc",
            "curl/8.5.0",
            "bearer",
            "sk_learn_model_selection",
            "",
        ] {
            assert!(
                matches!(DefaultRedactor::mask_credentials(keep), Cow::Borrowed(_)),
                "{keep}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever `looks_like_credential` flags is changed by the mask,
        /// and the mask leaves no credential behind.
        #[test]
        fn mask_agrees_with_detection(s in "([ -~]{0,12}(Bearer +|sk-|pal_live_|x_test_)?[A-Za-z0-9]{0,50}){0,4}") {
            let m = masked(&s);
            proptest::prop_assert_eq!(DefaultRedactor::looks_like_credential(&s), m != s, "{}", s);
            proptest::prop_assert!(!DefaultRedactor::looks_like_credential(&m), "{} -> {}", s, m);
        }
    }
}
