//! The tower layer and axum extractor: credential in, [`Authorized`] into the
//! request extensions, or a small JSON 401/403/429/503 out.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_apikey::KeyStore;
use palisade_envelope::KeyProvider;
use palisade_tenancy::Timestamp;

use crate::authorized::Authorized;
use crate::denial::{Denial, DenyReason};
use crate::proxy::TrustedProxies;
use crate::ratelimit::RateStatus;
use crate::request::{Credential, Request, RequestFacts, UnusableCredential};
use crate::service::Palisade;

/// The longest credential header accepted (longer is refused unread).
const MAX_CREDENTIAL_LEN: usize = 512;
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

type DenialHook = Arc<dyn Fn(&Denial, &Parts) + Send + Sync>;

/// A tower layer that authorizes every request for one permission.
///
/// It reads the API key from `Authorization: Bearer …` or the configured
/// header (`x-api-key` by default; presenting both is refused) — or, with
/// no key, a [`Session`] your own login layer put in the extensions — runs
/// [`Palisade::authorize_async`] with the request path as the resource id, the
/// peer address (axum `ConnectInfo`), `User-Agent`, `X-Request-Id` and
/// `Origin`, and then either inserts [`Authorized`] into the request
/// extensions (and `RateLimit` headers into the response) or answers with
/// the denial's status and `{"error":"…"}` body.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use palisade::{Authorized, Palisade, PalisadeConfig, PalisadeLayer};
/// # fn demo() -> Result<(), palisade::PalisadeError> {
/// let palisade = Palisade::builder(PalisadeConfig::default()).build()?;
/// let app: Router = Router::new()
///     .route("/inbox", get(|auth: Authorized| async move { auth.scope().to_string() }))
///     .route_layer(PalisadeLayer::new(palisade, "inbox:read"));
/// # Ok(()) }
/// ```
pub struct PalisadeLayer<S = palisade_apikey::MemoryStore, P = palisade_envelope::LocalKeyring> {
    // One `Arc`: axum clones the service for every request.
    shared: Arc<LayerConfig<S, P>>,
}

struct LayerConfig<S, P> {
    palisade: Palisade<S, P>,
    permission: Box<str>,
    resource_kind: Box<str>,
    key_header: HeaderName,
    on_denial: Option<DenialHook>,
    proxies: TrustedProxies,
    route_template: bool,
}

impl<S, P> Clone for LayerConfig<S, P> {
    fn clone(&self) -> Self {
        Self {
            palisade: self.palisade.clone(),
            permission: self.permission.clone(),
            resource_kind: self.resource_kind.clone(),
            key_header: self.key_header.clone(),
            on_denial: self.on_denial.clone(),
            proxies: self.proxies.clone(),
            route_template: self.route_template,
        }
    }
}

