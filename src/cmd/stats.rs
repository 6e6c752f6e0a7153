//! `bloggo stats`

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

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

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("stats: in progress (issue 5)")
}
