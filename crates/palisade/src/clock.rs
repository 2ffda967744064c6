//! A `governor` clock driven by the `now` each request passes in.
//!
//! Palisade never reads a hidden clock inside a decision, so the rate limiter
//! cannot use governor's default monotonic clock. Instead every check first
//! *observes* the request's [`Timestamp`], and the limiter's clock advances by
//! how far that time moved forward since the last observation:
//!
//! - it never goes backwards: requests finishing out of order, or a wall
//!   clock stepped back, cannot refill a bucket;
//! - a wall clock stepped back by more than [`STEP`] re-anchors it, so it
//!   keeps advancing from the new time instead of freezing (and refusing
//!   everyone) until the wall clock catches up again;
//! - tests drive it deterministically by passing timestamps.

use core::ops::Add;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use palisade_tenancy::Timestamp;

/// A reading of [`RequestClock`]: nanoseconds since the Unix epoch.
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

/// A backward jump of the observed time at least this large is a clock
/// step (re-anchor); smaller ones are requests arriving out of order (ignored).
pub(crate) const STEP_NANOS: u64 = 5_000_000_000;

/// The shared, monotone clock of one rate limiter (clones share the reading).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestClock {
    /// The limiter's reading (nanoseconds): the sum of forward moves.
    reading: Arc<AtomicU64>,
    /// The last observed time (nanoseconds since the Unix epoch).
    last_seen: Arc<AtomicU64>,
}

impl RequestClock {
    /// Advance by however far `now` is past the last observed time, and
    /// return the reading.
    pub(crate) fn observe(&self, now: Timestamp) -> Instant {
        let ns = u64::try_from(now.unix_millis())
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        let mut seen = self.last_seen.load(Ordering::Acquire);
        loop {
            let next = if ns > seen || seen - ns >= STEP_NANOS {
                ns
            } else {
                break;
            };
            match self.last_seen.compare_exchange_weak(
                seen,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if ns > seen {
                        self.reading.fetch_add(ns - seen, Ordering::AcqRel);
                    }
                    break;
                }
                Err(actual) => seen = actual,
            }
        }
        Instant(self.reading.load(Ordering::Acquire))
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
        // The wall clock jumps an hour ahead, then is stepped back: the
        // reading keeps what it had and goes on from there, never frozen.
        assert_eq!(ms(3_601_000), Instant(3_606_500_000_000));
        assert_eq!(ms(2_000), Instant(3_606_500_000_000));
        assert_eq!(ms(3_000), Instant(3_607_500_000_000));
        let shared = c.clone();
        shared.observe(Timestamp::from_unix_millis(4_000));
        assert_eq!(c.now(), Instant(3_608_500_000_000));
        assert_eq!(Instant(10).duration_since(Instant(20)), Nanos::from(0u64));
        assert_eq!(
            Reference::saturating_sub(&Instant(10), Nanos::from(20u64)),
            Instant(0)
        );
        assert_eq!(Instant(u64::MAX) + Nanos::from(1u64), Instant(u64::MAX));
    }
}
