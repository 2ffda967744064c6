//! The whole request path in memory (verify key → scope → rate limit → RBAC
//! with a cached key mask → audit append), and its parts for comparison.
//!
//! `cargo bench -p palisade --bench request_path -- --warm-up-time 1 --measurement-time 3`
//! After criterion, prints p50/p99 of single `authorize` calls.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use palisade::apikey::{NewKey, VerifyContext};
use palisade::audit::{
    Actor, AuditError, AuditEvent, AuditSink, Checkpoint, Outcome, Record, Resource, Resume,
    SinkFactory,
};
use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{Credential, Palisade, PalisadeConfig, PlanConfig, RateConfig, Request};

/// Stores nothing (the Merkle tree and checkpoints are still computed), so
/// millions of iterations do not fill memory.
struct Discard;

impl AuditSink for Discard {
    fn append(&mut self, _: &Record<'_>) -> Result<(), AuditError> {
        Ok(())
    }
    fn checkpoint(&mut self, _: &Checkpoint) -> Result<(), AuditError> {
        Ok(())
    }
    fn commit(&mut self) -> Result<(), AuditError> {
        Ok(())
    }
    fn export(&mut self, _: TenantId, _: &mut dyn Write) -> Result<(), AuditError> {
        Ok(())
    }
}

struct DiscardSinks;

impl SinkFactory for DiscardSinks {
    fn open(&self, _: TenantId) -> Result<(Box<dyn AuditSink>, Resume), AuditError> {
        Ok((Box::new(Discard), Resume::default()))
    }
}

struct Setup {
    palisade: Palisade,
    key: String,
    scope: Scope,
    now: Timestamp,
    ann: Principal,
}

fn setup() -> Result<Setup, Box<dyn std::error::Error>> {
    let tenant = TenantId::new_v7();
    let policy = format!(
        "version = 1\npermissions = [\"inbox:read\", \"inbox:write\", \"billing:read\"]\n\
         [[roles]]\nname = \"agent\"\npermissions = [\"inbox:*\", \"billing:read\"]\n\
         [[bindings]]\nprincipal = \"user:ann@acme.example\"\nrole = \"agent\"\nscope = \"{tenant}\"\n"
    );
    let mut cfg = PalisadeConfig::default();
    let big = RateConfig::per_second(1_000_000_000);
    cfg.rate_limits
        .plans
        .insert("bench".into(), PlanConfig::new(big, big, big));
    cfg.rate_limits.default_plan = "bench".into();
    let palisade = Palisade::builder(cfg)
        .policy_toml(&policy)
        .audit_sinks(Box::new(DiscardSinks))
        .build()?;
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let scope = Scope::tenant(tenant);
    let ann = Principal::user("ann@acme.example")?;
    let new = NewKey::new(scope, "bench")
        .owner(ann.clone())
        .scopes(["inbox:*"])?;
    let key = palisade
        .keys_unchecked()
        .issue(new, now)?
        .expose_secret()
        .to_owned();
    Ok(Setup {
        palisade,
        key,
        scope,
        now,
        ann,
    })
}

