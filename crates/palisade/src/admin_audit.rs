//! The audit records of the key lifecycle: issue, rotate, revoke, scope and
//! IP changes, reads, and pepper rehashes, each in the key's tenant log,
//! allowed, denied or failed alike.
//!
//! Detail names are chosen so the default redactor keeps them (`key_id`,
//! never `key`): the key id is public and is what an investigator searches.

use palisade_apikey::{Cidr, KeyId, Verified};
use palisade_audit::{Actor, AuditError, AuditEvent, DetailValue, Outcome, Resource};
use palisade_tenancy::{Principal, Scope, Timestamp};

use crate::admin_check::Authority;
use crate::trail::{Trail, scrub};

/// Longest detail string the audit log takes.
const MAX_DETAIL: usize = 256;
/// Longest reason text the audit log takes.
const MAX_REASON: usize = 512;

/// One key-lifecycle record, built up then appended.
pub(crate) struct KeyEvent {
    action: &'static str,
    scope: Scope,
    resource_id: String,
    outcome: Outcome,
    reason: Option<String>,
    decision: Option<&'static str>,
    details: Vec<(&'static str, DetailValue)>,
}

/// `text` cut to at most `max` bytes on a character boundary, marked with
/// `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut s = text.get(..end).unwrap_or_default().to_owned();
    s.push('…');
    s
}

/// A list as one detail string: `a,b,c` (`-` when empty).
pub(crate) fn list<T: core::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "-".to_owned();
    }
    let joined = items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    clip(&joined, MAX_DETAIL)
}

impl KeyEvent {
    /// A record of `action` (`apikey.revoke`…) on the key `key_id` (or
    /// `-`) in `scope`'s tenant log.
    pub(crate) fn new(action: &'static str, scope: Scope, key_id: Option<&KeyId>) -> Self {
        let resource_id = key_id.map_or_else(|| "-".to_owned(), ToString::to_string);
        let mut ev = Self {
            action,
            scope,
            resource_id,
            outcome: Outcome::Allowed,
            reason: None,
            decision: None,
            details: Vec::new(),
        };
        if let Some(id) = key_id {
            ev = ev.str("key_id", id.as_str());
        }
        ev
    }

    /// Add a text detail (control characters replaced, clipped to what
    /// the log accepts, so a label cannot make the record fail).
    pub(crate) fn str(mut self, name: &'static str, value: &str) -> Self {
        let clean: String = value
            .chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect();
        self.details
            .push((name, DetailValue::Str(clip(&clean, MAX_DETAIL))));
        self
    }

    /// Add a timestamp detail (RFC 3339), or `-` for none.
    pub(crate) fn time(self, name: &'static str, t: Option<Timestamp>) -> Self {
        let text = t.map_or_else(|| "-".to_owned(), |t| t.to_string());
        self.str(name, &text)
    }

    /// Add a list of scopes.
    pub(crate) fn scopes<S: AsRef<str>>(self, name: &'static str, scopes: &[S]) -> Self {
        let v: Vec<&str> = scopes.iter().map(AsRef::as_ref).collect();
        self.str(name, &list(&v))
    }

    /// Add a list of networks.
    pub(crate) fn ips(self, name: &'static str, ips: &[Cidr]) -> Self {
        self.str(name, &list(ips))
    }

    /// Add an integer detail.
    pub(crate) fn int(mut self, name: &'static str, value: u64) -> Self {
        self.details.push((
            name,
            DetailValue::Int(i64::try_from(value).unwrap_or(i64::MAX)),
        ));
        self
    }

    /// Mark it refused (`code` is the [`KeyAdminError::code`](crate::KeyAdminError::code)).
    pub(crate) fn denied(mut self, code: &'static str, why: &str) -> Self {
        self.outcome = Outcome::Denied;
        self.decision = Some(code);
        self.reason = Some(format!("{code}: {why}"));
        self
    }

    /// Mark it authorized but failed while carried out.
    pub(crate) fn failed(mut self, code: &'static str, why: &str) -> Self {
        self.outcome = Outcome::Failed;
        self.decision = Some(code);
        self.reason = Some(format!("{code}: {why}"));
        self
    }

    /// The same record for another log (e.g. the caller's own tenant).
    pub(crate) fn in_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
}

impl Trail {
    /// Append `ev` as acted by `who` at `now`.
    /// `decision` is the request's own decision record, when there is one:
    /// its request facts (address, user agent, request id) are copied and
    /// its id is named (`decision_id`).
    pub(crate) fn record_key_event(
        &self,
        who: &Authority<'_>,
        staff_reason: Option<&str>,
        decision: Option<&crate::outcome::Link>,
        now: Timestamp,
        ev: KeyEvent,
    ) -> Result<(), AuditError> {
        let actor = match staff_reason {
            Some(r) => Actor::with_reason(who.principal.clone(), r)?,
            None => Actor::new(who.principal.clone())?,
        };
        let caller_key = who.key.map(Verified::key_id);
        self.append_key_event(actor, caller_key, decision, now, ev)
    }

    /// Append the record of a rewrite of `key`'s record made while
    /// verifying it: a rehash from pepper `from` to `to`, or (`resealed`)
    /// the seal of a version 1 record.
    pub(crate) fn record_rehash(
        &self,
        key: &Verified,
        from: Option<u32>,
        to: Option<u32>,
        generation: Option<u64>,
        resealed: bool,
        now: Timestamp,
    ) -> Result<(), AuditError> {
        let version = |v: Option<u32>| v.map_or_else(|| "-".into(), |v| v.to_string());
        let mut ev = KeyEvent::new("apikey.rehash", *key.scope(), Some(key.key_id()))
            .str("old_pepper_version", &version(from))
            .str("new_pepper_version", &version(to));
        if resealed {
            ev = ev.str("resealed", "record version 1 sealed as version 2");
        }
        if let Some(g) = generation {
            ev = ev.int("generation", g);
        }
        let actor = Actor::new(key.key_principal().clone())?;
        self.append_key_event(actor, None, None, now, ev)
    }

    fn append_key_event(
        &self,
        actor: Actor,
        caller_key: Option<&KeyId>,
        decision: Option<&crate::outcome::Link>,
        now: Timestamp,
        ev: KeyEvent,
    ) -> Result<(), AuditError> {
        let resource = Resource::new("apikey", &ev.resource_id)?;
        let mut rec = AuditEvent::new(now, ev.scope, actor, ev.action, resource, ev.outcome)?;
        if let Some(d) = decision {
            rec = rec
                .with_request(d.request().clone())
                .with_detail("decision_id", DetailValue::Str(d.decision_id().to_owned()))?;
        }
        if let Some(r) = &ev.reason {
            rec = rec.with_reason(&clip(&scrub(r), MAX_REASON))?;
        }
        if let Some(d) = ev.decision {
            rec = rec.with_detail("decision", DetailValue::Str(d.to_owned()))?;
        }
        if let Some(k) = caller_key {
            rec = rec.with_detail("caller_key_id", DetailValue::Str(k.as_str().to_owned()))?;
        }
        for (name, value) in ev.details {
            rec = rec.with_detail(name, value)?;
        }
        self.log.append(rec).map(|_| ())
    }
}

/// The principal a key acts as: its owner, or the key itself.
pub(crate) fn owner_of(record: &palisade_apikey::KeyRecord) -> Option<Principal> {
    record.owner.clone().or_else(|| record.principal().ok())
}
