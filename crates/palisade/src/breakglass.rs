//! Staff break-glass: time-bound access to one tenant's data, with a
//! mandatory reason, every grant and every use audited with the staff
//! identity and the reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use palisade_apikey::{KeyStore, scope_covers, validate_scope};
use palisade_envelope::KeyProvider;
use palisade_tenancy::{Principal, PrincipalKind, Scope, Timestamp};

use crate::authorized::Authorized;
use crate::denial::{Denial, DenyReason};
use crate::error::{PalisadeError, Result};
use crate::request::Request;
use crate::service::Palisade;
use crate::trail::Decision;

/// A break-glass grant: `staff` may use `permissions` within `scope` until
/// `expires_at`, for `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassGrant {
    /// Present it as [`Credential::Staff`](crate::Credential::Staff)`{ grant: id, .. }`.
    pub id: u64,
    /// The staff member.
    pub staff: Principal,
    /// The tenant (or project) opened.
    pub scope: Scope,
    /// Permissions granted (`resource:action`, `*` wildcards per part).
    pub permissions: Vec<String>,
    /// Why (recorded with every use).
    pub reason: String,
    /// When it was granted.
    pub granted_at: Timestamp,
    /// Not usable from this instant on.
    pub expires_at: Timestamp,
}

/// The reason recorded for staff actions without a valid grant of their own.
pub(crate) const NO_GRANT: &str = "no valid break-glass grant";

#[derive(Default)]
pub(crate) struct Grants {
    next: AtomicU64,
    live: RwLock<HashMap<u64, BreakGlassGrant>>,
}

impl<S: KeyStore, P: KeyProvider> Palisade<S, P> {
    /// Open `scope` to `staff` for `permissions` during `duration` from
    /// `now`, for `reason`. The grant is audited in the tenant's log (actor
    /// = the staff member, with the reason) before it takes effect.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] when `staff` is not a `staff:` principal,
    /// the reason is shorter than `break_glass.min_reason_len`, the
    /// duration is zero or longer than `break_glass.max_minutes`, or a
    /// permission is malformed; [`PalisadeError::Component`] when the
    /// audit record cannot be written (then no grant is made).
    pub fn break_glass(
        &self,
        staff: &Principal,
        scope: Scope,
        permissions: &[&str],
        reason: &str,
        duration: Duration,
        now: Timestamp,
    ) -> Result<BreakGlassGrant> {
        let cfg = &self.inner.config.break_glass;
        if staff.kind() != PrincipalKind::Staff {
            return Err(PalisadeError::config(
                "break_glass.staff",
                format!("`{staff}` is not a `staff:` principal"),
            ));
        }
        if reason.trim().chars().count() < cfg.min_reason_len {
            return Err(PalisadeError::config(
                "break_glass.reason",
                format!(
                    "give a reason of at least {} characters (e.g. a ticket reference)",
                    cfg.min_reason_len
                ),
            ));
        }
        if duration.is_zero() || duration > Duration::from_secs(u64::from(cfg.max_minutes) * 60) {
            return Err(PalisadeError::config(
                "break_glass.duration",
                format!("must be between 1 s and {} minutes", cfg.max_minutes),
            ));
        }
        for p in permissions {
            validate_scope(p)
                .map_err(|e| PalisadeError::config("break_glass.permissions", e.to_string()))?;
        }
        let grant = BreakGlassGrant {
            id: self.inner.grants.next.fetch_add(1, Ordering::Relaxed) + 1,
            staff: staff.clone(),
            scope,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            reason: reason.trim().to_owned(),
            granted_at: now,
            expires_at: now.saturating_add(duration),
        };
        let id = grant.id.to_string();
        let req = Request::new(
            crate::Credential::Staff {
                principal: staff,
                grant: grant.id,
            },
            "break_glass:grant",
            "break_glass",
            &id,
            now,
        );
        self.inner
            .trail
            .record(
                &Decision::allowed(staff, None, Some(&grant.reason), scope),
                &req,
            )
            .map_err(|e| PalisadeError::Component {
                component: "audit",
                message: e.to_string(),
            })?;
        let mut live = self
            .inner
            .grants
            .live
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        live.retain(|_, g| now < g.expires_at);
        live.insert(grant.id, grant.clone());
        Ok(grant)
    }

    /// End a grant before it expires (audited). Returns false when it was
    /// not live.
    pub fn end_break_glass(&self, grant: u64, now: Timestamp) -> bool {
        let removed = self
            .inner
            .grants
            .live
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&grant);
        let Some(g) = removed else { return false };
        let id = g.id.to_string();
        let req = Request::new(
            crate::Credential::Staff {
                principal: &g.staff,
                grant: g.id,
            },
            "break_glass:end",
            "break_glass",
            &id,
            now,
        );
        // The grant is gone whether or not the record lands.
        let _ = self.inner.trail.record(
            &Decision::allowed(&g.staff, None, Some(&g.reason), g.scope),
            &req,
        );
        true
    }

    pub(crate) fn staff_access(
        &self,
        staff: &Principal,
        grant_id: u64,
        req: &Request<'_>,
    ) -> core::result::Result<Authorized<P>, Denial> {
        let grant = self
            .inner
            .grants
            .live
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&grant_id)
            .cloned();
        if grant.as_ref().is_some_and(|g| req.now >= g.expires_at) {
            self.inner
                .grants
                .live
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&grant_id);
        }
        let scope = req.target.or(grant.as_ref().map(|g| g.scope));
        let refusal = match (&grant, scope) {
            (None, _) | (_, None) => Some(format!("no live break-glass grant `{grant_id}`")),
            (Some(g), _) if g.staff != *staff => Some(format!(
                "grant `{grant_id}` belongs to `{}`, not `{staff}`",
                g.staff
            )),
            (Some(g), _) if req.now >= g.expires_at => {
                Some(format!("grant `{grant_id}` expired at {}", g.expires_at))
            }
            (Some(g), Some(s)) if !g.scope.contains(&s) => Some(format!(
                "grant `{grant_id}` covers `{}`, not `{s}`",
                g.scope
            )),
            (Some(g), _)
                if !g
                    .permissions
                    .iter()
                    .any(|p| scope_covers(p, req.permission)) =>
            {
                Some(format!(
                    "grant `{grant_id}` does not include `{}`",
                    req.permission
                ))
            }
            _ => None,
        };
        // The grant's reason is recorded only for its own holder.
        let reason = grant
            .as_ref()
            .filter(|g| g.staff == *staff)
            .map_or(NO_GRANT, |g| g.reason.as_str());
        let scope = scope.unwrap_or(Scope::tenant(crate::trail::UNATTRIBUTED));
        if let Some(why) = refusal {
            let denial = Denial::new(DenyReason::BreakGlass, why);
            let d = Decision::denied(staff, None, Some(reason), scope, &denial);
            return Err(match self.inner.trail.record(&d, req) {
                Ok(()) => denial,
                Err(e) => denial.with_extra_detail(&format!(" (and the audit record failed: {e})")),
            });
        }
        if let Err(e) = self
            .inner
            .trail
            .record(&Decision::allowed(staff, None, Some(reason), scope), req)
        {
            return Err(Denial::new(
                DenyReason::Internal,
                format!("allowed, but the audit record failed: {e}"),
            ));
        }
        Ok(Authorized {
            principal: staff.clone(),
            key: None,
            scope,
            envelope: self.inner.envelope.for_scope(scope),
            rate: None,
            staff_reason: Some(reason.to_owned()),
        })
    }
}
