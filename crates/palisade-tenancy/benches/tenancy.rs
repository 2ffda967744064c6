//! Hot paths of palisade-tenancy: they run on every request.
#![expect(clippy::unwrap_used, reason = "benchmark set-up")]

use criterion::{Criterion, criterion_group, criterion_main};
use palisade_tenancy::{Namespace, ProjectId, Scope, Scoped, TenantId};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let t = TenantId::new_v7();
    let scope = Scope::project(t, ProjectId::new_v7());
    let text = t.to_string();
    c.bench_function("tenant_id_parse", |b| {
        b.iter(|| black_box(&text).parse::<TenantId>().unwrap())
    });
    c.bench_function("tenant_id_display", |b| b.iter(|| black_box(t).to_string()));
    c.bench_function("scope_context_bytes", |b| {
        b.iter(|| black_box(scope).to_context_bytes())
    });
    let value = Scoped::new(Scope::tenant(t), 42u64);
    c.bench_function("scoped_get", |b| {
        b.iter(|| *black_box(&value).get(black_box(&scope)).unwrap())
    });
    c.bench_function("namespace_transparent", |b| {
        b.iter(|| Namespace::transparent(black_box(&scope), "vec").unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
