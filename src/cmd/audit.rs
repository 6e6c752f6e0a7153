//! `bloggo audit`

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::content::{self, audit, open_store};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  bloggo audit --since 7d\n  bloggo audit --limit 20")]
pub struct Args {
    /// Only changes this recent (`7d`, `24h`, `30m`).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// At most this many rows (the newest).
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let (_settings, mut store) = open_store(&ctx.site)?;
    let since = match &args.since {
        Some(s) => {
            let d = crate::config::parse_duration(s).context("--since")?;
            Some(content::ago(d).context("--since is too long")?)
        }
        None => None,
    };
    let mut out = std::io::stdout().lock();
    for e in audit::list(&mut store, since, args.limit)? {
        let resource = match e.resource_id {
            Some(id) => format!("{} {id}", e.resource_type),
            None => e.resource_type.clone(),
        };
        let mut details = String::new();
        if let Some(o) = &e.old_values {
            details.push_str(&format!(" old={o}"));
        }
        if let Some(n) = &e.new_values {
            details.push_str(&format!(" new={n}"));
        }
        writeln!(
            out,
            "{}  {:<24} {:<16} {:<12}{details}",
            e.created_at,
            e.user.as_deref().unwrap_or("-"),
            e.action,
            resource
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
