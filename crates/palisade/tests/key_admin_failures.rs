//! Key administration when things fail: the audit log refusing records
//! (no unaudited key may exist), a store record edited behind Palisade's
//! back, and the `_async` twins (same checks, same records).
#![cfg(feature = "service")]

mod key_admin_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use key_admin_support::*;
use palisade::KeyAdminError;
use palisade::apikey::{Cidr, KeyId, NewKey};
use palisade::audit::{AuditError, AuditSink, Checkpoint, MemorySink, Record, Resume, SinkFactory};
use palisade::tenancy::{Principal, Scope, TenantId};

/// Memory sinks that refuse every append while `broken` is set.
#[derive(Clone, Default)]
struct Switch {
    broken: Arc<AtomicBool>,
}

struct SwitchSink {
    inner: MemorySink,
    broken: Arc<AtomicBool>,
}

impl AuditSink for SwitchSink {
    fn append(&mut self, record: &Record<'_>) -> Result<(), AuditError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(AuditError::SinkClosed);
        }
        self.inner.append(record)
    }
    fn checkpoint(&mut self, c: &Checkpoint) -> Result<(), AuditError> {
        self.inner.checkpoint(c)
    }
    fn commit(&mut self) -> Result<(), AuditError> {
        self.inner.commit()
    }
    fn export(&mut self, t: TenantId, out: &mut dyn std::io::Write) -> Result<(), AuditError> {
        self.inner.export(t, out)
    }
}

impl SinkFactory for Switch {
    fn open(&self, _: TenantId) -> Result<(Box<dyn AuditSink>, Resume), AuditError> {
        let sink = SwitchSink {
            inner: MemorySink::new(),
            broken: Arc::clone(&self.broken),
        };
        Ok((Box::new(sink), Resume::default()))
    }
}

