//! Staff break-glass: time-bound, reasoned, audited.
#![cfg(feature = "service")]

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::time::Duration;

use palisade::tenancy::{Principal, Scope};
use palisade::{Credential, DenyReason, Request};

use common::{at, records, world};

#[test]
fn break_glass_is_time_bound_reasoned_and_audited() {
    let w = world();
    let p = &w.palisade;
    let sam = Principal::staff("sam").unwrap();
    let scope = Scope::tenant(w.acme);
    let hour = Duration::from_secs(3600);
    // Refusals.
    let e = p.break_glass(
        &Principal::user("eve").unwrap(),
        scope,
        &["inbox:read"],
        "ticket 1234 debugging",
        hour,
        at(0),
    );
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("not a `staff:` principal")
    );
    assert!(
        p.break_glass(&sam, scope, &["inbox:read"], "short", hour, at(0))
            .unwrap_err()
            .to_string()
            .contains("reason")
    );
    assert!(
        p.break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "ticket 1234 debugging",
            hour * 2,
            at(0)
        )
        .is_err()
    );
    assert!(
        p.break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "ticket 1234 debugging",
            Duration::ZERO,
            at(0)
        )
        .is_err()
    );
    assert!(
        p.break_glass(
            &sam,
            scope,
            &["not a permission"],
            "ticket 1234 debugging",
            hour,
            at(0)
        )
        .is_err()
    );

    let g = p
        .break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "  ticket 1234 debugging ",
            Duration::from_secs(600),
            at(0),
        )
        .unwrap();
    assert_eq!(g.reason, "ticket 1234 debugging");
    assert_eq!(g.expires_at, at(600_000));
    let staff_req = |perm, now, target: Option<Scope>| {
        let mut r = Request::new(
            Credential::Staff {
                principal: &sam,
                grant: g.id,
            },
            perm,
            "inbox",
            "c-1",
            now,
        );
        r.target = target;
        r
    };
    let a = p.authorize(&staff_req("inbox:read", at(1), None)).unwrap();
    assert_eq!(a.staff_reason(), Some("ticket 1234 debugging"));
    assert_eq!(a.tenant(), w.acme);
    assert!(a.rate_status().is_none());
    let d = p
        .authorize(&staff_req("inbox:write", at(2), None))
        .unwrap_err();
    assert_eq!(d.reason(), DenyReason::BreakGlass);
    assert!(
        p.authorize(&staff_req(
            "inbox:read",
            at(3),
            Some(Scope::tenant(w.globex))
        ))
        .is_err()
    );
    let other = Principal::staff("oscar").unwrap();
    let r = Request::new(
        Credential::Staff {
            principal: &other,
            grant: g.id,
        },
        "inbox:read",
        "inbox",
        "c-1",
        at(4),
    );
    assert!(p.authorize(&r).is_err(), "someone else's grant");
    assert!(p.end_break_glass(g.id, at(5)).unwrap());
    assert!(!p.end_break_glass(g.id, at(5)).unwrap());
    assert!(
        p.authorize(&staff_req("inbox:read", at(6), None)).is_err(),
        "ended"
    );
    // A second grant runs out on its own.
    let g2 = p
        .break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "ticket 1234 debugging",
            Duration::from_secs(60),
            at(7),
        )
        .unwrap();
    let expired = Request::new(
        Credential::Staff {
            principal: &sam,
            grant: g2.id,
        },
        "inbox:read",
        "inbox",
        "c-1",
        at(60_007),
    );
    assert!(
        p.authorize(&expired)
            .unwrap_err()
            .explain()
            .contains("expired")
    );
    assert!(
        !p.end_break_glass(g2.id, at(60_008)).unwrap(),
        "expired grants are dropped"
    );

    // Acme: grant, allowed use, denied write, oscar's attempt, end, second grant, expired use.
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 7, "{text}");
    assert_eq!(
        text.matches("ticket 1234 debugging").count(),
        6,
        "the reason on each of sam's records"
    );
    assert!(
        text.contains("\"principal\":\"staff:oscar\",\"reason\":\"no valid break-glass grant\"")
    );
    assert!(text.contains("break_glass.grant") && text.contains("break_glass.end"));
    // The attempt on Globex is in Globex's log; the use after the end, unattributed.
    assert_eq!(records(&w, w.globex).0, 1);
    assert_eq!(records(&w, palisade::UNATTRIBUTED).0, 1);
}

#[cfg(test)]
fn sam_grant(w: &common::World, now: palisade::tenancy::Timestamp) -> palisade::BreakGlassGrant {
    w.palisade
        .break_glass(
            &Principal::staff("sam").unwrap(),
            Scope::tenant(w.acme),
            &["inbox:read", "billing:*"],
            "ticket 1234 debugging",
            Duration::from_secs(600),
            now,
        )
        .unwrap()
}

