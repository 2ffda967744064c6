//! Component timings (`cargo test --release -p palisade-envelope --lib perf_probe -- --ignored --nocapture`)
//! and a check of the nonce pool.

use std::time::Instant;
fn t(name: &str, n: u32, mut f: impl FnMut()) {
    let s = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name}: {:.0} ns",
        s.elapsed().as_secs_f64() * 1e9 / f64::from(n)
    );
}
#[test]
#[ignore]
fn perf_probe() {
    let km = crate::derive::KeyMaterial::new(&[1; 32]);
    let ctx = vec![7u8; 90];
    let nonce = [3u8; 32];
    for _ in 0..3 {
        t("derive", 20000, || {
            std::hint::black_box(km.derive(crate::derive::LABEL_MSG, &nonce, &ctx));
        });
        t("cipher new", 20000, || {
            std::hint::black_box(crate::backend::Cipher::new(&[5; 32]));
        });
        let mut b = [0u8; 32];
        t("getrandom 32", 20000, || {
            getrandom::fill(&mut b).unwrap();
        });
        let c = crate::backend::Cipher::new(&[5; 32]);
        let mut buf = vec![0u8; 1024];
        t("seal 1k", 20000, || {
            std::hint::black_box(c.seal(&[0; 12], b"abc", &mut buf).unwrap());
        });
        t("getpid", 20000, || {
            std::hint::black_box(std::process::id());
        });
        let key: Box<[u8]> = vec![9u8; 126].into();
        let mut m = std::collections::HashMap::new();
        m.insert(key.clone(), 1u8);
        t("hashmap get 126B", 20000, || {
            std::hint::black_box(m.get(&key[..]));
        });
    }
}

/// Issue 10 E5: every nonce is drawn from the OS generator (no pool that a
/// fork could copy and a pid-reusing grandchild replay).
#[test]
fn every_nonce_is_a_fresh_os_draw() {
    let before = crate::secret::OS_DRAWS.with(std::cell::Cell::get);
    for _ in 0..40 {
        crate::secret::random_nonce().unwrap();
    }
    let after = crate::secret::OS_DRAWS.with(std::cell::Cell::get);
    assert_eq!(after - before, 40);
}

#[test]
fn nonces_never_repeat() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        assert!(seen.insert(crate::secret::random_nonce().unwrap()));
    }
    let other = std::thread::spawn(|| crate::secret::random_nonce().unwrap())
        .join()
        .unwrap();
    assert!(seen.insert(other));
}
