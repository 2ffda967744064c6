//! The canonical binary encoding of a record (index + event), hashed into
//! the Merkle tree. Specified byte for byte in `docs/audit-format.md` §3.
//!
//! A fixed field order with length-prefixed strings and tagged optionals:
//! self-delimiting, so the encoding is injective, and [`decode_record`]
//! accepts exactly the outputs of [`encode_record`] (sorted, unique detail
//! keys; no trailing bytes), so every record has one byte form.

use crate::error::{AuditError, Result};
use crate::event::{Actor, AuditEvent, DetailValue, Outcome, RequestFacts, Resource};
use crate::redact::Commitment;
use crate::validate::check_name;
use palisade_tenancy::{Principal, Scope, Timestamp};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Version byte that opens every canonical record.
pub const RECORD_VERSION: u8 = 0x01;

const TAG_STR: u8 = 0x01;
const TAG_INT: u8 = 0x02;
const TAG_BOOL: u8 = 0x03;
const TAG_COMMIT: u8 = 0x04;

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Every string field is bounded far below 65 535 bytes by validation.
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes().get(..usize::from(len)).unwrap_or_default());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// A detail value, borrowed.
#[derive(Clone, Copy)]
pub(crate) enum DetailRef<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Commitment([u8; 32]),
}

impl<'a> From<&'a DetailValue> for DetailRef<'a> {
    fn from(v: &'a DetailValue) -> Self {
        match v {
            DetailValue::Str(s) => Self::Str(s),
            DetailValue::Int(i) => Self::Int(*i),
            DetailValue::Bool(b) => Self::Bool(*b),
            DetailValue::Commitment(c) => Self::Commitment(*c.as_bytes()),
        }
    }
}

/// Every field of a record, borrowed and already validated: what both an
/// [`AuditEvent`] and a parsed export line are encoded from, so the two can
/// never disagree.
pub(crate) struct Fields<'a, D> {
    pub(crate) id: &'a uuid::Uuid,
    pub(crate) time: Timestamp,
    pub(crate) scope: Scope,
    pub(crate) principal: &'a Principal,
    pub(crate) actor_reason: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) resource_kind: &'a str,
    pub(crate) resource_id: &'a str,
    pub(crate) outcome: Outcome,
    pub(crate) reason: &'a str,
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) request_id: Option<&'a str>,
    /// Sorted by key, keys unique.
    pub(crate) details: D,
}

/// Encode record `index` holding `event` into `out` (cleared first).
pub fn encode_record(index: u64, event: &AuditEvent, out: &mut Vec<u8>) {
    let f = Fields {
        id: &event.id,
        time: event.time,
        scope: event.scope,
        principal: event.actor.principal(),
        actor_reason: event.actor.reason(),
        action: &event.action,
        resource_kind: event.resource.kind(),
        resource_id: event.resource.id(),
        outcome: event.outcome,
        reason: &event.reason,
        ip: event.request.ip_addr(),
        user_agent: event.request.user_agent_str(),
        request_id: event.request.request_id_str(),
        details: event
            .details
            .iter()
            .map(|(k, v)| (k.as_str(), DetailRef::from(v))),
    };
    encode_fields(index, f, out);
}

