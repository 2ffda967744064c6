//! The crate's one error type (configuration and start-up).
//!
//! Request-time failures are not errors: they are a [`Denial`](crate::Denial)
//! (authorization is two-valued, and any error on the way denies).

/// Result alias for this crate.
pub type Result<T, E = PalisadeError> = core::result::Result<T, E>;

/// What can go wrong while building or reconfiguring Palisade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PalisadeError {
    /// The configuration text could not be parsed.
    #[error("invalid {format} configuration: {message}")]
    ConfigSyntax {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// The parser's message (it names the line or field).
        message: String,
    },
    /// The configuration parsed but is inconsistent.
    #[error("invalid configuration at `{field}`: {reason}")]
    Config {
        /// The dotted path of the offending field.
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A file named by the configuration could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A secret named by the configuration is missing or malformed.
    #[error("secret `{name}` unavailable: {reason}")]
    Secret {
        /// The env variable or file that should hold it (never its value).
        name: String,
        /// What is wrong and how to fix it.
        reason: &'static str,
    },
    /// A member crate refused to start (bad policy file, keyring, audit log…).
    #[error("{component}: {message}")]
    Component {
        /// `rbac`, `apikey`, `audit` or `envelope`.
        component: &'static str,
        /// The member crate's message.
        message: String,
    },
    /// The break-glass grant store refused or could not be reached.
    #[cfg(feature = "service")]
    #[error(transparent)]
    GrantStore(#[from] crate::breakglass_store::GrantStoreError),
}

impl PalisadeError {
    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
