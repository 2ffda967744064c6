//! Refused credentials: attribution, the refused-credential budget, and the
//! records that keep every refusal visible (in full, or counted in a
//! summary once the client network is over budget).

use palisade_apikey::{KeyId, KeyStore, Rejection, Verified};
use palisade_audit::DetailValue;
use palisade_envelope::KeyProvider;
use palisade_tenancy::{Principal, Scope, Timestamp};

use crate::denial::{Denial, DenyReason};
use crate::ratelimit_backend::RateRefusal;
use crate::request::{Request, UnusableCredential};
use crate::service::Palisade;
use crate::suppress::{Note, Slot, Summary};
use crate::trail::{Decision, UNATTRIBUTED};

/// The key a refused credential names, when that key exists.
struct Claim {
    id: KeyId,
    principal: Principal,
    scope: Scope,
    owner: Option<Principal>,
}

impl<S: KeyStore, P: KeyProvider> Palisade<S, P> {
    /// The existing key `text` names (by its public key id), if any. Only
    /// the store's memory is consulted (a refusal never costs a backend
    /// round trip; `verify_async` has already fetched a missing entry).
    fn claim(&self, text: &str) -> Option<Claim> {
        let id = *self.inner.keys.format().parse(text).ok()?.key_id();
        let entry = self.inner.keys.store().lookup(&id).found()?;
        Some(Claim {
            id,
            principal: entry.principal().clone(),
            scope: entry.record().scope,
            owner: entry.record().owner.clone(),
        })
    }

    /// Refuse a key that did not verify.
    pub(crate) async fn refuse_key(
        &self,
        text: &str,
        rejection: Rejection,
        req: &Request<'_>,
    ) -> Denial {
        let reason = match rejection {
            Rejection::Revoked
            | Rejection::NotYetValid
            | Rejection::Expired
            | Rejection::GraceEnded
            | Rejection::UsesExhausted => DenyReason::KeyInactive,
            Rejection::IpNotAllowed => DenyReason::AddressNotAllowed,
            // The key store could not answer: fail closed, never "no such key".
            Rejection::StoreUnavailable { .. } => DenyReason::Internal,
            Rejection::StaffOwned => DenyReason::BreakGlass,
            _ => DenyReason::InvalidKey,
        };
        // Attribute the attempt to the key id it claims and that key's
        // tenant when the key exists; otherwise to the unattributed log.
        let claim = self.claim(text);
        if let (Rejection::StaffOwned, Some(c)) = (&rejection, &claim) {
            let denial = Denial::new(
                reason,
                format!(
                    "API key `{}` is owned by a staff principal: staff must use a break-glass grant",
                    c.id
                ),
            );
            return self.refuse_staff_owned(c, req, denial);
        }
        if let Rejection::StoreUnavailable { .. } = rejection {
            // Not the client's fault: no budget spent. Recorded once per
            // window per receiving log (an outage under load must neither
            // flood the log nor go unseen); the recorded refusal says how
            // many were counted, not recorded, since the previous one.
            let denial = Denial::new(reason, format!("API key refused: {rejection}"));
            let scope = claim.as_ref().map(|c| c.scope);
            let actor = claim.as_ref().map(|c| &c.principal);
            let log = scope.map(|s| s.tenant_id());
            if let Some(before) = self.inner.trail.outages.admit(log, req.now.unix_millis()) {
                let suppressed = i64::try_from(before).unwrap_or(i64::MAX);
                self.inner.trail.record_unauthenticated(
                    actor,
                    scope,
                    req,
                    &denial,
                    &[("suppressed_before", DetailValue::Int(suppressed))],
                );
            }
            return denial;
        }
        let detail = match (&claim, self.inner.keys.format().parse(text)) {
            (Some(c), _) => format!("API key `{}` refused: {rejection}", c.id),
            (None, Ok(p)) => format!("API key `{}` refused: {rejection}", p.key_id()),
            (None, Err(_)) => format!("API key refused: {rejection}"),
        };
        self.refuse_credential(claim.as_ref(), req, Denial::new(reason, detail))
            .await
    }

    /// Refuse an unusable credential header (counted and recorded like a
    /// refused key).
    pub(crate) async fn refuse_unusable(
        &self,
        problem: UnusableCredential,
        claimed: Option<&str>,
        req: &Request<'_>,
    ) -> Denial {
        let claim = claimed.and_then(|t| self.claim(t));
        let detail = match &claim {
            Some(c) => format!(
                "unusable credential header ({}), naming API key `{}`",
                problem.code(),
                c.id
            ),
            None => format!("unusable credential header ({})", problem.code()),
        };
        self.refuse_credential(
            claim.as_ref(),
            req,
            Denial::new(DenyReason::InvalidKey, detail),
        )
        .await
    }

    /// A key owned by a staff principal, refused by verification: recorded
    /// (actor: the staff owner) in the key's tenant's log and, for a
    /// cross-tenant probe, in the target's log, whatever the budget says.
    fn refuse_staff_owned(&self, c: &Claim, req: &Request<'_>, denial: Denial) -> Denial {
        let actor = c.owner.as_ref().unwrap_or(&c.principal);
        let mut scopes = vec![c.scope];
        if let Some(t) = req.target.filter(|t| !c.scope.contains(t)) {
            scopes.push(t);
        }
        for scope in scopes {
            let d = Decision::denied(actor, Some(&c.principal), None, scope, &denial);
            // Best effort: the request is refused either way.
            let _ = self.inner.trail.record(&d, req);
        }
        denial
    }

