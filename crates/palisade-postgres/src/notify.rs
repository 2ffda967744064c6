//! The change notifications replicas exchange on one `NOTIFY` channel.
//!
//! Payload grammar (ASCII, one line, fields separated by one space):
//! `k {key_id} {generation}` — a key record changed (issue, revoke,
//! rotate, rescope) and now has `generation`;
//! `g {grant_id} new` / `g {grant_id} end` — a grant was made / ended.
//! Anything else is ignored (a newer writer's notification), and the
//! periodic refresh catches up.

use palisade::GrantId;
use palisade_apikey::KeyId;

/// The channel every replica listens on.
pub const CHANNEL: &str = "palisade_changes";

/// Sends a notification with the transaction (delivered at commit only).
pub(crate) const NOTIFY: &str = "SELECT pg_notify($1, $2)";

/// One change announced by a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A key record now has `generation`.
    Key {
        /// The key.
        key_id: KeyId,
        /// Its new generation.
        generation: u64,
    },
    /// A grant was made (forget cached "no such grant" answers).
    GrantNew(GrantId),
    /// A grant ended.
    GrantEnded(GrantId),
}

impl core::fmt::Display for Change {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Key { key_id, generation } => write!(f, "k {key_id} {generation}"),
            Self::GrantNew(id) => write!(f, "g {id} new"),
            Self::GrantEnded(id) => write!(f, "g {id} end"),
        }
    }
}

impl Change {
    /// Parse a payload; `None` for anything not in the grammar.
    pub(crate) fn parse(payload: &str) -> Option<Self> {
        let mut it = payload.split(' ');
        let (kind, id, arg) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        match (kind, arg) {
            ("k", g) => {
                // Canonical decimal only (no sign, no leading zeros).
                if g.is_empty()
                    || (g.len() > 1 && g.starts_with('0'))
                    || !g.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                Some(Self::Key {
                    key_id: id.parse().ok()?,
                    generation: g.parse().ok()?,
                })
            }
            ("g", "new") => Some(Self::GrantNew(id.parse().ok()?)),
            ("g", "end") => Some(Self::GrantEnded(id.parse().ok()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn changes_round_trip() {
        let g = GrantId::random().unwrap();
        let k = KeyId::random().unwrap();
        for c in [
            Change::GrantNew(g),
            Change::GrantEnded(g),
            Change::Key {
                key_id: k,
                generation: 0,
            },
            Change::Key {
                key_id: k,
                generation: u64::MAX,
            },
        ] {
            assert_eq!(Change::parse(&c.to_string()), Some(c));
        }
    }

    proptest! {
        #[test]
        fn hostile_payloads_never_panic_and_parse_only_canonical_text(s in "\\PC{0,80}") {
            if let Some(c) = Change::parse(&s) {
                prop_assert_eq!(c.to_string(), s);
            }
        }
    }
}
