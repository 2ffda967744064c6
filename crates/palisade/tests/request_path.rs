//! The composed request path: allowed and denied, every denial reason
//! audited and opaque, tenant-wide rate limits, and its invariants.
#![cfg(feature = "service")]

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use palisade::apikey::NewKey;
use palisade::tenancy::{Principal, ProjectId, Scope, Scoped};
use palisade::{
    Credential, DenialKind, DenyReason, PalisadeConfig, PlanConfig, RateConfig, Request,
    RequestFacts,
};
use proptest::prelude::*;

use common::{at, key_req, records, world, world_with};

#[test]
fn allowed_request_yields_a_scoped_context_and_an_audit_record() {
    let w = world();
    let facts = RequestFacts {
        ip: Some("192.0.2.7".parse().unwrap()),
        user_agent: Some("test-agent/1"),
        request_id: Some("req-1"),
        origin: Some("https://app.acme.example"),
    };
    let auth = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)).facts(facts))
        .unwrap();
    assert_eq!(auth.principal().to_string(), "user:alice@acme.example");
    assert!(auth.key().unwrap().to_string().starts_with("key:"));
    assert_eq!(auth.tenant(), w.acme);
    assert_eq!(auth.scope(), &Scope::tenant(w.acme));
    assert!(auth.rate_status().is_some());
    assert_eq!(auth.staff_reason(), None);
    // Scoped values: own tenant opens, another does not.
    let mine = auth.own(5);
    assert_eq!(auth.open(&mine).unwrap(), &5);
    assert!(auth.open(&Scoped::new(Scope::tenant(w.globex), 6)).is_err());
    // The envelope handle is bound to Acme.
    let ctx = auth.envelope().context();
    let ct = auth.envelope().seal(&ctx, b"x").unwrap();
    assert_eq!(auth.envelope().open(&ctx, &ct).unwrap().as_slice(), b"x");
    let globex_env = w.palisade.envelope().for_scope(Scope::tenant(w.globex));
    assert!(globex_env.open(&globex_env.context(), &ct).is_err());

    // The decision, and the cross-tenant `open` refused above (recorded
    // since issue 11; Globex's log has its copy).
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 2);
    for needle in [
        "\"status\":\"allowed\"",
        "inbox.read",
        "192.0.2.7",
        "test-agent/1",
        "req-1",
        "alice@acme.example",
    ] {
        assert!(text.contains(needle), "audit record lacks {needle}: {text}");
    }
    assert!(!text.contains(&w.alice_key));
}

