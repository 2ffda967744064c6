//! What an administering caller may do: permissions in a scope, which
//! owners it may administer, and whether a set of key scopes stays within
//! its own authority (no minting escalation, no unknown scopes).
//!
//! Everything here is evaluated against one snapshot of the compiled
//! policy, at the `now` of the call.

use std::collections::BTreeSet;

use palisade_apikey::{Verified, scope_covers};
use palisade_rbac::{CompiledPolicy, Decision, ScopeMask, Subject};
use palisade_tenancy::{Principal, PrincipalKind, Scope, Timestamp};

use crate::admin_error::KeyAdminError;
use crate::breakglass::BreakGlassGrant;

/// Holding this permission in a scope lets a caller manage keys owned by
/// other principals there (issue keys for them, revoke, rotate, rescope).
pub const ADMIN_PERMISSION: &str = "apikeys:admin";

/// The authority of the caller of a key-administration call.
pub(crate) struct Authority<'a> {
    /// The acting principal (a key's owner, the user, or the staff member).
    pub(crate) principal: &'a Principal,
    /// The presenting key, whose scopes narrow the principal's roles.
    pub(crate) key: Option<&'a Verified>,
    /// For staff: the break-glass grant the request was allowed under.
    pub(crate) grant: Option<&'a BreakGlassGrant>,
}

/// A caller's key mask for one policy, or `None` when it has no key.
/// `Err(())` when the key's scopes do not fit the policy: it may do nothing.
type Mask = Result<Option<ScopeMask>, ()>;

