//! Shared test support: a naive reference evaluator written straight from
//! the model's definition (docs/rbac.md, "Decision procedure"), and proptest
//! generators of random policies and requests.
#![allow(dead_code, reason = "each test binary uses a different part")]
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test support: a panic is a failing test"
)]

use palisade_rbac::{Binding, DenyRule, PolicyDocument, RoleDef};
use palisade_tenancy::{Principal, ProjectId, Scope, TenantId, Timestamp};
use proptest::prelude::*;

/// Pattern match, written independently of the crate's.
pub(crate) fn matches(pattern: &str, permission: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (pr, pa) = pattern.split_once(':').unwrap();
    let (r, a) = permission.split_once(':').unwrap();
    (pr == "*" || pr == r) && (pa == "*" || pa == a)
}

fn active(nb: Option<Timestamp>, exp: Option<Timestamp>, now: Timestamp) -> bool {
    nb.is_none_or(|n| n <= now) && exp.is_none_or(|e| now < e)
}

fn role_has(doc: &PolicyDocument, role: &str, perm: &str, depth: usize) -> bool {
    assert!(depth < 64, "reference evaluator: cycle");
    let r = doc.roles.iter().find(|r| r.name == role).unwrap();
    r.permissions.iter().any(|p| matches(p, perm))
        || r.inherits.iter().any(|i| role_has(doc, i, perm, depth + 1))
}

/// The model's definition of a decision: declared permission, inside the
/// key's scopes, some active binding of the principal whose scope contains
/// the request scope gives it, and no active deny for the principal (or
/// everyone) whose scope contains the request scope matches it.
pub(crate) fn reference(
    doc: &PolicyDocument,
    principal: &Principal,
    scope: Scope,
    perm: &str,
    now: Timestamp,
    key: Option<&[String]>,
) -> bool {
    if !doc.permissions.iter().any(|p| p == perm) {
        return false;
    }
    if let Some(k) = key
        && !k.iter().any(|p| matches(p, perm))
    {
        return false;
    }
    let granted = doc.bindings.iter().any(|b| {
        b.principal == *principal
            && b.scope.contains(&scope)
            && active(b.not_before, b.expires_at, now)
            && role_has(doc, &b.role, perm, 0)
    });
    let denied = doc.denies.iter().any(|d| {
        d.principal.as_ref().is_none_or(|p| p == principal)
            && d.scope.contains(&scope)
            && active(d.not_before, d.expires_at, now)
            && d.permissions.iter().any(|p| matches(p, perm))
    });
    granted && !denied
}

pub(crate) fn tenant(i: u8) -> TenantId {
    TenantId::from_bytes([i; 16])
}

/// Six scopes over two tenants; project ids are shared across tenants on
/// purpose (a project id alone must never match across tenants).
pub(crate) fn scopes() -> Vec<Scope> {
    let p1 = ProjectId::from_bytes([0xa1; 16]);
    let p2 = ProjectId::from_bytes([0xa2; 16]);
    let mut v = Vec::new();
    for t in [tenant(1), tenant(2)] {
        v.push(Scope::tenant(t));
        v.push(Scope::project(t, p1));
        v.push(Scope::project(t, p2));
    }
    v
}

/// Request scopes: the policy's, plus a tenant and project nobody is bound in.
pub(crate) fn request_scopes() -> Vec<Scope> {
    let mut v = scopes();
    v.push(Scope::tenant(tenant(3)));
    v.push(Scope::project(tenant(3), ProjectId::from_bytes([0xa1; 16])));
    v
}

