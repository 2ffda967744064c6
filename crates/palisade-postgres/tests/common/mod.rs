//! Shared fixture: a throwaway database per test on the server named by
//! `PALISADE_TEST_POSTGRES_URL` (a superuser URL), migrated, with a login
//! role for the application; dropped by [`TestDb::drop_db`].
#![cfg(test)]
#![allow(dead_code, reason = "each test binary uses a part of the fixture")]

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};

/// The application's login role in tests (a member of `palisade_app`).
pub(crate) const APP_ROLE: &str = "palisade_test_app";

pub(crate) struct TestDb {
    pub(crate) name: String,
    pub(crate) admin_url: String,
    /// Superuser pool on the test database (migrations, set-up).
    pub(crate) admin: PgPool,
    /// Pool as the application's role.
    pub(crate) app: PgPool,
}

/// The superuser URL, or `None` after printing the skip line (a panic
/// under `PALISADE_REQUIRE_SERVICES=1`).
pub(crate) fn url_or_skip(test: &str) -> Option<String> {
    match std::env::var("PALISADE_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("PALISADE_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: PALISADE_REQUIRE_SERVICES=1 but PALISADE_TEST_POSTGRES_URL is not set"
            );
            println!(
                "skipped: {test} needs PostgreSQL; set PALISADE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
            );
            None
        }
    }
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `[a-z0-9_]` only: safe to splice into DDL that cannot take parameters.
fn checked_ident(s: &str) -> &str {
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    );
    s
}

pub(crate) async fn ddl(pool: &PgPool, sql: String) {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(pool)
        .await
        .unwrap();
}

impl TestDb {
    pub(crate) async fn new(test: &str) -> Option<Self> {
        let url = url_or_skip(test)?;
        Some(Self::on(&url, 8).await)
    }

    /// A fresh database on the server at `url`, app pool of `app_pool` connections.
    pub(crate) async fn on(url: &str, app_pool: u32) -> Self {
        let root = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect to PALISADE_TEST_POSTGRES_URL");
        let name = format!("palisade_test_{}", random_suffix());
        ddl(&root, format!("CREATE DATABASE {}", checked_ident(&name))).await;
        root.close().await;
        let base: PgConnectOptions = url.parse().unwrap();
        let admin = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(base.clone().database(&name))
            .await
            .unwrap();
        palisade_postgres::migrate(&admin).await.unwrap();
        ddl(
            &admin,
            format!(
                "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN INHERIT NOBYPASSRLS; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
                 GRANT palisade_app TO {APP_ROLE}"
            ),
        )
        .await;
        let app = Self::pool_as(&base, &name, APP_ROLE, app_pool).await;
        Self {
            name,
            admin_url: url.to_owned(),
            admin,
            app,
        }
    }

    pub(crate) async fn pool_as(base: &PgConnectOptions, db: &str, user: &str, n: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(n)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(base.clone().database(db).username(user))
            .await
            .unwrap()
    }

    /// Connect options of the test database as the application's role.
    pub(crate) fn app_options(&self) -> PgConnectOptions {
        let base: PgConnectOptions = self.admin_url.parse().unwrap();
        base.database(&self.name).username(APP_ROLE)
    }

    /// A connection string for the test database as the application's role.
    pub(crate) fn app_url(&self) -> String {
        let mut u = self.admin_url.clone();
        // postgres://user@host:port/db → replace the user and database.
        let rest = u.split_once("://").map(|(_, r)| r.to_owned()).unwrap();
        let host = rest.rsplit_once('@').map_or(rest.as_str(), |(_, h)| h);
        let host = host.split('/').next().unwrap();
        u = format!("postgres://{APP_ROLE}@{host}/{}", self.name);
        u
    }

    pub(crate) async fn drop_db(self) {
        self.app.close().await;
        self.admin.close().await;
        let root = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.admin_url)
            .await
            .unwrap();
        ddl(
            &root,
            format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                checked_ident(&self.name)
            ),
        )
        .await;
        root.close().await;
    }
}

/// A file in the temp dir holding `text` (secrets for configurations).
pub(crate) fn secret_file(tag: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("palisade-pg-test-{tag}-{}", random_suffix()));
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

pub(crate) type Replica = palisade::Palisade<palisade_postgres::PgKeyStore>;

/// A Palisade replica on the test database as the application role, with
/// the pepper in `pepper_file` and a policy letting ann read the inbox of
/// `tenant`; its sync task runs until the returned sender is dropped.
pub(crate) async fn replica(
    db: &TestDb,
    pepper_file: &str,
    tenant: palisade_tenancy::TenantId,
) -> (
    Replica,
    palisade_postgres::PgStores,
    tokio::sync::oneshot::Sender<()>,
) {
    let url_file = secret_file("url", &db.app_url());
    let toml = format!(
        "[[secrets.peppers]]\nversion = 1\nsource = {{ file = \"{pepper_file}\" }}\n\
         [rate_limits]\ndefault_plan = \"bulk\"\n[rate_limits.plans.bulk]\n\
         per_key = {{ requests = 100000, per_seconds = 1 }}\n\
         per_project = {{ requests = 100000, per_seconds = 1 }}\n\
         per_tenant = {{ requests = 100000, per_seconds = 1 }}\n\
         [postgres]\nurl = {{ file = \"{url_file}\" }}\npool_size = 4\nstatement_timeout_ms = 2000\n"
    );
    let cfg = palisade::PalisadeConfig::from_toml_str(&toml).unwrap();
    let policy = format!(
        "version = 1\npermissions = [\"inbox:read\"]\n[[roles]]\nname = \"agent\"\npermissions = [\"inbox:read\"]\n\
         [[bindings]]\nprincipal = \"user:ann@acme.example\"\nrole = \"agent\"\nscope = \"{tenant}\"\n"
    );
    let stores = palisade_postgres::PgStores::from_config(&cfg).unwrap();
    let _ = std::fs::remove_file(&url_file);
    let p = stores
        .wire(palisade::Palisade::builder(cfg))
        .policy_toml(&policy)
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(stores.sync().run(async move {
        let _ = stopped.await;
    }));
    (p, stores, stop)
}

pub(crate) fn wall_now() -> palisade_tenancy::Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    palisade_tenancy::Timestamp::from_unix_millis(i64::try_from(ms).unwrap())
}

/// `Ok(())` or the denial's code.
pub(crate) async fn check(p: &Replica, key: &str) -> Result<(), String> {
    let req = palisade::Request::new(
        palisade::Credential::ApiKey(key),
        "inbox:read",
        "inbox",
        "c-1",
        wall_now(),
    );
    p.authorize_async(&req)
        .await
        .map(|_| ())
        .map_err(|d| d.reason().code().to_owned())
}

/// Poll `f` every 2 ms until it is true, for at most 20 s (an eventual
/// property, not a timing assertion).
pub(crate) async fn eventually<F, Fut>(mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    false
}

pub(crate) fn ann_key(tenant: palisade_tenancy::TenantId) -> palisade::apikey::NewKey {
    palisade::apikey::NewKey::new(palisade_tenancy::Scope::tenant(tenant), "test key")
        .owner(palisade_tenancy::Principal::user("ann@acme.example").unwrap())
        .scopes(["inbox:*"])
        .unwrap()
}
