//! In-process state of the Redis backend: the deny cache and the fallback
//! limiter. Both are bounded maps that sweep expired entries when full.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use palisade::{GcraDecision, LimitLevel, Rate, gcra};

/// A bounded map of `key → time (µs)` whose entries are dead once the time
/// has passed. Full: dead entries are swept (at most once per quarter of
/// the capacity of inserts); still full: `insert` refuses.
#[derive(Debug)]
struct Bounded {
    map: HashMap<String, u64>,
    cap: usize,
    inserts: usize,
}

impl Bounded {
    fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap,
            inserts: 0,
        }
    }

    fn has_room(&mut self, key: &str, now: u64) -> bool {
        if self.map.contains_key(key) || self.map.len() < self.cap {
            return true;
        }
        if self.inserts >= self.cap / 4 {
            self.map.retain(|_, t| *t > now);
            self.inserts = 0;
        }
        self.map.len() < self.cap
    }

    fn insert(&mut self, key: &str, t: u64, now: u64) -> bool {
        if !self.has_room(key, now) {
            return false;
        }
        if let Some(v) = self.map.get_mut(key) {
            *v = t;
        } else {
            self.inserts += 1;
            self.map.insert(key.to_owned(), t);
        }
        true
    }
}

/// Keys over their limit until their retry time (caller clock), answered
/// locally so an abusive client costs no round trip until it may retry.
#[derive(Debug)]
pub(crate) struct DenyCache {
    inner: Option<Mutex<Bounded>>,
}

impl DenyCache {
    pub(crate) fn new(entries: usize) -> Self {
        Self {
            inner: (entries > 0).then(|| Mutex::new(Bounded::new(entries))),
        }
    }

    /// The longest wait (µs) of any of `keys` still denied at `now`.
    pub(crate) fn lookup<'k>(
        &self,
        keys: impl Iterator<Item = (&'k str, LimitLevel)>,
        now: u64,
    ) -> Option<(LimitLevel, u64)> {
        let m = self.inner.as_ref()?;
        let m = m.lock().unwrap_or_else(PoisonError::into_inner);
        let mut worst: Option<(LimitLevel, u64)> = None;
        for (k, level) in keys {
            if let Some(&until) = m.map.get(k)
                && until > now
                && worst.is_none_or(|(_, w)| until - now > w)
            {
                worst = Some((level, until - now));
            }
        }
        worst
    }

    pub(crate) fn deny(&self, key: &str, until: u64, now: u64) {
        if let Some(m) = &self.inner {
            let mut m = m.lock().unwrap_or_else(PoisonError::into_inner);
            // A full cache of live denials only loses the shortcut.
            let _ = m.insert(key, until, now);
        }
    }
}

/// The answer of the fallback limiter.
#[derive(Debug)]
pub(crate) enum Local {
    Allowed {
        level: LimitLevel,
        remaining: u32,
        reset: u64,
    },
    Refused {
        level: LimitLevel,
        retry: u64,
    },
    /// The table is full of live state: refuse rather than forget a limit.
    Full,
}

/// The limiter used under `fallback_local`: the same GCRA as the script,
/// all or nothing, on the rates the caller passes (already divided).
#[derive(Debug)]
pub(crate) struct Fallback {
    inner: Mutex<Bounded>,
}

impl Fallback {
    pub(crate) fn new(entries: usize) -> Self {
        Self {
            inner: Mutex::new(Bounded::new(entries.max(1))),
        }
    }

    pub(crate) fn check(&self, limits: &[(&str, LimitLevel, Rate)], now: u64) -> Local {
        let mut m = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut worst: Option<(LimitLevel, u64)> = None;
        let mut next = [0u64; 3];
        for (i, (key, level, rate)) in limits.iter().enumerate() {
            match gcra(m.map.get(*key).copied(), now, *rate) {
                GcraDecision::Refused { retry_after_micros } => {
                    if worst.is_none_or(|(_, w)| retry_after_micros > w) {
                        worst = Some((*level, retry_after_micros));
                    }
                }
                GcraDecision::Allowed { tat, .. } => {
                    if let Some(slot) = next.get_mut(i) {
                        *slot = tat;
                    }
                }
            }
        }
        if let Some((level, retry)) = worst {
            return Local::Refused { level, retry };
        }
        let mut best: Option<(LimitLevel, u32, u64)> = None;
        for (i, (key, level, rate)) in limits.iter().enumerate() {
            let tat = next.get(i).copied().unwrap_or(now);
            if !m.insert(key, tat, now) {
                return Local::Full;
            }
            let t = rate.interval_micros();
            let left = (now + rate.tolerance_micros() + t).saturating_sub(tat) / t;
            let left = u32::try_from(left).unwrap_or(u32::MAX);
            if best.is_none_or(|(_, l, _)| left < l) {
                best = Some((*level, left, tat.saturating_sub(now)));
            }
        }
        match best {
            Some((level, remaining, reset)) => Local::Allowed {
                level,
                remaining,
                reset,
            },
            None => Local::Full,
        }
    }
}
