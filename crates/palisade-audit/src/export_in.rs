//! Reading the JSON Lines export (`docs/audit-format.md` §7): strict
//! parsing of each line, and canonical encoding straight from the parsed
//! fields with the same validation as the event constructors.

use crate::canonical::{DetailRef, Fields, encode_fields};
use crate::checkpoint::Checkpoint;
use crate::error::{AuditError, Result};
use crate::event::{MAX_DETAILS, MAX_REASON_LEN, MAX_TEXT_LEN, Outcome};
use crate::keys::{Algorithm, KeyId};
use crate::merkle::Hash;
use crate::validate::{
    check_action, check_actor, check_name, check_request_id, check_text, check_time,
};
use palisade_tenancy::{Principal, Scope, TenantId, Timestamp};
use serde::Deserialize;
use std::borrow::Cow;
use std::net::IpAddr;

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
    details: DetailsIn<'a>,
}

/// A string borrowed from the input when it has no escapes.
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = BorrowedStr<'a>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> core::result::Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> core::result::Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(core::marker::PhantomData))
    }
}

/// The details map in input order, refusing duplicate or unsorted keys (a
/// JSON object with a repeated key would otherwise show one value and hash
/// another).
#[derive(Default)]
struct DetailsIn<'a>(Vec<(Cow<'a, str>, DetailIn<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for DetailsIn<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = DetailsIn<'a>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a map of at most 32 details with strictly increasing keys")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> core::result::Result<Self::Value, A::Error> {
                use serde::de::Error as _;
                let mut v: Vec<(Cow<'a, str>, DetailIn<'a>)> = Vec::new();
                while let Some((BorrowedStr(k), val)) =
                    m.next_entry::<BorrowedStr<'a>, DetailIn<'a>>()?
                {
                    if v.last().is_some_and(|(p, _)| p.as_ref() >= k.as_ref()) {
                        return Err(A::Error::custom(
                            "detail keys must be unique and in increasing order",
                        ));
                    }
                    if v.len() >= MAX_DETAILS {
                        return Err(A::Error::custom("at most 32 details per event"));
                    }
                    v.push((k, val));
                }
                Ok(DetailsIn(v))
            }
        }
        d.deserialize_map(V(core::marker::PhantomData))
    }
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
#[expect(
    clippy::large_enum_variant,
    reason = "one line is parsed at a time, on the stack; boxing the record would allocate per line"
)]
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
        /// Version 2 only: the record MAC.
        #[serde(borrow, default)]
        mac: Option<Cow<'a, str>>,
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

/// Lowercase hex only: the writer never produces uppercase, and one
/// spelling per value keeps exports comparable byte for byte.
fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn hex32(field: &'static str, s: &str) -> Result<Hash> {
    if !lower_hex(s) {
        return Err(bad(field, "expected 64 lowercase hex digits"));
    }
    let mut h = [0u8; 32];
    hex::decode_to_slice(s, &mut h).map_err(|_| bad(field, "expected 64 lowercase hex digits"))?;
    Ok(h)
}

pub(crate) fn parse_tenant(s: &str) -> Result<TenantId> {
    s.parse()
        .map_err(|_| bad("tenant", "expected a tenant id `ten_…`"))
}

impl EventIn<'_> {
    /// Validate every field as the event constructors do and write the
    /// canonical record `index` into `out`, without building an
    /// [`AuditEvent`]. Returns the event's tenant.
    pub(crate) fn encode(&self, index: u64, out: &mut Vec<u8>) -> Result<TenantId> {
        let id = uuid::Uuid::try_parse(&self.uid)
            .ok()
            .filter(|id| {
                let mut buf = [0u8; 36];
                *id.hyphenated().encode_lower(&mut buf) == *self.uid
            })
            .ok_or(bad("uid", "expected a lowercase hyphenated UUID"))?;
        let time: Timestamp = self
            .time
            .parse()
            .map_err(|_| bad("time", "expected an RFC 3339 timestamp"))?;
        check_time(time)?;
        let scope: Scope = self
            .scope
            .parse()
            .map_err(|_| bad("scope", "expected `ten_…` or `ten_…/prj_…`"))?;
        let principal: Principal = self
            .actor
            .principal
            .parse()
            .map_err(|_| bad("actor.principal", "expected `kind:id`"))?;
        check_actor(&principal, self.actor.reason.as_deref())?;
        check_action(&self.action)?;
        check_name("resource.type", &self.resource.kind)?;
        check_text("resource.uid", &self.resource.uid, MAX_TEXT_LEN, true)?;
        let outcome = Outcome::parse(&self.status)
            .ok_or(bad("status", "expected allowed, denied or failed"))?;
        check_text("status_detail", &self.status_detail, MAX_REASON_LEN, false)?;
        let req = self.request.as_ref();
        let ip = match req.and_then(|r| r.src_ip.as_deref()) {
            None => None,
            Some(s) => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| bad("request.src_ip", "expected an IP address"))?,
            ),
        };
        let user_agent = req.and_then(|r| r.user_agent.as_deref());
        if let Some(ua) = user_agent {
            check_text("request.user_agent", ua, MAX_TEXT_LEN, false)?;
        }
        let request_id = req.and_then(|r| r.uid.as_deref());
        if let Some(rid) = request_id {
            check_request_id(rid)?;
        }
        for (k, v) in &self.details.0 {
            check_name("details key", k)?;
            match v {
                DetailIn::Str(s) => check_text("details value", s, MAX_TEXT_LEN, false)?,
                DetailIn::Commitment(h) => {
                    hex32("details", h)?;
                }
                DetailIn::Int(_) | DetailIn::Bool(_) => {}
            }
        }
        let details = self.details.0.iter().map(|(k, v)| {
            let v = match v {
                DetailIn::Str(s) => DetailRef::Str(s),
                DetailIn::Int(i) => DetailRef::Int(*i),
                DetailIn::Bool(b) => DetailRef::Bool(*b),
                // Checked above.
                DetailIn::Commitment(h) => {
                    DetailRef::Commitment(hex32("details", h).unwrap_or_default())
                }
            };
            (k.as_ref(), v)
        });
        let fields = Fields {
            id: &id,
            time,
            scope,
            principal: &principal,
            actor_reason: self.actor.reason.as_deref(),
            action: &self.action,
            resource_kind: &self.resource.kind,
            resource_id: &self.resource.uid,
            outcome,
            reason: &self.status_detail,
            ip,
            user_agent,
            request_id,
            details,
        };
        encode_fields(index, fields, out);
        Ok(scope.tenant_id())
    }
}

impl CheckpointIn<'_> {
    pub(crate) fn to_checkpoint(&self) -> Result<Checkpoint> {
        let alg =
            Algorithm::parse(&self.alg).ok_or(bad("alg", "expected hmac-sha256 or ed25519"))?;
        if !lower_hex(&self.sig) {
            return Err(bad("sig", "expected lowercase hex"));
        }
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
