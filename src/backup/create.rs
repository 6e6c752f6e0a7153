//! Taking a backup: online copy → gzip (hashed while written) → fsync → rename → sidecar.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

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
    /// Time taken by the copy and compression, and by the verification.
    pub copy_time: Duration,
    pub verify_time: Duration,
}

/// Takes, verifies, links and prunes. `progress(done, total)` reports copied pages.
pub fn create(
    settings: &Settings,
    note: Option<&str>,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Created> {
    let policy = retention::Policy::from_settings(settings)?;
    let (id, at) = unique_stamp(settings, now);
    let started = Instant::now();
    let info = take(settings, Tier::Daily, &id, at, note, progress)?;
    let copy_time = started.elapsed();
    let started = Instant::now();
    let verdict = super::verify::verify_and_record(&info, now)?;
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
        link_into(settings, &info, tier)?;
        tiers.push(tier);
    }
    let pruned = super::prune(settings, now, false)?;
    Ok(Created {
        info,
        tiers,
        verdict,
        pruned,
        copy_time,
        verify_time,
    })
}

/// The first second at or after `now` that no backup of any tier uses, so IDs stay unique.
pub fn unique_stamp(settings: &Settings, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let mut at = chrono::Timelike::with_nanosecond(&now, 0).unwrap_or(now);
    loop {
        let id = stamp(at);
        if !Tier::ALL
            .iter()
            .any(|t| file_for(settings, *t, &id).exists())
        {
            return (id, at);
        }
        at += chrono::Duration::seconds(1);
    }
}

/// Writes one backup file of the store and its (not yet verified) sidecar into a tier.
pub fn take(
    settings: &Settings,
    tier: Tier,
    id: &str,
    at: DateTime<Utc>,
    note: Option<&str>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupInfo> {
    let dir = tier_dir(settings, tier);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: cannot create the backup folder", dir.display()))?;
    let raw = tempfile::Builder::new()
        .prefix(".copy-")
        .suffix(".sqlite.tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot create a temp file", dir.display()))?;
    store::backup::online_copy(&settings.store, raw.path(), progress)
        .with_context(|| format!("{}: online backup failed", settings.store.display()))?;
    let summary = store::backup::summary(raw.path())
        .with_context(|| format!("{}: cannot read the copy", raw.path().display()))?;

    let final_path = file_for(settings, tier, id);
    let (gz, size, sha256) = compress(raw.path(), &dir)?;
    drop(raw);
    let compressed_size = gz.as_file().metadata()?.len();
    gz.persist_noclobber(&final_path)
        .with_context(|| format!("{}: cannot write the backup", final_path.display()))?;
    sync_dir(&dir);

    let meta = Meta {
        id: id.to_string(),
        created: at,
        tier,
        bloggo_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: summary.0,
        size,
        compressed_size,
        sha256,
        rows: summary.1,
        note: note.map(str::to_string),
        verified: None,
    };
    sidecar::write(&sidecar::path_for(&final_path), &meta)?;
    Ok(BackupInfo {
        id: id.to_string(),
        tier,
        created: at,
        path: final_path,
        meta: Ok(meta),
    })
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

/// Gzips `src` into a fsync'd temp file in `dir`; returns it, the input size and the
/// SHA-256 of the compressed bytes.
fn compress(src: &Path, dir: &Path) -> Result<(tempfile::NamedTempFile, u64, String)> {
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
    let mut gz = GzEncoder::new(out, Compression::new(LEVEL));
    let size = std::io::copy(&mut reader, &mut gz)
        .with_context(|| format!("{}: cannot compress", tmp.path().display()))?;
    let mut out = gz.finish()?;
    out.flush()?;
    let sha = crate::store::migrate::hex(&out.hash.finalize());
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
    let to = file_for(settings, tier, &info.id);
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
    sidecar::write(&sidecar::path_for(&to), &meta)
}

/// Makes a rename or removal in a folder durable (best effort: not every platform can).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
