//! `bloggo db check`

use std::process::ExitCode;

use anyhow::Result;

use super::Ctx;
use crate::store::check::{check, Health};

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Integrity and foreign-key checks, migration status, size and row counts.
    /// Ends with healthy, degraded or unhealthy; exits non-zero unless healthy.
    #[command(after_help = "Example:\n  bloggo --site my-blog db check")]
    Check,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    match args {
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
