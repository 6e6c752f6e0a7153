//! `bloggo build`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

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

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("build: in progress (issue 4)")
}
