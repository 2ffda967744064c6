//! A realistic SaaS policy (inbox, billing, knowledge, settings, staff
//! break-glass) loaded from `examples/policies/saas.toml`, compiled, and
//! queried the way a request handler would: resolve permission ids once,
//! check per request, explain denials, list what a user can do, narrow by
//! an API key's scopes, and swap policy versions without locks.
//!
//! Run: `cargo run -p palisade-rbac --example rbac_policy`

use palisade_rbac::{Decision, PolicyDocument, Request, SharedPolicy, Subject, compile};
use palisade_tenancy::{Principal, Scope, Timestamp};

const POLICY: &str = include_str!("policies/saas.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let now: Timestamp = "2026-11-23T12:00:00Z".parse()?;
    let doc = PolicyDocument::from_toml(POLICY)?;
    let policy = compile(&doc, now)?;
    for w in policy.warnings() {
        println!("warning: {w}");
    }
    println!("compiled policy, generation {}", policy.generation());

    // At start-up: intern the permissions the handlers use.
    let inbox_read = policy
        .permission("inbox:read")
        .ok_or("inbox:read not declared")?;
    let billing_write = policy
        .permission("billing:write")
        .ok_or("billing:write not declared")?;
    let knowledge_delete = policy
        .permission("knowledge:delete")
        .ok_or("knowledge:delete not declared")?;

    let acme: Scope = "ten_01jd8x5gq0f6r9t2m4b7c3w8ye".parse()?;
    let regulated: Scope =
        "ten_01jd8x5gq0f6r9t2m4b7c3w8ye/prj_01jd8x9n5c2v7k3q8r1t6y4w0z".parse()?;
    let other_tenant: Scope = "ten_01jd8xa0000000000000000000".parse()?;
    let alice: Principal = "user:alice@acme.example".parse()?;
    let bob: Principal = "user:bob@acme.example".parse()?;
    let dana: Principal = "staff:dana".parse()?;

    let show = |label: &str, req: &Request<'_>| {
        let d = policy.check(req);
        println!("{label:<48} {d}");
        if d == Decision::Deny {
            println!("    why: {}", policy.explain(req));
        }
    };
    show(
        "alice billing:write in acme",
        &Request::new(&alice, acme, billing_write, now),
    );
    show(
        "alice billing:write in another tenant",
        &Request::new(&alice, other_tenant, billing_write, now),
    );
    show(
        "bob knowledge:delete in the regulated project",
        &Request::new(&bob, regulated, knowledge_delete, now),
    );
    show(
        "staff dana inbox:read during break-glass",
        &Request::new(&dana, acme, inbox_read, now),
    );
    let later: Timestamp = "2026-11-23T13:00:00Z".parse()?;
    show(
        "staff dana inbox:read after it expired",
        &Request::new(&dana, acme, inbox_read, later),
    );

    // The break-glass reason is on the explanation, for the audit log.
    let e = policy.explain(&Request::new(&dana, acme, inbox_read, now));
    println!("audit: {}", audit_line(&e));

    // What may bob do in the regulated project? (UI menus, data filtering)
    println!(
        "bob in the regulated project: {:?}",
        policy.permissions_of(&bob, regulated, now)
    );

    // An API key owned by alice, granted only `inbox:*`: narrows her roles.
    let key_mask = policy.scope_mask(&["inbox:*"])?;
    let subject = Subject::new(&alice, acme, now).with_key_scopes(&key_mask);
    println!(
        "alice via inbox-only key, billing:write: {}",
        policy.check(&subject.request(billing_write))
    );
    println!(
        "alice via inbox-only key, inbox:read: {}",
        policy.check(&subject.request(inbox_read))
    );

    // Hot swap: readers keep checking while a new version is stored.
    let shared = SharedPolicy::new(policy);
    let mut next = doc.clone();
    next.bindings.retain(|b| b.principal != bob);
    shared.store(compile(&next, now)?);
    let current = shared.load();
    let still = current
        .permission("inbox:read")
        .ok_or("inbox:read not declared")?;
    println!(
        "after swap, bob inbox:read in acme: {}",
        current.check(&Request::new(&bob, acme, still, now))
    );
    Ok(())
}

fn audit_line(e: &palisade_rbac::Explanation) -> String {
    match e.grants.iter().find(|g| g.active) {
        Some(g) => format!(
            "{} {} via {} ({}), reason={:?}, expires_at={:?}",
            e.principal,
            e.permission.as_deref().unwrap_or("?"),
            g.binding,
            g.role_chain.join(" -> "),
            g.reason,
            g.expires_at.map(|t| t.to_string())
        ),
        None => e.to_string(),
    }
}
