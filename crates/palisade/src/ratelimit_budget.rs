//! The refused-credential budget per client address block, in bounded memory.
//!
//! Refusals are counted per IPv4 address and per IPv6 prefix (a /64 by
//! default: one customer line, which an attacker can rotate through freely).
//! Past its budget a block gets 429s; its further refusals are not audited
//! one by one but counted in a *suppression window*, and each window ends
//! in one aggregated record ("N refusals from 2001:db8::/64 suppressed"),
//! so a flood neither fills the log nor goes unseen.
//!
//! Memory is bounded by `max_tracked_addresses`: when the table is full,
//! blocks indistinguishable from fresh are swept (amortised: at most one
//! sweep per quarter table of inserts); blocks beyond the bound share one
//! *untracked* budget, so address churn neither grows memory nor escapes
//! the budget.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use palisade_tenancy::Timestamp;

use crate::config::RateLimitConfig;
use crate::error::{PalisadeError, Result};
use crate::ratelimit::{LimitLevel, RateLimited};
use crate::ratelimit_backend::Rate;
use crate::ratelimit_gcra::{GcraDecision, gcra};

/// The unit the refused-credential budget counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AddressBlock {
    /// One IPv4 address (IPv4-mapped IPv6 addresses count as IPv4).
    V4(Ipv4Addr),
    /// An IPv6 prefix: the network address and its length.
    V6 {
        /// The address with the bits past `prefix` cleared.
        network: Ipv6Addr,
        /// The prefix length (1–128).
        prefix: u8,
    },
    /// Every block past `max_tracked_addresses`, counted together.
    Untracked,
}

impl AddressBlock {
    /// The block of `ip` when IPv6 is counted by `/ipv6_prefix` (clamped to 1–128).
    #[must_use]
    pub fn of(ip: IpAddr, ipv6_prefix: u8) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => {
                let prefix = ipv6_prefix.clamp(1, 128);
                let mask = u128::MAX << (128 - u32::from(prefix));
                Self::V6 {
                    network: Ipv6Addr::from(u128::from(v6) & mask),
                    prefix,
                }
            }
        }
    }
}

impl core::fmt::Display for AddressBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::V4(a) => write!(f, "{a}/32"),
            Self::V6 { network, prefix } => write!(f, "{network}/{prefix}"),
            Self::Untracked => f.write_str("untracked addresses"),
        }
    }
}

/// What the budget says about one refused credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureVerdict {
    /// Within budget: audit this refusal as usual.
    Record,
    /// The first refusal over budget: answer 429 and audit this one
    /// (noting that further refusals from the block are suppressed).
    SuppressStart(RateLimited),
    /// Over budget: answer 429; not audited one by one but counted in the
    /// block's suppression window.
    Suppressed(RateLimited),
}

impl FailureVerdict {
    /// The 429 to answer, if over budget.
    #[must_use]
    pub fn limited(&self) -> Option<&RateLimited> {
        match self {
            Self::Record => None,
            Self::SuppressStart(r) | Self::Suppressed(r) => Some(r),
        }
    }
}

/// A finished suppression window: write one aggregated audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// The block whose refusals were suppressed.
    pub block: AddressBlock,
    /// How many refusals were not audited one by one.
    pub count: u64,
    /// The time of the first of them.
    pub first: Timestamp,
    /// The time of the last of them.
    pub last: Timestamp,
}

/// The budget's answer for one refused credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureCheck {
    /// The request's address block.
    pub block: AddressBlock,
    /// What to do with this refusal.
    pub verdict: FailureVerdict,
    /// A suppression window this check closed (a window's length passed
    /// since it started).
    pub ended: Option<Suppression>,
}

/// The settings of the refused-credential budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetConfig {
    /// The budget per block.
    pub rate: Rate,
    /// IPv6 addresses are counted by this prefix length.
    pub ipv6_prefix: u8,
    /// The length of one suppression window (µs).
    pub window_micros: u64,
    /// At most this many blocks hold state.
    pub max_tracked: usize,
    /// The `RateLimit-Policy` value of the 429s.
    pub policy: Arc<str>,
}

impl BudgetConfig {
    /// From the rate-limit configuration.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] for an invalid rate, prefix or bound.
    pub fn from_config(cfg: &RateLimitConfig) -> Result<Self> {
        let rate = Rate::from_config(cfg.failed_auth_per_ip, "rate_limits.failed_auth_per_ip")?;
        if !(1..=128).contains(&cfg.failed_auth_ipv6_prefix) {
            return Err(PalisadeError::config(
                "rate_limits.failed_auth_ipv6_prefix",
                "must be between 1 and 128",
            ));
        }
        if cfg.max_tracked_addresses == 0 || cfg.suppression_window_seconds == 0 {
            return Err(PalisadeError::config(
                "rate_limits.max_tracked_addresses",
                "max_tracked_addresses and suppression_window_seconds must be at least 1",
            ));
        }
        let window = rate
            .interval_micros()
            .saturating_mul(u64::from(rate.burst()));
        let policy = format!(
            "\"address\";q={};w={}",
            rate.burst(),
            crate::ratelimit::ceil_secs_micros(window).max(1)
        );
        Ok(Self {
            rate,
            ipv6_prefix: cfg.failed_auth_ipv6_prefix,
            window_micros: u64::from(cfg.suppression_window_seconds).saturating_mul(1_000_000),
            max_tracked: usize::try_from(cfg.max_tracked_addresses).unwrap_or(usize::MAX),
            policy: policy.into(),
        })
    }
}

