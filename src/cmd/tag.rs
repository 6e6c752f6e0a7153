//! `bloggo tag ...`

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List.
    List,
}

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("tag: in progress (issue 8)")
}
