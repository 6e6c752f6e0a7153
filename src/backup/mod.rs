//! Backups: online, verified, compressed, retained, restorable.
//!
//! A backup is `BACKUP_DIR/<tier>/bloggo-YYYYMMDD-HHMMSS.sqlite.gz` (gzip of a SQLite copy taken
//! with the online backup API; `.sqlite.gz.age` when encrypted, `crypt.rs`) plus a sidecar
//! `bloggo-YYYYMMDD-HHMMSS.meta.json`. Its ID is the
//! UTC stamp `YYYYMMDD-HHMMSS`: unique across tiers (a new backup never reuses a stamp), so the
//! weekly and monthly copies of a daily backup share its ID. `daily/20261123-104500` and the
//! file name `bloggo-20261123-104500` are accepted too.
//!
//! - `create`: take (`create.rs`), verify (`verify.rs`), link weekly/monthly copies, prune
//!   (`retention.rs`, a pure function of dates).
//! - `restore` (`restore.rs`), `db recover` (`recover.rs`).
//! - Off-site copies in S3-compatible storage after each backup (`remote.rs`).
//! - Create, verify, restore and prune write an audit row with their actor; the last backup
//!   taken and verified are remembered in the store's key-value store (`record.rs`).
//!
//! All SQL is in `crate::store::backup`.

pub mod create;
pub mod crypt;
pub mod record;
pub mod recover;
pub mod remote;
pub mod restore;
pub mod retention;
pub mod sidecar;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
pub use record::Actor;
pub use restore::{restore, restore_remote, RestoreReport};
pub use sidecar::Meta;
pub use verify::Verdict;

/// The backup file name's extension.
pub const EXTENSION: &str = ".sqlite.gz";
/// The extension of an encrypted backup (`crypt.rs`).
pub const ENCRYPTED_EXTENSION: &str = ".sqlite.gz.age";
/// `bloggo-` + stamp + extension.
pub const PREFIX: &str = "bloggo-";
/// The stamp format of IDs and file names (UTC).
pub const STAMP_FORMAT: &str = "%Y%m%d-%H%M%S";

/// The folder (and retention class) of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Daily,
    Weekly,
    Monthly,
    /// Taken by `restore` before it replaces the store; never pruned automatically.
    PreRestore,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Daily, Tier::Weekly, Tier::Monthly, Tier::PreRestore];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Daily => "daily",
            Tier::Weekly => "weekly",
            Tier::Monthly => "monthly",
            Tier::PreRestore => "pre-restore",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One backup file on disk and its sidecar.
#[derive(Debug, Clone)]
pub struct BackupInfo {
    /// `YYYYMMDD-HHMMSS`.
    pub id: String,
    pub tier: Tier,
    /// The `.sqlite.gz` file.
    pub path: PathBuf,
    /// From the file name (UTC).
    pub created: DateTime<Utc>,
    /// The sidecar, or why it could not be read.
    pub meta: std::result::Result<Meta, String>,
}

impl BackupInfo {
    /// `tier/ID`, unambiguous even among hard-linked copies.
    pub fn tier_id(&self) -> String {
        format!("{}/{}", self.tier, self.id)
    }

    /// The sidecar says the last verification passed and the file still has its size.
    pub fn is_good(&self) -> bool {
        match &self.meta {
            Ok(m) => {
                m.verified_ok()
                    && std::fs::metadata(&self.path).is_ok_and(|f| f.len() == m.compressed_size)
            }
            Err(_) => false,
        }
    }

    pub fn sidecar_path(&self) -> PathBuf {
        sidecar::path_for(&self.path)
    }

    /// Size of the compressed file on disk.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}

/// `YYYYMMDD-HHMMSS` of an instant.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format(STAMP_FORMAT).to_string()
}

fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, STAMP_FORMAT)
        .ok()
        .map(|n| Utc.from_utc_datetime(&n))
}

/// The folder of a tier.
pub fn tier_dir(settings: &Settings, tier: Tier) -> PathBuf {
    settings.backup_dir.join(tier.as_str())
}

