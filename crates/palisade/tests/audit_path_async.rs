//! `Palisade::authorize_async`: the request path the axum layer awaits
//! gives the same decisions and records as the synchronous `authorize`.
#![cfg(feature = "service")]

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use palisade::{DenialKind, DenyReason};

use common::{at, key_req, records, world};

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn authorize_async_allows_and_denies_like_authorize_and_records_both() {
    let w = world();
    let allowed = key_req(&w.alice_key, "inbox:read", at(1));
    let fut = w.palisade.authorize_async(&allowed);
    // The layer boxes it as a `Send` future.
    assert_send(&fut);
    let auth = fut.await.unwrap();
    assert_eq!(auth.tenant(), w.acme);

    let denied = key_req(&w.alice_key, "billing:write", at(2));
    let d = w.palisade.authorize_async(&denied).await.unwrap_err();
    assert_eq!(d.kind(), DenialKind::Forbidden);
    assert_eq!(d.reason(), DenyReason::NotPermitted);
    let sync = w.palisade.authorize(&denied).unwrap_err();
    assert_eq!(sync.reason(), d.reason());

    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 3, "{text}");
    assert_eq!(text.matches("\"status\":\"allowed\"").count(), 1);
    assert_eq!(text.matches("\"status\":\"denied\"").count(), 2);
}

#[tokio::test]
async fn authorize_async_refuses_an_unknown_key_like_authorize() {
    let w = world();
    let mut forged = w.alice_key.clone();
    forged.replace_range(forged.len() - 12..forged.len() - 8, "AAAA");
    let req = key_req(&forged, "inbox:read", at(1));
    let d = w.palisade.authorize_async(&req).await.unwrap_err();
    assert_eq!(d.kind(), DenialKind::Unauthenticated);
    assert_eq!(
        w.palisade.authorize(&req).unwrap_err().kind(),
        DenialKind::Unauthenticated
    );
}

mod remote {
    //! A key store whose entries are never in memory: every lookup is a
    //! miss and every fetch waits once (as a database round trip would).
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use palisade::apikey::{
        ApiKeyError, BoxFuture, Change, KeyEntry, KeyId, KeyRecord, KeyStore, Lookup, MemoryStore,
        Replaced, StoreError,
    };
    use palisade::tenancy::TenantId;

    #[derive(Default)]
    pub(crate) struct RemoteStore(pub(crate) MemoryStore, pub(crate) DownFlag);

    /// When set, every fetch fails as a database that cannot be reached.
    #[derive(Default)]
    pub(crate) struct DownFlag(pub(crate) std::sync::atomic::AtomicBool);

    /// Pending on the first poll (waking itself), then `value`.
    struct OneRoundTrip<T>(Option<T>, bool);

    impl<T: Unpin> Future for OneRoundTrip<T> {
        type Output = T;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            if self.1 {
                // Polled again after completion: stays pending (never in this test).
                self.0.take().map_or(Poll::Pending, Poll::Ready)
            } else {
                self.1 = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    impl KeyStore for RemoteStore {
        fn lookup(&self, _: &KeyId) -> Lookup {
            Lookup::Miss
        }
        fn lookup_import(&self, _: &[u8; 32]) -> Lookup {
            Lookup::Absent
        }
        fn has_imports(&self) -> bool {
            false
        }
        fn fetch<'a>(
            &'a self,
            id: &'a KeyId,
        ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>> {
            if self.1.0.load(std::sync::atomic::Ordering::Relaxed) {
                return Box::pin(OneRoundTrip(
                    Some(Err(StoreError::Unavailable {
                        reason: "connection refused".into(),
                    })),
                    false,
                ));
            }
            Box::pin(OneRoundTrip(Some(Ok(self.0.lookup(id).found())), false))
        }
        fn fetch_import<'a>(
            &'a self,
            _: &'a [u8; 32],
        ) -> BoxFuture<'a, Result<Option<Arc<KeyEntry>>, StoreError>> {
            Box::pin(std::future::ready(Ok(None)))
        }
        fn insert(&self, record: KeyRecord) -> BoxFuture<'_, Result<Arc<KeyEntry>, ApiKeyError>> {
            self.0.insert(record)
        }
        fn update<'a>(
            &'a self,
            id: &'a KeyId,
            change: Change<'a>,
        ) -> BoxFuture<'a, Result<Arc<KeyEntry>, ApiKeyError>> {
            self.0.update(id, change)
        }
        fn replace<'a>(
            &'a self,
            old: &'a KeyId,
            change_old: Change<'a>,
            successor: KeyRecord,
        ) -> BoxFuture<'a, Result<Replaced, ApiKeyError>> {
            self.0.replace(old, change_old, successor)
        }
        fn list_by_tenant(
            &self,
            tenant: TenantId,
        ) -> BoxFuture<'_, Result<Vec<Arc<KeyEntry>>, StoreError>> {
            self.0.list_by_tenant(tenant)
        }
    }
}

