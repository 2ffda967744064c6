//! A small multi-tenant HTTP service behind the Palisade layer:
//! `cargo run --example axum_service` (then try the printed `curl` lines).
//!
//! - `GET  /inbox`          (`inbox:read`)      the tenant's conversations
//! - `POST /billing/plan`   (`billing:write`)   change the plan
//! - `POST /knowledge`      (`knowledge:write`) upload a document, stored sealed
//! - `GET  /knowledge/{id}` (`knowledge:read`)  read it back (opens only for its tenant)
//! - `GET  /healthz`        no authentication
//!
//! Key administration through `Palisade::key_admin(&auth)` (tenant scope,
//! permission, ownership and escalation checks, and the audit, in one call):
//!
//! - `GET    /keys`              (`apikeys:read`)   the caller's tenant's keys (no hashes)
//! - `POST   /keys`              (`apikeys:create`) `{"name", "scopes", "owner"?}` → the new key, once
//! - `GET    /keys/{id}`         (`apikeys:read`)   one key
//! - `DELETE /keys/{id}`         (`apikeys:revoke`) revoke
//! - `POST   /keys/{id}/rotate`  (`apikeys:rotate`) the successor, once (old key: 1 h grace)
//!
//! Another tenant's key id answers 404, exactly like an unknown id.
//!
//! Every response carries the security headers; CORS allows each tenant's
//! configured origins; every decision is in the tenant's audit log.
//! `PALISADE_ADDR` sets the address (default `127.0.0.1:3000`; loopback).
//! With `PALISADE_BENCH=1`, `GET /open/inbox` serves the same handler with
//! no layer, for throughput comparisons.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use palisade::apikey::{IssuedKey, KeyId, NewKey};
use palisade::tenancy::{Principal, Scope, Scoped, TenantId, Timestamp};
use palisade::{
    Authorized, KeyAdminError, Palisade, PalisadeConfig, PalisadeLayer, PlanConfig, RateConfig,
    SecurityHeaders, TenantConfig, tenant_cors,
};

/// Acme (plan "scale", generous limits) and Globex (plan "free": 10 requests a second per key).
pub(crate) const ACME: &str = "ten_1sajvnrhg8bbpt7cpnxcarwaex";
/// The second tenant.
pub(crate) const GLOBEX: &str = "ten_0sfsardek6a3c8ckrbjx5031vh";

/// Sealed knowledge documents, each owned by its tenant's scope.
#[derive(Clone, Default)]
pub(crate) struct Store {
    docs: Arc<Mutex<HashMap<u64, Scoped<Vec<u8>>>>>,
}

/// The service state handed to handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    store: Store,
    palisade: Palisade,
}

/// The running service's parts: the router, the Palisade instance, and
/// demo keys (Acme agent, read-only, admin and create-only keys; Globex
/// agent and admin keys).
pub(crate) struct Service {
    /// The router, layers included.
    pub(crate) router: Router,
    /// The Palisade instance (for audit exports and key management).
    pub(crate) palisade: Palisade,
    /// `acme_agent`, `acme_reader`, `acme_admin`, `acme_minter`,
    /// `globex_agent`, `globex_admin` → key text.
    pub(crate) keys: BTreeMap<&'static str, String>,
}

async fn inbox(auth: Authorized) -> impl IntoResponse {
    Json(serde_json::json!({
        "tenant": auth.tenant().to_string(),
        "conversations": [{"id": "c-1", "subject": "Where is my order?"}, {"id": "c-2", "subject": "Refund"}],
    }))
}

async fn open_inbox() -> impl IntoResponse {
    Json(serde_json::json!({
        "tenant": "-",
        "conversations": [{"id": "c-1", "subject": "Where is my order?"}, {"id": "c-2", "subject": "Refund"}],
    }))
}

async fn change_plan(auth: Authorized) -> impl IntoResponse {
    Json(serde_json::json!({ "tenant": auth.tenant().to_string(), "plan": "pro" }))
}

fn doc_context(
    auth: &Authorized,
    id: u64,
) -> Result<palisade::envelope::EncryptionContext, palisade::envelope::EnvelopeError> {
    auth.envelope()
        .context()
        .with("table", "knowledge")?
        .with("doc", id.to_string())
}

async fn upload(
    State(state): State<AppState>,
    auth: Authorized,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let id = rand_id();
    let sealed = match doc_context(&auth, id).and_then(|ctx| auth.envelope().seal(&ctx, &body)) {
        Ok(s) => s,
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({"error": "internal"})),
            );
        }
    };
    state
        .store
        .docs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, auth.own(sealed));
    (
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": id.to_string() })),
    )
}

