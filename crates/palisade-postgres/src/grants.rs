//! `PgGrantStore`: break-glass grants shared by every replica.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use palisade::{BreakGlassGrant, GrantFuture, GrantId, GrantLookup, GrantStore, GrantStoreError};
use palisade_tenancy::{Principal, Scope, Timestamp};
use sqlx::PgPool;

use crate::error::PgError;
use crate::notify::{CHANNEL, Change, NOTIFY};
use crate::scope::bind_scope;

const BIND_LOOKUP: &str = "SELECT set_config('palisade.lookup_ids', $1, true)";
const SELECT: &str = "SELECT tenant_id, project_id, staff, permissions, reason, granted_at_ms, \
                      expires_at_ms, ended_at_ms FROM palisade.grants WHERE grant_id = $1";
const INSERT: &str = "INSERT INTO palisade.grants (grant_id, tenant_id, project_id, staff, \
                      permissions, reason, granted_at_ms, expires_at_ms) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const END: &str = "UPDATE palisade.grants SET ended_at_ms = $2 \
                   WHERE grant_id = $1 AND ended_at_ms IS NULL AND expires_at_ms > $2";
const STATUS: &str = "SELECT grant_id, ended_at_ms FROM palisade.grants WHERE grant_id = ANY($1)";

/// Grants re-read per refresh statement.
const REFRESH_BATCH: usize = 500;
/// Most "no such grant" answers remembered (then the oldest half is dropped).
const MAX_NEGATIVE: usize = 10_000;

type Row = (
    String,
    Option<String>,
    String,
    Vec<String>,
    String,
    i64,
    i64,
    Option<i64>,
);

#[derive(Default)]
struct Cache {
    live: HashMap<GrantId, Arc<BreakGlassGrant>>,
    /// Ended grants (with their expiry, after which the entry is dropped):
    /// a fill that read the grant before it ended must not restore it.
    ended: HashMap<GrantId, i64>,
    negative: HashMap<GrantId, Instant>,
}

/// Break-glass grants in PostgreSQL (`palisade.grants`), with the live ones
/// in memory for the request path. A grant made through any replica works
/// on every replica (a miss is filled from the database); an end is pushed
/// to every replica by `NOTIFY` and caught by the periodic refresh
/// otherwise. Run [`PgSync`](crate::PgSync) beside it.
pub struct PgGrantStore {
    pool: PgPool,
    cache: RwLock<Cache>,
    negative_ttl: Duration,
}

impl core::fmt::Debug for PgGrantStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgGrantStore").finish_non_exhaustive()
    }
}

fn store_err(e: PgError) -> GrantStoreError {
    match e {
        PgError::Corrupt { table, reason } => GrantStoreError::Corrupt {
            message: format!("{table}: {reason}"),
        },
        other => GrantStoreError::Unavailable {
            message: other.to_string(),
        },
    }
}

fn corrupt(reason: &str) -> PgError {
    PgError::Corrupt {
        table: "palisade.grants",
        reason: reason.to_owned(),
    }
}

fn decode(id: GrantId, row: Row) -> Result<BreakGlassGrant, PgError> {
    let (tenant, project, staff, permissions, reason, granted, expires, _) = row;
    let scope_text = match project.filter(|p| !p.is_empty()) {
        Some(p) => format!("{tenant}/{p}"),
        None => tenant,
    };
    Ok(BreakGlassGrant {
        id,
        staff: staff
            .parse::<Principal>()
            .map_err(|_| corrupt("staff is not a principal"))?,
        scope: scope_text
            .parse::<Scope>()
            .map_err(|_| corrupt("tenant/project is not a scope"))?,
        permissions,
        reason,
        granted_at: Timestamp::from_unix_millis(granted),
        expires_at: Timestamp::from_unix_millis(expires),
    })
}

