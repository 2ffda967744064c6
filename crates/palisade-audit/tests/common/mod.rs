//! Shared test helpers: event generators and a small log harness.
#![allow(dead_code, reason = "each test binary uses a different subset")]
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    unreachable_pub,
    reason = "test helpers: a failure here is the calling test failing"
)]

use palisade_audit::*;
use palisade_tenancy::{Principal, PrincipalKind, ProjectId, Scope, TenantId, Timestamp};
use proptest::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;

pub const T0: i64 = 1_795_000_000_000;

/// `T0` plus `i` seconds.
pub fn now(i: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + 10_000_000 + i * 1000)
}

pub fn tenant(n: u8) -> TenantId {
    TenantId::from_bytes([n; 16])
}

/// A realistic ~300-byte event number `i` of `tenant`.
pub fn sample_event(tenant: TenantId, i: u64) -> AuditEvent {
    let scope = if i.is_multiple_of(3) {
        Scope::tenant(tenant)
    } else {
        Scope::project(tenant, ProjectId::from_bytes([7; 16]))
    };
    let actor = match i % 4 {
        0 => Actor::new(Principal::user("alice@example.com").unwrap()).unwrap(),
        1 => Actor::new(Principal::api_key("k7f3a9c2").unwrap()).unwrap(),
        2 => Actor::with_reason(Principal::staff("bob").unwrap(), "support ticket 4711").unwrap(),
        _ => Actor::new(Principal::service("billing-sync").unwrap()).unwrap(),
    };
    let outcome = if i.is_multiple_of(5) {
        Outcome::Denied
    } else {
        Outcome::Allowed
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.to_be_bytes());
    id[8..].copy_from_slice(tenant.as_bytes()[..8].try_into().unwrap());
    AuditEvent::with_id(
        uuid::Uuid::from_bytes(id),
        Timestamp::from_unix_millis(T0 + i as i64 * 10),
        scope,
        actor,
        "billing.update",
        Resource::new("invoice", &format!("inv_{i}")).unwrap(),
        outcome,
    )
    .unwrap()
    .with_reason(if outcome == Outcome::Denied {
        "no grant for billing:update"
    } else {
        "role billing-admin"
    })
    .unwrap()
    .with_request(
        RequestFacts::new()
            .ip("203.0.113.7".parse().unwrap())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) palisade-test/1.0")
            .request_id(&format!("req-{i}"))
            .unwrap(),
    )
    .with_detail("amount_cents", DetailValue::Int(1299 + i as i64))
    .unwrap()
    .with_detail("currency", DetailValue::Str("EUR".into()))
    .unwrap()
    .with_detail("plan", DetailValue::Str("enterprise-annual-2026".into()))
    .unwrap()
    .with_detail("seats", DetailValue::Int(250))
    .unwrap()
}

pub fn hmac_signer(id: &str) -> CheckpointSigner {
    CheckpointSigner::hmac(KeyId::new(id).unwrap(), &[0x0b; 32]).unwrap()
}

pub fn keyring_for(signers: &[&CheckpointSigner]) -> Keyring {
    let mut k = Keyring::new();
    for s in signers {
        k.insert(s.key_id().clone(), s.verify_key()).unwrap();
    }
    k
}

/// A tenant log of `n` sample events with a checkpoint every `every` records,
/// and its export (which ends with a checkpoint).
pub fn build_export(n: u64, every: u64) -> (Vec<u8>, Keyring, TenantLog) {
    let signer = Arc::new(hmac_signer("k1"));
    let keys = keyring_for(&[&signer]);
    let t = tenant(1);
    let mut log =
        TenantLog::new(t, Box::new(MemorySink::new()), signer).with_policy(CheckpointPolicy {
            every_records: every,
            every_millis: 0,
        });
    for i in 0..n {
        log.append(sample_event(t, i)).unwrap();
    }
    let mut out = Vec::new();
    log.export(Timestamp::from_unix_millis(T0 + 1_000_000), &mut out)
        .unwrap();
    (out, keys, log)
}

pub fn lines(export: &[u8]) -> Vec<Vec<u8>> {
    export
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

pub fn is_record(line: &[u8]) -> bool {
    line.starts_with(b"{\"record\"")
}

// ---- proptest strategies ----

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9_.-]{1,20}"
}

fn text() -> impl Strategy<Value = String> {
    "[ -~é€]{0,40}"
}

fn detail() -> impl Strategy<Value = DetailValue> {
    prop_oneof![
        text().prop_map(DetailValue::Str),
        any::<i64>().prop_map(DetailValue::Int),
        any::<bool>().prop_map(DetailValue::Bool),
        any::<[u8; 32]>().prop_map(|b| DetailValue::Commitment(Commitment::from_bytes(b))),
    ]
}

pub fn arb_event() -> impl Strategy<Value = AuditEvent> {
    (
        (
            any::<[u8; 16]>(),
            -62_167_219_200_000i64..=253_402_300_799_999,
            any::<[u8; 16]>(),
            proptest::option::of(any::<[u8; 16]>()),
        ),
        (
            0u8..4,
            "[a-zA-Z0-9._@+-]{1,30}",
            proptest::option::of("[ -~]{1,30}"),
        ),
        (name(), name(), "[ -~]{1,40}", 0u8..3, text()),
        (
            proptest::option::of(any::<IpAddr>()),
            proptest::option::of("[ -~]{0,40}"),
            proptest::option::of("[A-Za-z0-9._:-]{1,30}"),
        ),
        proptest::collection::btree_map(name(), detail(), 0..6),
    )
        .prop_map(
            |(
                (id, time, t, p),
                (kind, pid, reason),
                (action, rkind, rid, outcome, why),
                (ip, ua, rq),
                details,
            )| {
                let tenant = TenantId::from_bytes(t);
                let scope = p.map_or(Scope::tenant(tenant), |p| {
                    Scope::project(tenant, ProjectId::from_bytes(p))
                });
                let kind = [
                    PrincipalKind::User,
                    PrincipalKind::ApiKey,
                    PrincipalKind::Staff,
                    PrincipalKind::Service,
                ][kind as usize];
                let principal = Principal::new(kind, &pid).unwrap();
                let actor = match (kind, reason) {
                    (PrincipalKind::Staff, None) => {
                        Actor::with_reason(principal, "on call").unwrap()
                    }
                    (_, Some(r)) => Actor::with_reason(principal, &r).unwrap(),
                    (_, None) => Actor::new(principal).unwrap(),
                };
                let outcome =
                    [Outcome::Allowed, Outcome::Denied, Outcome::Failed][outcome as usize];
                let mut req = RequestFacts::new();
                if let Some(ip) = ip {
                    req = req.ip(ip);
                }
                if let Some(ua) = ua {
                    req = req.user_agent(&ua);
                }
                if let Some(rq) = rq {
                    req = req.request_id(&rq).unwrap();
                }
                let mut e = AuditEvent::with_id(
                    uuid::Uuid::from_bytes(id),
                    Timestamp::from_unix_millis(time),
                    scope,
                    actor,
                    &action,
                    Resource::new(&rkind, &rid).unwrap(),
                    outcome,
                )
                .unwrap()
                .with_reason(&why)
                .unwrap()
                .with_request(req);
                for (k, v) in details {
                    e = e.with_detail(&k, v).unwrap();
                }
                e
            },
        )
}
