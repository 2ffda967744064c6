#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failing test"
)]
//! The compiled evaluator against the naive reference evaluator, on random
//! policies and requests: they must agree exactly, for `check`,
//! `check_many`, `check_named`, `permissions_of` and `explain`.

mod common;

use common::{Req, document, reference, request, universe};
use palisade_rbac::{CompiledPolicy, Decision, Outcome, PolicyDocument, Request, Subject, compile};
use palisade_tenancy::Timestamp;
use proptest::prelude::*;

fn decide(policy: &CompiledPolicy, doc: &PolicyDocument, r: &Req) -> Decision {
    let perm = policy.permission(&doc.permissions[r.perm]).unwrap();
    let mask = r.key.as_ref().map(|k| policy.scope_mask(k).unwrap());
    let mut req = Request::new(&r.principal, r.scope, perm, r.now);
    if let Some(m) = &mask {
        req = req.with_key_scopes(m);
    }
    policy.check(&req)
}

fn cases(doc: &PolicyDocument) -> impl Strategy<Value = Vec<Req>> + use<> {
    proptest::collection::vec(request(doc.permissions.len()), 48)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn compiled_agrees_with_reference((doc, reqs) in document().prop_flat_map(|d| { let c = cases(&d); (Just(d), c) })) {
        let policy = compile(&doc, Timestamp::MIN).unwrap();
        for r in &reqs {
            let perm_name = &doc.permissions[r.perm];
            let want = reference(&doc, &r.principal, r.scope, perm_name, r.now, r.key.as_deref());
            let got = decide(&policy, &doc, r);
            prop_assert_eq!(got.is_allow(), want, "request {:?}\npolicy {}", r, doc.to_json().unwrap());

            let mask = r.key.as_ref().map(|k| policy.scope_mask(k).unwrap());
            let mut subject = Subject::new(&r.principal, r.scope, r.now);
            if let Some(m) = &mask {
                subject = subject.with_key_scopes(m);
            }
            prop_assert_eq!(policy.check_named(&subject, perm_name), got);

            // explain reports check's decision, with a consistent outcome.
            let e = policy.explain(&subject.request(policy.permission(perm_name).unwrap()));
            prop_assert_eq!(e.decision, got);
            prop_assert_eq!(e.outcome == Outcome::Allowed, got.is_allow(), "{}", e);
            if e.outcome == Outcome::Allowed {
                prop_assert!(e.grants.iter().any(|g| g.active));
                prop_assert!(e.denies.is_empty());
            }
            if e.outcome == Outcome::DeniedByRule {
                prop_assert!(!e.denies.is_empty());
            }

            // check_many and permissions_of agree with single checks.
            let ids: Vec<_> = doc.permissions.iter().map(|p| policy.permission(p).unwrap()).collect();
            let mut out = vec![Decision::Allow; ids.len() + 2];
            policy.check_many(&subject, &ids, &mut out);
            let listed = policy.permissions_of_subject(&subject);
            for (i, p) in doc.permissions.iter().enumerate() {
                let want = reference(&doc, &r.principal, r.scope, p, r.now, r.key.as_deref());
                prop_assert_eq!(out[i].is_allow(), want);
                prop_assert_eq!(listed.contains(&p.as_str()), want);
            }
            prop_assert_eq!(&out[ids.len()..], &[Decision::Deny, Decision::Deny][..]);
            if r.key.is_none() {
                prop_assert_eq!(policy.permissions_of(&r.principal, r.scope, r.now), listed);
            }
        }
    }

    #[test]
    fn json_round_trip_compiles_to_the_same_decisions((doc, reqs) in document().prop_flat_map(|d| { let c = cases(&d); (Just(d), c) })) {
        let again = PolicyDocument::from_json(&doc.to_json().unwrap()).unwrap();
        prop_assert_eq!(&again, &doc);
        let a = compile(&doc, Timestamp::MIN).unwrap();
        let b = compile(&again, Timestamp::MIN).unwrap();
        prop_assert_eq!(a.generation(), b.generation());
        for r in &reqs {
            prop_assert_eq!(decide(&a, &doc, r), decide(&b, &again, r));
        }
    }
}

#[test]
fn universes_cross_a_word_boundary() {
    assert!(universe(true).len() > 64);
    assert!(universe(false).len() < 64);
}

/// The generators must reach every interesting outcome, or the differential
/// test above proves little.
#[test]
fn generators_cover_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::HashSet;
    let mut runner = TestRunner::deterministic();
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let doc = document().new_tree(&mut runner).unwrap().current();
        let reqs = cases(&doc).new_tree(&mut runner).unwrap().current();
        let policy = compile(&doc, Timestamp::MIN).unwrap();
        for r in &reqs {
            let perm = policy.permission(&doc.permissions[r.perm]).unwrap();
            let mask = r.key.as_ref().map(|k| policy.scope_mask(k).unwrap());
            let mut req = Request::new(&r.principal, r.scope, perm, r.now);
            if let Some(m) = &mask {
                req = req.with_key_scopes(m);
            }
            seen.insert(format!("{:?}", policy.explain(&req).outcome));
        }
    }
    for o in [
        "Allowed",
        "DeniedByRule",
        "NoGrantInScope",
        "GrantNotActive",
        "OutsideKeyScopes",
        "UnknownPrincipal",
    ] {
        assert!(seen.contains(o), "never saw {o}: {seen:?}");
    }
}
