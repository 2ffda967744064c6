//! Time-bound grants and denies, precomputed: the time line of one
//! (principal, scope) is cut at every `not_before` / `expires_at`, and each
//! piece gets its effective permission set (allows minus denies). A check
//! then only picks the piece that contains `now`.

use crate::bitset;

/// A grant or deny that applies to one (principal, scope) entry.
pub(crate) struct Item<'a> {
    /// In force from this instant (ms), inclusive; `None` = always was.
    pub(crate) not_before: Option<i64>,
    /// In force until this instant (ms), exclusive; `None` = never ends.
    pub(crate) expires_at: Option<i64>,
    pub(crate) set: &'a [u64],
    pub(crate) deny: bool,
}

impl Item<'_> {
    fn active_at(&self, t: i64) -> bool {
        self.not_before.is_none_or(|nb| nb <= t) && self.expires_at.is_none_or(|e| t < e)
    }

    fn is_timed(&self) -> bool {
        self.not_before.is_some() || self.expires_at.is_some()
    }
}

/// A piecewise-constant permission set over time: `sets[0]` before
/// `bounds[0]`, `sets[i]` on `[bounds[i-1], bounds[i])`, the last set from
/// the last bound on. Normalized: neighbouring sets always differ, so two
/// equal time lines have equal representations.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct Timeline {
    pub(crate) bounds: Vec<i64>,
    pub(crate) sets: Vec<Vec<u64>>,
}

/// Number of time-bound items in `items`.
pub(crate) fn timed_count(items: &[Item<'_>]) -> usize {
    items.iter().filter(|i| i.is_timed()).count()
}

/// The effective time line of `items` over sets of `width` words.
pub(crate) fn build(items: &[Item<'_>], width: usize) -> Timeline {
    let mut cuts: Vec<i64> = items
        .iter()
        .flat_map(|i| [i.not_before, i.expires_at])
        .flatten()
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut bounds = Vec::with_capacity(cuts.len());
    let mut sets: Vec<Vec<u64>> = Vec::with_capacity(cuts.len() + 1);
    // Piece i starts at `starts[i]`; membership of every item is constant
    // on a piece, so its start decides.
    let starts = core::iter::once(i64::MIN).chain(cuts.iter().copied());
    for (i, t) in starts.enumerate() {
        let mut allow = vec![0u64; width];
        let mut deny = vec![0u64; width];
        for it in items.iter().filter(|it| it.active_at(t)) {
            bitset::or_into(if it.deny { &mut deny } else { &mut allow }, it.set);
        }
        bitset::and_not_into(&mut allow, &deny);
        if sets.last() == Some(&allow) {
            continue;
        }
        if i > 0 {
            bounds.push(t);
        }
        sets.push(allow);
    }
    Timeline { bounds, sets }
}

/// Index of the piece that contains `now` (the number of bounds `<= now`).
#[inline]
pub(crate) fn piece(bounds: &[i64], now: i64) -> usize {
    bounds.partition_point(|b| *b <= now)
}
