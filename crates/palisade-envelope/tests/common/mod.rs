#![allow(dead_code, reason = "each test crate uses a subset")]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use palisade_envelope::{EncryptionContext, Envelope, Kek, LocalKeyring};
use palisade_tenancy::{ProjectId, Scope, TenantId};

pub(crate) fn ring() -> LocalKeyring {
    LocalKeyring::with_primary("main", Kek::generate().unwrap()).unwrap()
}

pub(crate) fn env() -> Envelope<LocalKeyring> {
    Envelope::new(ring())
}

pub(crate) fn tenant(n: u8) -> Scope {
    Scope::tenant(TenantId::from_bytes([n; 16]))
}

pub(crate) fn project(n: u8, p: u8) -> Scope {
    Scope::project(
        TenantId::from_bytes([n; 16]),
        ProjectId::from_bytes([p; 16]),
    )
}

pub(crate) fn ctx(scope: Scope, record: &str) -> EncryptionContext {
    EncryptionContext::new(scope)
        .with("table", "docs")
        .unwrap()
        .with("record", record)
        .unwrap()
}

/// Minimal executor: polls with a no-op waker until ready (the futures under
/// test wake themselves by returning Pending once and then Ready).
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
