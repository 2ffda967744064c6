//! Handler outcomes: what the handler did, linked to the decision record.
//!
//! The decision record is appended (and accepted by the log) *before* an
//! allow is returned, so no handler runs on an unaudited decision. Audit
//! records are immutable (hash-chained, then signed into checkpoints), so
//! an outcome cannot be written into the decision record afterwards;
//! instead an *outcome record* is appended to the same log that names the
//! decision by id and index (`decision_id`, `decision_index`). An auditor
//! reads the pair: an `allowed` decision followed by a `failed` or
//! `denied` outcome of the same `decision_id`. The decision alone still
//! proves what was authorized even if the process dies before the outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use palisade_audit::{Actor, AuditError, AuditEvent, DetailValue, Outcome, RequestFacts, Resource};
use palisade_envelope::{EncryptionContext, EnvelopeError, KeyProvider};
use palisade_tenancy::{Scope, Scoped, TenancyError, Timestamp};
use zeroize::Zeroizing;

use crate::authorized::Authorized;
use crate::error::{PalisadeError, Result};
use crate::trail::{KEY_ID_DETAIL, Trail, clip, scrub};

/// The decision record of one allowed request, and the trail to append its
/// outcome records to. Shared by every clone of the request's
/// [`Authorized`]. It keeps only what an outcome record repeats (not the
/// details map or the record's encoding), so an allowed request pays a few
/// small allocations for it, not a copy of the whole record.
pub(crate) struct Link {
    trail: Arc<Trail>,
    /// The decision record's UUID, hyphenated lowercase ASCII.
    decision_id: [u8; 36],
    index: u64,
    time: Timestamp,
    scope: Scope,
    actor: Actor,
    action: Box<str>,
    resource: Resource,
    request: RequestFacts,
    key_id: Option<DetailValue>,
    /// A `failed` or `denied` outcome has been recorded.
    settled: AtomicBool,
}

impl core::fmt::Debug for Link {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Link")
            .field("decision", &self.decision_id())
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

fn audit(e: AuditError) -> PalisadeError {
    PalisadeError::Component {
        component: "audit",
        message: e.to_string(),
    }
}

impl Link {
    /// The link to `decision`, appended at `index` of its tenant's log.
    pub(crate) fn new(trail: Arc<Trail>, decision: &AuditEvent, index: u64) -> Self {
        let mut decision_id = [b'0'; 36];
        decision.id().hyphenated().encode_lower(&mut decision_id);
        Self {
            trail,
            decision_id,
            index,
            time: decision.time(),
            scope: decision.scope(),
            actor: decision.actor().clone(),
            action: decision.action().into(),
            resource: decision.resource().clone(),
            request: decision.request().clone(),
            key_id: decision.details().get(KEY_ID_DETAIL).cloned(),
            settled: AtomicBool::new(false),
        }
    }

    pub(crate) fn set_index(&mut self, index: u64) {
        self.index = index;
    }

    /// The decision record's id (hyphenated lowercase UUID).
    pub(crate) fn decision_id(&self) -> &str {
        // Always ASCII (written by `encode_lower`).
        core::str::from_utf8(&self.decision_id).unwrap_or_default()
    }

    /// The decision record's request facts (key administration copies them).
    pub(crate) fn request(&self) -> &RequestFacts {
        &self.request
    }

    /// True once a `failed` or `denied` outcome was recorded (read by the
    /// axum layer only).
    #[cfg(feature = "axum")]
    pub(crate) fn settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }

