//! Regression tests for issue 10's envelope findings E2, E3, E4 (E1 is in
//! `keyring.rs`, E5 and E6 are unit tests in the crate).

#[cfg(test)]
mod common;

use std::io::Read;

use common::{ctx, ring, tenant};
use palisade_envelope::{
    CacheLimits, DataKey, DecryptFailure, Envelope, EnvelopeError, KekId, KeyProvider, KeyRef,
    LocalKeyring, Result, WrappedKey,
};
use palisade_tenancy::{Scope, Timestamp};

/// A custom provider that answers `check_decryptable` itself (the trait no
/// longer has an allow-all default: see the `compile_fail` example on
/// `KeyProvider::check_decryptable`). It retires versions on its own, not
/// through the inner keyring.
struct Retiring(LocalKeyring, std::sync::atomic::AtomicU32);

impl KeyProvider for Retiring {
    fn primary(&self) -> Result<KeyRef> {
        self.0.primary()
    }
    fn wrap(&self, k: &DataKey, s: &Scope) -> Result<WrappedKey> {
        self.0.wrap(k, s)
    }
    fn unwrap(&self, r: &KeyRef, w: &[u8], s: &Scope) -> Result<DataKey> {
        self.check_decryptable(r)?;
        self.0.unwrap(r, w, s)
    }
    fn check_decryptable(&self, r: &KeyRef) -> Result<()> {
        let min = self.1.load(std::sync::atomic::Ordering::Relaxed);
        if r.version < min {
            return Err(EnvelopeError::KeyVersionRetired {
                kek: r.kek.to_string(),
                version: r.version,
                min,
            });
        }
        Ok(())
    }
}

/// Issue 10 E2: with a custom provider, a cached data key of a retired KEK
/// version kept decrypting until the cache's max age; now the provider is
/// asked on every reuse.
#[test]
fn e2_a_retired_version_stops_a_cached_data_key_of_a_custom_provider_at_once() {
    let env = Envelope::with_cache(
        Retiring(ring(), std::sync::atomic::AtomicU32::new(1)),
        CacheLimits::default(),
    );
    let now = Timestamp::from_unix_seconds(5);
    let c = ctx(tenant(1), "a");
    let mut ct = Vec::new();
    env.seal_into(&c, b"hello", &mut ct, now).unwrap();
    assert_eq!(env.open_cached(&c, &ct, now).unwrap().as_slice(), b"hello");
    let id = KekId::new("main").unwrap();
    env.provider()
        .0
        .rotate(&id, palisade_envelope::Kek::generate().unwrap())
        .unwrap();
    env.provider()
        .1
        .store(2, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(
        env.open_cached(&c, &ct, now),
        Err(EnvelopeError::KeyVersionRetired {
            version: 1,
            min: 2,
            ..
        })
    ));
}

/// Issue 10 E3: `Debug` of the collapsed decryption error showed which check
/// failed (`Unwrap`/`Commitment`/`Tag`).
#[test]
fn e3_debug_of_a_decryption_failure_is_as_opaque_as_display() {
    let kinds = [
        DecryptFailure::Unwrap,
        DecryptFailure::Commitment,
        DecryptFailure::Tag,
        DecryptFailure::Truncated,
    ];
    let shown: Vec<String> = kinds
        .iter()
        .map(|k| format!("{:?}", EnvelopeError::DecryptionFailed(*k)))
        .collect();
    for s in &shown {
        assert_eq!(s, &shown[0]);
        for word in [
            "Unwrap",
            "Commitment",
            "Tag",
            "Truncated",
            "unwrap",
            "commitment",
        ] {
            assert!(!s.contains(word), "{s}");
        }
    }
    let e = EnvelopeError::DecryptionFailed(DecryptFailure::Tag);
    assert!(format!("{e:?}").contains(&e.to_string()));
    assert_eq!(e.failure_detail(), Some(DecryptFailure::Tag));
    // Real failures of each kind look the same too.
    let env = common::env();
    let ct = env.seal(&ctx(tenant(1), "1"), b"x").unwrap();
    let wrong_record = env.open(&ctx(tenant(1), "2"), &ct).unwrap_err();
    let wrong_tenant = env.open(&ctx(tenant(2), "1"), &ct).unwrap_err();
    let mut flipped = ct.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let bad_tag = env.open(&ctx(tenant(1), "1"), &flipped).unwrap_err();
    assert_ne!(wrong_record.failure_detail(), bad_tag.failure_detail());
    assert_eq!(format!("{wrong_record:?}"), format!("{bad_tag:?}"));
    assert_eq!(format!("{wrong_tenant:?}"), format!("{bad_tag:?}"));
}

/// A reader that returns `Interrupted` before every other read and hands
/// out at most `chunk` bytes at a time.
struct Interrupting<'a> {
    data: &'a [u8],
    chunk: usize,
    flip: bool,
}

impl Read for Interrupting<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.flip = !self.flip;
        if self.flip {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = self.chunk.min(out.len()).min(self.data.len());
        let (now, rest) = self.data.split_at(n);
        if let Some(dst) = out.get_mut(..n) {
            dst.copy_from_slice(now);
        }
        self.data = rest;
        Ok(n)
    }
}

/// Issue 10 E4: `DecryptReader` took an `Interrupted` read for the end of
/// input (so a stream failed as truncated, or its last segment was misread).
#[test]
fn e4_interrupted_reads_are_retried() {
    let env = common::env();
    let c = ctx(tenant(1), "doc");
    let pt: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let mut w = env.encrypt_writer(&c, Vec::new(), Some(64)).unwrap();
    std::io::Write::write_all(&mut w, &pt).unwrap();
    let ct = w.finish().unwrap();
    for chunk in [1, 7, 64, 80, 4096] {
        // The header is read through the same reader.
        let src = Interrupting {
            data: &ct,
            chunk,
            flip: true,
        };
        let mut r = match env.decrypt_reader(&c, src) {
            Ok(r) => r,
            Err(e) => panic!("chunk {chunk}: {e}"),
        };
        let mut out = Vec::new();
        loop {
            let mut buf = [0u8; 100];
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("chunk {chunk}: {e}"),
            }
        }
        assert_eq!(out, pt, "chunk {chunk}");
    }
}