impl<S, P> Clone for PalisadeLayer<S, P> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: KeyStore + 'static, P: KeyProvider + 'static> PalisadeLayer<S, P> {
    /// Require `permission` (`resource:action`) on every request. The audit
    /// records name the resource type as the permission's resource part.
    #[must_use]
    pub fn new(palisade: Palisade<S, P>, permission: &str) -> Self {
        let kind = permission.split_once(':').map_or(permission, |(r, _)| r);
        let key_header = HeaderName::from_bytes(palisade.config().http.api_key_header.as_bytes())
            .unwrap_or(HeaderName::from_static("x-api-key"));
        // Validated with the configuration; an entry that no longer parses
        // trusts no proxy (the peer stays the client: fail closed).
        let proxies =
            TrustedProxies::parse(&palisade.config().http.trusted_proxies).unwrap_or_default();
        let shared = LayerConfig {
            permission: permission.into(),
            resource_kind: kind.into(),
            palisade,
            key_header,
            on_denial: None,
            proxies,
            route_template: false,
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Record the route template (`/v1/keys/{id}`, axum's [`MatchedPath`])
    /// as the resource id instead of the raw path. Needs the layer added
    /// with `Router::route_layer` (routing has run by then); without a
    /// matched route the raw path is recorded. Either way credential-looking
    /// parts of a resource id are recorded as `[redacted]`.
    #[must_use]
    pub fn record_route_template(self) -> Self {
        self.with(|c| c.route_template = true)
    }

    /// Take the client address from forwarding headers sent by `proxies`
    /// (replacing `http.trusted_proxies` of the configuration).
    #[must_use]
    pub fn trusted_proxies(self, proxies: TrustedProxies) -> Self {
        self.with(|c| c.proxies = proxies)
    }

    fn with(self, f: impl FnOnce(&mut LayerConfig<S, P>)) -> Self {
        let mut shared = Arc::unwrap_or_clone(self.shared);
        f(&mut shared);
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Call `hook` with every denial and the request parts, e.g. to log
    /// [`Denial::explain`]. It runs before the response is sent.
    #[must_use]
    pub fn on_denial(self, hook: impl Fn(&Denial, &Parts) + Send + Sync + 'static) -> Self {
        self.with(|c| c.on_denial = Some(Arc::new(hook)))
    }
}

impl<S, P, Inner> tower::Layer<Inner> for PalisadeLayer<S, P> {
    type Service = PalisadeService<Inner, S, P>;

    fn layer(&self, inner: Inner) -> Self::Service {
        PalisadeService {
            inner,
            layer: self.clone(),
        }
    }
}

/// A user your own authentication layer has already verified (a session
/// cookie, an OIDC token…). Insert it into the request extensions *before*
/// the [`PalisadeLayer`]: requests that carry no API key are then authorized
/// as [`Credential::Authenticated`] for this principal and scope. An API key,
/// when present, takes precedence. Never build a `Session` from anything the
/// client can set unverified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The authenticated principal (`user:…` or `service:…`; `staff:` is refused).
    pub principal: palisade_tenancy::Principal,
    /// The tenant or project the session acts in.
    pub scope: palisade_tenancy::Scope,
}

/// The service made by [`PalisadeLayer`].
pub struct PalisadeService<
    Inner,
    S = palisade_apikey::MemoryStore,
    P = palisade_envelope::LocalKeyring,
> {
    inner: Inner,
    layer: PalisadeLayer<S, P>,
}

impl<Inner: Clone, S, P> Clone for PalisadeService<Inner, S, P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

/// Where the credential came from.
enum Presented<'a> {
    None,
    One(&'a str),
    Unusable(UnusableCredential, Option<&'a str>),
}

/// One header's credential: `None` when absent.
fn one_header<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Option<Result<&'a str, UnusableCredential>> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some(Err(UnusableCredential::TwoCredentials));
    }
    Some(first.to_str().map_err(|_| UnusableCredential::Unreadable))
}

fn bearer_token(value: &str) -> Result<&str, UnusableCredential> {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        None if value.is_empty() || value.eq_ignore_ascii_case("bearer") => {
            Err(UnusableCredential::Empty)
        }
        _ => Err(UnusableCredential::WrongScheme),
    }
}

fn checked(token: &str) -> Result<&str, UnusableCredential> {
    if token.is_empty() {
        Err(UnusableCredential::Empty)
    } else if token.len() > MAX_CREDENTIAL_LEN {
        Err(UnusableCredential::TooLong)
    } else {
        Ok(token)
    }
}

fn credential<'a>(
    headers: &'a HeaderMap,
    key_header: &HeaderName,
    looks_like_key: impl Fn(&str) -> bool,
) -> Presented<'a> {
    let bearer = one_header(headers, &header::AUTHORIZATION)
        .map(|r| r.and_then(bearer_token).and_then(checked));
    let keyed = one_header(headers, key_header).map(|r| r.and_then(|v| checked(v.trim())));
    match (bearer, keyed) {
        (None, None) => Presented::None,
        (Some(Ok(t)), None) | (None, Some(Ok(t))) => Presented::One(t),
        (Some(Err(e)), None) | (None, Some(Err(e))) => Presented::Unusable(e, None),
        // Two credentials: refuse rather than guess which one counts; a
        // real key among them attributes the attempt to its tenant.
        (Some(a), Some(b)) => {
            let claimed = [a, b]
                .into_iter()
                .filter_map(Result::ok)
                .find(|t| looks_like_key(t));
            Presented::Unusable(UnusableCredential::TwoCredentials, claimed)
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The response for `denial`: status, `{"error":…}` body, and the headers
/// that go with it (`WWW-Authenticate` on 401; `Retry-After` and
/// `RateLimit`/`RateLimit-Policy` on 429).
#[must_use]
pub fn denial_response(denial: &Denial, request_id: Option<&str>) -> Response {
    let status = StatusCode::from_u16(denial.kind().status()).unwrap_or(StatusCode::FORBIDDEN);
    let mut resp = (status, denial.public_body(request_id)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(r) = denial.rate_limit() {
        h.insert(header::RETRY_AFTER, HeaderValue::from(r.retry_after_secs()));
        if let Ok(v) = HeaderValue::from_str(&r.header_value()) {
            h.insert(RATELIMIT, v);
        }
        if let Ok(v) = HeaderValue::from_str(r.policy_value()) {
            h.insert(RATELIMIT_POLICY, v);
        }
    }
    resp
}

impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        denial_response(&self, None)
    }
}

fn add_rate_headers(resp: &mut Response, status: &RateStatus) {
    let h = resp.headers_mut();
    // `Bytes::from(String)` takes the buffer without copying it.
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(status.header_value())) {
        h.insert(RATELIMIT, v);
    }
    if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(status.policy_value().to_owned())) {
        h.insert(RATELIMIT_POLICY, v);
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<Inner, B, S, P> tower::Service<axum::http::Request<B>> for PalisadeService<Inner, S, P>
where
    Inner: tower::Service<axum::http::Request<B>, Response = Response> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    B: Send + 'static,
    S: KeyStore + 'static,
    P: KeyProvider + 'static,
{
    type Response = Response;
    type Error = Inner::Error;
    type Future = BoxFuture<Result<Response, Inner::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        // The clone that was driven to readiness handles this request.
        let clone = self.inner.clone();
        let mut inner = core::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.layer.shared);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match authorize_parts(&shared, &parts).await {
                Ok(authorized) => {
                    let status = authorized.rate_status().cloned();
                    let link = authorized.link.clone();
                    parts.extensions.insert(authorized);
                    let mut resp = inner
                        .call(axum::http::Request::from_parts(parts, body))
                        .await?;
                    if let Some(s) = &status {
                        add_rate_headers(&mut resp, s);
                    }
                    let code = resp.status();
                    if let Some(link) = link.filter(|l| {
                        (code.is_client_error() || code.is_server_error()) && !l.settled()
                    }) {
                        // Best effort: the response is what the handler made.
                        let _ = link.outcome(
                            palisade_audit::Outcome::Failed,
                            Some(&format!("the handler answered {}", code.as_u16())),
                            &mut [(
                                "http_status",
                                palisade_audit::DetailValue::Int(i64::from(code.as_u16())),
                            )]
                            .into_iter(),
                        );
                    }
                    Ok(resp)
                }
                Err(denial) => {
                    if let Some(hook) = &shared.on_denial {
                        hook(&denial, &parts);
                    }
                    Ok(denial_response(
                        &denial,
                        header_str(&parts.headers, &X_REQUEST_ID),
                    ))
                }
            }
        })
    }
}

