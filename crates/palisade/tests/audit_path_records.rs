//! Issue 11, facade side: what each record says (the acting key id, staff
//! keys, scrubbed free text) and handler outcomes linked to decisions.
#![cfg(feature = "service")]

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod audit_path_support;
#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use audit_path_support::{actor, detail, events, reason, status};
use common::{at, key_req, world};
use palisade::apikey::KeyStore;
use palisade::audit::{DetailValue, Outcome};
use palisade::tenancy::{Principal, Scope, Scoped};
use palisade::{Credential, DenialKind, DenyReason, Request, RequestFacts};

/// Poll a future that the in-memory store completes at once.
#[cfg(test)]
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the memory store never waits"),
    }
}

#[cfg(test)]
fn key_id_of(p: &palisade::Palisade, key: &str) -> String {
    p.keys_unchecked()
        .format()
        .parse(key)
        .unwrap()
        .key_id()
        .to_string()
}

#[test]
fn the_acting_key_is_recorded_under_key_id_and_not_masked() {
    let w = world();
    let id = key_id_of(&w.palisade, &w.alice_key);
    w.palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
        .unwrap();
    w.palisade
        .authorize(&key_req(&w.alice_key, "billing:write", at(2)))
        .unwrap_err();
    let evs = events(&w.palisade, w.acme, at(10));
    assert_eq!(evs.len(), 2);
    for ev in &evs {
        assert_eq!(actor(ev), "user:alice@acme.example");
        assert_eq!(detail(ev, "key_id").as_deref(), Some(id.as_str()), "{ev}");
        assert!(!ev.to_string().contains("[redacted]"), "{ev}");
    }
}

#[test]
fn secret_looking_details_stay_redacted() {
    let w = world();
    let auth = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
        .unwrap();
    auth.record_outcome(
        Outcome::Allowed,
        [
            ("api_key", DetailValue::Str("anything".to_owned())),
            (
                "note",
                DetailValue::Str("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig".to_owned()),
            ),
            ("leaked", DetailValue::Str(w.bob_key.clone())),
            ("rows", DetailValue::Int(3)),
        ],
    )
    .unwrap();
    let evs = events(&w.palisade, w.acme, at(10));
    let outcome = &evs[1];
    for masked in ["api_key", "note", "leaked"] {
        assert_eq!(
            detail(outcome, masked).as_deref(),
            Some("[redacted]"),
            "{masked}"
        );
    }
    assert_eq!(detail(outcome, "rows").as_deref(), Some("3"));
    assert!(!outcome.to_string().contains(&w.bob_key));
}

#[test]
fn a_staff_owned_key_is_refused_and_recorded_in_its_tenants_log() {
    let w = world();
    let id = key_id_of(&w.palisade, &w.alice_key);
    // A record made staff-owned behind the API's back but validly sealed
    // (e.g. written and sealed before staff owners were refused at issue).
    let key_id = *w
        .palisade
        .keys_unchecked()
        .format()
        .parse(&w.alice_key)
        .unwrap()
        .key_id();
    let keys = w.palisade.keys_unchecked();
    let staff = Principal::staff("eve@vendor.example").unwrap();
    ready(keys.store().update(
        &key_id,
        Box::new(|r| {
            let mut r = r.clone();
            r.owner = Some(staff.clone());
            r.generation += 1;
            Ok(keys.seal_legacy(r))
        }),
    ))
    .unwrap();
    let d = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
        .unwrap_err();
    assert_eq!(d.reason(), DenyReason::BreakGlass, "{}", d.explain());
    // A cross-tenant probe with the same key lands in both logs.
    let probe = key_req(&w.alice_key, "inbox:read", at(2)).target(Scope::tenant(w.globex));
    assert_eq!(
        w.palisade.authorize(&probe).unwrap_err().kind(),
        DenialKind::Forbidden
    );
    let acme = events(&w.palisade, w.acme, at(10));
    assert_eq!(acme.len(), 2, "{acme:?}");
    for ev in &acme {
        assert_eq!(status(ev), "denied");
        assert_eq!(detail(ev, "decision").as_deref(), Some("break_glass"));
        assert_eq!(detail(ev, "key_id").as_deref(), Some(id.as_str()));
    }
    let globex = events(&w.palisade, w.globex, at(10));
    assert_eq!(globex.len(), 1, "{globex:?}");
    assert_eq!(detail(&globex[0], "key_id").as_deref(), Some(id.as_str()));
}

