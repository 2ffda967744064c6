//! Two Palisade replicas over one PostgreSQL: a key issued through A
//! verifies on B, a revocation in A is refused by B within milliseconds
//! (LISTEN/NOTIFY), a break-glass grant made through A works on B and its
//! end reaches B too.
//!
//! ```text
//! PALISADE_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example replicas
//! ```
//!
//! The URL must be allowed to run the migrations (a superuser or the DBA
//! role); the example then works in its own schema `palisade`.
//!
//! `palisade-pg replica` runs one replica as a process (see there).

use std::time::{Duration, Instant};

use palisade::apikey::{KeyId, NewKey};
use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{Credential, GrantId, Palisade, PalisadeConfig, Request};
use palisade_postgres::{PgKeyStore, PgStores};

type Replica = Palisade<PgKeyStore>;
type Error = Box<dyn std::error::Error + Send + Sync>;

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_millis(ms)
}

fn config(
    url_var: &str,
    pepper_file: &str,
    tenant: TenantId,
) -> Result<(PalisadeConfig, String), Error> {
    let toml = format!(
        r#"
[[secrets.peppers]]
version = 1
source = {{ file = "{pepper_file}" }}

[postgres]
url = {{ env = "{url_var}" }}
pool_size = 4
refresh_interval_secs = 30
"#
    );
    let policy = format!(
        r#"
version = 1
permissions = ["inbox:read"]
[[roles]]
name = "agent"
permissions = ["inbox:read"]
[[bindings]]
principal = "user:ann@acme.example"
role = "agent"
scope = "{tenant}"
"#
    );
    Ok((PalisadeConfig::from_toml_str(&toml)?, policy))
}

/// One replica: its stores, its sync task (stopped by the returned sender).
async fn replica(
    url_var: &str,
    pepper_file: &str,
    tenant: TenantId,
) -> Result<(Replica, PgStores, tokio::sync::oneshot::Sender<()>), Error> {
    let (cfg, policy) = config(url_var, pepper_file, tenant)?;
    let stores = PgStores::from_config(&cfg)?;
    let palisade = stores
        .wire(Palisade::builder(cfg))
        .policy_toml(&policy)
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(stores.sync().run(async move {
        let _ = stopped.await;
    }));
    Ok((palisade, stores, stop))
}

/// `ok`, or the denial's code.
async fn check(p: &Replica, key: &str) -> String {
    let req = Request::new(Credential::ApiKey(key), "inbox:read", "inbox", "c-1", now());
    match p.authorize_async(&req).await {
        Ok(_) => "ok".to_owned(),
        Err(d) => format!("denied {}", d.reason().code()),
    }
}

async fn staff(p: &Replica, sam: &Principal, grant: GrantId) -> String {
    let req = Request::new(
        Credential::Staff {
            principal: sam,
            grant,
        },
        "inbox:read",
        "inbox",
        "c-1",
        now(),
    );
    match p.authorize_async(&req).await {
        Ok(_) => "ok".to_owned(),
        Err(d) => format!("denied {}", d.reason().code()),
    }
}

/// Verify until refused (at most `limit`), checking every millisecond.
async fn until_refused(p: &Replica, key: &str, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if check(p, key).await != "ok" {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

async fn demo() -> Result<(), Error> {
    let tenant = TenantId::new_v7();
    let pepper_file =
        std::env::temp_dir().join(format!("palisade-replicas-{}.pepper", std::process::id()));
    // A demo pepper (64 hex digits); a real service reads its own secret.
    std::fs::write(&pepper_file, "7e".repeat(32))?;
    let pepper = pepper_file.to_string_lossy().into_owned();
    let (a, stores_a, stop_a) = replica("PALISADE_POSTGRES_URL", &pepper, tenant).await?;
    let report = palisade_postgres::migrate(&stores_a.pool).await?;
    println!("schema version {} (was {})", report.to, report.from);
    let (b, _stores_b, stop_b) = replica("PALISADE_POSTGRES_URL", &pepper, tenant).await?;

    let owner = Principal::user("ann@acme.example")?;
    let new = NewKey::new(Scope::tenant(tenant), "replica demo")
        .owner(owner)
        .scopes(["inbox:*"])?;
    let key = a.keys_unchecked().issue_async(new, now()).await?;
    let text = key.expose_secret().to_owned();
    println!(
        "issued through A, verified on B: {}",
        check(&b, &text).await
    );

    let id: KeyId = *key.key_id();
    a.keys_unchecked().revoke_async(&id, now()).await?;
    match until_refused(&b, &text, Duration::from_secs(10)).await {
        Some(t) => println!(
            "revoked in A, refused by B after {:.1} ms",
            t.as_secs_f64() * 1e3
        ),
        None => println!("revoked in A, B still accepts after 10 s (is the sync task running?)"),
    }

    let sam = Principal::staff("sam")?;
    let grant = a
        .break_glass_async(
            &sam,
            Scope::tenant(tenant),
            &["inbox:read"],
            "ticket DEMO-1: replica demo",
            Duration::from_secs(300),
            now(),
        )
        .await?;
    println!(
        "break-glass grant {} made through A, used on B: {}",
        grant.id,
        staff(&b, &sam, grant.id).await
    );
    a.end_break_glass_async(grant.id, now()).await?;
    let t0 = Instant::now();
    while staff(&b, &sam, grant.id).await == "ok" && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    println!(
        "grant ended in A; on B: {}",
        staff(&b, &sam, grant.id).await
    );

    let _ = stop_a.send(());
    let _ = stop_b.send(());
    let _ = std::fs::remove_file(&pepper_file);
    Ok(())
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let args: Vec<String> = std::env::args().collect();
    if std::env::var("PALISADE_POSTGRES_URL").map_or(true, |u| u.is_empty()) {
        println!(
            "set PALISADE_POSTGRES_URL to a PostgreSQL that may run migrations, e.g.\n  \
             PALISADE_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo run --example replicas"
        );
        return Ok(());
    }
    let _ = args;
    rt.block_on(demo())
}
