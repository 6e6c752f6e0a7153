//! `bloggo stats`: the views as text, or as the dashboard page (`--html FILE`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::config::parse_duration;
use crate::dashboard::page::{self, Page, Picker};
use crate::stats::{gather, gather_days, parse_day, today, DayRange, Stats};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  bloggo stats --since 30d --top 10\n  \
    bloggo stats --html stats.html --from 2026-11-01 --to 2026-11-30")]
pub struct Args {
    /// Only views newer than this (e.g. 7d, 30d, 12h).
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Whole UTC days from this one (YYYY-MM-DD) instead of --since; up to --to, or today.
    #[arg(long, conflicts_with = "since")]
    pub from: Option<String>,
    /// The last UTC day counted (YYYY-MM-DD), with --from.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// How many posts and referrers to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Write the dashboard (one self-contained HTML page with charts) to FILE instead.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let (stats, range, window) = match &args.from {
        Some(from) => {
            let from = parse_day(from).context("--from")?;
            let to = match &args.to {
                Some(to) => parse_day(to).context("--to")?,
                None => today(),
            };
            let range = DayRange::new(from, to).context("--from/--to")?;
            let stats = gather_days(&settings.store, &range, args.top)?;
            (stats, range, format!("from {from} to {to}"))
        }
        None => {
            let window = parse_duration(&args.since).context("--since")?;
            let stats = gather(&settings.store, window, args.top).context("--since")?;
            let range = DayRange::new(day_of(&stats.since)?, today()).context("--since")?;
            (stats, range, format!("in the last {}", args.since))
        }
    };
    let Some(file) = &args.html else {
        print!("{}", report(&window, &stats));
        return Ok(ExitCode::SUCCESS);
    };
    let html = page::render(&Page {
        site: &settings.config.title,
        stats: &stats,
        range,
        picker: Picker::Command(command_line(&args)),
        generated: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    });
    crate::fsx::write_atomic(file, html.as_bytes(), crate::fsx::Durability::Atomic)
        .with_context(|| format!("{}: cannot write the dashboard", file.display()))?;
    if !ctx.quiet {
        println!(
            "Wrote the dashboard of the views {window} ({} views, {} days) to {}",
            stats.total,
            range.day_count(),
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The day of a store timestamp.
fn day_of(timestamp: &str) -> Result<chrono::NaiveDate> {
    parse_day(timestamp.get(..10).unwrap_or(timestamp)).context("the window's start")
}

/// The flags that chose the range, as the page shows them.
fn command_line(args: &Args) -> String {
    let mut line = String::from("bloggo stats --html");
    match (&args.from, &args.to) {
        (Some(from), Some(to)) => line += &format!(" --from {from} --to {to}"),
        (Some(from), None) => line += &format!(" --from {from}"),
        _ => line += &format!(" --since {}", args.since),
    }
    line
}

/// The text `bloggo stats` prints; `window` says which views ("in the last 30d").
fn report(window: &str, s: &Stats) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "Views {window} (since {} UTC): {}", s.since, s.total);
    if s.total == 0 {
        let _ = writeln!(
            out,
            "No views recorded in this window; `bloggo serve` records views of post pages, and `bloggo views ingest` counts a deployed site's from its access logs."
        );
        return out;
    }
    let _ = writeln!(out, "\nViews per post");
    let width = s.posts.iter().map(|p| p.slug.len()).max().unwrap_or(4);
    for p in &s.posts {
        let _ = writeln!(out, "  {:>8}  {:<width$}  {}", p.views, p.slug, p.title);
    }
    let _ = writeln!(out, "\nDevices");
    for (name, n) in [
        ("desktop", s.devices.desktop),
        ("mobile", s.devices.mobile),
        ("tablet", s.devices.tablet),
    ] {
        let pct = 100.0 * n as f64 / s.total as f64;
        let _ = writeln!(out, "  {name:<8}  {n:>8}  {pct:5.1}%");
    }
    let _ = writeln!(out, "\nTop referrers");
    if s.referrers.is_empty() {
        let _ = writeln!(out, "  (none: every view came without a referrer)");
    }
    for r in &s.referrers {
        let _ = writeln!(out, "  {:>8}  {}", r.views, r.referrer);
    }
    out
}
