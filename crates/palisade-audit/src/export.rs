//! Writing the JSON Lines export format (`docs/audit-format.md` §7): one
//! header line, then record and checkpoint lines in log order. Every line is one
//! externally tagged JSON object; unknown fields are rejected, because
//! anything not covered by a hash or signature must not look authoritative.

use crate::checkpoint::Checkpoint;
use crate::error::{AuditError, Result};
use crate::event::{AuditEvent, DetailValue};
use crate::merkle::Hash;
use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The `format` value of the header line.
pub const EXPORT_FORMAT: &str = "palisade-audit-export";
/// The `version` value of the header line written now. Version 2 adds the
/// record MAC (`mac`) to every record line; version-1 exports (no `mac`)
/// are still read and verified.
pub const EXPORT_VERSION: u8 = 2;

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
        mac: Hex<'a>,
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
    mac: &Hash,
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
            mac: Hex(mac),
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
