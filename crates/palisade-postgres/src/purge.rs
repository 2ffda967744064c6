//! Retention purge of Palisade's own tables: key records that stopped
//! being usable (revoked, expired, rotated out) and ended grants, once
//! their retention has passed.

use palisade_tenancy::{RecordKind, Retention, RetentionPolicy, Timestamp};
use sqlx::PgPool;

use crate::error::Result;

/// The record kind of API-key records in a [`RetentionPolicy`].
pub const KIND_API_KEY: &str = "api_key";
/// The record kind of break-glass grants in a [`RetentionPolicy`].
pub const KIND_GRANT: &str = "break_glass_grant";

const MS_PER_DAY: i64 = 86_400_000;

/// The purge runs as the owner, in maintenance mode (the only way to see
/// every tenant's rows), for this transaction only.
const MAINTENANCE: &str = "SELECT set_config('palisade.maintenance', 'on', true)";
const AS_OWNER: &str = "SET LOCAL ROLE palisade_owner";
const COUNT_KEYS: &str =
    "SELECT count(*) FROM palisade.api_keys WHERE ended_at_ms IS NOT NULL AND ended_at_ms <= $1";
const DELETE_KEYS: &str =
    "DELETE FROM palisade.api_keys WHERE ended_at_ms IS NOT NULL AND ended_at_ms <= $1";
const COUNT_GRANTS: &str = "SELECT count(*) FROM palisade.grants WHERE LEAST(COALESCE(ended_at_ms, expires_at_ms), expires_at_ms) <= $1";
const DELETE_GRANTS: &str = "DELETE FROM palisade.grants WHERE LEAST(COALESCE(ended_at_ms, expires_at_ms), expires_at_ms) <= $1";

/// What [`purge`] removed (or, in a dry run, would remove).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Key records.
    pub keys: u64,
    /// Grants.
    pub grants: u64,
    /// True when nothing was deleted (dry run).
    pub dry_run: bool,
}

/// The instant before which ended rows of `kind` are purged, or `None`
/// when the kind is kept forever. `Never` purges every ended row.
fn cutoff(policy: &RetentionPolicy, kind: &str, now: Timestamp) -> Option<i64> {
    let kind = RecordKind::new(kind).ok()?;
    match policy.rule(&kind) {
        Retention::Forever => None,
        Retention::Never => Some(now.unix_millis()),
        Retention::Days(n) => Some(
            now.unix_millis()
                .saturating_sub(i64::from(n).saturating_mul(MS_PER_DAY)),
        ),
    }
}

/// Delete (or with `dry_run`, count) key records whose end (revocation,
/// expiry, end of rotation grace) is older than the retention of
/// [`KIND_API_KEY`], and grants whose end or expiry is older than that of
/// [`KIND_GRANT`], in one transaction. Live keys and grants are never
/// touched. Run it with the owner's connection (a role that is a member of
/// `palisade_owner`), e.g. daily from a job or `palisade-pg purge`.
///
/// A purged key then reads as "no such key" (its refusals go to the
/// unattributed audit log): keep revoked keys as long as you want their
/// misuse attributed to the tenant.
///
/// # Errors
/// [`PgError::Unavailable`](crate::PgError::Unavailable), or
/// [`PgError::Refused`](crate::PgError::Refused) when the role cannot act
/// as `palisade_owner`.
pub async fn purge(
    pool: &PgPool,
    policy: &RetentionPolicy,
    now: Timestamp,
    dry_run: bool,
) -> Result<PurgeReport> {
    let mut tx = pool.begin().await?;
    sqlx::query(AS_OWNER).execute(&mut *tx).await?;
    sqlx::query(MAINTENANCE).execute(&mut *tx).await?;
    let mut report = PurgeReport {
        dry_run,
        ..PurgeReport::default()
    };
    for (kind, count, delete, slot) in [
        (KIND_API_KEY, COUNT_KEYS, DELETE_KEYS, &mut report.keys),
        (KIND_GRANT, COUNT_GRANTS, DELETE_GRANTS, &mut report.grants),
    ] {
        let Some(cut) = cutoff(policy, kind, now) else {
            continue;
        };
        *slot = if dry_run {
            let n: i64 = sqlx::query_scalar(count)
                .bind(cut)
                .fetch_one(&mut *tx)
                .await?;
            u64::try_from(n).unwrap_or(0)
        } else {
            sqlx::query(delete)
                .bind(cut)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(report)
}
