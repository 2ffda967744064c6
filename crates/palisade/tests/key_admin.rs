//! Key administration through `Palisade::key_admin(&Authorized)`: tenant
//! scope (IDOR), permissions, ownership, minting escalation, unknown
//! scopes, and the audit record of every lifecycle step.
#![cfg(feature = "service")]

mod key_admin_support;

use std::time::Duration;

use key_admin_support::*;
use palisade::apikey::{Cidr, KeyId, NewKey};
use palisade::tenancy::{Principal, Scope, TenantId};
use palisade::{Credential, KeyAdminError, Palisade, PalisadeConfig, Request};
use serde_json::Value;

#[test]
fn cross_tenant_revoke_reads_as_no_such_key_and_is_in_the_victims_log() {
    let w = world();
    let victim = id_of(&w, &w.ann);
    let bob = auth(&w, &w.bob, "apikeys:revoke");
    let err = w
        .palisade
        .key_admin(&bob)
        .revoke(&victim, at(2))
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::NotFound { .. }), "{err:?}");
    assert_eq!(err.status(), 404);
    // Indistinguishable from an id that exists nowhere.
    let nowhere: KeyId = "0000000000000000".parse().unwrap();
    let other = w
        .palisade
        .key_admin(&bob)
        .revoke(&nowhere, at(2))
        .unwrap_err();
    assert_eq!(
        err.to_string().replace(victim.as_str(), "ID"),
        other.to_string().replace(nowhere.as_str(), "ID")
    );
    assert!(works(&w, &w.ann), "the victim's key still works");
    // Acme's log names the attacker and the key; decision cross_tenant.
    let acme = events(&w, w.acme);
    let tried = with_action(&acme, "apikey.revoke");
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0]["status"], "denied");
    assert_eq!(tried[0]["actor"]["principal"], "user:bob@globex.example");
    assert_eq!(detail(tried[0], "key_id")["str"], victim.as_str());
    assert_eq!(detail(tried[0], "decision")["str"], "cross_tenant");
    // Globex's log: two "not found" refusals of the same shape.
    let globex = events(&w, w.globex);
    let mine = with_action(&globex, "apikey.revoke");
    assert_eq!(mine.len(), 2);
    for e in &mine {
        assert_eq!(detail(e, "decision")["str"], "not_found");
    }
    let shape = |e: &Value, id: &str| e["status_detail"].as_str().unwrap().replace(id, "ID");
    assert_eq!(
        shape(mine[0], victim.as_str()),
        shape(mine[1], nowhere.as_str())
    );
}

#[test]
fn every_admin_call_refuses_another_tenants_key_as_not_found() {
    let w = world();
    let victim = id_of(&w, &w.ann);
    let bob = auth(&w, &w.bob, "apikeys:read");
    let admin = w.palisade.key_admin(&bob);
    let not_found = |r: Result<(), KeyAdminError>| {
        assert!(matches!(r, Err(KeyAdminError::NotFound { .. })), "{r:?}");
    };
    not_found(admin.get(&victim, at(2)).map(drop));
    not_found(admin.rotate(&victim, Duration::ZERO, at(2)).map(drop));
    not_found(admin.set_scopes(&victim, &["*"], at(2)));
    not_found(admin.set_allowed_ips(&victim, &["0.0.0.0/0".parse::<Cidr>().unwrap()], at(2)));
    not_found(admin.revoke(&victim, at(2)));
    let listed = admin.list(at(2)).unwrap();
    assert!(listed.iter().all(|k| k.scope.tenant_id() == w.globex));
    assert!(works(&w, &w.ann));
    let rec = w.palisade.keys_unchecked().get(&victim).unwrap().unwrap();
    assert_eq!(rec.scopes, ["inbox:*"]);
    assert!(rec.allowed_ips.is_empty() && rec.grace_until.is_none());
    assert_eq!(with_action(&events(&w, w.acme), "apikey.rotate").len(), 1);
}

#[test]
fn a_project_caller_does_not_see_tenant_wide_keys() {
    let w = world();
    let victim = id_of(&w, &w.ann);
    let pat = auth_in(&w, &w.pat, "apikeys:revoke", w.project);
    let err = w
        .palisade
        .key_admin(&pat)
        .revoke(&victim, at(2))
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::NotFound { .. }), "{err:?}");
    assert!(works(&w, &w.ann));
}