async fn read_doc(
    State(state): State<AppState>,
    auth: Authorized,
    Path(id): Path<u64>,
) -> impl IntoResponse {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "not_found"})),
        )
            .into_response()
    };
    let sealed = {
        let docs = state
            .store
            .docs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Another tenant's document is indistinguishable from a missing one.
        match docs.get(&id).map(|d| auth.open(d)) {
            Some(Ok(bytes)) => bytes.clone(),
            _ => return not_found(),
        }
    };
    match doc_context(&auth, id).and_then(|ctx| auth.envelope().open(&ctx, &sealed)) {
        Ok(plain) => (StatusCode::OK, plain.to_vec()).into_response(),
        Err(_) => not_found(),
    }
}

/// A refused key-administration call: its status, and its code plus the
/// administrator-facing message (it names the missing permission or the
/// excess scopes; a "not found" says nothing more).
fn admin_error(e: &KeyAdminError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
    let body = match e {
        KeyAdminError::NotFound { .. } => serde_json::json!({ "error": e.code() }),
        _ => serde_json::json!({ "error": e.code(), "detail": e.to_string() }),
    };
    (status, Json(body)).into_response()
}

fn key_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"error": "not_found"})),
    )
        .into_response()
}

fn created(issued: &IssuedKey) -> Response {
    let body = serde_json::json!({
        "id": issued.key_id().to_string(),
        "key": issued.expose_secret(),
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `POST /keys` body.
#[derive(serde::Deserialize)]
struct CreateKey {
    name: String,
    scopes: Vec<String>,
    /// Whom the key acts for (default: the caller).
    owner: Option<String>,
}

async fn list_keys(State(state): State<AppState>, auth: Authorized) -> Response {
    match state
        .palisade
        .key_admin(&auth)
        .list_async(Timestamp::now())
        .await
    {
        Ok(keys) => Json(keys).into_response(),
        Err(e) => admin_error(&e),
    }
}

async fn create_key(
    State(state): State<AppState>,
    auth: Authorized,
    Json(req): Json<CreateKey>,
) -> Response {
    let owner = match req.owner.as_deref().map(str::parse::<Principal>) {
        None => auth.principal().clone(),
        Some(Ok(p)) => p,
        Some(Err(_)) => return StatusCode::UNPROCESSABLE_ENTITY.into_response(),
    };
    let new = match NewKey::new(*auth.scope(), &req.name)
        .owner(owner)
        .scopes(req.scopes.iter().map(String::as_str))
    {
        Ok(n) => n,
        Err(_) => return StatusCode::UNPROCESSABLE_ENTITY.into_response(),
    };
    match state
        .palisade
        .key_admin(&auth)
        .issue_async(new, Timestamp::now())
        .await
    {
        Ok(issued) => created(&issued),
        Err(e) => admin_error(&e),
    }
}

async fn get_key(
    State(state): State<AppState>,
    auth: Authorized,
    Path(id): Path<String>,
) -> Response {
    // An id that does not parse is as unknown as any other.
    let Ok(id) = id.parse::<KeyId>() else {
        return key_not_found();
    };
    match state
        .palisade
        .key_admin(&auth)
        .get_async(&id, Timestamp::now())
        .await
    {
        Ok(info) => Json(info).into_response(),
        Err(e) => admin_error(&e),
    }
}

async fn revoke_key(
    State(state): State<AppState>,
    auth: Authorized,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<KeyId>() else {
        return key_not_found();
    };
    match state
        .palisade
        .key_admin(&auth)
        .revoke_async(&id, Timestamp::now())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => admin_error(&e),
    }
}

async fn rotate_key(
    State(state): State<AppState>,
    auth: Authorized,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<KeyId>() else {
        return key_not_found();
    };
    let grace = std::time::Duration::from_secs(3600);
    let admin = state.palisade.key_admin(&auth);
    match admin.rotate_async(&id, grace, Timestamp::now()).await {
        Ok(successor) => created(&successor),
        Err(e) => admin_error(&e),
    }
}

fn rand_id() -> u64 {
    let mut b = [0u8; 8];
    // If the OS RNG fails the id is 0: a demo document is overwritten, nothing leaks.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b) >> 11
}

/// The configuration: two tenants on two plans, each with its browser origin.
///
/// # Panics
/// Never: the tenant ids are constants.
pub(crate) fn config() -> PalisadeConfig {
    let mut cfg = PalisadeConfig::default();
    cfg.policy_path = Some(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/quickstart.toml"
        )
        .into(),
    );
    cfg.rate_limits.plans.insert(
        "scale".into(),
        PlanConfig::new(
            RateConfig::per_second(1_000_000),
            RateConfig::per_second(1_000_000),
            RateConfig::per_second(1_000_000),
        ),
    );
    let t = |s: &str| {
        s.parse::<TenantId>()
            .unwrap_or_else(|_| TenantId::from_bytes([0; 16]))
    };
    cfg.tenants = BTreeMap::from([
        (
            t(ACME),
            TenantConfig::new(Some("scale"), &["https://app.acme.example"]),
        ),
        (
            t(GLOBEX),
            TenantConfig::new(Some("free"), &["https://globex.example"]),
        ),
    ]);
    cfg
}

/// Build the service: Palisade from [`config`], demo keys, routes and layers.
///
/// # Errors
/// Any start-up error (policy file, key issue).
pub(crate) fn build(bench: bool) -> Result<Service, Box<dyn std::error::Error>> {
    let cfg = config();
    let palisade = Palisade::builder(cfg.clone()).build()?;
    let now = Timestamp::now();
    let acme: TenantId = ACME.parse()?;
    let globex: TenantId = GLOBEX.parse()?;
    let mut keys = BTreeMap::new();
    let mut issue =
        |name, tenant, owner: &str, scopes: &[&str]| -> Result<(), Box<dyn std::error::Error>> {
            let new = NewKey::new(Scope::tenant(tenant), name)
                .owner(Principal::user(owner)?)
                .scopes(scopes.iter().copied())?;
            keys.insert(
                name,
                palisade
                    .keys_unchecked()
                    .issue(new, now)?
                    .expose_secret()
                    .to_owned(),
            );
            Ok(())
        };
    issue(
        "acme_agent",
        acme,
        "alice@acme.example",
        &["inbox:*", "knowledge:*", "billing:*"],
    )?;
    issue("acme_reader", acme, "alice@acme.example", &["inbox:read"])?;
    issue(
        "acme_admin",
        acme,
        "alice@acme.example",
        &["apikeys:*", "inbox:*"],
    )?;
    // A key that may only create keys: it cannot mint one wider than itself.
    issue(
        "acme_minter",
        acme,
        "alice@acme.example",
        &["apikeys:create"],
    )?;
    issue(
        "globex_agent",
        globex,
        "bob@globex.example",
        &["inbox:*", "knowledge:*"],
    )?;
    issue(
        "globex_admin",
        globex,
        "gina@globex.example",
        &["apikeys:*"],
    )?;

    let log = |d: &palisade::Denial, parts: &axum::http::request::Parts| {
        eprintln!(
            "denied {} {}: {} ({})",
            parts.method,
            parts.uri.path(),
            d.explain(),
            d.reason().code()
        );
    };
    let guard = |perm: &str| PalisadeLayer::new(palisade.clone(), perm).on_denial(log);
    let state = AppState {
        store: Store::default(),
        palisade: palisade.clone(),
    };
    let mut api = Router::new()
        .route("/inbox", get(inbox).route_layer(guard("inbox:read")))
        .route(
            "/billing/plan",
            post(change_plan).route_layer(guard("billing:write")),
        )
        .route(
            "/knowledge",
            post(upload).route_layer(guard("knowledge:write")),
        )
        .route(
            "/knowledge/{id}",
            get(read_doc).route_layer(guard("knowledge:read")),
        )
        .route(
            "/keys",
            get(list_keys)
                .route_layer(guard("apikeys:read"))
                .merge(post(create_key).route_layer(guard("apikeys:create"))),
        )
        .route(
            "/keys/{id}",
            get(get_key)
                .route_layer(guard("apikeys:read"))
                .merge(delete(revoke_key).route_layer(guard("apikeys:revoke"))),
        )
        .route(
            "/keys/{id}/rotate",
            post(rotate_key).route_layer(guard("apikeys:rotate")),
        )
        .route("/healthz", get(|| async { "ok" }));
    if bench {
        api = api.route("/open/inbox", get(open_inbox));
    }
    let router =
        SecurityHeaders::api(&cfg.http)?.apply(api.layer(tenant_cors(&cfg)?).with_state(state));
    Ok(Service {
        router,
        palisade,
        keys,
    })
}

#[cfg(not(test))]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::net::SocketAddr;
    let addr: SocketAddr = std::env::var("PALISADE_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;
    if !addr.ip().is_loopback() {
        return Err("this demo listens on loopback only (PALISADE_ADDR=127.0.0.1:PORT)".into());
    }
    let bench = std::env::var("PALISADE_BENCH").is_ok_and(|v| v == "1");
    let service = build(bench)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    for (name, key) in &service.keys {
        println!("key {name} {key}");
    }
    if let Some(k) = service.keys.get("acme_agent") {
        println!("try: curl -i -H 'Authorization: Bearer {k}' http://{addr}/inbox");
    }
    // Sign due audit checkpoints in the background (every 1 000 records or 60 s).
    let palisade = service.palisade.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            if let Err(e) = palisade.audit_log().tick(Timestamp::now()) {
                eprintln!("audit checkpoint failed: {e}");
            }
        }
    });
    axum::serve(
        listener,
        service
            .router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
