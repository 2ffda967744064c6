//! Granted scopes use exactly the permission-pattern grammar that
//! `palisade-rbac` uses (`palisade_tenancy::check_pattern`, issue 11 F3: one
//! grammar, lowercase, at most 64 bytes), so every pattern a policy accepts
//! as a key scope can be granted to a key and nothing else can.

use palisade_apikey::{
    ApiKeyError, ApiKeys, KeyFormat, NewKey, Pepper, PepperSet, Rejection, VerifyContext,
    scope_covers, validate_scope,
};
use palisade_tenancy::{Scope, TenantId, Timestamp};
use secrecy::SecretSlice;

/// Patterns `palisade-rbac` accepts (checked against its
/// `CompiledPolicy::scope_mask` when this table was written).
fn rbac_accepts() -> Vec<String> {
    let mut v: Vec<String> = [
        "*",
        "*:*",
        "chat:*",
        "*:read",
        "chat:read",
        "inbox.v2:read-all",
        "a1_-.:z9",
        "_:-",
        ".:.",
        "0:9",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("{}:{}", "r".repeat(31), "a".repeat(32)));
    v.push(format!("*:{}", "z".repeat(62)));
    v
}

/// Strings `palisade-rbac` refuses as patterns (`PermissionSyntax`).
fn rbac_refuses() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "chat",
        ":read",
        "chat:",
        ":",
        "a:b:c",
        "ch at:read",
        "ch*:read",
        "chat:re*",
        "**",
        "*:",
        ":*",
        "* :read",
        "chat:read ",
        "é:read",
        "chat/x:read",
        "chat:read\n",
        "Chat:Read",
        "INBOX:WRITE",
        "A1_-.:z9",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("{}:a", "r".repeat(63)));
    v.push(format!("r:{}", "a".repeat(63)));
    v.push(format!("{}:{}", "r".repeat(64), "a".repeat(64)));
    v
}

#[test]
fn key_scopes_accept_exactly_what_rbac_accepts() {
    for s in rbac_accepts() {
        assert!(validate_scope(&s).is_ok(), "rbac accepts `{s}`");
        assert!(
            NewKey::new(tenant(), "k").scopes([s.as_str()]).is_ok(),
            "{s}"
        );
    }
    for s in rbac_refuses() {
        assert!(
            matches!(validate_scope(&s), Err(ApiKeyError::ScopeSyntax { .. })),
            "rbac refuses `{s}`"
        );
    }
}

fn tenant() -> Scope {
    Scope::tenant(TenantId::new_v7())
}

#[test]
fn whole_wildcard_scopes_cover_exact_parts() {
    assert!(scope_covers("*", "any:thing"));
    assert!(scope_covers("chat:*", "chat:read"));
    assert!(!scope_covers("chat:*", "chatx:read"));
    assert!(!scope_covers("chat:read", "chat:Read"));

    let keys = ApiKeys::in_memory(
        KeyFormat::default(),
        PepperSet::new([Pepper::new(1, SecretSlice::from(vec![7; 32])).unwrap()]).unwrap(),
    );
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let ctx = |p: &'static str| VerifyContext::new(now).require(p);
    let k = keys
        .issue(
            NewKey::new(tenant(), "k").scopes(["billing:read"]).unwrap(),
            now,
        )
        .unwrap();
    assert!(keys.verify(k.expose_secret(), &ctx("billing:read")).is_ok());
    assert!(NewKey::new(tenant(), "k").scopes(["Billing:Read"]).is_err());
    assert_eq!(
        keys.verify(k.expose_secret(), &ctx("billing:write"))
            .unwrap_err(),
        Rejection::ScopeMissing
    );
    let all = keys
        .issue(NewKey::new(tenant(), "all").scopes(["*"]).unwrap(), now)
        .unwrap();
    assert!(
        keys.verify(all.expose_secret(), &ctx("anything:at-all"))
            .is_ok()
    );
}
