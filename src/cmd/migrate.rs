//! `bloggo migrate status|up|down`

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::store::{migrate, Store};

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List applied and pending migrations.
    Status,
    /// Apply pending migrations, each in its own transaction.
    #[command(after_help = "Example:\n  bloggo migrate up --to 2")]
    Up {
        /// Stop after this version.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Roll back to a version with the down migrations (0 removes the whole schema).
    #[command(after_help = "Example:\n  bloggo migrate down --to 1")]
    Down {
        #[arg(long)]
        to: i64,
    },
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let mut store = Store::open_unmigrated(&settings.store)?;
    match args {
        Args::Status => {
            let st = store.migration_status()?;
            for a in &st.applied {
                println!("applied  {:04} {:<28} {}", a.version, a.name, a.applied_at);
            }
            for m in &st.pending {
                println!("pending  {:04} {}", m.version, m.name);
            }
            println!(
                "schema version {} of {}",
                st.current_version(),
                migrate::latest_version()
            );
        }
        Args::Up { to } => {
            let done = store.migrate_up(to)?;
            for m in &done {
                println!("applied {:04} {}", m.version, m.name);
            }
            if done.is_empty() {
                println!("nothing to apply: the store is up to date");
            }
        }
        Args::Down { to } => {
            // A running serve writes views with the schema it started with: a downgrade
            // under it would leave it writing into tables that are gone.
            let _lock = crate::lock::ServeLock::acquire(&settings)
                .context("refusing to roll migrations back")?;
            let done = store.migrate_down(to)?;
            for m in &done {
                println!("rolled back {:04} {}", m.version, m.name);
            }
            if done.is_empty() {
                println!("nothing to roll back");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
