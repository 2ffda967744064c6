//! Known answers and a naive reference for the Merkle tree and its proofs.
//!
//! The reference (`mth`, `path`, `proof`) follows the recursive definitions
//! of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 literally over a slice of leaf
//! data; the optimized tree must agree with it for every shape.

use crate::merkle::{Hash, Tree, empty_root, leaf_hash, node_hash, split_point};
use crate::proof::{ConsistencyProof, InclusionProof};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(&d[0]);
            h.finalize().into()
        }
        n => {
            let k = (1..n).rev().find(|k| k.is_power_of_two()).unwrap();
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(mth(&d[..k]));
            h.update(mth(&d[k..]));
            h.finalize().into()
        }
    }
}

fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = (1..n).rev().find(|k| k.is_power_of_two()).unwrap();
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = (1..n).rev().find(|k| k.is_power_of_two()).unwrap();
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn data(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf-{i}").into_bytes()).collect()
}

fn tree_of(d: &[Vec<u8>]) -> Tree {
    let mut t = Tree::new();
    for x in d {
        t.push(leaf_hash(x));
    }
    t
}

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// The eight leaves of the Certificate Transparency reference tests.
fn ct_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex::decode(s).unwrap())
    .collect()
}

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn empty_tree_is_sha256_of_empty_string() {
    assert_eq!(hex::encode(empty_root()), CT_ROOTS[0]);
    assert_eq!(Tree::new().root_at(0), Some(empty_root()));
}

#[test]
fn certificate_transparency_reference_roots() {
    let l = ct_leaves();
    let t = tree_of(&l);
    for (n, want) in CT_ROOTS.iter().enumerate() {
        assert_eq!(hex::encode(t.root_at(n as u64).unwrap()), *want, "size {n}");
        assert_eq!(hex::encode(mth(&l[..n])), *want, "naive, size {n}");
    }
}

#[test]
fn certificate_transparency_reference_inclusion_paths() {
    let t = tree_of(&ct_leaves());
    let cases: [(u64, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (m, want) in cases {
        let mut p = vec![];
        t.inclusion_path(m, 0, 8, &mut p).unwrap();
        assert_eq!(p, want.map(h).to_vec(), "index {m}");
        let proof = InclusionProof {
            index: m,
            size: 8,
            path: p,
        };
        assert!(proof.verify(&t.leaf(m).unwrap(), &h(CT_ROOTS[8])));
    }
}

#[test]
fn split_point_is_largest_power_of_two_below() {
    for n in 2..2000u64 {
        let k = split_point(n);
        assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n={n} k={k}");
    }
}

#[test]
fn tree_matches_naive_definition_for_every_shape() {
    let d = data(70);
    let t = tree_of(&d);
    for n in 0..=70usize {
        let root = mth(&d[..n]);
        assert_eq!(t.root_at(n as u64).unwrap(), root, "root {n}");
        for m in 0..n {
            let mut p = vec![];
            t.inclusion_path(m as u64, 0, n as u64, &mut p).unwrap();
            assert_eq!(p, path(m, &d[..n]), "path {m} of {n}");
            let proof = InclusionProof {
                index: m as u64,
                size: n as u64,
                path: p,
            };
            assert!(proof.verify(&leaf_hash(&d[m]), &root));
            // Wrong index, index beyond the size, wrong leaf all fail.
            assert!(
                !InclusionProof {
                    index: m as u64 + 1,
                    ..proof.clone()
                }
                .verify(&leaf_hash(&d[m]), &root),
                "wrong index {m} of {n}"
            );
            // (A different size can share the path's shape, e.g. index 0 of 3
            // and of 4: the size is bound by the signed checkpoint, not the path.)
            assert!(
                !InclusionProof {
                    size: m as u64,
                    ..proof.clone()
                }
                .verify(&leaf_hash(&d[m]), &root)
            );
            assert!(!proof.verify(&leaf_hash(b"other"), &root));
        }
        for m in 1..n {
            let mut p = vec![];
            t.subproof(m as u64, 0, n as u64, true, &mut p).unwrap();
            assert_eq!(p, subproof(m, &d[..n], true), "consistency {m}..{n}");
            let proof = ConsistencyProof {
                old_size: m as u64,
                new_size: n as u64,
                path: p,
            };
            assert!(
                proof.verify(&mth(&d[..m]), &root),
                "verify consistency {m}..{n}"
            );
            assert!(!proof.verify(&mth(&d[..m - 1]), &root));
        }
    }
}

#[test]
fn frontier_agrees_with_tree() {
    let mut f = crate::merkle::Frontier::default();
    let d = data(100);
    let t = tree_of(&d);
    assert_eq!(f.root(), empty_root());
    for (i, x) in d.iter().enumerate() {
        f.push(leaf_hash(x));
        assert_eq!(f.root(), t.root_at(i as u64 + 1).unwrap());
    }
}

#[test]
fn node_hash_is_domain_separated() {
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    let mut concat = a.to_vec();
    concat.extend_from_slice(&b);
    assert_ne!(node_hash(&a, &b), leaf_hash(&concat));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every proof fails once any one of its hashes has one bit flipped.
    #[test]
    fn altered_proof_hash_fails(n in 2usize..300, m_seed in any::<u64>(), old_seed in any::<u64>(), which in any::<usize>(), bit in 0usize..256) {
        let d = data(n);
        let t = tree_of(&d);
        let m = (m_seed % n as u64) as usize;
        let root = t.root_at(n as u64).unwrap();
        let mut p = vec![];
        t.inclusion_path(m as u64, 0, n as u64, &mut p).unwrap();
        let mut proof = InclusionProof { index: m as u64, size: n as u64, path: p };
        prop_assert!(proof.verify(&leaf_hash(&d[m]), &root));
        if !proof.path.is_empty() {
            let i = which % proof.path.len();
            proof.path[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!proof.verify(&leaf_hash(&d[m]), &root));
        }
        let old = 1 + (old_seed % (n as u64 - 1)) as usize;
        let mut c = vec![];
        t.subproof(old as u64, 0, n as u64, true, &mut c).unwrap();
        let mut cp = ConsistencyProof { old_size: old as u64, new_size: n as u64, path: c };
        let old_root = t.root_at(old as u64).unwrap();
        prop_assert!(cp.verify(&old_root, &root));
        if !cp.path.is_empty() {
            let i = which % cp.path.len();
            cp.path[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!cp.verify(&old_root, &root));
        }
    }

    /// Consistency holds across appends: any earlier root is a prefix of any later one.
    #[test]
    fn consistency_across_appends(sizes in proptest::collection::vec(1usize..60, 1..6)) {
        let mut t = Tree::new();
        let mut heads: Vec<(u64, Hash)> = vec![(0, empty_root())];
        let mut i = 0;
        for s in sizes {
            for _ in 0..s {
                t.push(leaf_hash(format!("x{i}").as_bytes()));
                i += 1;
            }
            heads.push((t.size(), t.root_at(t.size()).unwrap()));
        }
        for &(m, mr) in &heads {
            for &(n, nr) in &heads {
                if m > n { continue; }
                let mut path = vec![];
                if m > 0 { t.subproof(m, 0, n, true, &mut path).unwrap(); }
                let p = ConsistencyProof { old_size: m, new_size: n, path };
                prop_assert!(p.verify(&mr, &nr), "{m}..{n}");
                let bytes = p.to_bytes();
                prop_assert_eq!(ConsistencyProof::from_bytes(&bytes).unwrap(), p);
            }
        }
    }
}
