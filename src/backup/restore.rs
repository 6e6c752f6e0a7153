//! Restoring a backup: verify it, take a safety backup, write the copy beside the store,
//! check it, write it into the live store in one SQLite transaction, migrate.

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::create::{sync_dir, take, unique_stamp};
use super::crypt::Keys;
use super::record::{self, Actor};
use super::verify::{decompress_to, verify_and_record, verify_fresh};
use super::{find, BackupInfo, Tier};
use crate::config::Settings;
use crate::lock::ServeLock;
use crate::store::{self, Store};

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub restored: BackupInfo,
    /// The `pre-restore` backup of the store as it was.
    pub safety: Option<BackupInfo>,
    /// Why there is no safety backup (the store could not be read, or there was none).
    pub safety_skipped: Option<String>,
    /// Problems found verifying the safety backup (it is kept anyway).
    pub safety_problems: Vec<String>,
    /// Schema version of the backup, and after migrating.
    pub from_schema: i64,
    pub to_schema: i64,
}

/// Replaces the store with backup `id`. Refuses while a `bloggo serve` holds the site and when
/// the backup fails verification; the store is untouched in both cases (and by any failure
/// before the backup is written in). The audit row goes into the restored store.
pub fn restore(
    settings: &Settings,
    actor: &Actor,
    keys: &Keys,
    id: &str,
    now: DateTime<Utc>,
) -> Result<RestoreReport> {
    let _lock = ServeLock::acquire(settings).context("refusing to restore")?;
    let candidates = find(settings, id)?;
    let backup = candidates
        .iter()
        .find(|b| b.tier == Tier::Daily)
        .unwrap_or(&candidates[0])
        .clone();
    let r = replace_store(settings, keys, backup, now)?;
    audit(settings, actor, &r, None)?;
    Ok(r)
}

/// Restores off-site backup `id` (`[backup.remote]`): downloads it and its sidecar beside the
/// local backups, checks its SHA-256 against the sidecar, then restores it as [`restore`] does.
pub fn restore_remote(
    settings: &Settings,
    actor: &Actor,
    keys: &Keys,
    id: &str,
    now: DateTime<Utc>,
) -> Result<RestoreReport> {
    let _lock = ServeLock::acquire(settings).context("refusing to restore")?;
    let remote = super::remote::Remote::open(settings)?
        .context("no [backup.remote] in bloggo.toml: there are no off-site backups to restore")?;
    std::fs::create_dir_all(&settings.backup_dir).with_context(|| {
        format!(
            "{}: cannot create the backup folder",
            settings.backup_dir.display()
        )
    })?;
    let dir = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(&settings.backup_dir)
        .with_context(|| {
            format!(
                "{}: cannot create a temp folder",
                settings.backup_dir.display()
            )
        })?;
    let backup = remote.download(id, dir.path())?;
    let r = replace_store(settings, keys, backup, now)?;
    audit(settings, actor, &r, Some(&remote.url))?;
    Ok(r)
}

fn audit(
    settings: &Settings,
    actor: &Actor,
    r: &RestoreReport,
    remote: Option<&str>,
) -> Result<()> {
    let mut details = record::describe(settings, &r.restored);
    details["remote"] = json!(remote);
    details["result"] = json!("ok");
    details["safety_backup"] = json!(r.safety.as_ref().map(BackupInfo::tier_id));
    details["from_schema"] = json!(r.from_schema);
    details["to_schema"] = json!(r.to_schema);
    record::write(settings, actor, "backup.restore", details, |_| Ok(()))
        .with_context(|| format!("backup {} was restored", r.restored.tier_id()))
}