#[test]
fn a_create_only_key_cannot_mint_a_wildcard_key_for_its_owner() {
    let w = world();
    let minter = auth(&w, &w.minter, "apikeys:create");
    let alice = Principal::user("alice@acme.example").unwrap();
    let new = NewKey::new(Scope::tenant(w.acme), "escalated")
        .owner(alice.clone())
        .scopes(["*"])
        .unwrap();
    let err = w.palisade.key_admin(&minter).issue(new, at(2)).unwrap_err();
    let KeyAdminError::Escalation { excess, .. } = &err else {
        panic!("{err:?}");
    };
    // Everything but apikeys:create, and the pattern `*` itself.
    assert!(excess.contains(&"inbox:read".to_owned()), "{excess:?}");
    assert!(excess.contains(&"apikeys:admin".to_owned()), "{excess:?}");
    assert!(!excess.contains(&"apikeys:create".to_owned()), "{excess:?}");
    assert!(excess.contains(&"*".to_owned()), "{excess:?}");
    assert!(err.to_string().contains("`inbox:read`"), "{err}");
    assert_eq!(err.status(), 403);
    // Only Alice's original three keys... no new key for Alice exists.
    assert_eq!(w.palisade.keys_unchecked().list(w.acme).unwrap().len(), 4);
    let acme = events(&w, w.acme);
    let refused = with_action(&acme, "apikey.issue");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["status"], "denied");
    assert_eq!(detail(refused[0], "decision")["str"], "escalation");
    assert_eq!(detail(refused[0], "new_scopes")["str"], "*");
    // A subset of the minting key's own scopes is fine.
    let ok = NewKey::new(Scope::tenant(w.acme), "ok")
        .owner(alice)
        .scopes(["apikeys:create"])
        .unwrap();
    let issued = w.palisade.key_admin(&minter).issue(ok, at(3)).unwrap();
    let acme = events(&w, w.acme);
    let done = with_action(&acme, "apikey.issue");
    assert_eq!(done.len(), 2);
    assert_eq!(done[1]["status"], "allowed");
    assert_eq!(detail(done[1], "key_id")["str"], issued.key_id().as_str());
}

#[test]
fn minting_past_a_deny_rule_or_wider_than_the_callers_key_is_refused() {
    let w = world();
    let alice = auth(&w, &w.alice, "apikeys:create");
    let me = Principal::user("alice@acme.example").unwrap();
    // billing:write is denied in Acme, even for the admin.
    let new = NewKey::new(Scope::tenant(w.acme), "b")
        .owner(me.clone())
        .scopes(["billing:*"])
        .unwrap();
    let err = w.palisade.key_admin(&alice).issue(new, at(2)).unwrap_err();
    let KeyAdminError::Escalation { excess, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(excess, ["billing:write"]);
    // Ann's key `inbox:*` (+ her member role) may mint `inbox:read`, not `*:read`.
    let ann = auth(&w, &w.ann, "inbox:read");
    let ann_p = Principal::user("ann@acme.example").unwrap();
    let new = NewKey::new(Scope::tenant(w.acme), "r")
        .owner(ann_p.clone())
        .scopes(["inbox:read"])
        .unwrap();
    // Ann's key does not carry apikeys:create: refused as not permitted.
    let err = w.palisade.key_admin(&ann).issue(new, at(2)).unwrap_err();
    assert!(
        matches!(
            err,
            KeyAdminError::NotPermitted {
                permission: "apikeys:create",
                ..
            }
        ),
        "{err:?}"
    );
    // A key whose scopes equal every inbox permission may not mint `inbox:*`
    // (the pattern would widen when the policy adds one).
    let limited = w
        .palisade
        .keys_unchecked()
        .issue(
            NewKey::new(Scope::tenant(w.acme), "l")
                .owner(ann_p.clone())
                .scopes(["inbox:read", "inbox:write", "apikeys:create"])
                .unwrap(),
            at(0),
        )
        .unwrap();
    let lim = auth(&w, limited.expose_secret(), "apikeys:create");
    let new = NewKey::new(Scope::tenant(w.acme), "w")
        .owner(ann_p)
        .scopes(["inbox:*"])
        .unwrap();
    let err = w.palisade.key_admin(&lim).issue(new, at(2)).unwrap_err();
    let KeyAdminError::Escalation { excess, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(excess, ["inbox:*"]);
}

#[test]
fn keys_for_other_owners_need_apikeys_admin() {
    let w = world();
    let ann = auth(&w, &w.ann, "inbox:read");
    let _ = ann;
    // Ann as a logged-in user (member: apikeys:create but not admin).
    let ann_p = Principal::user("ann@acme.example").unwrap();
    let session = Credential::Authenticated {
        principal: &ann_p,
        scope: Scope::tenant(w.acme),
    };
    let ann = w
        .palisade
        .authorize(&Request::new(
            session,
            "apikeys:create",
            "apikey",
            "-",
            at(1),
        ))
        .unwrap();
    let for_alice = || {
        NewKey::new(Scope::tenant(w.acme), "x")
            .owner(Principal::user("alice@acme.example").unwrap())
            .scopes(["inbox:read"])
            .unwrap()
    };
    let err = w
        .palisade
        .key_admin(&ann)
        .issue(for_alice(), at(2))
        .unwrap_err();
    assert!(
        matches!(err, KeyAdminError::OwnerNotAdministrable { .. }),
        "{err:?}"
    );
    let ownerless = NewKey::new(Scope::tenant(w.acme), "x")
        .scopes(["inbox:read"])
        .unwrap();
    let err = w
        .palisade
        .key_admin(&ann)
        .issue(ownerless, at(2))
        .unwrap_err();
    assert!(
        matches!(err, KeyAdminError::OwnerNotAdministrable { .. }),
        "{err:?}"
    );
    // Ann may not revoke, rotate or rescope Alice's key either.
    let alices = id_of(&w, &w.alice);
    let admin = w.palisade.key_admin(&ann);
    assert!(matches!(
        admin.revoke(&alices, at(2)),
        Err(KeyAdminError::OwnerNotAdministrable { .. })
    ));
    assert!(matches!(
        admin.rotate(&alices, Duration::ZERO, at(2)),
        Err(KeyAdminError::OwnerNotAdministrable { .. })
    ));
    assert!(works(&w, &w.alice));
    // Alice (apikeys:admin) may issue for Ann, within her own permissions.
    let alice = auth(&w, &w.alice, "apikeys:create");
    let for_ann = NewKey::new(Scope::tenant(w.acme), "x")
        .owner(ann_p)
        .scopes(["inbox:read"])
        .unwrap();
    assert!(w.palisade.key_admin(&alice).issue(for_ann, at(2)).is_ok());
    // Staff never own keys.
    let staff = NewKey::new(Scope::tenant(w.acme), "s")
        .owner(Principal::staff("dana").unwrap())
        .scopes(["inbox:read"])
        .unwrap();
    let err = w
        .palisade
        .key_admin(&alice)
        .issue(staff, at(2))
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::StaffOwner { .. }), "{err:?}");
    // Minting into another tenant is refused and recorded in the caller's log only.
    let into_globex = NewKey::new(Scope::tenant(w.globex), "x")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["inbox:read"])
        .unwrap();
    let err = w
        .palisade
        .key_admin(&alice)
        .issue(into_globex, at(2))
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::NotPermitted { .. }), "{err:?}");
    assert!(with_action(&events(&w, w.globex), "apikey.issue").is_empty());
}

