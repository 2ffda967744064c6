//! Starts `examples/axum_service.rs` on a loopback ephemeral port and drives
//! it with a real HTTP client: 200/401/403/404/429, security headers, CORS,
//! sealed uploads, and the audit logs verifying afterwards.
#![cfg(feature = "axum")]

#[path = "../../../examples/axum_service.rs"]
mod axum_service;

use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use palisade::tenancy::{TenantId, Timestamp};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Reply {
    status: u16,
    headers: axum::http::HeaderMap,
    body: String,
}

#[cfg(test)]
async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut req = axum::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_over_loopback() {
    let service = axum_service::build(false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let app = service
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let url = |path: &str| format!("http://{addr}{path}");
    let bearer = |name: &str| format!("Bearer {}", service.keys[name]);
    let acme_agent = bearer("acme_agent");
    let acme_reader = bearer("acme_reader");
    let globex_agent = bearer("globex_agent");

    // 200 with every security header and the rate-limit headers.
    let r = send(
        &client,
        "GET",
        &url("/inbox"),
        &[("authorization", &acme_agent), ("x-request-id", "t-1")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(axum_service::ACME));
    for h in [
        "strict-transport-security",
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
        "x-frame-options",
        "cache-control",
        "ratelimit",
        "ratelimit-policy",
    ] {
        assert!(r.headers.contains_key(h), "missing {h}");
    }
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // The configurable header works too; presenting two credentials does not.
    let raw = service.keys["acme_agent"].as_str();
    assert_eq!(
        send(&client, "GET", &url("/inbox"), &[("x-api-key", raw)], "")
            .await
            .status,
        200
    );
    let both = send(
        &client,
        "GET",
        &url("/inbox"),
        &[("x-api-key", raw), ("authorization", &acme_agent)],
        "",
    )
    .await;
    assert_eq!(both.status, 401);

    // 401: no key, a malformed key, a well-formed unknown key. Same body, nothing else.
    for headers in [
        vec![],
        vec![("authorization", "Bearer nonsense")],
        vec![("authorization", "Basic dXNlcjpwYXNz")],
    ] {
        let r = send(&client, "GET", &url("/inbox"), &headers, "").await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body, "{\"error\":\"unauthorized\"}");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        assert!(r.headers.contains_key("strict-transport-security"));
    }

    // 403: the reader key lacks billing (and billing is frozen anyway); the body says only that.
    let r = send(
        &client,
        "POST",
        &url("/billing/plan"),
        &[("authorization", &acme_reader), ("x-request-id", "t-2")],
        "",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body, "{\"error\":\"forbidden\",\"request_id\":\"t-2\"}");

    // Uploads are sealed for their tenant; another tenant sees nothing.
    let r = send(
        &client,
        "POST",
        &url("/knowledge"),
        &[("authorization", &acme_agent)],
        "acme runbook v1",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let doc = url(&format!("/knowledge/{}", id["id"].as_str().unwrap()));
    let r = send(&client, "GET", &doc, &[("authorization", &acme_agent)], "").await;
    assert_eq!((r.status, r.body.as_str()), (200, "acme runbook v1"));
    assert_eq!(
        send(
            &client,
            "GET",
            &doc,
            &[("authorization", &globex_agent)],
            ""
        )
        .await
        .status,
        404
    );

    // CORS: the tenant's own origin is allowed; another tenant's origin is refused.
    let r = send(
        &client,
        "GET",
        &url("/inbox"),
        &[
            ("authorization", &acme_agent),
            ("origin", "https://app.acme.example"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.acme.example"
    );
    let r = send(
        &client,
        "GET",
        &url("/inbox"),
        &[
            ("authorization", &acme_agent),
            ("origin", "https://globex.example"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = send(
        &client,
        "OPTIONS",
        &url("/inbox"),
        &[
            ("origin", "https://app.acme.example"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.acme.example"
    );
    let r = send(
        &client,
        "OPTIONS",
        &url("/inbox"),
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        "",
    )
    .await;
    assert!(!r.headers.contains_key("access-control-allow-origin"));

    // 429: Globex is on the free plan (10 requests a second per key).
    let mut limited = None;
    for _ in 0..40 {
        let r = send(
            &client,
            "GET",
            &url("/inbox"),
            &[("authorization", &globex_agent)],
            "",
        )
        .await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200);
    }
    let r = limited.expect("no 429 within 40 requests");
    assert_eq!(r.body, "{\"error\":\"rate_limited\"}");
    assert!(
        r.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(r.headers["ratelimit"].to_str().unwrap().contains(";r=0;"));
    assert!(
        r.headers["ratelimit-policy"]
            .to_str()
            .unwrap()
            .contains("\"key\";q=10")
    );

    // Health check is outside the layer.
    assert_eq!(
        send(&client, "GET", &url("/healthz"), &[], "").await.status,
        200
    );

    // Every decision is in the audit logs, and they verify.
    let now = Timestamp::now();
    for tenant in [axum_service::ACME, axum_service::GLOBEX] {
        let t: TenantId = tenant.parse().unwrap();
        let export = service.palisade.export_audit(t, now).unwrap();
        let report = service.palisade.verify_audit(t, &export);
        assert!(report.is_ok(), "{tenant}: {:?}", report.problem);
        assert!(
            report.records >= 5,
            "{tenant}: only {} records",
            report.records
        );
        let text = String::from_utf8(export).unwrap();
        assert!(text.contains("\"status\":\"denied\""));
        assert!(!text.contains(raw), "a key secret reached the audit log");
    }
    server.abort();
}

/// A session principal set by the host's own authentication layer is
/// authorized without an API key; an API key still takes precedence.
#[tokio::test(flavor = "current_thread")]
async fn session_principal_without_api_key() {
    use axum::routing::get;
    use palisade::tenancy::{Principal, Scope};
    use palisade::{Authorized, PalisadeLayer, Session};
    use tower::ServiceExt;

    let service = axum_service::build(false).unwrap();
    let acme: TenantId = axum_service::ACME.parse().unwrap();
    let app = |principal: &str| {
        axum::Router::new()
            .route(
                "/inbox",
                get(|a: Authorized| async move { a.principal().to_string() }),
            )
            .route_layer(PalisadeLayer::new(service.palisade.clone(), "inbox:read"))
            .layer(axum::Extension(Session {
                principal: principal.parse::<Principal>().unwrap(),
                scope: Scope::tenant(acme),
            }))
    };
    let get_inbox = |auth: Option<&str>| {
        let mut b = axum::http::Request::builder().uri("/inbox");
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(axum::body::Body::empty()).unwrap()
    };
    let body = |r: axum::response::Response| async move {
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    };

    let r = app("user:alice@acme.example")
        .oneshot(get_inbox(None))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await, "user:alice@acme.example");
    // A user without a binding in Acme is refused; so is staff outside break-glass.
    for who in ["user:mallory@evil.example", "staff:sam"] {
        let r = app(who).oneshot(get_inbox(None)).await.unwrap();
        assert_eq!(r.status(), 403, "{who}");
    }
    // An API key wins over the session (and is checked as usual).
    let r = app("user:mallory@evil.example")
        .oneshot(get_inbox(Some("Bearer nonsense")))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
