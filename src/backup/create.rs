//! Taking a backup: online copy → gzip (hashed while written) → fsync → rename → sidecar.
//!
//! On a full disk nothing half-written stays: the copy and the compressed file are temp files
//! that go with their handles, a backup whose sidecar or verification could not be written is
//! removed, and the error names the backup folder whose disk is full (not the store, which is
//! only read).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::crypt::{self, Keys};
use super::record::{self, Actor};
use super::remote;
use super::sidecar::{self, Meta};
use super::{file_for, retention, stamp, tier_dir, BackupInfo, Pruned, Tier, Verdict};
use crate::config::Settings;
use crate::store;

/// The gzip level: fast, since stores are mostly text that compresses well even at level 1.
pub const LEVEL: u32 = 1;

/// What `create` did.
#[derive(Debug, Clone)]
pub struct Created {
    /// The daily backup file.
    pub info: BackupInfo,
    /// Every tier the backup was kept in (daily, and weekly/monthly on their days).
    pub tiers: Vec<Tier>,
    pub verdict: Verdict,
    pub pruned: Pruned,
    /// The off-site copy, when `[backup.remote]` is set; why it failed, when it did (the
    /// backup itself is taken and verified all the same).
    pub off_site: Option<std::result::Result<remote::OffSite, String>>,
    /// Time taken by the copy and compression, and by the verification.
    pub copy_time: Duration,
    pub verify_time: Duration,
}

