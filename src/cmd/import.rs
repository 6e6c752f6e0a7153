//! `bloggo import PATH`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::import::{import_dir, ChangeKind, ImportOptions};
use crate::model::PostStatus;
use crate::store::Store;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  bloggo --site my-blog import ~/old-jekyll-site/_posts --dry-run"
)]
pub struct Args {
    /// A folder of markdown files (Jekyll, Hugo, Zola or plain).
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
    };
    let summary = import_dir(&settings, &mut store, &args.path, &opts)
        .with_context(|| format!("import of {}", args.path.display()))?;
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
