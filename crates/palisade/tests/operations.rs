//! Operating Palisade: policy swaps under load, fail-closed auditing,
//! secrets and files from configuration, audit key rotation, builder options.
#![cfg(feature = "service")]

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use palisade::apikey::NewKey;
use palisade::audit::{AuditError, AuditSink, Checkpoint, Record, Resume, SinkFactory};
use palisade::tenancy::{Principal, Scope, TenantId};
use palisade::{DenyReason, Palisade, PalisadeConfig, PalisadeError, PlanConfig, RateConfig};

use common::{at, key_req, policy, records, world, world_with};

#[test]
fn policy_swap_takes_effect_and_refreshes_key_masks() {
    let w = world();
    assert_eq!(w.palisade.policy_version(), 1);
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "knowledge:read", at(1)))
            .is_ok()
    );
    // New policy: Alice becomes an agent without knowledge access.
    let text = policy(w.acme, w.globex)
        .replace("role = \"admin\"", "role = \"agent\"")
        .replace(
            "permissions = [\"inbox:*\", \"knowledge:read\"]",
            "permissions = [\"inbox:*\"]",
        );
    assert_eq!(w.palisade.swap_policy(&text, at(2)).unwrap(), 2);
    let d = w
        .palisade
        .authorize(&key_req(&w.alice_key, "knowledge:read", at(3)))
        .unwrap_err();
    assert!(d.explain().starts_with("policy v2"), "{}", d.explain());
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:write", at(3)))
            .is_ok()
    );
    // A broken policy is refused and the current one stays.
    let err = w.palisade.swap_policy("version = 99", at(4)).unwrap_err();
    assert!(
        matches!(
            err,
            PalisadeError::Component {
                component: "rbac",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.palisade.policy_version(), 2);
    w.palisade.with_policy(|p, v| {
        assert_eq!(v, 2);
        assert!(p.permission("inbox:read").is_some());
    });
}

#[test]
fn policy_swap_under_concurrent_requests() {
    let mut cfg = PalisadeConfig::default();
    let big = RateConfig::per_second(1_000_000_000);
    cfg.rate_limits
        .plans
        .insert("big".into(), PlanConfig::new(big, big, big));
    cfg.rate_limits.default_plan = "big".into();
    let w = Arc::new(world_with(cfg));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let wait_for = |n: u32| {
        while done.load(std::sync::atomic::Ordering::Relaxed) < n {
            std::thread::yield_now();
        }
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (w, stop, done) = (Arc::clone(&w), Arc::clone(&stop), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // inbox:read is allowed by every version swapped in below.
                    w.palisade
                        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
                        .unwrap();
                    n += 1;
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                n
            })
        })
        .collect();
    wait_for(10);
    for i in 0..20 {
        let seen = done.load(std::sync::atomic::Ordering::Relaxed);
        let extra = if i % 2 == 0 {
            ""
        } else {
            "\n[[denies]]\npermissions = [\"knowledge:read\"]\nscope = \"ACME\"\n"
        };
        let text = format!(
            "{}{}",
            policy(w.acme, w.globex),
            extra.replace("ACME", &w.acme.to_string())
        );
        w.palisade.swap_policy(&text, at(1)).unwrap();
        wait_for(seen + 2); // requests keep flowing across every swap
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: u32 = workers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(
        total >= 50,
        "requests kept flowing across the swaps: {total}"
    );
    assert_eq!(w.palisade.policy_version(), 21);
}

/// A sink that refuses every append.
struct Broken;

