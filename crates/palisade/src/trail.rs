//! The audit step: one signed, chained record per decision, allow or deny.
//!
//! Records go to the log of the scope's tenant. Attempts with a key that
//! names no known key go to the *unattributed* log: the nil tenant
//! `ten_00000000000000000000000000` (see [`UNATTRIBUTED`]). Requests with no
//! credential at all are not recorded (scanners would fill the log); a
//! caller that presents something is.

use palisade_audit::{
    Actor, AuditError, AuditEvent, AuditLog, DetailValue, Keyring, Outcome, RequestFacts, Resource,
};
use palisade_tenancy::{Principal, PrincipalKind, Scope, TenantId};

use crate::denial::Denial;
use crate::request::Request;

/// The tenant whose log receives attempts that cannot be attributed to a
/// real tenant (an unknown or malformed API key).
pub const UNATTRIBUTED: TenantId = TenantId::from_bytes([0; 16]);

/// One decision to record.
pub(crate) struct Decision<'a> {
    pub(crate) principal: &'a Principal,
    pub(crate) key: Option<&'a Principal>,
    pub(crate) staff_reason: Option<&'a str>,
    pub(crate) scope: Scope,
    pub(crate) denial: Option<&'a Denial>,
    /// Extra details for the record (e.g. a break-glass grant's terms).
    pub(crate) details: &'a [(&'a str, DetailValue)],
}

impl<'a> Decision<'a> {
    pub(crate) fn allowed(
        principal: &'a Principal,
        key: Option<&'a Principal>,
        staff_reason: Option<&'a str>,
        scope: Scope,
    ) -> Self {
        Self {
            principal,
            key,
            staff_reason,
            scope,
            denial: None,
            details: &[],
        }
    }

    /// The same decision, recorded with `details` as well.
    pub(crate) fn with_details(self, details: &'a [(&'a str, DetailValue)]) -> Self {
        Self { details, ..self }
    }

    pub(crate) fn denied(
        principal: &'a Principal,
        key: Option<&'a Principal>,
        staff_reason: Option<&'a str>,
        scope: Scope,
        denial: &'a Denial,
    ) -> Self {
        Self {
            principal,
            key,
            staff_reason,
            scope,
            denial: Some(denial),
            details: &[],
        }
    }
}

/// The audit log and the keys that verify its checkpoints.
pub(crate) struct Trail {
    pub(crate) log: AuditLog,
    pub(crate) verify_keys: std::sync::RwLock<Keyring>,
}

/// `billing:write` → `billing.write` (audit action names have no `:`).
fn action_name(permission: &str) -> String {
    permission.replace(':', ".")
}

fn facts(req: &Request<'_>) -> RequestFacts {
    let mut f = RequestFacts::new();
    if let Some(ip) = req.facts.ip {
        f = f.ip(ip);
    }
    if let Some(ua) = req.facts.user_agent {
        f = f.user_agent(ua);
    }
    if let Some(id) = req.facts.request_id {
        // An unusable request id is dropped rather than failing the record.
        f = f.clone().request_id(id).unwrap_or(f);
    }
    f
}

fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

fn resource(req: &Request<'_>) -> Result<Resource, AuditError> {
    Resource::new(req.resource_kind, clip(req.resource_id, 256))
        .or_else(|_| Resource::new(req.resource_kind, "-"))
}

impl Trail {
    /// Append the record of `d`.
    pub(crate) fn record(&self, d: &Decision<'_>, req: &Request<'_>) -> Result<(), AuditError> {
        let actor = match d.staff_reason {
            Some(r) => Actor::with_reason(d.principal.clone(), r)?,
            None => Actor::new(d.principal.clone())?,
        };
        let outcome = if d.denial.is_some() {
            Outcome::Denied
        } else {
            Outcome::Allowed
        };
        let mut ev = AuditEvent::new(
            req.now,
            d.scope,
            actor,
            &action_name(req.permission),
            resource(req)?,
            outcome,
        )?
        .with_request(facts(req));
        if let Some(denial) = d.denial {
            ev = ev
                .with_reason(clip(
                    &format!("{}: {}", denial.reason().code(), denial.explain()),
                    512,
                ))?
                .with_detail(
                    "decision",
                    DetailValue::Str(denial.reason().code().to_owned()),
                )?;
        }
        if let Some(k) = d.key.filter(|k| *k != d.principal) {
            ev = ev.with_detail("key", DetailValue::Str(k.id().to_owned()))?;
        }
        for (name, value) in d.details {
            ev = ev.with_detail(name, value.clone())?;
        }
        self.log.append(ev).map(|_| ())
    }

    /// Record a refused credential (best effort: the request is refused anyway).
    pub(crate) fn record_unauthenticated(
        &self,
        claimed: Option<Principal>,
        scope: Option<Scope>,
        req: &Request<'_>,
        denial: &Denial,
    ) {
        let principal = claimed
            .filter(|p| p.kind() == PrincipalKind::ApiKey)
            .or_else(|| Principal::service("unidentified").ok());
        let Some(principal) = principal else { return };
        let scope = scope.unwrap_or(Scope::tenant(UNATTRIBUTED));
        // Ignored on purpose: the caller is refused whether or not this lands.
        let _ = self.record(
            &Decision::denied(&principal, None, None, scope, denial),
            req,
        );
    }
}