pub(crate) fn principals() -> Vec<Principal> {
    [
        "user:alice",
        "user:bob",
        "key:k1",
        "service:sync",
        "staff:sre",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

pub(crate) fn request_principals() -> Vec<Principal> {
    let mut v = principals();
    v.push("user:nobody".parse().unwrap());
    v
}

/// Small (one word) or large (two words) permission universes.
pub(crate) fn universe(large: bool) -> Vec<String> {
    if large {
        (0..10)
            .flat_map(|r| (0..7).map(move |a| format!("r{r}:a{a}")))
            .collect()
    } else {
        ["inbox", "billing", "kb"]
            .iter()
            .flat_map(|r| ["read", "write", "admin"].map(|a| format!("{r}:{a}")))
            .collect()
    }
}

fn pattern(universe: Vec<String>) -> impl Strategy<Value = String> {
    let u = universe.clone();
    (0..universe.len(), 0..10u8).prop_map(move |(i, kind)| {
        let (r, a) = u[i].split_once(':').unwrap();
        match kind {
            0 => "*".to_owned(),
            1 | 2 => format!("{r}:*"),
            3 => format!("*:{a}"),
            _ => u[i].clone(),
        }
    })
}

fn window() -> impl Strategy<Value = (Option<Timestamp>, Option<Timestamp>)> {
    let t = |s: i64| Timestamp::from_unix_millis(s * 1000);
    prop_oneof![
        3 => Just((None, None)),
        1 => (0..6i64).prop_map(move |a| (Some(t(a)), None)),
        1 => (1..7i64).prop_map(move |b| (None, Some(t(b)))),
        1 => (0..6i64, 1..4i64).prop_map(move |(a, d)| (Some(t(a)), Some(t(a + d)))),
    ]
}

pub(crate) fn binding(nroles: usize) -> impl Strategy<Value = Binding> {
    (
        0..principals().len(),
        0..nroles,
        0..scopes().len(),
        window(),
    )
        .prop_map(|(p, r, s, (nb, exp))| {
            let principal = principals()[p].clone();
            let staff = principal.kind() == palisade_tenancy::PrincipalKind::Staff;
            let exp = if staff && exp.is_none() {
                Some(Timestamp::from_unix_millis(7000))
            } else {
                exp
            };
            let mut b = Binding::new(principal, format!("role{r}"), scopes()[s]);
            b.not_before = nb;
            b.expires_at = exp;
            if staff || nb.is_some() || exp.is_some() {
                b.reason = Some(format!("ticket {p}-{r}"));
            }
            b
        })
}

pub(crate) fn deny(universe: Vec<String>) -> impl Strategy<Value = DenyRule> {
    (
        proptest::option::weighted(0.8, 0..principals().len()),
        proptest::collection::vec(pattern(universe), 1..3),
        0..scopes().len(),
        window(),
    )
        .prop_map(|(p, pats, s, (nb, exp))| {
            let mut d = match p {
                Some(p) => DenyRule::principal(principals()[p].clone(), scopes()[s]),
                None => DenyRule::everyone(scopes()[s]),
            };
            d.permissions = pats;
            d.not_before = nb;
            d.expires_at = exp;
            d
        })
}

/// A random valid policy document (roles inherit only from earlier roles,
/// so there are no cycles; duplicate bindings are removed).
pub(crate) fn document() -> impl Strategy<Value = PolicyDocument> {
    (any::<bool>(), 1..6usize).prop_flat_map(|(large, nroles)| {
        let u = universe(large);
        let roles = (0..nroles)
            .map(|i| {
                (
                    proptest::collection::vec(pattern(u.clone()), 0..4),
                    proptest::collection::vec(0..nroles.max(1), 0..3),
                )
                    .prop_map(move |(perms, inh)| {
                        let mut r = RoleDef::new(format!("role{i}"));
                        r.permissions = perms;
                        let mut parents: Vec<usize> = inh.into_iter().filter(|&j| j < i).collect();
                        parents.sort_unstable();
                        parents.dedup();
                        r.inherits = parents.into_iter().map(|j| format!("role{j}")).collect();
                        r
                    })
                    .boxed()
            })
            .collect::<Vec<_>>();
        (
            Just(u.clone()),
            roles,
            proptest::collection::vec(binding(nroles), 0..14),
            proptest::collection::vec(deny(u), 0..4),
        )
            .prop_map(|(u, roles, bindings, denies)| {
                let mut doc = PolicyDocument::new().permissions(u);
                doc.roles = roles;
                for b in bindings {
                    add_binding(&mut doc, b);
                }
                doc.denies = denies;
                doc
            })
    })
}

/// Add a binding unless an identical one exists (compile rejects duplicates).
pub(crate) fn add_binding(doc: &mut PolicyDocument, b: Binding) {
    let dup = doc.bindings.iter().any(|x| {
        x.principal == b.principal
            && x.role == b.role
            && x.scope == b.scope
            && x.not_before == b.not_before
            && x.expires_at == b.expires_at
    });
    if !dup {
        doc.bindings.push(b);
    }
}

/// A random request: principal, scope, permission index, now, key scopes.
#[derive(Clone, Debug)]
pub(crate) struct Req {
    pub(crate) principal: Principal,
    pub(crate) scope: Scope,
    pub(crate) perm: usize,
    pub(crate) now: Timestamp,
    pub(crate) key: Option<Vec<String>>,
}

pub(crate) fn request(universe_len: usize) -> impl Strategy<Value = Req> + use<> {
    (
        0..request_principals().len(),
        0..request_scopes().len(),
        0..universe_len,
        -1000..8000i64,
        proptest::option::weighted(
            0.3,
            proptest::collection::vec(pattern(universe(universe_len > 9)), 0..3),
        ),
    )
        .prop_map(|(p, s, perm, now, key)| Req {
            principal: request_principals()[p].clone(),
            scope: request_scopes()[s],
            perm,
            // Land on window edges often.
            now: Timestamp::from_unix_millis(if now % 3 == 0 {
                (now / 1000) * 1000
            } else {
                now
            }),
            key,
        })
}
