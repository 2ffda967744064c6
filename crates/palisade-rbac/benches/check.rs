#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup: a failure here is a broken benchmark, not input handling"
)]
//! Criterion benchmarks of the check path on the three shapes, plus
//! compile time and memory per grant.
//!
//! Shapes: `small` (6 rules), `casbin_large` (100k users, 10k roles, over
//! 1,000 tenants: 110k rules), `wide` (10k tenants × 50 roles × 500
//! permissions, 100k bindings).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use palisade_rbac::{
    Binding, CompiledPolicy, Decision, DenyRule, PermissionId, PolicyDocument, Request, RoleDef,
    Subject, compile,
};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use std::hint::black_box;

const NOW: Timestamp = Timestamp::from_unix_millis(1_790_000_000_000);

fn tenant(i: u32) -> TenantId {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&i.to_be_bytes());
    b[15] = 0x7e;
    TenantId::from_bytes(b)
}

fn project(i: u32) -> ProjectId {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&i.to_be_bytes());
    b[15] = 0x9a;
    ProjectId::from_bytes(b)
}

fn user(i: u32) -> Principal {
    Principal::user(&format!("u{i:07}@example.com")).unwrap()
}

/// 6 rules: 3 roles, 3 bindings.
fn small() -> PolicyDocument {
    let t = Scope::tenant(tenant(1));
    PolicyDocument::new()
        .permissions([
            "inbox:read",
            "inbox:write",
            "billing:read",
            "billing:write",
            "settings:write",
        ])
        .role(RoleDef::new("viewer").allow("inbox:read"))
        .role(
            RoleDef::new("member")
                .inherit("viewer")
                .allow("inbox:write"),
        )
        .role(RoleDef::new("admin").inherit("member").allow("*"))
        .bind(Binding::new(user(1), "admin", t))
        .bind(Binding::new(user(2), "member", t))
        .bind(Binding::new(user(3), "viewer", t))
}

/// casbin's "large" RBAC shape, with domains: 1,000 tenants × 10 tenant
/// roles (10k roles, each 5 of 50 permissions), 100k users with one role
/// each in their tenant. 110k rules.
fn casbin_large() -> PolicyDocument {
    let perms: Vec<String> = (0..10)
        .flat_map(|r| ["read", "write", "list", "delete", "admin"].map(|a| format!("res{r}:{a}")))
        .collect();
    let mut doc = PolicyDocument::new().permissions(perms.clone());
    for t in 0..1000u32 {
        for r in 0..10u32 {
            let mut role = RoleDef::new(format!("t{t}_r{r}"));
            for k in 0..5u32 {
                role = role.allow(perms[((t * 7 + r * 5 + k) % 50) as usize].clone());
            }
            doc = doc.role(role);
        }
    }
    for u in 0..100_000u32 {
        let t = u % 1000;
        doc = doc.bind(Binding::new(
            user(u),
            format!("t{t}_r{}", u % 10),
            Scope::tenant(tenant(t)),
        ));
    }
    doc
}

/// 10k tenants × 50 roles × 500 permissions: 50 roles over 500 permissions
/// (role i holds resources i..i+10, all actions), 10 users per tenant, one
/// in five bound in a project rather than tenant-wide. 100k bindings.
fn wide() -> PolicyDocument {
    let perms: Vec<String> = (0..50)
        .flat_map(|r| (0..10).map(move |a| format!("res{r}:act{a}")))
        .collect();
    let mut doc = PolicyDocument::new().permissions(perms);
    for r in 0..50u32 {
        let mut role = RoleDef::new(format!("role{r}"));
        for k in 0..10 {
            role = role.allow(format!("res{}:*", (r + k) % 50));
        }
        doc = doc.role(role);
    }
    for t in 0..10_000u32 {
        for k in 0..10u32 {
            let u = t * 10 + k;
            let scope = if k % 5 == 4 {
                Scope::project(tenant(t), project(k))
            } else {
                Scope::tenant(tenant(t))
            };
            doc = doc.bind(Binding::new(
                user(u),
                format!("role{}", (u * 7) % 50),
                scope,
            ));
        }
    }
    doc
}

struct Shape {
    name: &'static str,
    policy: CompiledPolicy,
    principal: Principal,
    scope: Scope,
    allowed: PermissionId,
    grants: usize,
}

fn shape(name: &'static str, doc: &PolicyDocument, principal: Principal, scope: Scope) -> Shape {
    let policy = compile(doc, NOW).unwrap();
    let allowed = policy
        .permissions_of(&principal, scope, NOW)
        .first()
        .and_then(|p| policy.permission(p))
        .expect("the benchmark principal holds something");
    Shape {
        name,
        policy,
        principal,
        scope,
        allowed,
        grants: doc.bindings.len(),
    }
}

