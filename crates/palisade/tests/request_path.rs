//! The composed request path: every step, every denial reason, policy swap,
//! break-glass, fail-closed auditing, secrets from configuration.
#![cfg(feature = "service")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use palisade::apikey::NewKey;
use palisade::audit::{AuditError, AuditSink, Checkpoint, Record, Resume, SinkFactory};
use palisade::tenancy::{Principal, ProjectId, Scope, Scoped, TenantId, Timestamp};
use palisade::{
    Credential, DenialKind, DenyReason, Palisade, PalisadeConfig, PalisadeError, PlanConfig,
    RateConfig, Request, RequestFacts, TenantConfig,
};
use proptest::prelude::*;

const T0: i64 = 1_800_000_000_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

struct World {
    palisade: Palisade,
    acme: TenantId,
    globex: TenantId,
    /// Alice's key: scopes inbox:*, knowledge:*.
    alice_key: String,
    /// Bob's key (Globex).
    bob_key: String,
}

#[cfg(test)]
fn policy(acme: TenantId, globex: TenantId) -> String {
    format!(
        r#"
        version = 1
        permissions = ["inbox:read", "inbox:write", "knowledge:read", "billing:read", "billing:write"]
        [[roles]]
        name = "admin"
        permissions = ["*"]
        [[roles]]
        name = "agent"
        permissions = ["inbox:*", "knowledge:read"]
        [[bindings]]
        principal = "user:alice@acme.example"
        role = "admin"
        scope = "{acme}"
        [[bindings]]
        principal = "user:bob@globex.example"
        role = "agent"
        scope = "{globex}"
        [[denies]]
        permissions = ["billing:write"]
        scope = "{acme}"
        reason = "frozen"
    "#
    )
}

#[cfg(test)]
fn world_with(config: PalisadeConfig) -> World {
    let acme = TenantId::new_v7();
    let globex = TenantId::new_v7();
    let mut config = config;
    config
        .tenants
        .insert(acme, TenantConfig::new(None, &["https://app.acme.example"]));
    let palisade = Palisade::builder(config)
        .policy_toml(&policy(acme, globex))
        .at(at(0))
        .build()
        .unwrap();
    let issue = |tenant, owner: &str, scopes: &[&str]| {
        let new = NewKey::new(Scope::tenant(tenant), "test")
            .owner(Principal::user(owner).unwrap())
            .scopes(scopes.iter().copied())
            .unwrap();
        palisade
            .keys()
            .issue(new, at(0))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let alice_key = issue(acme, "alice@acme.example", &["inbox:*", "knowledge:*"]);
    let bob_key = issue(globex, "bob@globex.example", &["inbox:*"]);
    World {
        palisade,
        acme,
        globex,
        alice_key,
        bob_key,
    }
}

#[cfg(test)]
fn world() -> World {
    world_with(PalisadeConfig::default())
}

fn key_req<'a>(key: &'a str, permission: &'a str, now: Timestamp) -> Request<'a> {
    Request::new(Credential::ApiKey(key), permission, "thing", "t-1", now)
}

#[cfg(test)]
fn records(w: &World, tenant: TenantId) -> (u64, String) {
    let export = w.palisade.export_audit(tenant, at(60_000)).unwrap();
    let report = w.palisade.verify_audit(&export);
    assert!(report.is_ok(), "{:?}", report.problem);
    (report.records, String::from_utf8(export).unwrap())
}

#[test]
fn allowed_request_yields_a_scoped_context_and_an_audit_record() {
    let w = world();
    let facts = RequestFacts {
        ip: Some("192.0.2.7".parse().unwrap()),
        user_agent: Some("test-agent/1"),
        request_id: Some("req-1"),
        origin: Some("https://app.acme.example"),
    };
    let auth = w
        .palisade
        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)).facts(facts))
        .unwrap();
    assert_eq!(auth.principal().to_string(), "user:alice@acme.example");
    assert!(auth.key().unwrap().to_string().starts_with("key:"));
    assert_eq!(auth.tenant(), w.acme);
    assert_eq!(auth.scope(), &Scope::tenant(w.acme));
    assert!(auth.rate_status().is_some());
    assert_eq!(auth.staff_reason(), None);
    // Scoped values: own tenant opens, another does not.
    let mine = auth.own(5);
    assert_eq!(auth.open(&mine).unwrap(), &5);
    assert!(auth.open(&Scoped::new(Scope::tenant(w.globex), 6)).is_err());
    // The envelope handle is bound to Acme.
    let ctx = auth.envelope().context();
    let ct = auth.envelope().seal(&ctx, b"x").unwrap();
    assert_eq!(auth.envelope().open(&ctx, &ct).unwrap().as_slice(), b"x");
    let globex_env = w.palisade.envelope().for_scope(Scope::tenant(w.globex));
    assert!(globex_env.open(&globex_env.context(), &ct).is_err());

    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 1);
    for needle in [
        "\"status\":\"allowed\"",
        "inbox.read",
        "192.0.2.7",
        "test-agent/1",
        "req-1",
        "alice@acme.example",
    ] {
        assert!(text.contains(needle), "audit record lacks {needle}: {text}");
    }
    assert!(!text.contains(&w.alice_key));
}