pub(crate) fn encode_fields<'a, D>(index: u64, f: Fields<'a, D>, out: &mut Vec<u8>)
where
    D: ExactSizeIterator<Item = (&'a str, DetailRef<'a>)>,
{
    out.clear();
    out.push(RECORD_VERSION);
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(f.id.as_bytes());
    out.extend_from_slice(&f.time.unix_millis().to_be_bytes());
    let scope = f.scope.to_context_bytes();
    let scope = scope.as_slice();
    out.push(u8::try_from(scope.len()).unwrap_or(0));
    out.extend_from_slice(scope);
    // Principal as its text `kind:id`, written without allocating.
    let (kind, id) = (f.principal.kind().as_str(), f.principal.id());
    let plen = u16::try_from(kind.len() + 1 + id.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&plen.to_be_bytes());
    out.extend_from_slice(kind.as_bytes());
    out.push(b':');
    out.extend_from_slice(id.as_bytes());
    put_opt_str(out, f.actor_reason);
    put_str(out, f.action);
    put_str(out, f.resource_kind);
    put_str(out, f.resource_id);
    out.push(f.outcome.code());
    put_str(out, f.reason);
    match f.ip {
        None => out.push(0),
        Some(IpAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        Some(IpAddr::V6(a)) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
    }
    put_opt_str(out, f.user_agent);
    put_opt_str(out, f.request_id);
    out.push(u8::try_from(f.details.len()).unwrap_or(u8::MAX));
    for (k, v) in f.details {
        put_str(out, k);
        match v {
            DetailRef::Str(s) => {
                out.push(TAG_STR);
                put_str(out, s);
            }
            DetailRef::Int(i) => {
                out.push(TAG_INT);
                out.extend_from_slice(&i.to_be_bytes());
            }
            DetailRef::Bool(b) => {
                out.push(TAG_BOOL);
                out.push(u8::from(b));
            }
            DetailRef::Commitment(c) => {
                out.push(TAG_COMMIT);
                out.extend_from_slice(&c);
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: &'static str) -> AuditError {
        AuditError::Canonical {
            offset: self.pos,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err("length overflows"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err("unexpected end of input"))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        s.try_into()
            .map_err(|_| self.err("unexpected end of input"))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn str(&mut self) -> Result<&'a str> {
        let len = u16::from_be_bytes(self.array()?);
        let bytes = self.take(usize::from(len))?;
        core::str::from_utf8(bytes).map_err(|_| self.err("string is not UTF-8"))
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(self.err("optional tag must be 0x00 or 0x01")),
        }
    }
}

/// Decode canonical record bytes into `(index, event)`.
///
/// # Errors
/// [`AuditError::Canonical`] with the offset of the first byte that is not
/// what [`encode_record`] would write there; field errors when a value fails
/// the same validation as the event constructors.
pub fn decode_record(bytes: &[u8]) -> Result<(u64, AuditEvent)> {
    let mut r = Reader { buf: bytes, pos: 0 };
    if r.u8()? != RECORD_VERSION {
        return Err(AuditError::Canonical {
            offset: 0,
            reason: "unknown record version (expected 0x01)",
        });
    }
    let index = u64::from_be_bytes(r.array()?);
    let id = uuid::Uuid::from_bytes(r.array()?);
    let time = Timestamp::from_unix_millis(i64::from_be_bytes(r.array()?));
    let slen = r.u8()?;
    let scope = Scope::from_context_bytes(r.take(usize::from(slen))?)
        .map_err(|_| r.err("invalid scope bytes"))?;
    let principal: Principal = r.str()?.parse().map_err(|_| r.err("invalid principal"))?;
    let actor = Actor::from_parts(principal, r.opt_str()?)?;
    let action = r.str()?;
    let resource = Resource::new(r.str()?, r.str()?)?;
    let outcome = Outcome::from_code(r.u8()?).ok_or_else(|| r.err("outcome must be 0, 1 or 2"))?;
    let reason = r.str()?;
    let ip = match r.u8()? {
        0 => None,
        4 => Some(IpAddr::V4(Ipv4Addr::from(r.array::<4>()?))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(r.array::<16>()?))),
        _ => return Err(r.err("ip tag must be 0, 4 or 6")),
    };
    let request = RequestFacts::from_parts(ip, r.opt_str()?, r.opt_str()?)?;
    let mut event = AuditEvent::with_id(id, time, scope, actor, action, resource, outcome)?
        .with_reason(reason)?
        .with_request(request);
    let count = r.u8()?;
    let mut prev: Option<&str> = None;
    for _ in 0..count {
        let key = r.str()?;
        check_name("details key", key)?;
        if prev.is_some_and(|p| p >= key) {
            return Err(r.err("detail keys must be strictly increasing"));
        }
        prev = Some(key);
        let value = match r.u8()? {
            TAG_STR => DetailValue::Str(r.str()?.to_owned()),
            TAG_INT => DetailValue::Int(i64::from_be_bytes(r.array()?)),
            TAG_BOOL => match r.u8()? {
                0 => DetailValue::Bool(false),
                1 => DetailValue::Bool(true),
                _ => return Err(r.err("bool must be 0x00 or 0x01")),
            },
            TAG_COMMIT => DetailValue::Commitment(Commitment::from_bytes(r.array()?)),
            _ => return Err(r.err("unknown detail tag")),
        };
        event = event.with_detail(key, value)?;
    }
    if r.pos != bytes.len() {
        return Err(r.err("trailing bytes after the record"));
    }
    Ok((index, event))
}
