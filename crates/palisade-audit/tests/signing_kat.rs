//! Known-answer tests for the checkpoint signing wiring (Wycheproof, RFC 8032).
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions: a failure here is the test failing"
)]

use palisade_audit::{AuditError, CheckpointSigner, KeyId, VerifyKey};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn wycheproof_hmac_sha256() {
    let doc = load("hmac_sha256_test.json");
    let (mut full, mut truncated, mut bad_keys) = (0, 0, 0);
    for g in doc["testGroups"].as_array().unwrap() {
        let (key_bits, tag_bits) = (
            g["keySize"].as_u64().unwrap(),
            g["tagSize"].as_u64().unwrap(),
        );
        for t in g["tests"].as_array().unwrap() {
            let (key, msg, tag) = (unhex(&t["key"]), unhex(&t["msg"]), unhex(&t["tag"]));
            let valid = t["result"] == "valid";
            match VerifyKey::hmac(&key) {
                Err(AuditError::Key { .. }) => {
                    assert!(!(256..=512).contains(&key_bits), "tcId {}", t["tcId"]);
                    bad_keys += 1;
                }
                Err(e) => panic!("unexpected {e}"),
                Ok(k) if tag_bits == 256 => {
                    assert_eq!(k.verify(&msg, &tag), valid, "tcId {}", t["tcId"]);
                    full += 1;
                }
                Ok(k) => {
                    // Truncated tags are never accepted for checkpoints.
                    assert!(!k.verify(&msg, &tag), "tcId {}", t["tcId"]);
                    truncated += 1;
                }
            }
        }
    }
    assert_eq!((full, truncated, bad_keys), (81, 81, 12));
}

#[test]
fn wycheproof_ed25519_verify_strict() {
    let doc = load("ed25519_test.json");
    let mut n = 0;
    for g in doc["testGroups"].as_array().unwrap() {
        let pk: [u8; 32] = unhex(&g["publicKey"]["pk"]).try_into().unwrap();
        let Ok(key) = VerifyKey::ed25519(&pk) else {
            // Every test of a group with an invalid key must be invalid.
            assert!(
                g["tests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["result"] == "invalid")
            );
            continue;
        };
        for t in g["tests"].as_array().unwrap() {
            let (msg, sig) = (unhex(&t["msg"]), unhex(&t["sig"]));
            assert_eq!(
                key.verify(&msg, &sig),
                t["result"] == "valid",
                "tcId {} {}",
                t["tcId"],
                t["comment"]
            );
            n += 1;
        }
    }
    assert!(n >= 140, "{n}");
}

#[test]
fn rfc8032_test1_key_pair() {
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    let signer = CheckpointSigner::ed25519(KeyId::new("rfc8032-1").unwrap(), &seed);
    let vk = signer.verify_key();
    assert_eq!(
        hex::encode(vk.ed25519_public_bytes().unwrap()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let sig = hex::decode(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    )
    .unwrap();
    assert!(vk.verify(b"", &sig));
    assert!(!vk.verify(b"x", &sig));
}
