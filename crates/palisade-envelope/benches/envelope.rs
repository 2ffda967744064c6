//! Envelope vs bare AES-256-GCM, in the same run.
//!
//! `cargo bench -p palisade-envelope --bench envelope` (pure Rust) and
//! `cargo bench -p palisade-envelope --features aws-lc --bench envelope`
//! (aws-lc-rs backend; adds bare aws-lc-rs baselines).

#![expect(clippy::unwrap_used, reason = "a benchmark aborts on setup failure")]

use std::hint::black_box;

use aes_gcm::aead::{Aead, AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_envelope::{CacheLimits, EncryptionContext, Envelope, Kek, LocalKeyring};
use palisade_tenancy::{Scope, TenantId, Timestamp};

const MIB: usize = 1 << 20;
const KIB: usize = 1 << 10;

fn setup() -> (Envelope<LocalKeyring>, EncryptionContext, Timestamp) {
    let ring = LocalKeyring::with_primary("bench", Kek::generate().unwrap()).unwrap();
    let env = Envelope::with_cache(
        ring,
        CacheLimits {
            max_messages: u64::MAX,
            max_bytes: u64::MAX,
            ..CacheLimits::default()
        },
    );
    let ctx = EncryptionContext::new(Scope::tenant(TenantId::new_v7()))
        .with("table", "documents")
        .unwrap()
        .with("record", "0192f1a8-0000-7000-8000-000000000042")
        .unwrap();
    (env, ctx, Timestamp::from_unix_seconds(1_700_000_000))
}

fn seal_1mib(c: &mut Criterion) {
    let (env, ctx, now) = setup();
    let pt = vec![0x42u8; MIB];
    let bare = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::from([1u8; 12]);
    let mut g = c.benchmark_group(format!("seal_1MiB/{}", palisade_envelope::BACKEND));
    g.throughput(Throughput::Bytes(MIB as u64));
    let mut buf = pt.clone();
    g.bench_function("bare_aes-gcm_in_place", |b| {
        b.iter(|| {
            black_box(
                bare.encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into())
                    .unwrap(),
            )
        })
    });
    g.bench_function("bare_aes-gcm_encrypt_vec", |b| {
        b.iter(|| black_box(bare.encrypt(&nonce, pt.as_slice()).unwrap()))
    });
    #[cfg(feature = "aws-lc")]
    {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as LcNonce, UnboundKey};
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
        g.bench_function("bare_aws-lc_in_place", |b| {
            b.iter(|| {
                black_box(
                    key.seal_in_place_separate_tag(
                        LcNonce::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        &mut buf,
                    )
                    .unwrap(),
                )
            })
        });
    }
    let mut out = Vec::with_capacity(2 * MIB);
    g.bench_function("envelope_seal_into_cached", |b| {
        b.iter(|| {
            env.seal_into(&ctx, &pt, &mut out, now).unwrap();
            black_box(out.len())
        })
    });
    g.bench_function("envelope_seal_cached_vec", |b| {
        b.iter(|| black_box(env.seal_cached(&ctx, &pt, now).unwrap()))
    });
    g.finish();
}

fn seal_open_1kib(c: &mut Criterion) {
    let (env, ctx, now) = setup();
    let pt = vec![0x42u8; KIB];
    let bare = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::from([1u8; 12]);
    let mut g = c.benchmark_group(format!("seal_open_1KiB/{}", palisade_envelope::BACKEND));
    g.throughput(Throughput::Bytes(KIB as u64));
    let mut buf = pt.clone();
    g.bench_function("bare_aes-gcm_seal_open", |b| {
        b.iter(|| {
            let tag = bare
                .encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into())
                .unwrap();
            bare.decrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into(), &tag)
                .unwrap();
            black_box(&buf);
        })
    });
    g.bench_function("bare_aes-gcm_keyed_per_message_seal_open", |b| {
        b.iter(|| {
            let k = Aes256Gcm::new(&[9u8; 32].into());
            let tag = k
                .encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into())
                .unwrap();
            let k = Aes256Gcm::new(&[9u8; 32].into());
            k.decrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into(), &tag)
                .unwrap();
            black_box(&buf);
        })
    });
    #[cfg(feature = "aws-lc")]
    {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as LcNonce, UnboundKey};
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
        g.bench_function("bare_aws-lc_seal_open", |b| {
            b.iter(|| {
                let tag = key
                    .seal_in_place_separate_tag(
                        LcNonce::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        &mut buf,
                    )
                    .unwrap();
                key.open_in_place_separate_tag(
                    LcNonce::assume_unique_for_key([1; 12]),
                    Aad::empty(),
                    tag.as_ref(),
                    &mut buf,
                )
                .unwrap();
                black_box(&buf);
            })
        });
    }
    let mut out = Vec::with_capacity(2 * KIB);
    g.bench_function("envelope_seal_open_cached", |b| {
        b.iter(|| {
            env.seal_into(&ctx, &pt, &mut out, now).unwrap();
            black_box(env.open_in_place(&ctx, &mut out, now).unwrap().len())
        })
    });
    g.bench_function("envelope_seal_only_cached", |b| {
        b.iter(|| {
            env.seal_into(&ctx, &pt, &mut out, now).unwrap();
            black_box(out.len())
        })
    });
    let uncached =
        Envelope::new(LocalKeyring::with_primary("bench", Kek::generate().unwrap()).unwrap());
    g.bench_function("envelope_seal_open_uncached", |b| {
        b.iter(|| {
            let ct = uncached.seal(&ctx, &pt).unwrap();
            black_box(uncached.open(&ctx, &ct).unwrap().len())
        })
    });
    g.finish();
}

fn stream_64mib(c: &mut Criterion) {
    use std::io::{Read, Write};
    let (env, ctx, _) = setup();
    let chunk = vec![0x42u8; 64 * KIB];
    let total = 64 * MIB;
    let mut g = c.benchmark_group(format!("stream_64MiB/{}", palisade_envelope::BACKEND));
    g.throughput(Throughput::Bytes(total as u64));
    g.sample_size(10);
    g.bench_function("encrypt_writer_to_sink", |b| {
        b.iter(|| {
            let mut w = env.encrypt_writer(&ctx, std::io::sink(), None).unwrap();
            for _ in 0..total / chunk.len() {
                w.write_all(&chunk).unwrap();
            }
            w.finish().unwrap()
        })
    });
    let mut w = env
        .encrypt_writer(&ctx, Vec::with_capacity(total + MIB), None)
        .unwrap();
    for _ in 0..total / chunk.len() {
        w.write_all(&chunk).unwrap();
    }
    let ct = w.finish().unwrap();
    let mut sink = vec![0u8; 64 * KIB];
    g.bench_function("decrypt_reader_from_memory", |b| {
        b.iter(|| {
            let mut r = env.decrypt_reader(&ctx, ct.as_slice()).unwrap();
            let mut n = 0;
            loop {
                let k = r.read(&mut sink).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            assert_eq!(n, total);
        })
    });
    g.finish();
}

criterion_group!(benches, seal_1mib, seal_open_1kib, stream_64mib);
criterion_main!(benches);
