//! Refusals past the refused-credential budget: counted, never unseen.
//!
//! Once a client network is over its budget of refused credentials (the
//! rate limiter decides that), recording every refusal would let it write
//! thousands of records into a victim tenant's log. So each *slot* — client
//! network × receiving log × the real key named (if any) — records the
//! first over-budget refusal of a window in full and counts the rest; when
//! the window is over (or on [`Suppressor::flush`], which exports and the
//! audit timer call) one summary record says "N refusals from
//! 2001:db8::/64 suppressed". A refusal naming a real key of a tenant has a
//! slot of its own in that tenant's log, so it is always recorded, in full
//! or in a summary, whatever the flood around it.
//!
//! Memory is bounded: at most [`MAX_SLOTS`] network slots; past that,
//! ended windows are summarised and dropped, and if the table is still
//! full the refusal goes to one overflow slot per receiving log (bounded by
//! the number of real tenants), summarised as "from many networks".

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use palisade_apikey::KeyId;
use palisade_tenancy::{TenantId, Timestamp};

use crate::ratelimit_budget::AddressBlock;

/// Length of a suppression window unless configured
/// (`rate_limits.suppression_window_seconds`).
pub(crate) const WINDOW_MS: i64 = 60_000;
/// Most network slots tracked at once (overflow slots come on top, one per
/// receiving log).
pub(crate) const MAX_SLOTS: usize = 4096;
/// Ended windows are swept every this many over-budget refusals.
const SWEEP_EVERY: u64 = 256;

/// Where an over-budget refusal is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Slot {
    /// The client's address block (as the budget counts it); `None`: the
    /// overflow slot of `tenant` ("many networks").
    pub(crate) net: Option<AddressBlock>,
    /// The log that receives the records.
    pub(crate) tenant: TenantId,
    /// The real key the refusals named, if any.
    pub(crate) key: Option<KeyId>,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Timestamp,
    suppressed: u64,
}

/// What to do with one over-budget refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    /// The first of its window: record it in full.
    Record,
    /// Counted; it appears in the window's summary.
    Counted,
}

/// "`suppressed` refusals in `slot` between `start` and `end`": one summary record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) slot: Slot,
    pub(crate) start: Timestamp,
    pub(crate) end: Timestamp,
    pub(crate) suppressed: u64,
}

struct Table {
    /// Network slots (at most `MAX_SLOTS`).
    slots: HashMap<Slot, Window>,
    /// Overflow slots, one per receiving log.
    overflow: HashMap<Slot, Window>,
    notes: u64,
    window_ms: i64,
}

/// The suppression windows of one instance.
pub(crate) struct Suppressor {
    table: Mutex<Table>,
}

impl Default for Suppressor {
    fn default() -> Self {
        Self::new(WINDOW_MS)
    }
}

fn ended(w: &Window, now: Timestamp, window_ms: i64) -> bool {
    now.unix_millis() >= w.start.unix_millis().saturating_add(window_ms)
}

/// Drop the windows of `map` ended at `now`, pushing their summaries.
fn sweep_map(
    map: &mut HashMap<Slot, Window>,
    now: Timestamp,
    window_ms: i64,
    due: &mut Vec<Summary>,
) {
    map.retain(|slot, w| {
        if !ended(w, now, window_ms) {
            return true;
        }
        if w.suppressed > 0 {
            due.push(Summary {
                slot: *slot,
                start: w.start,
                end: now,
                suppressed: w.suppressed,
            });
        }
        false
    });
}

impl Table {
    /// Summaries of the windows ended at `now` (dropped from the table).
    fn sweep(&mut self, now: Timestamp, due: &mut Vec<Summary>) {
        sweep_map(&mut self.slots, now, self.window_ms, due);
        sweep_map(&mut self.overflow, now, self.window_ms, due);
    }

    fn map_of(&mut self, slot: &Slot) -> &mut HashMap<Slot, Window> {
        if slot.net.is_some() {
            &mut self.slots
        } else {
            &mut self.overflow
        }
    }

    fn note_in(&mut self, slot: Slot, now: Timestamp, due: &mut Vec<Summary>) -> Note {
        let window_ms = self.window_ms;
        let map = self.map_of(&slot);
        match map.get_mut(&slot) {
            // A time before the window's start (skewed clocks) counts in it.
            Some(w) if !ended(w, now, window_ms) => {
                w.suppressed = w.suppressed.saturating_add(1);
                Note::Counted
            }
            Some(w) => {
                if w.suppressed > 0 {
                    due.push(Summary {
                        slot,
                        start: w.start,
                        end: now,
                        suppressed: w.suppressed,
                    });
                }
                *w = Window {
                    start: now,
                    suppressed: 0,
                };
                Note::Record
            }
            None => {
                map.insert(
                    slot,
                    Window {
                        start: now,
                        suppressed: 0,
                    },
                );
                Note::Record
            }
        }
    }
}

