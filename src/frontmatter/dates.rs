//! Dates in the forms real blogs use, read into UTC store timestamps.
//!
//! Accepted: `2024-05-01`, `2024-05-01 10:00`, `2024-05-01 10:00:00`, `2024-05-01T10:00:00`,
//! any of those followed by a zone (`Z`, `UTC`, `+0200`, `+02:00`, ` -0800`), and RFC 3339.
//! Fractional seconds are accepted and dropped. A date without a zone is read in the site's
//! time zone (UTC unless `timezone` is set in bloggo.toml).
//!
//! Only the years 1 to 9999 are taken ([`YEARS`]): feeds write four-digit years.

use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use crate::config::{parse_offset, Timezone};
use crate::model::Timestamp;

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
];

/// The years a date may have: what feeds can carry. Atom and the sitemap (RFC 3339) and RSS
/// (RFC 2822) write a year with four digits, and year 0 is 1 BC in the proleptic calendar
/// chrono uses: 1 to 9999, in UTC and in the site's time zone alike.
pub const YEARS: RangeInclusive<i32> = 1..=9999;

/// Why a date was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    /// Not a date in any form bloggo reads (or one that does not exist).
    Unreadable(String),
    /// A date, but outside [`YEARS`].
    OutOfRange(String),
}

impl std::fmt::Display for DateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DateError::Unreadable(m) | DateError::OutOfRange(m) => f.write_str(m),
        }
    }
}

/// Whether an instant can be written in feeds: its year is in [`YEARS`] in UTC and in the
/// site's time zone.
pub fn writable(d: DateTime<Utc>, tz: &Timezone) -> bool {
    YEARS.contains(&d.year()) && YEARS.contains(&d.with_timezone(&tz.offset_at(d)).year())
}

/// Reads a date; the error says what was expected.
pub fn parse_date(text: &str, tz: &Timezone) -> Result<DateTime<Utc>, DateError> {
    let s = text.trim();
    let d = read_date(s, tz).map_err(DateError::Unreadable)?;
    if !writable(d, tz) {
        return Err(DateError::OutOfRange(format!(
            "the date {s:?} is outside the years {} to {} (in UTC and in the site's time zone), \
             which feeds can carry; fix the year",
            YEARS.start(),
            YEARS.end()
        )));
    }
    Ok(d)
}

fn read_date(s: &str, tz: &Timezone) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&Utc));
    }
    let (naive_part, zone) = split_zone(s);
    let naive = parse_naive(naive_part).ok_or_else(|| {
        format!(
            "cannot read the date {s:?}; write it like 2024-05-01, \"2024-05-01 10:00:00 +0200\" or 2024-05-01T10:00:00Z"
        )
    })?;
    match zone {
        Some(off) => naive
            .and_local_timezone(off)
            .single()
            .map(|d| d.with_timezone(&Utc))
            .ok_or_else(|| format!("the date {s:?} does not exist")),
        None => tz
            .to_utc(naive)
            .ok_or_else(|| format!("the date {s:?} does not exist in the site's time zone")),
    }
}

/// A date at midnight in the site's time zone (for dates taken from file names); `None` when
/// it does not exist there or is not [`writable`].
pub fn midnight(date: NaiveDate, tz: &Timezone) -> Option<DateTime<Utc>> {
    tz.to_utc(date.and_hms_opt(0, 0, 0)?)
        .filter(|d| writable(*d, tz))
}

/// A store timestamp (UTC) as a time in the site's zone.
pub fn in_zone(ts: Timestamp, tz: &Timezone) -> chrono::DateTime<chrono::FixedOffset> {
    let utc = ts.utc();
    utc.with_timezone(&tz.offset_at(utc))
}

