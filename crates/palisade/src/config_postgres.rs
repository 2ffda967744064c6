//! The `[postgres]` section of [`PalisadeConfig`](crate::PalisadeConfig):
//! where a shared key and grant store lives (used by `palisade-postgres`).

use serde::{Deserialize, Serialize};

use crate::config::SecretSource;
use crate::error::{PalisadeError, Result};

/// Settings of the PostgreSQL stores. The connection string is a secret
/// (it may carry a password): the configuration names where to read it.
///
/// ```toml
/// [postgres]
/// url = { env = "PALISADE_POSTGRES_URL" }
/// pool_size = 10
/// statement_timeout_ms = 5000
/// refresh_interval_secs = 30
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// The connection string (`postgres://user@host/db`), from a secret source.
    pub url: SecretSource,
    /// A connection string for `LISTEN` if `url` goes through a pooler in
    /// transaction mode (PgBouncer), which cannot carry notifications.
    #[serde(default)]
    pub listen_url: Option<SecretSource>,
    /// Most connections in the pool.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// Longest a statement may run before the server cancels it.
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// Longest a caller waits for a free connection.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    /// Every replica re-reads its cached keys and grants this often, which
    /// bounds staleness when a change notification was missed.
    #[serde(default = "default_refresh_interval_secs")]
    pub refresh_interval_secs: u64,
    /// How long "no such key/grant" answers are cached.
    #[serde(default = "default_negative_cache_ms")]
    pub negative_cache_ms: u64,
}

const fn default_pool_size() -> u32 {
    10
}
const fn default_statement_timeout_ms() -> u64 {
    5_000
}
const fn default_acquire_timeout_ms() -> u64 {
    2_000
}
const fn default_refresh_interval_secs() -> u64 {
    30
}
const fn default_negative_cache_ms() -> u64 {
    2_000
}

impl PostgresConfig {
    /// Settings with defaults, reading the connection string from `url`.
    #[must_use]
    pub fn new(url: SecretSource) -> Self {
        Self {
            url,
            listen_url: None,
            pool_size: default_pool_size(),
            statement_timeout_ms: default_statement_timeout_ms(),
            acquire_timeout_ms: default_acquire_timeout_ms(),
            refresh_interval_secs: default_refresh_interval_secs(),
            negative_cache_ms: default_negative_cache_ms(),
        }
    }

    /// Check the numbers are usable.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, reason: &str| {
            Err(PalisadeError::config(format!("postgres.{field}"), reason))
        };
        if !(1..=1000).contains(&self.pool_size) {
            return bad("pool_size", "use 1 to 1000 connections");
        }
        if !(1..=600_000).contains(&self.statement_timeout_ms) {
            return bad("statement_timeout_ms", "use 1 ms to 10 minutes");
        }
        if !(1..=600_000).contains(&self.acquire_timeout_ms) {
            return bad("acquire_timeout_ms", "use 1 ms to 10 minutes");
        }
        if !(1..=3600).contains(&self.refresh_interval_secs) {
            return bad("refresh_interval_secs", "use 1 s to 1 hour (default 30)");
        }
        if self.negative_cache_ms > 60_000 {
            return bad("negative_cache_ms", "use at most 60 000 ms");
        }
        Ok(())
    }
}