#[test]
fn every_denial_reason_is_audited_and_opaque() {
    let w = world();
    let p = &w.palisade;
    let deny = |r: Request<'_>| p.authorize(&r).unwrap_err();

    // Key scopes narrow the owner's admin role.
    let d = deny(key_req(&w.alice_key, "billing:read", at(1)));
    assert_eq!(
        (d.reason(), d.kind()),
        (DenyReason::NotPermitted, DenialKind::Forbidden)
    );
    assert!(
        d.explain().contains("outside the API key's scopes"),
        "{}",
        d.explain()
    );
    assert_eq!(d.to_string(), "forbidden");

    // A deny rule beats the admin role (session credential, no key).
    let alice = Principal::user("alice@acme.example").unwrap();
    let session = |perm| {
        Request::new(
            Credential::Authenticated {
                principal: &alice,
                scope: Scope::tenant(w.acme),
            },
            perm,
            "plan",
            "p",
            at(2),
        )
    };
    let d = deny(session("billing:write"));
    assert!(d.explain().contains("frozen"), "{}", d.explain());
    assert!(p.authorize(&session("billing:read")).is_ok());

    // Cross-tenant target.
    let d = deny(key_req(&w.alice_key, "inbox:read", at(3)).target(Scope::tenant(w.globex)));
    assert_eq!(d.reason(), DenyReason::CrossTenant);
    // A project of the own tenant is fine, and becomes the request scope.
    let proj = Scope::project(w.acme, ProjectId::new_v7());
    assert_eq!(
        p.authorize(&key_req(&w.alice_key, "inbox:read", at(3)).target(proj))
            .unwrap()
            .scope(),
        &proj
    );

    // Origin not allowed for the tenant.
    let facts = RequestFacts {
        origin: Some("https://evil.example"),
        ..RequestFacts::default()
    };
    let d = deny(key_req(&w.alice_key, "inbox:read", at(4)).facts(facts));
    assert_eq!(d.reason(), DenyReason::OriginNotAllowed);

    // Malformed, unknown and wrong-secret keys all read `unauthorized`.
    let mut wrong = w.alice_key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        "",
        "nonsense",
        "pal_live_0000000000000000000000000000000000000000000000000000000000000",
        wrong.as_str(),
    ] {
        let d = deny(key_req(bad, "inbox:read", at(5)));
        assert_eq!(d.kind(), DenialKind::Unauthenticated, "{bad}");
        assert_eq!(d.public_body(None), "{\"error\":\"unauthorized\"}");
    }

    // Revoked key.
    let id = p.keys().list(w.globex)[0].key_id;
    p.keys().revoke(&id, at(6)).unwrap();
    let d = deny(key_req(&w.bob_key, "inbox:read", at(7)));
    assert_eq!(d.reason(), DenyReason::KeyInactive);
    assert!(d.explain().contains("revoked"), "{}", d.explain());

    // Staff cannot pass as an ordinary session.
    let staff = Principal::staff("sam").unwrap();
    let d = deny(Request::new(
        Credential::Authenticated {
            principal: &staff,
            scope: Scope::tenant(w.acme),
        },
        "inbox:read",
        "x",
        "y",
        at(8),
    ));
    assert_eq!(d.reason(), DenyReason::BreakGlass);

    // Acme's log: 2 allowed + 5 denied (key scope, deny rule, cross-tenant, origin, staff session).
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 7, "{text}");
    assert_eq!(text.matches("\"status\":\"denied\"").count(), 5);
    for code in [
        "not_permitted",
        "cross_tenant",
        "origin_not_allowed",
        "break_glass",
    ] {
        assert!(text.contains(code), "missing {code}");
    }
    // Globex: the revoked key's attempt, under its key id. Malformed keys: the unattributed log.
    let (n, text) = records(&w, w.globex);
    assert_eq!(n, 1);
    assert!(text.contains("key_inactive") && text.contains(&format!("key:{id}")));
    let (n, text) = records(&w, palisade::UNATTRIBUTED);
    assert_eq!(n, 4);
    assert!(text.contains("service:unidentified") && text.contains("invalid_key"));
}

