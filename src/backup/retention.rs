//! Grandfather-father-son retention, as a pure function of backup dates, the policy and "now".
//!
//! Each tier keeps its backups of its newest N periods that have backups: `keep_daily` days,
//! `keep_weekly` ISO weeks, `keep_monthly` months (dates in the site's time zone), so several
//! backups taken on one day (a manual one, a scheduled one) all stay until their day falls out
//! of the window. Everything else in that tier is deleted, except protected backups (the newest good one) and backups
//! dated after "now" (a clock that went backwards must not delete the newest copies).
//! The `pre-restore` tier is never pruned here.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};

use super::Tier;
use crate::config::{Settings, Timezone};

/// How many of each tier to keep, and when weekly/monthly copies are made.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub keep_daily: usize,
    pub keep_weekly: usize,
    pub keep_monthly: usize,
    pub weekly_day: Weekday,
    pub timezone: Timezone,
}

impl Policy {
    /// The policy of a site's `[backup]` section.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Policy> {
        let b = &settings.config.backup;
        Ok(Policy {
            keep_daily: b.keep_daily,
            keep_weekly: b.keep_weekly,
            keep_monthly: b.keep_monthly,
            weekly_day: crate::config::weekday(&b.weekly_day)?,
            timezone: settings.timezone,
        })
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        (at.naive_utc() + self.timezone.offset_at(at)).date()
    }

    fn keep(&self, tier: Tier) -> usize {
        match tier {
            Tier::Daily => self.keep_daily,
            Tier::Weekly => self.keep_weekly,
            Tier::Monthly => self.keep_monthly,
            Tier::PreRestore => usize::MAX,
        }
    }

    /// The period a backup of this tier stands for: its day, ISO week or month.
    fn period(&self, tier: Tier, at: DateTime<Utc>) -> (i32, u32) {
        let d = self.local_date(at);
        match tier {
            Tier::Daily | Tier::PreRestore => (d.year(), d.ordinal()),
            Tier::Weekly => (d.iso_week().year(), d.iso_week().week()),
            Tier::Monthly => (d.year(), d.month()),
        }
    }
}

/// The tiers a backup taken at `at` belongs to: always daily; weekly on the configured
/// weekday; monthly on the first of the month.
pub fn tiers_for(at: DateTime<Utc>, policy: &Policy) -> Vec<Tier> {
    let d = policy.local_date(at);
    let mut tiers = vec![Tier::Daily];
    if d.weekday() == policy.weekly_day {
        tiers.push(Tier::Weekly);
    }
    if d.day() == 1 {
        tiers.push(Tier::Monthly);
    }
    tiers
}

/// One backup file as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dated<K> {
    pub key: K,
    pub tier: Tier,
    pub created: DateTime<Utc>,
}

/// What to keep and what to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<K> {
    pub keep: Vec<K>,
    pub delete: Vec<K>,
}