/// Verifies `backup`, takes the safety backup, and writes the backup into the store. The
/// caller holds the serve lock.
fn replace_store(
    settings: &Settings,
    keys: &Keys,
    backup: BackupInfo,
    now: DateTime<Utc>,
) -> Result<RestoreReport> {
    let verdict = verify_and_record(&backup, keys, now)?;
    if !verdict.ok {
        bail!(
            "backup {} failed verification: {}; nothing was changed. Pick another backup (`bloggo backup list`)",
            backup.tier_id(),
            verdict.problems.join("; ")
        );
    }
    let from_schema = backup.meta.as_ref().map(|m| m.schema_version).unwrap_or(0);

    // The store as it is now, in case the restore was a mistake.
    let mut report = RestoreReport {
        restored: backup.clone(),
        safety: None,
        safety_skipped: None,
        safety_problems: Vec::new(),
        from_schema,
        to_schema: from_schema,
    };
    // Read once: it decides both the safety backup and how the backup goes in.
    let current = store::backup::readable(&settings.store);
    match &current {
        Ok(()) => {
            let (sid, at) = unique_stamp(settings, now);
            let note = format!("before restoring {}", backup.id);
            let safety = take(
                settings,
                keys,
                Tier::PreRestore,
                &sid,
                at,
                Some(&note),
                &mut |_, _| {},
            )
            .context("cannot take the safety backup of the current store; nothing was changed")?;
            let v = verify_fresh(&safety, keys, now)?;
            report.safety_problems = v.problems;
            report.safety = Some(safety);
        }
        Err(why) => report.safety_skipped = Some(why.clone()),
    }

    let store_path = &settings.store;
    let dir = store_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    remove_abandoned_temp_files(dir);
    let tmp = tempfile::Builder::new()
        .prefix(".bloggo-restore-")
        .suffix(".sqlite.tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temp file", dir.display()))?;
    decompress_to(&backup, keys, tmp.path())?;
    let check = store::backup::check_copy(tmp.path());
    if !check.problems.is_empty() {
        bail!(
            "the restored copy of {} does not check out: {}; nothing was changed",
            backup.tier_id(),
            check.problems.join("; ")
        );
    }
    if current.is_ok() {
        // The live store is written through SQLite, so programs that have it open (a build,
        // the sqlite3 shell) are never left writing into a file that was replaced.
        store::backup::restore_into(tmp.path(), store_path).with_context(|| {
            format!(
                "{}: cannot write the backup into the store; nothing was changed",
                store_path.display()
            )
        })?;
    } else {
        // No store, or one SQLite cannot read: nothing can be using it, and writing into it
        // would fail. The checked copy takes its place as a file.
        replace_file(tmp, store_path, dir)?;
    }
    let restored = Store::open(store_path, false).with_context(|| {
        format!(
            "{}: restored, but migrating it to the current schema failed",
            store_path.display()
        )
    })?;
    // The store's history is the backup's now: a delta build's mark from before must not
    // trust the change log.
    restored.forget_changes().with_context(|| {
        format!(
            "{}: restored, but cannot write its change log; run `bloggo backup restore` again before building",
            store_path.display()
        )
    })?;
    report.to_schema = store::migrate::latest_version();
    Ok(report)
}

/// Puts the checked copy in place of an unreadable (or missing) store: its old side files go
/// first, so SQLite never replays an old WAL onto the restored database.
fn replace_file(tmp: tempfile::NamedTempFile, store_path: &Path, dir: &Path) -> Result<()> {
    if let Ok(m) = std::fs::metadata(store_path) {
        let _ = std::fs::set_permissions(tmp.path(), m.permissions());
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = side_file(store_path, suffix);
        match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("{}: cannot remove", side.display()))
            }
            _ => {}
        }
    }
    // lock-safe: only a store SQLite cannot read (or none) is replaced as a file.
    tmp.persist(store_path)
        .with_context(|| format!("{}: cannot replace the store", store_path.display()))?;
    sync_dir(dir);
    Ok(())
}

fn side_file(store: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = store.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Removes restore temp files that a killed restore left beside the store: those not written
/// to for ten minutes (a running restore keeps touching its file), so they stop holding a
/// store's worth of disk.
fn remove_abandoned_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".bloggo-restore-") && name.ends_with(".sqlite.tmp")) {
            continue;
        }
        let idle = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(600));
        if idle {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod abandoned_tests {
    use super::*;

    #[test]
    fn only_idle_restore_temp_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".bloggo-restore-abc.sqlite.tmp");
        let fresh = dir.path().join(".bloggo-restore-def.sqlite.tmp");
        let other = dir.path().join("bloggo.sqlite");
        for p in [&old, &fresh, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        remove_abandoned_temp_files(dir.path());
        assert!(!old.exists());
        assert!(fresh.exists());
        assert!(other.exists());
    }
}
