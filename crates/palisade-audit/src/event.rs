//! Audit events: who did what to which resource in which tenant scope, with
//! what outcome. Field names follow OCSF where they fit (`docs/audit-format.md`).

use crate::error::{AuditError, Result};
use crate::redact::Commitment;
use crate::validate::{
    check_action, check_actor, check_name, check_request_id, check_text, check_time,
};
use palisade_tenancy::{Principal, Scope, Timestamp};
use std::collections::BTreeMap;
use std::net::IpAddr;
use uuid::Uuid;

/// Longest action name, in bytes.
pub const MAX_ACTION_LEN: usize = 64;
/// Longest resource id, reason, user agent or string detail, in bytes.
pub const MAX_TEXT_LEN: usize = 256;
/// Longest outcome or staff-access reason, in bytes.
pub const MAX_REASON_LEN: usize = 512;
/// Most details an event may carry.
pub const MAX_DETAILS: usize = 32;

/// Who acted: a principal, and for staff the reason for the access.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Actor {
    principal: Principal,
    reason: Option<String>,
}

impl Actor {
    /// An actor without a stated reason (users, API keys, services).
    ///
    /// # Errors
    /// [`AuditError::StaffReasonRequired`] for a `staff:` principal: use
    /// [`Actor::with_reason`].
    pub fn new(principal: Principal) -> Result<Self> {
        check_actor(&principal, None)?;
        Ok(Self {
            principal,
            reason: None,
        })
    }

    /// An actor with the reason for the access (mandatory for staff, allowed
    /// for everyone), e.g. `support ticket 4711`.
    ///
    /// # Errors
    /// [`AuditError::StaffReasonRequired`] when a staff reason is empty;
    /// [`AuditError::Field`] when the reason is longer than 512 bytes or holds
    /// control characters.
    pub fn with_reason(principal: Principal, reason: &str) -> Result<Self> {
        check_actor(&principal, Some(reason))?;
        Ok(Self {
            principal,
            reason: Some(reason.to_owned()),
        })
    }

    pub(crate) fn from_parts(principal: Principal, reason: Option<&str>) -> Result<Self> {
        match reason {
            None => Self::new(principal),
            Some(r) => Self::with_reason(principal, r),
        }
    }

    /// Replace the reason (redaction; the caller keeps it within the limits).
    pub(crate) fn set_reason(&mut self, reason: String) {
        self.reason = Some(reason);
    }

    /// The principal.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The stated reason, if any.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// The outcome of the audited action.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Outcome {
    /// Authorized and carried out (OCSF status `Success`).
    Allowed,
    /// Refused by authorization (OCSF status `Failure`, CADF `deny`).
    Denied,
    /// Authorized but failed while carried out.
    Failed,
}

impl Outcome {
    /// The text form used in exports: `allowed`, `denied`, `failed`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::Allowed => 0,
            Self::Denied => 1,
            Self::Failed => 2,
        }
    }

    pub(crate) const fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Self::Allowed),
            1 => Some(Self::Denied),
            2 => Some(Self::Failed),
            _ => None,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Allowed, Self::Denied, Self::Failed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// The resource acted on: a type (`invoice`) and an id (`inv_42`).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Resource {
    kind: String,
    id: String,
}

impl Resource {
    /// A resource of type `kind` (1–64 bytes of `a-z 0-9 _ . -`) with `id`
    /// (1–256 bytes, no control characters).
    ///
    /// # Errors
    /// [`AuditError::Field`] naming the field that is invalid.
    pub fn new(kind: &str, id: &str) -> Result<Self> {
        check_name("resource.type", kind)?;
        check_text("resource.uid", id, MAX_TEXT_LEN, true)?;
        Ok(Self {
            kind: kind.to_owned(),
            id: id.to_owned(),
        })
    }

    /// Replace the id (redaction; the caller keeps it within the limits).
    pub(crate) fn set_id(&mut self, id: String) {
        self.id = id;
    }

