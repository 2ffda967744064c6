//! Issue 11 regressions: a signing-key id names one key forever (reuse is
//! refused), and an export verifies only as the expected tenant's.

mod common;

use common::*;
use palisade_audit::*;

/// Reusing a key id for another key, in a keyring or on rotation, is refused
/// (it used to replace the old key silently, breaking old checkpoints).
#[test]
fn reusing_a_signing_key_id_is_refused() {
    let a = hmac_signer("audit-v1");
    let other = CheckpointSigner::hmac(KeyId::new("audit-v1").unwrap(), &[0x0c; 32]).unwrap();
    let mut ring = Keyring::new();
    ring.insert(a.key_id().clone(), a.verify_key()).unwrap();
    // The same key again is harmless.
    ring.insert(a.key_id().clone(), a.verify_key()).unwrap();
    let e = ring
        .insert(other.key_id().clone(), other.verify_key())
        .unwrap_err();
    assert!(
        matches!(&e, AuditError::KeyIdReused { key_id } if key_id == "audit-v1"),
        "{e}"
    );
    assert!(e.to_string().contains("new id"), "{e}");
    let ed = CheckpointSigner::ed25519(KeyId::new("audit-v1").unwrap(), &[7; 32]);
    assert!(matches!(
        Keyring::new()
            .with(a.key_id().clone(), a.verify_key())
            .unwrap()
            .with(ed.key_id().clone(), ed.verify_key()),
        Err(AuditError::KeyIdReused { .. })
    ));

    // Rotation onto an id used before (current or earlier) is refused.
    let log = AuditLog::new(Box::new(MemorySinks), a);
    let t = tenant(1);
    log.append(sample_event(t, 0)).unwrap();
    assert!(matches!(
        log.rotate_signer(other),
        Err(AuditError::KeyIdReused { .. })
    ));
    log.rotate_signer(hmac_signer("audit-v2")).unwrap();
    log.append(sample_event(t, 1)).unwrap();
    assert!(matches!(
        log.rotate_signer(hmac_signer("audit-v1")),
        Err(AuditError::KeyIdReused { .. })
    ));
    let cp = log.checkpoint(t, now(1)).unwrap();
    assert_eq!(cp.key_id().as_str(), "audit-v2");
    // The same on a single tenant's log.
    let (_, _, mut single) = build_export(2, 1);
    let current = std::sync::Arc::new(hmac_signer("k1"));
    assert!(matches!(
        single.rotate_signer(current),
        Err(AuditError::KeyIdReused { .. })
    ));
}

/// Another tenant's export does not verify as this tenant's: the tenant is
/// a required argument, checked against the header and every line.
#[test]
fn another_tenants_export_does_not_verify() {
    let (out, keys, _) = build_export(5, 2);
    assert!(verify(&out, &keys, tenant(1)).is_ok());
    let f = verify(&out, &keys, tenant(2)).problem.unwrap();
    assert_eq!((f.line, f.problem), (1, Problem::WrongTenant));
}
