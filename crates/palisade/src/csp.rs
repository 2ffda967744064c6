//! A strict Content-Security-Policy builder.
//!
//! It starts from `default-src 'none'` (right for JSON APIs, which load
//! nothing) and only adds what is asked for. It refuses `'unsafe-inline'`,
//! `'unsafe-eval'`, bare `*` and anything that could break out of the header
//! (`;`, `,`, whitespace, control characters), so a policy built from
//! configuration cannot be weakened or injected into by accident.

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
/// # Ok::<(), palisade::PalisadeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csp {
    directives: Vec<(String, Vec<String>)>,
    upgrade_insecure: bool,
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
        }
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
    /// (`'unsafe-inline'`, `'unsafe-eval'`, `*`) or malformed.
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
                check_source(s)
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

fn check_source(s: &str) -> core::result::Result<(), &'static str> {
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
    if s == "*" || s.starts_with("*.") && !s.contains("://") {
        return Err("wildcards are not allowed by this builder; list the hosts");
    }
    if matches!(s, "https:" | "data:" | "blob:" | "wss:") {
        return Ok(());
    }
    if s.starts_with("https://")
        || s.starts_with("wss://")
        || s.starts_with("http://localhost")
        || s.starts_with("http://127.0.0.1")
    {
        return Ok(());
    }
    Err("use `https://host`, `'self'`, a nonce or hash, or a scheme such as `https:`")
}
