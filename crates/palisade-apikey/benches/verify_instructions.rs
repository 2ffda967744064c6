//! One `verify` (HMAC mode, memory store, record MAC checked) and one
//! pre-keyed HMAC-SHA256 over 32 bytes, in loops that callgrind measures in
//! isolation. Run:
//!
//! ```sh
//! cargo bench -p palisade-apikey --bench verify_instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='*callgrind_verify_loop*' \
//!     --callgrind-out-file=/tmp/verify.cg target/release/deps/verify_instructions-* 1000
//! valgrind --tool=callgrind --toggle-collect='*callgrind_hmac_loop*' \
//!     --callgrind-out-file=/tmp/hmac.cg target/release/deps/verify_instructions-* 1000
//! ```
//!
//! and divide each total `Ir` by the loop count. Without valgrind it just
//! runs both loops.
#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup: a failure should abort the run"
)]

use std::hint::black_box;

use hmac::{Hmac, KeyInit, Mac};
use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, VerifyContext};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use sha2::Sha256;

#[inline(never)]
fn callgrind_verify_loop(keys: &ApiKeys, key: &str, ctx: &VerifyContext<'_>, n: u32) -> u32 {
    let mut ok = 0;
    for _ in 0..n {
        ok += u32::from(keys.verify(black_box(key), ctx).is_ok());
    }
    ok
}

#[inline(never)]
fn callgrind_hmac_loop(mac: &Hmac<Sha256>, n: u32) -> u8 {
    let mut acc = 0;
    for _ in 0..n {
        let mut m = mac.clone();
        m.update(black_box(&[1u8; 32]));
        acc ^= m.finalize().into_bytes().first().copied().unwrap_or(0);
    }
    acc
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let keys = ApiKeys::in_memory(
        KeyFormat::new("pal").unwrap(),
        PepperSet::new([Pepper::generate(1).unwrap()]).unwrap(),
    );
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let k = keys
        .issue(
            NewKey::new(Scope::tenant(TenantId::new_v7()), "bench")
                .scopes(["knowledge:*", "chat:read"])
                .unwrap(),
            now,
        )
        .unwrap();
    let key = k.expose_secret().to_owned();
    let ctx = VerifyContext::new(now).require("knowledge:read");
    assert_eq!(callgrind_verify_loop(&keys, &key, &ctx, 1), 1);
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
    println!(
        "{} {}",
        callgrind_verify_loop(&keys, &key, &ctx, n),
        callgrind_hmac_loop(&mac, n)
    );
}
