//! `bloggo serve`

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  bloggo --site my-blog serve --port 0 --open")]
pub struct Args {
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long)]
    pub bind: Option<String>,
    /// Port (0 picks a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Include drafts, pending and scheduled posts.
    #[arg(long)]
    pub drafts: bool,
    /// Do not watch for changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Open the site in a browser.
    #[arg(long)]
    pub open: bool,
}

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("serve: in progress (issue 5)")
}