#[test]
fn every_denial_reason_is_audited_and_opaque() {
    let w = world();
    let p = &w.palisade;
    let deny = |r: Request<'_>| p.authorize(&r).unwrap_err();

    // Key scopes narrow the owner's admin role.
    let d = deny(key_req(&w.alice_key, "billing:read", at(1)));
    assert_eq!(
        (d.reason(), d.kind()),
        (DenyReason::NotPermitted, DenialKind::Forbidden)
    );
    assert!(
        d.explain().contains("outside the API key's scopes"),
        "{}",
        d.explain()
    );
    assert_eq!(d.to_string(), "forbidden");

    // A deny rule beats the admin role (session credential, no key).
    let alice = Principal::user("alice@acme.example").unwrap();
    let session = |perm| {
        Request::new(
            Credential::Authenticated {
                principal: &alice,
                scope: Scope::tenant(w.acme),
            },
            perm,
            "plan",
            "p",
            at(2),
        )
    };
    let d = deny(session("billing:write"));
    assert!(d.explain().contains("frozen"), "{}", d.explain());
    assert!(p.authorize(&session("billing:read")).is_ok());

    // Cross-tenant target.
    let d = deny(key_req(&w.alice_key, "inbox:read", at(3)).target(Scope::tenant(w.globex)));
    assert_eq!(d.reason(), DenyReason::CrossTenant);
    // A project of the own tenant is fine, and becomes the request scope.
    let proj = Scope::project(w.acme, ProjectId::new_v7());
    assert_eq!(
        p.authorize(&key_req(&w.alice_key, "inbox:read", at(3)).target(proj))
            .unwrap()
            .scope(),
        &proj
    );

    // Origin not allowed for the tenant.
    let facts = RequestFacts {
        origin: Some("https://evil.example"),
        ..RequestFacts::default()
    };
    let d = deny(key_req(&w.alice_key, "inbox:read", at(4)).facts(facts));
    assert_eq!(d.reason(), DenyReason::OriginNotAllowed);

    // Malformed, unknown and wrong-secret keys all read `unauthorized`.
    let mut wrong = w.alice_key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        "",
        "nonsense",
        "pal_live_0000000000000000000000000000000000000000000000000000000000000",
        wrong.as_str(),
    ] {
        let d = deny(key_req(bad, "inbox:read", at(5)));
        assert_eq!(d.kind(), DenialKind::Unauthenticated, "{bad}");
        assert_eq!(d.public_body(None), "{\"error\":\"unauthorized\"}");
    }

    // Revoked key.
    let id = p.keys_unchecked().list(w.globex).unwrap()[0].key_id;
    p.keys_unchecked().revoke(&id, at(6)).unwrap();
    let d = deny(key_req(&w.bob_key, "inbox:read", at(7)));
    assert_eq!(d.reason(), DenyReason::KeyInactive);
    assert!(d.explain().contains("revoked"), "{}", d.explain());

    // Staff cannot pass as an ordinary session.
    let staff = Principal::staff("sam").unwrap();
    let d = deny(Request::new(
        Credential::Authenticated {
            principal: &staff,
            scope: Scope::tenant(w.acme),
        },
        "inbox:read",
        "x",
        "y",
        at(8),
    ));
    assert_eq!(d.reason(), DenyReason::BreakGlass);

    // Acme's log: 2 allowed + 5 denied (key scope, deny rule, cross-tenant, origin, staff session).
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 7, "{text}");
    assert_eq!(text.matches("\"status\":\"denied\"").count(), 5);
    for code in [
        "not_permitted",
        "cross_tenant",
        "origin_not_allowed",
        "break_glass",
    ] {
        assert!(text.contains(code), "missing {code}");
    }
    // Globex: the revoked key's attempt, under its key id. Malformed keys: the unattributed log.
    let (n, text) = records(&w, w.globex);
    assert_eq!(n, 1);
    assert!(text.contains("key_inactive") && text.contains(&format!("key:{id}")));
    let (n, text) = records(&w, palisade::UNATTRIBUTED);
    assert_eq!(n, 4);
    assert!(text.contains("service:unidentified") && text.contains("invalid_key"));
}