#[test]
fn unknown_scopes_are_refused_at_issue_and_rescope() {
    let w = world();
    let alice = auth(&w, &w.alice, "apikeys:create");
    let new = NewKey::new(Scope::tenant(w.acme), "nope")
        .owner(Principal::user("alice@acme.example").unwrap())
        .scopes(["inbox:read", "nope:*"])
        .unwrap();
    let err = w.palisade.key_admin(&alice).issue(new, at(2)).unwrap_err();
    assert!(
        matches!(&err, KeyAdminError::UnknownScope { scope, policy_version: 1 } if scope == "nope:*"),
        "{err:?}"
    );
    assert_eq!(err.status(), 422);
    let id = id_of(&w, &w.alice);
    let err = w
        .palisade
        .key_admin(&alice)
        .set_scopes(&id, &["nope:read"], at(2))
        .unwrap_err();
    assert!(matches!(err, KeyAdminError::UnknownScope { .. }), "{err:?}");
    let acme = events(&w, w.acme);
    let issue = with_action(&acme, "apikey.issue");
    assert_eq!(detail(issue[0], "decision")["str"], "unknown_scope");
    let rescope = with_action(&acme, "apikey.set_scopes");
    assert_eq!(rescope[0]["status"], "denied");
    assert_eq!(detail(rescope[0], "new_scopes")["str"], "nope:read");
}

