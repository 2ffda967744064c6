//! Helpers of the `audit_path*` tests: verified exports read as JSON.

use palisade::Palisade;
use palisade::tenancy::{TenantId, Timestamp};
use serde_json::Value;

/// The events of `tenant`'s export at `now`, after checking it verifies.
#[cfg(test)]
pub(crate) fn events(p: &Palisade, tenant: TenantId, now: Timestamp) -> Vec<Value> {
    let export = p.export_audit(tenant, now).unwrap();
    let report = p.verify_audit(tenant, &export);
    assert!(report.is_ok(), "{:?}", report.problem);
    let text = String::from_utf8(export).unwrap();
    let evs: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("record").and_then(|r| r.get("event")).cloned())
        .collect();
    assert_eq!(evs.len() as u64, report.records);
    evs
}

/// A string or integer detail of `ev`, as text.
#[cfg(test)]
pub(crate) fn detail(ev: &Value, name: &str) -> Option<String> {
    let d = ev.get("details")?.get(name)?;
    d.get("str")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| d.get("int").map(ToString::to_string))
}

/// The `status_detail` (reason) of `ev`, or "".
#[cfg(test)]
pub(crate) fn reason(ev: &Value) -> &str {
    ev.get("status_detail")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `ev`'s `status`.
#[cfg(test)]
pub(crate) fn status(ev: &Value) -> &str {
    ev.get("status").and_then(Value::as_str).unwrap_or("")
}

/// `ev`'s actor principal.
#[cfg(test)]
pub(crate) fn actor(ev: &Value) -> &str {
    ev.pointer("/actor/principal")
        .and_then(Value::as_str)
        .unwrap_or("")
}
