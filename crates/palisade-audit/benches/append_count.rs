//! A small driver for `valgrind --tool=callgrind` (instruction counts are
//! stable on a loaded machine, unlike time): `append_count MODE N` appends
//! N clones of the benchmark's event to an in-memory log (`append`), or
//! hashes its canonical bytes N times (`sha256`), or only clones (`clone`).
//! Run twice with different N and divide the difference by the difference
//! in N to get the per-operation count.
#![expect(
    clippy::unwrap_used,
    reason = "benchmark driver: a failure here is a broken benchmark"
)]

use palisade_audit::{
    Actor, AuditEvent, CheckpointPolicy, CheckpointSigner, DetailValue, KeyId, MemorySink, Outcome,
    RequestFacts, Resource, TenantLog, encode_record, leaf_hash,
};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use std::hint::black_box;
use std::sync::Arc;

fn event(tenant: TenantId) -> AuditEvent {
    AuditEvent::with_id(
        uuid::Uuid::from_bytes([9; 16]),
        Timestamp::from_unix_millis(1_795_000_000_000),
        Scope::project(tenant, ProjectId::from_bytes([7; 16])),
        Actor::new(Principal::user("alice@example.com").unwrap()).unwrap(),
        "billing:update",
        Resource::new("invoice", "inv_42").unwrap(),
        Outcome::Denied,
    )
    .unwrap()
    .with_reason("no grant for billing:update")
    .unwrap()
    .with_request(
        RequestFacts::new()
            .ip("203.0.113.7".parse().unwrap())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) curl/8.5.0")
            .request_id("req-01935c9e0a00")
            .unwrap(),
    )
    .with_detail("amount_cents", DetailValue::Int(1299))
    .unwrap()
    .with_detail("currency", DetailValue::Str("EUR".into()))
    .unwrap()
    .with_detail("plan", DetailValue::Str("team".into()))
    .unwrap()
    .with_detail("seats", DetailValue::Int(12))
    .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("append", String::as_str);
    let n: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let tenant = TenantId::from_bytes([1; 16]);
    let template = event(tenant);
    let signer = Arc::new(CheckpointSigner::hmac(KeyId::new("k1").unwrap(), &[11; 32]).unwrap());
    let mut log =
        TenantLog::new(tenant, Box::new(MemorySink::new()), signer).with_policy(CheckpointPolicy {
            every_records: 1000,
            every_millis: 0,
        });
    let mut buf = Vec::new();
    encode_record(0, &template, &mut buf);
    for _ in 0..n {
        match mode {
            "sha256" => drop(black_box(leaf_hash(black_box(&buf)))),
            "clone" => drop(black_box(template.clone())),
            _ => drop(black_box(log.append(template.clone()).unwrap())),
        }
    }
    println!(
        "{mode} {n}: {} bytes canonical, log size {}",
        buf.len(),
        log.size()
    );
}