#[test]
fn tenant_limit_holds_across_keys_and_answers_retry_after() {
    let mut cfg = PalisadeConfig::default();
    cfg.rate_limits.plans.insert(
        "tiny".into(),
        PlanConfig::new(
            RateConfig::per_second(100),
            RateConfig::per_second(100),
            RateConfig::per_second(3),
        ),
    );
    cfg.rate_limits.default_plan = "tiny".into();
    let w = world_with(cfg);
    let second = {
        let new = NewKey::new(Scope::tenant(w.acme), "second")
            .owner(Principal::user("alice@acme.example").unwrap())
            .scopes(["inbox:*"])
            .unwrap();
        w.palisade
            .keys()
            .issue(new, at(0))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let mut allowed = 0;
    let mut last = None;
    for i in 0..10 {
        let key = if i % 2 == 0 { &w.alice_key } else { &second };
        match w.palisade.authorize(&key_req(key, "inbox:read", at(10))) {
            Ok(_) => allowed += 1,
            Err(d) => last = Some(d),
        }
    }
    assert_eq!(allowed, 3);
    let d = last.unwrap();
    assert_eq!(
        d.reason(),
        DenyReason::RateLimited(palisade::LimitLevel::Tenant)
    );
    assert_eq!(d.kind().status(), 429);
    let r = d.rate_limit().unwrap();
    assert_eq!(r.retry_after_secs(), 1);
    // A second later the tenant may go on.
    assert!(
        w.palisade
            .authorize(&key_req(&second, "inbox:read", at(1_010)))
            .is_ok()
    );
}

#[test]
fn policy_swap_takes_effect_and_refreshes_key_masks() {
    let w = world();
    assert_eq!(w.palisade.policy_version(), 1);
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "knowledge:read", at(1)))
            .is_ok()
    );
    // New policy: Alice becomes an agent without knowledge access.
    let text = policy(w.acme, w.globex)
        .replace("role = \"admin\"", "role = \"agent\"")
        .replace(
            "permissions = [\"inbox:*\", \"knowledge:read\"]",
            "permissions = [\"inbox:*\"]",
        );
    assert_eq!(w.palisade.swap_policy(&text, at(2)).unwrap(), 2);
    let d = w
        .palisade
        .authorize(&key_req(&w.alice_key, "knowledge:read", at(3)))
        .unwrap_err();
    assert!(d.explain().starts_with("policy v2"), "{}", d.explain());
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:write", at(3)))
            .is_ok()
    );
    // A broken policy is refused and the current one stays.
    let err = w.palisade.swap_policy("version = 99", at(4)).unwrap_err();
    assert!(
        matches!(
            err,
            PalisadeError::Component {
                component: "rbac",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(w.palisade.policy_version(), 2);
    w.palisade.with_policy(|p, v| {
        assert_eq!(v, 2);
        assert!(p.permission("inbox:read").is_some());
    });
}

#[test]
fn policy_swap_under_concurrent_requests() {
    let mut cfg = PalisadeConfig::default();
    let big = RateConfig::per_second(1_000_000_000);
    cfg.rate_limits
        .plans
        .insert("big".into(), PlanConfig::new(big, big, big));
    cfg.rate_limits.default_plan = "big".into();
    let w = Arc::new(world_with(cfg));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let wait_for = |n: u32| {
        while done.load(std::sync::atomic::Ordering::Relaxed) < n {
            std::thread::yield_now();
        }
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (w, stop, done) = (Arc::clone(&w), Arc::clone(&stop), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // inbox:read is allowed by every version swapped in below.
                    w.palisade
                        .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
                        .unwrap();
                    n += 1;
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                n
            })
        })
        .collect();
    wait_for(10);
    for i in 0..20 {
        let seen = done.load(std::sync::atomic::Ordering::Relaxed);
        let extra = if i % 2 == 0 {
            ""
        } else {
            "\n[[denies]]\npermissions = [\"knowledge:read\"]\nscope = \"ACME\"\n"
        };
        let text = format!(
            "{}{}",
            policy(w.acme, w.globex),
            extra.replace("ACME", &w.acme.to_string())
        );
        w.palisade.swap_policy(&text, at(1)).unwrap();
        wait_for(seen + 2); // requests keep flowing across every swap
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: u32 = workers.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(
        total >= 50,
        "requests kept flowing across the swaps: {total}"
    );
    assert_eq!(w.palisade.policy_version(), 21);
}

#[test]
fn break_glass_is_time_bound_reasoned_and_audited() {
    let w = world();
    let p = &w.palisade;
    let sam = Principal::staff("sam").unwrap();
    let scope = Scope::tenant(w.acme);
    let hour = Duration::from_secs(3600);
    // Refusals.
    let e = p.break_glass(
        &Principal::user("eve").unwrap(),
        scope,
        &["inbox:read"],
        "ticket 1234 debugging",
        hour,
        at(0),
    );
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("not a `staff:` principal")
    );
    assert!(
        p.break_glass(&sam, scope, &["inbox:read"], "short", hour, at(0))
            .unwrap_err()
            .to_string()
            .contains("reason")
    );
    assert!(
        p.break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "ticket 1234 debugging",
            hour * 2,
            at(0)
        )
        .is_err()
    );
    assert!(
        p.break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "ticket 1234 debugging",
            Duration::ZERO,
            at(0)
        )
        .is_err()
    );
    assert!(
        p.break_glass(
            &sam,
            scope,
            &["not a permission"],
            "ticket 1234 debugging",
            hour,
            at(0)
        )
        .is_err()
    );

    let g = p
        .break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "  ticket 1234 debugging ",
            Duration::from_secs(600),
            at(0),
        )
        .unwrap();
    assert_eq!(g.reason, "ticket 1234 debugging");
    assert_eq!(g.expires_at, at(600_000));
    let staff_req = |perm, now, target: Option<Scope>| {
        let mut r = Request::new(
            Credential::Staff {
                principal: &sam,
                grant: g.id,
            },
            perm,
            "inbox",
            "c-1",
            now,
        );
        r.target = target;
        r
    };
    let a = p.authorize(&staff_req("inbox:read", at(1), None)).unwrap();
    assert_eq!(a.staff_reason(), Some("ticket 1234 debugging"));
    assert_eq!(a.tenant(), w.acme);
    assert!(a.rate_status().is_none());
    let d = p
        .authorize(&staff_req("inbox:write", at(2), None))
        .unwrap_err();
    assert_eq!(d.reason(), DenyReason::BreakGlass);
    assert!(
        p.authorize(&staff_req(
            "inbox:read",
            at(3),
            Some(Scope::tenant(w.globex))
        ))
        .is_err()
    );
    let other = Principal::staff("oscar").unwrap();
    let r = Request::new(
        Credential::Staff {
            principal: &other,
            grant: g.id,
        },
        "inbox:read",
        "inbox",
        "c-1",
        at(4),
    );
    assert!(p.authorize(&r).is_err(), "someone else's grant");
    assert!(p.end_break_glass(g.id, at(5)));
    assert!(!p.end_break_glass(g.id, at(5)));
    assert!(
        p.authorize(&staff_req("inbox:read", at(6), None)).is_err(),
        "ended"
    );
    // A second grant runs out on its own.
    let g2 = p
        .break_glass(
            &sam,
            scope,
            &["inbox:read"],
            "ticket 1234 debugging",
            Duration::from_secs(60),
            at(7),
        )
        .unwrap();
    let expired = Request::new(
        Credential::Staff {
            principal: &sam,
            grant: g2.id,
        },
        "inbox:read",
        "inbox",
        "c-1",
        at(60_007),
    );
    assert!(
        p.authorize(&expired)
            .unwrap_err()
            .explain()
            .contains("expired")
    );
    assert!(
        !p.end_break_glass(g2.id, at(60_008)),
        "expired grants are dropped"
    );

    // Acme: grant, allowed use, denied write, oscar's attempt, end, second grant, expired use.
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 7, "{text}");
    assert_eq!(
        text.matches("ticket 1234 debugging").count(),
        6,
        "the reason on each of sam's records"
    );
    assert!(
        text.contains("\"principal\":\"staff:oscar\",\"reason\":\"no valid break-glass grant\"")
    );
    assert!(text.contains("break_glass.grant") && text.contains("break_glass.end"));
    // The attempt on Globex is in Globex's log; the use after the end, unattributed.
    assert_eq!(records(&w, w.globex).0, 1);
    assert_eq!(records(&w, palisade::UNATTRIBUTED).0, 1);
}

