//! The worked example of `docs/audit-format.md` §9: fixed inputs, exact bytes.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions: a failure here is the test failing"
)]

use palisade_audit::*;
use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};
use std::sync::Arc;

fn example_event() -> AuditEvent {
    let tenant = TenantId::from_bytes([0x11; 16]);
    let (commitment, opening) = (
        Opening::from_parts([0x5a; 32], b"alice@example.com").commitment(),
        Opening::from_parts([0x5a; 32], b"alice@example.com"),
    );
    assert!(opening.opens(&commitment));
    AuditEvent::with_id(
        uuid::Uuid::parse_str("01935c9e-0a00-7000-8000-000000000001").unwrap(),
        "2026-11-23T12:00:00Z".parse::<Timestamp>().unwrap(),
        Scope::tenant(tenant),
        Actor::with_reason(Principal::staff("bob").unwrap(), "support ticket 4711").unwrap(),
        "billing.update",
        Resource::new("invoice", "inv_42").unwrap(),
        Outcome::Denied,
    )
    .unwrap()
    .with_reason("no grant for billing:update")
    .unwrap()
    .with_request(
        RequestFacts::new()
            .ip("203.0.113.7".parse().unwrap())
            .user_agent("curl/8.5.0")
            .request_id("req-1")
            .unwrap(),
    )
    .with_detail("amount_cents", DetailValue::Int(1299))
    .unwrap()
    .with_detail("email", DetailValue::Commitment(commitment))
    .unwrap()
}

const CANONICAL: &str = "01000000000000000001935c9e0a0070008000000000000001000001a20846fe0012015411111111111111111111111111111111000973746166663a626f62010013737570706f7274207469636b65742034373131000e62696c6c696e672e7570646174650007696e766f6963650006696e765f343201001b6e6f206772616e7420666f722062696c6c696e673a75706461746504cb00710701000a6375726c2f382e352e300100057265712d3102000c616d6f756e745f63656e74730200000000000005130005656d61696c048d117875dbdff27b01c18d1925ae375864b111a7b03b90338e0122018c6424a0";
const LEAF: &str = "e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50";
const COMMITMENT: &str = "8d117875dbdff27b01c18d1925ae375864b111a7b03b90338e0122018c6424a0";
const HMAC_BODY: &str = "70616c69736164652d617564697420636865636b706f696e740001010d61756469742d686d61632d7631111111111111111111111111111111110000000000000001e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50000001a2084701e80000000000000000000000000000000000000000000000000000000000000000";
const HMAC_TAG: &str = "5162d4e79aa79fdb31e7709f05b5fb641b79e2832376cc84b33c2af6d8d71197";
const ED_BODY: &str = "70616c69736164652d617564697420636865636b706f696e740001021061756469742d656432353531392d7631111111111111111111111111111111110000000000000001e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50000001a2084701e80000000000000000000000000000000000000000000000000000000000000000";
const ED_SIG: &str = "83d5f22370e6df94b03a34252ad5a1701f27a88dfd2896763f29a9fc26d60c4b5a79dfd5a8391efaa7243ae4e16b58e827fe1c980e9a92d5a7e53c46c9be5c0e";
const EXPORT: &str = r#"{"header":{"format":"palisade-audit-export","version":2,"tenant":"ten_0h248h248h248h248h248h248h"}}
{"record":{"index":0,"leaf_hash":"e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50","mac":"58ca6afdd3446282071d9267475f1d728281de42818f4f6f7934454cbf24d3ff","event":{"uid":"01935c9e-0a00-7000-8000-000000000001","time":"2026-11-23T12:00:00Z","scope":"ten_0h248h248h248h248h248h248h","actor":{"principal":"staff:bob","reason":"support ticket 4711"},"action":"billing.update","resource":{"type":"invoice","uid":"inv_42"},"status":"denied","status_detail":"no grant for billing:update","request":{"src_ip":"203.0.113.7","user_agent":"curl/8.5.0","uid":"req-1"},"details":{"amount_cents":{"int":1299},"email":{"commitment":"8d117875dbdff27b01c18d1925ae375864b111a7b03b90338e0122018c6424a0"}}}}}
{"checkpoint":{"tenant":"ten_0h248h248h248h248h248h248h","size":1,"root":"e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50","time":"2026-11-23T12:00:01Z","prev":"0000000000000000000000000000000000000000000000000000000000000000","key_id":"audit-hmac-v1","alg":"hmac-sha256","sig":"5162d4e79aa79fdb31e7709f05b5fb641b79e2832376cc84b33c2af6d8d71197"}}
"#;
/// The same log exported in format version 1 (no record MACs): still verified.
const EXPORT_V1: &str = r#"{"header":{"format":"palisade-audit-export","version":1,"tenant":"ten_0h248h248h248h248h248h248h"}}
{"record":{"index":0,"leaf_hash":"e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50","event":{"uid":"01935c9e-0a00-7000-8000-000000000001","time":"2026-11-23T12:00:00Z","scope":"ten_0h248h248h248h248h248h248h","actor":{"principal":"staff:bob","reason":"support ticket 4711"},"action":"billing.update","resource":{"type":"invoice","uid":"inv_42"},"status":"denied","status_detail":"no grant for billing:update","request":{"src_ip":"203.0.113.7","user_agent":"curl/8.5.0","uid":"req-1"},"details":{"amount_cents":{"int":1299},"email":{"commitment":"8d117875dbdff27b01c18d1925ae375864b111a7b03b90338e0122018c6424a0"}}}}}
{"checkpoint":{"tenant":"ten_0h248h248h248h248h248h248h","size":1,"root":"e2d9753e402855fd83217e0a75ab3438595464ca53724a176c3f928a07b70c50","time":"2026-11-23T12:00:01Z","prev":"0000000000000000000000000000000000000000000000000000000000000000","key_id":"audit-hmac-v1","alg":"hmac-sha256","sig":"5162d4e79aa79fdb31e7709f05b5fb641b79e2832376cc84b33c2af6d8d71197"}}
"#;
/// Record MAC key and the record's MAC (`docs/audit-format.md` §8),
/// cross-checked with Python's `hmac`.
const MAC_KEY: &str = "042989f6fc3858f136cf447082aea22b91285c730e7e9d6c8fcacd8da2384b05";
const RECORD_MAC: &str = "58ca6afdd3446282071d9267475f1d728281de42818f4f6f7934454cbf24d3ff";

