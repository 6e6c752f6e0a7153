//! `bloggo db check`, `bloggo db optimize`, `bloggo db recover OUT`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::Ctx;
use crate::store::check::{check, Health};

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Integrity and foreign-key checks, migration status, size and row counts.
    /// Ends with healthy, degraded or unhealthy; exits non-zero unless healthy.
    #[command(after_help = "Example:\n  bloggo --site my-blog db check")]
    Check,
    /// Salvage every readable row of a damaged store into a new store OUT (current schema).
    /// Never writes over the damaged store or an existing OUT.
    #[command(after_help = "Example:\n  bloggo db recover recovered.sqlite && bloggo db check")]
    Recover {
        /// The new store to write (must not exist).
        out: PathBuf,
    },
    /// Refresh the query planner's statistics (`PRAGMA optimize`; all of them with
    /// --analyze) and, with --vacuum, give free pages back to the disk; prints the sizes.
    #[command(after_help = "Example:\n  bloggo db optimize --vacuum")]
    Optimize {
        /// Gather every table's statistics (`ANALYZE`), not only the stale ones.
        #[arg(long)]
        analyze: bool,
        /// Rewrite the store without its free pages (`VACUUM`: needs as much free disk as
        /// the store, and holds the write lock while it runs).
        #[arg(long)]
        vacuum: bool,
    },
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    match args {
        Args::Optimize { analyze, vacuum } => {
            let store = crate::store::Store::open(&settings.store, false)?;
            let done = store
                .optimize(analyze, vacuum)
                .with_context(|| format!("{}: cannot optimize", settings.store.display()))?;
            store.audit_maintenance(
                "db.optimize",
                &serde_json::json!({
                    "analyze": analyze,
                    "vacuum": vacuum,
                    "bytes_before": done.before.bytes,
                    "bytes_after": done.after.bytes,
                }),
            )?;
            println!(
                "statistics {}; {} bytes ({} free) → {} bytes ({} free){}",
                if analyze {
                    "gathered for every table"
                } else {
                    "refreshed where stale"
                },
                done.before.bytes,
                done.before.free,
                done.after.bytes,
                done.after.free,
                if vacuum {
                    ""
                } else {
                    "; --vacuum gives the free pages back"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Args::Recover { out } => {
            let s = crate::backup::recover::recover(&settings.store, &out)?;
            let mut damaged = 0;
            for t in &s.tables {
                println!(
                    "  {:<20} {:>9} rows{}",
                    t.table,
                    t.rows,
                    match (&t.first_error, t.damaged_ranges) {
                        (Some(e), n) => {
                            damaged += 1;
                            format!("  ({n} damaged range(s) skipped: {e})")
                        }
                        _ => String::new(),
                    }
                );
            }
            for t in &s.skipped_tables {
                println!("  {t:<20} skipped (not in this bloggo's schema)");
            }
            if s.foreign_key_violations > 0 {
                println!(
                    "  {} row(s) point to rows that were lost (see `bloggo db check`)",
                    s.foreign_key_violations
                );
            }
            println!(
                "salvaged {} rows from {} into {} ({} table(s) damaged); {} was not changed",
                s.tables.iter().map(|t| t.rows).sum::<u64>(),
                settings.store.display(),
                out.display(),
                damaged,
                settings.store.display()
            );
            println!(
                "to use it: check it, then move it into place of {} (keep the damaged file)",
                settings.store.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Args::Check => {
            let r = check(&settings.store);
            println!("store:      {}", settings.store.display());
            println!("size:       {} bytes", r.file_size);
            println!(
                "integrity:  {}",
                if r.integrity.is_empty() {
                    "not checked".to_string()
                } else {
                    r.integrity.join("; ")
                }
            );
            println!(
                "foreign keys: {}",
                if r.foreign_key_violations.is_empty() {
                    "ok".to_string()
                } else {
                    r.foreign_key_violations.join("; ")
                }
            );
            println!(
                "schema:     version {} of {}",
                r.schema_version, r.latest_version
            );
            for (t, n) in &r.row_counts {
                println!("  {t:<16} {n}");
            }
            for p in &r.problems {
                println!("problem:    {p}");
            }
            println!("{}", r.health);
            Ok(if r.health == Health::Healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