/// A sink that refuses every append.
struct Broken;

impl AuditSink for Broken {
    fn append(&mut self, _: &Record<'_>) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
    fn checkpoint(&mut self, _: &Checkpoint) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
    fn commit(&mut self) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
    fn export(&mut self, _: TenantId, _: &mut dyn std::io::Write) -> Result<(), AuditError> {
        Err(AuditError::SinkClosed)
    }
}

struct BrokenSinks;

impl SinkFactory for BrokenSinks {
    fn open(&self, _: TenantId) -> Result<(Box<dyn AuditSink>, Resume), AuditError> {
        Ok((Box::new(Broken), Resume::default()))
    }
}

#[test]
fn no_audit_record_no_access() {
    let acme = TenantId::new_v7();
    let palisade = Palisade::builder(PalisadeConfig::default())
        .policy_toml(&policy(acme, TenantId::new_v7()))
        .audit_sinks(Box::new(BrokenSinks))
        .build()
        .unwrap();
    let new = NewKey::new(Scope::tenant(acme), "k")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["inbox:*"])
        .unwrap();
    let key = palisade.keys().issue(new, at(0)).unwrap();
    let d = palisade
        .authorize(&key_req(key.expose_secret(), "inbox:read", at(1)))
        .unwrap_err();
    assert_eq!((d.reason(), d.kind().status()), (DenyReason::Internal, 503));
    assert!(d.explain().contains("audit"), "{}", d.explain());
    // Denials stay denials, with the failure noted for the log.
    let d = palisade
        .authorize(&key_req(key.expose_secret(), "billing:read", at(2)))
        .unwrap_err();
    assert_eq!(d.reason(), DenyReason::NotPermitted);
    assert!(d.explain().contains("audit record failed"));
    // No grant without its audit record.
    let sam = Principal::staff("sam").unwrap();
    let e = palisade.break_glass(
        &sam,
        Scope::tenant(acme),
        &["inbox:read"],
        "ticket 99 investigation",
        Duration::from_secs(60),
        at(3),
    );
    assert!(matches!(
        e,
        Err(PalisadeError::Component {
            component: "audit",
            ..
        })
    ));
}

