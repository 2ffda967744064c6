//! The SQL of [`PgKeyStore`]: every statement a named constant, every
//! value a bound parameter.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_apikey::{ApiKeyError, Change, KeyEntry, KeyHash, KeyId, KeyRecord, StoreError};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use sqlx::{Postgres, Transaction};

use crate::error::PgError;
use crate::keys::{PgKeyStore, store_error};
use crate::notify::{CHANNEL, Change as Notice, NOTIFY};
use crate::scope::bind_scope;

/// Records re-checked per refresh statement.
pub(crate) const REFRESH_BATCH: usize = 500;

const BIND_LOOKUP: &str = "SELECT set_config('palisade.lookup_ids', $1, true)";
const SELECT_ONE: &str = "SELECT record, remaining_uses FROM palisade.api_keys WHERE key_id = $1";
const SELECT_TENANT: &str = "SELECT tenant_id FROM palisade.api_keys WHERE key_id = $1";
const SELECT_FOR_UPDATE: &str =
    "SELECT record, remaining_uses FROM palisade.api_keys WHERE key_id = $1 FOR UPDATE";
const SELECT_IMPORT: &str = "SELECT key_id FROM palisade.api_key_imports WHERE digest = $1";
const SELECT_GENERATIONS: &str =
    "SELECT key_id, generation FROM palisade.api_keys WHERE key_id = ANY($1)";
/// Every row the transaction's tenant binding shows.
const SELECT_TENANT_ALL: &str =
    "SELECT record, remaining_uses FROM palisade.api_keys ORDER BY key_id";
const INSERT: &str = "INSERT INTO palisade.api_keys \
    (key_id, tenant_id, project_id, generation, record, remaining_uses, uses_period, ended_at_ms) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_IMPORT: &str =
    "INSERT INTO palisade.api_key_imports (digest, key_id, tenant_id) VALUES ($1, $2, $3)";
const UPDATE: &str = "UPDATE palisade.api_keys SET record = $2, generation = $3, \
    remaining_uses = CASE WHEN $4 THEN $5 ELSE remaining_uses END, ended_at_ms = $6, \
    uses_from = COALESCE($7, uses_from), updated_at = now() \
    WHERE key_id = $1 AND generation = $8";
const SUCCESSOR_USES: &str =
    "UPDATE palisade.api_keys SET remaining_uses = $2, uses_period = $3 WHERE key_id = $1";
/// One use of the key's shared counter (its successor's after a rotation),
/// refilling first when a new refill period has begun; no row when none
/// are left.
const DECREMENT: &str = "\
UPDATE palisade.api_keys k SET \
  remaining_uses = CASE WHEN $2::bigint IS NOT NULL AND COALESCE(k.uses_period, -1) < $2 \
                        THEN $3 - 1 ELSE k.remaining_uses - 1 END, \
  uses_period = CASE WHEN $2::bigint IS NOT NULL THEN GREATEST(COALESCE(k.uses_period, $2), $2) \
                     ELSE k.uses_period END \
WHERE k.key_id = (SELECT COALESCE(o.uses_from, o.key_id) FROM palisade.api_keys o WHERE o.key_id = $1) \
  AND k.remaining_uses IS NOT NULL \
  AND CASE WHEN $2::bigint IS NOT NULL AND COALESCE(k.uses_period, -1) < $2 THEN $3 > 0 \
           ELSE k.remaining_uses > 0 END \
RETURNING k.remaining_uses";

type Row = (String, Option<i64>);

/// True when the key has no use limit (its counter never touches the database).
pub(crate) fn unlimited(r: &KeyRecord) -> bool {
    r.remaining_uses.is_none() && r.remaining_uses_cap.is_none()
}

/// The live-count bound of a record (as the in-memory store clamps it).
fn uses_bound(r: &KeyRecord) -> Option<u64> {
    match r.remaining_uses_cap {
        None => r.remaining_uses,
        Some(cap) => {
            let bound = r.refill.map_or(cap, |f| cap.max(f.amount));
            Some(r.remaining_uses.map_or(bound, |x| x.min(bound)))
        }
    }
}

