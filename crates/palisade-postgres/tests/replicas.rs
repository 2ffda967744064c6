//! Two replicas (two Palisade instances, two caches, two sync tasks) over
//! one database: keys, revocation, break-glass grants, usage counters.

mod common;

use std::time::Duration;

use common::{TestDb, ann_key, check, eventually, replica, secret_file, wall_now};
use palisade::Credential;
use palisade::Request;
use palisade_tenancy::{Principal, Scope, TenantId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_issued_through_a_verifies_on_b_and_its_revocation_reaches_b() {
    let Some(db) = TestDb::new("a_key_issued_through_a_verifies_on_b").await else {
        return;
    };
    let pepper = secret_file("pepper", &"5a".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, _sa, _stop_a) = replica(&db, &pepper, tenant).await;
    let (b, sb, _stop_b) = replica(&db, &pepper, tenant).await;
    let key = a
        .keys_unchecked()
        .issue_async(ann_key(tenant), wall_now())
        .await
        .unwrap();
    let text = key.expose_secret().to_owned();
    assert_eq!(sb.keys.cached(), 0);
    check(&b, &text).await.unwrap();
    assert_eq!(sb.keys.cached(), 1, "B filled its cache");
    // The sync path cannot wait: a cached key verifies there too.
    let req = Request::new(
        Credential::ApiKey(&text),
        "inbox:read",
        "inbox",
        "c",
        wall_now(),
    );
    b.authorize(&req).unwrap();
    a.keys_unchecked()
        .revoke_async(key.key_id(), wall_now())
        .await
        .unwrap();
    assert!(eventually(|| async { check(&b, &text).await.is_err() }).await);
    assert_eq!(check(&b, &text).await.unwrap_err(), "key_inactive");
    // A third replica that never saw the key refuses it as revoked too.
    let (c, _sc, _stop_c) = replica(&db, &pepper, tenant).await;
    assert_eq!(check(&c, &text).await.unwrap_err(), "key_inactive");
    drop((a, b, c));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_notification_is_caught_by_the_refresh() {
    let Some(db) = TestDb::new("a_missed_notification_is_caught_by_the_refresh").await else {
        return;
    };
    let pepper = secret_file("pepper", &"5b".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, _sa, _stop_a) = replica(&db, &pepper, tenant).await;
    let (b, sb, stop_b) = replica(&db, &pepper, tenant).await;
    drop(stop_b); // B's sync task stops: B hears no notification.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let key = a
        .keys_unchecked()
        .issue_async(ann_key(tenant), wall_now())
        .await
        .unwrap();
    let text = key.expose_secret().to_owned();
    check(&b, &text).await.unwrap();
    a.keys_unchecked()
        .revoke_async(key.key_id(), wall_now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    check(&b, &text)
        .await
        .expect("stale until refreshed (no listener)");
    sb.sync().refresh_now().await.unwrap();
    assert_eq!(check(&b, &text).await.unwrap_err(), "key_inactive");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_uses_hold_across_replicas() {
    let Some(db) = TestDb::new("remaining_uses_hold_across_replicas").await else {
        return;
    };
    let pepper = secret_file("pepper", &"5c".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, _sa, _stop_a) = replica(&db, &pepper, tenant).await;
    let (b, _sb, _stop_b) = replica(&db, &pepper, tenant).await;
    let key = a
        .keys_unchecked()
        .issue_async(ann_key(tenant).remaining_uses(10), wall_now())
        .await
        .unwrap();
    let text = key.expose_secret().to_owned();
    let mut ok = 0;
    for i in 0..24 {
        let r = if i % 2 == 0 {
            check(&a, &text).await
        } else {
            check(&b, &text).await
        };
        match r {
            Ok(()) => ok += 1,
            Err(code) => assert_eq!(code, "key_inactive"),
        }
    }
    assert_eq!(ok, 10, "10 uses in all, whichever replica served them");
    // Concurrently from both replicas: still never more than the budget.
    let key = a
        .keys_unchecked()
        .issue_async(ann_key(tenant).remaining_uses(20), wall_now())
        .await
        .unwrap();
    let text = key.expose_secret().to_owned();
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let p = if i % 2 == 0 { a.clone() } else { b.clone() };
        let t = text.clone();
        tasks.push(tokio::spawn(async move { check(&p, &t).await.is_ok() }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 20);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_break_glass_grant_made_through_a_works_on_b_and_ends_everywhere() {
    let Some(db) = TestDb::new("a_break_glass_grant_made_through_a_works_on_b").await else {
        return;
    };
    let pepper = secret_file("pepper", &"5d".repeat(32));
    let tenant = TenantId::new_v7();
    let (a, _sa, _stop_a) = replica(&db, &pepper, tenant).await;
    let (b, _sb, _stop_b) = replica(&db, &pepper, tenant).await;
    let sam = Principal::staff("sam").unwrap();
    let t = wall_now();
    let g = a
        .break_glass_async(
            &sam,
            Scope::tenant(tenant),
            &["inbox:read"],
            "ticket PG-1 replicas",
            Duration::from_secs(600),
            t,
        )
        .await
        .unwrap();
    let use_on = |p: &common::Replica, now| {
        let req = Request::new(
            Credential::Staff {
                principal: &sam,
                grant: g.id,
            },
            "inbox:read",
            "inbox",
            "c-1",
            now,
        );
        let p = p.clone();
        async move {
            p.authorize_async(&req)
                .await
                .map(|_| ())
                .map_err(|d| d.reason().code())
        }
    };
    use_on(&b, wall_now()).await.unwrap();
    // Before its start and after its expiry, on B too.
    assert_eq!(
        use_on(&b, t.saturating_sub(Duration::from_millis(1)))
            .await
            .unwrap_err(),
        "break_glass"
    );
    assert_eq!(use_on(&b, g.expires_at).await.unwrap_err(), "break_glass");
    // The sync path on B: the grant is cached now.
    let req = Request::new(
        Credential::Staff {
            principal: &sam,
            grant: g.id,
        },
        "inbox:read",
        "inbox",
        "c-1",
        wall_now(),
    );
    b.authorize(&req).unwrap();
    assert!(a.end_break_glass_async(g.id, wall_now()).await.unwrap());
    assert!(eventually(|| async { use_on(&b, wall_now()).await.is_err() }).await);
    assert!(
        !b.end_break_glass_async(g.id, wall_now()).await.unwrap(),
        "already ended"
    );
    // A replica started afterwards refuses it too.
    let (c, _sc, _stop_c) = replica(&db, &pepper, tenant).await;
    assert_eq!(use_on(&c, wall_now()).await.unwrap_err(), "break_glass");
    db.drop_db().await;
}
