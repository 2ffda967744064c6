//! Compile warnings: legal policies that are probably not what was meant.

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
