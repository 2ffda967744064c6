#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]
//! The invariants the issue lists, as properties of the compiled evaluator:
//! deny beats allow; no cross-tenant grant; key scopes never widen; expired
//! grants never allow; adding a deny never turns a deny into an allow;
//! adding a grant never turns an allow into a deny.

mod common;

use common::{Req, binding, deny, document, request, tenant, universe};
use palisade_rbac::{CompiledPolicy, Decision, DenyRule, PolicyDocument, Request, compile};
use palisade_tenancy::{Scope, Timestamp};
use proptest::prelude::*;

fn decide(policy: &CompiledPolicy, doc: &PolicyDocument, r: &Req, with_key: bool) -> Decision {
    let perm = policy.permission(&doc.permissions[r.perm]).unwrap();
    let mask = r
        .key
        .as_ref()
        .filter(|_| with_key)
        .map(|k| policy.scope_mask(k).unwrap());
    let mut req = Request::new(&r.principal, r.scope, perm, r.now);
    if let Some(m) = &mask {
        req = req.with_key_scopes(m);
    }
    policy.check(&req)
}

fn doc_and_requests() -> impl Strategy<Value = (PolicyDocument, Vec<Req>)> {
    document().prop_flat_map(|d| {
        let n = d.permissions.len();
        (Just(d), proptest::collection::vec(request(n), 24))
    })
}

fn active_at(nb: Option<Timestamp>, exp: Option<Timestamp>, now: Timestamp) -> bool {
    nb.is_none_or(|n| n <= now) && exp.is_none_or(|e| now < e)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn deny_beats_allow((doc, reqs) in doc_and_requests(), on_tenant in any::<bool>()) {
        for r in &reqs {
            let mut denied = doc.clone();
            let scope = if on_tenant { r.scope.widen_to_tenant() } else { r.scope };
            denied.denies.push(DenyRule::principal(r.principal.clone(), scope).deny(doc.permissions[r.perm].clone()));
            let p = compile(&denied, Timestamp::MIN).unwrap();
            prop_assert_eq!(decide(&p, &denied, r, true), Decision::Deny);
        }
    }

    #[test]
    fn no_cross_tenant_grant((doc, reqs) in doc_and_requests()) {
        let policy = compile(&doc, Timestamp::MIN).unwrap();
        for r in &reqs {
            // Only the request's tenant's bindings matter…
            let mut local = doc.clone();
            local.bindings.retain(|b| b.scope.tenant_id() == r.scope.tenant_id());
            let lp = compile(&local, Timestamp::MIN).unwrap();
            prop_assert_eq!(decide(&policy, &doc, r, true), decide(&lp, &local, r, true));
            // …and a tenant without bindings allows nothing.
            if r.scope.tenant_id() == tenant(3) {
                prop_assert_eq!(decide(&policy, &doc, r, true), Decision::Deny);
            }
            // A project-scoped binding never covers its tenant or a sibling.
            for b in doc.bindings.iter().filter(|b| !b.scope.is_tenant_wide() && !b.scope.contains(&r.scope)) {
                let mut only = doc.clone();
                only.bindings = vec![b.clone()];
                let op = compile(&only, Timestamp::MIN).unwrap();
                prop_assert_eq!(decide(&op, &only, r, true), Decision::Deny);
            }
        }
    }

    #[test]
    fn key_scopes_never_widen((doc, reqs) in doc_and_requests()) {
        let policy = compile(&doc, Timestamp::MIN).unwrap();
        for r in &reqs {
            if decide(&policy, &doc, r, true).is_allow() {
                prop_assert!(decide(&policy, &doc, r, false).is_allow());
            }
        }
    }

    #[test]
    fn expired_grants_never_allow((doc, reqs) in doc_and_requests()) {
        let policy = compile(&doc, Timestamp::MIN).unwrap();
        for r in &reqs {
            let mut live = doc.clone();
            live.bindings.retain(|b| active_at(b.not_before, b.expires_at, r.now));
            let lp = compile(&live, Timestamp::MIN).unwrap();
            prop_assert_eq!(decide(&policy, &doc, r, true), decide(&lp, &live, r, true));
            let mut dead = doc.clone();
            dead.bindings.retain(|b| !active_at(b.not_before, b.expires_at, r.now));
            let dp = compile(&dead, Timestamp::MIN).unwrap();
            prop_assert_eq!(decide(&dp, &dead, r, true), Decision::Deny);
        }
    }

    #[test]
    fn adding_a_deny_never_allows((doc, reqs) in doc_and_requests(), extra in deny(universe(false))) {
        let before = compile(&doc, Timestamp::MIN).unwrap();
        let mut more = doc.clone();
        if more.permissions.len() != universe(false).len() {
            return Ok(()); // the extra deny's patterns are for the small universe
        }
        more.denies.push(extra);
        let after = compile(&more, Timestamp::MIN).unwrap();
        for r in &reqs {
            if !decide(&before, &doc, r, true).is_allow() {
                prop_assert_eq!(decide(&after, &more, r, true), Decision::Deny);
            }
        }
    }

    #[test]
    fn adding_a_grant_never_denies((doc, reqs) in doc_and_requests(), extra in binding(1)) {
        let before = compile(&doc, Timestamp::MIN).unwrap();
        let mut more = doc.clone();
        common::add_binding(&mut more, extra);
        let after = compile(&more, Timestamp::MIN).unwrap();
        for r in &reqs {
            if decide(&before, &doc, r, true).is_allow() {
                prop_assert_eq!(decide(&after, &more, r, true), Decision::Allow);
            }
        }
    }
}

#[test]
fn scope_helpers_are_what_the_properties_assume() {
    let t = Scope::tenant(tenant(1));
    assert!(
        common::scopes()
            .iter()
            .filter(|s| s.tenant_id() == tenant(1))
            .all(|s| t.contains(s))
    );
}
