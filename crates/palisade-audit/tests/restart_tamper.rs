//! Issue 11 F1 regression: someone who can write the audit directory but
//! holds no key edits it between two runs. The restart refuses the edited
//! log (typed error naming the line, file untouched), or, for a cut exactly
//! at a checkpoint (indistinguishable from an older log), the verifier with
//! the published checkpoints reports it.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a panic is a failing test"
)]

mod common;

use common::*;
use palisade_audit::*;
use std::path::Path;
use std::sync::Arc;

const EVERY: u64 = 4;

fn signer() -> CheckpointSigner {
    hmac_signer("k1")
}

/// What a file writer without the key can sign with: its own secret under
/// the same key id.
fn forger() -> CheckpointSigner {
    CheckpointSigner::hmac(KeyId::new("k1").unwrap(), &[0x66; 32]).unwrap()
}

fn open(dir: &Path, signer: CheckpointSigner, published: &Path) -> AuditLog {
    AuditLog::new(Box::new(JsonlDir::new(dir, FsyncPolicy::Never)), signer)
        .with_policy(CheckpointPolicy {
            every_records: EVERY,
            every_millis: 0,
        })
        .with_publisher(Arc::new(FilePublisher::open(published).unwrap()))
}

/// Run 1: 10 records, checkpoints at 4 and 8 (published), 2 in the tail.
fn first_run(dir: &Path, published: &Path) -> Vec<u8> {
    let log = open(dir, signer(), published);
    for i in 0..10 {
        log.append(sample_event(tenant(1), i)).unwrap();
    }
    log.with_tenant(tenant(1), |l| l.commit().unwrap()).unwrap();
    drop(log);
    std::fs::read(dir.join(format!("{}.jsonl", tenant(1)))).unwrap()
}

fn restart(dir: &Path, published: &Path) -> Result<u64> {
    let log = open(dir, signer(), published);
    log.append(sample_event(tenant(1), 100)).map(|r| r.index)
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    std::fs::write(path, join(lines)).unwrap();
}

fn refused(dir: &Path, published: &Path, path: &Path) -> (u64, Problem) {
    let before = std::fs::read(path).unwrap();
    let e = restart(dir, published).unwrap_err();
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "the file was modified"
    );
    assert!(e.to_string().contains("was not modified"), "{e}");
    match e {
        AuditError::ResumeRefused { line, problem, .. } => (line, problem),
        other => panic!("expected ResumeRefused, got {other}"),
    }
}

#[test]
fn an_untouched_directory_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published.jsonl");
    first_run(dir.path(), &published);
    assert_eq!(restart(dir.path(), &published).unwrap(), 10);
    let lines = read_published(&std::fs::read(&published).unwrap()).unwrap();
    assert_eq!(
        lines.iter().map(Checkpoint::size).collect::<Vec<_>>(),
        [4, 8]
    );
}

/// A signed record deleted (and the rest re-signed with the forger's key,
/// which is what makes the edit consistent): refused at the first
/// checkpoint the forger signed.
#[test]
fn deleting_a_signed_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published.jsonl");
    let original = first_run(dir.path(), &published);
    let path = dir.path().join(format!("{}.jsonl", tenant(1)));

    // Just the line: the replay finds the gap.
    let mut ls = lines(&original);
    ls.remove(3); // record index 2
    write_lines(&path, &ls);
    let (line, problem) = refused(dir.path(), &published, &path);
    assert_eq!((line, problem), (4, Problem::Missing { count: 1 }));

    // Rewritten consistently, without record 2, under the forger's key.
    std::fs::remove_file(&path).unwrap();
    let forged = AuditLog::new(
        Box::new(JsonlDir::new(dir.path(), FsyncPolicy::Never)),
        forger(),
    )
    .with_policy(CheckpointPolicy {
        every_records: EVERY,
        every_millis: 0,
    });
    for i in (0..10).filter(|&i| i != 2) {
        forged.append(sample_event(tenant(1), i)).unwrap();
    }
    forged
        .with_tenant(tenant(1), |l| l.commit().unwrap())
        .unwrap();
    drop(forged);
    let (line, problem) = refused(dir.path(), &published, &path);
    // Line 6: header, 4 records, then the first (forged) checkpoint.
    assert_eq!((line, problem), (6, Problem::BadSignature));
}

