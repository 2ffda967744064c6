//! Criterion benchmarks for the audit hot paths: append (memory and JSON
//! Lines file with group commit), full export verification, proof verification.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions: a failure here is the benchmark setup failing"
)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use palisade_audit::{
    Actor, AuditEvent, AuditSink, Checkpoint, CheckpointPolicy, CheckpointSigner, DefaultRedactor,
    DetailValue, FsyncPolicy, JsonlFileSink, KeyId, Keyring, MemorySink, Outcome, Record, Redactor,
    RequestFacts, Resource, TenantLog, encode_record, leaf_hash, verify,
};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use std::hint::black_box;
use std::sync::Arc;

/// A ~300-byte event (canonical encoding 289 bytes).
fn event(tenant: TenantId, i: u64) -> AuditEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.to_be_bytes());
    AuditEvent::with_id(
        uuid::Uuid::from_bytes(id),
        Timestamp::from_unix_millis(1_795_000_000_000 + i as i64),
        Scope::project(tenant, ProjectId::from_bytes([7; 16])),
        Actor::new(Principal::api_key("k7f3a9c2").unwrap()).unwrap(),
        "billing.update",
        Resource::new("invoice", &format!("inv_{i}")).unwrap(),
        Outcome::Allowed,
    )
    .unwrap()
    .with_reason("role billing-admin")
    .unwrap()
    .with_request(
        RequestFacts::new()
            .ip("203.0.113.7".parse().unwrap())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) palisade-test/1.0")
            .request_id(&format!("req-{i}"))
            .unwrap(),
    )
    .with_detail("amount_cents", DetailValue::Int(1299))
    .unwrap()
    .with_detail("currency", DetailValue::Str("EUR".into()))
    .unwrap()
    .with_detail("plan", DetailValue::Str("enterprise-annual-2026".into()))
    .unwrap()
    .with_detail("seats", DetailValue::Int(250))
    .unwrap()
}

/// Keeps nothing: isolates the log's own cost (used for the 1M-record tree).
struct NullSink;
impl AuditSink for NullSink {
    fn append(&mut self, _: &Record<'_>) -> palisade_audit::Result<()> {
        Ok(())
    }
    fn checkpoint(&mut self, _: &Checkpoint) -> palisade_audit::Result<()> {
        Ok(())
    }
    fn commit(&mut self) -> palisade_audit::Result<()> {
        Ok(())
    }
    fn export(&mut self, _: TenantId, _: &mut dyn std::io::Write) -> palisade_audit::Result<()> {
        Ok(())
    }
}

fn signer() -> Arc<CheckpointSigner> {
    Arc::new(CheckpointSigner::hmac(KeyId::new("k1").unwrap(), &[0x0b; 32]).unwrap())
}

/// On-CPU nanoseconds of this thread (Linux `/proc/thread-self/schedstat`):
/// unlike wall-clock time, it excludes time the shared machine's scheduler
/// gave to other processes.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Run `f` `n` times and print on-CPU and wall time per iteration.
fn cpu_report(label: &str, n: u64, mut f: impl FnMut(u64)) {
    let (c0, w0) = (cpu_ns(), std::time::Instant::now());
    for i in 0..n {
        f(i);
    }
    let wall = w0.elapsed().as_nanos() as f64 / n as f64;
    match (c0, cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu = (b - a) as f64 / n as f64;
            eprintln!(
                "[cpu] {label}: {cpu:.0} ns/iter on-CPU ({:.0}/s), {wall:.0} ns/iter wall",
                1e9 / cpu
            );
        }
        _ => eprintln!("[cpu] {label}: {wall:.0} ns/iter wall (no schedstat)"),
    }
}

const POLICY: CheckpointPolicy = CheckpointPolicy {
    every_records: 1000,
    every_millis: 0,
};

