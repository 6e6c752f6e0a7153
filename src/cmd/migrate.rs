//! `bloggo migrate status|up|down|reset`

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
    /// Roll every migration back and apply them all again: an empty store of the current
    /// schema. A verified safety backup of the store is taken first (restore it with
    /// `bloggo backup restore ID`).
    #[command(after_help = "Example:\n  bloggo migrate reset --yes")]
    Reset {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
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
        Args::Reset { yes } => {
            let _lock = crate::lock::ServeLock::acquire(&settings)
                .context("refusing to reset the store")?;
            if !yes {
                confirm(&settings.store)?;
            }
            drop(store);
            let actor = crate::backup::Actor {
                email: None,
                via: "migrate reset",
            };
            let backup = crate::backup::create(
                &settings,
                &actor,
                Some("before migrate reset"),
                chrono::Utc::now(),
            )
            .context("the safety backup failed, so the store was not reset (fix the backup first, or `bloggo db recover` a damaged store)")?;
            println!("safety backup {} ({})", backup.id, backup.path.display());
            let mut store = Store::open_unmigrated(&settings.store)?;
            let down = store.migrate_down(0)?;
            let up = store.migrate_up(None)?;
            store
                .audit_maintenance(
                    "migrate.reset",
                    &serde_json::json!({
                        "backup": backup.id,
                        "rolled_back": down.len(),
                        "applied": up.len(),
                    }),
                )
                .context("reset, but the audit row could not be written")?;
            println!(
                "rolled back {} and applied {} migrations: the store is empty at schema version {}; `bloggo backup restore {}` brings the old one back",
                down.len(),
                up.len(),
                migrate::latest_version(),
                backup.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal before a reset; refuses when stdin is not one.
fn confirm(store: &std::path::Path) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "migrate reset empties {} and stdin is not a terminal to confirm it: pass --yes to reset without asking",
            store.display()
        );
    }
    print!(
        "Empty {} (every post, user and view; a safety backup is taken first)? [y/N] ",
        store.display()
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        anyhow::bail!("reset cancelled; nothing was changed");
    }
    Ok(())
}
