//! Configuration parsing and validation, CSP builder, denials.

use palisade::{Csp, Denial, DenialKind, DenyReason, LimitLevel, PalisadeConfig, PalisadeError};

#[test]
fn empty_config_is_the_embedded_default() {
    let cfg = PalisadeConfig::from_toml_str("").unwrap();
    assert_eq!(cfg, PalisadeConfig::default());
    assert_eq!(cfg.rate_limits.default_plan, "free");
    assert_eq!(cfg.http.api_key_header, "x-api-key");
    cfg.validate().unwrap();
    assert_eq!(PalisadeConfig::from_json_str("{}").unwrap(), cfg);
}

#[test]
fn toml_and_json_round_trip() {
    let text = r#"
        policy_path = "policy.toml"
        [rate_limits]
        default_plan = "free"
        sweep_every = 100
        [rate_limits.plans.free]
        per_key = { requests = 5, per_seconds = 1 }
        per_project = { requests = 20, per_seconds = 1 }
        per_tenant = { requests = 600, per_seconds = 60, burst = 50 }
        [tenants.ten_01jd0000000000000000000000]
        plan = "free"
        cors_origins = ["https://app.acme.example", "http://localhost:3000"]
        [http]
        api_key_header = "x-acme-key"
        [secrets]
        peppers = [{ version = 1, source = { env = "PALISADE_PEPPER" } }]
        keyring = { file = "/run/secrets/keyring" }
        audit_signing_key = { id = "audit-1", source = { env = "PALISADE_AUDIT_KEY" } }
    "#;
    let cfg = PalisadeConfig::from_toml_str(text).unwrap();
    let json = serde_json::to_string(&cfg).unwrap();
    assert_eq!(PalisadeConfig::from_json_str(&json).unwrap(), cfg);
    let tenant = "ten_01jd0000000000000000000000".parse().unwrap();
    assert_eq!(cfg.plan_of(&tenant), "free");
    assert_eq!(cfg.plan_of(&palisade::tenancy::TenantId::new_v7()), "free");
}

