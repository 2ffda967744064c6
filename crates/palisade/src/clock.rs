//! A `governor` clock driven by the `now` each request passes in.
//!
//! Palisade never reads a hidden clock inside a decision, so the rate limiter
//! cannot use governor's default monotonic clock. Instead every check first
//! *observes* the request's [`Timestamp`], and the limiter's clock (its
//! *reading*) advances by how far that time moved forward:
//!
//! - it never goes backwards: requests finishing out of order, or a wall
//!   clock stepped back, cannot refill a bucket;
//! - a time at least [`STEP_NANOS`] behind every time source seen so far
//!   starts a new *timeline* (a wall clock stepped back, or a second source
//!   such as a replica or thread with a skewed clock), anchored at the
//!   current reading, so it advances from there instead of freezing (and
//!   refusing everyone) until the old time is reached again;
//! - a backward step never adds time twice: each timeline maps its times
//!   onto the reading by a fixed offset, and the reading is the largest
//!   mapped time seen. Two sources 10 s apart that alternate advance the
//!   reading by the time that really passed, not by the 10 s gap on every
//!   alternation (which refilled every bucket: 100 of 200 requests passed a
//!   1/s limit);
//! - a timeline that lags the reading while no other timeline has moved it
//!   for [`STEP_NANOS`] of its own time (a clock stepped forward and then
//!   back) is re-anchored at the reading: it freezes for at most that long;
//! - tests drive it deterministically by passing timestamps.
//!
//! An observation belongs to the remembered timeline whose latest time is
//! nearest to it: less than a step away, or any distance when it is past
//! every timeline (a quiet service's next request). At most [`TIMELINES`] are
//! remembered; a forgotten one that shows up again is a new timeline anchored
//! at the reading, so forgetting makes the limiter stricter, never looser.

use core::ops::Add;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use palisade_tenancy::Timestamp;

/// A reading of [`RequestClock`]: nanoseconds of limiter time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Instant(u64);

impl Instant {
    pub(crate) const ZERO: Self = Self(0);
}

impl Add<Nanos> for Instant {
    type Output = Self;

    fn add(self, other: Nanos) -> Self {
        Self(self.0.saturating_add(other.as_u64()))
    }
}

impl Reference for Instant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::from(self.0.saturating_sub(earlier.0))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        Self(self.0.saturating_sub(duration.as_u64()))
    }
}

/// A time at least this far behind every known time source starts a new
/// timeline; smaller backward moves are requests arriving out of order.
pub(crate) const STEP_NANOS: u64 = 5_000_000_000;

/// How many time sources (timelines) the clock tells apart.
pub(crate) const TIMELINES: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Timeline {
    /// The latest time observed on this timeline (ns since the epoch).
    last: u64,
    /// reading = time + offset (either sign, so i128).
    offset: i128,
    /// For eviction and ties: the observation counter when last used.
    used: u64,
    /// Its own time when it began lagging the reading (None while it leads
    /// or since another timeline last moved the reading).
    behind_since: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    timelines: Vec<Timeline>,
    observations: u64,
}

/// The shared, monotone clock of one rate limiter (clones share the reading).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestClock {
    /// The limiter's reading (nanoseconds), read lock-free by `now`.
    reading: Arc<AtomicU64>,
    state: Arc<Mutex<State>>,
}

fn nanos(now: Timestamp) -> u64 {
    u64::try_from(now.unix_millis())
        .unwrap_or(0)
        .saturating_mul(1_000_000)
}

fn clamp(v: i128) -> u64 {
    u64::try_from(v.max(0)).unwrap_or(u64::MAX)
}

