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