impl AuditSink for Broken {
    fn append(&mut self, _: &Record<'_>) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
    fn checkpoint(&mut self, _: &Checkpoint) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
    fn commit(&mut self) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
    fn export(&mut self, _: TenantId, _: &mut dyn std::io::Write) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
}

struct BrokenSinks;

impl SinkFactory for BrokenSinks {
    fn open(&self, _: TenantId) -> Result<(Box<dyn AuditSink>, Resume), AuditError> {
        Ok((Box::new(Broken), Resume::default()))
    }
}

#[test]
fn no_audit_record_no_access() {
    let acme = TenantId::new_v7();
    let palisade = Palisade::builder(PalisadeConfig::default())
        .policy_toml(&policy(acme, TenantId::new_v7()))
        .audit_sinks(Box::new(BrokenSinks))
        .build()
        .unwrap();
    let new = NewKey::new(Scope::tenant(acme), "k")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["inbox:*"])
        .unwrap();
    let key = palisade.keys_unchecked().issue(new, at(0)).unwrap();
    let d = palisade
        .authorize(&key_req(key.expose_secret(), "inbox:read", at(1)))
        .unwrap_err();
    assert_eq!((d.reason(), d.kind().status()), (DenyReason::Internal, 503));
    assert!(d.explain().contains("audit"), "{}", d.explain());
    // Denials stay denials, with the failure noted for the log.
    let d = palisade
        .authorize(&key_req(key.expose_secret(), "billing:read", at(2)))
        .unwrap_err();
    assert_eq!(d.reason(), DenyReason::NotPermitted);
    assert!(d.explain().contains("audit record failed"));
    // No grant without its audit record.
    let sam = Principal::staff("sam").unwrap();
    let e = palisade.break_glass(
        &sam,
        Scope::tenant(acme),
        &["inbox:read"],
        "ticket 99 investigation",
        Duration::from_secs(60),
        at(3),
    );
    assert!(matches!(
        e,
        Err(PalisadeError::Component {
            component: "audit",
            ..
        })
    ));
}

#[test]
fn secrets_and_files_from_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let pepper = write("pepper", &format!("{}\n", "ab".repeat(32)));
    let keyring = write(
        "keyring",
        &format!(
            "palisade-keyring v1\nkek main 1 {}\nprimary main 1\n",
            "cd".repeat(32)
        ),
    );
    let audit_key = write("audit_key", &"ef".repeat(32));
    let policy_file = write(
        "policy.toml",
        "version = 1\npermissions = [\"inbox:read\"]\n",
    );
    let audit_dir = dir.path().join("audit").to_string_lossy().into_owned();
    let text = format!(
        r#"
        policy_path = "{policy_file}"
        audit_dir = "{audit_dir}"
        [secrets]
        peppers = [{{ version = 3, source = {{ file = "{pepper}" }} }}]
        keyring = {{ file = "{keyring}" }}
        audit_signing_key = {{ id = "audit-2026", source = {{ file = "{audit_key}" }} }}
    "#
    );
    let cfg = PalisadeConfig::from_toml_str(&text).unwrap();
    let p = Palisade::builder(cfg.clone()).build().unwrap();
    let t = TenantId::new_v7();
    let key = p
        .keys_unchecked()
        .issue(
            NewKey::new(Scope::tenant(t), "k")
                .scopes(["inbox:read"])
                .unwrap(),
            at(0),
        )
        .unwrap();
    assert_eq!(key.record().hash.pepper_version(), Some(3));
    // Denied (the policy binds nobody) but audited into audit_dir, signed by `audit-2026`.
    assert!(
        p.authorize(&key_req(key.expose_secret(), "inbox:read", at(1)))
            .is_err()
    );
    let export = String::from_utf8(p.export_audit(t, at(2)).unwrap()).unwrap();
    assert!(export.contains("audit-2026"));
    assert!(std::fs::read_dir(&audit_dir).unwrap().count() >= 1);

    // Errors name what to fix and never print the secret.
    let mut bad = cfg.clone();
    bad.secrets.peppers[0].source = palisade::SecretSource::File(write("short", "abcd"));
    let e = Palisade::builder(bad).build().unwrap_err();
    assert!(matches!(e, PalisadeError::Secret { .. }), "{e}");
    let mut bad = cfg.clone();
    bad.secrets.peppers[0].source = palisade::SecretSource::File(write("nothex", &"zz".repeat(32)));
    assert!(
        Palisade::builder(bad)
            .build()
            .unwrap_err()
            .to_string()
            .contains("not hexadecimal")
    );
    let mut bad = cfg.clone();
    bad.secrets.peppers[0].source =
        palisade::SecretSource::Env("PALISADE_TEST_SURELY_UNSET_PEPPER".into());
    assert!(
        Palisade::builder(bad)
            .build()
            .unwrap_err()
            .to_string()
            .contains("not set")
    );
    let mut bad = cfg.clone();
    bad.secrets.keyring = Some(palisade::SecretSource::File(write(
        "badring",
        "not a keyring",
    )));
    assert!(matches!(
        Palisade::builder(bad).build(),
        Err(PalisadeError::Component {
            component: "envelope",
            ..
        })
    ));
    let mut bad = cfg.clone();
    bad.policy_path = Some(
        dir.path()
            .join("missing.toml")
            .to_string_lossy()
            .into_owned(),
    );
    assert!(matches!(
        Palisade::builder(bad).build(),
        Err(PalisadeError::Io { .. })
    ));
    let mut bad = cfg;
    bad.secrets.keyring = Some(palisade::SecretSource::File(
        dir.path().join("nope").to_string_lossy().into_owned(),
    ));
    assert!(matches!(
        Palisade::builder(bad).build(),
        Err(PalisadeError::Io { .. })
    ));
}

