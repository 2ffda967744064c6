//! The audit step: one signed, chained record per decision, allow or deny.
//!
//! Records go to the log of the scope's tenant. Attempts with a key that
//! names no known key go to the *unattributed* log: the nil tenant
//! `ten_00000000000000000000000000` (see [`UNATTRIBUTED`]). Requests with no
//! credential at all are not recorded (scanners would fill the log); a
//! caller that presents something is, unusable credential headers included.
//!
//! Free text that comes from the request (resource id, user agent, and the
//! denial explanation, which may quote request input) is scrubbed of
//! credential-looking tokens before it enters a record ([`scrub`]): the
//! log's redactor only sees the details map.

use std::borrow::Cow;
use std::sync::Arc;

use palisade_audit::{
    Actor, AuditError, AuditEvent, AuditLog, DefaultRedactor, DetailValue, Outcome, Receipt,
    RequestFacts, Resource,
};
use palisade_tenancy::{Principal, PrincipalKind, Scope, TenantId};

use crate::denial::Denial;
use crate::outcome::Link;
use crate::request::Request;
use crate::suppress::Suppressor;

/// The tenant whose log receives attempts that cannot be attributed to a
/// real tenant (an unknown or malformed API key).
pub const UNATTRIBUTED: TenantId = TenantId::from_bytes([0; 16]);

/// The detail naming the API key that acted or was presented. Key ids are
/// public (they are printed in key listings and leak reports), so the name
/// is one the default redactor keeps (`key` alone is masked).
pub(crate) const KEY_ID_DETAIL: &str = "key_id";

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

/// The audit log (whose keyring verifies its checkpoints) and the windows
/// of refusals counted rather than recorded one by one.
pub(crate) struct Trail {
    pub(crate) log: AuditLog,
    pub(crate) suppress: Suppressor,
    /// Key-store-outage refusals, recorded once per window per log.
    pub(crate) outages: crate::outage::OutageWindows,
}

/// `billing:write` → `billing.write` (audit action names have no `:`).
pub(crate) fn action_name(permission: &str) -> String {
    permission.replace(':', ".")
}

/// `text` with every credential replaced by `[redacted]` (palisade-audit's
/// [`DefaultRedactor::mask_credentials`]: a Palisade key keeps its public
/// display form, so the key id stays traceable). The log applies its own
/// redactor to these fields too; the facade masks *before* clipping a text
/// to its length limit, so a key cut in half by the clip cannot slip past
/// the log's detection. Borrows when there is nothing to mask.
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    DefaultRedactor::mask_credentials(text)
}

pub(crate) fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

fn facts(req: &Request<'_>) -> RequestFacts {
    let mut f = RequestFacts::new();
    if let Some(ip) = req.facts.ip {
        f = f.ip(ip);
    }
    if let Some(ua) = req.facts.user_agent {
        f = f.user_agent(&scrub(ua));
    }
    if let Some(id) = req.facts.request_id {
        // An unusable request id is dropped rather than failing the record.
        f = f.clone().request_id(id).unwrap_or(f);
    }
    f
}

fn resource(req: &Request<'_>) -> Result<Resource, AuditError> {
    // Masked before clipping, so a key cut by the limit cannot slip through.
    let id = scrub(req.resource_id);
    Resource::new(req.resource_kind, clip(&id, 256))
        .or_else(|_| Resource::new(req.resource_kind, "-"))
}

/// The actor of a record: staff always with a reason (the audit crate
/// refuses a staff actor without one, which once dropped such records).
pub(crate) fn actor(
    principal: &Principal,
    staff_reason: Option<&str>,
) -> Result<Actor, AuditError> {
    match staff_reason {
        Some(r) => Actor::with_reason(principal.clone(), r),
        None if principal.kind() == PrincipalKind::Staff => {
            Actor::with_reason(principal.clone(), crate::breakglass::NO_GRANT)
        }
        None => Actor::new(principal.clone()),
    }
}

/// The `status_detail` of a denial: its code and scrubbed explanation.
pub(crate) fn denial_reason(denial: &Denial) -> String {
    let text = format!("{}: {}", denial.reason().code(), denial.explain());
    clip(&scrub(&text), 512).to_owned()
}

impl Trail {
    /// A trail over `log`, summarising over-budget refusals per window of
    /// `window_ms`.
    pub(crate) fn new(log: AuditLog, window_ms: i64) -> Self {
        Self {
            log,
            suppress: Suppressor::new(window_ms),
            outages: crate::outage::OutageWindows::new(window_ms),
        }
    }

    /// The record of `d`, not yet appended.
    pub(crate) fn event(
        &self,
        d: &Decision<'_>,
        req: &Request<'_>,
    ) -> Result<AuditEvent, AuditError> {
        let outcome = if d.denial.is_some() {
            Outcome::Denied
        } else {
            Outcome::Allowed
        };
        let mut ev = AuditEvent::new(
            req.now,
            d.scope,
            actor(d.principal, d.staff_reason)?,
            &action_name(req.permission),
            resource(req)?,
            outcome,
        )?
        .with_request(facts(req));
        if let Some(denial) = d.denial {
            ev = ev.with_reason(&denial_reason(denial))?.with_detail(
                "decision",
                DetailValue::Str(denial.reason().code().to_owned()),
            )?;
        }
        if let Some(k) = d.key {
            ev = ev.with_detail(KEY_ID_DETAIL, DetailValue::Str(k.id().to_owned()))?;
        }
        for (name, value) in d.details {
            ev = ev.with_detail(name, value.clone())?;
        }
        Ok(ev)
    }

    /// Append the record of `d`.
    pub(crate) fn record(&self, d: &Decision<'_>, req: &Request<'_>) -> Result<(), AuditError> {
        self.log.append(self.event(d, req)?).map(|_| ())
    }

    /// Append the record of `d` and return the link later outcome records
    /// of the same request point back to.
    pub(crate) fn record_linked(
        self: &Arc<Self>,
        d: &Decision<'_>,
        req: &Request<'_>,
    ) -> Result<Arc<Link>, AuditError> {
        let ev = self.event(d, req)?;
        // Built before the append consumes the event; the index is known
        // only after it (a failed append drops the link).
        let mut link = Link::new(Arc::clone(self), &ev, 0);
        let Receipt { index, .. } = self.log.append(ev)?;
        link.set_index(index);
        Ok(Arc::new(link))
    }

    /// Record a refused credential (best effort: the request is refused
    /// anyway). `claimed` is the key it names when that key exists, `scope`
    /// that key's scope; otherwise the unattributed log receives it.
    pub(crate) fn record_unauthenticated(
        &self,
        claimed: Option<&Principal>,
        scope: Option<Scope>,
        req: &Request<'_>,
        denial: &Denial,
        details: &[(&str, DetailValue)],
    ) {
        let fallback;
        let principal = match claimed.filter(|p| p.kind() == PrincipalKind::ApiKey) {
            Some(p) => p,
            None => match Principal::service("unidentified") {
                Ok(p) => {
                    fallback = p;
                    &fallback
                }
                Err(_) => return,
            },
        };
        let key = claimed.filter(|p| p.kind() == PrincipalKind::ApiKey);
        let scope = scope.unwrap_or(Scope::tenant(UNATTRIBUTED));
        let d = Decision::denied(principal, key, None, scope, denial).with_details(details);
        // Ignored on purpose: the caller is refused whether or not this lands.
        let _ = self.record(&d, req);
    }
}
