//! Compile warnings: legal policies that are probably not what was meant.

use crate::document::PolicyDocument;
use crate::policy::{BindingRec, DenyRec};
use crate::roles::RoleTable;
use palisade_tenancy::{Scope, TenantId};

/// Something [`compile`](crate::compile) accepted but a human should look at.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum Warning {
    /// A deny rule covers every permission a binding's role gives, wherever
    /// the binding applies (ignoring time windows): the binding can never
    /// allow anything while the deny is in force.
    DenyEmptiesRole {
        /// The deny, e.g. `denies[0]`.
        deny: String,
        /// The binding, e.g. `bindings[3]`.
        binding: String,
        /// The binding's role.
        role: String,
        /// The binding's principal.
        principal: String,
    },
}

impl core::fmt::Display for Warning {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::DenyEmptiesRole {
                deny,
                binding,
                role,
                principal,
            } => write!(
                f,
                "{deny} denies every permission of role `{role}` that {binding} grants to `{principal}`; \
                 remove the binding or narrow the deny"
            ),
        }
    }
}

/// Bindings whose role's permissions a deny (in force wherever the
/// binding applies, ignoring windows) removes entirely.
#[expect(
    clippy::too_many_arguments,
    reason = "one-shot helper over compile's locals"
)]
pub(crate) fn deny_warnings<I: Iterator<Item = usize>>(
    doc: &PolicyDocument,
    recs: &[BindingRec],
    denies: &[DenyRec],
    deny_sets: &[Vec<u64>],
    role_sets: &[Vec<u64>],
    roles: &RoleTable,
    scopes: &[Scope],
    denies_for: &dyn Fn(u32, TenantId) -> I,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for r in recs {
        let Some(scope) = scopes.get(r.scope as usize) else {
            continue;
        };
        let Some(rs) = role_sets.get(r.role as usize) else {
            continue;
        };
        if crate::bitset::is_empty(rs) {
            continue;
        }
        for j in denies_for(r.principal, scope.tenant_id()) {
            if let (Some(d), Some(ds)) = (denies.get(j), deny_sets.get(j))
                && d.scope.contains(scope)
                && crate::bitset::is_subset(rs, ds)
            {
                out.push(Warning::DenyEmptiesRole {
                    deny: format!("denies[{j}]"),
                    binding: format!("bindings[{}]", r.source),
                    role: roles.name(r.role).to_owned(),
                    principal: doc
                        .bindings
                        .get(r.source as usize)
                        .map_or_else(String::new, |b| b.principal.to_string()),
                });
            }
        }
    }
    out
}
