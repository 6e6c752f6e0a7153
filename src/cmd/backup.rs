//! `bloggo backup create|list|verify|restore|prune|status`

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Result};
use chrono::Utc;

use super::Ctx;
use crate::backup::crypt::Keys;
use crate::backup::{self, shown, Actor, BackupInfo};
use crate::content::ActAs;
use crate::units;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// Take an online, verified, compressed backup (daily; also weekly/monthly on their days),
    /// then prune beyond the retention of `[backup]`.
    #[command(after_help = "Example:\n  bloggo backup create --note \"before the redesign\"")]
    Create {
        /// A note kept in the backup's sidecar and shown by `list`.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        act: ActAs,
    },
    /// List backups: ID, tier, date, size, posts and views, verified, note.
    List {
        /// The off-site copies in `[backup.remote]` instead: ID, tier, date, size, encrypted.
        #[arg(long)]
        remote: bool,
    },
    /// Verify one backup (by ID), or all; exits non-zero if any fails.
    #[command(after_help = "Example:\n  bloggo backup verify 20261123-104500")]
    Verify {
        /// `20261123-104500` (every tier holding it), or `daily/20261123-104500`.
        id: Option<String>,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        act: ActAs,
    },
    /// Restore a backup (verified first; a pre-restore safety backup of the current store is
    /// taken). Refused while `bloggo serve` runs on the site.
    #[command(after_help = "Example:\n  bloggo backup restore 20261123-104500 --yes")]
    Restore {
        /// The backup ID, as `bloggo backup list` shows it.
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Download the backup from `[backup.remote]` (checked against its sidecar's SHA-256)
        /// and restore that.
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        act: ActAs,
    },
    /// Delete backups beyond the retention policy (never the newest good one, never pre-restore).
    Prune {
        /// Only say what would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        act: ActAs,
    },
    /// Age of the newest good backup; non-zero exit when older than `[backup] max_age` or none.
    Status,
}

/// The keys of encrypted backups: `--identity`, and the passphrase from the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// The age identity (secret key) file of the recipient a backup is encrypted to.
    /// Default: $BLOGGO_BACKUP_IDENTITY. A passphrase is read from $BLOGGO_BACKUP_PASSPHRASE.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<std::path::PathBuf>,
}

