//! API keys end to end: issue, verify, scope-check, rotate with a grace
//! period, revoke, and scan a log line for a leaked key and redact it.
//!
//! Run with `cargo run --example api_keys`.

use std::net::IpAddr;
use std::time::Duration;

use palisade_apikey::{ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, VerifyContext};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The pepper lives outside the database (a secrets manager, a KMS-unwrapped file).
    let keys = ApiKeys::in_memory(
        KeyFormat::new("pal")?,
        PepperSet::new([Pepper::generate(1)?])?,
    );
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let acme = Scope::project(TenantId::new_v7(), ProjectId::new_v7());
    let office: IpAddr = "203.0.113.7".parse()?;

    // Issue: the full key is shown once; only its hash is stored.
    let issued = keys.issue(
        NewKey::new(acme, "support bot")
            .owner(Principal::service("support-bot")?)
            .scopes(["knowledge:read", "chat:*"])?
            .allow_ips(["203.0.113.0/24".parse()?, "2001:db8::/32".parse()?])
            .expires_at(now.saturating_add_days(90)),
        now,
    )?;
    println!(
        "issued  {}  (show once: {} characters)",
        issued.display(),
        issued.expose_secret().len()
    );

    // Verify on a request, with a scope check.
    let ctx = VerifyContext::new(now)
        .with_ip(office)
        .require("knowledge:read");
    let who = keys.verify(issued.expose_secret(), &ctx)?;
    println!(
        "verified {} for {} acting as {}, scopes {:?}",
        who.key_principal(),
        who.scope(),
        who.acting_principal(),
        who.granted_scopes()
    );

    // A scope the key lacks: the caller hears only the public reason.
    let denied = keys.verify(
        issued.expose_secret(),
        &VerifyContext::new(now)
            .with_ip(office)
            .require("billing:write"),
    );
    if let Err(r) = denied {
        println!(
            "billing:write -> log: {r}; caller: {} ({})",
            r.public(),
            r.public().http_status()
        );
    }

    // A typo never reaches the store: the checksum catches it.
    let mut typo = issued.expose_secret().to_owned();
    let swap = if typo.get(20..21) == Some("a") {
        "b"
    } else {
        "a"
    };
    typo.replace_range(20..21, swap);
    if let Err(r) = keys.verify(&typo, &ctx) {
        println!("typo    -> log: {r}; caller: {}", r.public());
    }

    // Rotate with a one-day grace: both keys work until it ends.
    let rolled = keys.rotate(issued.key_id(), Duration::from_secs(86_400), now)?;
    println!("rotated {} -> {}", issued.display(), rolled.display());
    let in_an_hour =
        VerifyContext::new(now.saturating_add(Duration::from_secs(3600))).with_ip(office);
    println!(
        "old key during grace: {:?}",
        keys.verify(issued.expose_secret(), &in_an_hour)
            .map(|v| *v.key_id())
    );
    let tomorrow = VerifyContext::new(now.saturating_add_days(1)).with_ip(office);
    println!(
        "old key after grace: {:?}",
        keys.verify(issued.expose_secret(), &tomorrow)
            .map(|v| *v.key_id())
    );
    println!(
        "new key after grace: {:?}",
        keys.verify(rolled.expose_secret(), &tomorrow)
            .map(|v| *v.key_id())
    );

    // Revoke.
    keys.revoke(rolled.key_id(), now.saturating_add_days(2))?;
    let later = VerifyContext::new(now.saturating_add_days(3)).with_ip(office);
    println!(
        "revoked key: {:?}",
        keys.verify(rolled.expose_secret(), &later)
            .map(|v| *v.key_id())
    );

    // Leak scanning: find the key in a log line and redact it before storing.
    let line = format!(
        "POST /v1/chat 200 authorization=Bearer {} ua=curl",
        rolled.expose_secret()
    );
    for found in keys.format().scan(&line) {
        println!(
            "leak: key {} ({}) at bytes {:?}",
            found.key_id, found.env, found.range
        );
    }
    println!("redacted: {}", keys.format().redact(&line));

    // Listing never shows secrets.
    for r in keys.list(acme.tenant_id())? {
        println!(
            "list: {} {:?} revoked={:?} grace_until={:?}",
            r.key_id, r.name, r.revoked_at, r.grace_until
        );
    }
    Ok(())
}
