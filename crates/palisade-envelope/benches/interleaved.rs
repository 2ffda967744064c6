//! Envelope vs bare AES-256-GCM measured in alternating rounds, so that load
//! from other processes on a shared machine hits both sides alike; prints the
//! median over rounds. Complements the criterion bench `envelope`.
//! Run: `cargo bench -p palisade-envelope [--features aws-lc] --bench interleaved`.
#![expect(clippy::unwrap_used, reason = "a benchmark aborts on setup failure")]

use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use palisade_envelope::{CacheLimits, EncryptionContext, Envelope, Kek, LocalKeyring};
use palisade_tenancy::{Scope, TenantId, Timestamp};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn per_op(iters: u32, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_secs_f64() / f64::from(iters)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let ring = LocalKeyring::with_primary("bench", Kek::generate().unwrap()).unwrap();
    let limits = CacheLimits {
        max_messages: u64::MAX,
        max_bytes: u64::MAX,
        ..CacheLimits::default()
    };
    let env = Envelope::with_cache(ring, limits);
    let ctx = EncryptionContext::new(Scope::tenant(TenantId::new_v7()))
        .with("table", "documents")
        .unwrap()
        .with("record", "0192f1a8-0000-7000-8000-000000000042")
        .unwrap();
    let now = Timestamp::from_unix_seconds(1_700_000_000);
    let bare = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::from([1u8; 12]);
    #[cfg(feature = "aws-lc")]
    let lc = {
        use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap())
    };
    println!("backend {}", palisade_envelope::BACKEND);

    for (name, len, iters) in [
        ("1 KiB seal+open", 1usize << 10, 4000u32),
        ("1 MiB seal", 1 << 20, 20),
    ] {
        let pt = vec![0x42u8; len];
        let mut buf = pt.clone();
        let mut out = Vec::with_capacity(2 * len + 1024);
        let (mut b, mut e) = (Vec::new(), Vec::new());
        #[cfg_attr(
            not(feature = "aws-lc"),
            expect(unused_mut, reason = "only filled with the aws-lc feature")
        )]
        let mut l: Vec<f64> = Vec::new();
        let open = len <= 4096;
        for _ in 0..25 {
            b.push(per_op(iters, || {
                let tag = bare
                    .encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into())
                    .unwrap();
                if open {
                    bare.decrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into(), &tag)
                        .unwrap();
                }
                black_box(&buf);
            }));
            #[cfg(feature = "aws-lc")]
            l.push(per_op(iters, || {
                use aws_lc_rs::aead::{Aad, Nonce as N};
                let tag = lc
                    .seal_in_place_separate_tag(
                        N::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        &mut buf,
                    )
                    .unwrap();
                if open {
                    lc.open_in_place_separate_tag(
                        N::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        tag.as_ref(),
                        &mut buf,
                    )
                    .unwrap();
                }
                black_box(&buf);
            }));
            e.push(per_op(iters, || {
                env.seal_into(&ctx, &pt, &mut out, now).unwrap();
                if open {
                    black_box(env.open_in_place(&ctx, &mut out, now).unwrap().len());
                }
                black_box(&out);
            }));
        }
        let (b, e) = (median(b), median(e));
        let gib = |s: f64| len as f64 / s / f64::from(1u32 << 30);
        println!(
            "{name}: bare aes-gcm {:.3} µs ({:.2} GiB/s)",
            b * 1e6,
            gib(b)
        );
        if !l.is_empty() {
            let l = median(l);
            println!(
                "{name}: bare aws-lc  {:.3} µs ({:.2} GiB/s)",
                l * 1e6,
                gib(l)
            );
        }
        println!(
            "{name}: envelope     {:.3} µs ({:.2} GiB/s)",
            e * 1e6,
            gib(e)
        );
        println!(
            "{name}: envelope - bare aes-gcm = {:.3} µs, throughput ratio {:.1}%",
            (e - b) * 1e6,
            100.0 * b / e
        );
    }
}
