//! `palisade-audit verify FILE --tenant TEN [--hmac-key-file ID=PATH]... [--ed25519-public-key ID=HEX]...
//! [--published FILE]... [--trusted-size N --trusted-root HEX] [--allow-unsigned-tail]`
//!
//! Exit status: 0 verified, 1 a problem was found, 2 usage or I/O error.

use palisade_audit::{KeyId, Keyring, VerifyKey, VerifyOptions, read_published, verify_with};
use std::process::ExitCode;
use zeroize::Zeroizing;

const USAGE: &str = "usage: palisade-audit verify FILE --tenant TEN_ID [--hmac-key-file ID=PATH]... [--ed25519-public-key ID=HEX]...
                      [--published FILE]... [--trusted-size N --trusted-root HEX] [--allow-unsigned-tail]

  --hmac-key-file ID=PATH     HMAC-SHA256 key with key id ID; PATH holds the key as hex (64-128 hex digits)
  --ed25519-public-key ID=HEX Ed25519 public key (64 hex digits) with key id ID
  --tenant TEN_ID             (required) the tenant whose export this must be
  --published FILE            checkpoints published earlier (one `{\"checkpoint\":…}` line each, any tenants):
                              the export must agree with each and reach the largest (truncation, fork)
  --trusted-size, --trusted-root  a checkpoint you already trust: detects truncation
  --allow-unsigned-tail       accept records after the last checkpoint (a live file)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn split_id(v: &str) -> Result<(KeyId, &str), String> {
    let (id, rest) = v
        .split_once('=')
        .ok_or_else(|| format!("expected `ID=VALUE`, got `{v}`"))?;
    Ok((KeyId::new(id).map_err(|e| e.to_string())?, rest))
}

fn run(args: &[String]) -> Result<bool, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("verify") => {}
        Some("-h" | "--help") | None => return Err("no command given".into()),
        Some(other) => {
            return Err(format!(
                "unknown command `{other}`: the only command is `verify`"
            ));
        }
    }
    let mut file = None;
    let mut keys = Keyring::new();
    let mut tenant = None;
    let mut allow_unsigned_tail = false;
    let mut published = Vec::new();
    let (mut tsize, mut troot) = (None, None);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("`{a}` needs a value"));
        match a.as_str() {
            "--hmac-key-file" => {
                let (id, path) = split_id(value()?)?;
                // Both copies of the key are wiped when they go out of scope.
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read `{path}`: {e}"))?,
                );
                let bytes = Zeroizing::new(
                    hex::decode(text.trim())
                        .map_err(|_| format!("`{path}` must hold the key as hex"))?,
                );
                keys.insert(id, VerifyKey::hmac(&bytes).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            "--ed25519-public-key" => {
                let (id, h) = split_id(value()?)?;
                let mut pk = [0u8; 32];
                hex::decode_to_slice(h, &mut pk)
                    .map_err(|_| "the Ed25519 public key must be 64 hex digits".to_string())?;
                keys.insert(id, VerifyKey::ed25519(&pk).map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            "--tenant" => tenant = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--trusted-size" => {
                tsize = Some(
                    value()?
                        .parse::<u64>()
                        .map_err(|_| "`--trusted-size` takes a number".to_string())?,
                )
            }
            "--trusted-root" => {
                let mut r = [0u8; 32];
                hex::decode_to_slice(value()?, &mut r)
                    .map_err(|_| "`--trusted-root` takes 64 hex digits".to_string())?;
                troot = Some(r);
            }
            "--allow-unsigned-tail" => allow_unsigned_tail = true,
            "--published" => {
                let path = value()?;
                let bytes =
                    std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
                published.extend(read_published(&bytes).map_err(|e| format!("`{path}`: {e}"))?);
            }
            f if f.starts_with("--") => return Err(format!("unknown option `{f}`")),
            f if file.is_none() => file = Some(f.to_owned()),
            f => return Err(format!("unexpected argument `{f}`")),
        }
    }
    let tenant = tenant
        .ok_or("`--tenant TEN_ID` is required: an export verifies only as its own tenant's")?;
    let mut opts = VerifyOptions::new(tenant);
    opts.allow_unsigned_tail = allow_unsigned_tail;
    opts.published = published;
    opts.trusted = match (tsize, troot) {
        (Some(s), Some(r)) => Some((s, r)),
        (None, None) => None,
        _ => return Err("give both `--trusted-size` and `--trusted-root`, or neither".into()),
    };
    let file = file.ok_or("no FILE given")?;
    let data = std::fs::read(&file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
    let report = verify_with(&data, &keys, &opts);
    let tenant = report
        .tenant
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    match &report.problem {
        None => {
            println!(
                "OK {file}: tenant {tenant}, {} records, {} checkpoints, signed size {}, root {}",
                report.records,
                report.checkpoints,
                report.signed_size,
                report
                    .signed_root
                    .map_or_else(|| "-".to_owned(), hex::encode)
            );
            Ok(true)
        }
        Some(f) => {
            println!(
                "FAILED {file}: tenant {tenant}: {f} ({} records verified before it)",
                report.records
            );
            Ok(false)
        }
    }
}
