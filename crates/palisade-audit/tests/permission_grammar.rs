//! Issue 11 F3 regression: every permission `palisade-rbac` accepts is
//! auditable, verbatim, as the action of a record (one grammar, in
//! `palisade_tenancy`), so an allow can never turn into a 503 and a denial
//! can never go unrecorded because of its permission's name.
#![expect(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

mod common;

use common::tenant;
use palisade_audit::*;
use palisade_rbac::{PolicyDocument, compile};
use palisade_tenancy::{Principal, Scope, Timestamp};
use proptest::prelude::*;

fn auditable(permission: &str) -> bool {
    let t = tenant(3);
    let event = AuditEvent::new(
        Timestamp::from_unix_seconds(1_800_000_000),
        Scope::tenant(t),
        Actor::new(Principal::user("alice").unwrap()).unwrap(),
        permission,
        Resource::new("invoice", "inv_1").unwrap(),
        Outcome::Denied,
    );
    let Ok(event) = event else { return false };
    let signer = CheckpointSigner::generate_hmac(KeyId::new("k1").unwrap()).unwrap();
    let keys = Keyring::new()
        .with(signer.key_id().clone(), signer.verify_key())
        .unwrap();
    let log = AuditLog::new(Box::new(MemorySinks), signer);
    let now = Timestamp::from_unix_seconds(1_800_000_001);
    log.append(event).unwrap();
    let mut export = Vec::new();
    log.export(t, now, &mut export).unwrap();
    let report = verify(&export, &keys, t);
    report.is_ok() && String::from_utf8_lossy(&export).contains(permission)
}

fn accepted_by_rbac(permission: &str) -> bool {
    let doc = PolicyDocument::new().permission(permission);
    compile(&doc, Timestamp::from_unix_seconds(1_800_000_000)).is_ok()
}

#[test]
fn long_and_uppercase_permissions_from_the_report() {
    for p in [
        "Billing:Read".to_owned(),
        format!("{}:{}", "a".repeat(64), "b".repeat(64)),
    ] {
        assert!(!accepted_by_rbac(&p) || auditable(&p), "{p}");
    }
    let longest = format!("{}:{}", "a".repeat(31), "b".repeat(32));
    assert!(accepted_by_rbac(&longest) && auditable(&longest));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the compiler accepts as a declared permission is an action.
    #[test]
    fn every_accepted_permission_is_auditable(
        p in "[a-zA-Z0-9_.:*-]{1,4}|[a-z0-9_.-]{1,70}:[a-zA-Z0-9_.-]{1,70}|[a-z]{1,8}:[a-z]{1,8}",
    ) {
        if accepted_by_rbac(&p) {
            prop_assert!(auditable(&p), "{}", p);
        }
    }
}
