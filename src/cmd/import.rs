//! `bloggo import PATH`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

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
    #[arg(long, value_parser = ["draft", "published"])]
    pub status: Option<String>,
}

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("import: in progress (issue 3)")
}