    /// A verified key owned by a `staff:` principal: staff act only under
    /// break-glass grants, so it is refused and recorded in the key's
    /// tenant's log (and in the target's, for a cross-tenant probe).
    pub(crate) fn refuse_staff_key(&self, v: &Verified, req: &Request<'_>) -> Denial {
        let staff = v.acting_principal();
        let denial = Denial::new(
            DenyReason::BreakGlass,
            format!(
                "API key `{}` is owned by `{staff}`: staff must use a break-glass grant",
                v.key_id()
            ),
        );
        let mut scopes = vec![*v.scope()];
        if let Some(t) = req.target.filter(|t| !v.scope().contains(t)) {
            scopes.push(t);
        }
        let mut failed = None;
        for scope in scopes {
            let d = Decision::denied(staff, Some(v.key_principal()), None, scope, &denial);
            if let Err(e) = self.inner.trail.record(&d, req) {
                failed = Some(e);
            }
        }
        match failed {
            None => denial,
            Some(e) => denial.with_extra_detail(&format!(" (and the audit record failed: {e})")),
        }
    }

    /// Spend one unit of the client's refused-credential budget and record
    /// the refusal: in full while within budget; past it, the first
    /// refusal per (address block, receiving log, real key) and window in
    /// full and the rest counted into one summary record per window. The
    /// budget's own per-block windows are not written: the facade's windows
    /// (suppress.rs) also split by receiving log, so that a refusal naming
    /// a real key reaches its tenant's log, and counting both would
    /// report the same refusals twice.
    async fn refuse_credential(
        &self,
        claim: Option<&Claim>,
        req: &Request<'_>,
        denial: Denial,
    ) -> Denial {
        let trail = &self.inner.trail;
        let scope = claim.map(|c| c.scope);
        let actor = claim.map(|c| &c.principal);
        // Await point: a remote budget. A backend that cannot answer leaves
        // the refusal audited in full (it is refused anyway).
        let check = match req.facts.ip {
            None => None,
            Some(ip) => match self.inner.limiter.try_check_failure(ip, req.now) {
                Err(RateRefusal::WouldBlock) => self.inner.limiter.check_failure(ip, req.now).await,
                other => other,
            }
            .ok(),
        };
        let Some((block, limited)) =
            check.and_then(|c| c.verdict.limited().cloned().map(|l| (c.block, l)))
        else {
            trail.record_unauthenticated(actor, scope, req, &denial, &[]);
            return denial;
        };
        let slot = Slot {
            net: Some(block),
            tenant: scope.map_or(UNATTRIBUTED, |s| s.tenant_id()),
            key: claim.map(|c| c.id),
        };
        let (note, due) = trail.suppress.note(slot, req.now);
        self.record_summaries(&due);
        let audited = match note {
            Note::Record => {
                let details = [
                    ("budget", DetailValue::Str("exceeded".to_owned())),
                    ("client_net", DetailValue::Str(block.to_string())),
                ];
                trail.record_unauthenticated(actor, scope, req, &denial, &details);
                format!(
                    "recorded; further refusals from {block} to this log are suppressed \
                     and counted in one summary record per window"
                )
            }
            Note::Counted => {
                "not audited one by one: counted in the window's summary record".to_owned()
            }
        };
        let extra = format!(" (after: {}; {audited})", denial.explain());
        Denial::rate_limited(limited).with_extra_detail(&extra)
    }

    /// Write one summary record per entry of `due` (best effort).
    pub(crate) fn record_summaries(&self, due: &[Summary]) {
        for s in due {
            let _ = self.record_summary(s);
        }
    }

    fn record_summary(&self, s: &Summary) -> Result<(), palisade_audit::AuditError> {
        let from = s
            .slot
            .net
            .map_or_else(|| "many networks".to_owned(), |n| n.to_string());
        let key = s
            .slot
            .key
            .and_then(|id| Principal::api_key(id.as_str()).ok());
        let service = Principal::service("unidentified").ok();
        let Some(principal) = key.as_ref().or(service.as_ref()) else {
            return Ok(());
        };
        let denial = Denial::new(
            DenyReason::RateLimited(crate::LimitLevel::Address),
            format!(
                "{} refusals from {from} suppressed between {} and {}",
                s.suppressed, s.start, s.end
            ),
        );
        let suppressed = i64::try_from(s.suppressed).unwrap_or(i64::MAX);
        let details = [
            ("suppressed", DetailValue::Int(suppressed)),
            ("client_net", DetailValue::Str(from.clone())),
            ("window_start", DetailValue::Str(s.start.to_string())),
        ];
        let req = Request::new(
            crate::Credential::ApiKey(""),
            "credential:refusals_suppressed",
            "client_net",
            &from,
            s.end,
        );
        let d = Decision::denied(
            principal,
            key.as_ref(),
            None,
            Scope::tenant(s.slot.tenant),
            &denial,
        )
        .with_details(&details);
        self.inner.trail.record(&d, &req)
    }

    /// Write the summary records of every window that ended by `now`.
    /// Exports do it for their tenant ([`Palisade::export_audit`]); call
    /// it (or [`Palisade::audit_tick`]) from a timer so a flood that stops
    /// is still summarised promptly.
    pub fn flush_refusal_summaries(&self, now: Timestamp) {
        // The budget's own windows are counted here too (see
        // `refuse_credential`); draining them keeps its table small.
        let _ = self.inner.limiter.drain_suppressions(now);
        let due = self.inner.trail.suppress.flush(now, None, false);
        self.record_summaries(&due);
    }
}
