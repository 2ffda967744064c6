//! Ids, principals and timestamps: round trips, every parse error, known answers.

use palisade_tenancy::{Principal, PrincipalKind, ProjectId, TenancyError, TenantId, Timestamp};
use proptest::prelude::*;

#[test]
fn known_answer_text_forms() {
    // The TypeID specification's own example: UUID 01889c89-df6b-7f1c-a388-91396ec314bc
    // encodes as 01h2e8kqvbfwea724h75qc655w.
    let u = uuid::Uuid::parse_str("01889c89-df6b-7f1c-a388-91396ec314bc").unwrap();
    let t = TenantId::from_uuid(u);
    assert_eq!(t.to_string(), "ten_01h2e8kqvbfwea724h75qc655w");
    let p = ProjectId::from_uuid(u);
    assert_eq!(p.to_string(), "prj_01h2e8kqvbfwea724h75qc655w");
    assert_eq!(
        TenantId::from_bytes([0; 16]).to_string(),
        "ten_00000000000000000000000000"
    );
    assert_eq!(
        TenantId::from_bytes([0xff; 16]).to_string(),
        "ten_7zzzzzzzzzzzzzzzzzzzzzzzzz"
    );
}

#[test]
fn wrong_prefix_is_rejected_and_types_do_not_mix() {
    let t = TenantId::from_bytes([1; 16]).to_string();
    let err = t.parse::<ProjectId>().unwrap_err();
    assert!(
        matches!(
            err,
            TenancyError::IdPrefix {
                expected: "prj",
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(
        "no-underscore".parse::<TenantId>(),
        Err(TenancyError::IdPrefix { .. })
    ));
    assert!(matches!(
        "TEN_00000000000000000000000000".parse::<TenantId>(),
        Err(TenancyError::IdPrefix { .. })
    ));
}

#[test]
fn wrong_length_is_rejected() {
    for s in [
        "ten_",
        "ten_0000000000000000000000000",
        "ten_000000000000000000000000000",
    ] {
        assert!(
            matches!(s.parse::<TenantId>(), Err(TenancyError::IdLength { .. })),
            "{s}"
        );
    }
}

#[test]
fn bad_characters_are_rejected_with_position() {
    // `i`, `l`, `o`, `u` and uppercase are not in the alphabet.
    for (s, pos) in [
        ("ten_0000000000000000000000000i", 29),
        ("ten_l0000000000000000000000000", 4),
        ("ten_000000000000O0000000000000", 16),
        ("ten_0000000000000000000000000é", 29),
    ] {
        match s.parse::<TenantId>() {
            Err(TenancyError::IdCharacter { position, .. }) => assert_eq!(position, pos, "{s}"),
            Err(TenancyError::IdLength { .. }) => assert!(!s.is_ascii()),
            other => panic!("{s}: {other:?}"),
        }
    }
}

#[test]
fn overflowing_first_character_is_rejected() {
    assert!(matches!(
        "ten_80000000000000000000000000".parse::<TenantId>(),
        Err(TenancyError::IdOverflow { .. })
    ));
}

#[test]
fn error_messages_say_what_to_fix() {
    let e = "prj_00000000000000000000000000"
        .parse::<TenantId>()
        .unwrap_err()
        .to_string();
    assert_eq!(e, "invalid tenant id: expected prefix `ten_`, found `prj`");
}

#[test]
fn serde_uses_the_text_form() {
    let t = TenantId::from_bytes([9; 16]);
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(json, format!("\"{t}\""));
    assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), t);
    assert!(serde_json::from_str::<TenantId>("\"prj_00000000000000000000000000\"").is_err());
    assert!(serde_json::from_str::<TenantId>("42").is_err());
}

#[test]
fn new_ids_are_distinct() {
    assert_ne!(TenantId::new_v7(), TenantId::new_v7());
    assert_ne!(ProjectId::new_random(), ProjectId::new_random());
}