#[test]
fn secrets_and_files_from_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let pepper = write("pepper", &format!("{}\n", "ab".repeat(32)));
    let keyring = write(
        "keyring",
        &format!(
            "palisade-keyring v1\nkek main 1 {}\nprimary main 1\n",
            "cd".repeat(32)
        ),
    );
    let audit_key = write("audit_key", &"ef".repeat(32));
    let policy_file = write(
        "policy.toml",
        "version = 1\npermissions = [\"inbox:read\"]\n",
    );
    let audit_dir = dir.path().join("audit").to_string_lossy().into_owned();
    let text = format!(
        r#"
        policy_path = "{policy_file}"
        audit_dir = "{audit_dir}"
        [secrets]
        peppers = [{{ version = 3, source = {{ file = "{pepper}" }} }}]
        keyring = {{ file = "{keyring}" }}
        audit_signing_key = {{ id = "audit-2026", source = {{ file = "{audit_key}" }} }}
    "#
    );
    let cfg = PalisadeConfig::from_toml_str(&text).unwrap();
    let p = Palisade::builder(cfg.clone()).build().unwrap();
    let t = TenantId::new_v7();
    let key = p
        .keys()
        .issue(
            NewKey::new(Scope::tenant(t), "k")
                .scopes(["inbox:read"])
                .unwrap(),
            at(0),
        )
        .unwrap();
    assert_eq!(key.record().hash.pepper_version(), Some(3));
    // Denied (the policy binds nobody) but audited into audit_dir, signed by `audit-2026`.
    assert!(
        p.authorize(&key_req(key.expose_secret(), "inbox:read", at(1)))
            .is_err()
    );
    let export = String::from_utf8(p.export_audit(t, at(2)).unwrap()).unwrap();
    assert!(export.contains("audit-2026"));
    assert!(std::fs::read_dir(&audit_dir).unwrap().count() >= 1);

    // Errors name what to fix and never print the secret.
    let mut bad = cfg.clone();
    bad.secrets.peppers[0].source = palisade::SecretSource::File(write("short", "abcd"));
    let e = Palisade::builder(bad).build().unwrap_err();
    assert!(matches!(e, PalisadeError::Secret { .. }), "{e}");
    let mut bad = cfg.clone();
    bad.secrets.peppers[0].source = palisade::SecretSource::File(write("nothex", &"zz".repeat(32)));
    assert!(
        Palisade::builder(bad)
            .build()
            .unwrap_err()
            .to_string()
            .contains("not hexadecimal")
    );
    let mut bad = cfg.clone();
    bad.secrets.peppers[0].source =
        palisade::SecretSource::Env("PALISADE_TEST_SURELY_UNSET_PEPPER".into());
    assert!(
        Palisade::builder(bad)
            .build()
            .unwrap_err()
            .to_string()
            .contains("not set")
    );
    let mut bad = cfg.clone();
    bad.secrets.keyring = Some(palisade::SecretSource::File(write(
        "badring",
        "not a keyring",
    )));
    assert!(matches!(
        Palisade::builder(bad).build(),
        Err(PalisadeError::Component {
            component: "envelope",
            ..
        })
    ));
    let mut bad = cfg.clone();
    bad.policy_path = Some(
        dir.path()
            .join("missing.toml")
            .to_string_lossy()
            .into_owned(),
    );
    assert!(matches!(
        Palisade::builder(bad).build(),
        Err(PalisadeError::Io { .. })
    ));
    let mut bad = cfg;
    bad.secrets.keyring = Some(palisade::SecretSource::File(
        dir.path().join("nope").to_string_lossy().into_owned(),
    ));
    assert!(matches!(
        Palisade::builder(bad).build(),
        Err(PalisadeError::Io { .. })
    ));
}

