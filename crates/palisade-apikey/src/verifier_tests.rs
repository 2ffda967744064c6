//! Unit tests that need the crate's internals: the work each refusal costs
//! (issue 10 A6, counted rather than timed) and the record-MAC worked
//! example of `docs/apikey-format.md` §10.

use core::time::Duration;

use hmac::{KeyInit, Mac};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use secrecy::SecretSlice;

use crate::hash::work::{self, ARGON2, RECORD_MAC, SECRET_HMAC};
use crate::{
    ApiKeys, Argon2Params, KeyFormat, KeyId, KeyRecord, NewKey, Pepper, PepperSet, Rejection,
    VerifyContext,
};

fn pepper(v: u32, byte: u8) -> Pepper {
    Pepper::new(v, SecretSlice::from(vec![byte; 32])).unwrap()
}

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

fn service(peppers: &[(u32, u8)]) -> ApiKeys {
    ApiKeys::in_memory(
        KeyFormat::default(),
        PepperSet::new(peppers.iter().map(|&(v, b)| pepper(v, b))).unwrap(),
    )
}

fn tamper(keys: &ApiKeys, id: &KeyId, f: impl FnOnce(&mut KeyRecord)) {
    let mut r = keys.store().get(id).unwrap().snapshot();
    f(&mut r);
    keys.store().restore(r).unwrap();
}

/// Issue 10 A6: a record whose pepper version was removed was refused
/// without the decoy HMAC, so timing told that such ids exist. Now every
/// refusal before the secret is proven costs one secret HMAC and one record
/// MAC.
#[test]
fn every_refusal_costs_one_secret_hmac_and_one_record_mac() {
    let ctx = VerifyContext::new(now());
    let expected = SECRET_HMAC + RECORD_MAC;
    let keys = service(&[(1, 1)]);
    let k = keys
        .issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "a"), now())
        .unwrap();
    let good = k.expose_secret().to_owned();
    let stranger = service(&[(1, 1)])
        .issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "b"), now())
        .unwrap();
    // Same key id, other secret (checksum recomputed by swapping the key).
    let wrong = {
        let other = service(&[(1, 1)]);
        let o = other
            .issue(NewKey::new(Scope::tenant(TenantId::new_v7()), "c"), now())
            .unwrap();
        let mut rec = keys.store().get(k.key_id()).unwrap().snapshot();
        rec.key_id = *o.key_id();
        keys.store().restore(keys.seal_legacy(rec)).unwrap();
        o.expose_secret().to_owned()
    };
    let cases: [(&str, &str, Rejection); 2] = [
        (
            "unknown id",
            stranger.expose_secret(),
            Rejection::UnknownKey,
        ),
        ("wrong secret", &wrong, Rejection::WrongSecret),
    ];
    for (what, key, why) in cases {
        let spent = work::spent(|| assert_eq!(keys.verify(key, &ctx).unwrap_err(), why));
        assert_eq!(spent, expected, "{what}");
    }
    // The record's pepper removed from the set.
    let only2 = service(&[(2, 2)]);
    only2
        .store()
        .restore(keys.store().get(k.key_id()).unwrap().snapshot())
        .unwrap();
    let spent = work::spent(|| {
        assert_eq!(
            only2.verify(&good, &ctx).unwrap_err(),
            Rejection::UnknownPepper { version: 1 }
        );
    });
    assert_eq!(spent, expected, "removed pepper");
    // A tampered and an unsealed record.
    tamper(&keys, k.key_id(), |r| r.scopes = vec!["*".into()]);
    let spent = work::spent(|| {
        assert_eq!(
            keys.verify(&good, &ctx).unwrap_err(),
            Rejection::RecordTampered
        );
    });
    assert_eq!(spent, expected, "tampered record");
    tamper(&keys, k.key_id(), |r| {
        r.seal = None;
        r.version = 1;
    });
    let spent = work::spent(|| {
        assert_eq!(
            keys.verify(&good, &ctx).unwrap_err(),
            Rejection::RecordUnsealed
        );
    });
    assert_eq!(spent, expected, "unsealed record");
}

/// `verify_with_id` of a text that is not a Palisade key: every refusal
/// costs one Argon2id hash and one record MAC (this replaces a timed test).
#[test]
fn verify_with_id_refusals_all_cost_one_argon2id_hash() {
    let params = Argon2Params {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let keys = service(&[(1, 1)]).decoy_argon2_params(params);
    let scope = Scope::tenant(TenantId::new_v7());
    let hmac = keys.issue(NewKey::new(scope, "hmac"), now()).unwrap();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"legacy-sha"));
    let sha = keys
        .import_sha256(NewKey::new(scope, "sha"), &digest, now())
        .unwrap();
    let import = |name: &str, text: &str| {
        keys.import_plaintext(
            NewKey::new(scope, name),
            &secrecy::SecretString::from(text),
            &params,
            now(),
        )
        .unwrap()
    };
    let argon = import("argon", "legacy-argon");
    let corrupt = import("corrupt", "legacy-corrupt");
    tamper(&keys, &corrupt, |r| {
        r.hash = crate::KeyHash::Argon2idImport {
            phc: "$argon2id$nonsense".into(),
        };
    });
    let corrupt_rec = keys.store().get(&corrupt).unwrap().snapshot();
    keys.store().restore(keys.seal_legacy(corrupt_rec)).unwrap();
    let unknown: KeyId = "0000000000000000".parse().unwrap();
    let ctx = VerifyContext::new(now());
    let cases = [
        ("unknown id", unknown, Rejection::UnknownKey),
        ("hmac record", *hmac.key_id(), Rejection::WrongSecret),
        ("sha256 import", sha, Rejection::WrongSecret),
        ("argon2id import", argon, Rejection::WrongSecret),
        ("unusable phc", corrupt, Rejection::BadStoredHash),
    ];
    for (what, id, why) in cases {
        let spent = work::spent(|| {
            assert_eq!(
                keys.verify_with_id(&id, "wrong-guess", &ctx).unwrap_err(),
                why
            );
        });
        assert_eq!(spent, ARGON2 + RECORD_MAC, "{what}");
    }
    assert!(keys.verify_with_id(&sha, "legacy-sha", &ctx).is_ok());
    assert!(keys.verify_with_id(&argon, "legacy-argon", &ctx).is_ok());
}