    /// A record like the decision's (same time, actor, action, resource,
    /// request facts, key id) in `scope`, with `outcome`, `reason` and
    /// `details`.
    fn record(
        &self,
        scope: Scope,
        outcome: Outcome,
        reason: Option<&str>,
        details: &mut dyn Iterator<Item = (&str, DetailValue)>,
    ) -> core::result::Result<(), AuditError> {
        let mut ev = AuditEvent::new(
            self.time,
            scope,
            self.actor.clone(),
            &self.action,
            self.resource.clone(),
            outcome,
        )?
        .with_request(self.request.clone())
        .with_detail(
            "decision_id",
            DetailValue::Str(self.decision_id().to_owned()),
        )?;
        if scope == self.scope {
            let index = i64::try_from(self.index).unwrap_or(i64::MAX);
            ev = ev.with_detail("decision_index", DetailValue::Int(index))?;
        }
        if let Some(key) = &self.key_id {
            ev = ev.with_detail(KEY_ID_DETAIL, key.clone())?;
        }
        if let Some(r) = reason {
            ev = ev.with_reason(clip(&scrub(r), 512))?;
        }
        // The log's redactor masks secret-looking detail names and values.
        for (name, value) in details {
            ev = ev.with_detail(name, value)?;
        }
        self.trail.log.append(ev)?;
        if outcome != Outcome::Allowed {
            self.settled.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The outcome record of the request (in the decision's log).
    pub(crate) fn outcome(
        &self,
        outcome: Outcome,
        reason: Option<&str>,
        details: &mut dyn Iterator<Item = (&str, DetailValue)>,
    ) -> Result<()> {
        self.record(self.scope, outcome, reason, details)
            .map_err(audit)
    }

    /// A cross-tenant refusal: `denied` in the caller's log, and in the
    /// owner's log (best effort for the owner's: the caller is refused
    /// either way, and the caller's record says whom it probed).
    fn cross_tenant(&self, owner: Scope, accessor: Scope, what: &str) {
        let reason = format!(
            "cross_tenant: {what} owned by `{owner}` refused to `{}` acting in `{accessor}`",
            self.actor.principal()
        );
        let decision = || ("decision", DetailValue::Str("cross_tenant".to_owned()));
        let _ = self.record(
            accessor,
            Outcome::Denied,
            Some(&reason),
            &mut [decision()].into_iter(),
        );
        if owner != accessor {
            let _ = self.record(
                owner,
                Outcome::Denied,
                Some(&reason),
                &mut [
                    decision(),
                    (
                        "caller_tenant",
                        DetailValue::Str(accessor.tenant_id().to_string()),
                    ),
                ]
                .into_iter(),
            );
        }
    }
}

impl<P: KeyProvider> Authorized<P> {
    /// Record what the handler did with this request, as an outcome record
    /// linked to the request's decision record (`decision_id`,
    /// `decision_index`), with the decision's time, actor, action, resource
    /// and request facts. Call it before sending the response. `details`
    /// names follow the audit rules (`a-z 0-9 _ . -`); the log's redactor
    /// runs on them as on every record (secret-looking names and
    /// credential-looking values are masked). With the axum layer, a 4xx/5xx response is recorded as
    /// `failed` for you unless the handler recorded `failed`/`denied`.
    ///
    /// # Errors
    /// [`PalisadeError::Component`] when a detail is invalid, the log
    /// refuses the record, or this `Authorized` has no decision record
    /// (it was not made by [`Palisade::authorize`](crate::Palisade::authorize)).
    pub fn record_outcome<'d>(
        &self,
        outcome: Outcome,
        details: impl IntoIterator<Item = (&'d str, DetailValue)>,
    ) -> Result<()> {
        let link = self.link.as_ref().ok_or_else(|| PalisadeError::Component {
            component: "audit",
            message: "this request has no decision record to link an outcome to".to_owned(),
        })?;
        link.outcome(outcome, None, &mut details.into_iter())
    }

    /// Borrow a scoped value, if this request's scope may see it. A
    /// cross-tenant refusal is recorded (`denied`, `decision=cross_tenant`)
    /// in this request's log and in the owner's.
    ///
    /// # Errors
    /// [`TenancyError::CrossTenant`] when the value belongs elsewhere.
    pub fn open<'v, T>(&self, value: &'v Scoped<T>) -> core::result::Result<&'v T, TenancyError> {
        value.get(&self.scope).inspect_err(|e| {
            if let (TenancyError::CrossTenant { owner, accessor }, Some(link)) = (e, &self.link) {
                link.cross_tenant(*owner, *accessor, "a scoped value");
            }
        })
    }

    /// Open `ciphertext` with this request's envelope handle (as
    /// [`ScopedEnvelope::open`](palisade_envelope::ScopedEnvelope::open)).
    /// A context built for another scope is a cross-tenant attempt: it is
    /// refused and recorded in this request's log and in the context
    /// scope's (the owner's) log.
    ///
    /// # Errors
    /// [`EnvelopeError::ScopeMismatch`] for another scope's context, or as
    /// `ScopedEnvelope::open`.
    pub fn open_sealed(
        &self,
        ctx: &EncryptionContext,
        ciphertext: &[u8],
    ) -> core::result::Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let r = self.envelope.open(ctx, ciphertext);
        if let (Err(EnvelopeError::ScopeMismatch { .. }), Some(link)) = (&r, &self.link) {
            link.cross_tenant(*ctx.scope(), self.scope, "a sealed value");
        }
        r
    }
}
