#![no_main]
//! palisade-envelope's decoders on arbitrary bytes: `key_ref`, `open`,
//! `rewrap`, the stream reader and the keyring text parser never panic.
//! Whatever opens must be the plaintext a real seal produced (a forgery
//! would be a bug), so the input is also spliced into a genuine ciphertext.
use std::io::Read;
use std::sync::OnceLock;

use palisade_envelope::{EncryptionContext, Envelope, Kek, LocalKeyring, key_ref};
use palisade_tenancy::{Scope, TenantId};

struct Fixture {
    env: Envelope<LocalKeyring>,
    ctx: EncryptionContext,
    genuine: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let env = Envelope::new(LocalKeyring::with_primary("fuzz", Kek::from_bytes([7; 32])).unwrap());
        let ctx = EncryptionContext::new(Scope::tenant(TenantId::from_bytes([1; 16]))).with("r", "1").unwrap();
        let genuine = env.seal(&ctx, b"genuine").unwrap();
        Fixture { env, ctx, genuine }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let _ = key_ref(data);
    if let Ok(p) = f.env.open(&f.ctx, data) {
        assert_eq!(&p[..], b"genuine");
    }
    let _ = f.env.rewrap(&f.ctx, data);
    if let Ok(mut r) = f.env.decrypt_reader(&f.ctx, data) {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
    }
    if let Ok(s) = core::str::from_utf8(data) {
        let _ = LocalKeyring::from_text(s);
    }
    // Splice the input over part of a genuine ciphertext.
    if let Some((&at, rest)) = data.split_first() {
        let mut ct = f.genuine.clone();
        let at = usize::from(at) % ct.len();
        let end = (at + rest.len()).min(ct.len());
        ct[at..end].copy_from_slice(&rest[..end - at]);
        if let Ok(p) = f.env.open(&f.ctx, &ct) {
            assert_eq!(&p[..], b"genuine");
            assert_eq!(ct, f.genuine);
        }
    }
});
