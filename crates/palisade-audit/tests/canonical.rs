//! The canonical encoding is stable and injective, and the JSON export form
//! round-trips exactly.

mod common;

use common::*;
use palisade_audit::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Same event → same bytes; decoding gives the event back (so the
    /// encoding is injective), and re-encoding gives the same bytes.
    #[test]
    fn stable_and_injective(e in arb_event(), index in any::<u64>()) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_record(index, &e, &mut a);
        encode_record(index, &e.clone(), &mut b);
        prop_assert_eq!(&a, &b);
        let (i2, e2) = decode_record(&a).unwrap();
        prop_assert_eq!(i2, index);
        prop_assert_eq!(&e2, &e);
        encode_record(i2, &e2, &mut b);
        prop_assert_eq!(a, b);
    }

    /// Two different events (or indexes) never share bytes.
    #[test]
    fn distinct_events_distinct_bytes(e1 in arb_event(), e2 in arb_event(), i1 in 0u64..4, i2 in 0u64..4) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_record(i1, &e1, &mut a);
        encode_record(i2, &e2, &mut b);
        prop_assert_eq!(a == b, e1 == e2 && i1 == i2);
    }

    /// Any byte string decodes to an event whose encoding is exactly it, or
    /// is refused; never a panic.
    #[test]
    fn decoder_accepts_only_canonical_bytes(e in arb_event(), pos in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
        let mut a = Vec::new();
        encode_record(3, &e, &mut a);
        let mut m = a.clone();
        let p = pos % m.len();
        m[p] = byte;
        let mut again = Vec::new();
        if let Ok((i, e2)) = decode_record(&m) {
            encode_record(i, &e2, &mut again);
            prop_assert_eq!(&again, &m);
        }
        let c = cut % a.len();
        prop_assert!(decode_record(&a[..c]).is_err());
        let mut longer = a.clone();
        longer.push(0);
        prop_assert!(decode_record(&longer).is_err());
    }

    /// The export's JSON form of an event verifies: it decodes back to the
    /// same canonical bytes.
    #[test]
    fn export_json_round_trips(e in arb_event()) {
        let signer = std::sync::Arc::new(hmac_signer("k1"));
        let keys = keyring_for(&[&signer]);
        let tenant = e.scope().tenant_id();
        let mut log = TenantLog::new(tenant, Box::new(MemorySink::new()), signer)
            .with_redactor(std::sync::Arc::new(KeepAll));
        let r = log.append(e.clone()).unwrap();
        let mut out = Vec::new();
        log.export(e.time(), &mut out).unwrap();
        let report = verify(&out, &keys, tenant);
        prop_assert!(report.is_ok(), "{:?}\n{}", report.problem, String::from_utf8_lossy(&out));
        let mut bytes = Vec::new();
        encode_record(0, &e, &mut bytes);
        prop_assert_eq!(leaf_hash(&bytes), r.leaf_hash);
    }
}

struct KeepAll;
impl Redactor for KeepAll {
    fn redact(&self, _: &str, _: &DetailValue) -> Redaction {
        Redaction::Keep
    }
}

#[test]
fn sample_event_is_about_300_bytes() {
    let mut a = Vec::new();
    encode_record(0, &sample_event(tenant(1), 12345), &mut a);
    assert!((250..=350).contains(&a.len()), "{}", a.len());
}