/// The backup file of an ID in a tier, encrypted (`.sqlite.gz.age`) or not.
pub fn file_for(settings: &Settings, tier: Tier, id: &str, encrypted: bool) -> PathBuf {
    let ext = if encrypted {
        ENCRYPTED_EXTENSION
    } else {
        EXTENSION
    };
    tier_dir(settings, tier).join(format!("{PREFIX}{id}{ext}"))
}

/// A backup file name without its extension (`.sqlite.gz.age` or `.sqlite.gz`).
pub fn strip_extension(name: &str) -> Option<&str> {
    name.strip_suffix(ENCRYPTED_EXTENSION)
        .or_else(|| name.strip_suffix(EXTENSION))
}

/// Every backup file, oldest first (by ID, then tier).
pub fn list(settings: &Settings) -> Result<Vec<BackupInfo>> {
    let mut out = Vec::new();
    for tier in Tier::ALL {
        let dir = tier_dir(settings, tier);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("{}: cannot list", dir.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(id) = name.strip_prefix(PREFIX).and_then(strip_extension) else {
                continue;
            };
            let Some(created) = parse_stamp(id) else {
                continue;
            };
            let path = entry.path();
            let meta = sidecar::read(&sidecar::path_for(&path)).map_err(|e| format!("{e:#}"));
            out.push(BackupInfo {
                id: id.to_string(),
                tier,
                path,
                created,
                meta,
            });
        }
    }
    out.sort_by_key(|b| (b.created, b.tier as u8));
    Ok(out)
}

/// The backups an ID names: `20261123-104500`, `bloggo-20261123-104500[.sqlite.gz[.age]]`, or
/// `daily/20261123-104500` (one tier). Errors, listing what exists, when none matches.
pub fn find(settings: &Settings, id: &str) -> Result<Vec<BackupInfo>> {
    let (tier, rest) = match id.split_once('/') {
        Some((t, rest)) => (
            Some(Tier::parse(t).with_context(|| {
                format!("{id:?}: unknown tier {t:?}; tiers are daily, weekly, monthly, pre-restore")
            })?),
            rest,
        ),
        None => (None, id),
    };
    let bare = rest.strip_prefix(PREFIX).unwrap_or(rest);
    let bare = strip_extension(bare).unwrap_or(bare);
    let found: Vec<BackupInfo> = list(settings)?
        .into_iter()
        .filter(|b| b.id == bare && tier.is_none_or(|t| t == b.tier))
        .collect();
    if found.is_empty() {
        bail!(
            "no backup {id:?} in {}; `bloggo backup list` shows the IDs (like 20261123-104500)",
            settings.backup_dir.display()
        );
    }
    Ok(found)
}

/// The newest backup whose last verification passed (any tier).
pub fn newest_good(settings: &Settings) -> Result<Option<BackupInfo>> {
    Ok(list(settings)?.into_iter().rev().find(|b| b.is_good()))
}

/// Takes a backup now: online copy, compress, verify, weekly/monthly copies, then prune.
/// Fails (keeping the file, its sidecar marked failed) when verification fails.
pub fn create(
    settings: &Settings,
    actor: &Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<BackupInfo> {
    create::create(settings, actor, note, now, &mut |_, _| {}).map(|c| c.info)
}

/// Verifies one backup file, records the result in its sidecar, and writes the audit row
/// with the result, passed or failed (remembering a verification that passed).
pub fn verify(
    settings: &Settings,
    actor: &Actor,
    keys: &crypt::Keys,
    backup: &BackupInfo,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    let verdict = verify::verify_and_record(backup, keys, now)?;
    let mut details = record::describe(settings, backup);
    details["result"] = serde_json::json!(if verdict.ok { "ok" } else { "failed" });
    if !verdict.ok {
        details["problems"] = serde_json::json!(verdict.problems);
    }
    record::write(settings, actor, "backup.verify", details, |tx| {
        if verdict.ok {
            record::remember_verified(tx, backup, now)?;
        }
        Ok(())
    })?;
    Ok(verdict)
}

/// What `prune` removed (or would remove).
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    pub deleted: Vec<BackupInfo>,
    pub kept: usize,
    /// Temp files left by interrupted backups (older than a day), removed.
    pub stale_temp: Vec<PathBuf>,
}

