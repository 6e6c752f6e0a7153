//! `bloggo import PATH`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::import::{import_path, report, ChangeKind, ImportOptions};
use crate::model::PostStatus;
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bloggo --site my-blog import ~/old-jekyll-site/_posts --dry-run\n  bloggo --site my-blog import ~/old-zola-site --report --dry-run"
)]
pub struct Args {
    /// A Jekyll, Hugo or Zola site's root (its posts folder is found from its config), or any
    /// folder of markdown files.
    pub path: PathBuf,
    /// Print what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Soft-delete posts whose source file is gone.
    #[arg(long)]
    pub prune: bool,
    /// Force every imported post to this status.
    #[arg(long, value_parser = ["draft", "pending", "published", "archived"])]
    pub status: Option<String>,
    /// List what was mapped how: each post added or changed with its URL and what set it,
    /// its section, kind, where its date came from, its aliases and the constructs left as
    /// text; then the totals. `--report=json` prints it as JSON (and nothing else on stdout).
    #[arg(
        long,
        value_name = "FORMAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "text",
        value_parser = ["text", "json"]
    )]
    pub report: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let mut store = Store::open(&settings.store, false)?;
    let status = args
        .status
        .as_deref()
        .map(|s| s.parse::<PostStatus>().map_err(anyhow::Error::msg))
        .transpose()?;
    let opts = ImportOptions {
        dry_run: args.dry_run,
        prune: args.prune,
        status,
        progress: !ctx.quiet,
        report: args.report.is_some(),
        ..ImportOptions::default()
    };
    let done = import_path(&settings, &mut store, &args.path, &opts)
        .with_context(|| format!("import of {}", args.path.display()))?;
    if args.report.as_deref() == Some("json") {
        let mut out = report::json(&done.summary);
        if let Some(p) = &done.profile {
            out["site"] = serde_json::json!({
                "generator": p.generator.to_string(),
                "config": p.config.display().to_string(),
                "taken_over": done.taken_over.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
                "not_taken_over": p.left_out,
            });
        }
        println!("{out:#}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(p) = &done.profile {
        if !ctx.quiet {
            println!(
                "{} is a {} site ({}): imported its posts from {}",
                args.path.display(),
                p.generator,
                p.config.display(),
                if p.only.is_empty() {
                    p.posts.display().to_string()
                } else {
                    p.only.join(" and ")
                }
            );
            for o in &done.taken_over {
                println!("  bloggo.toml: {o}");
            }
            for line in &p.left_out {
                println!("  not taken over: {line}");
            }
        }
    }
    let summary = done.summary;
    if args.dry_run && !ctx.quiet {
        // The report's rows say what would be added or updated.
        let listed =
            |c: &&crate::import::Change| args.report.is_none() || c.kind == ChangeKind::Deleted;
        for c in summary.changes.iter().filter(listed) {
            let what = match c.kind {
                ChangeKind::New => "would add",
                ChangeKind::Updated => "would update",
                ChangeKind::Deleted => "would delete",
            };
            println!("{what}: {}", c.path);
        }
    }
    if !ctx.quiet {
        if !summary.sections.is_empty() {
            println!("sections: {}", summary.sections.join(", "));
        }
        if !summary.sections_deleted.is_empty() {
            println!(
                "sections deleted (their _index.md is gone): {}",
                summary.sections_deleted.join(", ")
            );
        }
    }
    if args.report.is_some() {
        print!("{}", report::text(&summary));
    }
    println!("{summary}");
    if done.profile.is_some() && args.report.is_none() && !ctx.quiet {
        println!(
            "(`bloggo import {} --report` lists how each post was mapped: URL, section, date, aliases)",
            args.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
