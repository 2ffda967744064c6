//! Issue 11 regression: opening (replaying) one tenant's log does not hold
//! a lock other tenants need; they keep appending meanwhile.
#![expect(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

mod common;

use common::*;
use palisade_audit::*;
use palisade_tenancy::TenantId;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A factory whose open of tenant 1 (a "large file") only finishes once the
/// test has seen another tenant's append complete.
struct SlowFirstTenant {
    started: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl SinkFactory for SlowFirstTenant {
    fn open(&self, t: TenantId) -> Result<(Box<dyn AuditSink>, Resume)> {
        if t == tenant(1) {
            self.started.lock().unwrap().send(()).unwrap();
            // Without the fix the other tenant's append waits for this open,
            // which waits for that append: a deadlock, turned into a failure
            // (not a hang) by this bound.
            if self
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(20))
                .is_err()
            {
                return Err(AuditError::Io(std::io::Error::other(
                    "another tenant was blocked while tenant 1 was opening",
                )));
            }
        }
        Ok((Box::new(MemorySink::new()), Resume::default()))
    }
}

#[test]
fn other_tenants_append_while_one_replays() {
    let (started_tx, started_rx) = channel();
    let (release_tx, release_rx) = channel();
    let factory = SlowFirstTenant {
        started: Mutex::new(started_tx),
        release: Mutex::new(release_rx),
    };
    let log = Arc::new(AuditLog::new(Box::new(factory), hmac_signer("k1")));
    let slow = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || log.append(sample_event(tenant(1), 0)))
    };
    started_rx.recv().unwrap();
    // Tenant 1 is mid-open: tenant 2 is opened and appended to meanwhile.
    log.append(sample_event(tenant(2), 0)).unwrap();
    log.append(sample_event(tenant(2), 1)).unwrap();
    release_tx.send(()).unwrap();
    slow.join().unwrap().unwrap();
    assert_eq!(log.with_tenant(tenant(1), |l| l.size()).unwrap(), 1);
    assert_eq!(log.with_tenant(tenant(2), |l| l.size()).unwrap(), 2);
}
