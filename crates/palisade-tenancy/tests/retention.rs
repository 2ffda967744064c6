//! Retention decisions at every edge.

use core::time::Duration;
use palisade_tenancy::{
    RecordKind, Retention, RetentionDecision, RetentionPolicy, TenancyError, Timestamp,
};
use proptest::prelude::*;

const DAY: u64 = 86_400;

#[expect(
    clippy::unwrap_used,
    reason = "test helper: a bad literal is a test bug"
)]
fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn default_is_no_prompt_storage() {
    let p = RetentionPolicy::default();
    let now = ts("2026-11-23T00:00:00Z");
    assert_eq!(
        p.decide(&RecordKind::PROMPT, now, now),
        RetentionDecision::NeverStore
    );
    assert_eq!(
        p.decide(&RecordKind::COMPLETION, now, now),
        RetentionDecision::NeverStore
    );
    assert!(!p.may_store(&RecordKind::PROMPT));
    assert_eq!(
        p.decide(&RecordKind::AUDIT, ts("1990-01-01T00:00:00Z"), now),
        RetentionDecision::Keep { purge_at: None }
    );
    // Unknown kinds fail closed.
    assert_eq!(
        p.decide(&RecordKind::new("embedding").unwrap(), now, now),
        RetentionDecision::NeverStore
    );
}

#[test]
fn exact_boundary_purges() {
    let p = RetentionPolicy::default();
    let created = ts("2026-01-01T00:00:00Z");
    let boundary = ts("2026-01-31T00:00:00Z");
    let just_before = boundary.saturating_sub(Duration::from_millis(1));
    assert_eq!(
        p.decide(&RecordKind::LOG, created, just_before),
        RetentionDecision::Keep {
            purge_at: Some(boundary)
        }
    );
    assert_eq!(
        p.decide(&RecordKind::LOG, created, boundary),
        RetentionDecision::Purge
    );
}

#[test]
fn leap_years_are_not_special() {
    let p = RetentionPolicy::default().with(RecordKind::LOG, Retention::Days(365));
    // 2024 is a leap year: 365 days after 2024-01-01 is 2024-12-31, not 2025-01-01.
    let created = ts("2024-01-01T00:00:00Z");
    assert_eq!(
        p.decide(&RecordKind::LOG, created, ts("2024-12-30T23:59:59Z")),
        RetentionDecision::Keep {
            purge_at: Some(ts("2024-12-31T00:00:00Z"))
        }
    );
    assert_eq!(
        p.decide(&RecordKind::LOG, created, ts("2024-12-31T00:00:00Z")),
        RetentionDecision::Purge
    );
}

#[test]
fn clock_skew_keeps_future_records() {
    let p = RetentionPolicy::default();
    let now = ts("2026-01-01T00:00:00Z");
    let future = now.saturating_add(Duration::from_secs(3600));
    assert_eq!(
        p.decide(&RecordKind::LOG, future, now),
        RetentionDecision::Keep {
            purge_at: Some(future.saturating_add_days(30))
        }
    );
}

#[test]
fn far_future_saturates() {
    let p = RetentionPolicy::default().with(RecordKind::LOG, Retention::Days(36_500));
    assert_eq!(
        p.decide(&RecordKind::LOG, Timestamp::MAX, Timestamp::MAX),
        RetentionDecision::Purge
    );
}

#[test]
fn rule_text() {
    assert_eq!("never".parse::<Retention>().unwrap(), Retention::Never);
    assert_eq!("forever".parse::<Retention>().unwrap(), Retention::Forever);
    assert_eq!("30d".parse::<Retention>().unwrap(), Retention::Days(30));
    assert_eq!(Retention::Days(7).to_string(), "7d");
    for bad in [
        "",
        "0d",
        "d",
        "30",
        "-1d",
        "36501d",
        "99999999999d",
        "1.5d",
        "Never",
        "30D",
    ] {
        assert!(
            matches!(
                bad.parse::<Retention>(),
                Err(TenancyError::Retention { .. })
            ),
            "{bad}"
        );
    }
    for bad in ["", "Prompt", "1x", &"a".repeat(65), "a b"] {
        assert!(RecordKind::new(bad).is_err(), "{bad}");
    }
    assert_eq!(
        "chat.transcript".parse::<RecordKind>().unwrap().as_str(),
        "chat.transcript"
    );
}

#[test]
fn config_toml_and_json() {
    let toml_text = r#"
        default = "never"
        [kinds]
        prompt = "never"
        audit = "forever"
        log = "14d"
        "chat.transcript" = "90d"
    "#;
    let p: RetentionPolicy = toml::from_str(toml_text).unwrap();
    assert_eq!(p.rule(&RecordKind::LOG), Retention::Days(14));
    assert_eq!(
        p.rule(&RecordKind::new("chat.transcript").unwrap()),
        Retention::Days(90)
    );
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<RetentionPolicy>(&json).unwrap(), p);
    let default_json = serde_json::to_string(&RetentionPolicy::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<RetentionPolicy>(&default_json).unwrap(),
        RetentionPolicy::default()
    );
    assert!(toml::from_str::<RetentionPolicy>("default = \"0d\"").is_err());
    assert!(
        toml::from_str::<RetentionPolicy>("default = \"never\"\n[kinds]\nBad = \"1d\"").is_err()
    );
    assert!(toml::from_str::<RetentionPolicy>("default = \"never\"\nextra = 1").is_err());
}

proptest! {
    #[test]
    fn days_rule_is_a_half_open_window(days in 1u32..=36_500, created in -1_000_000_000_000i64..4_000_000_000_000i64, offset in -10_000_000_000i64..4_000_000_000_000i64) {
        let p = RetentionPolicy::default().with(RecordKind::LOG, Retention::Days(days));
        let created = Timestamp::from_unix_millis(created);
        let now = Timestamp::from_unix_millis(created.unix_millis() + offset);
        let limit = i64::from(days) * (DAY as i64) * 1000;
        let decision = p.decide(&RecordKind::LOG, created, now);
        if offset >= limit {
            prop_assert_eq!(decision, RetentionDecision::Purge);
        } else {
            let is_keep = matches!(decision, RetentionDecision::Keep { purge_at: Some(_) });
            prop_assert!(is_keep);
        }
    }
}
