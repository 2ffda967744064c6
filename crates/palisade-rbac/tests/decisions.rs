//! Hand-written decision and explanation cases: break-glass windows,
//! project fallback, deny overrides, stale ids and masks, explanations, no
//! allocation on the check path, and the example policy file.
#![expect(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

use palisade_rbac::{
    Binding, Decision, DenyRule, Outcome, PolicyDocument, Request, RoleDef, SharedPolicy, Subject,
    compile,
};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};

const NOW: Timestamp = Timestamp::from_unix_millis(1_790_000_000_000);

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_millis(NOW.unix_millis() + secs * 1000)
}

fn tenant() -> TenantId {
    "ten_01jd8x5gq0f6r9t2m4b7c3w8ye".parse().unwrap()
}

fn project(n: u8) -> Scope {
    Scope::project(tenant(), ProjectId::from_bytes([n; 16]))
}

fn doc() -> PolicyDocument {
    let t = Scope::tenant(tenant());
    PolicyDocument::new()
        .permissions(["inbox:read", "inbox:write", "billing:read", "billing:write"])
        .role(RoleDef::new("viewer").allow("*:read"))
        .role(
            RoleDef::new("member")
                .inherit("viewer")
                .allow("inbox:write"),
        )
        .role(RoleDef::new("owner").inherit("member").allow("billing:*"))
        .bind(Binding::new("user:alice".parse().unwrap(), "owner", t))
        .bind(Binding::new("user:bob".parse().unwrap(), "viewer", t))
        .bind(Binding::new(
            "user:bob".parse().unwrap(),
            "member",
            project(1),
        ))
        .bind(
            Binding::new("staff:sre".parse().unwrap(), "viewer", t)
                .not_before(at(0))
                .expires_at(at(3600))
                .reason("INC-7: inbox sync stuck"),
        )
        .deny(
            DenyRule::principal("user:alice".parse().unwrap(), project(2))
                .deny("billing:write")
                .reason("frozen"),
        )
}

fn check(
    p: &palisade_rbac::CompiledPolicy,
    who: &str,
    scope: Scope,
    perm: &str,
    now: Timestamp,
) -> Decision {
    let who: Principal = who.parse().unwrap();
    p.check(&Request::new(&who, scope, p.permission(perm).unwrap(), now))
}

#[test]
fn model_cases() {
    let p = compile(&doc(), NOW).unwrap();
    let t = Scope::tenant(tenant());
    use Decision::{Allow, Deny};
    // Inheritance and wildcards.
    assert_eq!(check(&p, "user:alice", t, "billing:write", NOW), Allow);
    assert_eq!(check(&p, "user:alice", t, "inbox:read", NOW), Allow);
    // A tenant-wide binding covers projects; a project binding only its project.
    assert_eq!(
        check(&p, "user:alice", project(1), "inbox:write", NOW),
        Allow
    );
    assert_eq!(check(&p, "user:bob", project(1), "inbox:write", NOW), Allow);
    assert_eq!(check(&p, "user:bob", project(2), "inbox:write", NOW), Deny);
    assert_eq!(check(&p, "user:bob", t, "inbox:write", NOW), Deny);
    assert_eq!(check(&p, "user:bob", project(2), "inbox:read", NOW), Allow);
    // Deny in one project beats the tenant-wide owner grant, only there.
    assert_eq!(
        check(&p, "user:alice", project(2), "billing:write", NOW),
        Deny
    );
    assert_eq!(
        check(&p, "user:alice", project(2), "billing:read", NOW),
        Allow
    );
    assert_eq!(
        check(&p, "user:alice", project(3), "billing:write", NOW),
        Allow
    );
    // Break-glass: [not_before, expires_at).
    assert_eq!(check(&p, "staff:sre", t, "inbox:read", at(-1)), Deny);
    assert_eq!(check(&p, "staff:sre", t, "inbox:read", at(0)), Allow);
    assert_eq!(
        check(&p, "staff:sre", project(1), "billing:read", at(3599)),
        Allow
    );
    assert_eq!(check(&p, "staff:sre", t, "inbox:read", at(3600)), Deny);
    assert_eq!(check(&p, "staff:sre", t, "inbox:write", at(10)), Deny);
    // Other tenants and strangers.
    let other = Scope::tenant(TenantId::from_bytes([9; 16]));
    assert_eq!(check(&p, "user:alice", other, "inbox:read", NOW), Deny);
    assert_eq!(check(&p, "user:mallory", t, "inbox:read", NOW), Deny);
    // Unknown permission names are denied.
    let alice: Principal = "user:alice".parse().unwrap();
    assert_eq!(
        p.check_named(&Subject::new(&alice, t, NOW), "inbox:purge"),
        Deny
    );
}

