//! Palisade in one run: `cargo run --example quickstart`.
//!
//! Everything is in-process on embedded defaults: a fresh local keyring, an
//! in-memory key store, the RBAC policy in `examples/policies/quickstart.toml`
//! and an audit log in a temporary directory. Each step prints what happened.

use std::collections::BTreeMap;
use std::time::Duration;

use palisade::apikey::NewKey;
use palisade::tenancy::{Principal, Scope, Scoped, TenantId, Timestamp};
use palisade::{
    Credential, Palisade, PalisadeConfig, PlanConfig, RateConfig, Request, RequestFacts,
    TenantConfig,
};

type Error = Box<dyn std::error::Error>;

const ACME: &str = "ten_1sajvnrhg8bbpt7cpnxcarwaex";
const GLOBEX: &str = "ten_0sfsardek6a3c8ckrbjx5031vh";

/// The denial, or an error if the request was (wrongly) allowed.
fn expect_denial(
    r: Result<palisade::Authorized, palisade::Denial>,
) -> Result<palisade::Denial, Error> {
    match r {
        Ok(a) => Err(format!("expected a denial, but {} was allowed", a.principal()).into()),
        Err(d) => Ok(d),
    }
}

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

fn main() -> Result<(), Error> {
    let acme: TenantId = ACME.parse()?;
    let globex: TenantId = GLOBEX.parse()?;
    let audit_dir = tempfile::tempdir()?;

    // Configuration: embedded defaults, plus the policy file, the audit
    // directory, and a small "demo" plan so the rate limit shows quickly.
    let mut config = PalisadeConfig::default();
    config.policy_path = Some(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/policies/quickstart.toml"
        )
        .to_owned(),
    );
    config.audit_dir = Some(audit_dir.path().to_string_lossy().into_owned());
    config.rate_limits.plans.insert(
        "demo".into(),
        PlanConfig::new(
            RateConfig::per_second(5),
            RateConfig::per_second(50),
            RateConfig::per_second(100),
        ),
    );
    config.tenants = BTreeMap::from([
        (
            acme,
            TenantConfig::new(Some("demo"), &["https://app.acme.example"]),
        ),
        (globex, TenantConfig::new(None, &[])),
    ]);
    let palisade = Palisade::builder(config).build()?;
    println!(
        "Palisade ready: policy v{} from examples/policies/quickstart.toml,",
        palisade.policy_version()
    );
    println!("   audit log in {}", audit_dir.path().display());

    let now = Timestamp::now();
    let alice = Principal::user("alice@acme.example")?;

    step(
        1,
        "Alice (Acme admin, logged in through the host's own login) issues a key for herself",
    );
    // The host's login verified Alice; Palisade checks she may create keys
    // in Acme, and `key_admin` checks the new key's scopes against what she
    // may do right now, then records the issue in Acme's audit log.
    let session = Credential::Authenticated {
        principal: &alice,
        scope: Scope::tenant(acme),
    };
    let admin = palisade.authorize(&Request::new(session, "apikeys:create", "apikey", "-", now))?;
    let too_wide = NewKey::new(Scope::tenant(acme), "everything")
        .owner(alice.clone())
        .scopes(["*"])?;
    match palisade.key_admin(&admin).issue(too_wide, now) {
        Ok(_) => return Err("a `*` key was minted past a deny rule (bug)".into()),
        Err(e) => println!("   a `*` key is refused: {e}"),
    }
    let new_key = NewKey::new(Scope::tenant(acme), "support bot")
        .owner(alice.clone())
        .scopes(["inbox:*", "knowledge:*", "provider_keys:*"])?;
    let issued = palisade.key_admin(&admin).issue(new_key, now)?;
    let key = issued.expose_secret();
    println!(
        "   key {} (shown once; the store keeps only a peppered hash)",
        issued.display()
    );

    let facts = RequestFacts {
        request_id: Some("req-0001"),
        ..RequestFacts::default()
    };
    let ask = |permission: &'static str, resource: &'static str, id: &'static str| {
        Request::new(Credential::ApiKey(key), permission, resource, id, now).facts(facts)
    };

    step(2, "An allowed request: the key reads Acme's inbox");
    let ok = palisade.authorize(&ask("inbox:read", "inbox", "conversation-42"))?;
    println!(
        "   allowed: {} acting in {} (via {})",
        ok.principal(),
        ok.scope(),
        ok.key().map_or("-".into(), ToString::to_string)
    );

    step(
        3,
        "Denied requests, with the explanation that goes to the log (the caller sees only the code)",
    );
    let denied = expect_denial(palisade.authorize(&ask("billing:read", "invoice", "inv-7")))?;
    println!(
        "   key asks billing:read  -> caller sees `{denied}` ({})",
        denied.kind().status()
    );
    println!("   log: {}", denied.explain());
    let session = Request::new(
        Credential::Authenticated {
            principal: &alice,
            scope: Scope::tenant(acme),
        },
        "billing:write",
        "plan",
        "acme-plan",
        now,
    );
    let denied = expect_denial(palisade.authorize(&session))?;
    println!("   Alice's own session asks billing:write -> `{denied}`");
    println!("   log: {}", denied.explain());

    step(
        4,
        "A cross-tenant attempt: Acme's key asks for a Globex conversation",
    );
    let cross = palisade.authorize(
        &ask("inbox:read", "inbox", "globex-conversation-1").target(Scope::tenant(globex)),
    );
    let cross = expect_denial(cross)?;
    println!("   refused: `{cross}`; log: {}", cross.explain());

    step(5, "A provider API key encrypted for Acme and reopened");
    let auth = palisade.authorize(&ask("provider_keys:write", "provider_key", "openai"))?;
    let ctx = auth
        .envelope()
        .context()
        .with("table", "provider_keys")?
        .with("row", "openai")?;
    let sealed = auth.envelope().seal(&ctx, b"sk-live-acme-0123456789")?;
    let row = auth.own(sealed); // stored with its owner's scope
    println!(
        "   sealed {} bytes (AES-256-GCM, key-committing, bound to Acme's scope)",
        auth.open(&row)?.len()
    );
    let reopened = auth.envelope().open(&ctx, auth.open(&row)?)?;
    println!(
        "   reopened by Acme: {}",
        if reopened.as_slice() == b"sk-live-acme-0123456789" {
            "the same secret"
        } else {
            "MISMATCH"
        }
    );
    let globex_view = palisade.envelope().for_scope(Scope::tenant(globex));
    let stolen = Scoped::new(Scope::tenant(globex), auth.open(&row)?.clone());
    let globex_ctx = globex_view
        .context()
        .with("table", "provider_keys")?
        .with("row", "openai")?;
    let refused = globex_view
        .open(&globex_ctx, stolen.get(&Scope::tenant(globex))?)
        .is_err();
    println!(
        "   the same bytes copied into Globex's row: {}",
        if refused {
            "do not open"
        } else {
            "OPENED (bug)"
        }
    );

    step(
        6,
        "Rate limit: Acme's demo plan allows 5 requests a second per key",
    );
    let mut allowed = 0;
    let later = now.saturating_add(Duration::from_secs(10));
    let limited = loop {
        let req = Request::new(
            Credential::ApiKey(key),
            "inbox:read",
            "inbox",
            "poll",
            later,
        );
        match palisade.authorize(&req) {
            Ok(_) => allowed += 1,
            Err(d) => break d,
        }
    };
    let retry = limited.rate_limit().map_or(0, |r| r.retry_after_secs());
    println!(
        "   {allowed} allowed, then `{limited}` ({}), Retry-After: {retry} s",
        limited.kind().status()
    );

    step(
        7,
        "Acme's audit log: every decision above, allowed and denied, signed and chained",
    );
    let export = palisade.export_audit(acme, later)?;
    let report = palisade.verify_audit(acme, &export);
    println!(
        "   verified: {} records, {} signed checkpoint{}, ok = {}",
        report.records,
        report.checkpoints,
        if report.checkpoints == 1 { "" } else { "s" },
        report.is_ok()
    );

    step(
        8,
        "Someone edits the log to hide a denial; the verifier finds where",
    );
    let text = String::from_utf8(export)?;
    let tampered = text.replacen("\"status\":\"denied\"", "\"status\":\"allowed\"", 1);
    let report = palisade.verify_audit(acme, tampered.as_bytes());
    match &report.problem {
        Some(finding) => println!("   tamper located: {finding}"),
        None => println!("   NOT detected (bug)"),
    }
    println!("\nDone. Next: docs/guide.md, and `cargo run --example axum_service`.");
    Ok(())
}
