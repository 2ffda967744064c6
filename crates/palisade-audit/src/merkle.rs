//! RFC 9162 §2.1 Merkle tree hashing with leaf (0x00) / node (0x01) domain
//! separation, and an append-only tree that stores every complete subtree so
//! that appends cost one leaf hash plus on average one node hash, and proofs
//! and roots of any earlier size need only O(log n) hashes.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// `MTH({})`: the hash of the empty tree, SHA-256 of the empty string.
#[must_use]
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 ‖ data)`: the hash of a leaf.
#[must_use]
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

/// The largest power of two strictly less than `n` (`n >= 2`).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// An append-only Merkle tree. `levels[k][i]` is the hash of the complete
/// subtree over leaves `[i·2^k, (i+1)·2^k)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub(crate) fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }

    /// Number of leaves.
    pub(crate) fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Append a leaf hash, completing parent subtrees as they fill.
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut k = 0;
        loop {
            if self.levels.len() <= k {
                self.levels.push(Vec::new());
            }
            let Some(level) = self.levels.get_mut(k) else {
                return;
            };
            level.push(carry);
            let n = level.len();
            if n % 2 != 0 {
                return;
            }
            let (Some(l), Some(r)) = (level.get(n - 2), level.get(n - 1)) else {
                return;
            };
            carry = node_hash(l, r);
            k += 1;
        }
    }

    /// The leaf hash at `index`.
    pub(crate) fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// `MTH(D[lo..hi])` for a range produced by the RFC 9162 recursive split
    /// of some `D[0..n]` (so `lo` is aligned to the largest power of two not
    /// above `hi - lo`). `None` if the range is not inside the tree.
    pub(crate) fn range_hash(&self, lo: u64, hi: u64) -> Option<Hash> {
        if hi > self.size() || lo > hi {
            return None;
        }
        let n = hi - lo;
        if n == 0 {
            return Some(empty_root());
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let k = n.trailing_zeros() as usize;
            return self
                .levels
                .get(k)?
                .get(usize::try_from(lo >> k).ok()?)
                .copied();
        }
        let k = split_point(n);
        Some(node_hash(
            &self.range_hash(lo, lo + k)?,
            &self.range_hash(lo + k, hi)?,
        ))
    }

    /// The root of the first `size` leaves.
    pub(crate) fn root_at(&self, size: u64) -> Option<Hash> {
        self.range_hash(0, size)
    }

    /// RFC 9162 `PATH(m, D[lo..hi])`, deepest sibling first.
    pub(crate) fn inclusion_path(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        out: &mut Vec<Hash>,
    ) -> Option<()> {
        let n = hi - lo;
        if n <= 1 {
            return Some(());
        }
        let k = split_point(n);
        if m < k {
            self.inclusion_path(m, lo, lo + k, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.inclusion_path(m - k, lo + k, hi, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Some(())
    }

    /// RFC 9162 `SUBPROOF(m, D[lo..hi], b)`.
    pub(crate) fn subproof(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        b: bool,
        out: &mut Vec<Hash>,
    ) -> Option<()> {
        let n = hi - lo;
        if m == n {
            if !b {
                out.push(self.range_hash(lo, hi)?);
            }
            return Some(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, lo, lo + k, b, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Some(())
    }
}

/// A compact running root: the RFC 9162 "frontier" of complete subtrees,
/// enough to compute the root of everything pushed so far. Used by the
/// verifier, which does not need proofs (O(log n) memory).
#[derive(Clone, Debug, Default)]
pub(crate) struct Frontier {
    /// `(height, hash)` of complete subtrees, left to right, heights decreasing.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut cur = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (h + 1, node_hash(&left, &cur.1));
        }
        self.stack.push(cur);
        self.size += 1;
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}