/// An open suppression window.
#[derive(Clone, Copy, Debug)]
struct Window {
    started_at: u64,
    last_at: u64,
    count: u64,
    first: Timestamp,
    last: Timestamp,
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    tat: Option<u64>,
    window: Option<Window>,
}

impl Entry {
    fn is_fresh(&self, at: u64) -> bool {
        self.window.is_none() && self.tat.is_none_or(|t| t <= at)
    }
}

#[derive(Debug, Default)]
struct State {
    blocks: HashMap<AddressBlock, Entry>,
    untracked: Entry,
    inserts_since_sweep: usize,
}

/// The in-process refused-credential budget (see the module docs).
#[derive(Debug)]
pub(crate) struct AddressBudget {
    cfg: BudgetConfig,
    state: Mutex<State>,
}

fn close(block: AddressBlock, w: Window) -> Option<Suppression> {
    (w.count > 0).then_some(Suppression {
        block,
        count: w.count,
        first: w.first,
        last: w.last,
    })
}

/// One step of the budget for `entry` at limiter time `at` (µs) and request
/// time `now`: the model the Redis budget script implements as well.
fn budget_step(
    entry: &mut Entry,
    block: AddressBlock,
    cfg: &BudgetConfig,
    at: u64,
    now: Timestamp,
) -> (FailureVerdict, Option<Suppression>) {
    match gcra(entry.tat, at, cfg.rate) {
        GcraDecision::Allowed { tat, .. } => {
            entry.tat = Some(tat);
            // Back within budget (audited again), but the window stays open
            // until its length has passed: one aggregated record per window.
            let ended = match entry.window {
                Some(w) if at.saturating_sub(w.started_at) >= cfg.window_micros => {
                    entry.window = None;
                    close(block, w)
                }
                _ => None,
            };
            (FailureVerdict::Record, ended)
        }
        GcraDecision::Refused { retry_after_micros } => {
            let limited = RateLimited::new(
                LimitLevel::Address,
                Duration::from_micros(retry_after_micros),
                Arc::clone(&cfg.policy),
            );
            match &mut entry.window {
                None => {
                    entry.window = Some(Window {
                        started_at: at,
                        last_at: at,
                        count: 0,
                        first: now,
                        last: now,
                    });
                    (FailureVerdict::SuppressStart(limited), None)
                }
                Some(w) => {
                    let mut ended = None;
                    if at.saturating_sub(w.started_at) >= cfg.window_micros {
                        ended = close(block, *w);
                        *w = Window {
                            started_at: at,
                            last_at: at,
                            count: 0,
                            first: now,
                            last: now,
                        };
                    }
                    if w.count == 0 {
                        w.first = now;
                    }
                    w.count += 1;
                    w.last = now;
                    w.last_at = at;
                    (FailureVerdict::Suppressed(limited), ended)
                }
            }
        }
    }
}

impl AddressBudget {
    pub(crate) fn new(cfg: BudgetConfig) -> Self {
        Self {
            cfg,
            state: Mutex::new(State::default()),
        }
    }

    /// Count one refusal from `ip`; `at` is the limiter's clock (µs).
    pub(crate) fn check(&self, ip: IpAddr, at: u64, now: Timestamp) -> FailureCheck {
        let block = AddressBlock::of(ip, self.cfg.ipv6_prefix);
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &mut *guard;
        if !st.blocks.contains_key(&block) && st.blocks.len() >= self.cfg.max_tracked {
            // Sweep at most once per quarter table of inserts (amortised O(1)).
            if st.inserts_since_sweep >= self.cfg.max_tracked / 4 {
                st.blocks.retain(|_, e| !e.is_fresh(at));
                st.inserts_since_sweep = 0;
            }
        }
        let (entry, counted_as) = if let Some(e) = st.blocks.get_mut(&block) {
            (e, block)
        } else if st.blocks.len() < self.cfg.max_tracked {
            st.inserts_since_sweep += 1;
            (st.blocks.entry(block).or_default(), block)
        } else {
            (&mut st.untracked, AddressBlock::Untracked)
        };
        let (verdict, ended) = budget_step(entry, counted_as, &self.cfg, at, now);
        FailureCheck {
            block,
            verdict,
            ended,
        }
    }