#[test]
fn tenant_limit_holds_across_keys_and_answers_retry_after() {
    let mut cfg = PalisadeConfig::default();
    cfg.rate_limits.plans.insert(
        "tiny".into(),
        PlanConfig::new(
            RateConfig::per_second(100),
            RateConfig::per_second(100),
            RateConfig::per_second(3),
        ),
    );
    cfg.rate_limits.default_plan = "tiny".into();
    let w = world_with(cfg);
    let second = {
        let new = NewKey::new(Scope::tenant(w.acme), "second")
            .owner(Principal::user("alice@acme.example").unwrap())
            .scopes(["inbox:*"])
            .unwrap();
        w.palisade
            .keys_unchecked()
            .issue(new, at(0))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let mut allowed = 0;
    let mut last = None;
    for i in 0..10 {
        let key = if i % 2 == 0 { &w.alice_key } else { &second };
        match w.palisade.authorize(&key_req(key, "inbox:read", at(10))) {
            Ok(_) => allowed += 1,
            Err(d) => last = Some(d),
        }
    }
    assert_eq!(allowed, 3);
    let d = last.unwrap();
    assert_eq!(
        d.reason(),
        DenyReason::RateLimited(palisade::LimitLevel::Tenant)
    );
    assert_eq!(d.kind().status(), 429);
    let r = d.rate_limit().unwrap();
    assert_eq!(r.retry_after_secs(), 1);
    // A second later the tenant may go on.
    assert!(
        w.palisade
            .authorize(&key_req(&second, "inbox:read", at(1_010)))
            .is_ok()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever key, permission and target: a request is never allowed
    /// outside the key's tenant, and every decision is audited exactly once.
    #[test]
    fn never_across_tenants_and_always_audited(
        steps in proptest::collection::vec((any::<bool>(), 0usize..5, 0u8..4), 1..20)
    ) {
        let w = world();
        let perms = ["inbox:read", "inbox:write", "knowledge:read", "billing:read", "billing:write"];
        let project = ProjectId::new_v7();
        let mut decisions = 0u64;
        for (alice, perm, target) in &steps {
            let (key, own) = if *alice { (&w.alice_key, w.acme) } else { (&w.bob_key, w.globex) };
            let other = if *alice { w.globex } else { w.acme };
            let target = match target {
                0 => None,
                1 => Some(Scope::tenant(other)),
                2 => Some(Scope::project(own, project)),
                _ => Some(Scope::project(other, project)),
            };
            let mut req = key_req(key, perms[*perm], at(1));
            req.target = target;
            if let Ok(a) = w.palisade.authorize(&req) {
                prop_assert_eq!(a.tenant(), own);
                prop_assert!(target.is_none_or(|t| t.tenant_id() == own));
            }
            decisions += 1;
        }
        let total = records(&w, w.acme).0 + records(&w, w.globex).0;
        prop_assert_eq!(total, decisions);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A key's scopes narrow, never widen: whatever it grants, a request
    /// through the key is allowed only if the owner's own session is.
    #[test]
    fn key_scopes_only_narrow(
        granted in proptest::collection::vec(
            proptest::sample::select(vec!["inbox:*", "inbox:read", "knowledge:read", "billing:*", "*:read", "*:*"]),
            1..4,
        )
    ) {
        let w = world();
        let alice = Principal::user("alice@acme.example").unwrap();
        let bob = Principal::user("bob@globex.example").unwrap();
        for (owner, tenant) in [(&alice, w.acme), (&bob, w.globex)] {
            let new = NewKey::new(Scope::tenant(tenant), "p").owner(owner.clone()).scopes(granted.iter().copied()).unwrap();
            let key = w.palisade.keys_unchecked().issue(new, at(0)).unwrap();
            for perm in ["inbox:read", "inbox:write", "knowledge:read", "billing:read", "billing:write"] {
                let via_key = w.palisade.authorize(&key_req(key.expose_secret(), perm, at(1))).is_ok();
                let session = Request::new(Credential::Authenticated { principal: owner, scope: Scope::tenant(tenant) }, perm, "x", "y", at(1));
                let as_owner = w.palisade.authorize(&session).is_ok();
                let key_grants = granted.iter().any(|g| palisade::apikey::scope_covers(g, perm));
                prop_assert!(!via_key || as_owner, "{perm}: key allowed what the owner may not");
                prop_assert_eq!(via_key, as_owner && key_grants, "{}", perm);
            }
        }
    }
}

#[test]
fn a_flood_of_bad_keys_from_one_address_is_cut_off_and_still_audited() {
    let w = world();
    let facts = RequestFacts {
        ip: Some("198.51.100.9".parse().unwrap()),
        ..RequestFacts::default()
    };
    let bad = |i: i64| {
        w.palisade
            .authorize(&key_req("pal_live_garbage", "inbox:read", at(i)).facts(facts))
            .unwrap_err()
    };
    for i in 0..20 {
        assert_eq!(bad(i).kind(), DenialKind::Unauthenticated);
    }
    let d = bad(20);
    assert_eq!(
        d.reason(),
        DenyReason::RateLimited(palisade::LimitLevel::Address)
    );
    assert_eq!(d.kind().status(), 429);
    // The first refusal over budget is audited, saying that the rest are suppressed…
    assert!(d.explain().contains("suppressed"), "{}", d.explain());
    assert_eq!(
        d.rate_limit().unwrap().policy_value(),
        "\"address\";q=20;w=120"
    );
    // …and the following ones are not audited one by one.
    assert!(bad(21).explain().contains("not audited"));
    // 20 within budget, the first over it, and (on export) the summary
    // record counting the one suppressed after it.
    assert_eq!(records(&w, palisade::UNATTRIBUTED).0, 22);
    // A valid key from the same address is unaffected.
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:read", at(21)).facts(facts))
            .is_ok()
    );
    // Another address has its own budget.
    let other = RequestFacts {
        ip: Some("198.51.100.10".parse().unwrap()),
        ..RequestFacts::default()
    };
    let d = w
        .palisade
        .authorize(&key_req("pal_live_garbage", "inbox:read", at(22)).facts(other))
        .unwrap_err();
    assert_eq!(d.kind(), DenialKind::Unauthenticated);
}
