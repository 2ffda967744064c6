//! A `governor` clock driven by the `now` each request passes in.
//!
//! Palisade never reads a hidden clock inside a decision, so the rate limiter
//! cannot use governor's default monotonic clock. Instead every check first
//! *observes* the request's [`Timestamp`]; the clock's reading is the latest
//! time observed so far. Readings therefore never go backwards (a wall clock
//! stepped back, or requests finishing out of order, cannot refill a bucket),
//! and tests drive the limiter deterministically by passing timestamps.

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

/// The shared, monotone clock of one rate limiter (clones share the reading).
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestClock {
    latest: Arc<AtomicU64>,
}

impl RequestClock {
    /// Move the clock forward to `now` (never backwards) and return the reading.
    pub(crate) fn observe(&self, now: Timestamp) -> Instant {
        let ns = u64::try_from(now.unix_millis())
            .unwrap_or(0)
            .saturating_mul(1_000_000);
        let prev = self.latest.fetch_max(ns, Ordering::AcqRel);
        Instant(prev.max(ns))
    }
}

impl Clock for RequestClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        Instant(self.latest.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards() {
        let c = RequestClock::default();
        assert_eq!(
            c.observe(Timestamp::from_unix_millis(5_000)),
            Instant(5_000_000_000)
        );
        assert_eq!(
            c.observe(Timestamp::from_unix_millis(1_000)),
            Instant(5_000_000_000)
        );
        assert_eq!(c.now(), Instant(5_000_000_000));
        assert_eq!(
            c.observe(Timestamp::from_unix_millis(-7)),
            Instant(5_000_000_000)
        );
        let shared = c.clone();
        shared.observe(Timestamp::from_unix_millis(6_000));
        assert_eq!(c.now(), Instant(6_000_000_000));
        assert_eq!(Instant(10).duration_since(Instant(20)), Nanos::from(0u64));
        assert_eq!(
            Reference::saturating_sub(&Instant(10), Nanos::from(20u64)),
            Instant(0)
        );
        assert_eq!(Instant(u64::MAX) + Nanos::from(1u64), Instant(u64::MAX));
    }
}