/// Decides which backups to delete. `protect` names keys that are never deleted.
pub fn plan<K: Clone + PartialEq>(
    backups: &[Dated<K>],
    policy: &Policy,
    now: DateTime<Utc>,
    protect: &[K],
) -> Plan<K> {
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for tier in [Tier::Daily, Tier::Weekly, Tier::Monthly, Tier::PreRestore] {
        let mut of_tier: Vec<&Dated<K>> = backups.iter().filter(|b| b.tier == tier).collect();
        // Newest first; the key order is irrelevant to the outcome.
        of_tier.sort_by_key(|b| std::cmp::Reverse(b.created));
        let mut periods: Vec<(i32, u32)> = Vec::new();
        for b in of_tier {
            let kept = if tier == Tier::PreRestore || b.created > now {
                true
            } else {
                let p = policy.period(tier, b.created);
                if !periods.contains(&p) && periods.len() < policy.keep(tier) {
                    periods.push(p);
                }
                periods.contains(&p) || protect.contains(&b.key)
            };
            if kept {
                keep.push(b.key.clone());
            } else {
                delete.push(b.key.clone());
            }
        }
    }
    Plan { keep, delete }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn policy() -> Policy {
        Policy {
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 12,
            weekly_day: Weekday::Sun,
            timezone: Timezone::utc(),
        }
    }

    /// Two years of one backup a day at 03:00, pruned after every backup as `create` does:
    /// what is left is exactly the last 7 days, the last 4 Sundays and the last 12 firsts.
    #[test]
    fn two_years_of_daily_backups_leave_exactly_the_gfs_set() {
        let p = policy();
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 3, 0, 0).unwrap();
        let mut files: Vec<Dated<(Tier, DateTime<Utc>)>> = Vec::new();
        let mut now = start;
        for day in 0..730 {
            now = start + Duration::days(day);
            for tier in tiers_for(now, &p) {
                files.push(Dated {
                    key: (tier, now),
                    tier,
                    created: now,
                });
            }
            let plan = plan(&files, &p, now, &[]);
            files.retain(|f| !plan.delete.contains(&f.key));
            for (tier, max) in [(Tier::Daily, 7), (Tier::Weekly, 4), (Tier::Monthly, 12)] {
                assert!(files.iter().filter(|f| f.tier == tier).count() <= max);
            }
        }
        let of = |tier: Tier| {
            let mut v: Vec<NaiveDate> = files
                .iter()
                .filter(|f| f.tier == tier)
                .map(|f| f.created.date_naive())
                .collect();
            v.sort();
            v
        };
        let today = now.date_naive();
        let expect_daily: Vec<NaiveDate> =
            (0..7).rev().map(|i| today - Duration::days(i)).collect();
        assert_eq!(of(Tier::Daily), expect_daily);
        let mut sundays: Vec<NaiveDate> = (0..730)
            .map(|i| today - Duration::days(i))
            .filter(|d| d.weekday() == Weekday::Sun)
            .take(4)
            .collect();
        sundays.reverse();
        assert_eq!(of(Tier::Weekly), sundays);
        let mut firsts: Vec<NaiveDate> = (0..730)
            .map(|i| today - Duration::days(i))
            .filter(|d| d.day() == 1)
            .take(12)
            .collect();
        firsts.reverse();
        assert_eq!(of(Tier::Monthly), firsts);
    }

    #[test]
    fn every_backup_of_a_kept_day_stays_and_older_days_go() {
        let p = policy();
        let first = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        // Two backups a day for 9 days: keys (day, n).
        let files: Vec<Dated<(i64, i64)>> = (0..9)
            .flat_map(|d| {
                (0..2).map(move |n| Dated {
                    key: (d, n),
                    tier: Tier::Daily,
                    created: first + Duration::days(d) + Duration::hours(6 * n),
                })
            })
            .collect();
        let now = first + Duration::days(9);
        let mut plan = plan(&files, &p, now, &[]);
        plan.delete.sort();
        assert_eq!(plan.delete, vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert_eq!(plan.keep.len(), 14);
    }

    #[test]
    fn the_newest_backup_counts_for_its_day_even_when_protected() {
        let p = policy();
        let day = Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap();
        let files: Vec<Dated<i64>> = (0..10)
            .map(|d| Dated {
                key: d,
                tier: Tier::Daily,
                created: day + Duration::days(d),
            })
            .collect();
        let plan = plan(&files, &p, day + Duration::days(10), &[9]);
        assert_eq!(plan.keep, vec![9, 8, 7, 6, 5, 4, 3]);
        assert_eq!(plan.delete, vec![2, 1, 0]);
    }

    #[test]
    fn protected_future_and_pre_restore_backups_are_kept() {
        let mut p = policy();
        p.keep_daily = 0;
        let now = Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap();
        let d = |key: i64, tier, hours: i64| Dated {
            key,
            tier,
            created: now + Duration::hours(hours),
        };
        let files = vec![
            d(1, Tier::Daily, -48),
            d(2, Tier::Daily, -24),
            d(3, Tier::Daily, 5),
            d(4, Tier::PreRestore, -100),
        ];
        let plan = plan(&files, &p, now, &[2]);
        assert_eq!(plan.delete, vec![1]);
        assert!(plan.keep.contains(&2) && plan.keep.contains(&3) && plan.keep.contains(&4));
    }

    #[test]
    fn tiers_follow_the_site_time_zone() {
        let mut p = policy();
        // 2026-03-01 is a Sunday; 23:30 UTC on 28 Feb is already 1 March in Paris.
        p.timezone = Timezone::parse("Europe/Paris").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 2, 28, 23, 30, 0).unwrap();
        assert_eq!(
            tiers_for(at, &p),
            vec![Tier::Daily, Tier::Weekly, Tier::Monthly]
        );
        assert_eq!(tiers_for(at, &policy()), vec![Tier::Daily]);
    }
}