impl KeyArgs {
    fn keys(self) -> Keys {
        Keys::from_env(self.identity)
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    let settings = ctx.settings()?;
    let now = Utc::now();
    match args {
        Args::Create { note, act } => {
            let actor = Actor::cli(&settings, &act)?;
            let bar = progress_bar(ctx.quiet);
            let c = backup::create::create(
                &settings,
                &actor,
                note.as_deref(),
                now,
                &mut |done, total| {
                    if let Some(b) = &bar {
                        b.set_length(total);
                        b.set_position(done);
                    }
                },
            )?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let meta = c.info.meta.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "backup {} ({}): {} → {} in {:.2}s, verified in {:.2}s",
                c.info.id,
                c.tiers
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                units::bytes(meta.size),
                units::bytes(meta.compressed_size),
                c.copy_time.as_secs_f64(),
                c.verify_time.as_secs_f64()
            );
            if !ctx.quiet {
                println!("  {}", shown(&settings, &c.info.path));
            }
            print_pruned(&settings, &c.pruned, false);
            match &c.off_site {
                Some(Ok(o)) => {
                    println!("  off-site: {} files → {}", o.uploaded.len(), o.url);
                    for p in &o.pruned {
                        println!("  deleted off-site {p}");
                    }
                }
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::FAILURE);
                }
                None => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Args::List { remote: true } => list_remote(&settings),
        Args::List { remote: false } => {
            let all = backup::list(&settings)?;
            if all.is_empty() {
                println!(
                    "no backups in {}; take one with `bloggo backup create`",
                    settings.backup_dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<16} {:<11} {:<19} {:>9} {:>7} {:>9}  {:<8} NOTE",
                "ID", "TIER", "DATE (UTC)", "SIZE", "POSTS", "VIEWS", "VERIFIED"
            );
            for b in &all {
                let (posts, views, verified, note) = match &b.meta {
                    Ok(m) => (
                        m.rows_of("posts").map_or("?".into(), |n| n.to_string()),
                        m.rows_of("post_views")
                            .map_or("?".into(), |n| n.to_string()),
                        match &m.verified {
                            Some(v) if v.ok => "yes",
                            Some(_) => "FAILED",
                            None => "no",
                        },
                        m.note.clone().unwrap_or_default(),
                    ),
                    Err(_) => (
                        "?".into(),
                        "?".into(),
                        "no",
                        "(sidecar missing or unreadable)".into(),
                    ),
                };
                println!(
                    "{:<16} {:<11} {:<19} {:>9} {:>7} {:>9}  {:<8} {}",
                    b.id,
                    b.tier.as_str(),
                    b.created.format("%Y-%m-%d %H:%M:%S"),
                    units::bytes(b.file_size()),
                    posts,
                    views,
                    verified,
                    note
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Args::Verify { id, keys, act } => {
            let keys = keys.keys();
            let actor = Actor::cli(&settings, &act)?;
            let targets = match &id {
                Some(id) => backup::find(&settings, id)?,
                None => backup::list(&settings)?,
            };
            if targets.is_empty() {
                println!("no backups to verify in {}", settings.backup_dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let mut failed = 0;
            println!("{:<16} {:<11} {:<6} PROBLEMS", "ID", "TIER", "RESULT");
            for b in &targets {
                let v = backup::verify(&settings, &actor, &keys, b, now)?;
                if !v.ok {
                    failed += 1;
                }
                println!(
                    "{:<16} {:<11} {:<6} {}",
                    b.id,
                    b.tier.as_str(),
                    if v.ok { "ok" } else { "FAILED" },
                    v.problems.join("; ")
                );
            }
            println!("{} checked, {} failed", targets.len(), failed);
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Args::Restore {
            id,
            yes,
            remote,
            keys,
            act,
        } => {
            let keys = keys.keys();
            let actor = Actor::cli(&settings, &act)?;
            if crate::lock::held_by_server(&settings) {
                bail!(
                    "refusing to restore: the store is in use by a running `bloggo serve` (lock {}); stop it first",
                    crate::lock::lock_path(&settings).display()
                );
            }
            if !yes {
                confirm(&settings, &id, remote)?;
            }
            let r = if remote {
                backup::restore_remote(&settings, &actor, &keys, &id, now)?
            } else {
                backup::restore(&settings, &actor, &keys, &id, now)?
            };
            match (&r.safety, &r.safety_skipped) {
                (Some(s), _) => {
                    println!(
                        "safety backup of the previous store: {} ({})",
                        s.tier_id(),
                        shown(&settings, &s.path)
                    );
                    if !r.safety_problems.is_empty() {
                        println!(
                            "  warning: it did not verify cleanly: {}",
                            r.safety_problems.join("; ")
                        );
                    }
                }
                (None, Some(why)) => {
                    println!("no safety backup: the current store could not be read ({why})")
                }
                (None, None) => {}
            }
            println!(
                "restored {} into {}{}",
                r.restored.tier_id(),
                settings.store.display(),
                if r.to_schema > r.from_schema {
                    format!(
                        " (migrated from schema {} to {})",
                        r.from_schema, r.to_schema
                    )
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Args::Prune { dry_run, act } => {
            let actor = Actor::cli(&settings, &act)?;
            let p = backup::prune(&settings, &actor, now, dry_run)?;
            print_pruned(&settings, &p, dry_run);
            if p.deleted.is_empty() && p.stale_temp.is_empty() {
                println!("nothing to prune ({} backup files kept)", p.kept);
            }
            Ok(ExitCode::SUCCESS)
        }
        Args::Status => {
            let s = backup::status(&settings, now)?;
            let limit = humantime::format_duration(s.max_age);
            match (&s.newest_good, s.age) {
                (Some(b), Some(age)) => {
                    let age = humantime::format_duration(std::time::Duration::from_secs(
                        age.num_seconds().max(0) as u64,
                    ));
                    println!(
                        "newest good backup: {} ({}), {} old (max {limit}): {}",
                        b.id,
                        b.tier,
                        age,
                        if s.fresh { "ok" } else { "TOO OLD" }
                    );
                }
                _ => println!(
                    "no good backup in {}: take one with `bloggo backup create`",
                    settings.backup_dir.display()
                ),
            }
            // What the store remembers (serve schedules by it), when it can be read.
            if let Ok((taken, verified)) = backup::record::last(&settings) {
                if let Some(t) = taken {
                    println!(
                        "last backup taken: {} at {}",
                        t.id,
                        t.at.format("%Y-%m-%d %H:%M:%S UTC")
                    );
                }
                if let Some(v) = verified {
                    println!(
                        "last verified: {} at {}",
                        v.backup,
                        v.at.format("%Y-%m-%d %H:%M:%S UTC")
                    );
                }
            }
            Ok(if s.fresh {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `backup list --remote`.
fn list_remote(settings: &crate::config::Settings) -> Result<ExitCode> {
    let Some(remote) = backup::remote::Remote::open(settings)? else {
        bail!("no [backup.remote] in bloggo.toml: there are no off-site backups to list");
    };
    let all = remote.list()?;
    if all.is_empty() {
        println!("no off-site backups in {}", remote.url);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<11} {:<19} {:>9}  {:<9} COMPLETE",
        "ID", "TIER", "DATE (UTC)", "SIZE", "ENCRYPTED"
    );
    for b in &all {
        println!(
            "{:<16} {:<11} {:<19} {:>9}  {:<9} {}",
            b.id,
            b.tier.as_str(),
            b.created.format("%Y-%m-%d %H:%M:%S"),
            units::bytes(b.size),
            if b.encrypted() { "yes" } else { "no" },
            if b.sidecar.is_some() {
                "yes"
            } else {
                "no (no sidecar)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_pruned(settings: &crate::config::Settings, pruned: &backup::Pruned, dry_run: bool) {
    let verb = if dry_run { "would delete" } else { "deleted" };
    for b in &pruned.deleted {
        println!("{verb} {} ({})", b.tier_id(), shown(settings, &b.path));
    }
    for p in &pruned.stale_temp {
        println!(
            "{verb} {} (left by an interrupted backup)",
            shown(settings, p)
        );
    }
}

/// Asks on the terminal; refuses when stdin is not one.
fn confirm(settings: &crate::config::Settings, id: &str, remote: bool) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("restore replaces the store and stdin is not a terminal to confirm it: pass --yes to restore {id} without asking");
    }
    let what = if remote {
        format!("the off-site backup {id}")
    } else {
        let b: BackupInfo = backup::find(settings, id)?.remove(0);
        let posts = b
            .meta
            .as_ref()
            .ok()
            .and_then(|m| m.rows_of("posts"))
            .map_or("?".into(), |n| n.to_string());
        format!(
            "backup {} ({} UTC, {posts} posts)",
            b.tier_id(),
            b.created.format("%Y-%m-%d %H:%M:%S")
        )
    };
    print!(
        "Replace {} with {what}? A safety backup of the current store is taken first. [y/N] ",
        settings.store.display(),
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        bail!("restore cancelled; nothing was changed");
    }
    Ok(())
}

fn progress_bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(0);
    b.set_style(
        indicatif::ProgressStyle::with_template("copying {bar:30} {percent:>3}% {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(b)
}
