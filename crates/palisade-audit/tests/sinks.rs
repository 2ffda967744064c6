//! File sink (resume, torn tail recovery, group commit), the shared
//! multi-tenant handle, key rotation, redaction and commitments.

mod common;

use common::*;
use palisade_audit::*;
use palisade_tenancy::Timestamp;
use std::sync::Arc;

fn now(i: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + 10_000_000 + i)
}

#[test]
fn file_sink_resumes_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let t = tenant(1);
    let signer = Arc::new(hmac_signer("k1"));
    let keys = keyring_for(&[&signer]);
    let (sink, state) = JsonlFileSink::open(&path, t, FsyncPolicy::EveryRecords(3)).unwrap();
    assert!(state.leaves.is_empty());
    let mut log =
        TenantLog::new(t, Box::new(sink), Arc::clone(&signer)).with_policy(CheckpointPolicy {
            every_records: 4,
            every_millis: 0,
        });
    for i in 0..10 {
        assert_eq!(log.append(sample_event(t, i)).unwrap().index, i);
    }
    log.commit().unwrap();
    let root10 = log.root(10).unwrap();
    drop(log);

    // Reopen: the tree continues where it stopped.
    let (sink, state) = JsonlFileSink::open(&path, t, FsyncPolicy::AtCheckpoints).unwrap();
    assert_eq!(state.leaves.len(), 10);
    assert_eq!(state.last_checkpoint.as_ref().unwrap().size(), 8);
    let mut log = TenantLog::resume(t, Box::new(sink), signer, state).unwrap();
    assert_eq!(log.root(10).unwrap(), root10);
    assert_eq!(log.append(sample_event(t, 10)).unwrap().index, 10);
    let mut out = Vec::new();
    log.export(now(0), &mut out).unwrap();
    let r = verify(&out, &keys, tenant(1));
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!((r.records, r.signed_size), (11, 11));
    // The live file is the export.
    assert_eq!(std::fs::read(&path).unwrap(), out);
}

#[test]
fn torn_tail_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let t = tenant(1);
    let (out, _, _) = build_export(5, 2);
    let mut data = out.clone();
    data.extend_from_slice(b"{\"record\":{\"index\":5,\"leaf");
    std::fs::write(&path, &data).unwrap();
    assert!(matches!(
        JsonlFileSink::open(&path, t, FsyncPolicy::Never),
        Err(AuditError::TornTail { .. })
    ));
    let (_, state, torn) = JsonlFileSink::open_recovering(&path, t, FsyncPolicy::Never).unwrap();
    assert_eq!(
        torn,
        Some(TornTail {
            offset: out.len() as u64,
            len: 26
        })
    );
    assert_eq!(state.leaves.len(), 5);
    assert_eq!(std::fs::read(&path).unwrap(), out);
    let (_, _, none) = JsonlFileSink::open_recovering(&path, t, FsyncPolicy::Never).unwrap();
    assert_eq!(none, None);
}

#[test]
fn shared_log_across_threads_and_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let factory = JsonlDir::new(dir.path(), FsyncPolicy::default());
    let paths: Vec<_> = (1..=3).map(|n| factory.path_of(tenant(n))).collect();
    let signer = hmac_signer("k1");
    let keys = keyring_for(&[&signer]);
    let log = Arc::new(
        AuditLog::new(Box::new(factory), signer).with_policy(CheckpointPolicy {
            every_records: 50,
            every_millis: 0,
        }),
    );
    std::thread::scope(|s| {
        for th in 0..4u64 {
            let log = Arc::clone(&log);
            s.spawn(move || {
                for i in 0..60 {
                    let t = tenant(1 + ((th + i) % 3) as u8);
                    log.append(sample_event(t, th * 1000 + i)).unwrap();
                }
            });
        }
    });
    log.tick(now(0)).unwrap();
    let mut total = 0;
    for (n, path) in (1..=3).zip(&paths) {
        let mut out = Vec::new();
        log.export(tenant(n), now(1), &mut out).unwrap();
        let r = verify(&out, &keys, tenant(n));
        assert!(r.is_ok(), "{:?}", r.problem);
        assert_eq!(r.tenant, Some(tenant(n)));
        assert_eq!(std::fs::read(path).unwrap(), out);
        total += r.records;
    }
    assert_eq!(total, 240);
}

