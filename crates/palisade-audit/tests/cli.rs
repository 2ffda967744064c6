//! The command-line verifier.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions: a failure here is the test failing"
)]

mod common;

use common::*;
use palisade_audit::*;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade-audit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn verifies_with_hmac_key_file_and_reports_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, log) = build_export(20, 6);
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &out).unwrap();
    let key = dir.path().join("k1.hex");
    std::fs::write(&key, format!("{}\n", hex::encode([0x0b; 32]))).unwrap();
    let (f, k) = (file.to_str().unwrap(), format!("k1={}", key.display()));
    let t1 = tenant(1).to_string();
    let t = t1.as_str();

    let (code, stdout, _) = run(&["verify", f, "--tenant", t, "--hmac-key-file", &k]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("OK ") && stdout.contains("20 records"),
        "{stdout}"
    );

    // Trusted checkpoint larger than the export: truncation.
    let cp = log.last_checkpoint().unwrap();
    let root = hex::encode(cp.root());
    let ls = lines(&out);
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, join(&ls[..ls.len() - 5])).unwrap();
    let (code, stdout, _) = run(&[
        "verify",
        short.to_str().unwrap(),
        "--tenant",
        t,
        "--hmac-key-file",
        &k,
        "--trusted-size",
        "20",
        "--trusted-root",
        &root,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("truncated"), "{stdout}");

    // Tampered record.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        String::from_utf8(out.clone())
            .unwrap()
            .replacen("inv_7", "inv_8", 1),
    )
    .unwrap();
    let (code, stdout, _) = run(&[
        "verify",
        bad.to_str().unwrap(),
        "--tenant",
        t,
        "--hmac-key-file",
        &k,
    ]);
    assert_eq!(code, 1);
    assert!(stdout.contains("index 7: record modified"), "{stdout}");

    // No key: unknown key.
    let (code, stdout, _) = run(&["verify", f, "--tenant", t]);
    assert_eq!(code, 1);
    assert!(stdout.contains("unknown key `k1`"), "{stdout}");

    // No tenant: a usage error (an export verifies only as its tenant's).
    let (code, _, stderr) = run(&["verify", f, "--hmac-key-file", &k]);
    assert_eq!(code, 2);
    assert!(stderr.contains("`--tenant TEN_ID` is required"), "{stderr}");
}

#[test]
fn verifies_with_ed25519_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let signer = CheckpointSigner::ed25519(KeyId::new("ed1").unwrap(), &[9; 32]);
    let public = hex::encode(signer.verify_key().ed25519_public_bytes().unwrap());
    let log = AuditLog::new(Box::new(MemorySinks), signer);
    for i in 0..5 {
        log.append(sample_event(tenant(1), i)).unwrap();
    }
    let mut out = Vec::new();
    log.export(
        tenant(1),
        palisade_tenancy::Timestamp::from_unix_millis(T0 + 1000),
        &mut out,
    )
    .unwrap();
    let file = dir.path().join("e.jsonl");
    std::fs::write(&file, &out).unwrap();
    let k = format!("ed1={public}");
    let t = tenant(1).to_string();
    let (code, stdout, _) = run(&[
        "verify",
        file.to_str().unwrap(),
        "--ed25519-public-key",
        &k,
        "--tenant",
        &t,
    ]);
    assert_eq!(code, 0, "{stdout}");
    let other = tenant(2).to_string();
    let (code, _, _) = run(&[
        "verify",
        file.to_str().unwrap(),
        "--ed25519-public-key",
        &k,
        "--tenant",
        &other,
    ]);
    assert_eq!(code, 1);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["verify"],
        &["verify", "/nonexistent/file"],
        &["verify", "f", "--bogus"],
        &["verify", "f", "--hmac-key-file"],
        &["verify", "f", "--ed25519-public-key", "id=zz"],
        &["verify", "f", "--trusted-size", "3"],
    ] {
        let (code, _, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stderr.contains("usage: palisade-audit verify"), "{stderr}");
    }
}

#[test]
fn every_flag_in_the_module_doc_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, _) = build_export(2, 1);
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &out).unwrap();
    let key = dir.path().join("k1.hex");
    std::fs::write(&key, hex::encode([0x0b; 32])).unwrap();
    let doc: String = include_str!("../src/main.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect();
    let flags: Vec<&str> = doc
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--"))
        .collect();
    assert!(flags.contains(&"--hmac-key-file"), "{flags:?}");
    for flag in flags {
        let value = match flag {
            "--hmac-key-file" => format!("k1={}", key.display()),
            "--ed25519-public-key" => {
                "e=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".to_owned()
            }
            "--tenant" => "ten_0h248h248h248h248h248h248h".to_owned(),
            "--published" => {
                let p = dir.path().join("published.jsonl");
                std::fs::write(&p, "").unwrap();
                p.display().to_string()
            }
            "--trusted-size" | "--trusted-root" | "--allow-unsigned-tail" => continue,
            other => panic!("the module doc names `{other}`, which the test does not know"),
        };
        let t = tenant(1).to_string();
        let (code, stdout, stderr) = run(&[
            "verify",
            file.to_str().unwrap(),
            "--tenant",
            &t,
            flag,
            &value,
        ]);
        assert!(!stderr.contains("unknown option"), "{flag}: {stderr}");
        assert_ne!(code, 2, "{flag}: {stdout}{stderr}");
    }
}