/// Records appended after the last checkpoint by a file writer: refused,
/// whether they carry no MAC, a made-up one, or one under another key.
#[test]
fn appending_a_forged_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published.jsonl");
    let original = first_run(dir.path(), &published);
    let path = dir.path().join(format!("{}.jsonl", tenant(1)));
    let ls = lines(&original);
    assert_eq!(ls.len(), 13); // header, 10 records, 2 checkpoints

    // A forged record 10: right index and leaf hash (anyone can compute
    // those), but the writer cannot compute the record MAC.
    let forged_line = |mac: Option<&str>| -> Vec<u8> {
        let mut probe = TenantLog::new(tenant(1), Box::new(MemorySink::new()), Arc::new(forger()));
        for i in 0..11 {
            probe.append(sample_event(tenant(1), i)).unwrap();
        }
        let mut out = Vec::new();
        probe.export(now(0), &mut out).unwrap();
        let line = lines(&out)
            .into_iter()
            .find(|l| l.starts_with(b"{\"record\":{\"index\":10,"))
            .unwrap();
        let text = String::from_utf8(line).unwrap();
        let start = text.find("\"mac\":\"").unwrap() + 7;
        let real = text[start..start + 64].to_owned();
        match mac {
            None => text.into_bytes(), // the forger's own key
            Some("") => text
                .replace(&format!("\"mac\":\"{real}\","), "")
                .into_bytes(),
            Some(m) => text.replace(&real, m).into_bytes(),
        }
    };
    for mac in [None, Some(""), Some(&"0".repeat(64)[..])] {
        let mut edited = ls.clone();
        edited.push(forged_line(mac));
        write_lines(&path, &edited);
        let (line, problem) = refused(dir.path(), &published, &path);
        if mac == Some("") {
            assert!(matches!(problem, Problem::Malformed { .. }), "{problem}");
        } else {
            assert_eq!(problem, Problem::UnauthenticatedRecord);
        }
        assert_eq!(line, 14, "{mac:?}");
    }

    // A genuine tail record altered in place (its MAC no longer matches):
    // refused, located at that line.
    let mut edited = ls.clone();
    let last = String::from_utf8(edited[12].clone()).unwrap();
    assert!(last.contains("\"index\":9,"));
    let mut probe = TenantLog::new(tenant(1), Box::new(MemorySink::new()), Arc::new(forger()));
    for i in 0..10 {
        let mut e = sample_event(tenant(1), i);
        if i == 9 {
            e = e.with_reason("nothing to see").unwrap();
        }
        probe.append(e).unwrap();
    }
    let mut out = Vec::new();
    probe.export(now(0), &mut out).unwrap();
    let mut rewritten = lines(&out)
        .into_iter()
        .find(|l| l.starts_with(b"{\"record\":{\"index\":9,"))
        .unwrap();
    // Keep the genuine MAC, change the content and leaf hash.
    let genuine = &last[last.find("\"mac\":\"").unwrap()..][..71];
    let text = String::from_utf8(rewritten.clone()).unwrap();
    let fake = &text[text.find("\"mac\":\"").unwrap()..][..71];
    rewritten = text.replace(fake, genuine).into_bytes();
    edited[12] = rewritten;
    write_lines(&path, &edited);
    assert_eq!(
        refused(dir.path(), &published, &path),
        (13, Problem::UnauthenticatedRecord)
    );
}