#[test]
fn key_rotation_needs_both_keys() {
    let old = hmac_signer("audit-hmac-v1");
    let new = CheckpointSigner::generate_ed25519(KeyId::new("audit-ed25519-v2").unwrap()).unwrap();
    let both = keyring_for(&[&old, &new]);
    let only_new = keyring_for(&[&new]);
    let log = AuditLog::new(Box::new(MemorySinks), old);
    let t = tenant(1);
    log.append(sample_event(t, 0)).unwrap();
    let cp1 = log.checkpoint(t, now(0)).unwrap();
    log.rotate_signer(new).unwrap();
    log.append(sample_event(t, 1)).unwrap();
    let cp2 = log.checkpoint(t, now(1)).unwrap();
    assert_eq!(cp1.key_id().as_str(), "audit-hmac-v1");
    assert_eq!(
        (cp2.key_id().as_str(), cp2.algorithm()),
        ("audit-ed25519-v2", Algorithm::Ed25519)
    );
    assert_eq!(cp2.prev(), &cp1.chain_hash());
    assert_eq!(cp2.check_signature(&only_new), SignatureCheck::Valid);
    let mut out = Vec::new();
    log.export(t, now(2), &mut out).unwrap();
    assert!(verify(&out, &both, tenant(1)).is_ok());
    let f = verify(&out, &only_new, tenant(1)).problem.unwrap();
    assert_eq!(
        f.problem,
        Problem::UnknownKey {
            key_id: "audit-hmac-v1".into()
        }
    );
}

#[test]
fn time_policy_and_tick_sign_checkpoints() {
    let t = tenant(1);
    let at = |ms| Timestamp::from_unix_millis(T0 + ms);
    let mut log = TenantLog::new(t, Box::new(MemorySink::new()), Arc::new(hmac_signer("k")))
        .with_policy(CheckpointPolicy {
            every_records: 0,
            every_millis: 1000,
        });
    assert!(log.tick(at(5000)).unwrap().is_none(), "nothing to sign");
    log.append(sample_event(t, 0)).unwrap(); // time T0
    log.append(sample_event(t, 1)).unwrap(); // T0 + 10 ms: not due
    assert!(log.last_checkpoint().is_none());
    assert!(log.tick(at(999)).unwrap().is_none());
    assert_eq!(log.tick(at(1000)).unwrap().unwrap().size(), 2);
    assert!(log.tick(at(5000)).unwrap().is_none(), "nothing pending");
    // An append more than T after the first pending record signs by itself.
    log.append(sample_event(t, 200)).unwrap(); // T0 + 2000
    log.append(sample_event(t, 300)).unwrap(); // T0 + 3000
    assert_eq!(log.last_checkpoint().unwrap().size(), 4);
}

