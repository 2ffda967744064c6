//! Issue 11: the client address behind trusted proxies (`Forwarded` /
//! `X-Forwarded-For` read right to left up to the first untrusted hop),
//! and spoofed headers from untrusted peers ignored.

use std::net::IpAddr;

use palisade::{PalisadeConfig, PalisadeError, TrustedProxies};

#[cfg(test)]
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[cfg(test)]
fn proxies() -> TrustedProxies {
    TrustedProxies::parse(["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.10"]).unwrap()
}

#[test]
fn x_forwarded_for_is_read_right_to_left_up_to_the_first_untrusted_hop() {
    let p = proxies();
    let peer = ip("10.0.0.1");
    // The client spoofs a leftmost entry; proxies appended the rest.
    let xff = ["6.6.6.6, 198.51.100.7", "10.2.3.4"];
    assert_eq!(p.client_addr(peer, [], xff), ip("198.51.100.7"));
    // Ports and brackets as some proxies write them.
    assert_eq!(
        p.client_addr(peer, [], ["[2001:db8::5]:4711, 10.1.1.1:80"]),
        ip("2001:db8::5")
    );
    assert_eq!(
        p.client_addr(peer, [], ["198.51.100.8:1234"]),
        ip("198.51.100.8")
    );
    // All hops trusted: the leftmost one.
    assert_eq!(p.client_addr(peer, [], ["10.9.9.9"]), ip("10.9.9.9"));
    // No header: the proxy itself.
    assert_eq!(p.client_addr(peer, [], []), peer);
}

#[test]
fn headers_from_an_untrusted_peer_are_ignored() {
    let p = proxies();
    for peer in ["198.51.100.1", "192.0.2.11", "2001:db8:fffe::1"] {
        let peer = ip(peer);
        assert_eq!(p.client_addr(peer, ["for=10.0.0.5"], ["10.0.0.5"]), peer);
        assert_eq!(p.client_addr(peer, [], ["127.0.0.1"]), peer);
    }
    // No proxies configured: never read.
    let none = TrustedProxies::default();
    assert!(none.is_empty());
    assert_eq!(
        none.client_addr(ip("10.0.0.1"), [], ["1.2.3.4"]),
        ip("10.0.0.1")
    );
}

#[test]
fn forwarded_is_preferred_and_parsed_per_rfc_7239() {
    let p = proxies();
    let peer = ip("2001:db8:ffff::2");
    let fwd = [
        r#"for=6.6.6.6, For="[2001:db8:cafe::17]:4711";proto=https"#,
        "for=10.0.0.3;by=10.0.0.9",
    ];
    // `X-Forwarded-For` is not consulted when `Forwarded` is present.
    assert_eq!(
        p.client_addr(peer, fwd, ["7.7.7.7"]),
        ip("2001:db8:cafe::17")
    );
    // `unknown` or an obfuscated node stops at the proxy that wrote it.
    assert_eq!(
        p.client_addr(peer, ["for=unknown, for=10.0.0.3"], []),
        ip("10.0.0.3")
    );
    assert_eq!(p.client_addr(peer, ["for=_hidden"], []), peer);
    assert_eq!(p.client_addr(peer, ["proto=https"], []), peer);
}

#[test]
fn ipv4_mapped_peers_match_ipv4_networks() {
    let p = proxies();
    assert!(p.contains(ip("::ffff:10.1.2.3")));
    assert_eq!(
        p.client_addr(ip("::ffff:10.1.2.3"), [], ["198.51.100.9"]),
        ip("198.51.100.9")
    );
}

#[test]
fn garbage_never_panics_and_bounds_the_walk() {
    let p = proxies();
    let peer = ip("10.0.0.1");
    let long = vec!["10.0.0.2"; 1000].join(",");
    assert_eq!(p.client_addr(peer, [], [long.as_str()]), ip("10.0.0.2"));
    for junk in [
        "",
        ",,,",
        "\"",
        "[",
        "[::1",
        "1.2.3.4:99999",
        "for=\"",
        "ä,ö",
    ] {
        let _ = p.client_addr(peer, [junk], [junk]);
        let _ = p.client_addr(peer, [], [junk]);
    }
}

#[test]
fn misconfigured_proxy_networks_are_config_errors() {
    for bad in [
        "0.0.0.0/0",
        "::/0",
        "10.0.0.1/8",
        "10.0.0.0/33",
        "proxy.internal",
        "10.0.0.0/x",
    ] {
        let err = TrustedProxies::parse([bad]).unwrap_err();
        assert!(matches!(err, PalisadeError::Config { .. }), "{bad}");
        let toml = format!("[http]\ntrusted_proxies = [\"{bad}\"]\n");
        let err = PalisadeConfig::from_toml_str(&toml).unwrap_err();
        assert!(err.to_string().contains("http.trusted_proxies"), "{err}");
    }
    let cfg =
        PalisadeConfig::from_toml_str("[http]\ntrusted_proxies = [\"10.0.0.0/8\"]\n").unwrap();
    assert_eq!(cfg.http.trusted_proxies, ["10.0.0.0/8"]);
}