#[test]
fn principals() {
    for ok in [
        "user:alice@example.com",
        "key:k_0123",
        "staff:bob",
        "service:billing-sync",
        "user:a+b.c_d-e",
    ] {
        let p: Principal = ok.parse().unwrap();
        assert_eq!(p.to_string(), ok);
    }
    assert_eq!(
        Principal::staff("bob").unwrap().kind(),
        PrincipalKind::Staff
    );
    assert_eq!(
        Principal::service("x").unwrap().kind(),
        PrincipalKind::Service
    );
    assert_eq!(
        Principal::api_key("k1").unwrap().kind(),
        PrincipalKind::ApiKey
    );
    for bad in [
        "alice",
        "robot:x",
        "user:",
        "user:a b",
        "user:a:b",
        ":x",
        &format!("user:{}", "a".repeat(129)),
    ] {
        assert!(
            matches!(
                bad.parse::<Principal>(),
                Err(TenancyError::Principal { .. })
            ),
            "{bad}"
        );
    }
    assert!(Principal::user("").is_err());
    assert!(Principal::user(&"a".repeat(128)).is_ok());
    let json = serde_json::to_string(&Principal::user("alice").unwrap()).unwrap();
    assert_eq!(json, "\"user:alice\"");
    assert!(serde_json::from_str::<Principal>("\"nobody\"").is_err());
}

#[test]
fn timestamps_known_answers() {
    let cases = [
        ("1970-01-01T00:00:00Z", 0),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
        ("1969-12-31T23:59:59Z", -1000),
        ("9999-12-31T23:59:59Z", 253_402_300_799_000),
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
    ];
    for (s, ms) in cases {
        let t: Timestamp = s.parse().unwrap();
        assert_eq!(t.unix_millis(), ms, "{s}");
        assert_eq!(t.to_string(), s);
    }
    let t: Timestamp = "2026-01-01T01:30:00.5+01:30".parse().unwrap();
    assert_eq!(t.to_string(), "2026-01-01T00:00:00.500Z");
    let t: Timestamp = "2026-01-01t00:00:00.123456789-00:00".parse().unwrap();
    assert_eq!(t.to_string(), "2026-01-01T00:00:00.123Z");
}

#[test]
fn timestamps_reject_nonsense() {
    for bad in [
        "",
        "2026-01-01",
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:60:00Z",
        "2026-01-01T00:00:60Z",
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.1234567890Z",
        "2026-01-01T00:00:00+24:00",
        "2026-01-01T00:00:00+0100",
        "+026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Zjunk",
    ] {
        assert!(
            matches!(
                bad.parse::<Timestamp>(),
                Err(TenancyError::Timestamp { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn timestamp_arithmetic_saturates() {
    assert_eq!(Timestamp::MAX.saturating_add_days(1), Timestamp::MAX);
    assert_eq!(
        Timestamp::MAX.saturating_add(core::time::Duration::from_secs(1)),
        Timestamp::MAX
    );
    assert_eq!(
        Timestamp::MIN.saturating_sub(core::time::Duration::from_secs(1)),
        Timestamp::MIN
    );
    let a = Timestamp::from_unix_seconds(10);
    assert_eq!(
        a.duration_since(Timestamp::EPOCH),
        Some(core::time::Duration::from_secs(10))
    );
    assert_eq!(Timestamp::EPOCH.duration_since(a), None);
    assert_eq!(Timestamp::from_unix_millis(-1).unix_seconds(), -1);
    assert!(Timestamp::now() > "2020-01-01T00:00:00Z".parse().unwrap());
}

proptest! {
    #[test]
    fn id_text_round_trips(bytes in any::<[u8; 16]>()) {
        let t = TenantId::from_bytes(bytes);
        let s = t.to_string();
        prop_assert_eq!(s.len(), 30);
        prop_assert_eq!(s.parse::<TenantId>().unwrap(), t);
        let p = ProjectId::from_bytes(bytes);
        prop_assert_eq!(p.to_string().parse::<ProjectId>().unwrap(), p);
        // The text order is the byte order (TypeID sorts like the UUID).
        let other = TenantId::from_bytes(bytes.map(|b| b ^ 0x5a));
        prop_assert_eq!(s.cmp(&other.to_string()), t.cmp(&other));
    }

    #[test]
    fn id_parse_never_panics(s in "\\PC{0,40}") {
        let _ = s.parse::<TenantId>();
        let _ = s.parse::<Principal>();
        let _ = s.parse::<Timestamp>();
    }

    #[test]
    fn timestamp_text_round_trips(ms in -62_167_219_200_000i64..253_402_300_800_000i64) {
        let t = Timestamp::from_unix_millis(ms);
        prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
    }
}
