//! Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4), their
//! verification, and their byte encoding (`docs/audit-format.md` §6).

use crate::error::{AuditError, Result};
use crate::merkle::{Hash, node_hash};
use subtle::ConstantTimeEq;

/// Version byte that opens an encoded proof.
pub const PROOF_VERSION: u8 = 0x01;
/// Most hashes a proof may hold (a tree of 2^64 leaves needs at most 64).
pub const MAX_PROOF_HASHES: usize = 64;
const KIND_INCLUSION: u8 = b'I';
const KIND_CONSISTENCY: u8 = b'C';

fn ct_eq(a: &Hash, b: &Hash) -> bool {
    a.ct_eq(b).into()
}

/// A proof that the leaf at `index` is in the tree of `size` leaves.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The audit path, deepest sibling first.
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// True when `leaf_hash` at `self.index` and this path give `root` for a
    /// tree of `self.size` leaves (RFC 9162 §2.1.3.2).
    #[must_use]
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> bool {
        if self.index >= self.size || self.path.len() > MAX_PROOF_HASHES {
            return false;
        }
        let (mut fnode, mut snode) = (self.index, self.size - 1);
        let mut r = *leaf_hash;
        for p in &self.path {
            if snode == 0 {
                return false;
            }
            if fnode & 1 == 1 || fnode == snode {
                r = node_hash(p, &r);
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        snode == 0 && ct_eq(&r, root)
    }

    /// Encode: `0x01 'I' index:u64 size:u64 count:u8 hashes`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(KIND_INCLUSION, self.index, self.size, &self.path)
    }

    /// Decode [`InclusionProof::to_bytes`].
    ///
    /// # Errors
    /// [`AuditError::ProofEncoding`] for a wrong version, kind, length or count.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (index, size, path) = decode(KIND_INCLUSION, bytes)?;
        Ok(Self { index, size, path })
    }
}

/// A proof that the tree of `old_size` leaves is a prefix of the tree of
/// `new_size` leaves.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub old_size: u64,
    /// The later size.
    pub new_size: u64,
    /// The proof hashes.
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// True when `old_root` (of `old_size` leaves) and `new_root` (of
    /// `new_size` leaves) are consistent under this proof (RFC 9162
    /// §2.1.4.2). An empty old tree is consistent with every tree when the
    /// path is empty and `old_root` is the empty-tree hash.
    #[must_use]
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> bool {
        let (m, n) = (self.old_size, self.new_size);
        if m > n || self.path.len() > MAX_PROOF_HASHES {
            return false;
        }
        if m == 0 {
            return self.path.is_empty() && ct_eq(old_root, &crate::merkle::empty_root());
        }
        if m == n {
            return self.path.is_empty() && ct_eq(old_root, new_root);
        }
        let mut path = self.path.iter();
        let first = if m.is_power_of_two() {
            Some(*old_root)
        } else {
            path.next().copied()
        };
        let Some(seed) = first else { return false };
        let (mut fnode, mut snode) = (m - 1, n - 1);
        while fnode & 1 == 1 {
            fnode >>= 1;
            snode >>= 1;
        }
        let (mut fr, mut sr) = (seed, seed);
        for c in path {
            if snode == 0 {
                return false;
            }
            if fnode & 1 == 1 || fnode == snode {
                fr = node_hash(c, &fr);
                sr = node_hash(c, &sr);
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            } else {
                sr = node_hash(&sr, c);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        snode == 0 && ct_eq(&fr, old_root) && ct_eq(&sr, new_root)
    }

    /// Encode: `0x01 'C' old_size:u64 new_size:u64 count:u8 hashes`.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(KIND_CONSISTENCY, self.old_size, self.new_size, &self.path)
    }

    /// Decode [`ConsistencyProof::to_bytes`].
    ///
    /// # Errors
    /// [`AuditError::ProofEncoding`] for a wrong version, kind, length or count.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (old_size, new_size, path) = decode(KIND_CONSISTENCY, bytes)?;
        Ok(Self {
            old_size,
            new_size,
            path,
        })
    }
}

fn encode(kind: u8, a: u64, b: u64, path: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(19 + 32 * path.len());
    out.push(PROOF_VERSION);
    out.push(kind);
    out.extend_from_slice(&a.to_be_bytes());
    out.extend_from_slice(&b.to_be_bytes());
    out.push(u8::try_from(path.len()).unwrap_or(u8::MAX));
    for h in path {
        out.extend_from_slice(h);
    }
    out
}

fn decode(kind: u8, bytes: &[u8]) -> Result<(u64, u64, Vec<Hash>)> {
    let bad = |reason| AuditError::ProofEncoding { reason };
    let (Some(&ver), Some(&k)) = (bytes.first(), bytes.get(1)) else {
        return Err(bad("shorter than the 19-byte header"));
    };
    if ver != PROOF_VERSION {
        return Err(bad("unknown version (expected 0x01)"));
    }
    if k != kind {
        return Err(bad("wrong proof kind (`I` inclusion, `C` consistency)"));
    }
    let a: [u8; 8] = bytes
        .get(2..10)
        .and_then(|s| s.try_into().ok())
        .ok_or(bad("shorter than the 19-byte header"))?;
    let b: [u8; 8] = bytes
        .get(10..18)
        .and_then(|s| s.try_into().ok())
        .ok_or(bad("shorter than the 19-byte header"))?;
    let count = usize::from(
        *bytes
            .get(18)
            .ok_or(bad("shorter than the 19-byte header"))?,
    );
    if count > MAX_PROOF_HASHES {
        return Err(bad("more than 64 hashes"));
    }
    let rest = bytes.get(19..).unwrap_or_default();
    if rest.len() != count * 32 {
        return Err(bad("length does not match the hash count"));
    }
    let path = rest
        .chunks_exact(32)
        .filter_map(|c| c.try_into().ok())
        .collect();
    Ok((u64::from_be_bytes(a), u64::from_be_bytes(b), path))
}