#[test]
fn audit_signer_rotation_keeps_old_checkpoints_verifiable() {
    use palisade::audit::{CheckpointSigner, KeyId};
    let w = world();
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
            .is_ok()
    );
    w.palisade.audit_log().checkpoint(w.acme, at(2)).unwrap();
    let next = CheckpointSigner::generate_ed25519(KeyId::new("audit-2027").unwrap()).unwrap();
    w.palisade.rotate_audit_signer(next).unwrap();
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:read", at(3)))
            .is_ok()
    );
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 2);
    assert!(
        text.contains("\"key_id\":\"ephemeral\"") && text.contains("\"key_id\":\"audit-2027\"")
    );
    // A verifier without the new key rejects the new checkpoint.
    let export = w.palisade.export_audit(w.acme, at(4)).unwrap();
    let old_only = palisade::audit::Keyring::new();
    assert!(!palisade::audit::verify(&export, &old_only, w.acme).is_ok());
    // A second instance accepts it once told the public key.
    let other = world();
    let signer = CheckpointSigner::generate_ed25519(KeyId::new("k9").unwrap()).unwrap();
    other
        .palisade
        .add_audit_verify_key(KeyId::new("k9").unwrap(), signer.verify_key())
        .unwrap();
}

#[test]
fn builder_options_and_sharing() {
    let p = Palisade::builder(PalisadeConfig::default())
        .key_prefix("acme")
        .build()
        .unwrap();
    let t = TenantId::new_v7();
    let k = p
        .keys_unchecked()
        .issue(
            NewKey::new(Scope::tenant(t), "k").scopes(["x:y"]).unwrap(),
            at(0),
        )
        .unwrap();
    assert!(k.expose_secret().starts_with("acme_"));
    // No policy: everything is denied, but still audited.
    let shared = p.clone();
    let h = std::thread::spawn(move || {
        shared
            .authorize(&key_req(k.expose_secret(), "x:y", at(1)))
            .is_err()
    });
    assert!(h.join().unwrap());
    assert_eq!(
        p.verify_audit(t, &p.export_audit(t, at(2)).unwrap())
            .records,
        1
    );
    assert!(format!("{p:?}").contains("policy_version"));
    let mut cfg = PalisadeConfig::default();
    cfg.rate_limits.default_plan = "missing".into();
    assert!(matches!(
        Palisade::builder(cfg).build(),
        Err(PalisadeError::Config { .. })
    ));
}

