//! Issue 11, F6 audit side: past the refused-credential budget refusals are
//! still seen (one full record and one summary per window), a refusal naming
//! a real key always reaches its tenant's log, and unusable credential
//! headers are counted and recorded.
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

use std::net::IpAddr;

use audit_path_support::{detail, events, reason, status};
use common::{at, key_req, world};
use palisade::{Credential, DenialKind, Request, RequestFacts, UNATTRIBUTED, UnusableCredential};

/// The default budget: a burst of 20 refusals per address network.
const BUDGET: i64 = 20;

#[cfg(test)]
fn from(ip: &str) -> RequestFacts<'static> {
    RequestFacts {
        ip: Some(ip.parse::<IpAddr>().unwrap()),
        ..RequestFacts::default()
    }
}

#[test]
fn a_flood_rotating_through_one_v6_64_gets_one_record_and_one_summary_per_window() {
    let w = world();
    let n = 500;
    for i in 0..n {
        let ip = format!("2001:db8:0:7::{:x}", i + 1);
        let d = w
            .palisade
            .authorize(&key_req("pal_live_garbage", "inbox:read", at(i)).facts(from(&ip)))
            .unwrap_err();
        let expected = if i < BUDGET { 401 } else { 429 };
        assert_eq!(d.kind().status(), expected, "request {i}: {}", d.explain());
    }
    let evs = events(&w.palisade, UNATTRIBUTED, at(n));
    // The budget's worth in full, the first over-budget one in full, one summary.
    assert_eq!(evs.len() as i64, BUDGET + 2, "{evs:#?}");
    let over = &evs[BUDGET as usize];
    assert_eq!(detail(over, "budget").as_deref(), Some("exceeded"));
    assert_eq!(
        detail(over, "client_net").as_deref(),
        Some("2001:db8:0:7::/64")
    );
    let summary = evs.last().unwrap();
    assert_eq!(status(summary), "denied");
    assert_eq!(
        summary.get("action").and_then(|v| v.as_str()),
        Some("credential.refusals_suppressed")
    );
    let suppressed = n - BUDGET - 1;
    assert_eq!(detail(summary, "suppressed"), Some(suppressed.to_string()));
    assert!(
        reason(summary).contains(&format!(
            "{suppressed} refusals from 2001:db8:0:7::/64 suppressed"
        )),
        "{}",
        reason(summary)
    );
    // Another /64 has its own budget.
    let d = w
        .palisade
        .authorize(
            &key_req("pal_live_garbage", "inbox:read", at(n + 1)).facts(from("2001:db8:0:8::1")),
        )
        .unwrap_err();
    assert_eq!(d.kind(), DenialKind::Unauthenticated);
}

#[test]
fn later_windows_get_their_own_record_and_summary() {
    let w = world();
    let mut over = 0;
    let mut bad = |i: i64| {
        let d = w
            .palisade
            .authorize(
                &key_req("pal_live_garbage", "inbox:read", at(i)).facts(from("198.51.100.9")),
            )
            .unwrap_err();
        over += i64::from(d.kind().status() == 429);
    };
    for i in 0..(BUDGET + 5) {
        bad(i);
    }
    // A minute later (the budget refilled a little): a new window.
    for i in 0..30 {
        bad(61_000 + i);
    }
    w.palisade.flush_refusal_summaries(at(200_000));
    let evs = events(&w.palisade, UNATTRIBUTED, at(200_001));
    let full = evs.iter().filter(|e| detail(e, "budget").is_some()).count() as i64;
    let summaries: Vec<i64> = evs
        .iter()
        .filter_map(|e| detail(e, "suppressed"))
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(full, 2, "one full record per window");
    assert_eq!(summaries.len(), 2, "one summary per window");
    // Every over-budget refusal is either recorded in full or counted.
    assert_eq!(full + summaries.iter().sum::<i64>(), over);
}

