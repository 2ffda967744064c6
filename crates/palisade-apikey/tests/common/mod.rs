//! Set-up shared by the integration tests: a fixed clock, peppers, a service
//! with one pepper, a fresh tenant.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns: a failure is the test failing"
)]

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
