//! Row-level security: `with_scope`, leaks across pooled transactions,
//! cross-tenant writes, and the `check_rls` health check.

mod common;

use common::{APP_ROLE, TestDb, ddl};
use palisade_postgres::{PgError, RlsFinding, check_rls, with_scope};
use palisade_tenancy::{Scope, TenantId};

const INSERT_GRANT: &str = "INSERT INTO palisade.grants (grant_id, tenant_id, staff, permissions, \
     reason, granted_at_ms, expires_at_ms) VALUES ($1, $2, 'staff:sam', ARRAY['inbox:read'], 'ticket 1', 0, 1000)";
const COUNT: &str = "SELECT count(*) FROM palisade.grants";

fn gid(n: u8) -> String {
    format!("bg_{:032x}", n)
}

async fn insert(db: &TestDb, scope: Scope, id: String, tenant: String) -> Result<(), PgError> {
    with_scope(&db.app, &scope, |tx| {
        Box::pin(async move {
            sqlx::query(INSERT_GRANT)
                .bind(id)
                .bind(tenant)
                .execute(&mut **tx)
                .await?;
            Ok::<_, PgError>(())
        })
    })
    .await
}

#[cfg(test)]
async fn count_in(db: &TestDb, scope: Scope) -> i64 {
    with_scope(&db.app, &scope, |tx| {
        Box::pin(async move {
            Ok::<i64, PgError>(sqlx::query_scalar(COUNT).fetch_one(&mut **tx).await?)
        })
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn query_outside_with_scope_sees_no_tenant_rows_and_inside_only_its_own() {
    let Some(db) = TestDb::new("query_outside_with_scope_sees_no_tenant_rows").await else {
        return;
    };
    let (a, b) = (TenantId::new_v7(), TenantId::new_v7());
    insert(&db, Scope::tenant(a), gid(1), a.to_string())
        .await
        .unwrap();
    insert(&db, Scope::tenant(b), gid(2), b.to_string())
        .await
        .unwrap();
    insert(&db, Scope::tenant(b), gid(3), b.to_string())
        .await
        .unwrap();
    let outside: i64 = sqlx::query_scalar(COUNT).fetch_one(&db.app).await.unwrap();
    assert_eq!(outside, 0);
    assert_eq!(count_in(&db, Scope::tenant(a)).await, 1);
    assert_eq!(count_in(&db, Scope::tenant(b)).await, 2);
    // The superuser sees all three: RLS is what hid them.
    let all: i64 = sqlx::query_scalar(COUNT)
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert_eq!(all, 3);
    db.drop_db().await;
}

#[tokio::test]
async fn scope_setting_never_leaks_to_the_next_transaction_on_a_pooled_connection() {
    let Some(db0) = TestDb::new("scope_setting_never_leaks").await else {
        return;
    };
    // A pool of ONE connection: the next transaction reuses it.
    let one = TestDb::pool_as(&db0.app_options(), &db0.name, APP_ROLE, 1).await;
    let a = TenantId::new_v7();
    let scope = Scope::tenant(a);
    with_scope(&one, &scope, |tx| {
        Box::pin(async move {
            sqlx::query(INSERT_GRANT)
                .bind(gid(9))
                .bind(a.to_string())
                .execute(&mut **tx)
                .await?;
            Ok::<_, PgError>(())
        })
    })
    .await
    .unwrap();
    let setting: Option<String> =
        sqlx::query_scalar("SELECT current_setting('palisade.tenant_id', true)")
            .fetch_one(&one)
            .await
            .unwrap();
    assert!(setting.as_deref().unwrap_or("").is_empty(), "{setting:?}");
    let n: i64 = sqlx::query_scalar(COUNT).fetch_one(&one).await.unwrap();
    assert_eq!(n, 0);
    // A failed scoped transaction does not leak either.
    let e = with_scope(&one, &scope, |tx| {
        Box::pin(async move {
            sqlx::query("SELECT 1/0").execute(&mut **tx).await?;
            Ok::<_, PgError>(())
        })
    })
    .await;
    assert!(matches!(e, Err(PgError::Refused { .. })), "{e:?}");
    let n: i64 = sqlx::query_scalar(COUNT).fetch_one(&one).await.unwrap();
    assert_eq!(n, 0);
    one.close().await;
    db0.drop_db().await;
}

#[tokio::test]
async fn insert_of_another_tenants_row_is_refused_by_the_database() {
    let Some(db) = TestDb::new("insert_of_another_tenants_row_is_refused").await else {
        return;
    };
    let (a, b) = (TenantId::new_v7(), TenantId::new_v7());
    let e = insert(&db, Scope::tenant(a), gid(4), b.to_string())
        .await
        .unwrap_err();
    match e {
        PgError::Refused { code, message } => {
            assert_eq!(code, "42501", "{message}");
            assert!(message.contains("row-level security"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // And unbound, nothing can be written at all.
    let e = sqlx::query(INSERT_GRANT)
        .bind(gid(5))
        .bind(a.to_string())
        .execute(&db.app)
        .await;
    assert!(e.is_err());
    assert_eq!(count_in(&db, Scope::tenant(b)).await, 0);
    db.drop_db().await;
}

#[tokio::test]
async fn the_app_role_cannot_truncate_delete_or_alter_palisade_tables() {
    let Some(db) = TestDb::new("the_app_role_cannot_truncate").await else {
        return;
    };
    for stmt in [
        "TRUNCATE palisade.grants",
        "DELETE FROM palisade.grants",
        "ALTER TABLE palisade.grants DISABLE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON palisade.grants",
    ] {
        let e = sqlx::query(sqlx::AssertSqlSafe(stmt))
            .execute(&db.app)
            .await;
        assert!(e.is_err(), "{stmt} was allowed");
    }
    db.drop_db().await;
}

#[tokio::test]
async fn check_rls_passes_for_the_migrated_schema_and_flags_each_weakness() {
    let Some(db) = TestDb::new("check_rls").await else {
        return;
    };
    let ok = check_rls(&db.app).await.unwrap();
    assert!(ok.is_ok(), "{:?}", ok.findings);
    assert!(ok.tables_checked >= 3);

    // The documented template for an application table passes too.
    ddl(&db.admin, TEMPLATE.to_owned()).await;
    let ok = check_rls(&db.app).await.unwrap();
    assert!(ok.is_ok(), "{:?}", ok.findings);

    // Weaknesses, each found.
    ddl(
        &db.admin,
        format!(
            "CREATE TABLE app.unforced (tenant_id text); ALTER TABLE app.unforced ENABLE ROW LEVEL SECURITY; \
             CREATE TABLE app.open (tenant_id text); \
             CREATE VIEW app.notes_view AS SELECT * FROM app.notes; \
             CREATE VIEW app.notes_invoker WITH (security_invoker = true) AS SELECT * FROM app.notes; \
             CREATE TABLE app.mine (tenant_id text); ALTER TABLE app.mine ENABLE ROW LEVEL SECURITY; \
             ALTER TABLE app.mine FORCE ROW LEVEL SECURITY; ALTER TABLE app.mine OWNER TO {APP_ROLE}"
        ),
    )
    .await;
    let r = check_rls(&db.app).await.unwrap();
    let f = &r.findings;
    assert!(
        f.contains(&RlsFinding::NotForced {
            table: "app.unforced".into()
        }),
        "{f:?}"
    );
    assert!(
        f.contains(&RlsFinding::RlsDisabled {
            table: "app.open".into()
        }),
        "{f:?}"
    );
    assert!(
        f.contains(&RlsFinding::ViewWithoutSecurityInvoker {
            view: "app.notes_view".into()
        }),
        "{f:?}"
    );
    assert!(!f.iter().any(|x| matches!(x, RlsFinding::ViewWithoutSecurityInvoker { view } if view == "app.notes_invoker")), "{f:?}");
    assert!(
        f.contains(&RlsFinding::OwnsTable {
            table: "app.mine".into()
        }),
        "{f:?}"
    );
    assert!(
        !f.iter().any(|x| matches!(
            x,
            RlsFinding::Superuser { .. } | RlsFinding::BypassRls { .. }
        )),
        "{f:?}"
    );
    for x in f {
        assert!(!x.to_string().is_empty());
    }

    // A superuser / BYPASSRLS connection is reported as such.
    let su = check_rls(&db.admin).await.unwrap();
    assert!(
        su.findings
            .iter()
            .any(|x| matches!(x, RlsFinding::Superuser { .. })),
        "{:?}",
        su.findings
    );
    ddl(
        &db.admin,
        "DO $$ BEGIN CREATE ROLE palisade_test_bypass LOGIN BYPASSRLS; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
         GRANT palisade_app TO palisade_test_bypass"
            .to_owned(),
    )
    .await;
    let by = TestDb::pool_as(&db.app_options(), &db.name, "palisade_test_bypass", 1).await;
    let r = check_rls(&by).await.unwrap();
    assert!(
        r.findings.contains(&RlsFinding::BypassRls {
            role: "palisade_test_bypass".into()
        }),
        "{:?}",
        r.findings
    );
    by.close().await;
    db.drop_db().await;
}

/// docs/postgres.md §"Your own tables" (kept in sync by this test).
const TEMPLATE: &str = "\
CREATE SCHEMA app AUTHORIZATION palisade_owner;
GRANT USAGE ON SCHEMA app TO palisade_app, palisade_auditor;
SET ROLE palisade_owner;
CREATE TABLE app.notes (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL DEFAULT NULLIF(current_setting('palisade.tenant_id', true), ''),
  body      text NOT NULL
);
ALTER TABLE app.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON app.notes
  USING (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''))
  WITH CHECK (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON app.notes TO palisade_app;
GRANT SELECT ON app.notes TO palisade_auditor;
RESET ROLE;
";

#[tokio::test]
async fn the_template_isolates_application_tables() {
    let Some(db) = TestDb::new("the_template_isolates_application_tables").await else {
        return;
    };
    ddl(&db.admin, TEMPLATE.to_owned()).await;
    let (a, b) = (TenantId::new_v7(), TenantId::new_v7());
    for (t, body) in [(a, "a1"), (a, "a2"), (b, "b1")] {
        with_scope(&db.app, &Scope::tenant(t), |tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO app.notes (body) VALUES ($1)")
                    .bind(body)
                    .execute(&mut **tx)
                    .await?;
                Ok::<_, PgError>(())
            })
        })
        .await
        .unwrap();
    }
    let bodies: Vec<String> = with_scope(&db.app, &Scope::tenant(b), |tx| {
        Box::pin(async move {
            Ok::<_, PgError>(
                sqlx::query_scalar("SELECT body FROM app.notes ORDER BY id")
                    .fetch_all(&mut **tx)
                    .await?,
            )
        })
    })
    .await
    .unwrap();
    assert_eq!(bodies, ["b1"]);
    db.drop_db().await;
}
