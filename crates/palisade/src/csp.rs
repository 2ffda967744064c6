//! A strict Content-Security-Policy builder.
//!
//! It starts from `default-src 'none'` (right for JSON APIs, which load
//! nothing) and only adds what is asked for. It refuses `'unsafe-inline'`,
//! `'unsafe-eval'`, wildcards anywhere (`*`, `https://*`, `https://*.x`),
//! scheme-only sources (`https:`, `data:`, `blob:`: any host, or inline
//! content), plain `http://` except for the loopback host itself
//! (`http://localhost.evil.example` is not loopback), and anything that
//! could break out of the header (`;`, `,`, whitespace, control
//! characters), so a policy built from configuration cannot be weakened or
//! injected into by accident. A host that really needs a refused source
//! (`img-src data:`) names it with [`Csp::allow_unsafe_source`].

use crate::error::{PalisadeError, Result};

/// A Content-Security-Policy under construction.
///
/// ```
/// use palisade::Csp;
/// let api = Csp::strict().build()?;
/// assert_eq!(api, "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
///
/// let app = Csp::strict()
///     .directive("script-src", ["'self'", "'nonce-r4nd0m'"])
///     .directive("connect-src", ["'self'", "https://api.example.com"])
///     .build()?;
/// assert!(app.contains("script-src 'self' 'nonce-r4nd0m'"));
/// assert!(Csp::strict().directive("script-src", ["'unsafe-inline'"]).build().is_err());
/// assert!(Csp::strict().directive("img-src", ["data:"]).build().is_err());
/// // An explicit, visible opt-in:
/// let img = Csp::strict().directive("img-src", ["'self'", "data:"]).allow_unsafe_source("data:").build()?;
/// assert!(img.contains("img-src 'self' data:"));
/// # Ok::<(), palisade::PalisadeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csp {
    directives: Vec<(String, Vec<String>)>,
    upgrade_insecure: bool,
    unsafe_sources: Vec<String>,
}

const KNOWN: &[&str] = &[
    "default-src",
    "script-src",
    "style-src",
    "img-src",
    "connect-src",
    "font-src",
    "object-src",
    "media-src",
    "frame-src",
    "worker-src",
    "manifest-src",
    "child-src",
    "base-uri",
    "form-action",
    "frame-ancestors",
];

impl Csp {
    /// `default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`.
    #[must_use]
    pub fn strict() -> Self {
        let none = || vec!["'none'".to_owned()];
        Self {
            directives: vec![
                ("default-src".into(), none()),
                ("base-uri".into(), none()),
                ("form-action".into(), none()),
                ("frame-ancestors".into(), none()),
            ],
            upgrade_insecure: false,
            unsafe_sources: Vec::new(),
        }
    }

    /// Accept `source` exactly as written although the builder refuses it
    /// (a scheme-only source such as `data:`, a wildcard host, plain
    /// `http://`): an explicit, reviewable opt-in that weakens the policy.
    /// Keywords (`'unsafe-inline'`, `'unsafe-eval'`) and header-breaking
    /// characters stay refused whatever is opted in.
    #[must_use]
    pub fn allow_unsafe_source(mut self, source: &str) -> Self {
        self.unsafe_sources.push(source.to_owned());
        self
    }

