//! The JSON Lines export format (`docs/audit-format.md` §7): one header
//! line, then record and checkpoint lines in log order. Every line is one
//! externally tagged JSON object; unknown fields are rejected, because
//! anything not covered by a hash or signature must not look authoritative.

use crate::checkpoint::Checkpoint;
use crate::error::{AuditError, Result};
use crate::event::{Actor, AuditEvent, DetailValue, Outcome, RequestFacts, Resource};
use crate::keys::{Algorithm, KeyId};
use crate::merkle::Hash;
use crate::redact::Commitment;
use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The `format` value of the header line.
pub const EXPORT_FORMAT: &str = "palisade-audit-export";
/// The `version` value of the header line.
pub const EXPORT_VERSION: u8 = 1;

/// Serializes any `Display` as a JSON string without allocating a `String`.
struct Disp<T>(T);
impl<T: core::fmt::Display> Serialize for Disp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// 32 bytes as lowercase hex.
struct Hex<'a>(&'a [u8]);
impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let mut buf = [0u8; 128];
        let n = self.0.len() * 2;
        let out = buf
            .get_mut(..n)
            .ok_or_else(|| serde::ser::Error::custom("hex value too long"))?;
        hex::encode_to_slice(self.0, out).map_err(serde::ser::Error::custom)?;
        s.serialize_str(core::str::from_utf8(out).map_err(serde::ser::Error::custom)?)
    }
}

#[derive(Serialize)]
struct ActorOut<'a> {
    principal: &'a Principal,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct ResourceOut<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    uid: &'a str,
}

#[derive(Serialize)]
struct RequestOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    src_ip: Option<Disp<IpAddr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum DetailOut<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
    Commitment(Hex<'a>),
}

#[derive(Serialize)]
struct EventOut<'a> {
    uid: Disp<uuid::fmt::Hyphenated>,
    time: Timestamp,
    scope: Scope,
    actor: ActorOut<'a>,
    action: &'a str,
    resource: ResourceOut<'a>,
    status: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    status_detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestOut<'a>>,
    #[serde(skip_serializing_if = "DetailsOut::is_empty")]
    details: DetailsOut<'a>,
}

/// The details map, serialized straight from the event's sorted map.
struct DetailsOut<'a>(&'a BTreeMap<String, DetailValue>);

impl DetailsOut<'_> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for DetailsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            let v = match v {
                DetailValue::Str(s) => DetailOut::Str(s),
                DetailValue::Int(i) => DetailOut::Int(*i),
                DetailValue::Bool(b) => DetailOut::Bool(*b),
                DetailValue::Commitment(c) => DetailOut::Commitment(Hex(c.as_bytes())),
            };
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum LineOut<'a> {
    Header {
        format: &'static str,
        version: u8,
        tenant: TenantId,
    },
    Record {
        index: u64,
        leaf_hash: Hex<'a>,
        event: EventOut<'a>,
    },
    Checkpoint(CheckpointOut<'a>),
}

#[derive(Serialize)]
struct CheckpointOut<'a> {
    tenant: TenantId,
    size: u64,
    root: Hex<'a>,
    time: Timestamp,
    prev: Hex<'a>,
    key_id: &'a str,
    alg: &'static str,
    sig: Hex<'a>,
}

fn finish(line: &LineOut<'_>, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    serde_json::to_writer(&mut *out, line).map_err(|e| AuditError::Serialize(e.to_string()))?;
    out.push(b'\n');
    Ok(())
}

/// Write the header line (with its newline) into `out` (cleared first).
pub(crate) fn write_header_line(tenant: TenantId, out: &mut Vec<u8>) -> Result<()> {
    finish(
        &LineOut::Header {
            format: EXPORT_FORMAT,
            version: EXPORT_VERSION,
            tenant,
        },
        out,
    )
}

/// Write a record line into `out` (cleared first).
pub(crate) fn write_record_line(
    index: u64,
    leaf: &Hash,
    e: &AuditEvent,
    out: &mut Vec<u8>,
) -> Result<()> {
    let r = &e.request;
    let request =
        (r.ip_addr().is_some() || r.user_agent_str().is_some() || r.request_id_str().is_some())
            .then(|| RequestOut {
                src_ip: r.ip_addr().map(Disp),
                user_agent: r.user_agent_str(),
                uid: r.request_id_str(),
            });
    let event = EventOut {
        uid: Disp(e.id.hyphenated()),
        time: e.time,
        scope: e.scope,
        actor: ActorOut {
            principal: e.actor.principal(),
            reason: e.actor.reason(),
        },
        action: &e.action,
        resource: ResourceOut {
            kind: e.resource.kind(),
            uid: e.resource.id(),
        },
        status: e.outcome.as_str(),
        status_detail: &e.reason,
        request,
        details: DetailsOut(&e.details),
    };
    finish(
        &LineOut::Record {
            index,
            leaf_hash: Hex(leaf),
            event,
        },
        out,
    )
}

/// Write a checkpoint line into `out` (cleared first).
pub(crate) fn write_checkpoint_line(cp: &Checkpoint, out: &mut Vec<u8>) -> Result<()> {
    finish(
        &LineOut::Checkpoint(CheckpointOut {
            tenant: cp.tenant,
            size: cp.size,
            root: Hex(&cp.root),
            time: cp.time,
            prev: Hex(&cp.prev),
            key_id: cp.key_id.as_str(),
            alg: cp.alg.as_str(),
            sig: Hex(&cp.signature),
        }),
        out,
    )
}

