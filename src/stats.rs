//! What `bloggo stats`, its dashboard (`stats --html`, `/_bloggo/stats`) and the admin API's
//! `GET /stats` report: the views of a window, in total and per UTC day, per post (with each
//! post's daily series), by device class and by referrer, read in one go from the store.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{Days as DayCount, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::serve::device::{classify, Device};
use crate::store::views::{DeviceClass, Span};
use crate::store::{Store, TIMESTAMP_FORMAT};

/// The longest range a report covers, in days.
pub const MAX_DAYS: u64 = 3660;

/// The views of one window.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// UTC, the store's timestamp format: the first moment counted.
    pub since: String,
    /// UTC, the store's timestamp format: the first moment no longer counted.
    pub until: String,
    pub total: i64,
    /// Every UTC day the window touches, oldest first, days without views included.
    pub days: Vec<Day>,
    pub posts: Vec<PostLine>,
    pub devices: Devices,
    pub referrers: Vec<Referrer>,
}

/// The views of one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Day {
    pub day: NaiveDate,
    pub views: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostLine {
    pub slug: String,
    pub title: String,
    pub views: i64,
    /// The post's views on each of [`Stats::days`], in the same order.
    pub daily: Vec<i64>,
}

/// Views per device class.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Devices {
    pub desktop: i64,
    pub mobile: i64,
    pub tablet: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Referrer {
    pub referrer: String,
    pub views: i64,
}

/// A range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a range of days was refused (the dashboard answers 400 with it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("{0:?} is not a date: write it as YYYY-MM-DD")]
    NotADate(String),
    #[error("the range ends ({to}) before it begins ({from})")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("the range is longer than {MAX_DAYS} days")]
    TooLong,
}

impl DayRange {
    /// `from..=to`, checked.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DayRange, RangeError> {
        if to < from {
            return Err(RangeError::Backwards { from, to });
        }
        if (to - from).num_days() as u64 >= MAX_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(DayRange { from, to })
    }

    /// The `days` days that end with `to` (today, usually).
    pub fn ending(to: NaiveDate, days: u64) -> DayRange {
        let from = to
            .checked_sub_days(DayCount::new(days.clamp(1, MAX_DAYS) - 1))
            .unwrap_or(to);
        DayRange { from, to }
    }

    /// The span of the store's timestamps these days cover.
    pub fn span(&self) -> Span {
        let midnight = |d: NaiveDate| {
            d.and_time(NaiveTime::MIN)
                .format(TIMESTAMP_FORMAT)
                .to_string()
        };
        Span {
            since: midnight(self.from),
            until: self
                .to
                .succ_opt()
                .map_or_else(|| "9999-12-31 23:59:59".to_string(), midnight),
        }
    }

    /// How many days the range holds (at least one: both ends are included).
    pub fn day_count(&self) -> usize {
        (self.to - self.from).num_days() as usize + 1
    }

    /// Its days, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take(self.day_count())
    }
}

/// A date as the dashboard's form and `--from`/`--to` take it: `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<NaiveDate, RangeError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| RangeError::NotADate(text.to_string()))
}

/// Today, UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The views newer than `window` (up to now), the `top` posts and referrers.
pub fn gather(
    store_path: &std::path::Path,
    window: std::time::Duration,
    top: usize,
) -> Result<Stats> {
    let window = chrono::Duration::from_std(window).context("the window is too long")?;
    let now = Utc::now();
    let start = now
        .checked_sub_signed(window)
        .context("the window is too long")?;
    let days = DayRange::new(start.date_naive(), now.date_naive())
        .map_err(|_| anyhow::anyhow!("the window is longer than {MAX_DAYS} days"))?;
    let span = Span {
        since: start.format(TIMESTAMP_FORMAT).to_string(),
        until: days.span().until,
    };
    gather_span(store_path, &span, &days, top)
}

/// The views of whole UTC days, the `top` posts and referrers.
pub fn gather_days(store_path: &std::path::Path, days: &DayRange, top: usize) -> Result<Stats> {
    gather_span(store_path, &days.span(), days, top)
}

