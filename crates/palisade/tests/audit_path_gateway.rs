//! Issue 11 "done when": the gateway scenario through the axum layer — a
//! flood from one IPv6 /64 behind the load balancer, a revoked key after the
//! budget, unusable credential headers, a cross-tenant lookup refused in a
//! handler, a key in the path, a handler failure, and requests through a
//! trusted proxy with a spoofed header and from an untrusted peer with one —
//! then both tenants' exports (and the unattributed log) verify and hold
//! every expected record.
#![cfg(feature = "axum")]

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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use audit_path_support::{actor, detail, events, reason, status};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use palisade::audit::{DetailValue, Outcome};
use palisade::tenancy::{Scope, Scoped, Timestamp};
use palisade::{Authorized, PalisadeConfig, PalisadeLayer, UNATTRIBUTED};
use serde_json::Value;
use tower::ServiceExt;

use common::world_with;

/// Rows of both tenants, each owned by its tenant's scope.
type Rows = Arc<HashMap<String, Scoped<String>>>;

async fn lookup(auth: Authorized, State(rows): State<Rows>, Path(id): Path<String>) -> StatusCode {
    match rows.get(&id).map(|row| auth.open(row)) {
        Some(Ok(_)) => StatusCode::OK,
        // Another tenant's row: recorded by `open` in both logs; the
        // caller learns nothing more than "not found".
        Some(Err(_)) | None => StatusCode::NOT_FOUND,
    }
}

