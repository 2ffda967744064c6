//! Shared set-up of the key-administration tests: two tenants, a policy
//! with the `apikeys:*` permissions, and keys for the scenarios.
#![allow(
    dead_code,
    reason = "shared by several test binaries, each using a subset"
)]

use palisade::apikey::{KeyId, NewKey};
use palisade::audit::SinkFactory;
use palisade::tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use palisade::{Authorized, Credential, Palisade, PalisadeConfig, Request, TenantConfig};
use serde_json::Value;

pub(crate) const T0: i64 = 1_800_000_000_000;

#[cfg(test)]
pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

pub(crate) struct World {
    pub(crate) palisade: Palisade,
    pub(crate) acme: TenantId,
    pub(crate) globex: TenantId,
    pub(crate) project: Scope,
    /// Alice, Acme admin: scopes `*`.
    pub(crate) alice: String,
    /// Ann, Acme member: scopes `inbox:*` (the victim key).
    pub(crate) ann: String,
    /// Alice's key whose only scope is `apikeys:create` (the issue's minting key).
    pub(crate) minter: String,
    /// Bob, Globex admin: scopes `*` (the attacker).
    pub(crate) bob: String,
    /// Pat, admin of one Acme project only (tenant-wide key).
    pub(crate) pat: String,
}

#[cfg(test)]
pub(crate) fn policy(acme: TenantId, globex: TenantId, project: Scope) -> String {
    format!(
        r#"
        version = 1
        permissions = ["inbox:read", "inbox:write", "billing:read", "billing:write",
          "apikeys:read", "apikeys:create", "apikeys:revoke", "apikeys:rotate",
          "apikeys:update", "apikeys:admin"]
        [[roles]]
        name = "admin"
        permissions = ["*"]
        [[roles]]
        name = "member"
        permissions = ["inbox:*", "apikeys:read", "apikeys:create", "apikeys:revoke",
          "apikeys:rotate", "apikeys:update"]
        [[bindings]]
        principal = "user:alice@acme.example"
        role = "admin"
        scope = "{acme}"
        [[bindings]]
        principal = "user:ann@acme.example"
        role = "member"
        scope = "{acme}"
        [[bindings]]
        principal = "user:pat@acme.example"
        role = "admin"
        scope = "{project}"
        [[bindings]]
        principal = "user:bob@globex.example"
        role = "admin"
        scope = "{globex}"
        [[denies]]
        permissions = ["billing:write"]
        scope = "{acme}"
        reason = "frozen"
    "#
    )
}

#[cfg(test)]
pub(crate) fn world() -> World {
    world_with(None)
}

#[cfg(test)]
pub(crate) fn world_with(sinks: Option<Box<dyn SinkFactory>>) -> World {
    let acme = TenantId::new_v7();
    let globex = TenantId::new_v7();
    let project = Scope::project(acme, ProjectId::new_v7());
    let mut config = PalisadeConfig::default();
    config.tenants.insert(acme, TenantConfig::new(None, &[]));
    let mut builder = Palisade::builder(config)
        .policy_toml(&policy(acme, globex, project))
        .at(at(0));
    if let Some(s) = sinks {
        builder = builder.audit_sinks(s);
    }
    let palisade = builder.build().unwrap();
    let issue = |tenant, owner: &str, scopes: &[&str]| {
        let new = NewKey::new(Scope::tenant(tenant), "test")
            .owner(Principal::user(owner).unwrap())
            .scopes(scopes.iter().copied())
            .unwrap();
        let k = palisade.keys_unchecked().issue(new, at(0)).unwrap();
        k.expose_secret().to_owned()
    };
    World {
        alice: issue(acme, "alice@acme.example", &["*"]),
        ann: issue(acme, "ann@acme.example", &["inbox:*"]),
        minter: issue(acme, "alice@acme.example", &["apikeys:create"]),
        bob: issue(globex, "bob@globex.example", &["*"]),
        pat: issue(acme, "pat@acme.example", &["*"]),
        palisade,
        acme,
        globex,
        project,
    }
}

/// The `Authorized` of a request with `key` for `permission`.
#[cfg(test)]
pub(crate) fn auth(w: &World, key: &str, permission: &str) -> Authorized {
    let req = Request::new(Credential::ApiKey(key), permission, "apikey", "-", at(1));
    w.palisade.authorize(&req).unwrap()
}

#[cfg(test)]
pub(crate) fn auth_in(w: &World, key: &str, permission: &str, target: Scope) -> Authorized {
    let req =
        Request::new(Credential::ApiKey(key), permission, "apikey", "-", at(1)).target(target);
    w.palisade.authorize(&req).unwrap()
}

#[cfg(test)]
pub(crate) fn id_of(w: &World, key: &str) -> KeyId {
    let parsed = w.palisade.keys_unchecked().format().parse(key).unwrap();
    *parsed.key_id()
}

#[cfg(test)]
pub(crate) fn works(w: &World, key: &str) -> bool {
    let req = Request::new(Credential::ApiKey(key), "inbox:read", "inbox", "-", at(50));
    w.palisade.authorize(&req).is_ok()
}

/// The verified audit events of `tenant`'s log, in order.
#[cfg(test)]
pub(crate) fn events(w: &World, tenant: TenantId) -> Vec<Value> {
    let export = w.palisade.export_audit(tenant, at(60_000)).unwrap();
    let report = w.palisade.verify_audit(tenant, &export);
    assert!(report.is_ok(), "{:?}", report.problem);
    String::from_utf8(export)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("record").and_then(|r| r.get("event")).cloned())
        .collect()
}

#[cfg(test)]
pub(crate) fn with_action<'e>(evs: &'e [Value], action: &str) -> Vec<&'e Value> {
    evs.iter().filter(|e| e["action"] == action).collect()
}

#[cfg(test)]
pub(crate) fn detail<'e>(e: &'e Value, name: &str) -> &'e Value {
    &e["details"][name]
}
