//! Benchmarks against a real PostgreSQL (`PALISADE_TEST_POSTGRES_URL`, a
//! superuser URL; a throwaway database is made and dropped):
//!
//! * `verify_cached/{memory_store,pg_key_store}`: verification of a cached
//!   key through `PgKeyStore` against the same run's `MemoryStore` (goal:
//!   within 10 %);
//! * cache-miss verification (fill from the database) p50/p99, and key
//!   issue throughput, printed (one-shot measurements, not criterion).
//!
//! Without the variable it prints a skip line and does nothing.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "benchmark setup: a failure should abort the run"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, VerifyContext};
use palisade_postgres::PgKeyStore;
use palisade_tenancy::{Scope, TenantId, Timestamp};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool};

const DB: &str = "palisade_bench_verify";

async fn setup(url: &str) -> (PgPool, PgPool) {
    let root = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let drop = format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)");
    sqlx::raw_sql(AssertSqlSafe(drop))
        .execute(&root)
        .await
        .unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {DB}")))
        .execute(&root)
        .await
        .unwrap();
    root.close().await;
    let base: PgConnectOptions = url.parse().unwrap();
    let admin = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(base.clone().database(DB))
        .await
        .unwrap();
    palisade_postgres::migrate(&admin).await.unwrap();
    sqlx::raw_sql(
        "DO $$ BEGIN CREATE ROLE palisade_test_app LOGIN INHERIT NOBYPASSRLS; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
         GRANT palisade_app TO palisade_test_app",
    )
    .execute(&admin)
    .await
    .unwrap();
    let app = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(base.database(DB).username("palisade_test_app"))
        .await
        .unwrap();
    (admin, app)
}

async fn teardown(url: &str, admin: PgPool, app: PgPool) {
    app.close().await;
    admin.close().await;
    let root = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let drop = format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)");
    sqlx::raw_sql(AssertSqlSafe(drop))
        .execute(&root)
        .await
        .unwrap();
    root.close().await;
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn benches(c: &mut Criterion) {
    let Ok(url) = std::env::var("PALISADE_TEST_POSTGRES_URL") else {
        println!(
            "skipped: pg_verify needs PostgreSQL; set PALISADE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (admin, app) = rt.block_on(setup(&url));
    // One fixed bench pepper for both services.
    let peppers = || {
        PepperSet::new([Pepper::new(1, secrecy::SecretSlice::from(vec![0x42; 32])).unwrap()])
            .unwrap()
    };
    let format = || KeyFormat::new("pal").unwrap();
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let scope = Scope::tenant(TenantId::new_v7());
    let new = || {
        NewKey::new(scope, "bench")
            .scopes(["knowledge:*", "chat:read"])
            .unwrap()
    };
    let ctx = VerifyContext::new(now).require("knowledge:read");

    let mem = ApiKeys::in_memory(format(), peppers());
    let pg = ApiKeys::new(
        format(),
        peppers(),
        PgKeyStore::new(app.clone(), Duration::from_secs(2)),
    );
    let mem_key = mem.issue(new(), now).unwrap().expose_secret().to_owned();
    let pg_key = rt
        .block_on(pg.issue_async(new(), now))
        .unwrap()
        .expose_secret()
        .to_owned();
    pg.verify(&pg_key, &ctx).unwrap();

    let mut g = c.benchmark_group("verify_cached");
    g.bench_function("memory_store", |b| {
        b.iter(|| black_box(mem.verify(black_box(&mem_key), &ctx).unwrap()))
    });
    g.bench_function("pg_key_store", |b| {
        b.iter(|| black_box(pg.verify(black_box(&pg_key), &ctx).unwrap()))
    });
    g.finish();

    // Key issue throughput, and cache-miss verification latency.
    const N: usize = 300;
    let t0 = Instant::now();
    let keys: Vec<String> = (0..N)
        .map(|_| {
            rt.block_on(pg.issue_async(new(), now))
                .unwrap()
                .expose_secret()
                .to_owned()
        })
        .collect();
    let issue = t0.elapsed();
    let t0 = Instant::now();
    for _ in 0..N {
        black_box(mem.issue(new(), now).unwrap());
    }
    let mem_issue = t0.elapsed();
    let cold = ApiKeys::new(
        format(),
        peppers(),
        PgKeyStore::new(app.clone(), Duration::from_secs(2)),
    );
    let mut miss: Vec<Duration> = keys
        .iter()
        .map(|k| {
            let t0 = Instant::now();
            rt.block_on(cold.verify_async(k, &ctx)).unwrap();
            t0.elapsed()
        })
        .collect();
    miss.sort();
    println!(
        "pg_verify: key issue through PgKeyStore {:.0} keys/s ({N} sequential, one transaction each; MemoryStore {:.0} keys/s)",
        N as f64 / issue.as_secs_f64(),
        N as f64 / mem_issue.as_secs_f64()
    );
    println!(
        "pg_verify: cache-miss verify (fill from PostgreSQL) over {N}: p50 {:?} p99 {:?} max {:?}",
        pct(&miss, 0.5),
        pct(&miss, 0.99),
        miss[miss.len() - 1]
    );
    rt.block_on(teardown(&url, admin, app));
}

criterion_group!(pg_verify, benches);
criterion_main!(pg_verify);