#[tokio::test]
async fn a_key_store_miss_is_awaited_by_authorize_async_and_fails_closed_in_authorize() {
    use palisade::apikey::NewKey;
    use palisade::tenancy::{Principal, Scope, TenantId};
    use palisade::{Palisade, PalisadeConfig};

    let acme = TenantId::new_v7();
    let policy = common::policy(acme, TenantId::new_v7());
    let p = Palisade::builder(PalisadeConfig::default())
        .key_store(remote::RemoteStore::default())
        .policy_toml(&policy)
        .at(at(0))
        .build()
        .unwrap();
    let new = NewKey::new(Scope::tenant(acme), "remote")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["inbox:*"])
        .unwrap();
    let key = p.keys_unchecked().issue(new, at(0)).unwrap();
    let req = key_req(key.expose_secret(), "inbox:read", at(1));
    // The sync path never blocks on the backend: 503, not an allow and not 401.
    let d = p.authorize(&req).unwrap_err();
    assert_eq!(d.reason(), DenyReason::Internal, "{}", d.explain());
    assert_eq!(d.kind(), DenialKind::Unavailable);
    // The async path awaits the fetch and allows.
    let auth = p.authorize_async(&req).await.unwrap();
    assert_eq!(auth.tenant(), acme);
}

/// A key store that cannot answer fails closed (503) on every request, but
/// its refusals are recorded once per window, not once per request: the
/// first refusal of a window is recorded with the number counted (not
/// recorded) since the previous record.
#[tokio::test]
async fn key_store_outage_refusals_are_recorded_once_per_window() {
    use palisade::apikey::NewKey;
    use palisade::tenancy::{Scope, TenantId};
    use palisade::{Palisade, PalisadeConfig, UNATTRIBUTED};

    let acme = TenantId::new_v7();
    let store = remote::RemoteStore::default();
    store.1.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let p = Palisade::builder(PalisadeConfig::default())
        .key_store(store)
        .policy_toml(&common::policy(acme, TenantId::new_v7()))
        .at(at(0))
        .build()
        .unwrap();
    // Stored, but never in memory, and the store's fetch fails: every
    // verification is "store unavailable".
    let key = p
        .keys_unchecked()
        .issue(
            NewKey::new(Scope::tenant(acme), "k")
                .scopes(["inbox:read"])
                .unwrap(),
            at(0),
        )
        .unwrap();
    let recorded = |p: &Palisade<remote::RemoteStore>| -> String {
        [acme, UNATTRIBUTED]
            .iter()
            .map(|t| String::from_utf8(p.export_audit(*t, at(600_000)).unwrap()).unwrap())
            .collect()
    };
    for i in 0..50 {
        let d = p
            .authorize_async(&key_req(key.expose_secret(), "inbox:read", at(1 + i)))
            .await
            .unwrap_err();
        assert_eq!(d.reason(), DenyReason::Internal);
    }
    let text = recorded(&p);
    assert_eq!(
        text.matches("key store unavailable").count(),
        1,
        "50 refusals, one record: {text}"
    );
    assert_eq!(
        text.matches("\"suppressed_before\"").count(),
        1,
        "one record for the whole window: {text}"
    );
    // The next window's first refusal is recorded and counts the other 49.
    let window = i64::from(p.config().rate_limits.suppression_window_seconds) * 1000;
    let _ = p
        .authorize_async(&key_req(key.expose_secret(), "inbox:read", at(window + 2)))
        .await;
    let text = recorded(&p);
    assert_eq!(text.matches("\"suppressed_before\"").count(), 2, "{text}");
    assert!(text.contains("49"), "{text}");
}
