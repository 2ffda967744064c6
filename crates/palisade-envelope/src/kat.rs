//! Known-answer tests of the primitives as this crate calls them:
//! Wycheproof AES-256-GCM through the compiled-in backend, and
//! Wycheproof HKDF-SHA-256 through the `hkdf` crate.

use serde_json::Value;

use crate::backend::{Cipher, TAG_LEN};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn wycheproof_aes256_gcm() {
    let doc: Value = serde_json::from_str(include_str!("../tests/data/aes_gcm_test.json")).unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for g in doc["testGroups"].as_array().unwrap() {
        if g["keySize"] != 256 || g["ivSize"] != 96 || g["tagSize"] != 128 {
            continue;
        }
        for t in g["tests"].as_array().unwrap() {
            let key: [u8; 32] = unhex(t["key"].as_str().unwrap()).try_into().unwrap();
            let iv: [u8; 12] = unhex(t["iv"].as_str().unwrap()).try_into().unwrap();
            let aad = unhex(t["aad"].as_str().unwrap());
            let msg = unhex(t["msg"].as_str().unwrap());
            let ct = unhex(t["ct"].as_str().unwrap());
            let tag: [u8; TAG_LEN] = unhex(t["tag"].as_str().unwrap()).try_into().unwrap();
            let cipher = Cipher::new(&key);
            let mut buf = ct.clone();
            let opened = cipher.open(&iv, &aad, &mut buf, &tag);
            if t["result"] == "valid" {
                valid += 1;
                assert!(opened.is_ok(), "tc {}", t["tcId"]);
                assert_eq!(buf, msg, "tc {}", t["tcId"]);
                let mut enc = msg.clone();
                let got = cipher.seal(&iv, &aad, &mut enc).unwrap();
                assert_eq!((enc, got), (ct, tag), "tc {}", t["tcId"]);
            } else {
                invalid += 1;
                assert!(opened.is_err(), "tc {}", t["tcId"]);
                assert!(
                    buf.iter().all(|b| *b == 0),
                    "failed open must not leave plaintext"
                );
            }
        }
    }
    assert!(
        valid + invalid == 66 && valid >= 30 && invalid >= 20,
        "{valid} valid, {invalid} invalid vectors"
    );
}

#[test]
fn wycheproof_hkdf_sha256() {
    let doc: Value =
        serde_json::from_str(include_str!("../tests/data/hkdf_sha256_test.json")).unwrap();
    let mut n = 0;
    for g in doc["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            let ikm = unhex(t["ikm"].as_str().unwrap());
            let salt = unhex(t["salt"].as_str().unwrap());
            let info = unhex(t["info"].as_str().unwrap());
            let size = usize::try_from(t["size"].as_u64().unwrap()).unwrap();
            let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), &ikm);
            let mut okm = vec![0u8; size];
            let r = hk.expand(&info, &mut okm);
            if t["result"] == "valid" {
                r.unwrap();
                assert_eq!(okm, unhex(t["okm"].as_str().unwrap()), "tc {}", t["tcId"]);
            } else {
                assert!(r.is_err(), "tc {}", t["tcId"]);
            }
            n += 1;
        }
    }
    assert!(n >= 50);
}