/// Build the [`Request`] from the HTTP request parts and run
/// [`Palisade::authorize_async`] on it.
async fn authorize_parts<S: KeyStore, P: KeyProvider>(
    layer: &LayerConfig<S, P>,
    parts: &Parts,
) -> Result<Authorized<P>, Denial> {
    let headers = &parts.headers;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = peer.map(|peer| {
        let values = |name: &HeaderName| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
        };
        if layer.proxies.is_empty() {
            peer
        } else {
            let forwarded = values(&header::FORWARDED);
            let xff = values(&X_FORWARDED_FOR);
            layer.proxies.client_addr(peer, forwarded, xff)
        }
    });
    let facts = RequestFacts {
        ip,
        user_agent: header_str(headers, &header::USER_AGENT),
        request_id: header_str(headers, &X_REQUEST_ID),
        origin: header_str(headers, &header::ORIGIN),
    };
    let now = Timestamp::now();
    let template = layer
        .route_template
        .then(|| parts.extensions.get::<MatchedPath>())
        .flatten();
    // Clipped (after credentials are masked) when the record is made.
    let resource_id = template.map_or(parts.uri.path(), MatchedPath::as_str);
    let format = layer.palisade.keys_unchecked().format();
    let credential = match (
        credential(headers, &layer.key_header, |t| format.parse(t).is_ok()),
        parts.extensions.get::<Session>(),
    ) {
        (Presented::One(key), _) => Credential::ApiKey(key),
        (Presented::None, Some(s)) => Credential::Authenticated {
            principal: &s.principal,
            scope: s.scope,
        },
        (Presented::None, None) => {
            return Err(Denial::new(
                DenyReason::MissingCredential,
                "no credential presented",
            ));
        }
        (Presented::Unusable(problem, claimed), _) => Credential::Unusable { problem, claimed },
    };
    let request = Request::new(
        credential,
        &layer.permission,
        &layer.resource_kind,
        resource_id,
        now,
    )
    .facts(facts);
    layer.palisade.authorize_async(&request).await
}

impl<St, P> FromRequestParts<St> for Authorized<P>
where
    St: Send + Sync,
    P: KeyProvider + 'static,
{
    type Rejection = Response;

    /// The [`Authorized`] the layer inserted. Without the layer in front,
    /// the handler is never reached: 503 `{"error":"unavailable"}`.
    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            denial_response(
                &Denial::new(
                    DenyReason::Internal,
                    "handler reached without the Palisade layer",
                ),
                None,
            )
        })
    }
}