#[test]
fn every_lifecycle_step_is_audited_with_old_and_new_values() {
    let w = world();
    let alice = auth(&w, &w.alice, "apikeys:update");
    let admin = w.palisade.key_admin(&alice);
    let ann = id_of(&w, &w.ann);
    admin.set_scopes(&ann, &["inbox:read"], at(2)).unwrap();
    let nets: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
    admin.set_allowed_ips(&ann, &nets, at(3)).unwrap();
    let successor = admin.rotate(&ann, Duration::from_secs(60), at(4)).unwrap();
    admin.revoke(successor.key_id(), at(5)).unwrap();
    let info = admin.get(&ann, at(6)).unwrap();
    assert_eq!(info.scopes, ["inbox:read"]);
    assert_eq!(info.allowed_ips, nets);
    assert!(
        admin
            .list(at(7))
            .unwrap()
            .iter()
            .any(|k| k.key_id == *successor.key_id())
    );

    let acme = events(&w, w.acme);
    let one = |action: &str| {
        let v = with_action(&acme, action);
        assert_eq!(v.len(), 1, "{action}");
        assert_eq!(v[0]["status"], "allowed", "{action}");
        assert_eq!(v[0]["actor"]["principal"], "user:alice@acme.example");
        assert_eq!(
            detail(v[0], "caller_key_id")["str"],
            id_of(&w, &w.alice).as_str()
        );
        v[0].clone()
    };
    let e = one("apikey.set_scopes");
    assert_eq!(detail(&e, "key_id")["str"], ann.as_str());
    assert_eq!(detail(&e, "old_scopes")["str"], "inbox:*");
    assert_eq!(detail(&e, "new_scopes")["str"], "inbox:read");
    assert_eq!(detail(&e, "generation")["int"], 1);
    let e = one("apikey.set_allowed_ips");
    assert_eq!(detail(&e, "old_allowed_ips")["str"], "-");
    assert_eq!(detail(&e, "new_allowed_ips")["str"], "10.0.0.0/8");
    assert_eq!(detail(&e, "generation")["int"], 2);
    let e = one("apikey.rotate");
    assert_eq!(
        detail(&e, "successor_key_id")["str"],
        successor.key_id().as_str()
    );
    assert_eq!(detail(&e, "grace_until")["str"], at(4 + 60_000).to_string());
    let e = one("apikey.revoke");
    assert_eq!(detail(&e, "key_id")["str"], successor.key_id().as_str());
    assert_eq!(detail(&e, "old_revoked_at")["str"], "-");
    assert_eq!(detail(&e, "revoked_at")["str"], at(5).to_string());
    one("apikey.read");
    let e = one("apikey.list");
    assert_eq!(detail(&e, "count")["int"], 5);
    // The key id is never masked (the detail is `key_id`, not `key`).
    let text = String::from_utf8(w.palisade.export_audit(w.acme, at(60_000)).unwrap()).unwrap();
    assert!(text.contains(&format!("\"key_id\":{{\"str\":\"{ann}\"}}")));
    // No secret in the log.
    assert!(!text.contains(successor.expose_secret()));
}