/// A restart with a new audit signing key continues the tenants' files that
/// the old key signed once the old key is added with
/// `add_audit_verify_key` (the log's own keyring checks stored checkpoints
/// on resume); without it the resume is refused and nothing is appended.
#[test]
fn restart_with_rotated_audit_key_resumes_after_add_audit_verify_key() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let pepper = write("pepper", &"ab".repeat(32));
    let old_key = write("old_key", &"ef".repeat(32));
    let new_key = write("new_key", &"12".repeat(32));
    let policy_file = write(
        "policy.toml",
        "version = 1\npermissions = [\"inbox:read\"]\n",
    );
    let audit_dir = dir.path().join("audit").to_string_lossy().into_owned();
    let config = |key_id: &str, key_file: &str| {
        PalisadeConfig::from_toml_str(&format!(
            r#"
            policy_path = "{policy_file}"
            audit_dir = "{audit_dir}"
            [secrets]
            peppers = [{{ version = 1, source = {{ file = "{pepper}" }} }}]
            audit_signing_key = {{ id = "{key_id}", source = {{ file = "{key_file}" }} }}
        "#
        ))
        .unwrap()
    };
    let t = TenantId::new_v7();
    let touch = |p: &Palisade, ms: i64| {
        let key = p
            .keys_unchecked()
            .issue(
                NewKey::new(Scope::tenant(t), "k")
                    .scopes(["inbox:read"])
                    .unwrap(),
                at(ms),
            )
            .unwrap();
        // Denied by the policy (it binds nobody), recorded in t's log.
        let _ = p.authorize(&key_req(key.expose_secret(), "inbox:read", at(ms + 1)));
        p.export_audit(t, at(ms + 2))
    };

    let first = Palisade::builder(config("audit-2026", &old_key))
        .build()
        .unwrap();
    touch(&first, 0).unwrap();
    drop(first);

    // New signing key, old key not given: the stored log is not continued.
    let refused = Palisade::builder(config("audit-2027", &new_key))
        .build()
        .unwrap();
    assert!(touch(&refused, 10).is_err());
    drop(refused);

    // New signing key plus the old one as a verify key: resumed, both
    // signers' checkpoints in one export that verifies.
    let second = Palisade::builder(config("audit-2027", &new_key))
        .build()
        .unwrap();
    second
        .add_audit_verify_key(
            palisade::audit::KeyId::new("audit-2026").unwrap(),
            // The configured signing key is an Ed25519 seed: its public key.
            palisade::audit::CheckpointSigner::ed25519(
                palisade::audit::KeyId::new("audit-2026").unwrap(),
                &[0xef; 32],
            )
            .verify_key(),
        )
        .unwrap();
    let export = touch(&second, 20).unwrap();
    let text = String::from_utf8(export.clone()).unwrap();
    assert!(text.contains("audit-2026") && text.contains("audit-2027"));
    let report = second.verify_audit(t, &export);
    assert!(report.is_ok(), "{:?}", report.problem);
}

/// Every checkpoint the facade's log signs reaches the host's publisher
/// (`PalisadeBuilder::audit_publisher`), and the published copies are what
/// `palisade-audit`'s verifier checks an export against.
#[test]
fn audit_publisher_receives_every_signed_checkpoint() {
    use palisade::audit::{CheckpointPublisher, CheckpointSigner, KeyId, Keyring, VerifyOptions};
    #[derive(Default)]
    struct Collect(std::sync::Mutex<Vec<Checkpoint>>);
    impl CheckpointPublisher for Collect {
        fn publish(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
            self.0.lock().unwrap().push(checkpoint.clone());
            Ok(())
        }
    }
    let id = KeyId::new("audit-pub").unwrap();
    let signer = || CheckpointSigner::hmac(id.clone(), &[7; 32]).unwrap();
    let published = Arc::new(Collect::default());
    let t = TenantId::new_v7();
    let p = Palisade::builder(PalisadeConfig::default())
        .policy_toml("version = 1\npermissions = [\"inbox:read\"]\n")
        .audit_signer(signer())
        .audit_publisher(published.clone())
        .at(at(0))
        .build()
        .unwrap();
    let key = p
        .keys_unchecked()
        .issue(
            NewKey::new(Scope::tenant(t), "k")
                .scopes(["inbox:read"])
                .unwrap(),
            at(0),
        )
        .unwrap();
    let _ = p.authorize(&key_req(key.expose_secret(), "inbox:read", at(1)));
    let export = p.export_audit(t, at(2)).unwrap();
    let seen = published.0.lock().unwrap().clone();
    assert!(!seen.is_empty(), "no checkpoint was published");
    let keys = Keyring::new()
        .with(id.clone(), signer().verify_key())
        .unwrap();
    let mut opts = VerifyOptions::new(t);
    opts.published = seen;
    let report = palisade::audit::verify_with(&export, &keys, &opts);
    assert!(report.is_ok(), "{:?}", report.problem);
}
