//! Criterion benchmarks of the hot paths: verify (HMAC mode, in-memory
//! store) against the named baseline (one pre-keyed HMAC-SHA256 over 32
//! bytes), malformed-input rejection, issue, scan throughput, and the cost
//! of Argon2id mode at OWASP parameters.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure should abort the run"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use palisade_apikey::{
    ApiKeys, Argon2Params, Hashing, KeyFormat, KeyStore, NewKey, Pepper, PepperSet, VerifyContext,
};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use sha2::Sha256;

fn service() -> ApiKeys {
    let peppers = PepperSet::new([Pepper::generate(1).unwrap()]).unwrap();
    ApiKeys::in_memory(KeyFormat::new("pal").unwrap(), peppers)
}

fn bench_verify(c: &mut Criterion) {
    let keys = service();
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let tenant = Scope::tenant(TenantId::new_v7());
    // A store with 10 000 keys; verify one of them.
    let mut issued = Vec::new();
    for i in 0..10_000 {
        let k = keys
            .issue(
                NewKey::new(tenant, "bench")
                    .scopes(["knowledge:*", "chat:read"])
                    .unwrap(),
                now,
            )
            .unwrap();
        if i % 1000 == 0 {
            issued.push(k);
        }
    }
    let key = issued[3].expose_secret().to_owned();
    let ctx = VerifyContext::new(now).require("knowledge:read");

    let mut g = c.benchmark_group("verify");
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
    g.bench_function("baseline_hmac_sha256_32B_prekeyed", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(&[1u8; 32]));
            black_box(m.finalize().into_bytes())
        })
    });
    g.bench_function("component_hmac_sha256_93B_prekeyed", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(&[1u8; 19]));
            m.update(black_box(&[1u8; 18]));
            m.update(black_box(&[1u8; 16]));
            m.update(black_box(&[1u8; 40]));
            black_box(m.finalize().into_bytes())
        })
    });
    let fmt = keys.format().clone();
    g.bench_function("component_parse_and_checksum", |b| {
        b.iter(|| fmt.parse(black_box(&key)).unwrap().key_id().as_bytes()[0])
    });
    let id = *issued[3].key_id();
    g.bench_function("component_store_get", |b| {
        b.iter(|| keys.store().lookup(black_box(&id)).found().unwrap())
    });
    // The record MAC alone (what verify adds per request since record v2):
    // HMAC-SHA256 of the ~200-byte canonical record, streamed field by field.
    let rec = keys.store().get(&id).unwrap().snapshot();
    g.bench_function("component_record_mac_check", |b| {
        b.iter(|| assert!(keys.record_is_authentic(black_box(&rec))))
    });
    g.bench_function("component_hmac_sha256_200B_prekeyed", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(&[1u8; 200]));
            black_box(m.finalize().into_bytes())
        })
    });
    g.bench_function("hmac_success", |b| {
        b.iter(|| keys.verify(black_box(&key), &ctx).unwrap())
    });
    let mut wrong = key.clone();
    // Change one secret character and fix up nothing: the checksum rejects it.
    wrong.replace_range(40..41, if &key[40..41] == "A" { "B" } else { "A" });
    g.bench_function("reject_bad_checksum", |b| {
        b.iter(|| keys.verify(black_box(&wrong), &ctx).unwrap_err())
    });
    g.bench_function("reject_random_string", |b| {
        b.iter(|| {
            keys.verify(
                black_box("Bearer abcdefghijklmnopqrstuvwxyz0123456789"),
                &ctx,
            )
            .unwrap_err()
        })
    });
    g.bench_function("reject_wrong_length", |b| {
        b.iter(|| keys.verify(black_box(&key[..60]), &ctx).unwrap_err())
    });
    g.finish();

    let mut g = c.benchmark_group("issue");
    g.bench_function("hmac", |b| {
        b.iter(|| keys.issue(NewKey::new(tenant, "bench"), now).unwrap());
    });
    g.finish();
}

fn bench_scan(c: &mut Criterion) {
    let keys = service();
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let k = keys
        .issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "scan"), now)
        .unwrap();
    // ~1 MiB of log lines, one key every ~100 lines, the prefix `pal` also
    // appearing in ordinary words ("palette", "paladin").
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 1 << 20 {
        if i % 100 == 0 {
            text.push_str(&format!(
                "2026-11-23T12:00:00Z INFO auth ok token={}\n",
                k.expose_secret()
            ));
        } else {
            text.push_str(&format!(
                "2026-11-23T12:00:{:02}Z INFO GET /v1/palette/{i} 200 user=paladin{i} took={}ms\n",
                i % 60,
                i % 997
            ));
        }
        i += 1;
    }
    let fmt = keys.format().clone();
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("log_1MiB", |b| b.iter(|| fmt.scan(black_box(&text))));
    g.finish();
}

fn bench_argon2(c: &mut Criterion) {
    let keys = service();
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let k = keys
        .issue(
            NewKey::new(Scope::tenant(TenantId::new_v7()), "argon")
                .hashing(Hashing::Argon2id(Argon2Params::default())),
            now,
        )
        .unwrap();
    let key = k.expose_secret().to_owned();
    let ctx = VerifyContext::new(now);
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    g.bench_function("argon2id_owasp_success", |b| {
        b.iter(|| keys.verify(black_box(&key), &ctx).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_verify, bench_scan, bench_argon2);
criterion_main!(benches);