/// A cut exactly at a checkpoint leaves a valid older log: the restart
/// continues it, its own export verifies, and only the published
/// checkpoints show what happened (truncation, then a fork).
#[test]
fn a_cut_at_a_checkpoint_is_reported_against_published_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published.jsonl");
    let original = first_run(dir.path(), &published);
    let path = dir.path().join(format!("{}.jsonl", tenant(1)));
    let ls = lines(&original);
    // Header, records 0-3, checkpoint 4: six lines.
    assert!(ls[5].starts_with(b"{\"checkpoint\":{"));
    write_lines(&path, &ls[..6]);
    let cut = std::fs::read(&path).unwrap();
    let keys = keyring_for(&[&signer()]);
    let published_cps = read_published(&std::fs::read(&published).unwrap()).unwrap();
    let opts = VerifyOptions {
        published: published_cps.clone(),
        ..VerifyOptions::new(tenant(1))
    };
    assert!(verify(&cut, &keys, tenant(1)).is_ok());
    let f = verify_with(&cut, &keys, &opts).problem.unwrap();
    assert_eq!(
        (f.line, f.index, f.problem),
        (6, Some(4), Problem::Truncated { trusted_size: 8 })
    );

    // The restart accepts it (nothing in it is forged) and writes on.
    assert_eq!(restart(dir.path(), &published).unwrap(), 4);
    let log = open(dir.path(), signer(), &dir.path().join("p2.jsonl"));
    for i in 200..210 {
        log.append(sample_event(tenant(1), i)).unwrap();
    }
    let mut export = Vec::new();
    log.export(tenant(1), now(5), &mut export).unwrap();
    assert!(verify(&export, &keys, tenant(1)).is_ok());
    // Against the checkpoints published in run 1: a fork, located after the
    // last published checkpoint the export agrees with (size 4), i.e. at
    // record 4, on its line.
    let f = verify_with(&export, &keys, &opts).problem.unwrap();
    assert_eq!(
        (f.index, f.problem.clone()),
        (Some(4), Problem::TrustedRootMismatch { trusted_size: 8 })
    );
    assert!(lines(&export)[f.line as usize - 1].starts_with(b"{\"record\":{\"index\":4,"));
}

/// Restarting with a new signing key: the stored checkpoints of the old key
/// must be vouched for (`add_verify_key`), and an unsigned tail written
/// under the old key cannot be continued by the new one.
#[test]
fn restart_with_a_rotated_key() {
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published.jsonl");
    first_run(dir.path(), &published);
    let next = || CheckpointSigner::hmac(KeyId::new("k2").unwrap(), &[0x0d; 32]).unwrap();
    // The tail (records 8, 9) carries MACs under k1's secret.
    let log = open(dir.path(), next(), &published);
    log.add_verify_key(KeyId::new("k1").unwrap(), signer().verify_key())
        .unwrap();
    assert!(matches!(
        log.append(sample_event(tenant(1), 50)),
        Err(AuditError::ResumeRefused {
            line: 12,
            problem: Problem::UnauthenticatedRecord,
            ..
        })
    ));
    // Sealed by the old key first, the log continues under the new one,
    // once the old key is known.
    let old = open(dir.path(), signer(), &published);
    old.checkpoint(tenant(1), now(2)).unwrap();
    drop(old);
    let log = open(dir.path(), next(), &published);
    assert!(matches!(
        log.append(sample_event(tenant(1), 50)),
        Err(AuditError::ResumeRefused {
            problem: Problem::UnknownKey { .. },
            ..
        })
    ));
    log.add_verify_key(KeyId::new("k1").unwrap(), signer().verify_key())
        .unwrap();
    assert_eq!(log.append(sample_event(tenant(1), 50)).unwrap().index, 10);
    let mut export = Vec::new();
    log.export(tenant(1), now(3), &mut export).unwrap();
    let r = log.verify_export(&export, &VerifyOptions::new(tenant(1)));
    assert!(r.is_ok(), "{:?}", r.problem);
}