#[cfg(test)] // helpers count as test code for clippy's unwrap/panic allowances
fn config_err(text: &str) -> String {
    match PalisadeConfig::from_toml_str(text) {
        Err(PalisadeError::Config { field, reason }) => format!("{field}: {reason}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn every_config_error_names_the_field() {
    assert!(
        config_err("[rate_limits]\ndefault_plan = \"gold\"")
            .starts_with("rate_limits.default_plan")
    );
    let zero = "[rate_limits.plans.free]\nper_key = { requests = 0, per_seconds = 1 }\nper_project = { requests = 1, per_seconds = 1 }\nper_tenant = { requests = 1, per_seconds = 1 }";
    assert!(config_err(zero).starts_with("rate_limits.plans.free.per_key.requests"));
    let zero_window = zero.replace(
        "requests = 0, per_seconds = 1",
        "requests = 1, per_seconds = 0",
    );
    assert!(config_err(&zero_window).starts_with("rate_limits.plans.free.per_key.per_seconds"));
    let zero_burst = zero.replace(
        "requests = 0, per_seconds = 1",
        "requests = 1, per_seconds = 1, burst = 0",
    );
    assert!(config_err(&zero_burst).starts_with("rate_limits.plans.free.per_key.burst"));
    assert!(config_err("[rate_limits]\nsweep_every = 0").starts_with("rate_limits.sweep_every"));
    let t = "ten_01jd0000000000000000000000";
    assert!(
        config_err(&format!("[tenants.{t}]\nplan = \"gold\""))
            .contains("plan `gold` is not defined")
    );
    for bad in [
        "ftp://x",
        "https://a.example/path",
        "https://*.example",
        "https://A.example",
        "https://",
    ] {
        let e = config_err(&format!("[tenants.{t}]\ncors_origins = [\"{bad}\"]"));
        assert!(
            e.starts_with(&format!("tenants.{t}.cors_origins")),
            "{bad}: {e}"
        );
    }
    assert!(config_err("[http]\napi_key_header = \"X Key\"").starts_with("http.api_key_header"));
    assert!(config_err("[break_glass]\nmax_minutes = 0").starts_with("break_glass"));
}

#[test]
fn syntax_errors_are_typed() {
    assert!(matches!(
        PalisadeConfig::from_toml_str("[[["),
        Err(PalisadeError::ConfigSyntax { format: "TOML", .. })
    ));
    assert!(matches!(
        PalisadeConfig::from_toml_str("unknown = 1"),
        Err(PalisadeError::ConfigSyntax { .. })
    ));
    assert!(matches!(
        PalisadeConfig::from_json_str("{"),
        Err(PalisadeError::ConfigSyntax { format: "JSON", .. })
    ));
    let e = PalisadeConfig::from_toml_str("[tenants.nope]").unwrap_err();
    assert!(e.to_string().contains("tenant"), "{e}");
}

#[test]
fn files_and_env() {
    let dir = std::env::temp_dir().join(format!("palisade-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("p.json");
    std::fs::write(&json, r#"{"http":{"api_key_header":"x-k"}}"#).unwrap();
    assert_eq!(
        PalisadeConfig::from_file(json.to_str().unwrap())
            .unwrap()
            .http
            .api_key_header,
        "x-k"
    );
    let toml = dir.join("p.toml");
    std::fs::write(&toml, "[http]\napi_key_header = \"x-t\"\n").unwrap();
    assert_eq!(
        PalisadeConfig::from_file(toml.to_str().unwrap())
            .unwrap()
            .http
            .api_key_header,
        "x-t"
    );
    assert!(matches!(
        PalisadeConfig::from_file("/nonexistent/palisade.toml"),
        Err(PalisadeError::Io { .. })
    ));
    assert_eq!(
        PalisadeConfig::from_env("PALISADE_TEST_CFG_SURELY_UNSET").unwrap(),
        PalisadeConfig::default()
    );
}

#[test]
fn csp_builder_is_strict() {
    assert_eq!(
        Csp::strict().build().unwrap(),
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let app = Csp::strict()
        .directive("default-src", ["'self'"])
        .directive("img-src", ["'self'", "data:"])
        // `data:` is refused unless named as an unsafe opt-in (issue 11).
        .allow_unsafe_source("data:")
        .directive("script-src", ["'self'", "'sha256-abc+/='"])
        .frame_ancestors(&["https://portal.example".to_owned()])
        .upgrade_insecure_requests()
        .build()
        .unwrap();
    assert_eq!(
        app,
        "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors https://portal.example; img-src 'self' data:; script-src 'self' 'sha256-abc+/='; upgrade-insecure-requests"
    );
    for bad in [
        "'unsafe-inline'",
        "'unsafe-eval'",
        "*",
        "*.example.com",
        "https://a.example; script-src *",
        "https://a.example,x",
        "a b",
        "'nonce-a;b'",
        "'maybe'",
        "http://evil.example",
        "\"self\"",
        "",
    ] {
        let r = Csp::strict().directive("script-src", [bad]).build();
        assert!(r.is_err(), "accepted `{bad}`");
    }
    assert!(
        Csp::strict()
            .directive("script-src", Vec::<String>::new())
            .build()
            .is_err()
    );
    assert!(
        Csp::strict()
            .directive("script-src", ["'none'", "'self'"])
            .build()
            .is_err()
    );
    assert!(
        Csp::strict()
            .directive("sandbox-ish", ["'self'"])
            .build()
            .is_err()
    );
}

#[test]
fn denials_leak_nothing_to_callers() {
    let cases = [
        (
            DenyReason::MissingCredential,
            DenialKind::Unauthenticated,
            401,
        ),
        (DenyReason::InvalidKey, DenialKind::Unauthenticated, 401),
        (DenyReason::KeyInactive, DenialKind::Unauthenticated, 401),
        (DenyReason::AddressNotAllowed, DenialKind::Forbidden, 403),
        (
            DenyReason::RateLimited(LimitLevel::Tenant),
            DenialKind::RateLimited,
            429,
        ),
        (DenyReason::CrossTenant, DenialKind::Forbidden, 403),
        (DenyReason::NotPermitted, DenialKind::Forbidden, 403),
        (DenyReason::OriginNotAllowed, DenialKind::Forbidden, 403),
        (DenyReason::BreakGlass, DenialKind::Forbidden, 403),
        (DenyReason::Internal, DenialKind::Unavailable, 503),
    ];
    for (reason, kind, status) in cases {
        let d = Denial::new(reason, "secret detail: key k_1 revoked by admin");
        assert_eq!(d.kind(), kind);
        assert_eq!(kind.status(), status);
        assert!(!d.to_string().contains("secret"));
        let body = d.public_body(Some("req-1"));
        assert_eq!(
            body,
            format!("{{\"error\":\"{}\",\"request_id\":\"req-1\"}}", kind.code())
        );
        assert!(d.explain().contains("revoked"));
        assert!(!reason.code().is_empty());
    }
    // A hostile request id is not echoed.
    let d = Denial::new(DenyReason::InvalidKey, "x");
    assert_eq!(
        d.public_body(Some("\"}<script>")),
        "{\"error\":\"unauthorized\"}"
    );
    assert_eq!(d.public_body(None), "{\"error\":\"unauthorized\"}");
}

#[cfg(feature = "axum")]
#[test]
fn security_headers_preset() {
    use palisade::{HttpConfig, SecurityHeaders};
    let cfg = HttpConfig::default();
    let h = SecurityHeaders::api(&cfg).unwrap();
    let get = |name: &str| {
        h.headers()
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.to_str().unwrap().to_owned())
    };
    assert_eq!(
        get("strict-transport-security").unwrap(),
        "max-age=63072000; includeSubDomains"
    );
    assert_eq!(
        get("content-security-policy").unwrap(),
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert_eq!(get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(get("referrer-policy").unwrap(), "no-referrer");
    assert_eq!(get("x-frame-options").unwrap(), "DENY");
    assert_eq!(get("cache-control").unwrap(), "no-store");
    assert_eq!(h.layers().len(), 6);

    let mut framed = HttpConfig::default();
    framed.hsts_max_age_secs = 0;
    framed.frame_ancestors = vec!["https://portal.example".into()];
    let h = SecurityHeaders::api(&framed).unwrap();
    assert!(
        h.headers()
            .iter()
            .all(|(n, _)| n != "strict-transport-security" && n != "x-frame-options")
    );
    framed.frame_ancestors = vec!["*".into()];
    assert!(SecurityHeaders::api(&framed).is_err());
}
