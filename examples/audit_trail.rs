//! A day in the audit trail of one tenant: record its events into a JSON
//! Lines file, export, verify offline, then tamper with one line and show
//! what the verifier reports.
//!
//! Run: `cargo run --example audit_trail`

use palisade_audit::{
    Actor, AuditEvent, AuditLog, CheckpointPolicy, CheckpointSigner, DetailValue, FsyncPolicy,
    JsonlDir, KeyId, Keyring, Outcome, RequestFacts, Resource, verify,
};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let acme = TenantId::new_v7();
    let project = ProjectId::new_v7();

    // Ed25519 so that the tenant (a third party) can verify without our secret.
    let signer = CheckpointSigner::generate_ed25519(KeyId::new("audit-ed25519-2026-11")?)?;
    let keys = Keyring::new().with(signer.key_id().clone(), signer.verify_key())?;
    let public = signer
        .verify_key()
        .ed25519_public_bytes()
        .map(hex::encode)
        .unwrap_or_default();
    let log = AuditLog::new(
        Box::new(JsonlDir::new(dir.path(), FsyncPolicy::default())),
        signer,
    )
    .with_policy(CheckpointPolicy {
        every_records: 500,
        every_millis: 3_600_000,
    });

    // One day: a request every ~36 s from users, an API key, a service, and one staff access.
    let start: Timestamp = "2026-11-23T00:00:00Z".parse()?;
    let actors = [
        Actor::new(Principal::user("alice@acme.example")?)?,
        Actor::new(Principal::api_key("k7f3a9c2")?)?,
        Actor::new(Principal::service("billing-sync")?)?,
        Actor::with_reason(
            Principal::staff("bob")?,
            "support ticket 4711: invoice totals",
        )?,
    ];
    let n = 2400u64;
    for i in 0..n {
        let now = start.saturating_add(std::time::Duration::from_secs(i * 36));
        let pick = if i == 1200 { 3 } else { (i % 3) as usize };
        let actor = actors.get(pick).ok_or("no such actor")?.clone();
        let denied = i % 17 == 0;
        let event = AuditEvent::new(
            now,
            Scope::project(acme, project),
            actor,
            if i % 5 == 0 {
                "billing.update"
            } else {
                "invoice.read"
            },
            Resource::new("invoice", &format!("inv_{}", i % 97))?,
            if denied {
                Outcome::Denied
            } else {
                Outcome::Allowed
            },
        )?
        .with_reason(if denied {
            "no grant for billing:update"
        } else {
            "role billing-viewer"
        })?
        .with_request(
            RequestFacts::new()
                .ip("203.0.113.7".parse()?)
                .user_agent("acme-cli/2.1")
                .request_id(&format!("req-{i}"))?,
        )
        // Redacted by default: this never reaches the file.
        .with_detail(
            "authorization",
            DetailValue::Str("Bearer sk_live_do_not_log".into()),
        )?;
        log.append(event)?;
    }
    let end = start.saturating_add_days(1);
    let mut export = Vec::new();
    log.export(acme, end, &mut export)?;
    let path = dir.path().join("acme-export.jsonl");
    std::fs::write(&path, &export)?;

    let report = verify(&export, &keys, acme);
    println!("exported {} records, {} bytes", n, export.len());
    println!(
        "verify: ok={} records={} checkpoints={} signed_size={}",
        report.is_ok(),
        report.records,
        report.checkpoints,
        report.signed_size
    );
    assert!(report.is_ok());
    assert!(!String::from_utf8_lossy(&export).contains("sk_live"));

    // Tamper: turn one denied request into an allowed one (record 1003 = 59 × 17 was denied).
    let text = String::from_utf8(export)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let victim = lines
        .iter_mut()
        .find(|l| l.contains("\"index\":1003,"))
        .ok_or("record 1003 not found")?;
    *victim = victim.replacen("\"status\":\"denied\"", "\"status\":\"allowed\"", 1);
    let tampered = lines.join("\n") + "\n";
    let report = verify(tampered.as_bytes(), &keys, acme);
    match &report.problem {
        Some(f) => println!("tampered export: {f}"),
        None => println!("tampered export: NOT detected (this is a bug)"),
    }
    assert!(!report.is_ok());

    // The same check from the command line, without writing Rust (this
    // example's temporary directory is removed when it exits):
    println!(
        "\nan auditor would run:\n  cargo run -p palisade-audit -- verify {} --ed25519-public-key audit-ed25519-2026-11={public}",
        path.display()
    );
    Ok(())
}
