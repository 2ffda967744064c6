//! Leak scanning: find every well-formed key (prefix + valid checksum) in
//! arbitrary text, and redact it before the text is stored or logged.

use core::ops::Range;

use crate::format::{Env, KeyFormat, display_form};
use crate::keyid::KeyId;

/// A key found by [`KeyFormat::scan`]. Its `Debug` shows only public parts.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FoundKey {
    /// Byte range of the key in the scanned text.
    pub range: Range<usize>,
    /// The key's environment marker.
    pub env: Env,
    /// The key's public id (look it up to revoke a leaked key).
    pub key_id: KeyId,
}

impl KeyFormat {
    /// Every well-formed key of this format in `text`, left to right, not
    /// overlapping. A candidate needs the exact prefix, environment, length,
    /// alphabet and a matching CRC32, so random text yields a false
    /// positive with probability about 2⁻³² per occurrence of the prefix.
    /// Keys glued to surrounding characters are still found (for leak
    /// detection, over-reporting is the safe side).
    #[must_use]
    pub fn scan(&self, text: &str) -> Vec<FoundKey> {
        let mut found = Vec::new();
        let key_len = self.key_len();
        let needle = self.prefix().as_bytes();
        let bytes = text.as_bytes();
        let mut pos = 0;
        while let Some(off) = find(bytes.get(pos..).unwrap_or_default(), needle) {
            let start = pos + off;
            let candidate = text.get(start..start + key_len);
            match candidate.map(|c| self.parse(c)) {
                Some(Ok(k)) => {
                    found.push(FoundKey {
                        range: start..start + key_len,
                        env: k.env(),
                        key_id: *k.key_id(),
                    });
                    pos = start + key_len;
                }
                _ => pos = start + 1,
            }
        }
        found
    }

    /// `text` with every key found by [`KeyFormat::scan`] replaced by its
    /// display form followed by `[REDACTED]`
    /// (`pal_live_1{key_id}...[REDACTED]`), keeping the key id so the leak
    /// can be traced and the key revoked.
    #[must_use]
    pub fn redact(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for k in self.scan(text) {
            out.push_str(text.get(last..k.range.start).unwrap_or_default());
            out.push_str(&display_form(self.prefix(), k.env, &k.key_id));
            out.push_str("[REDACTED]");
            last = k.range.end;
        }
        out.push_str(text.get(last..).unwrap_or_default());
        out
    }
}

/// First index of `needle` in `hay`: scan for the needle's first byte with
/// the standard library's word-at-a-time search, then compare the rest.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = 0;
    while let Some(off) = hay
        .get(i..)
        .and_then(|h| h.iter().position(|&b| b == first))
    {
        let at = i + off;
        if hay.get(at + 1..at + 1 + rest.len()) == Some(rest) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}