/// The views of `span`, whose days are `days`.
fn gather_span(
    store_path: &std::path::Path,
    span: &Span,
    days: &DayRange,
    top: usize,
) -> Result<Stats> {
    let store = Store::open_read_only(store_path)?;
    let read = || -> Result<_, crate::store::StoreError> {
        let posts = store.views_per_post(span, top)?;
        let mut series = Vec::with_capacity(posts.len());
        for p in &posts {
            series.push(store.post_views_per_day(p.id, span)?);
        }
        Ok((
            store.total_views(span)?,
            store.views_per_day(span)?,
            posts,
            series,
            store.views_by_user_agent(span)?,
            store.top_referrers(span, top)?,
        ))
    };
    let (total, per_day, posts, series, agents, referrers) =
        read().with_context(|| format!("{}: cannot read the views", store_path.display()))?;
    let mut by_class: HashMap<DeviceClass, i64> = HashMap::new();
    for (ua, n) in agents {
        // Views are recorded from people only; an agent now seen as a bot counts as desktop.
        let class = match classify(&ua) {
            Device::Person(c) => c,
            Device::Bot => DeviceClass::Desktop,
        };
        *by_class.entry(class).or_default() += n;
    }
    let count = |c| by_class.get(&c).copied().unwrap_or(0);
    Ok(Stats {
        since: span.since.clone(),
        until: span.until.clone(),
        total,
        days: fill_days(days, &per_day)
            .into_iter()
            .zip(days.iter())
            .map(|(views, day)| Day { day, views })
            .collect(),
        posts: posts
            .into_iter()
            .zip(series)
            .map(|(p, s)| PostLine {
                slug: p.slug,
                title: p.title,
                views: p.views,
                daily: fill_days(days, &s),
            })
            .collect(),
        devices: Devices {
            desktop: count(DeviceClass::Desktop),
            mobile: count(DeviceClass::Mobile),
            tablet: count(DeviceClass::Tablet),
        },
        referrers: referrers
            .into_iter()
            .map(|(referrer, views)| Referrer { referrer, views })
            .collect(),
    })
}

/// Counts per `YYYY-MM-DD` → one count per day of `days`, 0 where none.
fn fill_days(days: &DayRange, counts: &[(String, i64)]) -> Vec<i64> {
    let mut out = vec![0; days.day_count()];
    for (day, n) in counts {
        if let Ok(d) = parse_day(day) {
            if d >= days.from && d <= days.to {
                out[(d - days.from).num_days() as usize] += n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn a_range_covers_whole_days_and_refuses_backwards_or_huge_ones() {
        let r = DayRange::new(d("2026-01-30"), d("2026-02-02")).unwrap();
        assert_eq!(r.day_count(), 4);
        assert_eq!(
            r.span(),
            Span {
                since: "2026-01-30 00:00:00".into(),
                until: "2026-02-03 00:00:00".into()
            }
        );
        assert_eq!(r.iter().last(), Some(d("2026-02-02")));
        assert_eq!(DayRange::ending(d("2026-02-02"), 7).from, d("2026-01-27"));
        assert_eq!(DayRange::ending(d("2026-02-02"), 1).day_count(), 1);
        assert!(matches!(
            DayRange::new(d("2026-02-02"), d("2026-02-01")),
            Err(RangeError::Backwards { .. })
        ));
        assert_eq!(
            DayRange::new(d("2000-01-01"), d("2026-01-01")),
            Err(RangeError::TooLong)
        );
        assert_eq!(
            parse_day("2026-13-01"),
            Err(RangeError::NotADate("2026-13-01".into()))
        );
    }

    #[test]
    fn days_without_views_are_zeros_and_days_outside_are_dropped() {
        let r = DayRange::new(d("2026-01-01"), d("2026-01-03")).unwrap();
        let counts = [
            ("2025-12-31".to_string(), 9),
            ("2026-01-01".to_string(), 2),
            ("2026-01-03".to_string(), 5),
        ];
        assert_eq!(fill_days(&r, &counts), vec![2, 0, 5]);
    }
}
