//! `PgSync`: the background work of the stores (LISTEN for other replicas'
//! changes, periodic refresh), as a value the host runs and stops.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use palisade_tenancy::Timestamp;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::error::PgError;
use crate::grants::PgGrantStore;
use crate::keys::PgKeyStore;
use crate::notify::{CHANNEL, Change};

/// Counters of what [`PgSync`] did, readable while it runs.
#[derive(Debug, Default)]
pub struct SyncStats {
    /// Notifications applied.
    pub notifications: AtomicU64,
    /// Full refreshes done.
    pub refreshes: AtomicU64,
    /// Times the listening connection was (re)established.
    pub connects: AtomicU64,
    /// Errors (connection lost, refresh failed); each is retried.
    pub errors: AtomicU64,
}

/// Keeps the caches of a [`PgKeyStore`] and a [`PgGrantStore`] current:
/// applies every change notification on [`CHANNEL`] as it arrives, and
/// re-reads every cached entry each `refresh_interval` (and right after
/// the listening connection comes back), which bounds staleness when a
/// notification was missed.
///
/// It spawns nothing: the host runs [`PgSync::run`] (e.g. in
/// `tokio::spawn`) and stops it by resolving the `shutdown` future.
pub struct PgSync {
    pool: PgPool,
    keys: Option<PgKeyStore>,
    grants: Option<Arc<PgGrantStore>>,
    refresh_interval: Duration,
    stats: Arc<SyncStats>,
}

impl core::fmt::Debug for PgSync {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgSync")
            .field("refresh_interval", &self.refresh_interval)
            .finish_non_exhaustive()
    }
}

fn wall_clock() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_millis(ms)
}

impl PgSync {
    /// Sync for the given stores; `pool` opens the listening connection
    /// (a direct one: `LISTEN` does not pass a transaction-mode pooler).
    #[must_use]
    pub fn new(
        pool: PgPool,
        keys: Option<PgKeyStore>,
        grants: Option<Arc<PgGrantStore>>,
        refresh_interval: Duration,
    ) -> Self {
        Self {
            pool,
            keys,
            grants,
            refresh_interval: refresh_interval.max(Duration::from_millis(100)),
            stats: Arc::new(SyncStats::default()),
        }
    }

    /// The counters (shared with the running task).
    #[must_use]
    pub fn stats(&self) -> Arc<SyncStats> {
        Arc::clone(&self.stats)
    }

    /// Re-read every cached entry of both stores now.
    ///
    /// # Errors
    /// The first store's error (the other store is still refreshed).
    pub async fn refresh_now(&self) -> Result<(), PgError> {
        let now = wall_clock();
        let k = match &self.keys {
            Some(k) => k.refresh().await,
            None => Ok(()),
        };
        let g = match &self.grants {
            Some(g) => g.refresh(now).await,
            None => Ok(()),
        };
        self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        k.and(g)
    }

    async fn apply(&self, payload: &str) {
        let Some(change) = Change::parse(payload) else {
            return;
        };
        self.stats.notifications.fetch_add(1, Ordering::Relaxed);
        match change {
            Change::Key { .. } => {
                if let Some(k) = &self.keys {
                    // On failure the entry is dropped (a later miss refetches).
                    k.apply(&change).await;
                }
            }
            Change::GrantNew(_) | Change::GrantEnded(_) => {
                if let Some(g) = &self.grants {
                    g.apply(&change);
                }
            }
        }
    }

    async fn listen(&self) -> Result<PgListener, PgError> {
        let mut l = PgListener::connect_with(&self.pool).await?;
        l.listen(CHANNEL).await?;
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        Ok(l)
    }

    /// Run until `shutdown` resolves: listen, apply, refresh; reconnect
    /// with backoff (100 ms doubling to 5 s) when the database goes away,
    /// refreshing once it is back.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = core::pin::pin!(shutdown);
        let mut backoff = Duration::from_millis(100);
        let mut listener: Option<PgListener> = None;
        let mut next_refresh = tokio::time::Instant::now() + self.refresh_interval;
        loop {
            if listener.is_none() {
                match self.listen().await {
                    Ok(l) => {
                        listener = Some(l);
                        backoff = Duration::from_millis(100);
                        // Whatever was announced while we were away.
                        if self.refresh_now().await.is_err() {
                            self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        }
                        next_refresh = tokio::time::Instant::now() + self.refresh_interval;
                    }
                    Err(_) => {
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        tokio::select! {
                            () = &mut shutdown => return,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            let Some(l) = listener.as_mut() else { continue };
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep_until(next_refresh) => {
                    if self.refresh_now().await.is_err() {
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    next_refresh = tokio::time::Instant::now() + self.refresh_interval;
                }
                n = l.try_recv() => match n {
                    Ok(Some(n)) => self.apply(n.payload()).await,
                    // The connection dropped: notifications may be lost.
                    Ok(None) | Err(_) => {
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                        listener = None;
                    }
                },
            }
        }
    }
}
