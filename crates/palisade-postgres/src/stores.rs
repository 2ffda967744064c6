//! [`PgStores`]: the key store, grant store and their sync task built from
//! the `[postgres]` configuration section, wired into a Palisade builder.

use std::sync::Arc;
use std::time::Duration;

use palisade::envelope::KeyProvider;
use palisade::{PalisadeBuilder, PalisadeConfig, PostgresConfig};
use sqlx::PgPool;

use crate::connect::pool_from_config;
use crate::error::{PgError, Result};
use crate::grants::PgGrantStore;
use crate::keys::PgKeyStore;
use crate::sync::PgSync;

/// The PostgreSQL stores of one replica.
#[derive(Debug, Clone)]
pub struct PgStores {
    /// The application's pool (lazily connected).
    pub pool: PgPool,
    /// API keys (clones share one cache).
    pub keys: PgKeyStore,
    /// Break-glass grants.
    pub grants: Arc<PgGrantStore>,
    refresh: Duration,
    listen_pool: PgPool,
}

impl PgStores {
    /// Stores on `pool` with the settings of `cfg` (refresh interval,
    /// negative-cache lifetime).
    #[must_use]
    pub fn new(pool: PgPool, cfg: &PostgresConfig) -> Self {
        let ttl = Duration::from_millis(cfg.negative_cache_ms);
        Self {
            keys: PgKeyStore::new(pool.clone(), ttl),
            grants: Arc::new(PgGrantStore::new(pool.clone(), ttl)),
            refresh: Duration::from_secs(cfg.refresh_interval_secs),
            listen_pool: pool.clone(),
            pool,
        }
    }

    /// Stores from the `[postgres]` section of `config` (connection string
    /// read from its secret source; nothing connects yet).
    ///
    /// # Errors
    /// [`PgError::Invalid`] when the section is missing or its URL cannot
    /// be read.
    pub fn from_config(config: &PalisadeConfig) -> Result<Self> {
        let cfg = config.postgres.as_ref().ok_or(PgError::Invalid {
            field: "postgres",
            reason: "the configuration has no [postgres] section",
        })?;
        let pool = pool_from_config(cfg)?;
        let mut stores = Self::new(pool, cfg);
        if let Some(listen) = &cfg.listen_url {
            let mut direct = cfg.clone();
            direct.url = listen.clone();
            direct.pool_size = 1;
            stores.listen_pool = pool_from_config(&direct)?;
        }
        Ok(stores)
    }

    /// The background task keeping both caches current (run it, stop it
    /// with its shutdown future).
    #[must_use]
    pub fn sync(&self) -> PgSync {
        PgSync::new(
            self.listen_pool.clone(),
            Some(self.keys.clone()),
            Some(Arc::clone(&self.grants)),
            self.refresh,
        )
    }

    /// Use these stores for `builder`'s keys and grants.
    #[must_use]
    pub fn wire<S, P>(&self, builder: PalisadeBuilder<S, P>) -> PalisadeBuilder<PgKeyStore, P>
    where
        S: palisade_apikey::KeyStore,
        P: KeyProvider,
    {
        builder
            .key_store(self.keys.clone())
            .grant_store(Arc::clone(&self.grants) as Arc<dyn palisade::GrantStore>)
    }
}
