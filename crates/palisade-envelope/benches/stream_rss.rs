//! Peak memory of streaming 64 MiB through EncryptWriter / DecryptReader.
//!
//! Plaintext comes from a generator and ciphertext goes to a temporary file,
//! so nothing holds the whole document; VmHWM (peak resident set, from
//! /proc/self/status) is printed before and after each direction, with the
//! throughput. Run: `cargo bench -p palisade-envelope --bench stream_rss`.

#![expect(clippy::unwrap_used, reason = "a benchmark aborts on setup failure")]

use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

use palisade_envelope::{EncryptionContext, Envelope, Kek, LocalKeyring};
use palisade_tenancy::{Scope, TenantId};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    const TOTAL: usize = 64 << 20;
    let env = Envelope::new(LocalKeyring::with_primary("rss", Kek::generate().unwrap()).unwrap());
    let ctx = EncryptionContext::new(Scope::tenant(TenantId::new_v7()))
        .with("doc", "big")
        .unwrap();
    let path = std::env::temp_dir().join(format!("palisade-stream-rss-{}.bin", std::process::id()));
    let chunk = vec![0x42u8; 1 << 16];

    let base = vm_hwm_kib();
    let t = Instant::now();
    let file = BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut w = env.encrypt_writer(&ctx, file, None).unwrap();
    for _ in 0..TOTAL / chunk.len() {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap().flush().unwrap();
    let enc = t.elapsed();
    let after_enc = vm_hwm_kib();

    let t = Instant::now();
    let mut r = env
        .decrypt_reader(&ctx, BufReader::new(std::fs::File::open(&path).unwrap()))
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0usize;
    loop {
        let k = r.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        n += k;
    }
    let dec = t.elapsed();
    let after_dec = vm_hwm_kib();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(n, TOTAL);
    let gib = TOTAL as f64 / f64::from(1u32 << 30);
    println!("backend {}", palisade_envelope::BACKEND);
    println!(
        "encrypt 64 MiB to file:   {:.2} GiB/s",
        gib / enc.as_secs_f64()
    );
    println!(
        "decrypt 64 MiB from file: {:.2} GiB/s",
        gib / dec.as_secs_f64()
    );
    println!(
        "VmHWM before {base} KiB, after encrypt {after_enc} KiB, after decrypt {after_dec} KiB"
    );
    println!(
        "peak growth while streaming 64 MiB: {} KiB",
        after_dec.saturating_sub(base)
    );
}
