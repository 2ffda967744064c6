//! The security-headers preset (tower-http `SetResponseHeaderLayer`s) and
//! CORS allowing each tenant's configured origins.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{HttpConfig, PalisadeConfig};
use crate::csp::Csp;
use crate::error::{PalisadeError, Result};

/// Response headers every Palisade-protected service should send. Each is
/// set only when the handler has not set it already.
///
/// The API preset: `Strict-Transport-Security` (from config),
/// `Content-Security-Policy` ([`Csp::strict`] with `frame-ancestors` from
/// config), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
/// `X-Frame-Options: DENY` (when no ancestors are allowed), and
/// `Cache-Control: no-store` (authenticated responses must not be cached by
/// shared caches).
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

fn value(field: &str, v: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(v).map_err(|_| PalisadeError::config(field, "not a valid header value"))
}

impl SecurityHeaders {
    /// The preset for JSON APIs, from the `[http]` configuration.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] when `frame_ancestors` holds an invalid source.
    pub fn api(cfg: &HttpConfig) -> Result<Self> {
        Self::with_csp(cfg, &Csp::strict())
    }

    /// The preset with your own CSP (its `frame-ancestors` is replaced by the
    /// configured one).
    ///
    /// # Errors
    /// As [`Csp::build`].
    pub fn with_csp(cfg: &HttpConfig, csp: &Csp) -> Result<Self> {
        let csp = csp.clone().frame_ancestors(&cfg.frame_ancestors).build()?;
        let mut headers = Vec::with_capacity(6);
        if cfg.hsts_max_age_secs > 0 {
            let sub = if cfg.hsts_include_subdomains {
                "; includeSubDomains"
            } else {
                ""
            };
            let hsts = format!("max-age={}{sub}", cfg.hsts_max_age_secs);
            headers.push((
                header::STRICT_TRANSPORT_SECURITY,
                value("http.hsts_max_age_secs", &hsts)?,
            ));
        }
        headers.push((header::CONTENT_SECURITY_POLICY, value("csp", &csp)?));
        headers.push((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
        headers.push((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
        if cfg.frame_ancestors.is_empty() {
            headers.push((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
        }
        headers.push((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        Ok(Self { headers })
    }

    /// The headers, in order.
    #[must_use]
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// One tower-http layer per header, for tower stacks.
    #[must_use]
    pub fn layers(&self) -> Vec<SetResponseHeaderLayer<HeaderValue>> {
        self.headers
            .iter()
            .map(|(n, v)| SetResponseHeaderLayer::if_not_present(n.clone(), v.clone()))
            .collect()
    }

    /// Add every header layer to an axum router.
    pub fn apply<S: Clone + Send + Sync + 'static>(
        &self,
        mut router: axum::Router<S>,
    ) -> axum::Router<S> {
        for layer in self.layers() {
            router = router.layer(layer);
        }
        router
    }
}

/// CORS for the tenants' configured origins: browsers from any origin listed
/// by some tenant may send preflights and requests; the Palisade layer then
/// refuses (403) a request whose `Origin` is not listed by *the
/// authenticated tenant*, so one tenant's origin cannot use another
/// tenant's key. No cookies (`Access-Control-Allow-Credentials` is off):
/// API keys travel in headers.
///
/// # Errors
/// [`PalisadeError::Config`] when the credential header name is invalid.
pub fn tenant_cors(cfg: &PalisadeConfig) -> Result<CorsLayer> {
    let origins: Vec<HeaderValue> = cfg
        .tenants
        .values()
        .flat_map(|t| t.cors_origins.iter())
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let key_header = HeaderName::from_bytes(cfg.http.api_key_header.as_bytes())
        .map_err(|_| PalisadeError::config("http.api_key_header", "not a valid header name"))?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, key_header])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
        ])
        .max_age(std::time::Duration::from_secs(600)))
}
