//! One negative test per error variant that can be provoked.
//! (`AuditError::Random` needs a failing OS RNG and `AuditError::Serialize`
//! a failing in-memory JSON writer; neither can be provoked from a test.)

mod common;

use common::*;
use palisade_audit::*;
use palisade_tenancy::{Principal, Scope, Timestamp};
use std::sync::Arc;

#[test]
fn field_errors_name_the_field() {
    let t = tenant(1);
    let actor = || Actor::new(Principal::user("a").unwrap()).unwrap();
    let res = || Resource::new("invoice", "1").unwrap();
    let now = Timestamp::from_unix_seconds(0);
    for bad in ["", "Billing.Update", "a b", &"x".repeat(65)] {
        let e = AuditEvent::new(now, Scope::tenant(t), actor(), bad, res(), Outcome::Allowed)
            .unwrap_err();
        assert!(
            matches!(
                e,
                AuditError::Field {
                    field: "action",
                    ..
                }
            ),
            "{e}"
        );
    }
    assert!(matches!(
        Resource::new("", "x"),
        Err(AuditError::Field {
            field: "resource.type",
            ..
        })
    ));
    assert!(matches!(
        Resource::new("t", ""),
        Err(AuditError::Field {
            field: "resource.uid",
            ..
        })
    ));
    assert!(matches!(
        Resource::new("t", "a\nb"),
        Err(AuditError::Field { .. })
    ));
    assert!(matches!(
        RequestFacts::new().request_id("a b"),
        Err(AuditError::Field {
            field: "request.uid",
            ..
        })
    ));
    let e = AuditEvent::new(now, Scope::tenant(t), actor(), "a", res(), Outcome::Allowed).unwrap();
    assert!(matches!(
        e.clone().with_reason(&"r".repeat(513)),
        Err(AuditError::Field {
            field: "status_detail",
            ..
        })
    ));
    assert!(matches!(
        e.clone().with_detail("Bad", DetailValue::Bool(true)),
        Err(AuditError::Field { .. })
    ));
    assert!(matches!(
        e.clone()
            .with_detail("k", DetailValue::Str("x".repeat(257))),
        Err(AuditError::Field { .. })
    ));
    let mut full = e.clone();
    for i in 0..MAX_DETAILS {
        full = full
            .with_detail(&format!("k{i}"), DetailValue::Int(0))
            .unwrap();
    }
    assert!(matches!(
        full.with_detail("one_more", DetailValue::Int(0)),
        Err(AuditError::Field {
            field: "details",
            ..
        })
    ));
    let far = AuditEvent::new(
        Timestamp::MAX,
        Scope::tenant(t),
        actor(),
        "a",
        res(),
        Outcome::Allowed,
    );
    assert!(matches!(far, Err(AuditError::Field { field: "time", .. })));
    // Messages are lowercase and say what to fix.
    let msg = Resource::new("", "x").unwrap_err().to_string();
    assert!(
        msg.starts_with("invalid event field `resource.type`: use"),
        "{msg}"
    );
}

#[test]
fn staff_needs_a_reason() {
    let staff = Principal::staff("bob").unwrap();
    assert!(matches!(
        Actor::new(staff.clone()),
        Err(AuditError::StaffReasonRequired)
    ));
    assert!(matches!(
        Actor::with_reason(staff.clone(), ""),
        Err(AuditError::StaffReasonRequired)
    ));
    assert_eq!(
        Actor::with_reason(staff, "ticket 1").unwrap().reason(),
        Some("ticket 1")
    );
}

#[test]
fn wrong_tenant_append() {
    let mut log = TenantLog::new(
        tenant(1),
        Box::new(MemorySink::new()),
        Arc::new(hmac_signer("k")),
    );
    let e = log.append(sample_event(tenant(2), 0)).unwrap_err();
    assert!(matches!(e, AuditError::WrongTenant { .. }));
    assert_eq!(log.size(), 0);
}

#[test]
fn canonical_decode_errors() {
    assert!(matches!(
        decode_record(b""),
        Err(AuditError::Canonical { offset: 0, .. })
    ));
    assert!(matches!(
        decode_record(&[2]),
        Err(AuditError::Canonical { offset: 0, .. })
    ));
    let mut b = Vec::new();
    encode_record(0, &sample_event(tenant(1), 0), &mut b);
    b.push(0);
    let e = decode_record(&b).unwrap_err();
    assert!(e.to_string().contains("trailing bytes"), "{e}");
}