impl PgGrantStore {
    /// A store on `pool` (the application's role), remembering "no such
    /// grant" for `negative_ttl`.
    #[must_use]
    pub fn new(pool: PgPool, negative_ttl: Duration) -> Self {
        Self {
            pool,
            cache: RwLock::new(Cache::default()),
            negative_ttl,
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Apply a change another replica announced.
    pub(crate) fn apply(&self, change: &Change) {
        match change {
            Change::GrantEnded(id) => {
                let mut c = self.write();
                let exp = c
                    .live
                    .remove(id)
                    .map_or(i64::MAX, |g| g.expires_at.unix_millis());
                c.ended.insert(*id, exp);
            }
            Change::GrantNew(id) => {
                self.write().negative.remove(id);
            }
            Change::Key { .. } => {}
        }
    }

    /// Re-read every cached grant: drop the ended ones, and the expired
    /// ones (by `now`) from memory.
    ///
    /// # Errors
    /// [`PgError::Unavailable`] (the cache is left as it was).
    pub async fn refresh(&self, now: Timestamp) -> Result<(), PgError> {
        let ids: Vec<GrantId> = {
            let mut c = self.write();
            let ms = now.unix_millis();
            c.live.retain(|_, g| g.expires_at.unix_millis() > ms);
            c.ended.retain(|_, exp| *exp > ms);
            c.negative.clear();
            c.live.keys().copied().collect()
        };
        for chunk in ids.chunks(REFRESH_BATCH) {
            let texts: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            let mut tx = self.pool.begin().await?;
            sqlx::query(BIND_LOOKUP)
                .bind(texts.join(","))
                .execute(&mut *tx)
                .await?;
            let rows: Vec<(String, Option<i64>)> = sqlx::query_as(STATUS)
                .bind(&texts)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let present: HashMap<String, Option<i64>> = rows.into_iter().collect();
            let mut c = self.write();
            for (id, text) in chunk.iter().zip(&texts) {
                match present.get(text) {
                    Some(None) => {}
                    // Ended, or gone (purged): never usable again.
                    Some(Some(_)) | None => {
                        let exp = c
                            .live
                            .remove(id)
                            .map_or(i64::MAX, |g| g.expires_at.unix_millis());
                        c.ended.insert(*id, exp);
                    }
                }
            }
        }
        Ok(())
    }

    async fn fetch_row(&self, id: GrantId) -> Result<Option<Arc<BreakGlassGrant>>, PgError> {
        let text = id.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(BIND_LOOKUP)
            .bind(&text)
            .execute(&mut *tx)
            .await?;
        let row: Option<Row> = sqlx::query_as(SELECT)
            .bind(&text)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut c = self.write();
        match row {
            None => {
                if c.negative.len() >= MAX_NEGATIVE {
                    c.negative.clear();
                }
                c.negative.insert(id, Instant::now());
                Ok(None)
            }
            Some(r) if r.7.is_some() => {
                c.ended.insert(id, r.6);
                c.live.remove(&id);
                Ok(None)
            }
            Some(r) => {
                if c.ended.contains_key(&id) {
                    return Ok(None);
                }
                let g = Arc::new(decode(id, r)?);
                c.live.insert(id, Arc::clone(&g));
                Ok(Some(g))
            }
        }
    }

    async fn insert_row(&self, grant: BreakGlassGrant) -> Result<(), PgError> {
        let mut tx = self.pool.begin().await?;
        bind_scope(&mut tx, &grant.scope).await?;
        sqlx::query(INSERT)
            .bind(grant.id.to_string())
            .bind(grant.scope.tenant_id().to_string())
            .bind(grant.scope.project_id().map(|p| p.to_string()))
            .bind(grant.staff.to_string())
            .bind(&grant.permissions)
            .bind(&grant.reason)
            .bind(grant.granted_at.unix_millis())
            .bind(grant.expires_at.unix_millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query(NOTIFY)
            .bind(CHANNEL)
            .bind(Change::GrantNew(grant.id).to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut c = self.write();
        c.negative.remove(&grant.id);
        c.live.insert(grant.id, Arc::new(grant));
        Ok(())
    }

    async fn end_row(
        &self,
        id: GrantId,
        now: Timestamp,
    ) -> Result<Option<BreakGlassGrant>, PgError> {
        let text = id.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(BIND_LOOKUP)
            .bind(&text)
            .execute(&mut *tx)
            .await?;
        let Some(row) = sqlx::query_as::<_, Row>(SELECT)
            .bind(&text)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let grant = decode(id, row)?;
        bind_scope(&mut tx, &grant.scope).await?;
        let n = sqlx::query(END)
            .bind(&text)
            .bind(now.unix_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            sqlx::query(NOTIFY)
                .bind(CHANNEL)
                .bind(Change::GrantEnded(id).to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.apply(&Change::GrantEnded(id));
        Ok((n == 1).then_some(grant))
    }
}

impl GrantStore for PgGrantStore {
    fn lookup(&self, id: &GrantId) -> GrantLookup {
        let c = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(g) = c.live.get(id) {
            return GrantLookup::Found(Arc::clone(g));
        }
        if c.ended.contains_key(id) {
            return GrantLookup::Absent;
        }
        match c.negative.get(id) {
            Some(t) if t.elapsed() < self.negative_ttl => GrantLookup::Absent,
            _ => GrantLookup::Miss,
        }
    }

    fn fetch(&self, id: GrantId) -> GrantFuture<'_, Option<Arc<BreakGlassGrant>>> {
        Box::pin(async move { self.fetch_row(id).await.map_err(store_err) })
    }

    fn insert(&self, grant: BreakGlassGrant) -> GrantFuture<'_, ()> {
        Box::pin(async move {
            let id = grant.id;
            self.insert_row(grant).await.map_err(|e| match e {
                PgError::Conflict { .. } => GrantStoreError::Conflict { id },
                other => store_err(other),
            })
        })
    }

    fn end(&self, id: GrantId, now: Timestamp) -> GrantFuture<'_, Option<BreakGlassGrant>> {
        Box::pin(async move { self.end_row(id, now).await.map_err(store_err) })
    }
}
