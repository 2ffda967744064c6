//! Late events and clock steps back: checkpoint times stay non-decreasing,
//! so an honest log always verifies and reopens whatever order its events'
//! own times come in.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "helpers outside #[test] functions: a failure here is the test failing"
)]

mod common;

use common::*;
use palisade_audit::*;
use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};
use proptest::prelude::*;
use std::sync::Arc;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

/// A small event of `tenant` number `i` whose own time is `T0 + ms`.
fn event_at(tenant: TenantId, i: u64, ms: i64) -> AuditEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.to_be_bytes());
    AuditEvent::with_id(
        uuid::Uuid::from_bytes(id),
        at(ms),
        Scope::tenant(tenant),
        Actor::new(Principal::service("billing-sync").unwrap()).unwrap(),
        "billing.update",
        Resource::new("invoice", &format!("inv_{i}")).unwrap(),
        Outcome::Allowed,
    )
    .unwrap()
}

fn every(n: u64) -> CheckpointPolicy {
    CheckpointPolicy {
        every_records: n,
        every_millis: 0,
    }
}

fn checkpoint_times(export: &[u8]) -> Vec<Timestamp> {
    let text = std::str::from_utf8(export).unwrap();
    text.lines()
        .filter(|l| l.starts_with("{\"checkpoint\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let t = v["checkpoint"]["time"].as_str().unwrap();
            t.parse::<Timestamp>().unwrap()
        })
        .collect()
}

#[test]
fn a_late_event_verifies() {
    let t = tenant(1);
    let signer = Arc::new(hmac_signer("k1"));
    let keys = keyring_for(&[&signer]);
    let mut log = TenantLog::new(t, Box::new(MemorySink::new()), signer).with_policy(every(1));
    log.append(event_at(t, 0, 1000)).unwrap();
    // Delivered late: its own time is before the checkpoint that covers record 0.
    log.append(event_at(t, 1, 500)).unwrap();
    let cp = log.last_checkpoint().unwrap();
    assert_eq!((cp.size(), cp.time()), (2, at(1000)), "clamped, not T0+500");
    let mut out = Vec::new();
    log.export(at(600), &mut out).unwrap();
    let r = verify(&out, &keys, tenant(1));
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!((r.records, r.checkpoints), (2, 2));
    // The event keeps its own time; only the checkpoint is clamped.
    let late = format!("\"time\":\"{}\"", at(500));
    assert!(String::from_utf8(out).unwrap().contains(&late), "{late}");
}

#[test]
fn a_clock_step_back_clamps_checkpoint_time() {
    let t = tenant(1);
    let signer = Arc::new(hmac_signer("k1"));
    let keys = keyring_for(&[&signer]);
    let mut log = TenantLog::new(t, Box::new(MemorySink::new()), signer).with_policy(every(0));
    log.append(event_at(t, 0, 0)).unwrap();
    assert_eq!(log.checkpoint(at(5000)).unwrap().time(), at(5000));
    log.append(event_at(t, 1, 10)).unwrap();
    // The host clock stepped back 4 s (NTP correction).
    assert_eq!(log.checkpoint(at(1000)).unwrap().time(), at(5000));
    log.append(event_at(t, 2, 20)).unwrap();
    let mut out = Vec::new();
    log.export(at(2000), &mut out).unwrap();
    assert_eq!(checkpoint_times(&out), [at(5000); 3]);
    let r = verify(&out, &keys, tenant(1));
    assert!(r.is_ok(), "{:?}", r.problem);
    // A later clock moves it forward again.
    log.append(event_at(t, 3, 30)).unwrap();
    assert_eq!(log.checkpoint(at(6000)).unwrap().time(), at(6000));
}

#[test]
fn a_log_with_late_events_reopens_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let t = tenant(2);
    let signer = Arc::new(hmac_signer("k1"));
    let keys = keyring_for(&[&signer]);
    let (sink, _) = JsonlFileSink::open(&path, t, FsyncPolicy::Never).unwrap();
    let mut log = TenantLog::new(t, Box::new(sink), Arc::clone(&signer)).with_policy(every(1));
    log.append(event_at(t, 0, 1000)).unwrap();
    log.append(event_at(t, 1, 500)).unwrap();
    log.commit().unwrap();
    drop(log);

    let (sink, state) = JsonlFileSink::open(&path, t, FsyncPolicy::Never)
        .unwrap_or_else(|e| panic!("an honest log must reopen: {e}"));
    assert_eq!(state.last_checkpoint.as_ref().unwrap().time(), at(1000));
    let mut log = TenantLog::resume(t, Box::new(sink), signer, state)
        .unwrap()
        .with_policy(every(1));
    // Clamped against the checkpoint recovered from the file, too.
    log.append(event_at(t, 2, 100)).unwrap();
    assert_eq!(log.last_checkpoint().unwrap().time(), at(1000));
    let mut out = Vec::new();
    log.export(at(0), &mut out).unwrap();
    let r = verify(&out, &keys, t);
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!(r.records, 3);
}

#[derive(Clone, Debug)]
enum Op {
    Append(i64),
    Tick(i64),
    Checkpoint(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (-5000i64..5000).prop_map(Op::Append),
        1 => (-5000i64..5000).prop_map(Op::Tick),
        1 => (-5000i64..5000).prop_map(Op::Checkpoint),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any order of event times and `now` values gives a log that verifies,
    /// whose checkpoint times never decrease, and that reopens.
    #[test]
    fn any_time_order_verifies_and_reopens(
        ops in proptest::collection::vec(op(), 1..40),
        every_records in 0u64..4,
        every_millis in prop_oneof![Just(0u64), 1u64..3000],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let t = tenant(3);
        let signer = Arc::new(hmac_signer("k1"));
        let keys = keyring_for(&[&signer]);
        let policy = CheckpointPolicy { every_records, every_millis };
        let (sink, _) = JsonlFileSink::open(&path, t, FsyncPolicy::Never).unwrap();
        let mut log = TenantLog::new(t, Box::new(sink), Arc::clone(&signer)).with_policy(policy);
        let mut n = 0;
        for op in &ops {
            match *op {
                Op::Append(ms) => {
                    log.append(event_at(t, n, ms)).unwrap();
                    n += 1;
                }
                Op::Tick(ms) => {
                    log.tick(at(ms)).unwrap();
                }
                Op::Checkpoint(ms) => {
                    log.checkpoint(at(ms)).unwrap();
                }
            }
        }
        log.commit().unwrap();
        drop(log);
        let (sink, state) = JsonlFileSink::open(&path, t, FsyncPolicy::Never)
            .map_err(|e| TestCaseError::fail(format!("reopen: {e}")))?;
        let mut log = TenantLog::resume(t, Box::new(sink), signer, state)
        .unwrap()
        .with_policy(policy);
        log.append(event_at(t, n, -6000)).unwrap();
        let mut out = Vec::new();
        log.export(at(-6000), &mut out).unwrap();
        let r = verify(&out, &keys, t);
        prop_assert!(r.is_ok(), "{:?}", r.problem);
        prop_assert_eq!(r.records, n + 1);
        let times = checkpoint_times(&out);
        prop_assert!(times.windows(2).all(|w| w[0] <= w[1]), "{:?}", times);
    }
}
