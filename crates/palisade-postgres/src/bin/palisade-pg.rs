//! `palisade-pg`: operations on Palisade's PostgreSQL schema.
//!
//! ```text
//! PALISADE_POSTGRES_URL=postgres://dba@db/app palisade-pg migrate
//! PALISADE_POSTGRES_URL=postgres://app@db/app palisade-pg check-rls
//! PALISADE_POSTGRES_URL=postgres://dba@db/app palisade-pg purge [--dry-run] [--key-days N] [--grant-days N]
//! PALISADE_POSTGRES_URL=postgres://app@db/app palisade-pg replica PEPPER_FILE TENANT
//! ```
//!
//! `migrate` and `purge` need the owner's (DBA's) connection, `check-rls`
//! the application's. `replica` runs one Palisade replica driven by lines
//! on stdin, one reply line each (the multi-process test runs two):
//! `issue [USES]` → `KEY KEY_ID`, `verify KEY` → `ok` | `denied CODE`,
//! `watch KEY` → `watching`, then `refused` once a verification fails,
//! `revoke KEY_ID`, `grant` → `GRANT_ID`, `staff GRANT_ID`, `end GRANT_ID`,
//! `quit`.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use palisade::apikey::{KeyId, NewKey};
use palisade::tenancy::{
    Principal, RecordKind, Retention, RetentionPolicy, Scope, TenantId, Timestamp,
};
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

[rate_limits]
default_plan = "bulk"
[rate_limits.plans.bulk]
per_key = {{ requests = 100000, per_seconds = 1 }}
per_project = {{ requests = 100000, per_seconds = 1 }}
per_tenant = {{ requests = 100000, per_seconds = 1 }}

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

async fn serve(pepper_file: &str, tenant: TenantId) -> Result<(), Error> {
    let (p, _stores, stop) = replica("PALISADE_POSTGRES_URL", pepper_file, tenant).await?;
    let sam = Principal::staff("sam")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = std::io::stdout();
    while let Some(line) = rx.recv().await {
        let mut parts = line.split_whitespace();
        let reply = match (parts.next(), parts.next()) {
            (Some("verify"), Some(key)) => check(&p, key).await,
            (Some("watch"), Some(key)) => {
                writeln!(out, "watching")?;
                out.flush()?;
                match until_refused(&p, key, Duration::from_secs(60)).await {
                    Some(_) => "refused".to_owned(),
                    None => "timeout".to_owned(),
                }
            }
            (Some("issue"), uses) => {
                let owner = Principal::user("ann@acme.example")?;
                let mut new = NewKey::new(Scope::tenant(tenant), "replica")
                    .owner(owner)
                    .scopes(["inbox:*"])?;
                if let Some(n) = uses.and_then(|u| u.parse().ok()) {
                    new = new.remaining_uses(n);
                }
                match p.keys_unchecked().issue_async(new, now()).await {
                    Ok(k) => format!("{} {}", k.expose_secret(), k.key_id()),
                    Err(e) => format!("error {e}"),
                }
            }
            (Some("revoke"), Some(id)) => match id.parse::<KeyId>() {
                Ok(id) => match p.keys_unchecked().revoke_async(&id, now()).await {
                    Ok(_) => "revoked".to_owned(),
                    Err(e) => format!("error {e}"),
                },
                Err(_) => "bad key id".to_owned(),
            },
            (Some("grant"), _) => match p
                .break_glass_async(
                    &sam,
                    Scope::tenant(tenant),
                    &["inbox:read"],
                    "ticket MP-1: multi-process",
                    Duration::from_secs(600),
                    now(),
                )
                .await
            {
                Ok(g) => g.id.to_string(),
                Err(e) => format!("error {e}"),
            },
            (Some("end"), Some(id)) => match id.parse::<GrantId>() {
                Ok(g) => match p.end_break_glass_async(g, now()).await {
                    Ok(true) => "ended".to_owned(),
                    Ok(false) => "not live".to_owned(),
                    Err(e) => format!("error {e}"),
                },
                Err(_) => "bad grant id".to_owned(),
            },
            (Some("staff"), Some(id)) => match id.parse::<GrantId>() {
                Ok(g) => staff(&p, &sam, g).await,
                Err(_) => "bad grant id".to_owned(),
            },
            (Some("quit"), _) => break,
            _ => "unknown command".to_owned(),
        };
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    let _ = stop.send(());
    Ok(())
}

fn pool(url: &str) -> Result<sqlx::PgPool, Error> {
    let opts = palisade_postgres::connect_options(url, Duration::from_secs(60))?;
    Ok(palisade_postgres::pool_options(2, Duration::from_secs(10)).connect_lazy_with(opts))
}

fn retention(args: &[String]) -> Result<(RetentionPolicy, bool), Error> {
    let mut policy = RetentionPolicy::default()
        .with(
            RecordKind::new(palisade_postgres::KIND_API_KEY)?,
            Retention::Days(90),
        )
        .with(
            RecordKind::new(palisade_postgres::KIND_GRANT)?,
            Retention::Days(365),
        );
    let mut dry = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dry-run" => dry = true,
            "--key-days" | "--grant-days" => {
                let n: u32 = it.next().ok_or("give a number of days")?.parse()?;
                let kind = if a == "--key-days" {
                    palisade_postgres::KIND_API_KEY
                } else {
                    palisade_postgres::KIND_GRANT
                };
                policy = policy.with(RecordKind::new(kind)?, Retention::Days(n));
            }
            other => return Err(format!("unknown option `{other}`").into()),
        }
    }
    Ok((policy, dry))
}

async fn run(args: Vec<String>) -> Result<(), Error> {
    let url = std::env::var("PALISADE_POSTGRES_URL")
        .map_err(|_| "set PALISADE_POSTGRES_URL to the database's connection string")?;
    match args.get(1).map(String::as_str) {
        Some("migrate") => {
            let r = palisade_postgres::migrate(&pool(&url)?).await?;
            println!("schema version {} (was {})", r.to, r.from);
        }
        Some("check-rls") => {
            let r = palisade_postgres::check_rls(&pool(&url)?).await?;
            for f in &r.findings {
                println!("finding: {f}");
            }
            println!("{} tenant tables checked, {} findings", r.tables_checked, r.findings.len());
            if !r.is_ok() {
                std::process::exit(1);
            }
        }
        Some("purge") => {
            let (policy, dry) = retention(args.get(2..).unwrap_or_default())?;
            let r = palisade_postgres::purge(&pool(&url)?, &policy, now(), dry).await?;
            let verb = if r.dry_run { "would purge" } else { "purged" };
            println!("{verb} {} key records and {} grants", r.keys, r.grants);
        }
        Some("replica") => {
            let (Some(pepper), Some(tenant)) = (args.get(2), args.get(3)) else {
                return Err("usage: palisade-pg replica PEPPER_FILE TENANT".into());
            };
            serve(pepper, tenant.parse()?).await?;
        }
        _ => return Err("usage: palisade-pg migrate | check-rls | purge [--dry-run] [--key-days N] [--grant-days N] | replica PEPPER_FILE TENANT".into()),
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(std::env::args().collect()))
}
