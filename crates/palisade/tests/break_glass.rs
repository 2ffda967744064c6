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
    assert!(p.end_break_glass(g.id, at(5)));
    assert!(!p.end_break_glass(g.id, at(5)));
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
        !p.end_break_glass(g2.id, at(60_008)),
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