fn seed() -> [u8; 32] {
    hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn worked_example() {
    let e = example_event();
    let mut bytes = Vec::new();
    encode_record(0, &e, &mut bytes);
    let leaf = leaf_hash(&bytes);
    let DetailValue::Commitment(c) = e.details()["email"] else {
        panic!("email is a commitment")
    };
    let t = e.scope().tenant_id();
    let at: Timestamp = "2026-11-23T12:00:01Z".parse().unwrap();
    let hmac = CheckpointSigner::hmac(KeyId::new("audit-hmac-v1").unwrap(), &[0x0b; 32]).unwrap();
    let ed = CheckpointSigner::ed25519(KeyId::new("audit-ed25519-v1").unwrap(), &seed());
    let cp_h = Checkpoint::sign(&hmac, t, 1, leaf, at, [0; 32]);
    let cp_e = Checkpoint::sign(&ed, t, 1, leaf, at, [0; 32]);
    let keys = Keyring::new()
        .with(hmac.key_id().clone(), hmac.verify_key())
        .unwrap();
    let mut log = TenantLog::new(t, Box::new(MemorySink::new()), Arc::new(hmac));
    assert_eq!(log.append(e).unwrap().leaf_hash, leaf);
    let mut export = Vec::new();
    log.export(at, &mut export).unwrap();
    assert!(verify(&export, &keys, t).is_ok());
    assert!(verify(EXPORT_V1.as_bytes(), &keys, t).is_ok());
    let got = [
        hex::encode(&bytes),
        hex::encode(leaf),
        hex::encode(c.as_bytes()),
        hex::encode(cp_h.body()),
        hex::encode(cp_h.signature()),
        hex::encode(cp_e.body()),
        hex::encode(cp_e.signature()),
        String::from_utf8(export).unwrap(),
    ];
    let want = [
        CANONICAL, LEAF, COMMITMENT, HMAC_BODY, HMAC_TAG, ED_BODY, ED_SIG, EXPORT,
    ];
    assert_eq!(got, want);
}

/// The doc's §9 shows the same bytes.
#[test]
fn doc_matches() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/audit-format.md"
    ))
    .unwrap();
    for v in [LEAF, COMMITMENT, HMAC_TAG, ED_SIG, MAC_KEY, RECORD_MAC] {
        assert!(doc.contains(v), "{v}");
    }
    for line in EXPORT.lines() {
        assert!(doc.contains(line), "{line}");
    }
    // Canonical record and HMAC body: the annotated blocks, hex tokens joined.
    let block = |after: &str| -> String {
        let start = doc.find(after).unwrap();
        let body = &doc[start..];
        let open = body.find("```\n").unwrap() + 4;
        let close = open + body[open..].find("```").unwrap();
        body[open..close]
            .lines()
            .flat_map(|l| {
                l.split_whitespace()
                    .take_while(|t| t.chars().all(|c| c.is_ascii_hexdigit()))
            })
            .collect()
    };
    assert_eq!(block("Canonical record ("), CANONICAL);
    assert_eq!(block("key id `audit-hmac-v1`; body"), HMAC_BODY);
    assert!(doc.contains(&format!("Canonical record ({} bytes)", CANONICAL.len() / 2)));
}

/// The doc's §1 redaction rules name every word the default redactor uses,
/// and its examples behave as the doc says.
#[test]
fn doc_lists_the_redaction_rules() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/audit-format.md"
    ))
    .unwrap();
    let start = doc.find("**Redaction by default.**").unwrap();
    let end = doc.find("**Salted commitments.**").unwrap();
    let section = &doc[start..end];
    for list in [
        DefaultRedactor::SENSITIVE,
        DefaultRedactor::SENSITIVE_TOKENS,
        DefaultRedactor::PUBLIC_QUALIFIERS,
        DefaultRedactor::CREDENTIAL_PREFIXES,
    ] {
        for w in list {
            assert!(section.contains(&format!("`{w}`")), "`{w}` not in the doc");
        }
    }
    let examples = |after: &str, before: &str| -> Vec<String> {
        let s = &section[section.find(after).unwrap()..];
        let s = &s[..s.find(before).unwrap()];
        s.split('`').skip(1).step_by(2).map(str::to_owned).collect()
    };
    let masked = examples("So `", " are masked");
    let kept = examples("are masked;", " are kept");
    assert!(masked.len() >= 5 && kept.len() >= 8, "{masked:?} {kept:?}");
    for k in &masked {
        assert!(DefaultRedactor::is_sensitive_key(k), "{k}");
    }
    for k in &kept {
        assert!(!DefaultRedactor::is_sensitive_key(k), "{k}");
    }
}
