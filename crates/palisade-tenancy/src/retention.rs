//! Retention rules per kind of record, with "no prompt storage" by default.

use crate::error::{Result, TenancyError, clip};
use crate::time::Timestamp;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A kind of record a service may store: `prompt`, `completion`, `audit`,
/// `log`, or any name of its own (1–64 bytes of `a-z 0-9 _ . -`, starting
/// with a letter).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct RecordKind(Cow<'static, str>);

impl RecordKind {
    /// Bodies of prompts sent to a model.
    pub const PROMPT: Self = Self(Cow::Borrowed("prompt"));
    /// Bodies of model completions.
    pub const COMPLETION: Self = Self(Cow::Borrowed("completion"));
    /// Audit records.
    pub const AUDIT: Self = Self(Cow::Borrowed("audit"));
    /// Operational logs.
    pub const LOG: Self = Self(Cow::Borrowed("log"));

    /// A kind of the service's own.
    ///
    /// # Errors
    /// [`TenancyError::Retention`] when the name breaks the charset or length rules.
    pub fn new(name: &str) -> Result<Self> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if !ok {
            return Err(TenancyError::Retention {
                input: clip(name, 80),
                reason: "a record kind is 1-64 bytes of `a-z 0-9 _ . -` starting with a letter",
            });
        }
        Ok(Self(Cow::Owned(name.to_owned())))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for RecordKind {
    type Err = TenancyError;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// How long one kind of record is kept.
///
/// Text form (and serde): `"never"`, `"forever"`, or `"{N}d"` for N days,
/// 1 ≤ N ≤ 36 500. A day is always 86 400 s: leap years and DST are not special.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Retention {
    /// Do not store it at all.
    Never,
    /// Keep it for this many days after creation, then purge it.
    Days(u32),
    /// Keep it until deleted by other means.
    Forever,
}

/// The longest finite retention, in days (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

impl core::fmt::Display for Retention {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Never => f.write_str("never"),
            Self::Forever => f.write_str("forever"),
            Self::Days(n) => write!(f, "{n}d"),
        }
    }
}

impl core::str::FromStr for Retention {
    type Err = TenancyError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| TenancyError::Retention {
            input: clip(s, 80),
            reason,
        };
        match s {
            "never" => Ok(Self::Never),
            "forever" => Ok(Self::Forever),
            _ => {
                let n = s
                    .strip_suffix('d')
                    .ok_or_else(|| bad("expected `never`, `forever` or `{N}d`, e.g. `30d`"))?;
                if n.is_empty() || n.len() > 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("expected `never`, `forever` or `{N}d`, e.g. `30d`"));
                }
                let days: u32 = n
                    .parse()
                    .map_err(|_| bad("the number of days is not a number"))?;
                if days == 0 {
                    return Err(bad("`0d` is ambiguous: write `never` to store nothing"));
                }
                if days > MAX_RETENTION_DAYS {
                    return Err(bad("at most 36500 days; write `forever` for no limit"));
                }
                Ok(Self::Days(days))
            }
        }
    }
}

/// What to do with a record now.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RetentionDecision {
    /// Do not write it (the kind is never stored). An already stored one must be purged.
    NeverStore,
    /// Keep it; `purge_at` is when it must go (`None`: kept forever).
    Keep {
        /// The first instant at which the record is no longer kept.
        purge_at: Option<Timestamp>,
    },
    /// Its time is over: delete it.
    Purge,
}

/// Retention rules per [`RecordKind`], with a rule for kinds not listed.
///
/// The [`Default`] is "no prompt storage": prompts and completions are never
/// stored, audit records are kept forever, logs 30 days, and any kind not
/// listed is never stored (fail closed: a new kind must be given a rule).
///
/// Config (TOML shown; JSON alike):
/// ```toml
/// default = "never"
/// [kinds]
/// prompt = "never"
/// completion = "never"
/// audit = "forever"
/// log = "30d"
/// ```
///
/// ```
/// use palisade_tenancy::{RecordKind, RetentionDecision, RetentionPolicy, Timestamp};
/// let policy = RetentionPolicy::default();
/// let now = Timestamp::from_unix_seconds(1_000_000);
/// assert_eq!(policy.decide(&RecordKind::PROMPT, now, now), RetentionDecision::NeverStore);
/// let month_ago = now.saturating_add_days(0).saturating_sub(core::time::Duration::from_secs(30 * 86_400));
/// assert_eq!(policy.decide(&RecordKind::LOG, month_ago, now), RetentionDecision::Purge);
/// ```
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// The rule for kinds not listed in `kinds`.
    #[serde(with = "retention_str")]
    pub default: Retention,
    /// The rule for each listed kind.
    #[serde(default, with = "kinds_map")]
    pub kinds: BTreeMap<RecordKind, Retention>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        let kinds = BTreeMap::from([
            (RecordKind::PROMPT, Retention::Never),
            (RecordKind::COMPLETION, Retention::Never),
            (RecordKind::AUDIT, Retention::Forever),
            (RecordKind::LOG, Retention::Days(30)),
        ]);
        Self {
            default: Retention::Never,
            kinds,
        }
    }
}

impl RetentionPolicy {
    /// The rule that applies to `kind`.
    #[must_use]
    pub fn rule(&self, kind: &RecordKind) -> Retention {
        self.kinds.get(kind).copied().unwrap_or(self.default)
    }

    /// Set the rule for `kind`, returning the policy (builder style).
    #[must_use]
    pub fn with(mut self, kind: RecordKind, rule: Retention) -> Self {
        self.kinds.insert(kind, rule);
        self
    }

    /// Whether a new record of `kind` may be written at all.
    #[must_use]
    pub fn may_store(&self, kind: &RecordKind) -> bool {
        self.rule(kind) != Retention::Never
    }

    /// Decide what to do with a record of `kind` created at `created_at`, at
    /// time `now`.
    ///
    /// A record kept for N days is kept while `now < created_at + N days` and
    /// purged from that instant on (the boundary itself purges). A
    /// `created_at` in the future (clock skew between writers) counts as age
    /// zero: it is kept, never purged early.
    #[must_use]
    pub fn decide(
        &self,
        kind: &RecordKind,
        created_at: Timestamp,
        now: Timestamp,
    ) -> RetentionDecision {
        match self.rule(kind) {
            Retention::Never => RetentionDecision::NeverStore,
            Retention::Forever => RetentionDecision::Keep { purge_at: None },
            Retention::Days(n) => {
                let purge_at = created_at.saturating_add_days(n);
                if now >= purge_at {
                    RetentionDecision::Purge
                } else {
                    RetentionDecision::Keep {
                        purge_at: Some(purge_at),
                    }
                }
            }
        }
    }
}

mod retention_str {
    use super::Retention;
    pub(super) fn serialize<S: serde::Serializer>(r: &Retention, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(r)
    }
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Retention, D::Error> {
        let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod kinds_map {
    use super::{BTreeMap, RecordKind, Retention};
    use serde::ser::SerializeMap;
    pub(super) fn serialize<S: serde::Serializer>(
        m: &BTreeMap<RecordKind, Retention>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            map.serialize_entry(k.as_str(), &v.to_string())?;
        }
        map.end()
    }
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<RecordKind, Retention>, D::Error> {
        let raw: BTreeMap<String, String> = serde::Deserialize::deserialize(d)?;
        raw.into_iter()
            .map(|(k, v)| {
                let kind = RecordKind::new(&k).map_err(serde::de::Error::custom)?;
                let rule = v.parse().map_err(serde::de::Error::custom)?;
                Ok((kind, rule))
            })
            .collect()
    }
}