#[test]
fn key_errors() {
    assert!(matches!(KeyId::new(""), Err(AuditError::KeyId { .. })));
    assert!(matches!(KeyId::new("a/b"), Err(AuditError::KeyId { .. })));
    assert!(matches!(
        KeyId::new(&"a".repeat(65)),
        Err(AuditError::KeyId { .. })
    ));
    assert!(matches!(
        VerifyKey::hmac(&[0; 31]),
        Err(AuditError::Key {
            kind: "hmac-sha256",
            ..
        })
    ));
    assert!(matches!(
        VerifyKey::hmac(&[0; 65]),
        Err(AuditError::Key { .. })
    ));
    assert!(matches!(
        CheckpointSigner::hmac(KeyId::new("k").unwrap(), &[0; 16]),
        Err(AuditError::Key { .. })
    ));
    // A y-coordinate that is not on the curve.
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert!(matches!(
        VerifyKey::ed25519(&not_a_point),
        Err(AuditError::Key {
            kind: "ed25519",
            ..
        })
    ));
}

#[test]
fn proof_errors() {
    assert!(matches!(
        InclusionProof::from_bytes(b""),
        Err(AuditError::ProofEncoding { .. })
    ));
    assert!(matches!(
        InclusionProof::from_bytes(&[2, b'I']),
        Err(AuditError::ProofEncoding { .. })
    ));
    let (_, _, log) = build_export(5, 2);
    let p = log.prove_inclusion(1, 5).unwrap();
    let mut b = p.to_bytes();
    assert_eq!(InclusionProof::from_bytes(&b).unwrap(), p);
    assert!(matches!(
        ConsistencyProof::from_bytes(&b),
        Err(AuditError::ProofEncoding { .. })
    ));
    b.push(0);
    assert!(matches!(
        InclusionProof::from_bytes(&b),
        Err(AuditError::ProofEncoding { .. })
    ));
    assert!(matches!(
        log.prove_inclusion(5, 5),
        Err(AuditError::ProofRange { .. })
    ));
    assert!(matches!(
        log.prove_inclusion(0, 6),
        Err(AuditError::ProofRange { .. })
    ));
    assert!(matches!(
        log.prove_consistency(4, 3),
        Err(AuditError::ProofRange { .. })
    ));
    assert!(matches!(
        log.prove_consistency(1, 6),
        Err(AuditError::ProofRange { .. })
    ));
}

struct FailingSink;
impl AuditSink for FailingSink {
    fn append(&mut self, _: &Record<'_>) -> Result<()> {
        Err(AuditError::Io(std::io::Error::other("disk full")))
    }
    fn checkpoint(&mut self, _: &Checkpoint) -> Result<()> {
        Ok(())
    }
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
    fn export(&mut self, _: palisade_tenancy::TenantId, _: &mut dyn std::io::Write) -> Result<()> {
        Ok(())
    }
}

#[test]
fn sink_failure_closes_the_log() {
    let mut log = TenantLog::new(tenant(1), Box::new(FailingSink), Arc::new(hmac_signer("k")));
    assert!(matches!(
        log.append(sample_event(tenant(1), 0)),
        Err(AuditError::Io(_))
    ));
    assert!(matches!(
        log.append(sample_event(tenant(1), 1)),
        Err(AuditError::SinkClosed)
    ));
    assert!(matches!(
        log.checkpoint(Timestamp::EPOCH),
        Err(AuditError::SinkClosed)
    ));
    assert_eq!(log.size(), 0);
}

#[test]
fn file_sink_errors() {
    let dir = tempfile::tempdir().unwrap();
    // I/O: the parent directory does not exist.
    let missing = dir.path().join("nope").join("t.jsonl");
    assert!(matches!(
        JsonlFileSink::open(&missing, tenant(1), FsyncPolicy::Never),
        Err(AuditError::Io(_))
    ));
    // Torn tail.
    let torn = dir.path().join("torn.jsonl");
    std::fs::write(&torn, b"{\"header\":{\"format\":\"palisade-audit-export\",\"version\":1,\"tenant\":\"x\"}}\n{\"rec").unwrap();
    match JsonlFileSink::open(&torn, tenant(1), FsyncPolicy::Never) {
        Err(AuditError::TornTail { offset, len, .. }) => assert_eq!((offset, len), (71, 5)),
        other => panic!("{other:?}"),
    }
    // Resume refused: the file is another tenant's, or does not verify.
    let other = dir.path().join("other.jsonl");
    drop(JsonlFileSink::open(&other, tenant(2), FsyncPolicy::Never).unwrap());
    assert!(matches!(
        JsonlFileSink::open(&other, tenant(1), FsyncPolicy::Never),
        Err(AuditError::ResumeRefused {
            line: 1,
            problem: Problem::WrongTenant,
            ..
        })
    ));
    let (out, _, _) = build_export(3, 2);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        String::from_utf8(out)
            .unwrap()
            .replacen("inv_1", "inv_9", 1),
    )
    .unwrap();
    let e = JsonlFileSink::open(&bad, tenant(1), FsyncPolicy::Never).unwrap_err();
    assert!(
        matches!(e, AuditError::ResumeRefused { .. }) && e.to_string().contains("modified"),
        "{e}"
    );
}
