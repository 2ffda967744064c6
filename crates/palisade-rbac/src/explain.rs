//! `explain`: why a request is allowed or denied, as a value a host can log,
//! show, or put into an audit record. Slow path: it re-reads the bindings
//! and deny rules; the decision it reports is always `check`'s.

use crate::bitset;
use crate::permission::pattern_matches;
use crate::policy::CompiledPolicy;
use crate::request::{Decision, Request, Subject};
use palisade_tenancy::{Scope, Timestamp};
use serde::Serialize;

/// The reason class of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// An active grant gives the permission and nothing takes it away.
    Allowed,
    /// An active deny rule matches (deny overrides every allow).
    DeniedByRule,
    /// No grant of the principal in this scope gives the permission.
    NoGrantInScope,
    /// Grants exist but none is in force at `now` (not yet, or expired).
    GrantNotActive,
    /// The roles allow it but the API key's scopes do not.
    OutsideKeyScopes,
    /// The principal appears nowhere in the policy.
    UnknownPrincipal,
    /// The permission is not declared by the policy.
    UnknownPermission,
    /// The permission id was interned by a policy of another generation.
    StalePermissionId,
    /// The key scope mask was made for a policy of another generation.
    StaleKeyScopes,
}

/// A grant that gives the requested permission in the requested scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrantTrace {
    /// The binding, as `bindings[i]` of the source document.
    pub binding: String,
    /// The binding's scope (the request's scope or its tenant).
    pub scope: Scope,
    /// The bound role first, then each inherited role down to the one
    /// whose own permission pattern matched.
    pub role_chain: Vec<String>,
    /// The pattern that matched, e.g. `inbox:*`.
    pub pattern: String,
    /// The grant's window start, if any.
    pub not_before: Option<Timestamp>,
    /// The grant's expiry, if any.
    pub expires_at: Option<Timestamp>,
    /// The grant's reason (break-glass justification), to audit.
    pub reason: Option<String>,
    /// Whether the grant is in force at the request's `now`.
    pub active: bool,
}

/// An active deny rule that matches the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DenyTrace {
    /// The rule, as `denies[i]` of the source document.
    pub deny: String,
    /// The rule's scope.
    pub scope: Scope,
    /// The principal it names, or `None` for everyone.
    pub principal: Option<String>,
    /// The pattern that matched.
    pub pattern: String,
    /// The rule's reason, if any.
    pub reason: Option<String>,
}

/// Why a request got its decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Exactly what [`CompiledPolicy::check`] answers for the request.
    pub decision: Decision,
    /// The reason class.
    pub outcome: Outcome,
    /// The principal, as text.
    pub principal: String,
    /// The request's scope.
    pub scope: Scope,
    /// The permission's name, when known.
    pub permission: Option<String>,
    /// The request's `now`.
    pub now: Timestamp,
    /// Grants in scope that give the permission (active or not).
    pub grants: Vec<GrantTrace>,
    /// Active deny rules that match.
    pub denies: Vec<DenyTrace>,
}

impl core::fmt::Display for Explanation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let perm = self.permission.as_deref().unwrap_or("<unknown permission>");
        write!(
            f,
            "{} {} `{perm}` in {} at {}: ",
            self.decision, self.principal, self.scope, self.now
        )?;
        let active = self.grants.iter().find(|g| g.active);
        match (self.outcome, active, self.denies.first()) {
            (Outcome::Allowed, Some(g), _) => {
                write!(
                    f,
                    "allowed by {} (role {} via `{}`)",
                    g.binding,
                    g.role_chain.join(" -> "),
                    g.pattern
                )?;
                if let Some(r) = &g.reason {
                    write!(f, ", reason: {r}")?;
                }
                Ok(())
            }
            (Outcome::DeniedByRule, _, Some(d)) => {
                write!(f, "denied by {} (`{}`)", d.deny, d.pattern)?;
                if let Some(r) = &d.reason {
                    write!(f, ", reason: {r}")?;
                }
                Ok(())
            }
            (o, _, _) => f.write_str(match o {
                Outcome::NoGrantInScope => "no grant in this scope",
                Outcome::GrantNotActive => "grants exist but none is in force now",
                Outcome::OutsideKeyScopes => "outside the API key's scopes",
                Outcome::UnknownPrincipal => "unknown principal",
                Outcome::UnknownPermission => "unknown permission",
                Outcome::StalePermissionId => "permission id from another policy generation",
                Outcome::StaleKeyScopes => "key scopes from another policy generation",
                Outcome::Allowed | Outcome::DeniedByRule => "inconsistent explanation",
            }),
        }
    }
}

impl CompiledPolicy {
    /// Explain the decision for `request`: the grant(s) and role chain that
    /// allowed it, the deny rule that denied it, or why nothing applied.
    /// `decision` always equals [`CompiledPolicy::check`]'s answer.
    #[must_use]
    pub fn explain(&self, request: &Request<'_>) -> Explanation {
        let name = if request.permission.generation == self.generation() {
            self.perms.name(request.permission.index)
        } else {
            None
        };
        let stale = request.permission.generation != self.generation();
        self.explain_inner(&request.subject, name, stale, self.check(request))
    }

    /// As [`CompiledPolicy::explain`], naming the permission by string.
    #[must_use]
    pub fn explain_named(&self, subject: &Subject<'_>, permission: &str) -> Explanation {
        let mut e = self.explain_inner(
            subject,
            self.perms
                .lookup(permission)
                .and_then(|i| self.perms.name(i)),
            false,
            self.check_named(subject, permission),
        );
        if e.permission.is_none() {
            e.permission = Some(crate::error::clip(permission, 80));
        }
        e
    }

