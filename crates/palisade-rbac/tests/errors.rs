//! A negative test for every error variant and the warning: each is
//! located and names what to fix.
#![expect(clippy::unwrap_used, reason = "test code: a panic is a failing test")]

use palisade_rbac::{Binding, DenyRule, PolicyDocument, RbacError, RoleDef, Warning, compile};
use palisade_tenancy::{Principal, Scope, Timestamp};

const T: &str = "ten_01jd8x5gq0f6r9t2m4b7c3w8ye";
const NOW: Timestamp = Timestamp::from_unix_millis(1_790_000_000_000);

fn scope() -> Scope {
    T.parse().unwrap()
}

fn user(s: &str) -> Principal {
    Principal::user(s).unwrap()
}

fn base() -> PolicyDocument {
    PolicyDocument::new()
        .permissions(["inbox:read", "inbox:write", "billing:read"])
        .role(RoleDef::new("viewer").allow("inbox:read"))
        .role(RoleDef::new("member").inherit("viewer").allow("inbox:*"))
}

fn err(doc: &PolicyDocument) -> RbacError {
    compile(doc, NOW).unwrap_err()
}

#[test]
fn parse_errors() {
    let e = PolicyDocument::from_toml("version = [").unwrap_err();
    assert!(matches!(e, RbacError::Parse { format: "toml", .. }), "{e}");
    let e = PolicyDocument::from_json("{\"version\": 1, \"extra\": true}").unwrap_err();
    assert!(matches!(e, RbacError::Parse { format: "json", .. }), "{e}");
    assert!(e.to_string().contains("extra"), "{e}");
    // A malformed principal or scope is a parse error with the value named.
    let e = PolicyDocument::from_toml(&format!(
        "version = 1\n[[bindings]]\nprincipal = \"robot:x\"\nrole = \"r\"\nscope = \"{T}\"\n"
    ))
    .unwrap_err();
    assert!(e.to_string().contains("robot:x"), "{e}");
}

#[test]
fn unsupported_version() {
    let mut d = base();
    d.version = 2;
    assert_eq!(err(&d), RbacError::UnsupportedVersion { found: 2 });
}

#[test]
fn permission_syntax() {
    let e = err(&base().permission("inbox"));
    assert!(
        matches!(&e, RbacError::PermissionSyntax { at, .. } if at == "permissions[3]"),
        "{e}"
    );
    let e = err(&base().permission("inbox:*"));
    assert!(
        matches!(e, RbacError::PermissionSyntax { .. }),
        "wildcards are not declarable: {e}"
    );
    let e = err(&base().role(RoleDef::new("x").allow("in box:read")));
    assert!(
        matches!(&e, RbacError::PermissionSyntax { at, .. } if at == "roles[2] (`x`).permissions[0]"),
        "{e}"
    );
    let p = compile(&base(), NOW).unwrap();
    let e = p.scope_mask(&["inbox:read", "inbox:re*d"]).unwrap_err();
    assert!(
        matches!(&e, RbacError::PermissionSyntax { at, .. } if at == "key scopes[1]"),
        "{e}"
    );
}

/// F3 regression: permissions are lowercase and at most 64 bytes in all (the
/// audit action grammar), so no accepted permission is unauditable.
#[test]
fn permission_grammar_is_the_audit_action_grammar() {
    for bad in [
        "Inbox:read".to_owned(),
        "inbox:Read".to_owned(),
        format!("{}:{}", "a".repeat(32), "b".repeat(32)),
        format!("{}:{}", "a".repeat(64), "b".repeat(64)),
    ] {
        let e = err(&base().permission(bad.as_str()));
        assert!(
            matches!(&e, RbacError::PermissionSyntax { at, .. } if at == "permissions[3]"),
            "{bad}: {e}"
        );
    }
    let e = err(&base().role(RoleDef::new("x").allow("Inbox:*")));
    assert!(matches!(e, RbacError::PermissionSyntax { .. }), "{e}");
    let ok = format!("{}:{}", "a".repeat(31), "b".repeat(32));
    assert!(compile(&base().permission(ok.as_str()), NOW).is_ok());
}

#[test]
fn duplicate_permission() {
    let e = err(&base().permission("inbox:read"));
    assert_eq!(
        e,
        RbacError::DuplicatePermission {
            at: "permissions[3]".into(),
            permission: "inbox:read".into()
        }
    );
}

#[test]
fn unknown_permission() {
    let e = err(&base().role(RoleDef::new("x").allow("inbox:delete")));
    assert!(
        matches!(&e, RbacError::UnknownPermission { permission, .. } if permission == "inbox:delete"),
        "{e}"
    );
    let e = err(&base().role(RoleDef::new("x").allow("settings:*")));
    assert!(
        matches!(e, RbacError::UnknownPermission { .. }),
        "a wildcard matching nothing: {e}"
    );
    let e = err(&base().deny(DenyRule::everyone(scope()).deny("nope:read")));
    assert!(
        matches!(&e, RbacError::UnknownPermission { at, .. } if at == "denies[0].permissions[0]"),
        "{e}"
    );
    let p = compile(&base(), NOW).unwrap();
    let e = p.scope_mask(&["knowledge:*"]).unwrap_err();
    assert!(
        matches!(&e, RbacError::UnknownPermission { at, .. } if at == "key scopes[0]"),
        "{e}"
    );
}