fn shapes() -> Vec<Shape> {
    vec![
        shape("small", &small(), user(2), Scope::tenant(tenant(1))),
        shape(
            "casbin_large",
            &casbin_large(),
            user(54_321),
            Scope::tenant(tenant(321)),
        ),
        // A project request that falls back to the tenant-wide binding.
        shape(
            "wide",
            &wide(),
            user(77_773),
            Scope::project(tenant(7777), project(1)),
        ),
    ]
}

fn bench_check(c: &mut Criterion) {
    let shapes = shapes();
    let mut g = c.benchmark_group("check");
    for s in &shapes {
        let req = Request::new(&s.principal, s.scope, s.allowed, NOW);
        assert_eq!(s.policy.check(&req), Decision::Allow);
        g.bench_with_input(BenchmarkId::new("allow", s.name), &req, |b, r| {
            b.iter(|| s.policy.check(black_box(r)))
        });
        let stranger = Principal::user("stranger@example.com").unwrap();
        let deny = Request::new(&stranger, s.scope, s.allowed, NOW);
        g.bench_with_input(BenchmarkId::new("deny_unknown", s.name), &deny, |b, r| {
            b.iter(|| s.policy.check(black_box(r)))
        });
        let mask = s
            .policy
            .scope_mask(&[s.policy.permission_name(s.allowed).unwrap()])
            .unwrap();
        let keyed = req.with_key_scopes(&mask);
        g.bench_with_input(
            BenchmarkId::new("allow_with_key", s.name),
            &keyed,
            |b, r| b.iter(|| s.policy.check(black_box(r))),
        );
        let name = s.policy.permission_name(s.allowed).unwrap();
        let subject = Subject::new(&s.principal, s.scope, NOW);
        g.bench_function(BenchmarkId::new("named", s.name), |b| {
            b.iter(|| s.policy.check_named(black_box(&subject), black_box(name)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("check_many_64");
    for s in &shapes {
        let names: Vec<&str> = s.policy.permission_names().collect();
        let ids: Vec<PermissionId> = (0..64)
            .map(|i| s.policy.permission(names[i % names.len()]).unwrap())
            .collect();
        let subject = Subject::new(&s.principal, s.scope, NOW);
        let mut out = [Decision::Deny; 64];
        g.bench_function(s.name, |b| {
            b.iter(|| {
                s.policy
                    .check_many(black_box(&subject), black_box(&ids), &mut out);
                black_box(&out);
            })
        });
    }
    g.finish();
}

/// `small` plus 40,000 deny rules in 40,000 other tenants (issue 11 F8):
/// explaining a denial in tenant 1 must not scan them.
fn denies_elsewhere() -> PolicyDocument {
    let mut doc = small().deny(
        DenyRule::everyone(Scope::tenant(tenant(1)))
            .deny("billing:write")
            .reason("billing frozen"),
    );
    for i in 0..40_000 {
        doc = doc.deny(
            DenyRule::principal(user(i), Scope::tenant(tenant(10_000 + i)))
                .deny("inbox:*")
                .reason("other tenant"),
        );
    }
    doc
}

fn bench_explain(c: &mut Criterion) {
    let mut g = c.benchmark_group("explain");
    for (name, doc) in [
        ("small", small()),
        ("deny_40k_other_tenants", denies_elsewhere()),
    ] {
        let policy = compile(&doc, NOW).unwrap();
        let alice = user(1);
        let subject = Subject::new(&alice, Scope::tenant(tenant(1)), NOW);
        let e = policy.explain_named(&subject, "billing:write");
        assert!(e.decision == Decision::Deny || name == "small", "{e}");
        g.bench_function(name, |b| {
            b.iter(|| policy.explain_named(black_box(&subject), black_box("billing:write")))
        });
    }
    g.finish();
}

fn bench_compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10);
    for (name, doc) in [
        ("casbin_large_110k_rules", casbin_large()),
        ("wide_100k_bindings", wide()),
    ] {
        g.bench_function(name, |b| b.iter(|| compile(black_box(&doc), NOW).unwrap()));
    }
    g.finish();
}

/// Memory per grant, measured by counting the bytes the compiled policy
/// keeps allocated (allocation-counter's global allocator), and as the
/// policy's own accounting (`heap_bytes`).
fn report_memory(_c: &mut Criterion) {
    for s in shapes() {
        let doc = match s.name {
            "small" => small(),
            "casbin_large" => casbin_large(),
            _ => wide(),
        };
        let mut kept = None;
        let info = allocation_counter::measure(|| kept = Some(compile(&doc, NOW).unwrap()));
        let p = kept.unwrap();
        let u = p.heap_usage();
        let per = |b: usize| b as f64 / s.grants as f64;
        println!(
            "memory {:>13}: {} grants; measured {} B retained = {:.1} B/grant; accounted: check path {:.1} B/grant, explain data {:.1} B/grant; compile peak {} B",
            s.name,
            s.grants,
            info.bytes_current,
            per(info.bytes_current as usize),
            per(u.check_path),
            per(u.explain),
            info.bytes_max,
        );
    }
}

/// Per-check latency percentiles from many short timed batches. On a
/// shared, loaded machine a batch of a few microseconds is rarely
/// preempted, so the batch percentiles show the code's own cost where
/// criterion's long samples absorb scheduler noise.
fn report_latency(_c: &mut Criterion) {
    const BATCH: u32 = 128;
    const BATCHES: usize = 4000;
    let pct = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2], v[v.len() * 9 / 10])
    };
    for s in shapes() {
        let req = Request::new(&s.principal, s.scope, s.allowed, NOW);
        let mut single = Vec::with_capacity(BATCHES);
        for _ in 0..BATCHES {
            let t = std::time::Instant::now();
            for _ in 0..BATCH {
                black_box(s.policy.check(black_box(&req)));
            }
            single.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH));
        }
        let names: Vec<&str> = s.policy.permission_names().collect();
        let ids: Vec<PermissionId> = (0..64)
            .map(|i| s.policy.permission(names[i % names.len()]).unwrap())
            .collect();
        let subject = Subject::new(&s.principal, s.scope, NOW);
        let mut out = [Decision::Deny; 64];
        let mut many = Vec::with_capacity(BATCHES);
        for _ in 0..BATCHES {
            let t = std::time::Instant::now();
            for _ in 0..BATCH / 8 {
                s.policy
                    .check_many(black_box(&subject), black_box(&ids), &mut out);
                black_box(&out);
            }
            many.push(t.elapsed().as_nanos() as f64 / f64::from(BATCH / 8));
        }
        let (a, b, c) = pct(single);
        let (d, e, f) = pct(many);
        println!(
            "latency {:>13}: check min {a:.1} ns, p50 {b:.1} ns, p90 {c:.1} ns; check_many(64) min {d:.1} ns, p50 {e:.1} ns, p90 {f:.1} ns",
            s.name
        );
    }
}