#[test]
fn explanations() {
    let p = compile(&doc(), NOW).unwrap();
    let t = Scope::tenant(tenant());
    let sre: Principal = "staff:sre".parse().unwrap();
    let read = p.permission("inbox:read").unwrap();
    let e = p.explain(&Request::new(&sre, t, read, at(5)));
    assert_eq!((e.decision, e.outcome), (Decision::Allow, Outcome::Allowed));
    let g = &e.grants[0];
    assert_eq!(g.binding, "bindings[3]");
    assert_eq!(g.reason.as_deref(), Some("INC-7: inbox sync stuck"));
    assert_eq!(g.expires_at, Some(at(3600)));
    assert_eq!(g.pattern, "*:read");
    let e = p.explain(&Request::new(&sre, t, read, at(3600)));
    assert_eq!(
        (e.decision, e.outcome),
        (Decision::Deny, Outcome::GrantNotActive)
    );

    let alice: Principal = "user:alice".parse().unwrap();
    let e = p.explain(&Request::new(&alice, t, read, NOW));
    assert_eq!(e.grants[0].role_chain, ["owner", "member", "viewer"]);
    assert_eq!(
        e.to_string(),
        "allow user:alice `inbox:read` in ten_01jd8x5gq0f6r9t2m4b7c3w8ye at 2026-09-21T14:13:20Z: \
         allowed by bindings[0] (role owner -> member -> viewer via `*:read`)"
    );
    let bw = p.permission("billing:write").unwrap();
    let e = p.explain(&Request::new(&alice, project(2), bw, NOW));
    assert_eq!(
        (e.decision, e.outcome),
        (Decision::Deny, Outcome::DeniedByRule)
    );
    assert_eq!(e.denies[0].deny, "denies[0]");
    assert_eq!(e.denies[0].reason.as_deref(), Some("frozen"));
    assert!(
        e.to_string()
            .ends_with("denied by denies[0] (`billing:write`), reason: frozen"),
        "{e}"
    );

    let mallory: Principal = "user:mallory".parse().unwrap();
    assert_eq!(
        p.explain(&Request::new(&mallory, t, read, NOW)).outcome,
        Outcome::UnknownPrincipal
    );
    let bob: Principal = "user:bob".parse().unwrap();
    let e = p.explain(&Request::new(
        &bob,
        t,
        p.permission("inbox:write").unwrap(),
        NOW,
    ));
    assert_eq!(e.outcome, Outcome::NoGrantInScope);
    assert_eq!(
        e.to_string().rsplit(": ").next(),
        Some("no grant in this scope")
    );
    let e = p.explain_named(&Subject::new(&bob, t, NOW), "inbox:purge");
    assert_eq!(
        (e.decision, e.outcome, e.permission.as_deref()),
        (
            Decision::Deny,
            Outcome::UnknownPermission,
            Some("inbox:purge")
        )
    );
    let mask = p.scope_mask(&["billing:*"]).unwrap();
    let e = p.explain(&Request::new(&bob, t, read, NOW).with_key_scopes(&mask));
    assert_eq!(
        (e.decision, e.outcome),
        (Decision::Deny, Outcome::OutsideKeyScopes)
    );
    // Explanations serialize for logs and audit records.
    let json = serde_json::to_string(&e).unwrap();
    assert!(
        json.contains("\"outcome\":\"outside_key_scopes\""),
        "{json}"
    );
}

#[test]
fn ids_and_masks_are_bound_to_their_generation() {
    let p1 = compile(&doc(), NOW).unwrap();
    let mut d2 = doc();
    d2.permissions.push("settings:write".into());
    let p2 = compile(&d2, NOW).unwrap();
    assert_ne!(p1.generation(), p2.generation());
    let alice: Principal = "user:alice".parse().unwrap();
    let t = Scope::tenant(tenant());
    let stale = p1.permission("inbox:read").unwrap();
    let r = Request::new(&alice, t, stale, NOW);
    assert_eq!(p1.check(&r), Decision::Allow);
    assert_eq!(p2.check(&r), Decision::Deny);
    assert_eq!(p2.explain(&r).outcome, Outcome::StalePermissionId);
    let mask = p1.scope_mask(&["*"]).unwrap();
    let fresh = p2.permission("inbox:read").unwrap();
    let r = Request::new(&alice, t, fresh, NOW).with_key_scopes(&mask);
    assert_eq!(p2.check(&r), Decision::Deny);
    assert_eq!(p2.explain(&r).outcome, Outcome::StaleKeyScopes);
    let mut out = [Decision::Allow; 2];
    p2.check_many(
        &Subject::new(&alice, t, NOW).with_key_scopes(&mask),
        &[fresh, fresh],
        &mut out,
    );
    assert_eq!(out, [Decision::Deny; 2]);
    assert!(
        p2.permissions_of_subject(&Subject::new(&alice, t, NOW).with_key_scopes(&mask))
            .is_empty()
    );
    // A new policy with the same permission list keeps the generation, so
    // cached ids and masks stay valid across binding changes.
    let mut d3 = doc();
    d3.bindings.pop();
    let p3 = compile(&d3, NOW).unwrap();
    assert_eq!(p3.generation(), p1.generation());
    assert_eq!(
        p3.check(&Request::new(&alice, t, stale, NOW).with_key_scopes(&mask)),
        Decision::Allow
    );
}

