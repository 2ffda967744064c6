//! The crate's one error type.

/// Result alias for this crate.
pub type Result<T, E = PgError> = core::result::Result<T, E>;

/// What can go wrong talking to PostgreSQL. Messages never carry a
/// credential, a connection string or row content (only PostgreSQL's
/// message line and SQLSTATE, which name constraints and tables).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The database is down, slow (statement timeout), or the pool has no
    /// free connection within its acquire timeout. Retry later; a request
    /// that needs the database is refused with 503.
    #[error("postgres unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
    /// A statement hit the server's `statement_timeout`, or no pooled
    /// connection was free within the acquire timeout.
    #[error("postgres timed out: {message}")]
    Timeout {
        /// What timed out.
        message: String,
    },
    /// The database refused the statement: row-level security, a check
    /// constraint, missing privileges.
    #[error("postgres refused the statement ({code}): {message}")]
    Refused {
        /// SQLSTATE.
        code: String,
        /// PostgreSQL's message line.
        message: String,
    },
    /// A unique key is taken, or a concurrent change won.
    #[error("conflict ({code}): {message}")]
    Conflict {
        /// SQLSTATE.
        code: String,
        /// PostgreSQL's message line.
        message: String,
    },
    /// A stored row did not decode (or failed its integrity check).
    #[error("corrupt row in `{table}`: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What did not decode.
        reason: String,
    },
    /// An input was refused before it reached SQL.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which input.
        field: &'static str,
        /// What is wrong (the input itself is not repeated).
        reason: &'static str,
    },
    /// The schema is newer than this build, or a migration failed.
    #[error("migration: {message}")]
    Migration {
        /// What failed.
        message: String,
    },
}

impl From<sqlx::Error> for PgError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let message = db.message().to_owned();
                match code.get(..2) {
                    // integrity violations of keys, serialization failures
                    _ if code == "23505" || code == "40001" || code == "40P01" => {
                        Self::Conflict { code, message }
                    }
                    _ if code == "57014" => Self::Timeout { message },
                    // 08 connection,
                    // 53 insufficient resources, 57P admin shutdown
                    Some("08" | "53" | "57") => Self::Unavailable {
                        message: format!("{message} ({code})"),
                    },
                    _ => Self::Refused { code, message },
                }
            }
            sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => Self::Corrupt {
                table: "?",
                reason: e.to_string(),
            },
            sqlx::Error::Configuration(_) => Self::Unavailable {
                message: "invalid connection configuration".to_owned(),
            },
            sqlx::Error::PoolTimedOut => Self::Timeout {
                message: "no pooled connection was free in time".to_owned(),
            },
            // Io, Tls, PoolClosed, Protocol, WorkerCrashed…
            _ => Self::Unavailable {
                message: e.to_string(),
            },
        }
    }
}

impl PgError {
    /// True when retrying later may succeed (the database was unreachable,
    /// slow or out of connections).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout { .. })
    }
}
