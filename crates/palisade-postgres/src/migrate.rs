//! Schema migrations: `migrations/*.sql`, applied in order, once, in one
//! transaction, under an advisory lock (so replicas starting together do
//! not race).

use sqlx::PgPool;

use crate::error::{PgError, Result};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 1;

/// The migrations, in order.
const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("../migrations/0001_palisade.sql"))];

/// Serialises concurrent `migrate` calls (any constant; "palisade" in ASCII).
const LOCK: &str = "SELECT pg_advisory_xact_lock(7021782712371831653)";
const HAS_TABLE: &str = "SELECT to_regclass('palisade.schema_migrations') IS NOT NULL";
const CURRENT: &str = "SELECT COALESCE(max(version), 0) FROM palisade.schema_migrations";
const AS_OWNER: &str = "SET LOCAL ROLE palisade_owner";
const RECORD: &str = "INSERT INTO palisade.schema_migrations (version) VALUES ($1)";
const RESET: &str = "RESET ROLE";

/// What [`migrate`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// The schema version found.
    pub from: i32,
    /// The schema version now.
    pub to: i32,
}

/// Bring the database's `palisade` schema to [`SCHEMA_VERSION`]: create
/// the roles `palisade_owner`, `palisade_app`, `palisade_auditor` (if
/// missing), the schema, tables, row-level-security policies and grants.
/// Run it as a role that may create roles (the deployment's DBA role or a
/// superuser), e.g. with `palisade-pg migrate` (see docs/postgres.md);
/// never as the application's role.
///
/// # Errors
/// [`PgError::Migration`] when the database's schema is newer than this
/// build, or a migration fails (then nothing of it is applied); an
/// unavailable database as [`PgError::Unavailable`].
pub async fn migrate(pool: &PgPool) -> Result<MigrationReport> {
    let mut tx = pool.begin().await?;
    sqlx::query(LOCK).execute(&mut *tx).await?;
    let exists: bool = sqlx::query_scalar(HAS_TABLE).fetch_one(&mut *tx).await?;
    let from: i32 = if exists {
        sqlx::query_scalar(CURRENT).fetch_one(&mut *tx).await?
    } else {
        0
    };
    if from > SCHEMA_VERSION {
        return Err(PgError::Migration {
            message: format!(
                "the database has schema version {from}, this build knows up to {SCHEMA_VERSION}: upgrade palisade-postgres"
            ),
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| PgError::Migration {
                message: format!("migration {version}: {}", PgError::from(e)),
            })?;
        sqlx::query(AS_OWNER).execute(&mut *tx).await?;
        sqlx::query(RECORD).bind(version).execute(&mut *tx).await?;
        sqlx::query(RESET).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(MigrationReport {
        from,
        to: SCHEMA_VERSION,
    })
}
