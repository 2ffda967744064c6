//! The GCRA model in integer microseconds, shared by the local fallback
//! limiter, the refused-credential budget and the Redis script's tests.
//!
//! GCRA (the Generic Cell Rate Algorithm, ITU-T I.371; as a "virtual
//! scheduling" rate limiter): a limit is one stored number, the theoretical
//! arrival time `tat` of the next request. With emission interval `T` and
//! tolerance `τ = T × (burst − 1)`:
//!
//! ```text
//! tat'  = max(tat, now)               (a missing key means tat = now)
//! allow iff tat' − now ≤ τ            (else retry after tat' − τ − now)
//! on allow: tat := tat' + T
//! remaining = (now + τ + T − tat) / T (after the request; integer division)
//! reset     = tat − now               (until the limit is fully replenished)
//! ```
//!
//! A key whose `tat ≤ now` is indistinguishable from a missing one, so state
//! may expire `tat − now` after the last allow (the Redis TTL) and sweeps may
//! drop it. Several limits are checked all or nothing: a request spends a
//! cell of every limit only when every limit allows it.

use crate::ratelimit_backend::Rate;

/// The decision of one GCRA limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GcraDecision {
    /// Allowed; store `tat`.
    Allowed {
        /// The new theoretical arrival time (µs).
        tat: u64,
        /// Requests still allowed at once after this one.
        remaining: u32,
        /// Time until fully replenished (µs).
        reset_micros: u64,
    },
    /// Refused; the state is unchanged.
    Refused {
        /// Time until one request would be allowed (µs).
        retry_after_micros: u64,
    },
}

/// One GCRA step for a limit whose stored arrival time is `tat` (`None` for
/// a key with no state) at `now` (µs). Pure: the model the Redis script
/// implements.
#[must_use]
pub fn gcra(tat: Option<u64>, now: u64, rate: Rate) -> GcraDecision {
    let t = rate.interval_micros();
    let tau = rate.tolerance_micros();
    let tat = tat.unwrap_or(now).max(now);
    if tat - now > tau {
        return GcraDecision::Refused {
            retry_after_micros: tat - tau - now,
        };
    }
    let next = tat.saturating_add(t);
    let remaining = (now
        .saturating_add(tau)
        .saturating_add(t)
        .saturating_sub(next))
        / t;
    GcraDecision::Allowed {
        tat: next,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
        reset_micros: next - now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_one_per_interval() {
        let r = Rate::new(1_000, 3);
        let mut tat = None;
        let mut rem = Vec::new();
        for _ in 0..3 {
            match gcra(tat, 10_000, r) {
                GcraDecision::Allowed {
                    tat: t, remaining, ..
                } => {
                    tat = Some(t);
                    rem.push(remaining);
                }
                GcraDecision::Refused { .. } => panic!("refused inside the burst"),
            }
        }
        assert_eq!(rem, [2, 1, 0]);
        assert_eq!(
            gcra(tat, 10_000, r),
            GcraDecision::Refused {
                retry_after_micros: 1_000
            }
        );
        assert!(matches!(
            gcra(tat, 11_000, r),
            GcraDecision::Allowed { remaining: 0, .. }
        ));
    }
}
