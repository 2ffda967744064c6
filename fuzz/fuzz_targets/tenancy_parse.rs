#![no_main]
//! Every `FromStr` of palisade-tenancy on arbitrary input: never panics, and
//! whatever parses prints back to the same text (ids and scopes are canonical).
use palisade_tenancy::{Namespace, Principal, ProjectId, RecordKind, Retention, Scope, TenantId, Timestamp};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else { return };
    if let Ok(t) = s.parse::<TenantId>() {
        assert_eq!(t.to_string(), s);
    }
    if let Ok(p) = s.parse::<ProjectId>() {
        assert_eq!(p.to_string(), s);
    }
    if let Ok(sc) = s.parse::<Scope>() {
        assert_eq!(sc.to_string(), s);
        assert_eq!(Scope::from_context_bytes(sc.to_context_bytes().as_slice()).ok(), Some(sc));
    }
    let _ = Scope::from_context_bytes(data);
    if let Ok(p) = s.parse::<Principal>() {
        assert_eq!(p.to_string(), s);
    }
    if let Ok(n) = s.parse::<Namespace>() {
        assert_eq!(n.as_str(), s);
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        // Canonical text re-parses to the same instant.
        assert_eq!(t.to_string().parse::<Timestamp>().ok(), Some(t));
    }
    let _ = s.parse::<Retention>();
    let _ = s.parse::<RecordKind>();
});