async fn inbox(auth: Authorized) -> StatusCode {
    match auth.record_outcome(Outcome::Allowed, [("items", DetailValue::Int(3))]) {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn broken(_auth: Authorized) -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

#[cfg(test)]
async fn call(app: &Router, peer: &str, path: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    app.clone().oneshot(req).await.unwrap().status()
}

#[cfg(test)]
fn find<'a>(evs: &'a [Value], what: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    evs.iter()
        .find(|e| pred(e))
        .unwrap_or_else(|| panic!("no record: {what}\n{evs:#?}"))
}

#[tokio::test]
async fn gateway_scenario_through_the_layer_leaves_every_record_in_the_right_log() {
    let mut config = PalisadeConfig::default();
    config.http.trusted_proxies = vec!["10.0.0.0/8".to_owned()];
    let w = world_with(config);
    let p = w.palisade.clone();
    let rows: Rows = Arc::new(HashMap::from([
        (
            "row_acme".to_owned(),
            Scoped::new(Scope::tenant(w.acme), "a".to_owned()),
        ),
        (
            "row_globex".to_owned(),
            Scoped::new(Scope::tenant(w.globex), "g".to_owned()),
        ),
    ]));
    let app = Router::new()
        .route("/v1/keys/{id}", get(lookup))
        .route("/inbox", get(inbox))
        .route("/broken", get(broken))
        .route_layer(PalisadeLayer::new(p.clone(), "inbox:read").record_route_template())
        .with_state(rows);
    let lb = "10.0.0.1:443";
    let alice = format!("Bearer {}", w.alice_key);
    let bob = format!("Bearer {}", w.bob_key);
    let bob_id = *p
        .keys_unchecked()
        .format()
        .parse(&w.bob_key)
        .unwrap()
        .key_id();
    let alice_id = p
        .keys_unchecked()
        .format()
        .parse(&w.alice_key)
        .unwrap()
        .key_id()
        .to_string();

    // 1. A flood of junk keys from one /64, rotating addresses, via the LB.
    let mut codes = Vec::new();
    for i in 0..200 {
        let xff = format!("2001:db8:bad:1::{:x}", i + 1);
        let code = call(
            &app,
            lb,
            "/inbox",
            &[
                ("authorization", "Bearer pal_live_junk"),
                ("x-forwarded-for", &xff),
            ],
        )
        .await;
        codes.push(code.as_u16());
    }
    assert_eq!(codes.iter().filter(|c| **c == 401).count(), 20);
    assert_eq!(codes.iter().filter(|c| **c == 429).count(), 180);

    // 2. Bob's key, revoked, from the same /64 after the budget: 429, recorded for Globex.
    p.keys_unchecked()
        .revoke(&bob_id, Timestamp::now())
        .unwrap();
    let code = call(
        &app,
        lb,
        "/inbox",
        &[
            ("authorization", &bob),
            ("x-forwarded-for", "2001:db8:bad:1::ffff"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);

    // 3. Unusable credential headers (no tenant known, then naming Alice's key).
    let code = call(
        &app,
        "192.0.2.50:1",
        "/inbox",
        &[("authorization", "Basic YWxpY2U6cHc=")],
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let code = call(
        &app,
        "192.0.2.50:1",
        "/inbox",
        &[("authorization", &alice), ("x-api-key", "other")],
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // 4. Through the LB with a spoofed leftmost entry: the client is the LB's peer.
    let code = call(
        &app,
        lb,
        "/inbox",
        &[
            ("authorization", &alice),
            ("x-forwarded-for", "10.9.9.9, 198.51.100.20"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    // 5. From an untrusted peer claiming to be behind the LB: ignored.
    let code = call(
        &app,
        "203.0.113.9:5000",
        "/inbox",
        &[
            ("authorization", &alice),
            ("x-forwarded-for", "10.0.0.7"),
            ("forwarded", "for=10.0.0.7"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::OK);

    // 6. Cross-tenant lookup in a handler, and a key in the path.
    let code = call(
        &app,
        lb,
        "/v1/keys/row_globex",
        &[
            ("authorization", &alice),
            ("x-forwarded-for", "198.51.100.20"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let path = format!("/v1/keys/{}", w.bob_key);
    let code = call(
        &app,
        lb,
        &path,
        &[
            ("authorization", &alice),
            ("x-forwarded-for", "198.51.100.20"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // 7. A handler failure.
    let code = call(
        &app,
        lb,
        "/broken",
        &[
            ("authorization", &alice),
            ("x-forwarded-for", "198.51.100.20"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);

    // The exports verify and hold every expected record.
    let now = Timestamp::now();
    let acme = events(&p, w.acme, now);
    let globex = events(&p, w.globex, now);
    let unattributed = events(&p, UNATTRIBUTED, now);
    let ip = |e: &Value| {
        e.pointer("/request/src_ip")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let uid = |e: &Value| {
        e.pointer("/resource/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };

    // Flood: 20 in full, the first over budget in full, one summary of the rest.
    let junk: Vec<_> = unattributed
        .iter()
        .filter(|e| ip(e).starts_with("2001:db8:bad:1::"))
        .collect();
    assert_eq!(junk.len(), 21, "{junk:#?}");
    let summary = find(&unattributed, "flood summary", |e| {
        detail(e, "suppressed").is_some()
    });
    assert_eq!(detail(summary, "suppressed").as_deref(), Some("179"));
    assert!(
        reason(summary).contains("179 refusals from 2001:db8:bad:1::/64 suppressed"),
        "{}",
        reason(summary)
    );
    // No record names the load balancer as the client.
    for e in acme.iter().chain(&globex).chain(&unattributed) {
        assert!(!ip(e).starts_with("10."), "{e}");
    }

    // Revoked key after the budget: in Globex's log, in full.
    let revoked = find(&globex, "revoked key", |e| {
        detail(e, "decision").as_deref() == Some("key_inactive")
    });
    assert_eq!(detail(revoked, "key_id"), Some(bob_id.to_string()));
    assert_eq!(ip(revoked), "2001:db8:bad:1::ffff");

    // Unusable headers: Basic in the unattributed log, two credentials in Acme's.
    find(&unattributed, "Basic credential", |e| {
        reason(e).contains("wrong_scheme") && ip(e) == "192.0.2.50"
    });
    find(&acme, "two credentials", |e| {
        reason(e).contains("two_credentials")
            && detail(e, "key_id").as_deref() == Some(alice_id.as_str())
    });

    // Proxies: the spoofed entry is skipped, the untrusted peer's claim ignored.
    let via_lb = find(&acme, "inbox via the LB", |e| {
        status(e) == "allowed"
            && ip(e) == "198.51.100.20"
            && uid(e) == "/inbox"
            && detail(e, "decision_id").is_none()
    });
    assert_eq!(detail(via_lb, "key_id").as_deref(), Some(alice_id.as_str()));
    find(&acme, "inbox outcome", |e| {
        detail(e, "items").as_deref() == Some("3")
            && detail(e, "decision_id")
                == via_lb.get("uid").and_then(Value::as_str).map(str::to_owned)
    });
    find(&acme, "untrusted peer", |e| {
        status(e) == "allowed" && ip(e) == "203.0.113.9"
    });

    // Cross-tenant lookup: allowed decision + denied outcome in Acme's log, a
    // record in Globex's; the route template is the resource, no key in any record.
    let decisions: Vec<_> = acme
        .iter()
        .filter(|e| uid(e) == "/v1/keys/{id}" && status(e) == "allowed")
        .collect();
    assert_eq!(decisions.len(), 2, "{acme:#?}");
    let cross = find(&acme, "cross-tenant outcome", |e| {
        detail(e, "decision").as_deref() == Some("cross_tenant")
    });
    assert_eq!(status(cross), "denied");
    let owner = find(&globex, "cross-tenant in the owner's log", |e| {
        detail(e, "decision").as_deref() == Some("cross_tenant")
    });
    assert_eq!(actor(owner), "user:alice@acme.example");
    assert_eq!(detail(owner, "caller_tenant"), Some(w.acme.to_string()));
    // The 404 after a recorded refusal is not recorded again; the other 404 is.
    let failed_404: Vec<_> = acme
        .iter()
        .filter(|e| detail(e, "http_status").as_deref() == Some("404"))
        .collect();
    assert_eq!(failed_404.len(), 1, "{failed_404:#?}");
    for e in acme.iter().chain(&globex).chain(&unattributed) {
        assert!(!e.to_string().contains(&w.bob_key), "{e}");
    }

    // Handler failure: a `failed` outcome linked to its decision.
    let failed = find(&acme, "500 outcome", |e| {
        detail(e, "http_status").as_deref() == Some("500")
    });
    assert_eq!(status(failed), "failed");
    let decision = find(&acme, "500 decision", |e| {
        uid(e) == "/broken" && status(e) == "allowed"
    });
    assert_eq!(
        detail(failed, "decision_id"),
        decision
            .get("uid")
            .and_then(Value::as_str)
            .map(str::to_owned)
    );
}

#[tokio::test]
async fn every_unusable_credential_header_is_refused_counted_and_recorded_by_the_layer() {
    let w = world_with(PalisadeConfig::default());
    let p = w.palisade.clone();
    let app: Router = Router::new()
        .route("/inbox", get(inbox))
        .route_layer(PalisadeLayer::new(p.clone(), "inbox:read"));
    let long = format!("Bearer {}", "x".repeat(600));
    let opaque = axum::http::HeaderValue::from_bytes(b"Bearer \xffkey").unwrap();
    let cases: [(&str, Vec<(&str, axum::http::HeaderValue)>); 6] = [
        (
            "wrong_scheme",
            vec![("authorization", "Basic YTpi".parse().unwrap())],
        ),
        ("empty", vec![("authorization", "Bearer".parse().unwrap())]),
        ("empty", vec![("x-api-key", "  ".parse().unwrap())]),
        ("too_long", vec![("authorization", long.parse().unwrap())]),
        ("unreadable", vec![("authorization", opaque)]),
        (
            "two_credentials",
            vec![
                ("x-api-key", "a".parse().unwrap()),
                ("x-api-key", "b".parse().unwrap()),
            ],
        ),
    ];
    for (i, (_, headers)) in cases.iter().enumerate() {
        let mut req = Request::builder()
            .uri("/inbox")
            .body(Body::empty())
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().append(*k, v.clone());
        }
        let peer: SocketAddr = format!("198.51.100.{}:1", 10 + i).parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "case {i}");
    }
    let evs = events(&p, UNATTRIBUTED, Timestamp::now());
    assert_eq!(evs.len(), cases.len(), "{evs:#?}");
    for (ev, (code, _)) in evs.iter().zip(&cases) {
        assert!(reason(ev).contains(code), "{code}: {}", reason(ev));
        assert_eq!(detail(ev, "decision").as_deref(), Some("invalid_key"));
    }
    // Counted against the budget: the 21st unusable header from one address is a 429.
    let mut last = StatusCode::OK;
    for _ in 0..21 {
        let mut req = Request::builder()
            .uri("/inbox")
            .header("authorization", "Basic YTpi")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo("192.0.2.99:1".parse::<SocketAddr>().unwrap()));
        last = app.clone().oneshot(req).await.unwrap().status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}
