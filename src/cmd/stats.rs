//! `bloggo stats`

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::config::parse_duration;
use crate::serve::device::{classify, Device};
use crate::store::views::DeviceClass;
use crate::store::{Store, TIMESTAMP_FORMAT};

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
    let window = chrono::Duration::from_std(window).context("--since is too long")?;
    let since = (chrono::Utc::now() - window)
        .format(TIMESTAMP_FORMAT)
        .to_string();
    let store = Store::open_read_only(&settings.store)?;
    let read = || -> Result<_, crate::store::StoreError> {
        Ok((
            store.total_views(&since)?,
            store.views_per_post(&since, args.top)?,
            store.views_by_user_agent(&since)?,
            store.top_referrers(&since, args.top)?,
        ))
    };
    let (total, posts, agents, referrers) =
        read().with_context(|| format!("{}: cannot read the views", settings.store.display()))?;
    print!(
        "{}",
        report(&args.since, &since, total, &posts, &agents, &referrers)
    );
    Ok(ExitCode::SUCCESS)
}

/// The text `bloggo stats` prints.
fn report(
    window: &str,
    since: &str,
    total: i64,
    posts: &[crate::store::views::PostViews],
    agents: &[(String, i64)],
    referrers: &[(String, i64)],
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Views in the last {window} (since {since} UTC): {total}"
    );
    if total == 0 {
        let _ = writeln!(
            out,
            "No views recorded in this window; `bloggo serve` records views of post pages."
        );
        return out;
    }
    let _ = writeln!(out, "\nViews per post");
    let width = posts.iter().map(|p| p.slug.len()).max().unwrap_or(4);
    for p in posts {
        let _ = writeln!(out, "  {:>8}  {:<width$}  {}", p.views, p.slug, p.title);
    }
    let mut devices: HashMap<DeviceClass, i64> = HashMap::new();
    for (ua, n) in agents {
        // Views are recorded from people only; an agent now seen as a bot counts as desktop.
        let class = match classify(ua) {
            Device::Person(c) => c,
            Device::Bot => DeviceClass::Desktop,
        };
        *devices.entry(class).or_default() += n;
    }
    let _ = writeln!(out, "\nDevices");
    for (name, class) in [
        ("desktop", DeviceClass::Desktop),
        ("mobile", DeviceClass::Mobile),
        ("tablet", DeviceClass::Tablet),
    ] {
        let n = devices.get(&class).copied().unwrap_or(0);
        let pct = 100.0 * n as f64 / total as f64;
        let _ = writeln!(out, "  {name:<8}  {n:>8}  {pct:5.1}%");
    }
    let _ = writeln!(out, "\nTop referrers");
    if referrers.is_empty() {
        let _ = writeln!(out, "  (none: every view came without a referrer)");
    }
    for (r, n) in referrers {
        let _ = writeln!(out, "  {n:>8}  {r}");
    }
    out
}