#[test]
fn refusals_inside_the_tenant_are_audited_as_denied() {
    let w = world();
    // The minting key cannot revoke (its scopes lack apikeys:revoke).
    let minter = auth(&w, &w.minter, "apikeys:create");
    let ann = id_of(&w, &w.ann);
    let err = w
        .palisade
        .key_admin(&minter)
        .revoke(&ann, at(2))
        .unwrap_err();
    assert!(
        matches!(
            err,
            KeyAdminError::NotPermitted {
                permission: "apikeys:revoke",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(works(&w, &w.ann));
    let acme = events(&w, w.acme);
    let e = with_action(&acme, "apikey.revoke");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["status"], "denied");
    assert_eq!(detail(e[0], "decision")["str"], "not_permitted");
    assert_eq!(
        detail(e[0], "caller_key_id")["str"],
        id_of(&w, &w.minter).as_str()
    );
}

#[test]
fn widening_a_keys_scopes_is_an_escalation_too() {
    let w = world();
    let ann_p = Principal::user("ann@acme.example").unwrap();
    let session = Credential::Authenticated {
        principal: &ann_p,
        scope: Scope::tenant(w.acme),
    };
    let ann = w
        .palisade
        .authorize(&Request::new(
            session,
            "apikeys:update",
            "apikey",
            "-",
            at(1),
        ))
        .unwrap();
    let her_key = id_of(&w, &w.ann);
    let err = w
        .palisade
        .key_admin(&ann)
        .set_scopes(&her_key, &["*"], at(2))
        .unwrap_err();
    let KeyAdminError::Escalation { excess, .. } = err else {
        panic!("{err:?}")
    };
    assert!(
        excess.contains(&"billing:read".to_owned()) && excess.contains(&"apikeys:admin".to_owned())
    );
    assert!(
        w.palisade
            .key_admin(&ann)
            .set_scopes(&her_key, &["inbox:read"], at(2))
            .is_ok()
    );
}

#[test]
fn authorized_exposes_the_presenting_keys_id_and_scopes() {
    let w = world();
    let a = auth(&w, &w.ann, "inbox:read");
    assert_eq!(a.key_id(), Some(&id_of(&w, &w.ann)));
    assert_eq!(a.key_scopes().unwrap(), ["inbox:*"]);
    assert!(a.key_grants("inbox:write") && !a.key_grants("billing:read"));
    let ann_p = Principal::user("ann@acme.example").unwrap();
    let session = Credential::Authenticated {
        principal: &ann_p,
        scope: Scope::tenant(w.acme),
    };
    let s = w
        .palisade
        .authorize(&Request::new(session, "inbox:read", "inbox", "-", at(1)))
        .unwrap();
    assert_eq!(s.key_id(), None);
    assert_eq!(s.key_scopes(), None);
    assert!(s.key_grants("billing:read"));
}

#[test]
fn staff_administer_only_through_a_live_grant_of_the_permission() {
    let w = world();
    let dana = Principal::staff("dana").unwrap();
    let grant = w
        .palisade
        .break_glass(
            &dana,
            Scope::tenant(w.acme),
            &["apikeys:read", "apikeys:revoke", "apikeys:admin"],
            "SUP-1: leaked key reported by the customer",
            Duration::from_secs(600),
            at(1),
        )
        .unwrap();
    let req = Request::new(
        Credential::Staff {
            principal: &dana,
            grant: grant.id,
        },
        "apikeys:revoke",
        "apikey",
        "-",
        at(2),
    );
    let staff = w.palisade.authorize(&req).unwrap();
    let ann = id_of(&w, &w.ann);
    let admin = w.palisade.key_admin(&staff);
    // Rotating needs apikeys:rotate, which the grant does not carry (and
    // staff manage tenant users' keys only with apikeys:admin in the grant).
    let err = admin.rotate(&ann, Duration::ZERO, at(3)).unwrap_err();
    assert!(matches!(err, KeyAdminError::NotPermitted { .. }), "{err:?}");
    // After the grant expires nothing is allowed.
    let late = at(1 + 601_000);
    assert!(matches!(
        admin.revoke(&ann, late),
        Err(KeyAdminError::NotPermitted { .. })
    ));
    admin.revoke(&ann, at(4)).unwrap();
    assert!(!works(&w, &w.ann));
    let acme = events(&w, w.acme);
    let e = with_action(&acme, "apikey.revoke");
    let done = e.iter().find(|e| e["status"] == "allowed").unwrap();
    assert_eq!(done["actor"]["principal"], "staff:dana");
    assert_eq!(
        done["actor"]["reason"],
        "SUP-1: leaked key reported by the customer"
    );
}

#[test]
fn a_pepper_rehash_on_verify_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, hex: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, hex).unwrap();
        p.to_string_lossy().into_owned()
    };
    let v1 = write("v1", &"ab".repeat(32));
    let v2 = write("v2", &"cd".repeat(32));
    let acme = TenantId::new_v7();
    let pol = policy(acme, TenantId::new_v7(), Scope::tenant(acme));
    let build = |peppers: Vec<(u32, &str)>| {
        let mut config = PalisadeConfig::default();
        config.secrets.peppers = peppers
            .into_iter()
            .map(|(version, path)| palisade::VersionedSecret {
                version,
                source: palisade::SecretSource::File(path.to_owned()),
            })
            .collect();
        Palisade::builder(config)
            .policy_toml(&pol)
            .at(at(0))
            .build()
            .unwrap()
    };
    let old = build(vec![(1, &v1)]);
    let new = NewKey::new(Scope::tenant(acme), "old")
        .owner(Principal::user("ann@acme.example").unwrap())
        .scopes(["inbox:*"])
        .unwrap();
    let issued = old.keys_unchecked().issue(new, at(0)).unwrap();
    let record = issued.record().clone();
    let current = build(vec![(2, &v2), (1, &v1)]);
    current.keys_unchecked().store().restore(record).unwrap();
    let req = Request::new(
        Credential::ApiKey(issued.expose_secret()),
        "inbox:read",
        "inbox",
        "-",
        at(1),
    );
    current.authorize(&req).unwrap();
    current.authorize(&req).unwrap();
    let export = current.export_audit(acme, at(60_000)).unwrap();
    assert!(current.verify_audit(acme, &export).is_ok());
    let text = String::from_utf8(export).unwrap();
    let rehash: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"apikey.rehash\""))
        .collect();
    assert_eq!(rehash.len(), 1, "one rehash, recorded once");
    assert!(rehash[0].contains(&format!("\"key_id\":{{\"str\":\"{}\"}}", issued.key_id())));
    assert!(rehash[0].contains("\"old_pepper_version\":{\"str\":\"1\"}"));
    assert!(rehash[0].contains("\"new_pepper_version\":{\"str\":\"2\"}"));
}
