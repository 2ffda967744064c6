//! Shared set-up of the request-path tests: two tenants, a policy, two keys.

use palisade::apikey::NewKey;
use palisade::tenancy::{Principal, Scope, TenantId, Timestamp};
use palisade::{Credential, Palisade, PalisadeConfig, Request, TenantConfig};

pub(crate) const T0: i64 = 1_800_000_000_000;

pub(crate) fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(T0 + ms)
}

pub(crate) struct World {
    pub(crate) palisade: Palisade,
    pub(crate) acme: TenantId,
    pub(crate) globex: TenantId,
    /// Alice's key: scopes inbox:*, knowledge:*.
    pub(crate) alice_key: String,
    /// Bob's key (Globex).
    pub(crate) bob_key: String,
}

#[cfg(test)]
pub(crate) fn policy(acme: TenantId, globex: TenantId) -> String {
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
pub(crate) fn world_with(config: PalisadeConfig) -> World {
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
            .keys_unchecked()
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
pub(crate) fn world() -> World {
    world_with(PalisadeConfig::default())
}

pub(crate) fn key_req<'a>(key: &'a str, permission: &'a str, now: Timestamp) -> Request<'a> {
    Request::new(Credential::ApiKey(key), permission, "thing", "t-1", now)
}

#[cfg(test)]
pub(crate) fn records(w: &World, tenant: TenantId) -> (u64, String) {
    let export = w.palisade.export_audit(tenant, at(60_000)).unwrap();
    let report = w.palisade.verify_audit(tenant, &export);
    assert!(report.is_ok(), "{:?}", report.problem);
    (report.records, String::from_utf8(export).unwrap())
}