/// Takes, verifies, links and prunes; then writes the audit row and remembers the backup in
/// the store (a backup that failed leaves the store as it was, as its error says). `progress(done, total)` reports copied pages.
pub fn create(
    settings: &Settings,
    actor: &Actor,
    note: Option<&str>,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Created> {
    let keys = Keys::from_env(None);
    let mut c = take_verify_prune(settings, &keys, note, now, progress)?;
    let off_site = match remote::Remote::open(settings) {
        Ok(None) => None,
        Ok(Some(r)) => Some(remote::copy_off_site(settings, &r, now)),
        Err(e) => Some(Err(e)),
    }
    .map(|r| {
        r.map_err(|e| {
            format!(
                "backup {} was taken and verified here, but its off-site copy failed: {e:#}",
                c.info.id
            )
        })
    });
    let mut details = record::describe(settings, &c.info);
    details["result"] = json!("ok");
    details["tiers"] = json!(c.tiers);
    details["note"] = json!(note);
    details["pruned"] = json!(c
        .pruned
        .deleted
        .iter()
        .map(BackupInfo::tier_id)
        .collect::<Vec<_>>());
    details["remote"] = match &off_site {
        None => serde_json::Value::Null,
        Some(Ok(o)) => json!({ "url": o.url, "uploaded": o.uploaded, "pruned": o.pruned }),
        Some(Err(e)) => json!({ "error": e }),
    };
    record::write(settings, actor, "backup.create", details, |tx| {
        record::remember_taken(tx, &c.info, now)
    })
    .with_context(|| format!("backup {} was taken and verified", c.info.id))?;
    c.off_site = off_site;
    Ok(c)
}

fn take_verify_prune(
    settings: &Settings,
    keys: &Keys,
    note: Option<&str>,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Created> {
    let policy = retention::Policy::from_settings(settings)?;
    let (id, at) = unique_stamp(settings, now);
    let started = Instant::now();
    let info = take(settings, keys, Tier::Daily, &id, at, note, progress)?;
    let copy_time = started.elapsed();
    let started = Instant::now();
    let verdict = verify_new(settings, keys, &info, now)?;
    let verify_time = started.elapsed();
    if !verdict.ok {
        bail!(
            "backup {} failed verification right after it was written: {}; the file is kept for inspection, your store was not changed",
            info.path.display(),
            verdict.problems.join("; ")
        );
    }
    let info = super::find(settings, &format!("daily/{id}"))?.remove(0);
    let mut tiers = vec![Tier::Daily];
    for tier in retention::tiers_for(at, &policy).into_iter().skip(1) {
        if let Err(e) = link_into(settings, &info, tier) {
            if !crate::disk::is_full(&e) {
                return Err(e);
            }
            let dir = tier_dir(settings, tier);
            bail!(
                "{}: the disk is full ({}): the {tier} copy of backup {} was not kept ({}); the \
                 daily backup {} was written and verified. Free some space there, or point \
                 `[backup] dir` in bloggo.toml at a disk with room, then run `bloggo backup \
                 create` again",
                dir.display(),
                e.root_cause(),
                info.id,
                crate::disk::room(&dir),
                info.path.display()
            );
        }
        tiers.push(tier);
    }
    let pruned = super::prune_files(settings, now, false)?;
    Ok(Created {
        info,
        tiers,
        verdict,
        pruned,
        off_site: None,
        copy_time,
        verify_time,
    })
}

/// The first second at or after `now` that no backup of any tier uses, so IDs stay unique.
pub fn unique_stamp(settings: &Settings, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let mut at = chrono::Timelike::with_nanosecond(&now, 0).unwrap_or(now);
    loop {
        let id = stamp(at);
        if !Tier::ALL.iter().any(|t| {
            [false, true]
                .iter()
                .any(|&e| file_for(settings, *t, &id, e).exists())
        }) {
            return (id, at);
        }
        at += chrono::Duration::seconds(1);
    }
}

/// Verifies a backup just taken. Verification decompresses it beside itself: when the disk
/// has no room for that, the backup (which cannot be proved good) is removed and the error
/// says the disk is full.
fn verify_new(
    settings: &Settings,
    keys: &Keys,
    info: &BackupInfo,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    let dir = info.path.parent().unwrap_or(&settings.backup_dir);
    let size = info.meta.as_ref().map_or(0, |m| m.size);
    let full = |cause: String| {
        remove_backup(info);
        disk_full(settings, dir, &info.path, &cause)
    };
    let free = crate::disk::available(dir);
    if let Some(free) = free.filter(|&f| f < size) {
        return Err(full(format!(
            "checking the backup needs {} beside it, the disk has {}",
            crate::units::bytes(size),
            crate::units::bytes(free)
        )));
    }
    let verdict = match super::verify::verify_fresh(info, keys, now) {
        Ok(v) => v,
        Err(e) if crate::disk::is_full(&e) => return Err(full(e.root_cause().to_string())),
        Err(e) => return Err(e),
    };
    // The decompressed copy did not fit (the disk filled up meanwhile): not a damaged backup.
    let margin = (size / 100).max(1 << 20);
    if !verdict.ok && crate::disk::available(dir).is_some_and(|f| f < size + margin) {
        return Err(full(verdict.problems.join("; ")));
    }
    Ok(verdict)
}

/// Removes a backup file and its sidecar (nothing there is fine).
fn remove_backup(info: &BackupInfo) {
    let _ = std::fs::remove_file(&info.path);
    let _ = std::fs::remove_file(info.sidecar_path());
    if let Some(dir) = info.path.parent() {
        sync_dir(dir);
    }
}

/// The error of a backup whose folder's disk is full, said once the unfinished files are
/// removed (so the free space it gives is what the disk has again).
fn disk_full(settings: &Settings, dir: &Path, file: &Path, cause: &str) -> anyhow::Error {
    // The store's size from its metadata: the store file is never opened here.
    let store = std::fs::metadata(&settings.store).map_or(0, |m| m.len());
    anyhow::anyhow!(
        "{}: the disk is full ({cause}) while writing the backup {}; nothing was kept and the \
         store was not changed. A backup needs room for a copy of the store ({}) and its \
         compressed file beside it; that disk has {}. Free some space there, or point \
         `[backup] dir` in bloggo.toml at a disk with room, then run `bloggo backup create` again",
        dir.display(),
        file.display(),
        crate::units::bytes(store),
        crate::disk::room(dir)
    )
}

/// Writes one backup file of the store and its (not yet verified) sidecar into a tier,
/// encrypted as `[backup]` says (the passphrase from `keys`). On a full disk nothing is left
/// and the error names the tier's folder.
pub fn take(
    settings: &Settings,
    keys: &Keys,
    tier: Tier,
    id: &str,
    at: DateTime<Utc>,
    note: Option<&str>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupInfo> {
    let method = crypt::Method::of(&settings.config.backup)?;
    let dir = tier_dir(settings, tier);
    let final_path = file_for(settings, tier, id, method != crypt::Method::None);
    let how = Encrypt {
        method: &method,
        keys,
    };
    take_into(
        settings,
        &how,
        tier,
        id,
        at,
        note,
        progress,
        &dir,
        &final_path,
    )
    .map_err(|e| {
        if crate::disk::is_full(&e) {
            disk_full(settings, &dir, &final_path, &e.root_cause().to_string())
        } else {
            e
        }
    })
}

/// How `take` encrypts: the method of `[backup]` and the keys at hand.
struct Encrypt<'a> {
    method: &'a crypt::Method,
    keys: &'a Keys,
}

#[allow(clippy::too_many_arguments)]
fn take_into(
    settings: &Settings,
    how: &Encrypt,
    tier: Tier,
    id: &str,
    at: DateTime<Utc>,
    note: Option<&str>,
    progress: &mut dyn FnMut(u64, u64),
    dir: &Path,
    final_path: &Path,
) -> Result<BackupInfo> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the backup folder", dir.display()))?;
    let raw = tempfile::Builder::new()
        .prefix(".copy-")
        .suffix(".sqlite.tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temp file", dir.display()))?;
    store::backup::online_copy(&settings.store, raw.path(), progress)
        .with_context(|| format!("{}: online backup failed", settings.store.display()))?;
    let summary = store::backup::summary(raw.path())
        .with_context(|| format!("{}: cannot read the copy", raw.path().display()))?;

    if let crypt::Method::Recipient(key) = how.method {
        let encryption = how.method.sidecar().expect("a recipient");
        if !how.keys.can_decrypt(&encryption) {
            // Its verification cannot decrypt it: the copy is checked before it is encrypted.
            let check = store::backup::check_copy(raw.path());
            if !check.problems.is_empty() {
                bail!(
                    "the copy of {} for backup {id} does not check out: {}; nothing was kept (it was to be encrypted to {key})",
                    settings.store.display(),
                    check.problems.join("; ")
                );
            }
        }
    }
    let what = format!("backup {tier}/{id}");
    let (gz, size, sha256) = compress(raw.path(), dir, how, &what)?;
    drop(raw);
    let compressed_size = gz.as_file().metadata()?.len();
    gz.persist_noclobber(final_path)
        .with_context(|| format!("{}: cannot write the backup", final_path.display()))?;
    sync_dir(dir);

    let meta = Meta {
        id: id.to_string(),
        created: at,
        tier,
        bloggo_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: summary.0,
        size,
        compressed_size,
        sha256,
        encryption: how.method.sidecar(),
        rows: summary.1,
        note: note.map(str::to_string),
        verified: None,
    };
    let info = BackupInfo {
        id: id.to_string(),
        tier,
        created: at,
        path: final_path.to_path_buf(),
        meta: Ok(meta),
    };
    // A backup without its sidecar is half-written: it goes.
    if let Err(e) = sidecar::write(&info.sidecar_path(), info.meta.as_ref().expect("just made")) {
        remove_backup(&info);
        return Err(e);
    }
    Ok(info)
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Gzips (then encrypts, as `how` says) `src` into a fsync'd temp file in `dir`; returns it,
/// the input size and the SHA-256 of the stored bytes.
fn compress(
    src: &Path,
    dir: &Path,
    how: &Encrypt,
    what: &str,
) -> Result<(tempfile::NamedTempFile, u64, String)> {
    let tmp = tempfile::Builder::new()
        .prefix(".backup-")
        .suffix(".gz.tmp")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot create a temp file", dir.display()))?;
    let input = File::open(src).with_context(|| format!("{}: cannot read", src.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let out = Hashing {
        inner: BufWriter::with_capacity(1 << 20, tmp.reopen()?),
        hash: Sha256::new(),
    };
    let sealed = crypt::encrypting(how.method, how.keys, what, out)?;
    let mut gz = GzEncoder::new(sealed, Compression::new(LEVEL));
    let size = std::io::copy(&mut reader, &mut gz)
        .with_context(|| format!("{}: cannot compress", tmp.path().display()))?;
    let mut out = gz.finish()?.finish()?;
    out.flush()?;
    let sha = crate::fsx::hex(&out.hash.finalize());
    let file = out
        .inner
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("{}: cannot write", tmp.path().display()))?;
    file.sync_all()
        .with_context(|| format!("{}: cannot fsync", tmp.path().display()))?;
    Ok((tmp, size, sha))
}

/// Keeps a verified daily backup in another tier too: a hard link (a copy where links are not
/// supported) and its own sidecar naming that tier.
fn link_into(settings: &Settings, info: &BackupInfo, tier: Tier) -> Result<()> {
    let dir = tier_dir(settings, tier);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create the backup folder", dir.display()))?;
    let to = dir.join(info.path.file_name().context("a backup file name")?);
    if std::fs::hard_link(&info.path, &to).is_err() {
        let tmp = tempfile::Builder::new()
            .prefix(".backup-")
            .suffix(".gz.tmp")
            .tempfile_in(&dir)?;
        std::fs::copy(&info.path, tmp.path()).with_context(|| {
            format!(
                "{}: cannot copy into {}",
                info.path.display(),
                dir.display()
            )
        })?;
        tmp.as_file().sync_all()?;
        tmp.persist_noclobber(&to)
            .with_context(|| format!("{}: cannot write", to.display()))?;
    }
    sync_dir(&dir);
    let mut meta = info.meta.clone().map_err(anyhow::Error::msg)?;
    meta.tier = tier;
    let copy = BackupInfo {
        tier,
        path: to,
        meta: Ok(meta),
        ..info.clone()
    };
    // A copy without its sidecar is half-written: it goes.
    if let Err(e) = sidecar::write(&copy.sidecar_path(), copy.meta.as_ref().expect("just made")) {
        remove_backup(&copy);
        return Err(e);
    }
    Ok(())
}

pub use crate::fsx::sync_dir;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_whose_check_cannot_fit_is_removed_and_the_disk_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("bloggo.toml"),
            "title = \"t\"\nbase_url = \"/\"\n",
        )
        .unwrap();
        let settings = Settings::load(tmp.path()).unwrap();
        let dir = tier_dir(&settings, Tier::Daily);
        std::fs::create_dir_all(&dir).unwrap();
        let path = file_for(&settings, Tier::Daily, "20260101-000000", false);
        std::fs::write(&path, b"gz").unwrap();
        let meta = Meta {
            id: "20260101-000000".into(),
            created: Utc::now(),
            tier: Tier::Daily,
            bloggo_version: "test".into(),
            schema_version: 1,
            // More than any disk holds: decompressing it for the check cannot fit.
            size: u64::MAX / 4,
            compressed_size: 2,
            sha256: String::new(),
            encryption: None,
            rows: Default::default(),
            note: None,
            verified: None,
        };
        let info = BackupInfo {
            id: meta.id.clone(),
            tier: Tier::Daily,
            created: meta.created,
            path: path.clone(),
            meta: Ok(meta),
        };
        sidecar::write(&info.sidecar_path(), info.meta.as_ref().unwrap()).unwrap();
        let e = format!(
            "{:#}",
            verify_new(&settings, &Keys::default(), &info, Utc::now()).unwrap_err()
        );
        assert!(
            e.starts_with(&format!("{}: the disk is full", dir.display())),
            "{e}"
        );
        assert!(e.contains("[backup] dir"), "{e}");
        assert!(!path.exists() && !info.sidecar_path().exists());
    }
}