#[test]
fn a_revoked_key_after_the_budget_is_still_recorded_in_its_tenants_log() {
    let w = world();
    let ip = "2001:db8:1:2::99";
    for i in 0..BUDGET {
        w.palisade
            .authorize(&key_req("pal_live_garbage", "inbox:read", at(i)).facts(from(ip)))
            .unwrap_err();
    }
    let key_id = *w
        .palisade
        .keys_unchecked()
        .format()
        .parse(&w.alice_key)
        .unwrap()
        .key_id();
    w.palisade
        .keys_unchecked()
        .revoke(&key_id, at(BUDGET))
        .unwrap();
    let d = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(BUDGET + 1)).facts(from(ip)))
        .unwrap_err();
    assert_eq!(d.kind().status(), 429);
    let acme = events(&w.palisade, w.acme, at(1000));
    assert_eq!(acme.len(), 1, "{acme:#?}");
    assert_eq!(
        detail(&acme[0], "decision").as_deref(),
        Some("key_inactive")
    );
    assert_eq!(detail(&acme[0], "key_id"), Some(key_id.to_string()));
    assert_eq!(
        acme[0].pointer("/actor/principal").and_then(|v| v.as_str()),
        Some(format!("key:{key_id}").as_str())
    );
}

#[test]
fn a_flood_with_a_real_key_is_summarised_in_that_tenants_log() {
    let w = world();
    let key_id = *w
        .palisade
        .keys_unchecked()
        .format()
        .parse(&w.alice_key)
        .unwrap()
        .key_id();
    w.palisade.keys_unchecked().revoke(&key_id, at(0)).unwrap();
    for i in 0..100 {
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:read", at(i + 1)).facts(from("2001:db8:9::1")))
            .unwrap_err();
    }
    let acme = events(&w.palisade, w.acme, at(1000));
    assert_eq!(acme.len() as i64, BUDGET + 2, "{acme:#?}");
    let summary = acme.last().unwrap();
    assert_eq!(
        detail(summary, "suppressed"),
        Some((100 - BUDGET - 1).to_string())
    );
    assert_eq!(detail(summary, "key_id"), Some(key_id.to_string()));
    assert!(events(&w.palisade, UNATTRIBUTED, at(1000)).is_empty());
}

#[test]
fn unusable_credentials_are_recorded_and_count_against_the_budget() {
    let w = world();
    let ip = "203.0.113.5";
    let unusable = |problem, claimed, i: i64| {
        let req = Request::new(
            Credential::Unusable { problem, claimed },
            "inbox:read",
            "inbox",
            "/inbox",
            at(i),
        )
        .facts(from(ip));
        w.palisade.authorize(&req).unwrap_err()
    };
    // Naming a real key: attributed to its tenant.
    let d = unusable(
        UnusableCredential::TwoCredentials,
        Some(w.alice_key.as_str()),
        0,
    );
    assert_eq!(d.kind(), DenialKind::Unauthenticated);
    let acme = events(&w.palisade, w.acme, at(10));
    assert_eq!(acme.len(), 1);
    assert!(
        reason(&acme[0]).contains("two_credentials"),
        "{}",
        reason(&acme[0])
    );
    // Naming none: the unattributed log.
    for (i, p) in [
        UnusableCredential::WrongScheme,
        UnusableCredential::Empty,
        UnusableCredential::TooLong,
        UnusableCredential::Unreadable,
    ]
    .into_iter()
    .enumerate()
    {
        unusable(p, None, 1 + i as i64);
    }
    let un = events(&w.palisade, UNATTRIBUTED, at(10));
    assert_eq!(un.len(), 4);
    for (ev, code) in un
        .iter()
        .zip(["wrong_scheme", "empty", "too_long", "unreadable"])
    {
        assert!(reason(ev).contains(code), "{}", reason(ev));
        assert_eq!(detail(ev, "decision").as_deref(), Some("invalid_key"));
    }
    // They spent the budget: the 21st refusal from the address is a 429.
    for i in 5..BUDGET {
        assert_eq!(
            unusable(UnusableCredential::Empty, None, i).kind().status(),
            401
        );
    }
    assert_eq!(
        unusable(UnusableCredential::Empty, None, BUDGET)
            .kind()
            .status(),
        429
    );
}
