//! Issue 11: the CSP builder refuses the sources it used to let through
//! (scheme-only sources, wildcard hosts, non-loopback `http://`), unless the
//! host names them as explicit unsafe opt-ins.

use palisade::Csp;

#[test]
fn wildcard_scheme_only_and_fake_loopback_sources_are_refused() {
    for bad in [
        "data:",
        "https:",
        "blob:",
        "wss:",
        "http:",
        "https://*",
        "https://*.example.com",
        "https://a.*.example.com",
        "https://example.com:*",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example",
        "http://localhost@evil.example",
        "https://user@host.example",
        "https://",
        "https://Upper.Example",
        "https://host.example:99999",
        "ftp://files.example",
        "example.com",
    ] {
        let r = Csp::strict().directive("img-src", [bad]).build();
        assert!(r.is_err(), "accepted `{bad}`");
    }
}

#[test]
fn explicit_hosts_and_loopback_development_sources_are_accepted() {
    for good in [
        "https://cdn.example.com",
        "https://cdn.example.com:8443/assets/",
        "wss://live.example.com",
        "https://192.0.2.1",
        "https://[2001:db8::1]:443",
        "http://localhost",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "'self'",
    ] {
        let r = Csp::strict().directive("img-src", [good]).build();
        assert!(r.is_ok(), "refused `{good}`: {r:?}");
    }
}

#[test]
fn refused_sources_can_be_named_as_unsafe_opt_ins_but_keywords_cannot() {
    let csp = Csp::strict()
        .directive("img-src", ["'self'", "data:"])
        .allow_unsafe_source("data:")
        .build()
        .unwrap();
    assert!(csp.contains("img-src 'self' data:"));
    // The opt-in is exact: it does not let other sources through.
    assert!(
        Csp::strict()
            .directive("img-src", ["https:"])
            .allow_unsafe_source("data:")
            .build()
            .is_err()
    );
    for kw in ["'unsafe-inline'", "'unsafe-eval'", "a;b"] {
        assert!(
            Csp::strict()
                .directive("script-src", [kw])
                .allow_unsafe_source(kw)
                .build()
                .is_err(),
            "{kw}"
        );
    }
}