#[test]
fn audit_signer_rotation_keeps_old_checkpoints_verifiable() {
    use palisade::audit::{CheckpointSigner, KeyId};
    let w = world();
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:read", at(1)))
            .is_ok()
    );
    w.palisade.audit_log().checkpoint(w.acme, at(2)).unwrap();
    let next = CheckpointSigner::generate_ed25519(KeyId::new("audit-2027").unwrap()).unwrap();
    w.palisade.rotate_audit_signer(next);
    assert!(
        w.palisade
            .authorize(&key_req(&w.alice_key, "inbox:read", at(3)))
            .is_ok()
    );
    let (n, text) = records(&w, w.acme);
    assert_eq!(n, 2);
    assert!(
        text.contains("\"key_id\":\"ephemeral\"") && text.contains("\"key_id\":\"audit-2027\"")
    );
    // A verifier without the new key rejects the new checkpoint.
    let export = w.palisade.export_audit(w.acme, at(4)).unwrap();
    let old_only = palisade::audit::Keyring::new();
    assert!(!palisade::audit::verify(&export, &old_only).is_ok());
    // A second instance accepts it once told the public key.
    let other = world();
    let signer = CheckpointSigner::generate_ed25519(KeyId::new("k9").unwrap()).unwrap();
    other
        .palisade
        .add_audit_verify_key(KeyId::new("k9").unwrap(), signer.verify_key());
}

