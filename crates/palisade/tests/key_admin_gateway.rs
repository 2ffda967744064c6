//! Issue 10's gateway scenario through the axum layer, over loopback HTTP:
//! a cross-tenant revoke, an escalating mint, an unknown scope and an edited
//! stored record each fail closed and leave an audit record in the right
//! tenant's log; the logs export and verify afterwards.
#![cfg(feature = "axum")]

#[path = "../../../examples/axum_service.rs"]
mod axum_service;

use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use palisade::apikey::KeyId;
use palisade::tenancy::{TenantId, Timestamp};
use serde_json::Value;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[cfg(test)]
struct Http {
    client: HttpClient,
    addr: SocketAddr,
}

#[cfg(test)]
impl Http {
    /// `(status, body as JSON or Null)`.
    async fn send(&self, method: &str, path: &str, key: &str, body: &str) -> (u16, Value) {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let resp = self.client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[cfg(test)]
fn key_id(service: &axum_service::Service, name: &str) -> KeyId {
    let keys = service.palisade.keys_unchecked();
    *keys.format().parse(&service.keys[name]).unwrap().key_id()
}

/// The verified events of `tenant`'s exported log.
#[cfg(test)]
fn events(service: &axum_service::Service, tenant: TenantId) -> Vec<Value> {
    let p = &service.palisade;
    let export = p.export_audit(tenant, Timestamp::now()).unwrap();
    let report = p.verify_audit(tenant, &export);
    assert!(report.is_ok(), "{:?}", report.problem);
    assert!(report.records > 0);
    String::from_utf8(export)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("record").and_then(|r| r.get("event")).cloned())
        .collect()
}

#[cfg(test)]
fn find<'e>(evs: &'e [Value], action: &str, decision: &str) -> Vec<&'e Value> {
    evs.iter()
        .filter(|e| e["action"] == action && e["details"]["decision"]["str"] == decision)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_key_admin_attacks_fail_closed_and_are_audited() {
    let service = axum_service::build(false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let app = service
        .router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = Http {
        client: Client::builder(TokioExecutor::new()).build_http(),
        addr,
    };
    let k = |name: &str| service.keys[name].clone();
    let acme: TenantId = axum_service::ACME.parse().unwrap();
    let globex: TenantId = axum_service::GLOBEX.parse().unwrap();
    let reader = key_id(&service, "acme_reader");

    // 1. Cross-tenant revoke: Globex's admin names Acme's key id.
    let (status, body) = http
        .send("DELETE", &format!("/keys/{reader}"), &k("globex_admin"), "")
        .await;
    assert_eq!(
        (status, &body),
        (404, &serde_json::json!({"error": "not_found"}))
    );
    let (status2, body2) = http
        .send("DELETE", "/keys/0000000000000000", &k("globex_admin"), "")
        .await;
    assert_eq!(
        (status2, body2),
        (status, body),
        "indistinguishable from an unknown id"
    );
    let (status, _) = http.send("GET", "/inbox", &k("acme_reader"), "").await;
    assert_eq!(status, 200, "Acme's key still works");

    // 2. Escalating mint: a key whose only scope is apikeys:create asks for `*`.
    let (status, body) = http
        .send(
            "POST",
            "/keys",
            &k("acme_minter"),
            r#"{"name":"x","scopes":["*"]}"#,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "escalation");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("`inbox:read`") && detail.contains("`apikeys:admin`"),
        "{detail}"
    );
    // …and it cannot even list keys.
    let (status, _) = http.send("GET", "/keys", &k("acme_minter"), "").await;
    assert_eq!(status, 403);

    // 3. Unknown scope: refused instead of minting a useless key.
    let (status, body) = http
        .send(
            "POST",
            "/keys",
            &k("acme_admin"),
            r#"{"name":"x","scopes":["nope:*"]}"#,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("unknown_scope")),
        "{body}"
    );

    // 4. An edited stored record: someone with write access to the key store
    //    widens the read-only key to `*` behind Palisade's back.
    let store = service.palisade.keys_unchecked().store();
    let mut row = store.get(&reader).unwrap().snapshot();
    row.scopes = vec!["*".into()];
    store.restore(row).unwrap();
    let (status, _) = http
        .send("POST", "/billing/plan", &k("acme_reader"), "{}")
        .await;
    assert_eq!(status, 401, "the edited record is refused");
    let (status, _) = http.send("GET", "/inbox", &k("acme_reader"), "").await;
    assert_eq!(status, 401);
    // The admin sees it flagged, may not rotate it, and revokes it.
    let (status, info) = http
        .send("GET", &format!("/keys/{reader}"), &k("acme_admin"), "")
        .await;
    assert_eq!(
        (status, &info["authentic"]),
        (200, &Value::Bool(false)),
        "{info}"
    );
    assert!(info.get("hash").is_none(), "no hash in the admin view");
    let (status, body) = http
        .send(
            "POST",
            &format!("/keys/{reader}/rotate"),
            &k("acme_admin"),
            "",
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("record_tampered")),
        "{body}"
    );
    let (status, _) = http
        .send("DELETE", &format!("/keys/{reader}"), &k("acme_admin"), "")
        .await;
    assert_eq!(status, 204);

    // A legitimate mint still works, and the key works once.
    let (status, body) = http
        .send(
            "POST",
            "/keys",
            &k("acme_admin"),
            r#"{"name":"bot","scopes":["inbox:read"]}"#,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let minted = body["key"].as_str().unwrap().to_owned();
    let (status, _) = http.send("GET", "/inbox", &minted, "").await;
    assert_eq!(status, 200);

    // The logs: every attempt is in the right tenant's log, and both verify.
    let a = events(&service, acme);
    let g = events(&service, globex);
    let cross = find(&a, "apikey.revoke", "cross_tenant");
    assert_eq!(cross.len(), 1);
    assert_eq!(cross[0]["actor"]["principal"], "user:gina@globex.example");
    assert_eq!(cross[0]["details"]["key_id"]["str"], reader.as_str());
    // Linked to the HTTP request's own decision record, with its facts.
    assert!(
        cross[0]["details"]["decision_id"]["str"].is_string(),
        "{}",
        cross[0]
    );
    assert_eq!(cross[0]["request"]["src_ip"], "127.0.0.1");
    assert_eq!(find(&g, "apikey.revoke", "not_found").len(), 2);
    assert!(
        find(&g, "apikey.revoke", "not_found")
            .iter()
            .all(|e| e["status"] == "denied")
    );
    let mint = find(&a, "apikey.issue", "escalation");
    assert_eq!(mint.len(), 1);
    assert_eq!(
        mint[0]["details"]["caller_key_id"]["str"],
        key_id(&service, "acme_minter").as_str()
    );
    assert_eq!(mint[0]["details"]["new_scopes"]["str"], "*");
    assert_eq!(find(&a, "apikey.issue", "unknown_scope").len(), 1);
    let refused_use: Vec<&Value> = a
        .iter()
        .filter(|e| {
            e["status"] == "denied"
                && e["actor"]["principal"] == format!("key:{reader}")
                && e["details"]["key_id"]["str"] == reader.as_str()
        })
        .collect();
    assert!(
        refused_use.len() >= 2,
        "both uses of the edited key are recorded: {a:#?}"
    );
    assert_eq!(find(&a, "apikey.rotate", "record_tampered").len(), 1);
    let revoked: Vec<&Value> = a
        .iter()
        .filter(|e| e["action"] == "apikey.revoke" && e["status"] == "allowed")
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["details"]["key_id"]["str"], reader.as_str());
    let issued: Vec<&Value> = a
        .iter()
        .filter(|e| e["action"] == "apikey.issue" && e["status"] == "allowed")
        .collect();
    assert_eq!(issued.len(), 1);
    // No secret reached either log.
    for e in a.iter().chain(&g) {
        let text = e.to_string();
        assert!(!text.contains(&minted));
        for key in service.keys.values() {
            assert!(!text.contains(key.as_str()));
        }
    }
    server.abort();
}
