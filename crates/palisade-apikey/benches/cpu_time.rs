//! On-CPU time per operation, read from `/proc/thread-self/schedstat`
//! (Linux), next to wall time. On a shared, loaded machine the wall-clock
//! figures of criterion include time the thread waited for a core; the
//! on-CPU figure is closer to the cost on an idle core (cache and SMT
//! interference from neighbours remain). Run:
//! `cargo bench -p palisade-apikey --bench cpu_time`.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure should abort the run"
)]

use std::hint::black_box;
use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use palisade_apikey::{
    ApiKeys, Argon2Params, Hashing, KeyFormat, NewKey, Pepper, PepperSet, VerifyContext,
};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use sha2::Sha256;

fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn measure(name: &str, n: u64, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let (c0, t0) = (cpu_ns(), Instant::now());
    for _ in 0..n {
        f();
    }
    let wall = t0.elapsed().as_nanos() as f64 / n as f64;
    match (c0, cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu = (b - a) as f64 / n as f64;
            println!(
                "{name:<40} wall {wall:>10.1} ns/op   on-CPU {cpu:>10.1} ns/op   {:>8.2} M ops per CPU-second",
                1e3 / cpu
            );
        }
        _ => println!("{name:<40} wall {wall:>10.1} ns/op   (no schedstat)"),
    }
}

fn main() {
    let peppers = PepperSet::new([Pepper::generate(1).unwrap()]).unwrap();
    let keys = ApiKeys::in_memory(KeyFormat::new("pal").unwrap(), peppers);
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let tenant = Scope::tenant(TenantId::new_v7());
    let mut issued = Vec::new();
    for _ in 0..10_000 {
        issued.push(
            keys.issue(
                NewKey::new(tenant, "b").scopes(["knowledge:*"]).unwrap(),
                now,
            )
            .unwrap(),
        );
    }
    let key = issued[4321].expose_secret().to_owned();
    let ctx = VerifyContext::new(now).require("knowledge:read");
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
    measure("baseline: pre-keyed HMAC-SHA256, 32 B", 1_000_000, || {
        let mut m = mac.clone();
        m.update(black_box(&[1u8; 32]));
        black_box(m.finalize().into_bytes());
    });
    measure("verify (HMAC, in-memory, success)", 1_000_000, || {
        black_box(keys.verify(black_box(&key), &ctx).unwrap());
    });
    let mut bad = key.clone();
    bad.replace_range(40..41, if &key[40..41] == "A" { "B" } else { "A" });
    measure("verify: bad checksum rejected", 1_000_000, || {
        black_box(keys.verify(black_box(&bad), &ctx).unwrap_err());
    });
    measure("verify: random string rejected", 1_000_000, || {
        black_box(
            keys.verify(
                black_box("Bearer abcdefghijklmnopqrstuvwxyz0123456789"),
                &ctx,
            )
            .unwrap_err(),
        );
    });
    measure("issue (HMAC)", 50_000, || {
        black_box(keys.issue(NewKey::new(tenant, "b"), now).unwrap());
    });
    let a2 = keys
        .issue(
            NewKey::new(tenant, "a2").hashing(Hashing::Argon2id(Argon2Params::default())),
            now,
        )
        .unwrap();
    let a2_key = a2.expose_secret().to_owned();
    let plain = VerifyContext::new(now);
    measure("verify (Argon2id, OWASP m=19MiB t=2 p=1)", 20, || {
        black_box(keys.verify(black_box(&a2_key), &plain).unwrap());
    });
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 1 << 20 {
        if i % 100 == 0 {
            text.push_str(&format!("INFO auth token={}\n", key));
        } else {
            text.push_str(&format!("INFO GET /v1/palette/{i} 200 user=paladin{i}\n"));
        }
        i += 1;
    }
    let fmt = keys.format().clone();
    let len = text.len() as f64;
    let (c0, t0) = (cpu_ns(), Instant::now());
    let rounds = 200;
    for _ in 0..rounds {
        black_box(fmt.scan(black_box(&text)));
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_ns().zip(c0).map(|(b, a)| (b - a) as f64 / 1e9);
    println!(
        "{:<40} wall {:>8.0} MB/s          on-CPU {:>8.0} MB/s",
        "scan (1 MiB log text)",
        len * f64::from(rounds) / wall / 1e6,
        cpu.map_or(f64::NAN, |c| len * f64::from(rounds) / c / 1e6)
    );
}
