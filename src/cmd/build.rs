//! `bloggo build`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::pipeline::{build_site, BuildOptions};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  bloggo --site my-blog build --base-url https://blog.example.com"
)]
pub struct Args {
    /// Output folder (default: the site's public/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Include drafts, pending and scheduled posts, marked as such.
    #[arg(long)]
    pub drafts: bool,
    /// Override base_url from bloggo.toml.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Ignore caches and rewrite every file.
    #[arg(long)]
    pub clean: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let opts = BuildOptions {
        out: args.out,
        drafts: args.drafts,
        base_url: args.base_url,
        clean: args.clean,
        quiet: ctx.quiet,
    };
    let summary = build_site(&settings, &opts)?;
    if !ctx.quiet {
        for w in &summary.warnings {
            eprintln!("warning: {w}");
        }
    }
    let removed = if summary.removed > 0 {
        format!(" ({} removed)", summary.removed)
    } else {
        String::new()
    };
    println!("{summary}{removed} → {}", summary.out.display());
    if let (Some((at, slug)), false) = (&summary.next_scheduled, ctx.quiet) {
        println!(
            "next scheduled post: {slug} at {}; build again then (the guide shows a cron line), or let `bloggo serve` do it",
            crate::frontmatter::dates::show_time(*at, &settings.timezone)
        );
    }
    Ok(ExitCode::SUCCESS)
}