    /// Set `name` to `sources`, replacing any earlier value. Checked by [`Csp::build`].
    #[must_use]
    pub fn directive<I, S>(mut self, name: &str, sources: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let sources: Vec<String> = sources.into_iter().map(Into::into).collect();
        match self.directives.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = sources,
            None => self.directives.push((name.to_owned(), sources)),
        }
        self
    }

    /// `frame-ancestors` from origins; an empty list means `'none'`.
    #[must_use]
    pub fn frame_ancestors(self, origins: &[String]) -> Self {
        if origins.is_empty() {
            self.directive("frame-ancestors", ["'none'"])
        } else {
            self.directive("frame-ancestors", origins.iter().cloned())
        }
    }

    /// Add `upgrade-insecure-requests`.
    #[must_use]
    pub fn upgrade_insecure_requests(mut self) -> Self {
        self.upgrade_insecure = true;
        self
    }

    /// The header value.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] for an unknown directive, an empty one,
    /// `'none'` mixed with other sources, or a source that is unsafe
    /// (`'unsafe-inline'`, `'unsafe-eval'`, a wildcard, a scheme-only
    /// source, `http://` to a non-loopback host) and not opted in with
    /// [`Csp::allow_unsafe_source`], or malformed.
    pub fn build(&self) -> Result<String> {
        let mut parts = Vec::with_capacity(self.directives.len() + 1);
        for (name, sources) in &self.directives {
            let field = || format!("csp.{name}");
            if !KNOWN.contains(&name.as_str()) {
                return Err(PalisadeError::config(
                    field(),
                    format!("unknown directive `{name}`"),
                ));
            }
            if sources.is_empty() {
                return Err(PalisadeError::config(
                    field(),
                    "give at least one source, or `'none'`",
                ));
            }
            if sources.len() > 1 && sources.iter().any(|s| s == "'none'") {
                return Err(PalisadeError::config(
                    field(),
                    "`'none'` must be the only source",
                ));
            }
            for s in sources {
                check_source(s, &self.unsafe_sources)
                    .map_err(|reason| PalisadeError::config(field(), format!("`{s}`: {reason}")))?;
            }
            parts.push(format!("{name} {}", sources.join(" ")));
        }
        if self.upgrade_insecure {
            parts.push("upgrade-insecure-requests".to_owned());
        }
        Ok(parts.join("; "))
    }
}

fn check_source(s: &str, opted_in: &[String]) -> core::result::Result<(), &'static str> {
    if s.is_empty()
        || s.bytes().any(|b| {
            b.is_ascii_whitespace()
                || b.is_ascii_control()
                || b == b';'
                || b == b','
                || !b.is_ascii()
        })
    {
        return Err("a source is one token without spaces, `;` or `,`");
    }
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return match inner {
            "none" | "self" | "strict-dynamic" | "report-sample" => Ok(()),
            "unsafe-inline" | "unsafe-eval" | "unsafe-hashes" | "wasm-unsafe-eval" => {
                Err("unsafe keywords are not allowed by this builder; use a nonce or hash")
            }
            _ if ["nonce-", "sha256-", "sha384-", "sha512-"]
                .iter()
                .any(|p| inner.starts_with(p)) =>
            {
                if inner.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
                }) {
                    Ok(())
                } else {
                    Err("a nonce or hash is base64")
                }
            }
            _ => Err("unknown keyword"),
        };
    }
    if s.contains('\'') || s.contains('"') {
        return Err("quotes only around keywords such as `'self'`");
    }
    if opted_in.iter().any(|o| o == s) {
        return Ok(());
    }
    if s.contains('*') {
        return Err("wildcards are not allowed by this builder; list the hosts \
                    (or opt in with `Csp::allow_unsafe_source`)");
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        if s.ends_with(':') {
            return Err(
                "a scheme-only source (`https:`, `data:`, `blob:`) allows any host or \
                        inline content; list hosts (or opt in with `Csp::allow_unsafe_source`)",
            );
        }
        return Err("use `https://host`, `'self'`, or a nonce or hash");
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, _path) = rest.split_at(end);
    let (host, port) = split_port(authority).ok_or("malformed host or port")?;
    if port.is_some_and(|p| {
        !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().map_or(true, |n| n == 0)
    }) {
        return Err("a port is a number from 1 to 65535");
    }
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match scheme {
        "https" | "wss" if is_host(host) => Ok(()),
        "http" | "ws" if loopback => Ok(()),
        "http" | "ws" => Err("plain `http://` only for the loopback host itself \
                              (`localhost`, `127.0.0.1`, `[::1]`); use `https://`"),
        _ => Err("use `https://host[:port][/path]` with a plain host name or address"),
    }
}

/// `host[:port]` (a bracketed IPv6 literal keeps its brackets).
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(p))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.split_once(':') {
        Some((h, p)) => Some((h, Some(p))),
        None => Some((authority, None)),
    }
}

/// A DNS name of `a-z 0-9 -` labels, an IPv4 address, or a bracketed IPv6 one.
fn is_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}