#[test]
fn builder_options_and_sharing() {
    let p = Palisade::builder(PalisadeConfig::default())
        .key_prefix("acme")
        .build()
        .unwrap();
    let t = TenantId::new_v7();
    let k = p
        .keys()
        .issue(
            NewKey::new(Scope::tenant(t), "k").scopes(["x:y"]).unwrap(),
            at(0),
        )
        .unwrap();
    assert!(k.expose_secret().starts_with("acme_"));
    // No policy: everything is denied, but still audited.
    let shared = p.clone();
    let h = std::thread::spawn(move || {
        shared
            .authorize(&key_req(k.expose_secret(), "x:y", at(1)))
            .is_err()
    });
    assert!(h.join().unwrap());
    assert_eq!(
        p.verify_audit(&p.export_audit(t, at(2)).unwrap()).records,
        1
    );
    assert!(format!("{p:?}").contains("policy_version"));
    let mut cfg = PalisadeConfig::default();
    cfg.rate_limits.default_plan = "missing".into();
    assert!(matches!(
        Palisade::builder(cfg).build(),
        Err(PalisadeError::Config { .. })
    ));
    let _ = BTreeMap::<u8, u8>::new();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever key, permission and target: a request is never allowed
    /// outside the key's tenant, and every decision is audited exactly once.
    #[test]
    fn never_across_tenants_and_always_audited(
        steps in proptest::collection::vec((any::<bool>(), 0usize..5, 0u8..4), 1..20)
    ) {
        let w = world();
        let perms = ["inbox:read", "inbox:write", "knowledge:read", "billing:read", "billing:write"];
        let project = ProjectId::new_v7();
        let mut decisions = 0u64;
        for (alice, perm, target) in &steps {
            let (key, own) = if *alice { (&w.alice_key, w.acme) } else { (&w.bob_key, w.globex) };
            let other = if *alice { w.globex } else { w.acme };
            let target = match target {
                0 => None,
                1 => Some(Scope::tenant(other)),
                2 => Some(Scope::project(own, project)),
                _ => Some(Scope::project(other, project)),
            };
            let mut req = key_req(key, perms[*perm], at(1));
            req.target = target;
            if let Ok(a) = w.palisade.authorize(&req) {
                prop_assert_eq!(a.tenant(), own);
                prop_assert!(target.is_none_or(|t| t.tenant_id() == own));
            }
            decisions += 1;
        }
        let total = records(&w, w.acme).0 + records(&w, w.globex).0;
        prop_assert_eq!(total, decisions);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A key's scopes narrow, never widen: whatever it grants, a request
    /// through the key is allowed only if the owner's own session is.
    #[test]
    fn key_scopes_only_narrow(
        granted in proptest::collection::vec(
            proptest::sample::select(vec!["inbox:*", "inbox:read", "knowledge:read", "billing:*", "*:read", "*:*"]),
            1..4,
        )
    ) {
        let w = world();
        let alice = Principal::user("alice@acme.example").unwrap();
        let bob = Principal::user("bob@globex.example").unwrap();
        for (owner, tenant) in [(&alice, w.acme), (&bob, w.globex)] {
            let new = NewKey::new(Scope::tenant(tenant), "p").owner(owner.clone()).scopes(granted.iter().copied()).unwrap();
            let key = w.palisade.keys().issue(new, at(0)).unwrap();
            for perm in ["inbox:read", "inbox:write", "knowledge:read", "billing:read", "billing:write"] {
                let via_key = w.palisade.authorize(&key_req(key.expose_secret(), perm, at(1))).is_ok();
                let session = Request::new(Credential::Authenticated { principal: owner, scope: Scope::tenant(tenant) }, perm, "x", "y", at(1));
                let as_owner = w.palisade.authorize(&session).is_ok();
                let key_grants = granted.iter().any(|g| palisade::apikey::scope_covers(g, perm));
                prop_assert!(!via_key || as_owner, "{perm}: key allowed what the owner may not");
                prop_assert_eq!(via_key, as_owner && key_grants, "{}", perm);
            }
        }
    }
}
