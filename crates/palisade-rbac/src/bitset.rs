//! Fixed-width permission bitsets and an arena that stores each distinct set
//! once, so principals that hold the same roles share one set.

use std::collections::HashMap;

/// Operations on a bitset stored as a `[u64]` slice (bit `i` is word
/// `i / 64`, bit `i % 64`).
pub(crate) fn set_bit(words: &mut [u64], i: usize) {
    if let Some(w) = words.get_mut(i / 64) {
        *w |= 1u64 << (i % 64);
    }
}

/// True when bit `i` is set; out-of-range bits are clear.
#[inline]
pub(crate) fn test_bit(words: &[u64], i: usize) -> bool {
    words.get(i / 64).is_some_and(|w| (w >> (i % 64)) & 1 == 1)
}

/// `dst |= src`.
pub(crate) fn or_into(dst: &mut [u64], src: &[u64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d |= *s;
    }
}

/// `dst &= !src`.
pub(crate) fn and_not_into(dst: &mut [u64], src: &[u64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d &= !*s;
    }
}

/// True when no bit is set.
pub(crate) fn is_empty(words: &[u64]) -> bool {
    words.iter().all(|w| *w == 0)
}

/// True when every bit of `a` is also set in `b`.
pub(crate) fn is_subset(a: &[u64], b: &[u64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x & !y == 0)
}

/// Indices of the set bits, ascending.
pub(crate) fn ones(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(wi, &w)| {
        (0..64)
            .filter(move |b| (w >> b) & 1 == 1)
            .map(move |b| wi * 64 + b)
    })
}

/// Distinct bitsets of one width, numbered densely; set 0 is the empty set.
pub(crate) struct SetArena {
    width: usize,
    data: Vec<u64>,
    dedup: HashMap<Box<[u64]>, u32, foldhash::fast::RandomState>,
}

impl SetArena {
    /// An arena for sets of `width` words, holding the empty set as id 0.
    pub(crate) fn new(width: usize) -> Self {
        let mut arena = Self {
            width,
            data: Vec::new(),
            dedup: HashMap::default(),
        };
        let empty = vec![0u64; width];
        let _ = arena.intern(&empty);
        arena
    }

    /// The id of `set` (which must be `width` words), adding it when new.
    pub(crate) fn intern(&mut self, set: &[u64]) -> u32 {
        if let Some(&id) = self.dedup.get(set) {
            return id;
        }
        let id = u32::try_from(self.dedup.len()).unwrap_or(u32::MAX);
        self.data.extend_from_slice(set);
        self.dedup.insert(set.into(), id);
        id
    }

    /// The words of set `id` (empty when unknown).
    pub(crate) fn get(&self, id: u32) -> &[u64] {
        slice_of(&self.data, self.width, id)
    }

    /// Drop the dedup index and return the packed words.
    pub(crate) fn into_words(mut self) -> Vec<u64> {
        self.data.shrink_to_fit();
        self.data
    }
}

/// Set `id` of `width` words inside `data` (empty when out of range).
#[inline]
pub(crate) fn slice_of(data: &[u64], width: usize, id: u32) -> &[u64] {
    let start = (id as usize).saturating_mul(width);
    data.get(start..start.saturating_add(width)).unwrap_or(&[])
}