#[test]
fn secrets_and_prompts_are_redacted_by_default() {
    let t = tenant(1);
    let signer = hmac_signer("k1");
    let keys = keyring_for(&[&signer]);
    let log = AuditLog::new(Box::new(MemorySinks), signer);
    let (c, opening) = Commitment::commit(b"carol@example.com").unwrap();
    let e = sample_event(t, 0)
        .with_detail("api_token", DetailValue::Str("sk_live_abc".into()))
        .unwrap()
        .with_detail(
            "prompt_text",
            DetailValue::Str("tell me the secret plan".into()),
        )
        .unwrap()
        .with_detail("session_id", DetailValue::Int(424242))
        .unwrap()
        .with_detail("email", DetailValue::Commitment(c))
        .unwrap();
    log.append(e).unwrap();
    let mut out = Vec::new();
    log.export(t, now(0), &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    for leaked in ["sk_live_abc", "secret plan", "424242", "carol@"] {
        assert!(!text.contains(leaked), "{leaked} leaked");
    }
    assert!(text.contains("\"api_token\":{\"str\":\"[redacted]\"}"));
    assert!(text.contains(&hex::encode(c.as_bytes())));
    assert!(verify(&out, &keys, tenant(1)).is_ok());
    // The opening (kept elsewhere, erasable) opens the commitment; nothing else does.
    assert!(opening.opens(&c));
    assert!(!Opening::from_parts(*opening.salt(), b"bob@example.com").opens(&c));
    assert_eq!(format!("{opening:?}"), "Opening(<redacted>)");
}

#[test]
fn secret_bearing_keys_and_credential_values_are_masked() {
    let t = tenant(1);
    let mut log = TenantLog::new(t, Box::new(MemorySink::new()), Arc::new(hmac_signer("k")));
    let pal = format!(
        "pal_live_1Kx7Pq2Zr9TbW4mNc{}",
        "abcdefghijKLMNOPQRST".repeat(2)
    );
    let masked_keys = [
        ("x-api-key", "v-xapikey"),
        ("api.key", "v-apidotkey"),
        ("openai_key", "v-openai"),
        ("bearer", "v-bearer"),
        ("auth_header", "v-authheader"),
        ("passphrase", "v-passphrase"),
        ("jwt", "v-jwt"),
    ];
    let masked_values = [
        ("note_a", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
        ("note_b", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"),
        ("note_c", pal.as_str()),
    ];
    let mut e = sample_event(t, 1);
    for (k, v) in masked_keys.iter().chain(&masked_values) {
        e = e.with_detail(k, DetailValue::Str((*v).into())).unwrap();
    }
    e = e
        .with_detail("key_id", DetailValue::Str("k7f3a9c2".into()))
        .unwrap()
        .with_detail("monkey", DetailValue::Str("bonobo".into()))
        .unwrap();
    log.append(e).unwrap();
    let mut out = Vec::new();
    log.export(now(0), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for (k, v) in masked_keys.iter().chain(&masked_values) {
        assert!(!text.contains(v), "{k}: {v} leaked");
        assert!(
            text.contains(&format!("\"{k}\":{{\"str\":\"[redacted]\"}}")),
            "{k} not masked"
        );
    }
    for kept in [
        "\"key_id\":{\"str\":\"k7f3a9c2\"}",
        "bonobo",
        "enterprise-annual-2026",
    ] {
        assert!(text.contains(kept), "{kept} lost");
    }
}

struct DropEmails;
impl Redactor for DropEmails {
    fn redact(&self, key: &str, value: &DetailValue) -> Redaction {
        match DefaultRedactor.redact(key, value) {
            Redaction::Keep if key.contains("email") => Redaction::Drop,
            other => other,
        }
    }
}

#[test]
fn custom_redactor_extends_the_default() {
    let t = tenant(1);
    let mut log = TenantLog::new(t, Box::new(MemorySink::new()), Arc::new(hmac_signer("k")))
        .with_redactor(Arc::new(DropEmails));
    let e = sample_event(t, 0)
        .with_detail("email", DetailValue::Str("a@b.c".into()))
        .unwrap()
        .with_detail("password", DetailValue::Str("hunter2".into()))
        .unwrap();
    log.append(e).unwrap();
    let mut out = Vec::new();
    log.export(now(0), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("a@b.c") && !text.contains("\"email\"") && !text.contains("hunter2"));
}

#[test]
fn debug_output_never_shows_key_material() {
    let s = CheckpointSigner::hmac(KeyId::new("k").unwrap(), &[0xab; 32]).unwrap();
    assert!(!format!("{s:?}").contains("abab"));
    assert!(!format!("{:?}", s.verify_key()).contains("abab"));
}
