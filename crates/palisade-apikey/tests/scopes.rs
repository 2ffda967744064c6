//! Granted scopes use exactly `palisade-rbac`'s permission-pattern grammar
//! (`crates/palisade-rbac/src/permission.rs`: `parse_pattern`, `valid_part`),
//! so every pattern a policy accepts as a key scope can be granted to a key
//! and nothing else can.

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
        "Chat:Read",
        "INBOX:WRITE",
        "inbox.v2:read-all",
        "A1_-.:z9",
        "_:-",
        ".:.",
        "0:9",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("{}:{}", "R".repeat(64), "a".repeat(64)));
    v.push(format!("*:{}", "Z".repeat(64)));
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
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("{}:a", "r".repeat(65)));
    v.push(format!("r:{}", "A".repeat(65)));
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
fn uppercase_and_whole_wildcard_scopes_cover_case_sensitively() {
    assert!(scope_covers("*", "Any:Thing"));
    assert!(scope_covers("Chat:*", "Chat:Read"));
    assert!(!scope_covers("Chat:*", "chat:read"));
    assert!(!scope_covers("chat:read", "chat:Read"));

    let keys = ApiKeys::in_memory(
        KeyFormat::default(),
        PepperSet::new([Pepper::new(1, SecretSlice::from(vec![7; 32])).unwrap()]).unwrap(),
    );
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let ctx = |p: &'static str| VerifyContext::new(now).require(p);
    let k = keys
        .issue(
            NewKey::new(tenant(), "k").scopes(["Billing:Read"]).unwrap(),
            now,
        )
        .unwrap();
    assert!(keys.verify(k.expose_secret(), &ctx("Billing:Read")).is_ok());
    assert_eq!(
        keys.verify(k.expose_secret(), &ctx("billing:read"))
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