/// Issue 12: grant ids were a per-process counter (1, 2, …): guessable and
/// colliding between replicas. They are 128 random bits in text form.
#[test]
fn break_glass_grant_ids_are_random_128_bit_text() {
    let w = world();
    let ids: Vec<String> = (0..8)
        .map(|i| sam_grant(&w, at(i)).id.to_string())
        .collect();
    for id in &ids {
        assert_eq!(id.len(), 35, "{id}");
        assert!(id.starts_with("bg_"), "{id}");
        assert_ne!(id.as_str(), "1");
        assert_eq!(id.parse::<palisade::GrantId>().unwrap().to_string(), *id);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    // A guessed id is refused like any unknown grant.
    let sam = Principal::staff("sam").unwrap();
    let guess: palisade::GrantId = "bg_00000000000000000000000000000001".parse().unwrap();
    let r = Request::new(
        Credential::Staff {
            principal: &sam,
            grant: guess,
        },
        "inbox:read",
        "inbox",
        "c-1",
        at(10),
    );
    assert_eq!(
        w.palisade.authorize(&r).unwrap_err().reason(),
        DenyReason::BreakGlass
    );
}

/// Issue 11: the `break_glass.grant` record named neither what was granted
/// nor until when.
#[test]
fn break_glass_grant_record_carries_permissions_and_expiry() {
    let w = world();
    let g = sam_grant(&w, at(0));
    let (_, text) = records(&w, w.acme);
    let line = text
        .lines()
        .find(|l| l.contains("break_glass.grant"))
        .expect("grant record");
    assert!(
        line.contains("\"permissions\":{\"str\":\"inbox:read billing:*\"}"),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "\"expires_at\":{{\"int\":{}}}",
            g.expires_at.unix_millis()
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "\"granted_at\":{{\"int\":{}}}",
            g.granted_at.unix_millis()
        )),
        "{line}"
    );
}

/// Issue 11: a grant worked before its `granted_at` (a request dated
/// earlier than the grant, e.g. from a replica with a slow clock).
#[test]
fn break_glass_grant_refused_before_granted_at() {
    let w = world();
    let g = sam_grant(&w, at(10_000));
    let sam = Principal::staff("sam").unwrap();
    let req = |now| {
        Request::new(
            Credential::Staff {
                principal: &sam,
                grant: g.id,
            },
            "inbox:read",
            "inbox",
            "c-1",
            now,
        )
    };
    let d = w.palisade.authorize(&req(at(9_999))).unwrap_err();
    assert_eq!(d.reason(), DenyReason::BreakGlass);
    assert!(d.explain().contains("starts at"), "{}", d.explain());
    assert!(w.palisade.authorize(&req(at(10_000))).is_ok());
}

/// Grants too large to record in full are refused, not recorded truncated.
#[test]
fn break_glass_grant_with_unrecordable_permission_list_is_refused() {
    let w = world();
    let many: Vec<String> = (0..40).map(|i| format!("resource{i}:read")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = w
        .palisade
        .break_glass(
            &Principal::staff("sam").unwrap(),
            Scope::tenant(w.acme),
            &many,
            "ticket 1234 debugging",
            Duration::from_secs(60),
            at(0),
        )
        .unwrap_err();
    assert!(e.to_string().contains("break_glass.permissions"), "{e}");
    assert_eq!(records(&w, w.acme).0, 0, "no record, no grant");
}

/// A store that must wait for its backend makes the sync methods fail
/// closed (no grant, 503 on use) instead of blocking.
#[test]
fn break_glass_with_a_waiting_store_fails_closed_in_sync_calls() {
    use palisade::{GrantFuture, GrantId, GrantLookup, GrantStore};
    struct Pending;
    impl GrantStore for Pending {
        fn lookup(&self, _: &GrantId) -> GrantLookup {
            GrantLookup::Miss
        }
        fn fetch(
            &self,
            _: GrantId,
        ) -> GrantFuture<'_, Option<std::sync::Arc<palisade::BreakGlassGrant>>> {
            Box::pin(std::future::pending())
        }
        fn insert(&self, _: palisade::BreakGlassGrant) -> GrantFuture<'_, ()> {
            Box::pin(std::future::pending())
        }
        fn end(
            &self,
            _: GrantId,
            _: palisade::tenancy::Timestamp,
        ) -> GrantFuture<'_, Option<palisade::BreakGlassGrant>> {
            Box::pin(std::future::pending())
        }
    }
    let p = palisade::Palisade::builder(palisade::PalisadeConfig::default())
        .grant_store(std::sync::Arc::new(Pending))
        .build()
        .unwrap();
    let sam = Principal::staff("sam").unwrap();
    let e = p
        .break_glass(
            &sam,
            Scope::tenant(palisade::tenancy::TenantId::new_v7()),
            &["inbox:read"],
            "ticket 1234 debugging",
            Duration::from_secs(60),
            at(0),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            palisade::PalisadeError::GrantStore(palisade::GrantStoreError::WouldBlock)
        ),
        "{e}"
    );
    let id = GrantId::random().unwrap();
    let r = Request::new(
        Credential::Staff {
            principal: &sam,
            grant: id,
        },
        "inbox:read",
        "inbox",
        "c-1",
        at(1),
    );
    assert_eq!(
        p.authorize(&r).unwrap_err().kind(),
        palisade::DenialKind::Unavailable
    );
}
