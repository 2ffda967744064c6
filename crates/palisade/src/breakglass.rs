//! Staff break-glass: time-bound access to one tenant's data, with a
//! mandatory reason, every grant and every use audited with the staff
//! identity and the reason. Grants live in a [`GrantStore`] (in memory by
//! default; shared across replicas with a database adapter).

use std::sync::Arc;
use std::time::Duration;

use palisade_apikey::{KeyStore, scope_covers, validate_scope};
use palisade_audit::DetailValue;
use palisade_envelope::KeyProvider;
use palisade_tenancy::{Principal, PrincipalKind, Scope, Timestamp};

use crate::authorized::Authorized;
use crate::breakglass_store::{
    GrantId, GrantLookup, GrantStore, GrantStoreError, MemoryGrantStore, poll_once,
};
use crate::denial::{Denial, DenyReason};
use crate::error::{PalisadeError, Result};
use crate::request::Request;
use crate::service::Palisade;
use crate::trail::Decision;

/// A break-glass grant: `staff` may use `permissions` within `scope` from
/// `granted_at` until `expires_at`, for `reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassGrant {
    /// Present it as [`Credential::Staff`](crate::Credential::Staff)`{ grant: id, .. }`.
    pub id: GrantId,
    /// The staff member.
    pub staff: Principal,
    /// The tenant (or project) opened.
    pub scope: Scope,
    /// Permissions granted (`resource:action`, `*` wildcards per part).
    pub permissions: Vec<String>,
    /// Why (recorded with every use).
    pub reason: String,
    /// When it was granted; not usable before this instant.
    pub granted_at: Timestamp,
    /// Not usable from this instant on.
    pub expires_at: Timestamp,
}

/// The reason recorded for staff actions without a valid grant of their own.
pub(crate) const NO_GRANT: &str = "no valid break-glass grant";

/// The most bytes of permissions (joined by spaces) one grant may carry, so
/// that its audit record holds all of them.
pub const MAX_GRANT_PERMISSION_BYTES: usize = 256;

/// The facade's handle on its grant store.
pub(crate) struct Grants {
    store: Arc<dyn GrantStore>,
}

impl Default for Grants {
    fn default() -> Self {
        Self::new(Arc::new(MemoryGrantStore::new()))
    }
}

impl Grants {
    pub(crate) fn new(store: Arc<dyn GrantStore>) -> Self {
        Self { store }
    }
}

fn store_error(e: GrantStoreError) -> PalisadeError {
    PalisadeError::GrantStore(e)
}

/// The outcome of looking a grant up for a request.
enum Found {
    Grant(Option<Arc<BreakGlassGrant>>),
    Unavailable(GrantStoreError),
}

impl<S: KeyStore, P: KeyProvider> Palisade<S, P> {
    /// Open `scope` to `staff` for `permissions` during `duration` from
    /// `now`, for `reason`. The grant is audited in the tenant's log (actor
    /// = the staff member, with the reason; details `permissions`,
    /// `granted_at`, `expires_at`) before it takes effect.
    ///
    /// With a grant store that must wait for its backend, use
    /// [`Palisade::break_glass_async`]; this method then fails with
    /// [`GrantStoreError::WouldBlock`] and makes no grant.
    ///
    /// # Errors
    /// [`PalisadeError::Config`] when `staff` is not a `staff:` principal,
    /// the reason is shorter than `break_glass.min_reason_len`, the
    /// duration is zero or longer than `break_glass.max_minutes`, or a
    /// permission is malformed or they are too many to record;
    /// [`PalisadeError::Component`] when the audit record cannot be written
    /// (then no grant is made); [`PalisadeError::GrantStore`] when the
    /// store refuses or cannot be reached.
    pub fn break_glass(
        &self,
        staff: &Principal,
        scope: Scope,
        permissions: &[&str],
        reason: &str,
        duration: Duration,
        now: Timestamp,
    ) -> Result<BreakGlassGrant> {
        let grant = self.grant_recorded(staff, scope, permissions, reason, duration, now)?;
        poll_once(self.inner.grants.store.insert(grant.clone()))
            .unwrap_or(Err(GrantStoreError::WouldBlock))
            .map_err(store_error)?;
        Ok(grant)
    }

    /// [`Palisade::break_glass`] for a store that waits for its backend
    /// (e.g. PostgreSQL): the grant works on every replica once this returns.
    ///
    /// # Errors
    /// As [`Palisade::break_glass`].
    pub async fn break_glass_async(
        &self,
        staff: &Principal,
        scope: Scope,
        permissions: &[&str],
        reason: &str,
        duration: Duration,
        now: Timestamp,
    ) -> Result<BreakGlassGrant> {
        let grant = self.grant_recorded(staff, scope, permissions, reason, duration, now)?;
        self.inner
            .grants
            .store
            .insert(grant.clone())
            .await
            .map_err(store_error)?;
        Ok(grant)
    }