impl Authority<'_> {
    fn mask(&self, policy: &CompiledPolicy) -> Mask {
        match self.key {
            None => Ok(None),
            Some(v) => policy
                .scope_mask(v.granted_scopes())
                .map(Some)
                .map_err(drop),
        }
    }

    /// For staff: the grant, when it is live at `now` for this staff member
    /// and covers `scope`.
    fn live_grant(&self, scope: &Scope, now: Timestamp) -> Option<&BreakGlassGrant> {
        self.grant.filter(|g| {
            g.staff == *self.principal
                && g.granted_at <= now
                && now < g.expires_at
                && g.scope.contains(scope)
        })
    }

    fn is_staff(&self) -> bool {
        self.principal.kind() == PrincipalKind::Staff
    }

    /// May the caller use `permission` in `scope` at `now`?
    pub(crate) fn may(
        &self,
        policy: &CompiledPolicy,
        permission: &str,
        scope: Scope,
        now: Timestamp,
    ) -> bool {
        if self.is_staff() {
            return self
                .live_grant(&scope, now)
                .is_some_and(|g| g.permissions.iter().any(|p| scope_covers(p, permission)));
        }
        let Ok(mask) = self.mask(policy) else {
            return false;
        };
        let mut subject = Subject::new(self.principal, scope, now);
        if let Some(m) = &mask {
            subject = subject.with_key_scopes(m);
        }
        policy.check_named(&subject, permission) == Decision::Allow
    }

    /// Every declared permission the caller may use in `scope` at `now`.
    fn effective<'p>(
        &self,
        policy: &'p CompiledPolicy,
        scope: Scope,
        now: Timestamp,
    ) -> BTreeSet<&'p str> {
        if self.is_staff() {
            let Some(g) = self.live_grant(&scope, now) else {
                return BTreeSet::new();
            };
            return policy
                .permission_names()
                .filter(|p| g.permissions.iter().any(|s| scope_covers(s, p)))
                .collect();
        }
        let Ok(mask) = self.mask(policy) else {
            return BTreeSet::new();
        };
        let mut subject = Subject::new(self.principal, scope, now);
        if let Some(m) = &mask {
            subject = subject.with_key_scopes(m);
        }
        policy
            .permissions_of_subject(&subject)
            .into_iter()
            .collect()
    }

    /// The patterns that bound the caller beyond its roles: its key's
    /// scopes, or its grant's permissions.
    fn patterns(&self) -> Option<&[String]> {
        match (self.key, self.grant) {
            (Some(v), _) => Some(v.granted_scopes()),
            (None, Some(g)) if self.is_staff() => Some(&g.permissions),
            _ => None,
        }
    }

    /// May the caller manage keys owned by `owner` in `scope`? Its own keys
    /// (owner = the acting principal) always; anyone else's only with
    /// [`ADMIN_PERMISSION`] in `scope`.
    pub(crate) fn may_administer(
        &self,
        policy: &CompiledPolicy,
        owner: &Principal,
        scope: Scope,
        now: Timestamp,
    ) -> bool {
        owner == self.principal || self.may(policy, ADMIN_PERMISSION, scope, now)
    }

    /// Check that `scopes`, granted to a key in `scope`, name only
    /// permissions of the policy in force and only what the caller may do
    /// there now.
    ///
    /// # Errors
    /// [`KeyAdminError::UnknownScope`] for the first pattern matching
    /// nothing; [`KeyAdminError::Escalation`] naming every permission the
    /// caller lacks, and every pattern wider than the caller's own key
    /// scopes (or grant), which would widen with the policy.
    pub(crate) fn check_grant<S: AsRef<str>>(
        &self,
        policy: &CompiledPolicy,
        version: u64,
        scopes: &[S],
        scope: Scope,
        now: Timestamp,
    ) -> Result<(), KeyAdminError> {
        for s in scopes {
            let s = s.as_ref();
            if policy.scope_mask(core::slice::from_ref(&s)).is_err() {
                return Err(KeyAdminError::UnknownScope {
                    scope: s.to_owned(),
                    policy_version: version,
                });
            }
        }
        let allowed = self.effective(policy, scope, now);
        let mut excess: Vec<String> = policy
            .permission_names()
            .filter(|p| scopes.iter().any(|s| scope_covers(s.as_ref(), p)))
            .filter(|p| !allowed.contains(p))
            .map(str::to_owned)
            .collect();
        if let Some(own) = self.patterns() {
            for s in scopes {
                let s = s.as_ref();
                if !own.iter().any(|o| pattern_covers(o, s)) && !excess.iter().any(|e| e == s) {
                    excess.push(s.to_owned());
                }
            }
        }
        if excess.is_empty() {
            Ok(())
        } else {
            Err(KeyAdminError::Escalation {
                principal: self.principal.to_string(),
                excess,
            })
        }
    }
}

/// True when the pattern `granted` covers every permission the pattern
/// `requested` can ever match, whatever the policy declares: `*` covers
/// everything; otherwise each part of `requested` must equal the granted
/// part or the granted part must be `*` (so `inbox:*` is covered by `*:*`
/// or `inbox:*`, but not by `inbox:read`).
pub(crate) fn pattern_covers(granted: &str, requested: &str) -> bool {
    if granted == "*" || granted == "*:*" {
        return true;
    }
    let Some((gr, ga)) = granted.split_once(':') else {
        return false;
    };
    let Some((rr, ra)) = requested.split_once(':') else {
        return false;
    };
    (gr == "*" || gr == rr) && (ga == "*" || ga == ra)
}

#[cfg(test)]
mod tests {
    use super::pattern_covers;

    #[test]
    fn pattern_cover_is_about_every_future_match() {
        assert!(pattern_covers("*", "*"));
        assert!(pattern_covers("*:*", "*"));
        assert!(pattern_covers("inbox:*", "inbox:read"));
        assert!(pattern_covers("inbox:*", "inbox:*"));
        assert!(pattern_covers("*:read", "inbox:read"));
        assert!(!pattern_covers("inbox:read", "inbox:*"));
        assert!(!pattern_covers("inbox:*", "*"));
        assert!(!pattern_covers("*:read", "inbox:*"));
        assert!(!pattern_covers("inbox:*", "*:read"));
        assert!(!pattern_covers("bad", "bad"));
    }
}
