//! Statement timeouts and pool exhaustion end in typed errors, never hangs;
//! the retention purge (dry run and real); hostile strings through every
//! public function that takes text.

mod common;

use std::time::Duration;

use common::{APP_ROLE, TestDb, ann_key, replica, secret_file, wall_now};
use palisade_postgres::{
    KIND_API_KEY, KIND_GRANT, PgError, connect_options, pool_options, purge, with_scope,
};
use palisade_tenancy::{Principal, RecordKind, Retention, RetentionPolicy, Scope, TenantId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

#[tokio::test]
async fn a_slow_statement_is_cancelled_by_the_statement_timeout() {
    let Some(db) = TestDb::new("a_slow_statement_is_cancelled").await else {
        return;
    };
    let opts = connect_options(&db.app_url(), Duration::from_millis(200)).unwrap();
    let pool = pool_options(2, Duration::from_secs(2)).connect_lazy_with(opts);
    let e = with_scope(&pool, &Scope::tenant(TenantId::new_v7()), |tx| {
        Box::pin(async move {
            sqlx::query("SELECT pg_sleep(5)").execute(&mut **tx).await?;
            Ok::<_, PgError>(())
        })
    })
    .await
    .unwrap_err();
    assert!(matches!(e, PgError::Timeout { .. }), "{e:?}");
    assert!(e.is_unavailable());
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn an_exhausted_pool_is_a_timeout_error_not_a_hang() {
    let Some(db) = TestDb::new("an_exhausted_pool_is_a_timeout_error").await else {
        return;
    };
    let opts = connect_options(&db.app_url(), Duration::from_secs(5)).unwrap();
    let pool = pool_options(1, Duration::from_millis(300)).connect_lazy_with(opts);
    let held = pool.begin().await.unwrap();
    let e = with_scope(&pool, &Scope::tenant(TenantId::new_v7()), |_tx| {
        Box::pin(async move { Ok::<_, PgError>(()) })
    })
    .await
    .unwrap_err();
    assert!(matches!(e, PgError::Timeout { .. }), "{e:?}");
    drop(held);
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_removes_only_ended_records_past_their_retention_and_a_dry_run_removes_nothing() {
    let Some(db) = TestDb::new("purge").await else {
        return;
    };
    let pepper = secret_file("pepper", &"8b".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, _s, _stop) = replica(&db, &pepper, tenant).await;
    let t = wall_now();
    let live = a
        .keys_unchecked()
        .issue_async(ann_key(tenant), t)
        .await
        .unwrap();
    let gone = a
        .keys_unchecked()
        .issue_async(ann_key(tenant), t)
        .await
        .unwrap();
    a.keys_unchecked()
        .revoke_async(gone.key_id(), t)
        .await
        .unwrap();
    let sam = Principal::staff("sam").unwrap();
    let g = a
        .break_glass_async(
            &sam,
            Scope::tenant(tenant),
            &["inbox:read"],
            "ticket PURGE-1",
            Duration::from_secs(60),
            t,
        )
        .await
        .unwrap();
    a.end_break_glass_async(g.id, t).await.unwrap();
    let policy = RetentionPolicy::default()
        .with(RecordKind::new(KIND_API_KEY).unwrap(), Retention::Days(30))
        .with(RecordKind::new(KIND_GRANT).unwrap(), Retention::Days(30));
    // Within retention: nothing.
    let r = purge(&db.admin, &policy, t, false).await.unwrap();
    assert_eq!((r.keys, r.grants), (0, 0));
    let later = t.saturating_add(Duration::from_secs(31 * 86_400));
    let dry = purge(&db.admin, &policy, later, true).await.unwrap();
    assert_eq!((dry.keys, dry.grants, dry.dry_run), (1, 1, true));
    let count = |sql: &'static str| {
        let pool = db.admin.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM palisade.api_keys").await,
        2,
        "dry run deleted nothing"
    );
    let r = purge(&db.admin, &policy, later, false).await.unwrap();
    assert_eq!((r.keys, r.grants), (1, 1));
    let ids: Vec<String> = sqlx::query_scalar("SELECT key_id FROM palisade.api_keys")
        .fetch_all(&db.admin)
        .await
        .unwrap();
    assert_eq!(ids, [live.key_id().to_string()]);
    assert_eq!(count("SELECT count(*) FROM palisade.grants").await, 0);
    // Forever keeps everything.
    let keep = RetentionPolicy::default()
        .with(RecordKind::new(KIND_API_KEY).unwrap(), Retention::Forever)
        .with(RecordKind::new(KIND_GRANT).unwrap(), Retention::Forever);
    assert_eq!(purge(&db.admin, &keep, later, true).await.unwrap().keys, 0);
    // The application role may not purge.
    assert!(purge(&db.app, &policy, later, true).await.is_err());
    let _ = APP_ROLE;
    db.drop_db().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A connection string is untrusted configuration: never a panic, and
    /// an error never repeats it (it may hold a password).
    #[test]
    fn hostile_connection_strings_never_panic_or_echo(s in "\\PC{0,120}") {
        if let Err(e) = connect_options(&s, Duration::from_secs(1)) {
            let msg = e.to_string();
            prop_assert!(s.len() < 8 || !msg.contains(&s), "{msg}");
        }
    }

    /// Grant ids come from requests: only the canonical form parses.
    #[test]
    fn hostile_grant_ids_never_panic(s in "\\PC{0,60}") {
        if let Ok(g) = s.parse::<palisade::GrantId>() {
            prop_assert_eq!(g.to_string(), s);
        }
    }
}

/// Hostile text stored and read back verbatim through the grant store and
/// key names (every statement is parameterised), across replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_pass_through_the_stores_as_data() {
    let Some(db) = TestDb::new("hostile_strings_pass_through_the_stores").await else {
        return;
    };
    let pepper = secret_file("pepper", &"8c".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, _sa, _stop_a) = replica(&db, &pepper, tenant).await;
    let (b, _sb, _stop_b) = replica(&db, &pepper, tenant).await;
    let sam = Principal::staff("sam").unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    let hostile = proptest::string::string_regex(
        "(ticket )?('|\"|;|--|/\\*|\\*/|\\\\|%|_|\\$\\$|DROP TABLE palisade.grants|OR 1=1|é|𝄞|\\u{202e}| ){4,20}",
    )
    .unwrap();
    for _ in 0..24 {
        let reason = hostile.new_tree(&mut runner).unwrap().current();
        let name = hostile.new_tree(&mut runner).unwrap().current();
        let g = a
            .break_glass_async(
                &sam,
                Scope::tenant(tenant),
                &["inbox:read"],
                &reason,
                Duration::from_secs(60),
                wall_now(),
            )
            .await;
        if let Ok(g) = g {
            let req = palisade::Request::new(
                palisade::Credential::Staff {
                    principal: &sam,
                    grant: g.id,
                },
                "inbox:read",
                "inbox",
                "c",
                wall_now(),
            );
            let auth = b.authorize_async(&req).await.unwrap();
            assert_eq!(auth.staff_reason(), Some(g.reason.as_str()));
        }
        let k = a
            .keys_unchecked()
            .issue_async(
                palisade::apikey::NewKey::new(Scope::tenant(tenant), &name),
                wall_now(),
            )
            .await;
        if let Ok(k) = k {
            let rec = b
                .keys_unchecked()
                .get_async(k.key_id())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(rec.name, name);
        }
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM palisade.grants")
        .fetch_one(&db.admin)
        .await
        .unwrap();
    assert!(n > 0, "the grants table is still there");
    db.drop_db().await;
}
