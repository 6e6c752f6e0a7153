//! `bloggo backup create|list|verify|restore|prune|status`

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Take an online, verified, compressed backup.
    Create {
        #[arg(long)]
        note: Option<String>,
    },
    /// List backups.
    List,
    /// Verify one backup, or all.
    Verify { id: Option<String> },
    /// Restore a backup (a safety backup of the current store is taken first).
    Restore {
        id: String,
        #[arg(long)]
        yes: bool,
    },
    /// Delete backups beyond the retention policy.
    Prune {
        #[arg(long)]
        dry_run: bool,
    },
    /// Age of the newest good backup; non-zero exit when too old.
    Status,
}

pub fn run(_ctx: &Ctx, _args: Args) -> Result<ExitCode> {
    anyhow::bail!("backup: in progress (issue 6)")
}