    /// Close the windows idle for a whole window length.
    pub(crate) fn drain(&self, at: u64) -> Vec<Suppression> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let window = self.cfg.window_micros;
        let mut out = Vec::new();
        let mut take = |block: AddressBlock, e: &mut Entry| {
            if let Some(w) = e.window
                && at.saturating_sub(w.last_at) >= window
            {
                e.window = None;
                out.extend(close(block, w));
            }
        };
        for (b, e) in &mut st.blocks {
            take(*b, e);
        }
        take(AddressBlock::Untracked, &mut st.untracked);
        st.blocks.retain(|_, e| !e.is_fresh(at));
        out
    }

    /// Blocks holding state.
    pub(crate) fn tracked(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocks
            .len()
    }

    pub(crate) fn sweep(&self, at: u64) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.blocks.retain(|_, e| !e.is_fresh(at));
        st.blocks.shrink_to_fit();
        st.inserts_since_sweep = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_tracked: u32, prefix: u8) -> AddressBudget {
        let cfg = RateLimitConfig {
            failed_auth_per_ip: crate::RateConfig::per_second(1).with_burst(2),
            max_tracked_addresses: max_tracked,
            failed_auth_ipv6_prefix: prefix,
            suppression_window_seconds: 10,
            ..RateLimitConfig::default()
        };
        AddressBudget::new(BudgetConfig::from_config(&cfg).unwrap())
    }

    fn ts(us: u64) -> Timestamp {
        Timestamp::from_unix_millis(i64::try_from(us / 1_000).unwrap())
    }

    #[test]
    fn blocks_by_ipv4_address_and_ipv6_prefix() {
        let v6 = |s: &str, p| AddressBlock::of(s.parse().unwrap(), p).to_string();
        assert_eq!(v6("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::/64");
        assert_eq!(v6("2001:db8:1:2:aaaa::1", 48), "2001:db8:1::/48");
        assert_eq!(v6("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(v6("2001:db8::1", 0), "::/1");
        assert_eq!(v6("::ffff:192.0.2.7", 64), "192.0.2.7/32");
        assert_eq!(v6("192.0.2.7", 64), "192.0.2.7/32");
    }

    #[test]
    fn a_window_of_suppressed_refusals_starts_counts_and_ends_once() {
        let b = budget(16, 64);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let at = 1_000_000_000u64;
        assert_eq!(b.check(ip, at, ts(at)).verdict, FailureVerdict::Record);
        assert_eq!(b.check(ip, at, ts(at)).verdict, FailureVerdict::Record);
        let c = b.check(ip, at, ts(at));
        assert!(matches!(c.verdict, FailureVerdict::SuppressStart(_)));
        for _ in 0..5 {
            let c = b.check(ip, at, ts(at));
            assert!(matches!(c.verdict, FailureVerdict::Suppressed(_)));
            assert_eq!(c.ended, None);
        }
        // A second later one refusal is within budget again: audited, and
        // the window stays open until its 10 s have passed.
        let c = b.check(ip, at + 1_000_000, ts(at + 1_000_000));
        assert_eq!(c.verdict, FailureVerdict::Record);
        assert_eq!(c.ended, None);
        assert!(
            b.drain(at + 5_000_000).is_empty(),
            "not idle for a window yet"
        );
        let ended = b.drain(at + 11_000_000);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].count, 5);
        assert_eq!(ended[0].block.to_string(), "2001:db8::/64");
        assert_eq!(ended[0].first, ts(at));
        assert!(b.drain(at + 100_000_000).is_empty(), "already reported");
    }

    #[test]
    fn an_ongoing_flood_reports_once_per_window_and_drains_when_it_stops() {
        let b = budget(16, 64);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut ended = Vec::new();
        // 100 refusals per second for 25 s: far over budget throughout.
        for i in 0..2_500u64 {
            let at = 1_000_000_000 + i * 10_000;
            ended.extend(b.check(ip, at, ts(at)).ended);
        }
        assert_eq!(ended.len(), 2, "one record per 10 s window: {ended:?}");
        let total: u64 = ended.iter().map(|s| s.count).sum();
        let rest = b.drain(1_000_000_000 + 40_000_000);
        assert_eq!(rest.len(), 1);
        // Every refusal is accounted for: audited, or counted in a window.
        let audited_or_started = 2_500 - total - rest[0].count;
        assert!(audited_or_started <= 2 + 25 + 3, "{audited_or_started}");
        assert!(b.drain(1_000_000_000 + 80_000_000).is_empty());
    }

    #[test]
    fn blocks_past_the_bound_share_one_budget() {
        let b = budget(4, 64);
        let at = 1_000_000_000u64;
        for i in 0..4u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(b.check(ip, at, ts(at)).verdict, FailureVerdict::Record);
        }
        let mut recorded = 0;
        for i in 4..1_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            if b.check(ip, at, ts(at)).verdict == FailureVerdict::Record {
                recorded += 1;
            }
        }
        assert_eq!(recorded, 2, "the untracked blocks share one burst");
        assert!(b.tracked() <= 4);
        let rest = b.drain(at + 60_000_000);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].block, AddressBlock::Untracked);
        assert_eq!(rest[0].count, 1_000 - 4 - 2 - 1);
        // Later, the idle blocks are swept and a new one is tracked again.
        let ip = IpAddr::V4(Ipv4Addr::from(0x0b00_0000));
        assert_eq!(
            b.check(ip, at + 60_000_000, ts(at + 60_000_000)).verdict,
            FailureVerdict::Record
        );
        assert_eq!(b.tracked(), 1);
    }
}
