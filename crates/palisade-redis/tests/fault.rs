//! Fault: Redis stops mid-run and comes back. Each test starts its OWN
//! `redis-server` on a free loopback port (never the shared one), kills it
//! and restarts it. Under `fail_closed` nothing is admitted while it is
//! down; under `fallback_local` the fleet stays within the plan divided by
//! the replica count; after the restart the backend recovers by itself, and
//! each switch is reported once.

#[allow(
    dead_code,
    reason = "each test binary uses a different subset of the shared helpers"
)]
mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use palisade::{BackendEvent, LimitRequest, Plan, RateLimitBackend, RateRefusal};
use palisade_redis::{ClockSource, FailurePolicy, RedisLimiter};

use common::{Tenant, at, config, connect, key, plan};

struct Server {
    port: u16,
    child: Option<Child>,
}

impl Server {
    /// A redis-server on a free port, or `None` (skip line) without the binary.
    #[cfg(test)]
    fn start(test: &str) -> Option<Self> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var("PALISADE_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{test}: PALISADE_REQUIRE_SERVICES=1 but redis-server is not installed"
            );
            println!("skipped: {test} needs redis-server on PATH (apt-get install redis-server)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = Self { port, child: None };
        s.up();
        Some(s)
    }

    #[cfg(test)]
    fn up(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--dir", "/tmp"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kill this test's own server (by its pid, through its `Child`).
    #[cfg(test)]
    fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Tenant limit: burst 8, 10/s; key and project generous.
#[cfg(test)]
fn tenant_plan() -> Plan {
    plan((1_000, 1_000), (1_000, 1_000), (100_000, 8))
}

#[cfg(test)]
async fn limiter_on(url: &str, policy: FailurePolicy, replicas: u32) -> RedisLimiter {
    let mut cfg = config("palisade-fault", ClockSource::Caller, policy);
    cfg.replicas = replicas;
    cfg.probe_interval_ms = 100;
    cfg.deny_cache_entries = 0;
    RedisLimiter::new(
        connect(url).await,
        cfg,
        &palisade::RateLimitConfig::default(),
    )
    .unwrap()
}

#[cfg(test)]
async fn decide(rl: &RedisLimiter, req: LimitRequest<'_>) -> Result<(), RateRefusal> {
    match rl.try_check(&req) {
        Err(RateRefusal::WouldBlock) => rl.check(req).await.map(|_| ()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
async fn recover(rl: &RedisLimiter, t: &Tenant, p: &Plan, from_ms: i64) -> i64 {
    let k = key(0);
    for i in 0..200 {
        let now = from_ms + i * 200;
        let req = LimitRequest {
            principal: &k,
            scope: t.scope(None),
            plan: p,
            now: at(now),
        };
        if decide(rl, req).await.is_ok() && !rl.is_degraded() {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the backend did not recover after the restart");
}

#[test]
fn fail_closed_admits_nothing_while_redis_is_down_and_recovers_by_itself() {
    let Some(mut server) = Server::start("fail_closed") else {
        return;
    };
    rt().block_on(async {
        let rl = limiter_on(&server.url(), FailurePolicy::FailClosed, 4).await;
        let (t, p, k) = (Tenant::new(1), tenant_plan(), key(0));
        let req = |ms| LimitRequest {
            principal: &k,
            scope: t.scope(None),
            plan: &p,
            now: at(ms),
        };
        for _ in 0..8 {
            decide(&rl, req(0)).await.unwrap();
        }
        assert!(rl.take_events().is_empty());
        server.down();
        let mut admitted = 0;
        let mut unavailable = 0;
        // 5 s of requests, enough to refill the bucket many times over.
        for i in 0..50 {
            match decide(&rl, req(1_000 + i * 100)).await {
                Ok(()) => admitted += 1,
                Err(RateRefusal::Unavailable { .. }) => unavailable += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(
            admitted, 0,
            "fail_closed admitted requests while Redis was down"
        );
        assert_eq!(unavailable, 50);
        let events = rl.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(matches!(
            &events[0],
            BackendEvent::FallbackStarted {
                policy: "fail_closed",
                ..
            }
        ));
        server.up();
        recover(&rl, &t, &p, 7_000).await;
        let events = rl.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            matches!(&events[0], BackendEvent::FallbackEnded { decisions, .. } if *decisions >= 50)
        );
    });
}

#[test]
fn fallback_local_keeps_the_fleet_within_the_divided_limit_and_recovers() {
    let Some(mut server) = Server::start("fallback_local") else {
        return;
    };
    rt().block_on(async {
        const REPLICAS: u32 = 4;
        let mut fleet = Vec::new();
        for _ in 0..REPLICAS {
            fleet.push(limiter_on(&server.url(), FailurePolicy::FallbackLocal, REPLICAS).await);
        }
        let (t, p) = (Tenant::new(2), tenant_plan());
        let keys: Vec<_> = (0..8).map(key).collect();
        server.down();
        // 2 s of caller time, 20 requests per replica per 100 ms slot.
        let mut admitted = 0u64;
        for slot in 0..20i64 {
            for (n, rl) in fleet.iter().enumerate() {
                for j in 0..20usize {
                    let req = LimitRequest {
                        principal: &keys[(n + j) % keys.len()],
                        scope: t.scope(Some(j % 2)),
                        plan: &p,
                        now: at(slot * 100),
                    };
                    admitted += u64::from(decide(rl, req).await.is_ok());
                }
            }
        }
        // The plan over 1.9 s: burst 8 + 10/s x 1.9 s = 27; divided by 4 and
        // summed: each replica burst 2 + 2.5/s x 1.9 s = 6.75 -> at most 6,
        // so the fleet admits at most 4 x 6 = 24 <= 27.
        assert!(
            admitted <= 27,
            "the fleet admitted {admitted} > the plan's 27"
        );
        assert!(admitted >= 4 * 2, "the fallback admitted only {admitted}");
        for rl in &fleet {
            let ev = rl.take_events();
            assert_eq!(ev.len(), 1, "{ev:?}");
            assert!(matches!(
                &ev[0],
                BackendEvent::FallbackStarted {
                    policy: "fallback_local",
                    ..
                }
            ));
        }
        server.up();
        for rl in &fleet {
            recover(rl, &t, &p, 5_000).await;
            let ev = rl.take_events();
            assert!(
                matches!(&ev[..], [BackendEvent::FallbackEnded { .. }]),
                "{ev:?}"
            );
        }
    });
}