#[test]
fn role_name() {
    let e = err(&base().role(RoleDef::new("no spaces")));
    assert!(
        matches!(&e, RbacError::RoleName { at, .. } if at == "roles[2]"),
        "{e}"
    );
    let e = err(&base().role(RoleDef::new("")));
    assert!(matches!(e, RbacError::RoleName { .. }), "{e}");
}

#[test]
fn duplicate_role() {
    let e = err(&base().role(RoleDef::new("viewer")));
    assert_eq!(
        e,
        RbacError::DuplicateRole {
            at: "roles[2] (`viewer`)".into(),
            first: "roles[0]".into(),
            role: "viewer".into()
        }
    );
}

#[test]
fn unknown_parent_role() {
    let e = err(&base().role(RoleDef::new("x").inherit("ghost")));
    assert!(
        matches!(&e, RbacError::UnknownParentRole { parent, at, .. } if parent == "ghost" && at == "roles[2] (`x`).inherits[0]"),
        "{e}"
    );
}

#[test]
fn role_cycle_is_named() {
    let doc = PolicyDocument::new()
        .permission("a:b")
        .role(RoleDef::new("admin").inherit("member"))
        .role(RoleDef::new("member").inherit("viewer"))
        .role(RoleDef::new("viewer").inherit("admin"));
    assert_eq!(
        err(&doc),
        RbacError::RoleCycle {
            cycle: "admin -> member -> viewer -> admin".into()
        }
    );
    let self_loop = PolicyDocument::new()
        .permission("a:b")
        .role(RoleDef::new("x").inherit("x"));
    assert_eq!(
        err(&self_loop),
        RbacError::RoleCycle {
            cycle: "x -> x".into()
        }
    );
    // A long chain is not a cycle and does not overflow the stack.
    let mut chain = PolicyDocument::new()
        .permission("a:b")
        .role(RoleDef::new("r0").allow("a:b"));
    for i in 1..20_000 {
        chain = chain.role(RoleDef::new(format!("r{i}")).inherit(format!("r{}", i - 1)));
    }
    assert!(compile(&chain, NOW).is_ok());
}

#[test]
fn unknown_role_in_binding() {
    let e = err(&base().bind(Binding::new(user("a"), "owner", scope())));
    assert_eq!(
        e,
        RbacError::UnknownRole {
            at: "bindings[0]".into(),
            role: "owner".into()
        }
    );
}

#[test]
fn duplicate_binding() {
    let b = Binding::new(user("a"), "viewer", scope());
    let e = err(&base().bind(b.clone()).bind(b));
    assert_eq!(
        e,
        RbacError::DuplicateBinding {
            at: "bindings[1]".into(),
            first: "bindings[0]".into()
        }
    );
    // The same grant with another window is not a duplicate.
    let t = Timestamp::from_unix_millis(NOW.unix_millis() + 1000);
    let ok = base()
        .bind(Binding::new(user("a"), "viewer", scope()))
        .bind(
            Binding::new(user("a"), "viewer", scope())
                .expires_at(t)
                .reason("temp"),
        );
    assert!(compile(&ok, NOW).is_ok());
}

#[test]
fn empty_window() {
    let t = Timestamp::from_unix_millis(NOW.unix_millis() + 1000);
    let e = err(&base().bind(
        Binding::new(user("a"), "viewer", scope())
            .not_before(t)
            .expires_at(t)
            .reason("r"),
    ));
    assert!(
        matches!(&e, RbacError::EmptyWindow { at, .. } if at == "bindings[0]"),
        "{e}"
    );
    let e = err(&base().deny(
        DenyRule::everyone(scope())
            .deny("inbox:read")
            .not_before(t)
            .expires_at(t),
    ));
    assert!(
        matches!(&e, RbacError::EmptyWindow { at, .. } if at == "denies[0]"),
        "{e}"
    );
}

#[test]
fn grant_expired() {
    let e = err(&base().bind(
        Binding::new(user("a"), "viewer", scope())
            .expires_at(NOW)
            .reason("r"),
    ));
    assert!(
        matches!(&e, RbacError::GrantExpired { at, .. } if at == "bindings[0]"),
        "{e}"
    );
    assert!(e.to_string().contains("delete it"), "{e}");
}