    fn explain_inner(
        &self,
        s: &Subject<'_>,
        name: Option<&str>,
        stale: bool,
        decision: Decision,
    ) -> Explanation {
        let mut e = Explanation {
            decision,
            outcome: Outcome::NoGrantInScope,
            principal: s.principal.to_string(),
            scope: s.scope,
            permission: name.map(str::to_owned),
            now: s.now,
            grants: Vec::new(),
            denies: Vec::new(),
        };
        let Some(name) = name else {
            e.outcome = if stale {
                Outcome::StalePermissionId
            } else {
                Outcome::UnknownPermission
            };
            return e;
        };
        if s.key_scopes
            .is_some_and(|m| m.generation != self.generation())
        {
            e.outcome = Outcome::StaleKeyScopes;
            return e;
        }
        let Some(pid) = self.find_principal(s.principal) else {
            e.outcome = Outcome::UnknownPrincipal;
            return e;
        };
        let lo = self.bindings.partition_point(|b| b.principal < pid);
        let hi = self.bindings.partition_point(|b| b.principal <= pid);
        for b in self.bindings.get(lo..hi).unwrap_or(&[]) {
            let Some(&scope) = self.scopes.get(b.scope as usize) else {
                continue;
            };
            if !scope.contains(&s.scope) {
                continue;
            }
            let Some((role_chain, pattern)) = self.roles.chain_to(b.role, name) else {
                continue;
            };
            let meta = self
                .binding_meta
                .get(b.meta as usize)
                .cloned()
                .unwrap_or_default();
            e.grants.push(GrantTrace {
                binding: format!("bindings[{}]", b.source),
                scope,
                role_chain,
                pattern,
                not_before: meta.not_before,
                expires_at: meta.expires_at,
                reason: meta.reason.as_deref().map(str::to_owned),
                active: meta.active_at(s.now),
            });
        }
        for j in self.deny_index.candidates(pid, s.scope.tenant_id()) {
            let Some(d) = self.denies.get(j as usize) else {
                continue;
            };
            #[cfg(test)]
            tests::DENIES_READ.with(|c| c.set(c.get() + 1));
            if d.principal.is_some_and(|p| p != pid)
                || !d.scope.contains(&s.scope)
                || !d.meta.active_at(s.now)
            {
                continue;
            }
            if let Some(p) = d.patterns.iter().find(|p| pattern_matches(p, name)) {
                e.denies.push(DenyTrace {
                    deny: format!("denies[{j}]"),
                    scope: d.scope,
                    principal: d.principal.map(|_| s.principal.to_string()),
                    pattern: p.to_string(),
                    reason: d.meta.reason.as_deref().map(str::to_owned),
                });
            }
        }
        let any_active = e.grants.iter().any(|g| g.active);
        let in_mask = |m: &crate::request::ScopeMask| {
            self.perms
                .lookup(name)
                .is_some_and(|i| bitset::test_bit(&m.bits, i as usize))
        };
        e.outcome = if decision.is_allow() {
            Outcome::Allowed
        } else if !any_active {
            if e.grants.is_empty() {
                Outcome::NoGrantInScope
            } else {
                Outcome::GrantNotActive
            }
        } else if !e.denies.is_empty() {
            Outcome::DeniedByRule
        } else if s.key_scopes.is_some_and(|m| !in_mask(m)) {
            Outcome::OutsideKeyScopes
        } else {
            Outcome::NoGrantInScope
        };
        e
    }
}

#[cfg(test)]
mod tests {
    use crate::{DenyRule, PolicyDocument, RoleDef, Subject, compile};
    use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};

    thread_local! {
        /// Deny rules `explain` looked at on this thread.
        pub(super) static DENIES_READ: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
    }

    fn tenant(i: u32) -> Scope {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&i.to_be_bytes());
        b[15] = 1;
        Scope::tenant(TenantId::from_bytes(b))
    }

    /// F8 regression: explain reads only the deny rules that can apply to
    /// the (principal, tenant), not every rule of every tenant.
    #[test]
    fn explain_reads_only_denies_that_can_apply() {
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let alice = Principal::user("alice").unwrap();
        let mut doc = PolicyDocument::new()
            .permissions(["inbox:read", "inbox:write"])
            .role(RoleDef::new("member").allow("inbox:*"))
            .bind(crate::Binding::new(alice.clone(), "member", tenant(0)))
            .deny(DenyRule::everyone(tenant(0)).deny("inbox:write"))
            .deny(DenyRule::principal(alice.clone(), tenant(0)).deny("inbox:*"));
        for i in 1..2_000 {
            doc = doc.deny(DenyRule::principal(alice.clone(), tenant(i)).deny("inbox:*"));
            doc = doc.deny(DenyRule::everyone(tenant(i)).deny("inbox:write"));
        }
        let policy = compile(&doc, now).unwrap();
        DENIES_READ.with(|c| c.set(0));
        let e = policy.explain_named(&Subject::new(&alice, tenant(0), now), "inbox:write");
        assert_eq!(DENIES_READ.with(core::cell::Cell::get), 2);
        let names: Vec<&str> = e.denies.iter().map(|d| d.deny.as_str()).collect();
        assert_eq!(names, ["denies[0]", "denies[1]"]);
    }
}