impl RequestClock {
    /// Advance by however far `now` moves its timeline past the reading, and
    /// return the reading.
    pub(crate) fn observe(&self, now: Timestamp) -> Instant {
        let ns = nanos(now);
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &mut *guard;
        st.observations = st.observations.wrapping_add(1);
        let tick = st.observations;
        let reading = self.reading.load(Ordering::Acquire);
        // A time past every timeline is progress (of the nearest); one
        // in between belongs only to a timeline less than a step from it,
        // else it is a new source (an unknown clock ahead of a lagging
        // timeline must not be credited as that timeline's progress).
        let newest = st.timelines.iter().map(|t| t.last).max().unwrap_or(0);
        let chosen = st
            .timelines
            .iter()
            .enumerate()
            .filter(|(_, t)| ns >= newest || t.last.abs_diff(ns) < STEP_NANOS)
            .min_by_key(|(_, t)| (t.last.abs_diff(ns), core::cmp::Reverse(t.used)))
            .map(|(i, _)| i);
        let Some(t) = chosen.and_then(|i| st.timelines.get_mut(i)) else {
            // A new source (or a clock stepped back): anchor it at the
            // reading; the very first observation starts the reading.
            let offset = if st.timelines.is_empty() {
                0
            } else {
                i128::from(reading) - i128::from(ns)
            };
            let fresh = Timeline {
                last: ns,
                offset,
                used: tick,
                behind_since: None,
            };
            if st.timelines.len() < TIMELINES {
                st.timelines.push(fresh);
            } else if let Some(lru) = st
                .timelines
                .iter_mut()
                // Never forget the newest: "past every timeline" is progress.
                .filter(|t| t.last < newest)
                .min_by_key(|t| t.used)
            {
                *lru = fresh;
            }
            let next = clamp(i128::from(ns) + offset).max(reading);
            self.reading.store(next, Ordering::Release);
            return Instant(next);
        };
        t.last = t.last.max(ns);
        t.used = tick;
        let mapped = clamp(i128::from(ns) + t.offset);
        if mapped > reading {
            t.behind_since = None;
            let me = tick;
            for other in st.timelines.iter_mut().filter(|o| o.used != me) {
                other.behind_since = None;
            }
            self.reading.store(mapped, Ordering::Release);
            return Instant(mapped);
        }
        match t.behind_since {
            None => t.behind_since = Some(ns),
            Some(since) if ns.saturating_sub(since) >= STEP_NANOS => {
                // Nothing else moved the reading for a step of this
                // timeline's own time: it is the clock now. Re-anchor.
                t.offset = i128::from(reading) - i128::from(ns);
                t.behind_since = None;
            }
            Some(_) => {}
        }
        Instant(reading)
    }
}

impl Clock for RequestClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        Instant(self.reading.load(Ordering::Acquire))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards_and_never_freezes() {
        let c = RequestClock::default();
        let ms = |m: i64| c.observe(Timestamp::from_unix_millis(m));
        assert_eq!(ms(5_000), Instant(5_000_000_000));
        // Out of order by less than a step: ignored.
        assert_eq!(ms(1_000), Instant(5_000_000_000));
        assert_eq!(ms(5_500), Instant(5_500_000_000));
        assert_eq!(c.now(), Instant(5_500_000_000));
        // A step back of 5 s or more (here to before the epoch, read as 0)
        // re-anchors without moving the reading…
        assert_eq!(ms(-7), Instant(5_500_000_000));
        // …which then advances from the new anchor.
        assert_eq!(ms(1_000), Instant(6_500_000_000));
        // The wall clock jumps an hour ahead (credited from the nearest
        // timeline), then is stepped back: the reading keeps what it had,
        // freezes for at most a step of the stepped clock, then goes on.
        assert_eq!(ms(3_601_000), Instant(3_601_000_000_000));
        assert_eq!(ms(2_000), Instant(3_601_000_000_000));
        assert_eq!(ms(3_000), Instant(3_601_000_000_000));
        assert_eq!(ms(7_000), Instant(3_601_000_000_000));
        assert_eq!(ms(8_000), Instant(3_602_000_000_000));
        let shared = c.clone();
        shared.observe(Timestamp::from_unix_millis(9_000));
        assert_eq!(c.now(), Instant(3_603_000_000_000));
        assert_eq!(Instant(10).duration_since(Instant(20)), Nanos::from(0u64));
        assert_eq!(
            Reference::saturating_sub(&Instant(10), Nanos::from(20u64)),
            Instant(0)
        );
        assert_eq!(Instant(u64::MAX) + Nanos::from(1u64), Instant(u64::MAX));
    }

    /// Issue 11: two time sources 10 s apart, alternating, once re-added the
    /// 10 s gap on every alternation. Now the reading follows real time.
    #[test]
    fn interleaved_skewed_sources_never_add_the_gap_twice() {
        let c = RequestClock::default();
        let t0: u64 = 1_800_000_000_000;
        let mut last = Instant::ZERO;
        for i in 0..200u64 {
            let real = t0 + i * 100;
            let seen = if i % 2 == 0 { real } else { real - 10_000 };
            last = c.observe(Timestamp::from_unix_millis(i64::try_from(seen).unwrap()));
        }
        let span = last.duration_since(Instant(t0 * 1_000_000)).as_u64();
        // 199 x 100 ms really passed; the bug credited ~100 x 10 s.
        assert!(span <= 19_900_000_000, "credited {span} ns");
        assert!(span >= 19_700_000_000, "credited {span} ns");
    }

    #[test]
    fn more_sources_than_timelines_never_add_time() {
        let c = RequestClock::default();
        let t0: u64 = 1_800_000_000_000;
        let mut last = Instant::ZERO;
        for i in 0..1_000u64 {
            // 20 sources 6 s apart, round robin: more than TIMELINES.
            let seen = t0 + i * 10 - (i % 20) * 6_000;
            last = c.observe(Timestamp::from_unix_millis(i64::try_from(seen).unwrap()));
        }
        let span = last.duration_since(Instant(t0 * 1_000_000)).as_u64();
        assert!(span <= 9_990_000_000, "credited {span} ns");
    }
}
