//! Keyring text, file and environment loading.

#[cfg(test)]
mod common;

use common::{ctx, tenant};
use palisade_envelope::{Envelope, EnvelopeError, Kek, KekId, KeyProvider, key_ref};

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2: &str = "202122232425262728292A2B2C2D2E2F303132333435363738393a3b3c3d3e3f";

/// The keyring as one `;`-separated line (for an environment variable): a
/// comment runs to the end of the line, so the leading comment goes.
#[cfg(test)]
fn one_line() -> String {
    text().replace("# provider keys\n", "").replace('\n', ";")
}

#[cfg(test)]
fn text() -> String {
    format!(
        "# provider keys\npalisade-keyring v1\nkek provider-keys 1 {K1}\nkek provider-keys 2 {K2}\n\
         primary provider-keys 2\nmin-decryption-version provider-keys 1\n"
    )
}

#[test]
#[cfg(test)]
fn text_file_and_semicolons_load_the_same_keys() {
    let a = Envelope::new(palisade_envelope::LocalKeyring::from_text(&text()).unwrap());
    let path = std::env::temp_dir().join(format!("palisade-keyring-{}.txt", std::process::id()));
    std::fs::write(&path, text()).unwrap();
    let b = Envelope::new(palisade_envelope::LocalKeyring::from_file(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    let c = Envelope::new(palisade_envelope::LocalKeyring::from_text(&one_line()).unwrap());
    let cx = ctx(tenant(1), "1");
    let ct = a.seal(&cx, b"k").unwrap();
    assert_eq!(key_ref(&ct).unwrap().version, 2);
    assert_eq!(&b.open(&cx, &ct).unwrap()[..], b"k");
    assert_eq!(&c.open(&cx, &ct).unwrap()[..], b"k");
    let id = KekId::new("provider-keys").unwrap();
    assert_eq!(a.provider().min_decryption_version(&id), 1);
    // Debug never shows key material.
    let dbg = format!("{:?}", a.provider());
    assert!(
        !dbg.contains("000102") && dbg.contains("provider-keys"),
        "{dbg}"
    );
    assert_eq!(format!("{:?}", Kek::generate().unwrap()), "Kek(<redacted>)");
    assert_eq!(
        Kek::from_bytes([0xab; 32]).to_hex().as_str(),
        "ab".repeat(32)
    );
}

#[test]
#[cfg(test)]
fn bad_keyrings_name_the_line() {
    let cases = [
        (format!("palisade-keyring v1\nkek a 1 {}", &K1[..62]), 2),
        ("palisade-keyring v1\nkek a 0 00".to_owned(), 2),
        ("palisade-keyring v1\nprimary a 1".to_owned(), 2),
        (
            format!("palisade-keyring v1\nkek a 1 {K1}\nkek a 1 {K2}"),
            3,
        ),
        (
            format!("palisade-keyring v1\nkek a 1 {K1}\nprimary a 1\nmin-decryption-version a 2"),
            4,
        ),
        ("palisade-keyring v1\nfrobnicate".to_owned(), 2),
        ("palisade-keyring v2".to_owned(), 1),
        ("".to_owned(), 1),
        (format!("palisade-keyring v1\nkek bad! 1 {K1}"), 2),
    ];
    for (t, line) in cases {
        match palisade_envelope::LocalKeyring::from_text(&t) {
            Err(EnvelopeError::KeyringSyntax { line: l, .. }) => assert_eq!(l, line, "{t}"),
            other => panic!("{t}: {other:?}"),
        }
    }
}

#[test]
#[cfg(test)]
fn from_env_in_a_child_process() {
    // Tests may not set variables in their own process (no unsafe code), so
    // rerun this test binary with the variable set.
    if let Ok(expected) = std::env::var("PALISADE_TEST_EXPECT") {
        let ring = palisade_envelope::LocalKeyring::from_env("PALISADE_TEST_KEYRING").unwrap();
        assert_eq!(ring.primary().unwrap().to_string(), expected);
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "from_env_in_a_child_process", "--test-threads=1"])
        .env("PALISADE_TEST_KEYRING", one_line())
        .env("PALISADE_TEST_EXPECT", "provider-keys:v2")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

/// Issue 10 E1: a `#` comment is a comment even when it contains `;`, a
/// repeated `primary` or `min-decryption-version` is an error (never "the
/// last one wins"), and the minimum decryption version cannot be lowered.
#[test]
fn e1_comments_hide_directives_and_repeats_are_errors() {
    use palisade_envelope::LocalKeyring;
    // `# …; primary a 1` is all comment: `a:v2` stays primary.
    let t = format!(
        "palisade-keyring v1\nkek a 1 {K1}\nkek a 2 {K2}\nprimary a 2\n# old: primary a 1; min-decryption-version a 1\n"
    );
    let ring = LocalKeyring::from_text(&t).unwrap();
    assert_eq!(ring.primary().unwrap().to_string(), "a:v2");
    // A comment after a directive, and CRLF line ends.
    let t = format!(
        "palisade-keyring v1\r\nkek a 1 {K1} # the first\r\nprimary a 1 ;# trailing; primary a 9\r\n"
    );
    assert_eq!(
        LocalKeyring::from_text(&t)
            .unwrap()
            .primary()
            .unwrap()
            .to_string(),
        "a:v1"
    );
    let repeats = [
        (
            format!("palisade-keyring v1\nkek a 1 {K1}\nkek a 2 {K2}\nprimary a 2\nprimary a 1"),
            5,
        ),
        (
            format!("palisade-keyring v1;kek a 1 {K1};kek a 2 {K2};primary a 2;primary a 2"),
            1,
        ),
        (
            format!(
                "palisade-keyring v1\nkek a 1 {K1}\nkek a 2 {K2}\nprimary a 2\nmin-decryption-version a 2\nmin-decryption-version a 1"
            ),
            6,
        ),
    ];
    for (t, line) in repeats {
        match LocalKeyring::from_text(&t) {
            Err(EnvelopeError::KeyringSyntax { line: l, reason }) => {
                assert_eq!(l, line, "{t}");
                assert!(reason.contains("second"), "{reason}");
            }
            other => panic!("{t}: {other:?}"),
        }
    }
    // One minimum per id, for several ids.
    let t = format!(
        "palisade-keyring v1\nkek a 1 {K1}\nkek a 2 {K2}\nkek b 1 {K1}\nprimary a 2\nmin-decryption-version a 2\nmin-decryption-version b 1"
    );
    let ring = LocalKeyring::from_text(&t).unwrap();
    // The live API never lowers a minimum either.
    let a = KekId::new("a").unwrap();
    assert!(matches!(
        ring.set_min_decryption_version(&a, 1),
        Err(EnvelopeError::InvalidHeader { .. })
    ));
    assert_eq!(ring.min_decryption_version(&a), 2);
    // Directive order does not matter: `primary` before its `kek`.
    let t = format!("palisade-keyring v1\nprimary a 1\nkek a 1 {K1}");
    assert_eq!(
        LocalKeyring::from_text(&t)
            .unwrap()
            .primary()
            .unwrap()
            .to_string(),
        "a:v1"
    );
}