#[test]
fn resource_ids_user_agents_and_reasons_are_scrubbed_of_credentials() {
    let w = world();
    let path = format!("/v1/keys/{}", w.bob_key);
    let ua = format!("curl/8.5 ({})", w.bob_key);
    let origin = format!("https://evil.example/{}", w.bob_key);
    let facts = RequestFacts {
        user_agent: Some(&ua),
        origin: Some(&origin),
        ..RequestFacts::default()
    };
    let allowed = Request::new(
        Credential::ApiKey(&w.alice_key),
        "inbox:read",
        "key",
        &path,
        at(1),
    )
    .facts(RequestFacts {
        user_agent: Some(&ua),
        ..RequestFacts::default()
    });
    w.palisade.authorize(&allowed).unwrap();
    // Refused: the origin (which quotes a key) ends up in the explanation.
    let refused = Request::new(
        Credential::ApiKey(&w.alice_key),
        "inbox:read",
        "key",
        &path,
        at(2),
    )
    .facts(facts);
    let d = w.palisade.authorize(&refused).unwrap_err();
    assert_eq!(d.reason(), DenyReason::OriginNotAllowed);
    // The key keeps its public display form (up to its key id); the secret goes.
    let bob_id = key_id_of(&w.palisade, &w.bob_key);
    let end = w.bob_key.find(&bob_id).unwrap() + bob_id.len();
    let (shown, secret) = w.bob_key.split_at(end);
    let evs = events(&w.palisade, w.acme, at(10));
    assert_eq!(evs.len(), 2);
    for ev in &evs {
        let text = ev.to_string();
        assert!(!text.contains(secret), "{text}");
        assert_eq!(
            ev.pointer("/resource/uid").and_then(|v| v.as_str()),
            Some(format!("/v1/keys/{shown}[redacted]").as_str())
        );
        assert_eq!(
            ev.pointer("/request/user_agent").and_then(|v| v.as_str()),
            Some(format!("curl/8.5 ({shown}[redacted])").as_str())
        );
    }
    assert!(
        reason(&evs[1]).contains(&format!("https://evil.example/{shown}[redacted]")),
        "{}",
        reason(&evs[1])
    );
}

#[test]
fn record_outcome_appends_an_outcome_record_linked_to_the_decision() {
    let w = world();
    let auth = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
        .unwrap();
    // Every clone shares the link (the extractor hands out clones).
    auth.clone()
        .record_outcome(Outcome::Failed, [("rows", DetailValue::Int(0))])
        .unwrap();
    let evs = events(&w.palisade, w.acme, at(10));
    assert_eq!(evs.len(), 2);
    let (decision, outcome) = (&evs[0], &evs[1]);
    assert_eq!(status(decision), "allowed");
    assert_eq!(status(outcome), "failed");
    assert_eq!(
        detail(outcome, "decision_id").as_deref(),
        decision.get("uid").and_then(|v| v.as_str())
    );
    assert_eq!(detail(outcome, "decision_index").as_deref(), Some("0"));
    assert_eq!(detail(outcome, "rows").as_deref(), Some("0"));
    assert_eq!(outcome.get("action"), decision.get("action"));
    assert_eq!(detail(outcome, "key_id"), detail(decision, "key_id"));
    // Invalid detail names are refused, not dropped silently.
    assert!(
        auth.record_outcome(Outcome::Allowed, [("Bad Name", DetailValue::Int(1))])
            .is_err()
    );
}

