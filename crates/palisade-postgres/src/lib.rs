//! PostgreSQL for Palisade services with many replicas: API keys
//! ([`PgKeyStore`]) and break-glass grants ([`PgGrantStore`]) shared by
//! every replica, kept current by [`PgSync`] (`LISTEN/NOTIFY` plus a
//! periodic refresh); tenant-scoped transactions under row-level security
//! ([`with_scope`]); [`migrate`], the [`check_rls`] health check and the
//! retention [`purge`]. See `docs/postgres.md`.
//!
//! The request path stays in memory: verification of a cached key is a
//! map lookup; only a cache miss (and keys with a use limit) go to the
//! database, asynchronously (`Palisade::authorize_async`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use palisade::{Palisade, PalisadeConfig};
//! let config = PalisadeConfig::from_file("palisade.toml")?; // with a [postgres] section
//! let stores = palisade_postgres::PgStores::from_config(&config)?;
//! palisade_postgres::migrate(&stores.pool).await?; // or `palisade-pg migrate`, as the owner
//! let sync = stores.sync();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let task = tokio::spawn(sync.run(async move { let _ = stopped.await; }));
//! let palisade = stores.wire(Palisade::builder(config)).build()?;
//! // … serve requests with palisade.authorize_async(&req).await …
//! let _ = stop.send(());
//! task.await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod error;
mod grants;
mod health;
mod keys;
mod keys_sql;
mod migrate;
mod notify;
mod purge;
mod scope;
mod stores;
mod sync;

pub use connect::{connect_options, pool_from_config, pool_options};
pub use error::{PgError, Result};
pub use grants::PgGrantStore;
pub use health::{RlsFinding, RlsReport, check_rls};
pub use keys::PgKeyStore;
pub use migrate::{MigrationReport, SCHEMA_VERSION, migrate};
pub use notify::CHANNEL;
pub use purge::{KIND_API_KEY, KIND_GRANT, PurgeReport, purge};
pub use scope::{ScopedFuture, begin_scoped, bind_scope, with_scope};
pub use stores::PgStores;
pub use sync::{PgSync, SyncStats};