#[test]
fn generation_known_answer() {
    // docs/rbac.md, "Generation": SHA-256 over the domain string and each
    // permission as u32 big-endian length + bytes; first 8 bytes.
    let p = compile(
        &PolicyDocument::new().permissions(["inbox:read", "billing:write"]),
        NOW,
    )
    .unwrap();
    assert_eq!(p.generation().to_string(), GENERATION_KAT);
    assert_eq!(format!("{:016x}", p.generation().as_u64()), GENERATION_KAT);
}

const GENERATION_KAT: &str = include_str!("data/generation.txt").trim_ascii();

#[test]
fn check_does_not_allocate() {
    let p = compile(&doc(), NOW).unwrap();
    let alice: Principal = "user:alice".parse().unwrap();
    let sre: Principal = "staff:sre".parse().unwrap();
    let ids: Vec<_> = p
        .permission_names()
        .map(|n| p.permission(n).unwrap())
        .collect();
    let mask = p.scope_mask(&["inbox:*"]).unwrap();
    let mut out = vec![Decision::Deny; ids.len()];
    let probe = allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert_eq!(probe.count_total, 1, "the allocation counter works");
    let info = allocation_counter::measure(|| {
        for scope in [Scope::tenant(tenant()), project(1), project(2)] {
            for id in &ids {
                std::hint::black_box(p.check(&Request::new(&alice, scope, *id, NOW)));
                std::hint::black_box(
                    p.check(&Request::new(&sre, scope, *id, at(60)).with_key_scopes(&mask)),
                );
            }
            p.check_many(&Subject::new(&alice, scope, NOW), &ids, &mut out);
            std::hint::black_box(p.check_named(&Subject::new(&alice, scope, NOW), "billing:write"));
        }
    });
    assert_eq!(info.count_total, 0, "check allocated");
}

#[test]
fn shared_policy_swaps_while_readers_check() {
    let shared = std::sync::Arc::new(SharedPolicy::new(compile(&doc(), NOW).unwrap()));
    let alice: Principal = "user:alice".parse().unwrap();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let shared = shared.clone();
            let alice = alice.clone();
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    let p = shared.load();
                    let id = p.permission("inbox:read").unwrap();
                    let d = p.check(&Request::new(&alice, Scope::tenant(tenant()), id, NOW));
                    assert!(matches!(d, Decision::Allow | Decision::Deny));
                }
            })
        })
        .collect();
    let mut without_alice = doc();
    without_alice.bindings.remove(0);
    without_alice.denies.clear();
    let full = doc();
    for i in 0..50 {
        shared.store(compile(if i % 2 == 0 { &without_alice } else { &full }, NOW).unwrap());
    }
    for r in readers {
        r.join().unwrap();
    }
    let p = shared.load();
    let id = p.permission("inbox:read").unwrap();
    assert_eq!(
        p.check(&Request::new(&alice, Scope::tenant(tenant()), id, NOW)),
        Decision::Allow
    );
}

#[test]
fn example_policy_compiles_and_decides() {
    let doc =
        PolicyDocument::from_toml(include_str!("../../../examples/policies/saas.toml")).unwrap();
    let now: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
    let p = compile(&doc, now).unwrap();
    assert!(p.warnings().is_empty());
    let acme: Scope = "ten_01jd8x5gq0f6r9t2m4b7c3w8ye".parse().unwrap();
    let regulated: Scope = "ten_01jd8x5gq0f6r9t2m4b7c3w8ye/prj_01jd8x9n5c2v7k3q8r1t6y4w0z"
        .parse()
        .unwrap();
    let bob: Principal = "user:bob@acme.example".parse().unwrap();
    let carol: Principal = "user:carol@acme.example".parse().unwrap();
    let bob_here = p.permissions_of(&bob, regulated, now);
    assert!(bob_here.contains(&"members:remove") && !bob_here.contains(&"knowledge:delete"));
    assert_eq!(
        p.permissions_of(&carol, acme, now),
        ["billing:read", "billing:write", "settings:read"]
    );
    // Same document through JSON compiles to the same decisions.
    let again = PolicyDocument::from_json(&doc.to_json().unwrap()).unwrap();
    assert_eq!(again, doc);
}

#[test]
fn guide_example_is_the_example_policy() {
    let guide = include_str!("../../../docs/rbac.md");
    let start = guide.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + guide[start..].find("```").unwrap();
    assert_eq!(
        &guide[start..end],
        include_str!("../../../examples/policies/saas.toml")
    );
}
