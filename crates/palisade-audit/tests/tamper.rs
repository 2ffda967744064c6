//! Any edit, deletion, insertion, swap or truncation of a log's export is
//! detected and located; checkpoint tampering is detected.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "helpers outside #[test] functions: a failure here is the test failing"
)]

mod common;

use common::*;
use palisade_audit::*;
use proptest::prelude::*;

/// Line numbers (0-based in `ls`) of record lines, with their record index.
fn record_lines(ls: &[Vec<u8>]) -> Vec<usize> {
    (0..ls.len()).filter(|&i| is_record(&ls[i])).collect()
}

fn replace(line: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(line.to_vec())
        .unwrap()
        .replacen(from, to, 1)
        .into_bytes()
}

fn final_head(log: &TenantLog) -> (u64, Hash) {
    let cp = log.last_checkpoint().unwrap();
    (cp.size(), *cp.root())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn untouched_export_verifies(n in 0u64..40, every in 1u64..8) {
        let (out, keys, log) = build_export(n, every);
        let opts = VerifyOptions { trusted: Some(final_head(&log)), ..VerifyOptions::new(tenant(1)) };
        let r = verify_with(&out, &keys, &opts);
        prop_assert!(r.is_ok(), "{:?}", r.problem);
        prop_assert_eq!(r.records, n);
        prop_assert_eq!(r.signed_size, n);
    }

    #[test]
    fn edit_is_detected_and_located(n in 1u64..40, every in 1u64..8, pick in any::<usize>()) {
        let (out, keys, _) = build_export(n, every);
        let mut ls = lines(&out);
        let recs = record_lines(&ls);
        let k = pick % recs.len();
        ls[recs[k]] = replace(&ls[recs[k]], "\"uid\":\"inv_", "\"uid\":\"inw_");
        let f = verify(&join(&ls), &keys, tenant(1)).problem.unwrap();
        prop_assert_eq!(f.problem, Problem::Modified);
        prop_assert_eq!(f.index, Some(k as u64));
        prop_assert_eq!(f.line, recs[k] as u64 + 1);
    }

    #[test]
    fn deletion_is_detected_and_located(n in 1u64..40, every in 1u64..8, pick in any::<usize>()) {
        let (out, keys, _) = build_export(n, every);
        let mut ls = lines(&out);
        let recs = record_lines(&ls);
        let k = pick % recs.len();
        ls.remove(recs[k]);
        let f = verify(&join(&ls), &keys, tenant(1)).problem.unwrap();
        prop_assert!(matches!(f.problem, Problem::Missing { .. }), "{f:?}");
        prop_assert_eq!(f.index, Some(k as u64));
    }

    #[test]
    fn insertion_is_detected_and_located(n in 1u64..40, every in 1u64..8, pick in any::<usize>(), at in any::<usize>()) {
        let (out, keys, _) = build_export(n, every);
        let mut ls = lines(&out);
        let recs = record_lines(&ls);
        let copy = ls[recs[pick % recs.len()]].clone();
        // Insert anywhere after the header.
        let pos = 1 + at % ls.len();
        ls.insert(pos, copy);
        let f = verify(&join(&ls), &keys, tenant(1)).problem.unwrap();
        prop_assert!(matches!(f.problem, Problem::Inserted | Problem::CheckpointMisplaced | Problem::Reordered), "{f:?}");
        // Located at the inserted line, or the next one when the copy landed
        // right in front of its original.
        prop_assert!(f.line == pos as u64 + 1 || f.line == pos as u64 + 2, "{f:?} pos {pos}");
    }

    #[test]
    fn swap_is_detected_and_located(n in 2u64..40, every in 1u64..8, a in any::<usize>(), b in any::<usize>()) {
        let (out, keys, _) = build_export(n, every);
        let mut ls = lines(&out);
        let recs = record_lines(&ls);
        let (i, j) = (a % recs.len(), b % recs.len());
        prop_assume!(i != j);
        ls.swap(recs[i], recs[j]);
        let f = verify(&join(&ls), &keys, tenant(1)).problem.unwrap();
        prop_assert_eq!(f.problem, Problem::Reordered);
        prop_assert_eq!(f.index, Some(i.min(j) as u64));
    }

    #[test]
    fn truncation_is_detected(n in 1u64..40, every in 1u64..8, keep in any::<usize>()) {
        let (out, keys, log) = build_export(n, every);
        let ls = lines(&out);
        let keep = 1 + keep % (ls.len() - 1); // keep the header, drop at least one line
        let opts = VerifyOptions { trusted: Some(final_head(&log)), ..VerifyOptions::new(tenant(1)) };
        let r = verify_with(&join(&ls[..keep]), &keys, &opts);
        let f = r.problem.unwrap();
        let kept = ls[..keep].iter().filter(|l| is_record(l)).count() as u64;
        match f.problem {
            Problem::Truncated { trusted_size } => {
                prop_assert_eq!(trusted_size, n);
                prop_assert_eq!(f.index, Some(kept));
            }
            Problem::UnsignedTail => prop_assert!(kept == n, "{f:?}"),
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn torn_tail_is_reported(n in 1u64..20, cut in 1usize..100) {
        let (out, keys, _) = build_export(n, 4);
        let cut = cut.min(out.len() - 1);
        let torn = &out[..out.len() - cut];
        let f = verify(torn, &keys, tenant(1)).problem.unwrap();
        if torn.ends_with(b"\n") {
            prop_assert!(!matches!(f.problem, Problem::TornLastLine));
        } else {
            prop_assert_eq!(f.problem, Problem::TornLastLine);
        }
    }
}

#[test]
fn rewritten_leaf_hash_is_caught_by_the_checkpoint_root() {
    let (out, keys, _) = build_export(10, 4);
    let mut ls = lines(&out);
    let recs = record_lines(&ls);
    // A careful forger edits record 5 and recomputes its leaf hash.
    let original = sample_event(tenant(1), 5);
    let mut forged = AuditEvent::with_id(
        original.id(),
        original.time(),
        original.scope(),
        original.actor().clone(),
        original.action(),
        Resource::new("invoice", "inv_6").unwrap(),
        original.outcome(),
    )
    .unwrap()
    .with_reason(original.reason())
    .unwrap()
    .with_request(original.request().clone());
    for (k, v) in original.details() {
        forged = forged.with_detail(k, v.clone()).unwrap();
    }
    let mut bytes = Vec::new();
    encode_record(5, &forged, &mut bytes);
    let old: serde_json::Value = serde_json::from_slice(&ls[recs[5]]).unwrap();
    let old_hash = old["record"]["leaf_hash"].as_str().unwrap().to_owned();
    let line = replace(&ls[recs[5]], "inv_5", "inv_6");
    ls[recs[5]] = replace(&line, &old_hash, &hex::encode(leaf_hash(&bytes)));
    let f = verify(&join(&ls), &keys, tenant(1)).problem.unwrap();
    assert_eq!(f.problem, Problem::RootMismatch { size: 8 });
    assert_eq!(
        f.index,
        Some(4),
        "first index not covered by the last good checkpoint"
    );
}

#[test]
fn checkpoint_tampering_is_detected() {
    let (out, keys, _) = build_export(12, 4);
    let ls = lines(&out);
    let cps: Vec<usize> = (0..ls.len())
        .filter(|&i| ls[i].starts_with(b"{\"checkpoint\""))
        .collect();
    assert_eq!(cps.len(), 3);

    // Removing a middle checkpoint breaks the chain.
    let mut a = ls.clone();
    a.remove(cps[1]);
    assert_eq!(
        verify(&join(&a), &keys, tenant(1)).problem.unwrap().problem,
        Problem::ChainBroken
    );

    // A flipped signature byte.
    let mut b = ls.clone();
    let v: serde_json::Value = serde_json::from_slice(&b[cps[0]]).unwrap();
    let sig = v["checkpoint"]["sig"].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    b[cps[0]] = replace(&b[cps[0]], &sig, &flipped);
    assert_eq!(
        verify(&join(&b), &keys, tenant(1)).problem.unwrap().problem,
        Problem::BadSignature
    );

    // Unknown key, and a key of the wrong algorithm under the same id.
    let f = verify(&out, &Keyring::new(), tenant(1)).problem.unwrap();
    assert_eq!(
        f.problem,
        Problem::UnknownKey {
            key_id: "k1".into()
        }
    );
    let ed = CheckpointSigner::ed25519(KeyId::new("k1").unwrap(), &[1; 32]);
    let f = verify(&out, &keyring_for(&[&ed]), tenant(1))
        .problem
        .unwrap();
    assert_eq!(f.problem, Problem::AlgorithmMismatch);
    assert!(verify(&out, &keys, tenant(1)).is_ok());
}

#[test]
fn unsigned_tail_and_wrong_tenant() {
    let (out, keys, _) = build_export(6, 4);
    let mut ls = lines(&out);
    ls.pop(); // drop the final checkpoint
    let f = verify(&join(&ls), &keys, tenant(1)).problem.unwrap();
    assert_eq!((f.problem, f.index), (Problem::UnsignedTail, Some(4)));
    let ok = verify_with(
        &join(&ls),
        &keys,
        &VerifyOptions {
            allow_unsigned_tail: true,
            ..VerifyOptions::new(tenant(1))
        },
    );
    assert!(ok.is_ok());
    let other = VerifyOptions {
        tenant: tenant(2),
        ..VerifyOptions::new(tenant(1))
    };
    assert_eq!(
        verify_with(&out, &keys, &other).problem.unwrap().problem,
        Problem::WrongTenant
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    let keys = Keyring::new();
    for input in [
        &b""[..],
        b"\n",
        b"{}",
        b"{\"header\":{}}\n",
        b"\xff\xfe\n",
        b"[1,2,3]\n{\"record\":1}\n",
    ] {
        assert!(!verify(input, &keys, tenant(1)).is_ok());
    }
    assert_eq!(
        verify(b"", &keys, tenant(1)).problem.unwrap().problem,
        Problem::BadHeader
    );
}

#[test]
fn ambiguous_or_invalid_json_is_malformed() {
    let (out, keys, _) = build_export(3, 10);
    let text = String::from_utf8(out).unwrap();
    // A repeated detail key would show one value and hash another.
    let dup = text.replacen(
        "\"details\":{\"amount_cents\":{\"int\":1299}",
        "\"details\":{\"amount_cents\":{\"int\":1299},\"amount_cents\":{\"int\":1}",
        1,
    );
    assert_ne!(dup, text);
    let f = verify(dup.as_bytes(), &keys, tenant(1)).problem.unwrap();
    assert!(
        matches!(&f.problem, Problem::Malformed { reason } if reason.contains("increasing")),
        "{f:?}"
    );
    // Unknown fields, invalid values.
    for (from, to) in [
        (
            "\"action\":\"billing.update\"",
            "\"action\":\"Billing.Update\"",
        ),
        ("\"status\":\"denied\"", "\"status\":\"maybe\""),
        ("\"index\":0,", "\"index\":0,\"extra\":1,"),
        ("\"src_ip\":\"203.0.113.7\"", "\"src_ip\":\"203.0.113.700\""),
    ] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text, "{from}");
        let f = verify(bad.as_bytes(), &keys, tenant(1)).problem.unwrap();
        assert!(
            matches!(f.problem, Problem::Malformed { .. }),
            "{from}: {f:?}"
        );
        assert_eq!(f.index, Some(0));
    }
}