fn bench(c: &mut Criterion) {
    let Ok(s) = setup() else {
        eprintln!("benchmark set-up failed");
        return;
    };
    let p = &s.palisade;
    let req = |perm| Request::new(Credential::ApiKey(&s.key), perm, "inbox", "conv-1", s.now);
    let mut g = c.benchmark_group("request_path");
    g.bench_function("authorize_allowed", |b| {
        b.iter(|| black_box(p.authorize(black_box(&req("inbox:read"))).is_ok()))
    });
    g.bench_function("authorize_denied_rbac", |b| {
        b.iter(|| black_box(p.authorize(black_box(&req("billing:read"))).is_err()))
    });
    let bad = Request::new(
        Credential::ApiKey("pal_live_garbage"),
        "inbox:read",
        "inbox",
        "conv-1",
        s.now,
    );
    g.bench_function("authorize_malformed_key", |b| {
        b.iter(|| black_box(p.authorize(black_box(&bad)).is_err()))
    });
    g.finish();

    // The parts, measured the same way, for the ratio.
    let mut g = c.benchmark_group("parts");
    let ctx = VerifyContext::new(s.now);
    g.bench_function("apikey_verify", |b| {
        b.iter(|| black_box(p.keys_unchecked().verify(black_box(&s.key), &ctx).is_ok()))
    });
    let ann = &s.ann;
    g.bench_function("ratelimit_check", |b| {
        b.iter(|| {
            let req = palisade::LimitRequest {
                principal: ann,
                scope: s.scope,
                plan: p.rate_plans().for_tenant(s.scope.tenant_id()),
                now: s.now,
            };
            black_box(p.rate_limiter().try_check(black_box(&req)).is_ok())
        })
    });
    let Ok(mask) = p.with_policy(|pol, _| pol.scope_mask(&["inbox:*"])) else {
        return;
    };
    g.bench_function("rbac_check_named", |b| {
        b.iter(|| {
            let subject = palisade::rbac::Subject::new(ann, s.scope, s.now).with_key_scopes(&mask);
            p.with_policy(|pol, _| {
                black_box(
                    pol.check_named(&subject, black_box("inbox:read"))
                        .is_allow(),
                )
            })
        })
    });
    g.bench_function("audit_append", |b| {
        b.iter(|| {
            let ev = Actor::new(ann.clone()).and_then(|actor| {
                let resource = Resource::new("inbox", "conv-1")?;
                AuditEvent::new(
                    s.now,
                    s.scope,
                    actor,
                    "inbox.read",
                    resource,
                    Outcome::Allowed,
                )
            });
            black_box(ev.and_then(|ev| p.audit_log().append(ev)).is_ok())
        })
    });
    g.finish();

    // p50 / p99 of single calls (includes the timer's own cost, ~20-40 ns).
    let mut samples: Vec<u128> = (0..200_000)
        .map(|_| {
            let t = Instant::now();
            black_box(p.authorize(&req("inbox:read")).is_ok());
            t.elapsed().as_nanos()
        })
        .collect();
    samples.sort_unstable();
    let pct = |q: usize| samples.get(samples.len() * q / 100).copied().unwrap_or(0);
    println!(
        "authorize_allowed single-call latency: p50 {} ns, p99 {} ns, max {} ns",
        pct(50),
        pct(99),
        samples.last().copied().unwrap_or(0)
    );
}

/// The tower layer in-process (no sockets): the same handler with and
/// without `PalisadeLayer`, security headers on both.
#[cfg(feature = "axum")]
fn layer(c: &mut Criterion) {
    use axum::routing::get;
    use tower::ServiceExt;
    let (Ok(s), Ok(rt)) = (
        setup(),
        tokio::runtime::Builder::new_current_thread().build(),
    ) else {
        eprintln!("benchmark set-up failed");
        return;
    };
    let Ok(headers) = palisade::SecurityHeaders::api(&palisade::HttpConfig::default()) else {
        return;
    };
    let handler = || async { "[]" };
    let open = headers.apply(axum::Router::new().route("/inbox", get(handler)));
    let guarded = headers.apply(
        axum::Router::new()
            .route("/inbox", get(handler))
            .route_layer(palisade::PalisadeLayer::new(
                s.palisade.clone(),
                "inbox:read",
            )),
    );
    let bearer = format!("Bearer {}", s.key);
    let request = |auth: bool| {
        let mut b = axum::http::Request::builder().uri("/inbox");
        if auth {
            b = b.header("authorization", bearer.as_str());
        }
        b.body(axum::body::Body::empty())
    };
    for (app, auth) in [(&open, false), (&guarded, true)] {
        if let Ok(req) = request(auth)
            && let Ok(r) = rt.block_on(app.clone().oneshot(req))
            && !r.status().is_success()
        {
            eprintln!("layer benchmark: unexpected status {}", r.status());
            return;
        }
    }
    let mut g = c.benchmark_group("layer");
    for (name, app, auth) in [
        ("without_layer", &open, false),
        ("with_layer", &guarded, true),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let Ok(req) = request(auth) else { return false };
                rt.block_on(app.clone().oneshot(req))
                    .is_ok_and(|r| r.status().is_success())
            })
        });
    }
    g.finish();
}

#[cfg(not(feature = "axum"))]
fn layer(_: &mut Criterion) {}

criterion_group!(benches, bench, layer);
criterion::criterion_main!(benches);
