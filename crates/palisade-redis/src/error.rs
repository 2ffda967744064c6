//! Errors of the Redis backend.

/// Why Redis could not decide. The facade maps every variant to its
/// failure policy (a fail-closed 503 or the local fallback), never to an allow.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisLimitError {
    /// Redis refused the connection or the command.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// No answer within the configured timeout.
    #[error("redis did not answer within {0} ms")]
    Timeout(u64),
    /// The script answered something this crate did not send it to answer
    /// (a different script under the same name, a corrupt key).
    #[error("unexpected reply from the rate-limit script: {0}")]
    Corrupt(String),
    /// The configuration is unusable.
    #[error("invalid redis rate-limit configuration: `{field}` {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What to fix.
        reason: String,
    },
}

/// `Result` with [`RedisLimitError`].
pub type Result<T> = core::result::Result<T, RedisLimitError>;