/// Temp files of the backup folders (`.…tmp`, from an interrupted backup or verification)
/// untouched for a day: no running backup still writes them.
fn stale_temp_files(settings: &Settings, now: DateTime<Utc>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for tier in Tier::ALL {
        let Ok(entries) = std::fs::read_dir(tier_dir(settings, tier)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !(name.starts_with('.') && name.ends_with(".tmp")) {
                continue;
            }
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .map(|m| DateTime::<Utc>::from(m) < now - chrono::Duration::days(1))
                .unwrap_or(false);
            if old {
                out.push(e.path());
            }
        }
    }
    out
}

/// Deletes daily/weekly/monthly backups beyond the `[backup]` retention (and their sidecars),
/// never the newest good backup nor `pre-restore` ones, and temp files of interrupted backups
/// older than a day. With `dry_run`, only says what would go; otherwise writes the audit row.
pub fn prune(
    settings: &Settings,
    actor: &Actor,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Pruned> {
    let pruned = prune_files(settings, now, dry_run)?;
    if !dry_run {
        let details = serde_json::json!({
            "result": "ok",
            "deleted": pruned.deleted.iter().map(|b| record::describe(settings, b)).collect::<Vec<_>>(),
            "kept": pruned.kept,
            "stale_temp_files": pruned.stale_temp.iter().map(|p| shown(settings, p)).collect::<Vec<_>>(),
        });
        record::write(settings, actor, "backup.prune", details, |_| Ok(()))?;
    }
    Ok(pruned)
}

/// `prune` without the audit row (`create` records what it pruned in its own row).
fn prune_files(settings: &Settings, now: DateTime<Utc>, dry_run: bool) -> Result<Pruned> {
    let policy = retention::Policy::from_settings(settings)?;
    let all = list(settings)?;
    let newest_good: Vec<String> = all
        .iter()
        .rev()
        .find(|b| b.tier != Tier::PreRestore && b.is_good())
        .map(|b| vec![b.tier_id()])
        .unwrap_or_default();
    let dated: Vec<retention::Dated<String>> = all
        .iter()
        .map(|b| retention::Dated {
            key: b.tier_id(),
            tier: b.tier,
            created: b.created,
        })
        .collect();
    let plan = retention::plan(&dated, &policy, now, &newest_good);
    let mut pruned = Pruned {
        kept: plan.keep.len(),
        ..Pruned::default()
    };
    for b in all {
        if !plan.delete.contains(&b.tier_id()) {
            continue;
        }
        if !dry_run {
            remove_backup(&b)?;
        }
        pruned.deleted.push(b);
    }
    for p in stale_temp_files(settings, now) {
        if !dry_run {
            std::fs::remove_file(&p).with_context(|| format!("{}: cannot delete", p.display()))?;
        }
        pruned.stale_temp.push(p);
    }
    Ok(pruned)
}

/// Removes a backup file and its sidecar.
fn remove_backup(b: &BackupInfo) -> Result<()> {
    std::fs::remove_file(&b.path)
        .with_context(|| format!("{}: cannot delete", b.path.display()))?;
    match std::fs::remove_file(b.sidecar_path()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("{}: cannot delete", b.sidecar_path().display()))
        }
        _ => {}
    }
    if let Some(dir) = b.path.parent() {
        create::sync_dir(dir);
    }
    Ok(())
}

/// `backup status`: the newest good backup and whether it is recent enough.
#[derive(Debug, Clone)]
pub struct Status {
    pub newest_good: Option<BackupInfo>,
    pub age: Option<chrono::Duration>,
    pub max_age: std::time::Duration,
    /// A good backup exists and is no older than `max_age`.
    pub fresh: bool,
}

pub fn status(settings: &Settings, now: DateTime<Utc>) -> Result<Status> {
    let max_age = crate::config::parse_duration(&settings.config.backup.max_age)
        .context("[backup] max_age")?;
    let newest = newest_good(settings)?;
    let age = newest.as_ref().map(|b| now - b.created);
    let fresh = age.is_some_and(|a| a.to_std().map_or(true, |a| a <= max_age));
    Ok(Status {
        newest_good: newest,
        age,
        max_age,
        fresh,
    })
}

/// A path shown relative to the site folder when it is inside it.
pub fn shown(settings: &Settings, p: &Path) -> String {
    p.strip_prefix(&settings.root)
        .unwrap_or(p)
        .display()
        .to_string()
}
