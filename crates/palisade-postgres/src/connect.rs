//! Opening a pool from the `[postgres]` configuration section.

use std::str::FromStr;
use std::time::Duration;

use palisade::PostgresConfig;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::{PgError, Result};

/// Connection options from a connection string, with the server-side
/// `statement_timeout` set so a slow statement ends in an error, not a hang.
///
/// # Errors
/// [`PgError::Invalid`] for a malformed connection string (its text is not
/// repeated: it may hold a password).
pub fn connect_options(url: &str, statement_timeout: Duration) -> Result<PgConnectOptions> {
    let ms = statement_timeout.as_millis().max(1).to_string();
    Ok(PgConnectOptions::from_str(url)
        .map_err(|_| PgError::Invalid {
            field: "postgres.url",
            reason: "not a valid postgres:// connection string",
        })?
        .options([("statement_timeout", ms.as_str())]))
}

/// A lazily connecting pool built from `cfg`: at most `pool_size`
/// connections, waiting at most `acquire_timeout_ms` for one (then
/// [`PgError::Unavailable`]), statements cancelled by the server after
/// `statement_timeout_ms`. No connection is opened until first use, so a
/// service starts while the database is down and recovers when it returns.
///
/// Call it inside a Tokio runtime (the pool's maintenance runs there).
///
/// # Errors
/// [`PgError::Invalid`] when the URL cannot be read or parsed, or when
/// called outside a Tokio runtime.
pub fn pool_from_config(cfg: &PostgresConfig) -> Result<PgPool> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(PgError::Invalid {
            field: "runtime",
            reason: "open the pool inside a Tokio runtime",
        });
    }
    let url = cfg.url.read_secret().map_err(|_| PgError::Invalid {
        field: "postgres.url",
        reason: "the secret source for the connection string cannot be read",
    })?;
    let opts = connect_options(
        url.expose_secret(),
        Duration::from_millis(cfg.statement_timeout_ms),
    )?;
    Ok(
        pool_options(cfg.pool_size, Duration::from_millis(cfg.acquire_timeout_ms))
            .connect_lazy_with(opts),
    )
}

/// Pool options Palisade uses: bounded size and acquire timeout, and a
/// health check before a connection is handed out.
#[must_use]
pub fn pool_options(max: u32, acquire_timeout: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max.max(1))
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(true)
}
