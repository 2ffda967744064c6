//! Refusals because a backend (the key store) could not answer are recorded
//! once per window per receiving log, not once per request: an outage under
//! load must neither flood the audit log nor go unseen. The first refusal of
//! a window is recorded in full and carries the number of refusals that were
//! counted, not recorded, since the previous recorded one.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use palisade_tenancy::TenantId;

/// Receiving logs tracked separately; past this, new ones share one window
/// (memory stays bounded whatever tenant ids an outage sees).
const MAX_LOGS: usize = 4096;

#[derive(Clone, Copy)]
struct Window {
    start_ms: i64,
    suppressed: u64,
}

/// One window of backend-outage refusals per receiving log (`None`: the
/// unattributed log, and the shared overflow window).
pub(crate) struct OutageWindows {
    window_ms: i64,
    logs: Mutex<HashMap<Option<TenantId>, Window>>,
}

impl OutageWindows {
    pub(crate) fn new(window_ms: i64) -> Self {
        Self {
            window_ms: window_ms.max(1),
            logs: Mutex::new(HashMap::new()),
        }
    }

    /// A refusal for `log` at `now_ms`: `Some(n)` when it is to be recorded
    /// (`n` refusals of this log were counted, not recorded, before it),
    /// `None` when it only counts.
    pub(crate) fn admit(&self, log: Option<TenantId>, now_ms: i64) -> Option<u64> {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if logs.len() >= MAX_LOGS && !logs.contains_key(&log) {
            None
        } else {
            log
        };
        match logs.get_mut(&key) {
            Some(w)
                if now_ms >= w.start_ms && now_ms < w.start_ms.saturating_add(self.window_ms) =>
            {
                w.suppressed = w.suppressed.saturating_add(1);
                None
            }
            Some(w) => {
                let before = w.suppressed;
                *w = Window {
                    start_ms: now_ms,
                    suppressed: 0,
                };
                Some(before)
            }
            None => {
                logs.insert(
                    key,
                    Window {
                        start_ms: now_ms,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_per_window_carrying_the_count_of_the_previous_one() {
        let w = OutageWindows::new(1000);
        let t = Some(TenantId::new_v7());
        assert_eq!(w.admit(t, 0), Some(0));
        for ms in 1..10 {
            assert_eq!(w.admit(t, ms), None);
        }
        // Another log has its own window.
        assert_eq!(w.admit(None, 5), Some(0));
        assert_eq!(w.admit(t, 1000), Some(9));
        assert_eq!(w.admit(t, 1001), None);
        // A clock step back starts a new window rather than hiding records.
        assert_eq!(w.admit(t, 10), Some(1));
    }

    #[test]
    fn memory_stays_bounded_under_tenant_churn() {
        let w = OutageWindows::new(1000);
        for _ in 0..(MAX_LOGS * 3) {
            let _ = w.admit(Some(TenantId::new_v7()), 0);
        }
        let n = w.logs.lock().unwrap().len();
        assert!(n <= MAX_LOGS + 1, "{n}");
    }
}