// ---- reading ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorIn<'a> {
    #[serde(borrow)]
    principal: Cow<'a, str>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    uid: Cow<'a, str>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RequestIn<'a> {
    #[serde(borrow, default)]
    src_ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum DetailIn<'a> {
    Str(#[serde(borrow)] Cow<'a, str>),
    Int(i64),
    Bool(bool),
    Commitment(#[serde(borrow)] Cow<'a, str>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventIn<'a> {
    #[serde(borrow)]
    uid: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow)]
    scope: Cow<'a, str>,
    #[serde(borrow)]
    actor: ActorIn<'a>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    resource: ResourceIn<'a>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    status_detail: Cow<'a, str>,
    #[serde(borrow, default)]
    request: Option<RequestIn<'a>>,
    #[serde(borrow, default)]
    details: BTreeMap<Cow<'a, str>, DetailIn<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointIn<'a> {
    #[serde(borrow)]
    tenant: Cow<'a, str>,
    size: u64,
    #[serde(borrow)]
    root: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow)]
    prev: Cow<'a, str>,
    #[serde(borrow)]
    key_id: Cow<'a, str>,
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    sig: Cow<'a, str>,
}

/// One parsed line.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum LineIn<'a> {
    Header {
        #[serde(borrow)]
        format: Cow<'a, str>,
        version: u8,
        #[serde(borrow)]
        tenant: Cow<'a, str>,
    },
    Record {
        index: u64,
        #[serde(borrow)]
        leaf_hash: Cow<'a, str>,
        #[serde(borrow)]
        event: EventIn<'a>,
    },
    Checkpoint(#[serde(borrow)] CheckpointIn<'a>),
}

pub(crate) fn parse_line(line: &[u8]) -> core::result::Result<LineIn<'_>, String> {
    serde_json::from_slice(line).map_err(|e| e.to_string())
}

fn bad(field: &'static str, reason: &'static str) -> AuditError {
    AuditError::Field { field, reason }
}

pub(crate) fn hex32(field: &'static str, s: &str) -> Result<Hash> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(s, &mut h).map_err(|_| bad(field, "expected 64 lowercase hex digits"))?;
    Ok(h)
}

pub(crate) fn parse_tenant(s: &str) -> Result<TenantId> {
    s.parse()
        .map_err(|_| bad("tenant", "expected a tenant id `ten_…`"))
}

impl EventIn<'_> {
    /// Rebuild the event, applying every constructor's validation.
    pub(crate) fn to_event(&self) -> Result<AuditEvent> {
        let id = uuid::Uuid::try_parse(&self.uid)
            .map_err(|_| bad("uid", "expected a hyphenated UUID"))?;
        let time: Timestamp = self
            .time
            .parse()
            .map_err(|_| bad("time", "expected an RFC 3339 timestamp"))?;
        let scope: Scope = self
            .scope
            .parse()
            .map_err(|_| bad("scope", "expected `ten_…` or `ten_…/prj_…`"))?;
        let principal: Principal = self
            .actor
            .principal
            .parse()
            .map_err(|_| bad("actor.principal", "expected `kind:id`"))?;
        let actor = Actor::from_parts(principal, self.actor.reason.as_deref())?;
        let resource = Resource::new(&self.resource.kind, &self.resource.uid)?;
        let outcome = Outcome::parse(&self.status)
            .ok_or(bad("status", "expected allowed, denied or failed"))?;
        let req = self.request.as_ref();
        let ip = match req.and_then(|r| r.src_ip.as_deref()) {
            None => None,
            Some(s) => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| bad("request.src_ip", "expected an IP address"))?,
            ),
        };
        let request = RequestFacts::from_parts(
            ip,
            req.and_then(|r| r.user_agent.as_deref()),
            req.and_then(|r| r.uid.as_deref()),
        )?;
        let mut e = AuditEvent::with_id(id, time, scope, actor, &self.action, resource, outcome)?
            .with_reason(&self.status_detail)?
            .with_request(request);
        for (k, v) in &self.details {
            let v = match v {
                DetailIn::Str(s) => DetailValue::Str(s.clone().into_owned()),
                DetailIn::Int(i) => DetailValue::Int(*i),
                DetailIn::Bool(b) => DetailValue::Bool(*b),
                DetailIn::Commitment(h) => {
                    DetailValue::Commitment(Commitment::from_bytes(hex32("details", h)?))
                }
            };
            e = e.with_detail(k, v)?;
        }
        Ok(e)
    }
}

impl CheckpointIn<'_> {
    pub(crate) fn to_checkpoint(&self) -> Result<Checkpoint> {
        let alg =
            Algorithm::parse(&self.alg).ok_or(bad("alg", "expected hmac-sha256 or ed25519"))?;
        let sig = hex::decode(self.sig.as_bytes()).map_err(|_| bad("sig", "expected hex"))?;
        if sig.len() > 64 {
            return Err(bad("sig", "longer than 64 bytes"));
        }
        Ok(Checkpoint {
            tenant: parse_tenant(&self.tenant)?,
            size: self.size,
            root: hex32("root", &self.root)?,
            time: self
                .time
                .parse()
                .map_err(|_| bad("time", "expected an RFC 3339 timestamp"))?,
            prev: hex32("prev", &self.prev)?,
            key_id: KeyId::new(&self.key_id)?,
            alg,
            signature: sig,
        })
    }
}
