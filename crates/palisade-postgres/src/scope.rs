//! Tenant-scoped transactions: the database's row-level security bound to
//! the request's [`Scope`].

use std::future::Future;
use std::pin::Pin;

use palisade_tenancy::Scope;
use sqlx::{PgPool, Postgres, Transaction};

use crate::error::{PgError, Result};

/// Binds the scope for the rest of the transaction only (`is_local` =
/// true): the setting ends with the transaction, so the next user of the
/// pooled connection starts unbound.
const BIND: &str = "SELECT set_config('palisade.tenant_id', $1, true), \
                    set_config('palisade.project_id', $2, true)";

/// A boxed future borrowing the transaction, as [`with_scope`]'s closure
/// returns (`|tx| Box::pin(async move { … })`).
pub type ScopedFuture<'c, T, E> =
    Pin<Box<dyn Future<Output = core::result::Result<T, E>> + Send + 'c>>;

/// Begin a transaction bound to `scope`: `palisade.tenant_id` (and
/// `palisade.project_id`, empty for a tenant-wide scope) are set with
/// `set_config(…, true)`, so the policies
/// `tenant_id = NULLIF(current_setting('palisade.tenant_id', true), '')`
/// show and accept only that tenant's rows. Commit it yourself, or drop it
/// to roll back.
///
/// # Errors
/// [`PgError::Unavailable`] when no connection can be had.
pub async fn begin_scoped(pool: &PgPool, scope: &Scope) -> Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    bind_scope(&mut tx, scope).await?;
    Ok(tx)
}

/// Bind `scope` on an open transaction (as [`begin_scoped`] does).
///
/// # Errors
/// [`PgError::Unavailable`] when the statement cannot run.
pub async fn bind_scope(tx: &mut Transaction<'static, Postgres>, scope: &Scope) -> Result<()> {
    let project = scope
        .project_id()
        .map(|p| p.to_string())
        .unwrap_or_default();
    sqlx::query(BIND)
        .bind(scope.tenant_id().to_string())
        .bind(project)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Run `f` in a transaction bound to `scope` and commit it if `f`
/// succeeds (roll back otherwise). Your queries run on the transaction
/// `f` receives; row-level security shows them only `scope`'s tenant.
///
/// ```no_run
/// # async fn demo(pool: sqlx::PgPool, scope: palisade_tenancy::Scope) -> Result<(), palisade_postgres::PgError> {
/// let n: i64 = palisade_postgres::with_scope(&pool, &scope, |tx| {
///     Box::pin(async move {
///         Ok::<_, palisade_postgres::PgError>(
///             sqlx::query_scalar("SELECT count(*) FROM app.notes").fetch_one(&mut **tx).await?,
///         )
///     })
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// `f`'s error, or a [`PgError`] (converted into `E`) when the transaction
/// cannot begin, bind or commit.
pub async fn with_scope<T, E, F>(pool: &PgPool, scope: &Scope, f: F) -> core::result::Result<T, E>
where
    E: From<PgError>,
    F: for<'c> FnOnce(&'c mut Transaction<'static, Postgres>) -> ScopedFuture<'c, T, E>,
{
    let mut tx = begin_scoped(pool, scope).await.map_err(E::from)?;
    let out = f(&mut tx).await?;
    tx.commit().await.map_err(|e| E::from(PgError::from(e)))?;
    Ok(out)
}