/// Checks over 4,096 different users of the large shapes (cache-cold
/// entries, as with real traffic), and compile times (min of 5 runs).
fn report_spread(_c: &mut Criterion) {
    for (name, doc, span) in [
        ("casbin_large", casbin_large(), 100_000u32),
        ("wide", wide(), 100_000),
    ] {
        let policy = compile(&doc, NOW).unwrap();
        let reqs: Vec<(Principal, Scope, PermissionId)> = (0..4096u32)
            .map(|i| {
                let u = (i * 7919) % span;
                let b = &doc.bindings[u as usize];
                let perm = policy.permissions_of(&b.principal, b.scope, NOW)[0];
                (
                    b.principal.clone(),
                    b.scope,
                    policy.permission(perm).unwrap(),
                )
            })
            .collect();
        let mut per = Vec::new();
        for _ in 0..200 {
            let t = std::time::Instant::now();
            for (p, sc, id) in &reqs {
                assert_eq!(
                    policy.check(black_box(&Request::new(p, *sc, *id, NOW))),
                    Decision::Allow
                );
            }
            per.push(t.elapsed().as_nanos() as f64 / reqs.len() as f64);
        }
        per.sort_by(f64::total_cmp);
        let mut compile_ms = (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                black_box(compile(&doc, NOW).unwrap());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect::<Vec<_>>();
        compile_ms.sort_by(f64::total_cmp);
        println!(
            "spread  {name:>13}: check over 4096 users p50 {:.1} ns (min {:.1}); compile {} rules min {:.1} ms, median {:.1} ms",
            per[per.len() / 2],
            per[0],
            doc.roles.len() + doc.bindings.len() + doc.denies.len(),
            compile_ms[0],
            compile_ms[2],
        );
    }
}

criterion_group!(
    benches,
    report_memory,
    report_latency,
    report_spread,
    bench_check,
    bench_explain,
    bench_compile
);
criterion_main!(benches);