/// A store timestamp shown in the site's zone, RFC 3339 (`2024-05-01T12:00:00+02:00`).
pub fn show_time(ts: Timestamp, tz: &Timezone) -> String {
    in_zone(ts, tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Reads a time as a writer types it (the forms `bloggo import` reads: RFC 3339,
/// `YYYY-MM-DD HH:MM[:SS] [+HH:MM]`, `YYYY-MM-DD`; in the site's zone without an offset).
/// Returns a store timestamp (UTC).
pub fn parse_time(s: &str, tz: &Timezone) -> anyhow::Result<Timestamp> {
    parse_date(s, tz).map(Timestamp::from).map_err(|e| match e {
        DateError::OutOfRange(m) => anyhow::anyhow!(m),
        DateError::Unreadable(m) => anyhow::anyhow!(
            "{s:?} is not a time ({m}): write it as 2024-05-01T10:00:00+02:00 (RFC 3339) or 2024-05-01 10:00 (site time zone)"
        ),
    })
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in NAIVE_FORMATS {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Splits a trailing zone (`Z`, `UTC`, `GMT`, `+0200`, `+02:00`) from a date.
fn split_zone(s: &str) -> (&str, Option<chrono::FixedOffset>) {
    let utc = chrono::FixedOffset::east_opt(0);
    for suffix in [" UTC", " GMT", " Z", "Z"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            if rest.len() >= 10 {
                return (rest, utc);
            }
        }
    }
    // An offset is the last `+`/`-` that comes after the time part (past the date's hyphens).
    if let Some(tail) = s.get(10..) {
        if let Some(i) = tail.rfind(['+', '-']).map(|i| i + 10) {
            if let Some(off) = parse_offset(s[i..].trim()) {
                return (s[..i].trim_end(), Some(off));
            }
        }
    }
    (s, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> String {
        Timestamp::from(parse_date(s, &Timezone::utc()).unwrap()).to_string()
    }

    #[test]
    fn forms_real_blogs_use() {
        assert_eq!(utc("2024-05-01"), "2024-05-01 00:00:00");
        assert_eq!(utc("2024-05-01 10:00:00 +0200"), "2024-05-01 08:00:00");
        assert_eq!(utc("2024-05-01 10:00:00 +02:00"), "2024-05-01 08:00:00");
        assert_eq!(utc("2024-05-01T10:00:00+02:00"), "2024-05-01 08:00:00");
        assert_eq!(utc("2024-05-01T10:00:00Z"), "2024-05-01 10:00:00");
        assert_eq!(utc("2024-05-01T10:00:00.123Z"), "2024-05-01 10:00:00");
        assert_eq!(utc("2024-05-01 10:00"), "2024-05-01 10:00:00");
        assert_eq!(utc("2013-05-08 23:46:11 -0700"), "2013-05-09 06:46:11");
        assert_eq!(utc("2024-05-01 10:00:00 UTC"), "2024-05-01 10:00:00");
    }

    #[test]
    fn zone_less_dates_use_the_site_zone() {
        let paris = Timezone::parse("Europe/Paris").unwrap();
        let d = parse_date("2024-07-01 12:00:00", &paris).unwrap();
        assert_eq!(Timestamp::from(d).to_string(), "2024-07-01 10:00:00");
    }

    #[test]
    fn malformed_dates_are_refused() {
        let e = parse_date("2023-01-29 18:30:22 2023 -0800", &Timezone::utc()).unwrap_err();
        assert!(matches!(e, DateError::Unreadable(_)), "{e}");
        assert!(e.to_string().contains("cannot read the date"), "{e}");
        assert!(parse_date("yesterday", &Timezone::utc()).is_err());
        assert!(parse_date("2024-02-30", &Timezone::utc()).is_err());
        assert!(parse_date("éééééé 12:00 +02", &Timezone::utc()).is_err());
    }

    #[test]
    fn only_the_years_feeds_can_carry_are_taken() {
        let utc = Timezone::utc();
        for ok in ["0001-01-01", "9999-12-31 23:59:59", "9999-12-31T23:59:59Z"] {
            assert!(parse_date(ok, &utc).is_ok(), "{ok}");
        }
        for far in [
            "+10000-01-01",
            "10000-01-01T00:00:00Z",
            "0000-12-31",
            "-0001-01-01",
            "9999-12-31 23:00:00 -0500",
        ] {
            match parse_date(far, &utc) {
                Err(DateError::OutOfRange(m)) => {
                    assert!(m.contains("outside the years 1 to 9999"), "{m}")
                }
                // chrono reads some of these forms, not all; none may pass.
                Err(DateError::Unreadable(_)) if !far.starts_with('+') => {}
                other => panic!("{far}: {other:?}"),
            }
        }
        // In range in UTC, but in year 10000 where the site is.
        let east = Timezone::parse("+05:00").unwrap();
        let e = parse_date("9999-12-31T22:00:00Z", &east).unwrap_err();
        assert!(matches!(e, DateError::OutOfRange(_)), "{e}");
        assert!(midnight(NaiveDate::from_ymd_opt(1, 1, 1).unwrap(), &east).is_none());
    }

    #[test]
    fn times_parse_in_the_site_zone() {
        let tz = Timezone::parse("+02:00").unwrap();
        assert_eq!(
            parse_time("2024-05-01 10:00", &tz).unwrap().to_string(),
            "2024-05-01 08:00:00"
        );
        assert_eq!(
            parse_time("2024-05-01T10:00:00Z", &tz).unwrap().to_string(),
            "2024-05-01 10:00:00"
        );
        assert!(parse_time("tomorrow", &tz).is_err());
    }
}
