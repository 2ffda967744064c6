//! An async provider (shaped like a remote KMS adapter) through AsyncEnvelope,
//! interoperating byte for byte with the sync Envelope.

#[cfg(test)]
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use common::{block_on, ctx, tenant};
use palisade_envelope::{
    AsyncEnvelope, AsyncKeyProvider, DataKey, Envelope, Kek, KeyProvider, KeyRef, LocalKeyring,
    ProviderFuture, Rewrap, WrappedKey,
};
use palisade_tenancy::Scope;

/// Yields once before answering, like a network call would.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

struct FakeKms(Arc<LocalKeyring>);

impl AsyncKeyProvider for FakeKms {
    fn generate_data_key<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> ProviderFuture<'a, (DataKey, WrappedKey)> {
        Box::pin(async move {
            YieldOnce(false).await;
            KeyProvider::generate_data_key(&*self.0, scope)
        })
    }
    fn wrap<'a>(&'a self, key: &'a DataKey, scope: &'a Scope) -> ProviderFuture<'a, WrappedKey> {
        Box::pin(async move {
            YieldOnce(false).await;
            KeyProvider::wrap(&*self.0, key, scope)
        })
    }
    fn unwrap<'a>(
        &'a self,
        r: &'a KeyRef,
        w: &'a [u8],
        scope: &'a Scope,
    ) -> ProviderFuture<'a, DataKey> {
        Box::pin(async move {
            YieldOnce(false).await;
            KeyProvider::unwrap(&*self.0, r, w, scope)
        })
    }
}

struct Shared(Arc<LocalKeyring>);
impl KeyProvider for Shared {
    fn primary(&self) -> palisade_envelope::Result<KeyRef> {
        self.0.primary()
    }
    fn wrap(&self, k: &DataKey, s: &Scope) -> palisade_envelope::Result<WrappedKey> {
        KeyProvider::wrap(&*self.0, k, s)
    }
    fn unwrap(&self, r: &KeyRef, w: &[u8], s: &Scope) -> palisade_envelope::Result<DataKey> {
        KeyProvider::unwrap(&*self.0, r, w, s)
    }
    fn check_decryptable(&self, r: &KeyRef) -> palisade_envelope::Result<()> {
        self.0.check_decryptable(r)
    }
}

#[test]
#[cfg(test)]
fn async_and_sync_envelopes_interoperate() {
    let ring = Arc::new(LocalKeyring::with_primary("kms", Kek::generate().unwrap()).unwrap());
    let aenv = AsyncEnvelope::new(FakeKms(Arc::clone(&ring)));
    let senv = Envelope::new(Shared(Arc::clone(&ring)));
    let c = ctx(tenant(1), "1");

    let fut = aenv.seal(&c, b"from async");
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&fut);
    let ct = block_on(fut).unwrap();
    assert_eq!(&senv.open(&c, &ct).unwrap()[..], b"from async");
    let ct2 = senv.seal(&c, b"from sync").unwrap();
    assert_eq!(&block_on(aenv.open(&c, &ct2)).unwrap()[..], b"from sync");
    assert!(block_on(aenv.open(&ctx(tenant(2), "1"), &ct2)).is_err());

    assert_eq!(
        block_on(aenv.rewrap(&c, &ct)).unwrap(),
        Rewrap::AlreadyPrimary
    );
    ring.rotate(
        &palisade_envelope::KekId::new("kms").unwrap(),
        Kek::generate().unwrap(),
    )
    .unwrap();
    let Rewrap::Rewrapped(moved) = block_on(aenv.rewrap(&c, &ct)).unwrap() else {
        panic!()
    };
    assert_eq!(palisade_envelope::key_ref(&moved).unwrap().version, 2);
    assert_eq!(&senv.open(&c, &moved).unwrap()[..], b"from async");

    // Blanket impl: any sync provider is also async.
    let blanket =
        AsyncEnvelope::new(LocalKeyring::with_primary("x", Kek::generate().unwrap()).unwrap());
    let ct = block_on(blanket.seal(&c, b"b")).unwrap();
    assert_eq!(&block_on(blanket.open(&c, &ct)).unwrap()[..], b"b");
}
