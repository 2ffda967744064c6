//! The minting invariant, property-tested against a naive model: a key
//! minted through `key_admin` can never do what its minter cannot — not now,
//! and not after the policy grows — and a mint is refused only when the
//! model finds an excess.
#![cfg(feature = "service")]

mod key_admin_support;

use key_admin_support::*;
use palisade::apikey::{NewKey, scope_covers};
use palisade::tenancy::{Principal, Scope};
use palisade::{Credential, KeyAdminError, Request};
use proptest::prelude::*;

/// Patterns a caller key or a requested key may carry (few, so that the
/// interesting overlaps — `inbox:read` + `inbox:write` against `inbox:*`,
/// a deny rule under `billing:*` — come up often).
const POOL: &[&str] = &[
    "*",
    "inbox:*",
    "inbox:read",
    "inbox:write",
    "*:read",
    "billing:*",
    "apikeys:create",
];

/// The permissions the test policy declares (before it grows).
const DECLARED: &[&str] = &[
    "inbox:read",
    "inbox:write",
    "billing:read",
    "billing:write",
    "apikeys:read",
    "apikeys:create",
    "apikeys:revoke",
    "apikeys:rotate",
    "apikeys:update",
    "apikeys:admin",
];

/// `resource:action` parts of a pattern (`*` is `*:*`).
#[cfg(test)]
fn parts(p: &str) -> (&str, &str) {
    if p == "*" {
        ("*", "*")
    } else {
        p.split_once(':').unwrap()
    }
}

/// Naive pattern cover: every permission `requested` can ever match is
/// matched by `granted`.
#[cfg(test)]
fn covers_pattern(granted: &str, requested: &str) -> bool {
    let (g, r) = (parts(granted), parts(requested));
    (g.0 == "*" || g.0 == r.0) && (g.1 == "*" || g.1 == r.1)
}

#[cfg(test)]
fn allowed(w: &World, key: &str, permission: &str) -> bool {
    let req = Request::new(Credential::ApiKey(key), permission, "x", "-", at(10));
    w.palisade.authorize(&req).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn a_minted_key_never_exceeds_its_minter(
        caller in prop::sample::subsequence(POOL, 0..5),
        asked in prop::sample::subsequence(POOL, 0..3),
    ) {
        let w = world();
        let mut caller_scopes = caller;
        if !caller_scopes.iter().any(|s| scope_covers(s, "apikeys:create")) {
            caller_scopes.push("apikeys:create");
        }
        let alice = Principal::user("alice@acme.example").unwrap();
        let caller_key = w.palisade.keys_unchecked().issue(
            NewKey::new(Scope::tenant(w.acme), "caller").owner(alice.clone()).scopes(caller_scopes.iter().copied()).unwrap(),
            at(0),
        ).unwrap();
        let caller_text = caller_key.expose_secret().to_owned();
        let auth = auth(&w, &caller_text, "apikeys:create");
        let new = NewKey::new(Scope::tenant(w.acme), "minted").owner(alice).scopes(asked.iter().copied()).unwrap();

        // The model: Alice is admin (`*`) in Acme except billing:write (denied).
        let alice_may = |p: &str| p != "billing:write";
        let caller_may = |p: &str| alice_may(p) && caller_scopes.iter().any(|s| scope_covers(s, p));
        let expands = |p: &str| asked.iter().any(|s| scope_covers(s, p));
        let excess_now = DECLARED.iter().any(|p| expands(p) && !caller_may(p));
        let wider = asked.iter().any(|r| !caller_scopes.iter().any(|g| covers_pattern(g, r)));
        let unknown = asked.iter().any(|r| !DECLARED.iter().any(|p| scope_covers(r, p)));

        match w.palisade.key_admin(&auth).issue(new, at(1)) {
            Ok(minted) => {
                prop_assert!(!excess_now && !wider && !unknown);
                let text = minted.expose_secret().to_owned();
                for p in DECLARED {
                    prop_assert!(!allowed(&w, &text, p) || allowed(&w, &caller_text, p), "{p}");
                }
                // The policy grows: a new inbox permission, a new resource.
                let grown = policy(w.acme, w.globex, w.project)
                    .replace("\"apikeys:admin\"]", "\"apikeys:admin\", \"inbox:archive\", \"reports:read\"]");
                w.palisade.swap_policy(&grown, at(2)).unwrap();
                for p in DECLARED.iter().chain(&["inbox:archive", "reports:read"]) {
                    prop_assert!(!allowed(&w, &text, p) || allowed(&w, &caller_text, p), "grown: {p}");
                }
            }
            Err(KeyAdminError::UnknownScope { .. }) => prop_assert!(unknown),
            Err(KeyAdminError::Escalation { excess, .. }) => {
                prop_assert!(!unknown && (excess_now || wider), "{excess:?}");
                for e in &excess {
                    let genuine = DECLARED.contains(&e.as_str()) && expands(e) && !caller_may(e)
                        || asked.contains(&e.as_str()) && !caller_scopes.iter().any(|g| covers_pattern(g, e));
                    prop_assert!(genuine, "{e} named but not an excess");
                }
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}
