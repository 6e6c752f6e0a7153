//! `bloggo import PATH`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::import::{import_path, ChangeKind, ImportOptions};
use crate::model::PostStatus;
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  bloggo --site my-blog import ~/old-jekyll-site/_posts --dry-run"
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
        ..ImportOptions::default()
    };
    let done = import_path(&settings, &mut store, &args.path, &opts)
        .with_context(|| format!("import of {}", args.path.display()))?;
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
        for c in &summary.changes {
            let what = match c.kind {
                ChangeKind::New => "would add",
                ChangeKind::Updated => "would update",
                ChangeKind::Deleted => "would delete",
            };
            println!("{what}: {}", c.path);
        }
    }
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}