#[test]
fn staff_grants_are_time_bound_with_a_reason() {
    let staff = Principal::staff("sre").unwrap();
    let e = err(&base().bind(Binding::new(staff.clone(), "viewer", scope()).reason("INC-1")));
    assert!(matches!(e, RbacError::StaffGrantNotTimeBound { .. }), "{e}");
    let later = Timestamp::from_unix_millis(NOW.unix_millis() + 3_600_000);
    let e = err(&base().bind(Binding::new(staff.clone(), "viewer", scope()).expires_at(later)));
    assert_eq!(
        e,
        RbacError::MissingReason {
            at: "bindings[0]".into()
        }
    );
    let e = err(&base().bind(
        Binding::new(staff.clone(), "viewer", scope())
            .expires_at(later)
            .reason("  "),
    ));
    assert_eq!(
        e,
        RbacError::MissingReason {
            at: "bindings[0]".into()
        }
    );
    // Users' time-bound grants need a reason too.
    let e = err(&base().bind(Binding::new(user("a"), "viewer", scope()).expires_at(later)));
    assert_eq!(
        e,
        RbacError::MissingReason {
            at: "bindings[0]".into()
        }
    );
    assert!(
        compile(
            &base().bind(
                Binding::new(staff, "viewer", scope())
                    .expires_at(later)
                    .reason("INC-1")
            ),
            NOW
        )
        .is_ok()
    );
}

#[test]
fn reason_too_long() {
    let long = "x".repeat(palisade_rbac::MAX_REASON_LEN + 1);
    let e = err(&base().bind(Binding::new(user("a"), "viewer", scope()).reason(long.clone())));
    assert!(matches!(e, RbacError::ReasonTooLong { .. }), "{e}");
    let e = err(&base().deny(DenyRule::everyone(scope()).deny("inbox:read").reason(long)));
    assert!(
        matches!(&e, RbacError::ReasonTooLong { at, .. } if at == "denies[0]"),
        "{e}"
    );
}

/// F4 regression: a reason with a control character (a multi-line TOML
/// string) is refused at compile time, located, instead of making every
/// audit record of the rule unwritable.
#[test]
fn reason_with_control_character_is_refused() {
    let e = err(&base().deny(
        DenyRule::everyone(scope())
            .deny("inbox:write")
            .reason("frozen\nsee INC-9"),
    ));
    assert!(
        matches!(&e, RbacError::ReasonControlCharacter { at, position: 6 } if at == "denies[0]"),
        "{e}"
    );
    let e = err(&base().bind(Binding::new(user("a"), "viewer", scope()).reason("a\tb")));
    assert!(
        matches!(&e, RbacError::ReasonControlCharacter { at, position: 1 } if at == "bindings[0]"),
        "{e}"
    );
    // The TOML form that triggered it: a multi-line basic string.
    let text = format!(
        "version = 1\npermissions = [\"inbox:read\"]\n[[denies]]\npermissions = [\"inbox:read\"]\nscope = \"{T}\"\nreason = \"\"\"\nfrozen\nby legal\"\"\"\n"
    );
    let doc = PolicyDocument::from_toml(&text).unwrap();
    assert!(matches!(
        compile(&doc, NOW),
        Err(RbacError::ReasonControlCharacter { .. })
    ));
}

#[test]
fn limit_on_time_bound_rules_per_scope() {
    let mut doc = base();
    for i in 0..=palisade_rbac::MAX_TIMED_PER_SCOPE as i64 {
        let t = Timestamp::from_unix_millis(NOW.unix_millis() + 1000 * (i + 1));
        doc = doc.bind(
            Binding::new(user("a"), "viewer", scope())
                .expires_at(t)
                .reason("r"),
        );
    }
    let e = err(&doc);
    assert!(matches!(e, RbacError::Limit { .. }), "{e}");
    assert!(e.to_string().contains("user:a"), "{e}");
    doc.bindings.pop();
    assert!(compile(&doc, NOW).is_ok());
}

#[test]
fn deny_that_empties_a_role_warns() {
    let doc = base()
        .bind(Binding::new(user("a"), "viewer", scope()))
        .bind(Binding::new(user("a"), "member", scope()))
        .deny(DenyRule::principal(user("a"), scope()).deny("inbox:read"));
    let p = compile(&doc, NOW).unwrap();
    assert_eq!(
        p.warnings(),
        &[Warning::DenyEmptiesRole {
            deny: "denies[0]".into(),
            binding: "bindings[0]".into(),
            role: "viewer".into(),
            principal: "user:a".into(),
        }]
    );
    assert!(
        p.warnings()[0]
            .to_string()
            .contains("remove the binding or narrow the deny")
    );
}

#[test]
fn compile_is_deterministic() {
    let doc = base().bind(Binding::new(user("a"), "member", scope()));
    let (a, b) = (compile(&doc, NOW).unwrap(), compile(&doc, NOW).unwrap());
    assert_eq!(a.generation(), b.generation());
    assert_eq!(a.warnings(), b.warnings());
    let a_perms = a.permissions_of(&user("a"), scope(), NOW);
    assert_eq!(a_perms, b.permissions_of(&user("a"), scope(), NOW));
    assert_eq!(a_perms, ["inbox:read", "inbox:write"]);
    assert_eq!(
        compile(&doc, NOW).map_err(|e| e.to_string()).map(|_| ()),
        Ok(())
    );
}