    /// The resource type.
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The resource id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Facts about the request that led to the event.
#[derive(Clone, PartialEq, Eq, Debug, Default, Hash)]
pub struct RequestFacts {
    ip: Option<IpAddr>,
    user_agent: Option<String>,
    request_id: Option<String>,
}

impl RequestFacts {
    /// No request facts.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the client IP address.
    #[must_use]
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Set the user agent. Untrusted text, so it is cleaned rather than
    /// refused: control characters become `?` and it is cut to 256 bytes at
    /// a character boundary.
    #[must_use]
    pub fn user_agent(mut self, ua: &str) -> Self {
        let mut s = String::with_capacity(ua.len().min(MAX_TEXT_LEN));
        for c in ua.chars() {
            let c = if c.is_control() { '?' } else { c };
            if s.len() + c.len_utf8() > MAX_TEXT_LEN {
                break;
            }
            s.push(c);
        }
        self.user_agent = Some(s);
        self
    }

    /// Set the request id (1–128 bytes of `A-Z a-z 0-9 . _ : -`).
    ///
    /// # Errors
    /// [`AuditError::Field`] when the id is empty, too long or has another character.
    pub fn request_id(mut self, id: &str) -> Result<Self> {
        check_request_id(id)?;
        self.request_id = Some(id.to_owned());
        Ok(self)
    }

    pub(crate) fn from_parts(
        ip: Option<IpAddr>,
        ua: Option<&str>,
        rid: Option<&str>,
    ) -> Result<Self> {
        let mut r = Self {
            ip,
            ..Self::default()
        };
        if let Some(ua) = ua {
            check_text("request.user_agent", ua, MAX_TEXT_LEN, false)?;
            r.user_agent = Some(ua.to_owned());
        }
        match rid {
            Some(id) => r.request_id(id),
            None => Ok(r),
        }
    }

    /// Replace the user agent (redaction; the caller keeps it within the limits).
    pub(crate) fn set_user_agent(&mut self, ua: String) {
        self.user_agent = Some(ua);
    }

