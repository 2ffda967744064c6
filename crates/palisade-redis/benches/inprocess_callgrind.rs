//! For callgrind: `inprocess_callgrind N` runs N in-process limit checks
//! (the embedded baseline of the Redis check). Instructions per check =
//! (count(N2) - count(N1)) / (N2 - N1).
#![allow(clippy::unwrap_used, reason = "a measurement binary")]

use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{LimitRequest, RateLimitBackend, RateLimitConfig, RateLimiter};

fn main() {
    let n: u64 = std::env::args()
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rl = RateLimiter::new(&RateLimitConfig::default(), []).unwrap();
    let tenant = TenantId::new_v7();
    let scope = Scope::tenant(tenant);
    let key = Principal::api_key("k1").unwrap();
    let plan = rl.plans().for_tenant(tenant).clone();
    let mut allowed = 0u64;
    for i in 0..n {
        // 1 ms apart: well within the free plan (10/s per key would refuse
        // most; the result does not matter, the path does).
        let req = LimitRequest {
            principal: &key,
            scope,
            plan: &plan,
            now: Timestamp::from_unix_millis(1_800_000_000_000 + i64::try_from(i).unwrap() * 100),
        };
        allowed += u64::from(std::hint::black_box(rl.try_check(&req)).is_ok());
    }
    println!("{n} checks, {allowed} allowed");
}