    /// Validate a grant request, build the grant and write its audit record.
    fn grant_recorded(
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
        let joined = permissions.join(" ");
        if permissions.is_empty() || joined.len() > MAX_GRANT_PERMISSION_BYTES {
            return Err(PalisadeError::config(
                "break_glass.permissions",
                format!(
                    "give 1 to {MAX_GRANT_PERMISSION_BYTES} bytes of permissions (use wildcards)"
                ),
            ));
        }
        let grant = BreakGlassGrant {
            id: GrantId::random().map_err(store_error)?,
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
        let details = [
            ("permissions", DetailValue::Str(joined)),
            (
                "granted_at",
                DetailValue::Int(grant.granted_at.unix_millis()),
            ),
            (
                "expires_at",
                DetailValue::Int(grant.expires_at.unix_millis()),
            ),
        ];
        self.inner
            .trail
            .record(
                &Decision::allowed(staff, None, Some(&grant.reason), scope).with_details(&details),
                &req,
            )
            .map_err(|e| PalisadeError::Component {
                component: "audit",
                message: e.to_string(),
            })?;
        Ok(grant)
    }

    /// End a grant before it expires (audited). `Ok(false)` when it was
    /// not live.
    ///
    /// # Errors
    /// [`PalisadeError::GrantStore`] when the store cannot be reached (the
    /// grant may still be live: retry), or with a store that must wait for
    /// its backend ([`GrantStoreError::WouldBlock`]: use
    /// [`Palisade::end_break_glass_async`]).
    pub fn end_break_glass(&self, grant: GrantId, now: Timestamp) -> Result<bool> {
        let ended = poll_once(self.inner.grants.store.end(grant, now))
            .unwrap_or(Err(GrantStoreError::WouldBlock))
            .map_err(store_error)?;
        Ok(self.record_end(ended, now))
    }

    /// [`Palisade::end_break_glass`] for a store that waits for its
    /// backend: the grant is refused on every replica once this returns
    /// (at once where the change notification arrives, within the store's
    /// refresh interval elsewhere).
    ///
    /// # Errors
    /// As [`Palisade::end_break_glass`].
    pub async fn end_break_glass_async(&self, grant: GrantId, now: Timestamp) -> Result<bool> {
        let ended = self
            .inner
            .grants
            .store
            .end(grant, now)
            .await
            .map_err(store_error)?;
        Ok(self.record_end(ended, now))
    }

    fn record_end(&self, ended: Option<BreakGlassGrant>, now: Timestamp) -> bool {
        let Some(g) = ended else { return false };
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

    /// The request path for staff: a grant not in memory is filled from the
    /// store's backend (the synchronous `authorize`, which polls this once,
    /// fails closed with 503 when that fill would have to wait).
    pub(crate) async fn staff_access(
        &self,
        staff: &Principal,
        grant_id: GrantId,
        req: &Request<'_>,
    ) -> core::result::Result<Authorized<P>, Denial> {
        let found = match self.inner.grants.store.lookup(&grant_id) {
            GrantLookup::Found(g) => Found::Grant(Some(g)),
            GrantLookup::Absent => Found::Grant(None),
            GrantLookup::Miss => match self.inner.grants.store.fetch(grant_id).await {
                Ok(g) => Found::Grant(g),
                Err(e) => Found::Unavailable(e),
            },
            GrantLookup::Unavailable(e) => Found::Unavailable(e),
        };
        self.staff_decide(staff, grant_id, found, req)
    }

    fn staff_decide(
        &self,
        staff: &Principal,
        grant_id: GrantId,
        found: Found,
        req: &Request<'_>,
    ) -> core::result::Result<Authorized<P>, Denial> {
        let grant = match found {
            Found::Grant(g) => g,
            Found::Unavailable(e) => {
                // Fail closed; recorded where the target says (the grant,
                // and so its tenant, is unknown).
                let denial = Denial::new(DenyReason::Internal, format!("grant `{grant_id}`: {e}"));
                let scope = req
                    .target
                    .unwrap_or(Scope::tenant(crate::trail::UNATTRIBUTED));
                let d = Decision::denied(staff, None, Some(NO_GRANT), scope, &denial);
                let _ = self.inner.trail.record(&d, req);
                return Err(denial);
            }
        };
        let scope = req.target.or(grant.as_ref().map(|g| g.scope));
        let refusal = match (&grant, scope) {
            (None, _) | (_, None) => Some(format!("no live break-glass grant `{grant_id}`")),
            (Some(g), _) if g.staff != *staff => Some(format!(
                "grant `{grant_id}` belongs to `{}`, not `{staff}`",
                g.staff
            )),
            (Some(g), _) if req.now < g.granted_at => {
                Some(format!("grant `{grant_id}` starts at {}", g.granted_at))
            }
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
        // Linked, so the handler's outcome records point back to it.
        let link = match self
            .inner
            .trail
            .record_linked(&Decision::allowed(staff, None, Some(reason), scope), req)
        {
            Ok(link) => link,
            Err(e) => {
                return Err(Denial::new(
                    DenyReason::Internal,
                    format!("allowed, but the audit record failed: {e}"),
                ));
            }
        };
        Ok(Authorized {
            principal: staff.clone(),
            key: None,
            scope,
            envelope: self.inner.envelope.for_scope(scope),
            rate: None,
            staff_reason: Some(reason.to_owned()),
            link: Some(link),
            verified: None,
            grant,
        })
    }
}