impl Suppressor {
    /// Windows of `window_ms` (at least 1 ms).
    pub(crate) fn new(window_ms: i64) -> Self {
        Self {
            table: Mutex::new(Table {
                slots: HashMap::new(),
                overflow: HashMap::new(),
                notes: 0,
                window_ms: window_ms.max(1),
            }),
        }
    }

    /// Count one over-budget refusal in `slot` at `now`. Returns whether to
    /// record it in full, and the summaries that have become due (write
    /// them to their logs).
    pub(crate) fn note(&self, slot: Slot, now: Timestamp) -> (Note, Vec<Summary>) {
        let mut t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due = Vec::new();
        t.notes = t.notes.wrapping_add(1);
        if t.notes.is_multiple_of(SWEEP_EVERY) {
            t.sweep(now, &mut due);
        }
        let slot =
            if slot.net.is_some() && !t.slots.contains_key(&slot) && t.slots.len() >= MAX_SLOTS {
                t.sweep(now, &mut due);
                if t.slots.len() >= MAX_SLOTS {
                    Slot {
                        net: None,
                        tenant: slot.tenant,
                        key: None,
                    }
                } else {
                    slot
                }
            } else {
                slot
            };
        let note = t.note_in(slot, now, &mut due);
        (note, due)
    }

    /// Summaries of every window with suppressed refusals: all of them
    /// when `open_too` (their counts restart, their windows go on), else
    /// only those ended at `now`; restricted to `tenant`'s log if given.
    pub(crate) fn flush(
        &self,
        now: Timestamp,
        tenant: Option<TenantId>,
        open_too: bool,
    ) -> Vec<Summary> {
        let mut t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due = Vec::new();
        if tenant.is_none() {
            t.sweep(now, &mut due);
        }
        let window_ms = t.window_ms;
        let Table {
            slots, overflow, ..
        } = &mut *t;
        for (slot, w) in slots.iter_mut().chain(overflow.iter_mut()) {
            if tenant.is_some_and(|x| x != slot.tenant) || w.suppressed == 0 {
                continue;
            }
            if open_too || ended(w, now, window_ms) {
                due.push(Summary {
                    slot: *slot,
                    start: w.start,
                    end: now,
                    suppressed: w.suppressed,
                });
                w.suppressed = 0;
            }
        }
        due
    }

    /// Slots currently tracked (network and overflow).
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        let t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        t.slots.len() + t.overflow.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + ms)
    }

    fn slot(ip: &str) -> Slot {
        Slot {
            net: Some(AddressBlock::of(ip.parse().unwrap(), 64)),
            tenant: TenantId::from_bytes([1; 16]),
            key: None,
        }
    }

    #[test]
    fn one_record_per_window_then_a_summary_of_the_rest() {
        let s = Suppressor::default();
        assert_eq!(s.note(slot("2001:db8::1"), at(0)).0, Note::Record);
        for i in 1..=10 {
            let (n, due) = s.note(slot(&format!("2001:db8::{i:x}:1")), at(i));
            assert_eq!(n, Note::Counted);
            assert!(due.is_empty());
        }
        let (n, due) = s.note(slot("2001:db8::2"), at(WINDOW_MS));
        assert_eq!(n, Note::Record);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].suppressed, 10);
        assert_eq!(due[0].slot.net.unwrap().to_string(), "2001:db8::/64");
    }

    #[test]
    fn memory_stays_bounded_under_network_churn() {
        let s = Suppressor::default();
        for i in 0..(MAX_SLOTS as u32 * 3) {
            let ip = std::net::IpAddr::V6((u128::from(i) << 64).into());
            let sl = Slot {
                net: Some(AddressBlock::of(ip, 64)),
                tenant: UNATTRIBUTED_FOR_TEST,
                key: None,
            };
            let _ = s.note(sl, at(1));
        }
        assert!(s.tracked() <= MAX_SLOTS + 1, "{}", s.tracked());
        let due = s.flush(at(2), None, true);
        let overflow: u64 = due
            .iter()
            .filter(|d| d.slot.net.is_none())
            .map(|d| d.suppressed)
            .sum();
        assert_eq!(overflow, MAX_SLOTS as u64 * 2 - 1);
    }

    const UNATTRIBUTED_FOR_TEST: TenantId = TenantId::from_bytes([0; 16]);
}