#[test]
fn a_cross_tenant_open_is_recorded_in_the_callers_and_the_owners_log() {
    let w = world();
    let auth = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
        .unwrap();
    let theirs = Scoped::new(Scope::tenant(w.globex), "globex row");
    assert!(auth.open(&theirs).is_err());
    assert_eq!(auth.open(&auth.own(1)).unwrap(), &1);
    let acme = events(&w.palisade, w.acme, at(10));
    assert_eq!(acme.len(), 2);
    assert_eq!(status(&acme[1]), "denied");
    assert_eq!(
        detail(&acme[1], "decision").as_deref(),
        Some("cross_tenant")
    );
    let globex = events(&w.palisade, w.globex, at(10));
    assert_eq!(globex.len(), 1, "{globex:?}");
    let ev = &globex[0];
    assert_eq!(status(ev), "denied");
    assert_eq!(actor(ev), "user:alice@acme.example");
    assert_eq!(detail(ev, "decision").as_deref(), Some("cross_tenant"));
    assert_eq!(
        detail(ev, "caller_tenant").as_deref(),
        Some(w.acme.to_string().as_str())
    );
    assert_eq!(
        detail(ev, "decision_id"),
        acme[0]
            .get("uid")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    );
}

#[test]
fn a_cross_tenant_open_sealed_is_recorded_in_the_owners_log() {
    let w = world();
    let auth = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
        .unwrap();
    let globex = w.palisade.envelope().for_scope(Scope::tenant(w.globex));
    let ct = globex.seal(&globex.context(), b"globex secret").unwrap();
    assert!(auth.open_sealed(&globex.context(), &ct).is_err());
    // The handler's own data opens and records nothing more.
    let mine = auth
        .envelope()
        .seal(&auth.envelope().context(), b"x")
        .unwrap();
    assert_eq!(
        &auth.open_sealed(&auth.envelope().context(), &mine).unwrap()[..],
        b"x"
    );
    assert_eq!(events(&w.palisade, w.acme, at(10)).len(), 2);
    let evs = events(&w.palisade, w.globex, at(10));
    assert_eq!(evs.len(), 1);
    assert_eq!(detail(&evs[0], "decision").as_deref(), Some("cross_tenant"));
}

#[test]
fn a_key_cut_by_the_reason_length_limit_leaks_no_part_of_its_secret() {
    let w = world();
    let bob_id = key_id_of(&w.palisade, &w.bob_key);
    let end = w.bob_key.find(&bob_id).unwrap() + bob_id.len();
    let secret = &w.bob_key[end..];
    // The key straddles the 512-byte limit of the recorded reason.
    let origin = format!("https://e.example/{}{}", "a".repeat(434), w.bob_key);
    let facts = RequestFacts {
        origin: Some(&origin),
        ..RequestFacts::default()
    };
    let d = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)).facts(facts))
        .unwrap_err();
    assert_eq!(d.reason(), DenyReason::OriginNotAllowed);
    let evs = events(&w.palisade, w.acme, at(10));
    let text = evs[0].to_string();
    assert!(reason(&evs[0]).len() <= 512);
    for i in 0..secret.len() - 6 {
        assert!(
            !text.contains(&secret[i..i + 6]),
            "secret fragment in {text}"
        );
    }
}

#[test]
fn a_key_cut_by_the_resource_id_length_limit_leaks_no_part_of_its_secret() {
    let w = world();
    let bob_id = key_id_of(&w.palisade, &w.bob_key);
    let end = w.bob_key.find(&bob_id).unwrap() + bob_id.len();
    let secret = &w.bob_key[end..];
    // The key straddles the 256-byte limit of the recorded resource id.
    let path = format!("/v1/{}/{}", "a".repeat(220), w.bob_key);
    let req = Request::new(
        Credential::ApiKey(&w.alice_key),
        "inbox:read",
        "key",
        &path,
        at(1),
    );
    w.palisade.authorize(&req).unwrap();
    let evs = events(&w.palisade, w.acme, at(10));
    let text = evs[0].to_string();
    for i in 0..secret.len() - 6 {
        assert!(
            !text.contains(&secret[i..i + 6]),
            "secret fragment in {text}"
        );
    }
}
