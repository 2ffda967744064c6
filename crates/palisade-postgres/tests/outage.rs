//! The database goes away mid-run and comes back: cached keys keep
//! verifying, misses fail closed (503), writes fail with a typed error and
//! leave nothing behind, and the service recovers without a restart.
//! Runs its OWN throwaway cluster (initdb + pg_ctl on 127.0.0.1:5499),
//! never the shared server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{TestDb, ann_key, check, replica, secret_file, url_or_skip, wall_now};
use palisade::apikey::ApiKeyError;
use palisade_tenancy::TenantId;

const PORT: u16 = 5499;

fn bindir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("PALISADE_TEST_POSTGRES_BINDIR") {
        return Some(PathBuf::from(d));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Run a PostgreSQL tool, as the `postgres` user when we are root
/// (initdb refuses to run as root).
fn tool(bin: &Path, args: &[&str]) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args).status().is_ok_and(|s| s.success())
}

struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
}

#[cfg(test)]
impl Cluster {
    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn start(&self) {
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        let opts = format!(
            "-p {PORT} -c listen_addresses=127.0.0.1 -k {}",
            self.dir.display()
        );
        assert!(tool(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start"
            ]
        ));
    }

    fn stop(&self) {
        assert!(tool(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"]
        ));
    }

    fn new(bin: PathBuf) -> Self {
        let dir = std::env::temp_dir().join(format!("palisade-pg-outage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres"]).arg(&dir).status();
        let data = dir.join("data").to_string_lossy().into_owned();
        assert!(
            tool(
                &bin.join("initdb"),
                &["-D", &data, "-A", "trust", "-U", "postgres"]
            ),
            "initdb"
        );
        let c = Self { bin, dir };
        c.start();
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = tool(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_cached_keys_verify_misses_fail_closed_writes_fail_typed_and_it_recovers() {
    // Needs the PostgreSQL server binaries; CI provides them with the service.
    if url_or_skip("database_down_mid_run").is_none() {
        return;
    }
    let Some(bin) = bindir() else {
        assert!(
            std::env::var("PALISADE_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "no initdb: install postgresql"
        );
        println!(
            "skipped: database_down_mid_run needs initdb; install postgresql or set PALISADE_TEST_POSTGRES_BINDIR"
        );
        return;
    };
    let cluster = Cluster::new(bin);
    let db = TestDb::on(&format!("postgres://postgres@127.0.0.1:{PORT}/postgres"), 4).await;
    let pepper = secret_file("pepper", &"7a".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, sa, _stop_a) = replica(&db, &pepper, tenant).await;
    let (b, _sb, stop_b) = replica(&db, &pepper, tenant).await;
    let cached = a
        .keys_unchecked()
        .issue_async(ann_key(tenant), wall_now())
        .await
        .unwrap();
    let cached = cached.expose_secret().to_owned();
    check(&a, &cached).await.unwrap();
    // A key A has never seen (B's sync is stopped so nobody else reads it).
    drop(stop_b);
    drop(_stop_a);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let unseen = b
        .keys_unchecked()
        .issue_async(ann_key(tenant), wall_now())
        .await
        .unwrap();
    let unseen = unseen.expose_secret().to_owned();
    assert_eq!(sa.keys.cached(), 1);

    cluster.stop();
    // Cached verification goes on.
    for _ in 0..3 {
        check(&a, &cached).await.unwrap();
    }
    // A miss fails closed: 503 (internal), never "no such key", never allow.
    assert_eq!(check(&a, &unseen).await.unwrap_err(), "internal");
    // Writes: a typed store error.
    let e = a
        .keys_unchecked()
        .issue_async(ann_key(tenant), wall_now())
        .await
        .unwrap_err();
    assert!(matches!(e, ApiKeyError::Store(_)), "{e:?}");
    let e = palisade_postgres::check_rls(&db.app).await.unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");

    cluster.start();
    // Recovered without a restart: the miss is filled, writes work.
    let mut recovered = false;
    for _ in 0..200 {
        if check(&a, &unseen).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered);
    a.keys_unchecked()
        .issue_async(ann_key(tenant), wall_now())
        .await
        .unwrap();
    // No lost, no duplicated, no half-written record: exactly the 3 issued.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM palisade.api_keys")
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert_eq!(n, 3);
    drop((a, b));
    db.drop_db().await;
    drop(cluster);
}
