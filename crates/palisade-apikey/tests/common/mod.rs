//! Set-up shared by the integration tests: a fixed clock, peppers, a service
//! with one pepper, a fresh tenant.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failure is the test failing"
)]

use std::future::Future;
use std::time::Duration;

use palisade_apikey::{ApiKeys, KeyFormat, Pepper, PepperSet, VerifyContext};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use secrecy::SecretSlice;

pub(crate) fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

pub(crate) fn pepper(v: u32, byte: u8) -> Pepper {
    Pepper::new(v, SecretSlice::from(vec![byte; 32])).unwrap()
}

pub(crate) fn service() -> ApiKeys {
    ApiKeys::in_memory(
        KeyFormat::default(),
        PepperSet::new([pepper(1, 1)]).unwrap(),
    )
}

pub(crate) fn tenant() -> Scope {
    Scope::tenant(TenantId::new_v7())
}

pub(crate) fn at(secs: u64) -> VerifyContext<'static> {
    VerifyContext::new(now().saturating_add(Duration::from_secs(secs)))
}

/// Poll a store future once (a `MemoryStore`'s is always ready).
#[allow(dead_code, reason = "not every test file drives store futures")]
pub(crate) fn ready<F: Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// Overwrite a stored record as a database-write attacker would (no seal).
#[allow(dead_code, reason = "not every test file tampers with records")]
pub(crate) fn tamper(
    keys: &ApiKeys,
    id: &palisade_apikey::KeyId,
    f: impl FnOnce(&mut palisade_apikey::KeyRecord),
) {
    let mut r = keys.store().get(id).unwrap().snapshot();
    f(&mut r);
    keys.store().restore(r).unwrap();
}