fn period(r: &KeyRecord, t: Timestamp) -> Option<i64> {
    let f = r.refill?;
    let len = i64::try_from(f.interval_secs.checked_mul(1000)?).ok()?;
    (len > 0).then(|| t.unix_millis().div_euclid(len))
}

/// When the key stops being usable for good (for the retention purge).
fn ended_at(r: &KeyRecord) -> Option<i64> {
    [r.revoked_at, r.expires_at, r.grace_until]
        .into_iter()
        .flatten()
        .map(|t| t.unix_millis())
        .min()
}

fn to_i64(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn corrupt(key_id: &KeyId, reason: &str) -> StoreError {
    StoreError::Corrupt {
        key_id: key_id.to_string(),
        reason: reason.to_owned(),
    }
}

fn decode(id: &KeyId, (text, uses): Row) -> Result<Arc<KeyEntry>, StoreError> {
    let mut rec: KeyRecord =
        serde_json::from_str(&text).map_err(|_| corrupt(id, "the record does not decode"))?;
    if rec.key_id != *id {
        return Err(corrupt(id, "the record names another key id"));
    }
    rec.remaining_uses = uses.map(|n| u64::try_from(n).unwrap_or(0));
    KeyEntry::new(rec)
        .map(Arc::new)
        .map_err(|_| corrupt(id, "the key id is not a principal"))
}

fn encode(r: &KeyRecord) -> Result<String, ApiKeyError> {
    serde_json::to_string(r).map_err(|_| {
        ApiKeyError::Store(StoreError::Corrupt {
            key_id: r.key_id.to_string(),
            reason: "the record does not encode".to_owned(),
        })
    })
}

fn api(e: PgError) -> ApiKeyError {
    ApiKeyError::Store(store_error(e))
}

fn sql(e: sqlx::Error) -> ApiKeyError {
    api(PgError::from(e))
}

fn conflict(id: &KeyId, reason: &'static str) -> ApiKeyError {
    ApiKeyError::Store(StoreError::Conflict {
        key_id: id.to_string(),
        reason,
    })
}

fn digest_of(h: &KeyHash) -> Option<[u8; 32]> {
    match h {
        KeyHash::Sha256Import { digest } => Some(*digest),
        _ => None,
    }
}

async fn notify(tx: &mut Transaction<'static, Postgres>, r: &KeyRecord) -> Result<(), sqlx::Error> {
    let n = Notice::Key {
        key_id: r.key_id,
        generation: r.generation,
    };
    sqlx::query(NOTIFY)
        .bind(CHANNEL)
        .bind(n.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

impl PgKeyStore {
    /// Read one record (no cache).
    pub(crate) async fn load(&self, id: &KeyId) -> Result<Option<Arc<KeyEntry>>, PgError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(BIND_LOOKUP)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        let row: Option<Row> = sqlx::query_as(SELECT_ONE)
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| decode(id, r))
            .transpose()
            .map_err(|e| PgError::Corrupt {
                table: "palisade.api_keys",
                reason: e.to_string(),
            })
    }

    pub(crate) async fn load_import(
        &self,
        digest: &[u8; 32],
    ) -> Result<Option<Arc<KeyEntry>>, PgError> {
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let mut tx = self.pool.begin().await?;
        sqlx::query(BIND_LOOKUP)
            .bind(&hex)
            .execute(&mut *tx)
            .await?;
        let id: Option<String> = sqlx::query_scalar(SELECT_IMPORT)
            .bind(digest.as_slice())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(id) = id else { return Ok(None) };
        let id: KeyId = id.parse().map_err(|_| PgError::Corrupt {
            table: "palisade.api_key_imports",
            reason: "key id does not parse".to_owned(),
        })?;
        self.load(&id).await
    }

    /// The stored generation of each of `ids` that exists.
    pub(crate) async fn generations(
        &self,
        ids: impl Iterator<Item = KeyId>,
    ) -> Result<HashMap<KeyId, u64>, PgError> {
        let texts: Vec<String> = ids.map(|i| i.to_string()).collect();
        let mut tx = self.pool.begin().await?;
        sqlx::query(BIND_LOOKUP)
            .bind(texts.join(","))
            .execute(&mut *tx)
            .await?;
        let rows: Vec<(String, i64)> = sqlx::query_as(SELECT_GENERATIONS)
            .bind(&texts)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, g)| Some((id.parse().ok()?, u64::try_from(g).ok()?)))
            .collect())
    }

    async fn insert_in(
        tx: &mut Transaction<'static, Postgres>,
        record: &KeyRecord,
        uses: Option<i64>,
    ) -> Result<(), ApiKeyError> {
        let scope: Scope = record.scope;
        let dup = |e: sqlx::Error| match PgError::from(e) {
            PgError::Conflict { .. } => ApiKeyError::DuplicateKey {
                key_id: record.key_id.to_string(),
            },
            other => api(other),
        };
        sqlx::query(INSERT)
            .bind(record.key_id.as_str())
            .bind(scope.tenant_id().to_string())
            .bind(scope.project_id().map(|p| p.to_string()))
            .bind(i64::try_from(record.generation).unwrap_or(i64::MAX))
            .bind(encode(record)?)
            .bind(uses)
            .bind(period(
                record,
                record.last_used.unwrap_or(record.created_at),
            ))
            .bind(ended_at(record))
            .execute(&mut **tx)
            .await
            .map_err(dup)?;
        if let Some(d) = digest_of(&record.hash) {
            sqlx::query(INSERT_IMPORT)
                .bind(d.as_slice())
                .bind(record.key_id.as_str())
                .bind(scope.tenant_id().to_string())
                .execute(&mut **tx)
                .await
                .map_err(dup)?;
        }
        notify(tx, record).await.map_err(sql)
    }

    pub(crate) async fn insert_row(&self, record: KeyRecord) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let scope = record.scope.widen_to_tenant();
        let mut tx = self.pool.begin().await.map_err(sql)?;
        bind_scope(&mut tx, &scope).await.map_err(api)?;
        Self::insert_in(&mut tx, &record, to_i64(uses_bound(&record))).await?;
        tx.commit().await.map_err(sql)?;
        KeyEntry::new(record).map(Arc::new)
    }

    /// Lock the record of `id` in a transaction bound to its tenant.
    async fn lock(
        &self,
        id: &KeyId,
    ) -> Result<(Transaction<'static, Postgres>, Arc<KeyEntry>), ApiKeyError> {
        let no_such = || ApiKeyError::NoSuchKey {
            key_id: id.to_string(),
        };
        let mut tx = self.pool.begin().await.map_err(sql)?;
        sqlx::query(BIND_LOOKUP)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        let tenant: Option<String> = sqlx::query_scalar(SELECT_TENANT)
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(sql)?;
        let tenant: TenantId = tenant
            .ok_or_else(no_such)?
            .parse()
            .map_err(|_| ApiKeyError::Store(corrupt(id, "tenant id does not parse")))?;
        bind_scope(&mut tx, &Scope::tenant(tenant))
            .await
            .map_err(api)?;
        let row: Row = sqlx::query_as(SELECT_FOR_UPDATE)
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(sql)?
            .ok_or_else(no_such)?;
        let cur = decode(id, row).map_err(ApiKeyError::Store)?;
        Ok((tx, cur))
    }

    /// Apply `change` to the locked `cur` and write it (no commit).
    async fn change_in(
        tx: &mut Transaction<'static, Postgres>,
        cur: &KeyEntry,
        change: &mut Change<'_>,
        uses_from: Option<&KeyId>,
    ) -> Result<KeyRecord, ApiKeyError> {
        let old = cur.record();
        let id = old.key_id;
        let new = change(old)?;
        if new.key_id != id {
            return Err(conflict(&id, "a change may not alter the key id"));
        }
        if new.generation <= old.generation {
            return Err(conflict(
                &id,
                "a change must raise the generation (a lower generation never overwrites a higher one)",
            ));
        }
        if digest_of(&new.hash) != digest_of(&old.hash) {
            return Err(conflict(&id, "a change may not alter an imported digest"));
        }
        let uses_changed = new.remaining_uses != old.remaining_uses;
        let n = sqlx::query(UPDATE)
            .bind(id.as_str())
            .bind(encode(&new)?)
            .bind(i64::try_from(new.generation).unwrap_or(i64::MAX))
            .bind(uses_changed)
            .bind(to_i64(uses_bound(&new)))
            .bind(ended_at(&new))
            .bind(uses_from.map(KeyId::as_str))
            .bind(i64::try_from(old.generation).unwrap_or(i64::MAX))
            .execute(&mut **tx)
            .await
            .map_err(sql)?
            .rows_affected();
        if n != 1 {
            return Err(conflict(&id, "the record changed concurrently; retry"));
        }
        notify(tx, &new).await.map_err(sql)?;
        Ok(new)
    }

    pub(crate) async fn update_row(
        &self,
        id: &KeyId,
        mut change: Change<'_>,
    ) -> Result<Arc<KeyEntry>, ApiKeyError> {
        let (mut tx, cur) = self.lock(id).await?;
        let new = Self::change_in(&mut tx, &cur, &mut change, None).await?;
        tx.commit().await.map_err(sql)?;
        KeyEntry::new(new).map(Arc::new)
    }

    /// Rotation in one transaction: the successor takes over the old key's
    /// live counter (the old key spends from it while in its grace period).
    pub(crate) async fn replace_rows(
        &self,
        old: &KeyId,
        mut change_old: Change<'_>,
        successor: KeyRecord,
    ) -> Result<(Arc<KeyEntry>, Arc<KeyEntry>), ApiKeyError> {
        let (mut tx, cur) = self.lock(old).await?;
        if cur.record().scope.tenant_id() != successor.scope.tenant_id() {
            return Err(conflict(old, "a successor must belong to the same tenant"));
        }
        let shared = to_i64(cur.remaining_uses());
        Self::insert_in(&mut tx, &successor, shared).await?;
        sqlx::query(SUCCESSOR_USES)
            .bind(successor.key_id.as_str())
            .bind(shared)
            .bind(period(&successor, successor.created_at))
            .execute(&mut *tx)
            .await
            .map_err(sql)?;
        let new_old =
            Self::change_in(&mut tx, &cur, &mut change_old, Some(&successor.key_id)).await?;
        tx.commit().await.map_err(sql)?;
        let new_entry = Arc::new(KeyEntry::new(successor)?);
        let old_entry = Arc::new(KeyEntry::sharing_uses_with(new_old, &new_entry)?);
        Ok((new_entry, old_entry))
    }

    pub(crate) async fn list_rows(&self, tenant: TenantId) -> Result<Vec<Arc<KeyEntry>>, PgError> {
        let mut tx = self.pool.begin().await?;
        bind_scope(&mut tx, &Scope::tenant(tenant)).await?;
        let rows: Vec<Row> = sqlx::query_as(SELECT_TENANT_ALL)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: KeyId = serde_json::from_str::<KeyRecord>(&row.0)
                .map(|r| r.key_id)
                .map_err(|_| PgError::Corrupt {
                    table: "palisade.api_keys",
                    reason: "a record does not decode".to_owned(),
                })?;
            out.push(decode(&id, row).map_err(|e| PgError::Corrupt {
                table: "palisade.api_keys",
                reason: e.to_string(),
            })?);
        }
        out.sort_by_key(|e| (e.record().created_at, e.record().key_id));
        Ok(out)
    }

    /// Take one use from the shared counter: `Some(left)`, or `None` when
    /// none are left.
    pub(crate) async fn decrement(
        &self,
        r: &KeyRecord,
        now: Timestamp,
    ) -> Result<Option<u64>, PgError> {
        let mut tx = self.pool.begin().await?;
        bind_scope(&mut tx, &r.scope.widen_to_tenant()).await?;
        let left: Option<i64> = sqlx::query_scalar(DECREMENT)
            .bind(r.key_id.as_str())
            .bind(period(r, now))
            .bind(
                r.refill
                    .map(|f| i64::try_from(f.amount).unwrap_or(i64::MAX)),
            )
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(left.map(|n| u64::try_from(n).unwrap_or(0)))
    }
}
