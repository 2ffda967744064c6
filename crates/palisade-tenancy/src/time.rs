//! A UTC instant with millisecond precision, passed into every decision as
//! `now` so that decisions are reproducible (no hidden clock).

use crate::error::{Result, TenancyError, clip};
use core::time::Duration;

const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, UTC, ignoring leap seconds (POSIX time).
///
/// Text form is RFC 3339 in UTC: `2026-11-23T12:00:00Z`, with `.mmm` when the
/// milliseconds are not zero. Parsing accepts `Z` or a `±HH:MM` offset and up
/// to nine fraction digits (truncated to milliseconds); years 0000–9999.
/// Serde uses the text form.
///
/// ```
/// use palisade_tenancy::Timestamp;
/// let t: Timestamp = "2024-02-29T23:59:59.500+01:00".parse()?;
/// assert_eq!(t.to_string(), "2024-02-29T22:59:59.500Z");
/// assert_eq!(Timestamp::from_unix_seconds(0).to_string(), "1970-01-01T00:00:00Z");
/// # Ok::<(), palisade_tenancy::TenancyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);
    /// The latest representable instant.
    pub const MAX: Self = Self(i64::MAX);
    /// The earliest representable instant.
    pub const MIN: Self = Self(i64::MIN);

    /// From milliseconds since the epoch.
    #[must_use]
    pub const fn from_unix_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// From whole seconds since the epoch (saturating).
    #[must_use]
    pub const fn from_unix_seconds(s: i64) -> Self {
        Self(s.saturating_mul(1000))
    }

    /// Read the system clock. Only callers read the clock: nothing in
    /// Palisade calls this inside a decision.
    #[must_use]
    pub fn now() -> Self {
        let ms = match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |v| -v),
        };
        Self(ms)
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn unix_millis(&self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded towards negative infinity).
    #[must_use]
    pub const fn unix_seconds(&self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `self + d`, saturating at [`Timestamp::MAX`].
    #[must_use]
    pub fn saturating_add(&self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(ms))
    }

    /// `self - d`, saturating at [`Timestamp::MIN`].
    #[must_use]
    pub fn saturating_sub(&self, d: Duration) -> Self {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(ms))
    }

    /// `self + days × 86 400 s` (days are always 86 400 s), saturating.
    #[must_use]
    pub const fn saturating_add_days(&self, days: u32) -> Self {
        Self(
            self.0
                .saturating_add((days as i64).saturating_mul(MS_PER_DAY)),
        )
    }

    /// How long after `earlier` this instant is, or `None` when it is before.
    #[must_use]
    pub fn duration_since(&self, earlier: Timestamp) -> Option<Duration> {
        let diff = self.0.checked_sub(earlier.0)?;
        u64::try_from(diff).ok().map(Duration::from_millis)
    }
}

impl From<std::time::SystemTime> for Timestamp {
    fn from(t: std::time::SystemTime) -> Self {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Self(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Self(i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |v| -v)),
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
const fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

impl core::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        let ms = ms_of_day % 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if ms != 0 {
            write!(f, ".{ms:03}")?;
        }
        f.write_str("Z")
    }
}

impl core::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        s.iter()
            .fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0')),
    )
}

impl core::str::FromStr for Timestamp {
    type Err = TenancyError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| TenancyError::Timestamp {
            input: clip(s, 80),
            reason,
        };
        let b = s.as_bytes();
        const SHAPE: &str = "expected RFC 3339 `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`";
        if b.len() < 20 || b.len() > 35 {
            return Err(bad(SHAPE));
        }
        let field = |r: core::ops::Range<usize>| b.get(r).and_then(digits);
        let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return Err(bad(SHAPE));
        }
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
            field(0..4),
            field(5..7),
            field(8..10),
            field(11..13),
            field(14..16),
            field(17..19),
        ) else {
            return Err(bad(SHAPE));
        };
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return Err(bad("no such calendar date"));
        }
        if h > 23 || mi > 59 || sec > 59 {
            return Err(bad(
                "hour must be 00-23, minute and second 00-59 (leap seconds are not accepted)",
            ));
        }
        let mut i = 19;
        let mut ms = 0i64;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            let n = end - start;
            if n == 0 || n > 9 {
                return Err(bad("the fraction of a second must have 1 to 9 digits"));
            }
            let frac = b
                .get(start..end.min(start + 3))
                .and_then(digits)
                .ok_or_else(|| bad(SHAPE))?;
            ms = frac * 10i64.pow(3u32.saturating_sub(u32::try_from(n).unwrap_or(3)));
            i = end;
        }
        let offset_min = match b.get(i..) {
            Some(b"Z" | b"z") => 0,
            Some([sign @ (b'+' | b'-'), rest @ ..])
                if rest.len() == 5 && rest.get(2) == Some(&b':') =>
            {
                let (Some(oh), Some(om)) = (
                    rest.get(0..2).and_then(digits),
                    rest.get(3..5).and_then(digits),
                ) else {
                    return Err(bad(SHAPE));
                };
                if oh > 23 || om > 59 {
                    return Err(bad("the UTC offset must be at most 23:59"));
                }
                let v = oh * 60 + om;
                if *sign == b'-' { -v } else { v }
            }
            _ => return Err(bad("expected `Z` or a `±HH:MM` offset at the end")),
        };
        let days = days_from_civil(y, mo, d);
        let total = ((days * 24 + h) * 60 + mi - offset_min) * 60 + sec;
        Ok(Self(total * 1000 + ms))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an RFC 3339 UTC timestamp string such as `2026-01-31T00:00:00Z`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> core::result::Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}
