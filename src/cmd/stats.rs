//! `bloggo stats`

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::config::parse_duration;
use crate::stats::{gather, Stats};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  bloggo stats --since 30d --top 10")]
pub struct Args {
    /// Only views newer than this (e.g. 7d, 30d, 12h).
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// How many posts and referrers to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let window = parse_duration(&args.since).context("--since")?;
    let stats = gather(&settings.store, window, args.top).context("--since")?;
    print!("{}", report(&args.since, &stats));
    Ok(ExitCode::SUCCESS)
}

/// The text `bloggo stats` prints.
fn report(window: &str, s: &Stats) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Views in the last {window} (since {} UTC): {}",
        s.since, s.total
    );
    if s.total == 0 {
        let _ = writeln!(
            out,
            "No views recorded in this window; `bloggo serve` records views of post pages."
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