#[test]
fn no_key_is_issued_or_rotated_without_its_audit_record() {
    let switch = Switch::default();
    let w = world_with(Some(Box::new(switch.clone())));
    let alice = auth(&w, &w.alice, "apikeys:create");
    let admin = w.palisade.key_admin(&alice);
    let ann = id_of(&w, &w.ann);
    switch.broken.store(true, Ordering::SeqCst);

    let new = NewKey::new(Scope::tenant(w.acme), "unaudited")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["inbox:read"])
        .unwrap();
    let err = admin.issue(new, at(2)).unwrap_err();
    assert!(matches!(err, KeyAdminError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("revoked again"), "{err}");
    let keys = w.palisade.keys_unchecked().list(w.acme).unwrap();
    let minted = keys.iter().find(|r| r.name == "unaudited").unwrap();
    assert!(minted.revoked_at.is_some(), "the unaudited key is revoked");

    let err = admin
        .rotate(&ann, Duration::from_secs(60), at(3))
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::Unavailable { .. }), "{err:?}");
    let keys = w.palisade.keys_unchecked().list(w.acme).unwrap();
    let successor = keys.iter().find(|r| r.rotated_from == Some(ann)).unwrap();
    assert!(
        successor.revoked_at.is_some(),
        "the unaudited successor is revoked"
    );

    // A revocation still happens, and says it was not recorded.
    let err = admin.revoke(&ann, at(4)).unwrap_err();
    assert!(
        matches!(
            err,
            KeyAdminError::Unaudited {
                action: "apikey.revoke",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), 503);
    assert!(
        w.palisade
            .keys_unchecked()
            .get(&ann)
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    // Reads are refused rather than served unaudited.
    assert!(matches!(
        admin.get(&ann, at(5)),
        Err(KeyAdminError::Unavailable { .. })
    ));
    assert!(matches!(
        admin.list(at(5)),
        Err(KeyAdminError::Unavailable { .. })
    ));
}

#[test]
fn an_edited_record_may_only_be_revoked() {
    let w = world();
    let ann = id_of(&w, &w.ann);
    let store = w.palisade.keys_unchecked().store();
    let mut row = store.get(&ann).unwrap().snapshot();
    row.scopes = vec!["*".into()];
    store.restore(row).unwrap();
    let alice = auth(&w, &w.alice, "apikeys:update");
    let admin = w.palisade.key_admin(&alice);
    let info = admin.get(&ann, at(2)).unwrap();
    assert!(!info.authentic);
    assert!(
        admin
            .list(at(2))
            .unwrap()
            .iter()
            .any(|k| k.key_id == ann && !k.authentic)
    );
    let tampered = |r: Result<(), KeyAdminError>| {
        assert!(
            matches!(r, Err(KeyAdminError::RecordTampered { .. })),
            "{r:?}"
        );
    };
    tampered(admin.set_scopes(&ann, &["inbox:read"], at(3)));
    tampered(admin.set_allowed_ips(&ann, &[], at(3)));
    tampered(admin.rotate(&ann, Duration::ZERO, at(3)).map(drop));
    admin.revoke(&ann, at(4)).unwrap();
    let acme = events(&w, w.acme);
    let refused = with_action(&acme, "apikey.set_scopes");
    assert_eq!(detail(refused[0], "decision")["str"], "record_tampered");
    let read = with_action(&acme, "apikey.read");
    assert_eq!(
        detail(read[0], "integrity")["str"],
        "record MAC does not verify"
    );
}

#[tokio::test]
async fn the_async_twins_check_and_record_the_same() {
    let w = world();
    let bob = auth(&w, &w.bob, "apikeys:update");
    let victim = id_of(&w, &w.ann);
    let foreign = w.palisade.key_admin(&bob);
    let nf = |r: Result<(), KeyAdminError>| {
        assert!(matches!(r, Err(KeyAdminError::NotFound { .. })), "{r:?}");
    };
    nf(foreign.get_async(&victim, at(2)).await.map(drop));
    nf(foreign.revoke_async(&victim, at(2)).await);
    nf(foreign
        .rotate_async(&victim, Duration::ZERO, at(2))
        .await
        .map(drop));
    nf(foreign.set_scopes_async(&victim, &["*"], at(2)).await);
    nf(foreign.set_allowed_ips_async(&victim, &[], at(2)).await);
    assert!(
        foreign
            .list_async(at(2))
            .await
            .unwrap()
            .iter()
            .all(|k| k.scope.tenant_id() == w.globex)
    );

    let minter = auth(&w, &w.minter, "apikeys:create");
    let wide = NewKey::new(Scope::tenant(w.acme), "w")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["*"])
        .unwrap();
    let err = w
        .palisade
        .key_admin(&minter)
        .issue_async(wide, at(2))
        .await
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::Escalation { .. }), "{err:?}");

    let alice = auth(&w, &w.alice, "apikeys:update");
    let admin = w.palisade.key_admin(&alice);
    admin
        .set_scopes_async(&victim, &["inbox:read"], at(3))
        .await
        .unwrap();
    let nets: Vec<Cidr> = vec!["192.0.2.0/24".parse().unwrap()];
    admin
        .set_allowed_ips_async(&victim, &nets, at(4))
        .await
        .unwrap();
    let next = admin
        .rotate_async(&victim, Duration::from_secs(5), at(5))
        .await
        .unwrap();
    admin.revoke_async(next.key_id(), at(6)).await.unwrap();
    let info = admin.get_async(&victim, at(7)).await.unwrap();
    assert_eq!(
        (info.scopes.as_slice(), info.allowed_ips.as_slice()),
        (&["inbox:read".to_owned()][..], &nets[..])
    );
    let acme = events(&w, w.acme);
    for action in [
        "apikey.set_scopes",
        "apikey.set_allowed_ips",
        "apikey.rotate",
        "apikey.read",
    ] {
        let allowed = with_action(&acme, action)
            .into_iter()
            .filter(|e| e["status"] == "allowed")
            .count();
        assert_eq!(allowed, 1, "{action}");
    }
    let revoked: Vec<KeyId> = with_action(&acme, "apikey.revoke")
        .iter()
        .filter(|e| e["status"] == "allowed")
        .map(|e| {
            detail(e, "key_id")["str"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(revoked, [*next.key_id()]);
    assert_eq!(
        with_action(&acme, "apikey.issue").len(),
        1,
        "the refused mint"
    );
    assert_eq!(with_action(&events(&w, w.globex), "apikey.revoke").len(), 1);
}