    /// The client IP address.
    #[must_use]
    pub fn ip_addr(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The user agent.
    #[must_use]
    pub fn user_agent_str(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The request id.
    #[must_use]
    pub fn request_id_str(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

/// A value in an event's small typed details map.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub enum DetailValue {
    /// Short text (at most 256 bytes, no control characters).
    Str(String),
    /// A signed integer.
    Int(i64),
    /// A flag.
    Bool(bool),
    /// A salted commitment to a sensitive value that can later be erased
    /// (see [`Commitment`]).
    Commitment(Commitment),
}

/// One audit event. Build it with [`AuditEvent::new`] and the `with_*`
/// methods; every constructor validates, so an `AuditEvent` always has a
/// canonical encoding.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AuditEvent {
    pub(crate) id: Uuid,
    pub(crate) time: Timestamp,
    pub(crate) scope: Scope,
    pub(crate) actor: Actor,
    pub(crate) action: String,
    pub(crate) resource: Resource,
    pub(crate) outcome: Outcome,
    pub(crate) reason: String,
    pub(crate) request: RequestFacts,
    pub(crate) details: BTreeMap<String, DetailValue>,
}

impl AuditEvent {
    /// A new event at `time` with a fresh UUIDv7 id whose timestamp is `time`
    /// (the clock is never read here).
    ///
    /// # Errors
    /// [`AuditError::Field`] when `action` is neither a permission
    /// `resource:action` nor a plain name, in the shared grammar of
    /// [`palisade_tenancy::check_action`] (1–64 bytes of `a-z 0-9 _ . -`
    /// with at most one `:`, e.g. `billing:update` or `apikey.issue`);
    /// [`AuditError::Random`] when the system RNG fails.
    pub fn new(
        time: Timestamp,
        scope: Scope,
        actor: Actor,
        action: &str,
        resource: Resource,
        outcome: Outcome,
    ) -> Result<Self> {
        let mut rand = [0u8; 10];
        getrandom::fill(&mut rand).map_err(|e| AuditError::Random(e.to_string()))?;
        let ms = u64::try_from(time.unix_millis()).unwrap_or(0);
        let id = uuid::Builder::from_unix_timestamp_millis(ms, &rand).into_uuid();
        Self::with_id(id, time, scope, actor, action, resource, outcome)
    }

    /// As [`AuditEvent::new`] with a given id (e.g. replaying stored events).
    ///
    /// # Errors
    /// [`AuditError::Field`] for an invalid `action`, or a `time` outside
    /// the years 0000–9999 (which RFC 3339 cannot write).
    pub fn with_id(
        id: Uuid,
        time: Timestamp,
        scope: Scope,
        actor: Actor,
        action: &str,
        resource: Resource,
        outcome: Outcome,
    ) -> Result<Self> {
        check_action(action)?;
        check_time(time)?;
        Ok(Self {
            id,
            time,
            scope,
            actor,
            action: action.to_owned(),
            resource,
            outcome,
            reason: String::new(),
            request: RequestFacts::default(),
            details: BTreeMap::new(),
        })
    }

    /// Set why the outcome is what it is (e.g. the deny rule that matched).
    ///
    /// # Errors
    /// [`AuditError::Field`] when longer than 512 bytes or holding control characters.
    pub fn with_reason(mut self, reason: &str) -> Result<Self> {
        check_text("status_detail", reason, MAX_REASON_LEN, false)?;
        reason.clone_into(&mut self.reason);
        Ok(self)
    }

    /// Set the request facts.
    #[must_use]
    pub fn with_request(mut self, request: RequestFacts) -> Self {
        self.request = request;
        self
    }

    /// Add (or replace) a detail.
    ///
    /// Keys are 1–64 bytes of `a-z 0-9 _ . -`; string values at most 256
    /// bytes without control characters, so no prompt, completion or request
    /// body fits in an event by construction. Secret-looking keys are removed
    /// or masked later by the log's [`crate::Redactor`].
    ///
    /// # Errors
    /// [`AuditError::Field`] for an invalid key or value, or a 33rd detail.
    pub fn with_detail(mut self, key: &str, value: DetailValue) -> Result<Self> {
        check_name("details key", key)?;
        if let DetailValue::Str(s) = &value {
            check_text("details value", s, MAX_TEXT_LEN, false)?;
        }
        if self.details.len() >= MAX_DETAILS && !self.details.contains_key(key) {
            return Err(AuditError::Field {
                field: "details",
                reason: "at most 32 details per event",
            });
        }
        self.details.insert(key.to_owned(), value);
        Ok(self)
    }

    /// The event id (UUIDv7).
    #[must_use]
    pub fn id(&self) -> Uuid {
        self.id
    }
    /// When the event happened.
    #[must_use]
    pub fn time(&self) -> Timestamp {
        self.time
    }
    /// The tenant scope the event belongs to.
    #[must_use]
    pub fn scope(&self) -> Scope {
        self.scope
    }
    /// Who acted.
    #[must_use]
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// The action, e.g. `billing.update`.
    #[must_use]
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The resource acted on.
    #[must_use]
    pub fn resource(&self) -> &Resource {
        &self.resource
    }
    /// The outcome.
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
    /// Why the outcome is what it is (may be empty).
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// Request facts.
    #[must_use]
    pub fn request(&self) -> &RequestFacts {
        &self.request
    }
    /// The details map, sorted by key.
    #[must_use]
    pub fn details(&self) -> &BTreeMap<String, DetailValue> {
        &self.details
    }
    /// Mutable access to the details, for [`crate::Redactor`]s.
    pub(crate) fn details_mut(&mut self) -> &mut BTreeMap<String, DetailValue> {
        &mut self.details
    }
}
