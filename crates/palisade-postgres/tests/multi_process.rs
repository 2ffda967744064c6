//! Two processes of the `replicas` example sharing one database: keys
//! issued in one verify in the other, revocation propagation (latency
//! distribution printed), shared grants, shared usage counters.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestDb, secret_file};
use palisade_tenancy::TenantId;

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

#[cfg(test)]
impl Proc {
    fn start(url: &str, pepper: &str, tenant: TenantId) -> Self {
        let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_palisade-pg"));
        assert!(bin.exists(), "build the example first: {}", bin.display());
        let mut child = Command::new(bin)
            .args(["replica", pepper, &tenant.to_string()])
            .env("PALISADE_POSTGRES_URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn read(&mut self) -> String {
        let mut s = String::new();
        self.stdout.read_line(&mut s).unwrap();
        s.trim_end().to_owned()
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.read()
    }

    fn stop(mut self) {
        self.send("quit");
        let _ = self.child.wait();
    }
}

#[cfg(test)]
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_keys_revocations_grants_and_usage_counters() {
    let Some(db) = TestDb::new("two_processes_share_keys").await else {
        return;
    };
    let pepper = secret_file("pepper", &"6e".repeat(32));
    let tenant = TenantId::new_v7();
    let url = db.app_url();
    let mut a = Proc::start(&url, &pepper, tenant);
    let mut b = Proc::start(&url, &pepper, tenant);

    // Keys issued in A verify in B (and the other way round).
    let issued = a.ask("issue");
    let (key, _) = issued.split_once(' ').unwrap();
    assert_eq!(b.ask(&format!("verify {key}")), "ok");
    let issued = b.ask("issue");
    let (key_b, _) = issued.split_once(' ').unwrap();
    assert_eq!(a.ask(&format!("verify {key_b}")), "ok");

    // Shared usage counter: 6 uses in all, alternating processes.
    let issued = a.ask("issue 6");
    let (limited, _) = issued.split_once(' ').unwrap();
    let mut ok = 0;
    for i in 0..12 {
        let p = if i % 2 == 0 { &mut a } else { &mut b };
        if p.ask(&format!("verify {limited}")) == "ok" {
            ok += 1;
        }
    }
    assert_eq!(ok, 6);

    // Shared grants: made in A, used in B, ended in A, refused in B.
    let grant = a.ask("grant");
    assert!(grant.starts_with("bg_"), "{grant}");
    assert_eq!(b.ask(&format!("staff {grant}")), "ok");
    assert_eq!(a.ask(&format!("end {grant}")), "ended");
    let t0 = Instant::now();
    let mut refused = false;
    while t0.elapsed() < Duration::from_secs(20) {
        if b.ask(&format!("staff {grant}")) != "ok" {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(refused, "the end of the grant reached B");

    // Revocation propagation, 100 times: revoke in A, B watching.
    let mut lat = Vec::with_capacity(100);
    for _ in 0..100 {
        let issued = a.ask("issue");
        let (key, id) = issued.split_once(' ').unwrap();
        assert_eq!(b.ask(&format!("verify {key}")), "ok", "B caches it");
        assert_eq!(b.ask(&format!("watch {key}")), "watching");
        let t0 = Instant::now();
        assert_eq!(a.ask(&format!("revoke {id}")), "revoked");
        assert_eq!(b.read(), "refused");
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!(
        "revocation A->B over {} revocations: min {:?} p50 {:?} p90 {:?} p99 {:?} max {:?}",
        lat.len(),
        lat[0],
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );
    a.stop();
    b.stop();
    let _ = std::fs::remove_file(&pepper);
    db.drop_db().await;
}
