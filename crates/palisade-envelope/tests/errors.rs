//! A negative test for every error variant (except `Random`, which needs a
//! failing OS generator, and `TooLong`, tested in-crate with a fake length).

#[cfg(test)]
mod common;

use common::{ctx, env, tenant};
use palisade_envelope::{
    DataKey, EncryptionContext, Envelope, EnvelopeError, KekId, KeyProvider, KeyRef, LocalKeyring,
    WrappedKey, key_ref,
};
use palisade_tenancy::Scope;
use secrecy::SecretString;

#[cfg(test)]
fn sealed() -> (Envelope<LocalKeyring>, EncryptionContext, Vec<u8>) {
    let env = env();
    let c = ctx(tenant(1), "1");
    let ct = env.seal(&c, b"hello").unwrap();
    (env, c, ct)
}

#[test]
#[cfg(test)]
fn header_errors_are_typed() {
    let (env, c, ct) = sealed();
    let with = |i: usize, b: u8| {
        let mut v = ct.clone();
        v[i] = b;
        v
    };
    assert!(matches!(
        env.open(&c, &with(0, 2)),
        Err(EnvelopeError::UnsupportedVersion { found: 2 })
    ));
    assert!(matches!(
        env.open(&c, &with(1, 9)),
        Err(EnvelopeError::UnsupportedSuite { found: 9 })
    ));
    assert!(matches!(
        env.open(&c, &with(2, 7)),
        Err(EnvelopeError::WrongMode { found: 7 })
    ));
    assert!(matches!(
        env.open(&c, &with(3, 0)),
        Err(EnvelopeError::InvalidHeader {
            field: "kek id length",
            ..
        })
    ));
    assert!(matches!(
        env.open(&c, &with(4, b' ')),
        Err(EnvelopeError::InvalidHeader {
            field: "kek id",
            ..
        })
    ));
    for cut in [0, 1, 3, 10, 20, ct.len() - 22] {
        assert!(
            matches!(
                env.open(&c, &ct[..cut]),
                Err(EnvelopeError::Truncated { .. })
            ),
            "cut {cut}"
        );
    }
    assert!(matches!(
        key_ref(&[]),
        Err(EnvelopeError::Truncated { field: "version" })
    ));
    assert_eq!(key_ref(&ct).unwrap().to_string(), "main:v1");
    // Error messages are lowercase and say what to fix.
    let msg = env.open(&c, &with(0, 2)).unwrap_err().to_string();
    assert!(msg.starts_with("unsupported envelope version `2`"), "{msg}");
}

#[test]
#[cfg(test)]
fn trailing_bytes_after_a_final_segment() {
    let env = env();
    let c = ctx(tenant(1), "s");
    let mut s = env.stream_sealer(&c, Some(16)).unwrap();
    let header = s.header().to_vec();
    let mut seg = b"abc".to_vec();
    s.seal_segment(&mut seg, true).unwrap();
    let (mut o, _) = env.stream_opener(&c, &header).unwrap();
    o.open_segment(&mut seg.clone(), true).unwrap();
    assert!(matches!(
        o.open_segment(&mut seg, false),
        Err(EnvelopeError::TrailingBytes { .. })
    ));
    assert!(matches!(
        s.seal_segment(&mut vec![0; 16], false),
        Err(EnvelopeError::StreamFinished)
    ));
}

#[test]
#[cfg(test)]
fn context_errors() {
    let base = EncryptionContext::new(tenant(1));
    for bad in ["", "Upper", "sp ace", &"k".repeat(65)] {
        assert!(
            matches!(
                base.clone().with(bad, "v"),
                Err(EnvelopeError::InvalidContextKey { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        base.clone().with("k", vec![0u8; 4097]),
        Err(EnvelopeError::ContextTooLarge { .. })
    ));
    let mut many = base.clone();
    for i in 0..32 {
        many.insert(&format!("k{i}"), "v").unwrap();
    }
    assert!(matches!(
        many.insert("one-more", "v"),
        Err(EnvelopeError::ContextTooLarge { .. })
    ));
    many.insert("k0", "replaced").unwrap();
    let h = env().for_scope(tenant(1));
    assert!(matches!(
        h.seal(&ctx(tenant(2), "x"), b""),
        Err(EnvelopeError::ScopeMismatch { .. })
    ));
}

#[test]
#[cfg(test)]
fn kek_and_keyring_errors() {
    assert!(matches!(
        KekId::new("bad id!"),
        Err(EnvelopeError::InvalidKekId { .. })
    ));
    assert!(matches!(
        KekId::new(""),
        Err(EnvelopeError::InvalidKekId { .. })
    ));
    let empty = Envelope::new(LocalKeyring::new());
    assert!(matches!(
        empty.seal(&ctx(tenant(1), "1"), b"x"),
        Err(EnvelopeError::NoPrimaryKek)
    ));
    let (_, c, ct) = sealed();
    // Another keyring that does not hold `main` v1.
    assert!(matches!(
        env().open(&c, &ct),
        Err(EnvelopeError::DecryptionFailed(_))
    ));
    let other = Envelope::new(
        LocalKeyring::with_primary("other", palisade_envelope::Kek::generate().unwrap()).unwrap(),
    );
    assert!(matches!(
        other.open(&c, &ct),
        Err(EnvelopeError::UnknownKek { version: 1, .. })
    ));
    assert!(matches!(
        LocalKeyring::from_text("nope"),
        Err(EnvelopeError::KeyringSyntax { line: 1, .. })
    ));
    assert!(matches!(
        LocalKeyring::from_env("PALISADE_SURELY_UNSET_VARIABLE"),
        Err(EnvelopeError::KeyringEnv { .. })
    ));
    assert!(matches!(
        LocalKeyring::from_file("/nonexistent/palisade/keyring"),
        Err(EnvelopeError::Io(_))
    ));
}

#[test]
fn secret_not_utf8() {
    let env = env();
    let c = ctx(tenant(1), "1");
    let ct = env.seal(&c, &[0xff, 0xfe]).unwrap();
    assert!(matches!(
        env.open_secret(&c, &ct),
        Err(EnvelopeError::SecretNotUtf8)
    ));
    let ok = env.seal_secret(&c, &SecretString::from("é")).unwrap();
    assert!(env.open_secret(&c, &ok).is_ok());
}

struct BadProvider;
impl KeyProvider for BadProvider {
    fn primary(&self) -> palisade_envelope::Result<KeyRef> {
        Ok(KeyRef {
            kek: KekId::new("bad")?,
            version: 1,
        })
    }
    fn wrap(&self, _: &DataKey, _: &Scope) -> palisade_envelope::Result<WrappedKey> {
        Ok(WrappedKey {
            key_ref: self.primary()?,
            bytes: Vec::new(),
        })
    }
    fn unwrap(&self, _: &KeyRef, _: &[u8], _: &Scope) -> palisade_envelope::Result<DataKey> {
        Err(EnvelopeError::Provider("unreachable in this test".into()))
    }
    fn check_decryptable(&self, _: &KeyRef) -> palisade_envelope::Result<()> {
        Err(EnvelopeError::Provider("unreachable in this test".into()))
    }
}

#[test]
#[cfg(test)]
fn provider_and_io_errors() {
    let env = Envelope::new(BadProvider);
    assert!(matches!(
        env.seal(&ctx(tenant(1), "1"), b"x"),
        Err(EnvelopeError::Provider(_))
    ));
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let e = common::env()
        .decrypt_reader(&ctx(tenant(1), "1"), Failing)
        .unwrap_err();
    assert!(matches!(e, EnvelopeError::Io(_)), "{e}");
}