/// The pepper of the worked examples: bytes 0x00..0x1f, version 1.
fn doc_peppers() -> PepperSet {
    PepperSet::new([Pepper::new(1, SecretSlice::from((0u8..32).collect::<Vec<_>>())).unwrap()])
        .unwrap()
}

/// The record of §9's JSON block.
fn doc_record() -> KeyRecord {
    let doc = include_str!("../../../docs/apikey-format.md");
    let section = doc.get(doc.find("## 9.").unwrap()..).unwrap();
    let start = section.find("```json\n").unwrap() + 8;
    let block = section
        .get(start..start + section[start..].find("```").unwrap())
        .unwrap();
    serde_json::from_str(block).unwrap()
}

/// docs/apikey-format.md §10: the derived record key, the canonical
/// encoding and the MAC of the §9 record, byte for byte (the values were
/// computed independently with Python's `hmac`/`hashlib`).
#[test]
fn record_mac_worked_example() {
    let doc = include_str!("../../../docs/apikey-format.md");
    let peppers = doc_peppers();
    let mut k = hmac::Hmac::<sha2::Sha256>::new_from_slice(&(0u8..32).collect::<Vec<_>>()).unwrap();
    k.update(crate::seal::RECORD_KEY_INFO);
    k.update(&[1]);
    let record_key = hex::encode(k.finalize().into_bytes());

    assert_eq!(record_key, DOC_RECORD_KEY);
    let rec = doc_record();
    let mut enc = Vec::new();
    crate::seal::encode(&mut enc, &rec, 1);
    assert_eq!(hex::encode(&enc), DOC_ENCODING.replace(['\n', ' '], ""));
    assert_eq!(hex::encode(crate::seal::digest(&rec, 1)), DOC_DIGEST);
    assert!(doc.contains(DOC_DIGEST));
    let mac = crate::seal::mac_of(&peppers, 1, &rec).unwrap();
    assert_eq!(hex::encode(mac), DOC_MAC);
    assert_eq!(rec.seal.unwrap().mac, mac);
    for v in [DOC_RECORD_KEY, DOC_MAC] {
        assert!(doc.contains(v), "the doc shows {v}");
    }
    let flat: String = doc.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        flat.contains(&DOC_ENCODING.replace(['\n', ' '], "")),
        "the doc shows the encoding"
    );
    // And the documented key verifies against it until it expires.
    let keys = ApiKeys::in_memory(KeyFormat::new("pal").unwrap(), doc_peppers());
    keys.store().restore(rec).unwrap();
    const KEY: &str = "pal_live_1Kx7Pq2Zr9TbW4mNcabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN0CUrI3";
    let ctx = VerifyContext::new(Timestamp::from_unix_seconds(1_790_000_000))
        .with_ip("10.1.2.3".parse().unwrap());
    assert!(keys.verify(KEY, &ctx).is_ok());
    let late = ctx.now.saturating_add(Duration::from_secs(86_400 * 365));
    assert_eq!(
        keys.verify(KEY, &VerifyContext { now: late, ..ctx })
            .unwrap_err(),
        Rejection::Expired
    );
}

const DOC_RECORD_KEY: &str = "88292c83fa7b864e974a193bea800928788b5881b81a5637bfe238d75cc876bb";
const DOC_DIGEST: &str = "a28e83c9fb7984d397a6b0bca6a7ca4c51cab2923d39fb0aa074ebfd5947b280";
const DOC_MAC: &str = "9b4c7fa4159f5345022616cb81eab5a19b63ee78d11e0079489916d86d53a99c";
const DOC_ENCODING: &str = "\
70616c69736164652d6170696b65792f7265636f72642d6d61632f7632000000\
0001024b78375071325a7239546257346d4e631201540192f0c1a2b37c4d8e9f\
a0b1c2d3e4f5000100000016757365723a616c696365406578616d706c652e63\
6f6d000000010000000b6b6e6f776c656467653a2a000001a205b3d000000100\
0001a2ce8bd4000000000002040a000000080620010db8000000000000000000\
000000200100000000000003e80100000000000003e800000000000151800100\
00000160bf394a05f37217ecd2cc64740d7be47c2b827d5a4e8ea126fe29a19c\
1a3bf30000000000000000000000";