fn append(c: &mut Criterion) {
    let tenant = TenantId::from_bytes([1; 16]);
    let ev = event(tenant, 42);
    // Each iteration appends a fresh clone of a template (hot in cache, as
    // an event built right before its append is); the clone is measured on
    // its own and subtracted in the report.
    let template = event(tenant, 42);
    cpu_report(
        "  part: cloning the template event (not part of append)",
        200_000,
        |_| {
            drop(black_box(template.clone()));
        },
    );
    let mut mem = TenantLog::new(tenant, Box::new(MemorySink::new()), signer()).with_policy(POLICY);
    cpu_report("append memory + clone", 200_000, |_| {
        mem.append(template.clone()).unwrap();
    });
    let mut null = TenantLog::new(tenant, Box::new(NullSink), signer()).with_policy(POLICY);
    cpu_report("append null sink + clone", 200_000, |_| {
        null.append(template.clone()).unwrap();
    });
    let mut buf = Vec::with_capacity(1024);
    cpu_report("  part: canonical encoding", 200_000, |i| {
        encode_record(i, black_box(&template), &mut buf);
    });
    cpu_report("  part: leaf hash of 289 bytes", 200_000, |_| {
        black_box(leaf_hash(black_box(&buf)));
    });
    // The record MAC (docs/audit-format.md §8): HMAC-SHA256 of 64 bytes
    // from a cached keyed state, as the log computes it.
    let keyed = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&[7; 32]).unwrap();
    cpu_report("  part: record MAC (HMAC of 64 bytes)", 200_000, |_| {
        let mut m = keyed.clone();
        hmac::Mac::update(&mut m, black_box(&[1u8; 64]));
        black_box(hmac::Mac::finalize(m));
    });
    cpu_report(
        "  part: default redaction of the 4 details",
        200_000,
        |_| {
            for (k, v) in black_box(&template).details() {
                black_box(DefaultRedactor.redact(k, v));
            }
        },
    );
    let dir0 = tempfile::tempdir().unwrap();
    for (name, policy) in [
        ("append jsonl, no fsync", FsyncPolicy::Never),
        (
            "append jsonl group-commit 256",
            FsyncPolicy::EveryRecords(256),
        ),
        (
            "append jsonl group-commit 4096",
            FsyncPolicy::EveryRecords(4096),
        ),
    ] {
        let path = dir0.path().join(format!("{}.jsonl", name.len()));
        let (sink, _) = JsonlFileSink::open(&path, tenant, policy).unwrap();
        let mut log = TenantLog::new(tenant, Box::new(sink), signer()).with_policy(POLICY);
        cpu_report(&format!("{name} + clone"), 200_000, |_| {
            log.append(template.clone()).unwrap();
        });
    }
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    // Baseline of the same run: SHA-256 of the same canonical bytes.
    encode_record(0, &ev, &mut buf);
    g.bench_function("sha256_same_bytes", |b| {
        b.iter(|| black_box(leaf_hash(black_box(&buf))))
    });
    let mut mem = TenantLog::new(tenant, Box::new(MemorySink::new()), signer()).with_policy(POLICY);
    g.bench_function("memory", |b| {
        b.iter_batched(
            || ev.clone(),
            |e| black_box(mem.append(e).unwrap()),
            BatchSize::SmallInput,
        )
    });
    let mut null = TenantLog::new(tenant, Box::new(NullSink), signer()).with_policy(POLICY);
    g.bench_function("null_sink", |b| {
        b.iter_batched(
            || ev.clone(),
            |e| black_box(null.append(e).unwrap()),
            BatchSize::SmallInput,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    for (name, policy) in [
        ("jsonl_group256", FsyncPolicy::EveryRecords(256)),
        ("jsonl_group4096", FsyncPolicy::EveryRecords(4096)),
    ] {
        let path = dir.path().join(format!("{name}.jsonl"));
        let (sink, _) = JsonlFileSink::open(&path, tenant, policy).unwrap();
        let mut log = TenantLog::new(tenant, Box::new(sink), signer()).with_policy(POLICY);
        g.bench_function(name, |b| {
            b.iter_batched(
                || ev.clone(),
                |e| black_box(log.append(e).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn verification(c: &mut Criterion) {
    const N: u64 = 100_000;
    let tenant = TenantId::from_bytes([1; 16]);
    let s = signer();
    let keys = Keyring::new()
        .with(s.key_id().clone(), s.verify_key())
        .unwrap();
    let mut log = TenantLog::new(tenant, Box::new(MemorySink::new()), s).with_policy(POLICY);
    for i in 0..N {
        log.append(event(tenant, i)).unwrap();
    }
    let mut export = Vec::new();
    log.export(Timestamp::from_unix_millis(1_796_000_000_000), &mut export)
        .unwrap();
    eprintln!(
        "export of {N} records: {} bytes ({} per line)",
        export.len(),
        export.len() as u64 / N
    );
    cpu_report("verify 100k export (per export)", 3, |_| {
        assert!(verify(&export, &keys, tenant).is_ok());
    });
    let mut g = c.benchmark_group("verify_export");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("100k", |b| {
        b.iter(|| {
            let r = verify(black_box(&export), &keys, tenant);
            assert!(r.is_ok());
            r.records
        })
    });
    g.finish();
}

/// Opt-in (`AUDIT_BENCH_1M=1`, ~1.5 GB of memory): verify a real 1M-record
/// export once, measured in on-CPU and wall time.
fn verification_1m(_c: &mut Criterion) {
    if std::env::var_os("AUDIT_BENCH_1M").is_none() {
        return;
    }
    const N: u64 = 1_000_000;
    let tenant = TenantId::from_bytes([1; 16]);
    let s = signer();
    let keys = Keyring::new()
        .with(s.key_id().clone(), s.verify_key())
        .unwrap();
    let mut log = TenantLog::new(tenant, Box::new(MemorySink::new()), s).with_policy(POLICY);
    for i in 0..N {
        log.append(event(tenant, i)).unwrap();
    }
    let mut export = Vec::new();
    log.export(Timestamp::from_unix_millis(1_796_000_000_000), &mut export)
        .unwrap();
    drop(log);
    eprintln!("export of {N} records: {} bytes", export.len());
    cpu_report("verify 1M export (per export)", 1, |_| {
        let r = verify(&export, &keys, tenant);
        assert!(r.is_ok() && r.records == N);
    });
}

fn proofs(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let tenant = TenantId::from_bytes([1; 16]);
    let mut log =
        TenantLog::new(tenant, Box::new(NullSink), signer()).with_policy(CheckpointPolicy {
            every_records: 0,
            every_millis: 0,
        });
    let ev = event(tenant, 1);
    for _ in 0..N {
        log.append(ev.clone()).unwrap();
    }
    let root = log.root(N).unwrap();
    let index = 777_777;
    let leaf = log.leaf_hash(index).unwrap();
    let proof = log.prove_inclusion(index, N).unwrap();
    eprintln!(
        "inclusion proof at 1M: {} hashes, {} bytes encoded",
        proof.path.len(),
        proof.to_bytes().len()
    );
    let old = 600_001;
    let old_root = log.root(old).unwrap();
    let cons = log.prove_consistency(old, N).unwrap();
    eprintln!("consistency proof {old}..{N}: {} hashes", cons.path.len());
    cpu_report("inclusion proof verify at 1M", 100_000, |_| {
        assert!(black_box(&proof).verify(&leaf, &root));
    });
    cpu_report("consistency proof verify 600001..1M", 100_000, |_| {
        assert!(black_box(&cons).verify(&old_root, &root));
    });
    let mut g = c.benchmark_group("proofs_1m");
    g.bench_function("inclusion_verify", |b| {
        b.iter(|| assert!(black_box(&proof).verify(&leaf, &root)))
    });
    g.bench_function("consistency_verify", |b| {
        b.iter(|| assert!(black_box(&cons).verify(&old_root, &root)))
    });
    g.bench_function("inclusion_prove", |b| {
        b.iter(|| log.prove_inclusion(black_box(index), N).unwrap())
    });
    g.finish();
}

criterion_group!(benches, append, verification, verification_1m, proofs);
criterion_main!(benches);
