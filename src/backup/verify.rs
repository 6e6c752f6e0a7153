//! Proving a backup is good: the file and its sidecar agree, it decompresses, and the
//! database inside passes integrity and foreign-key checks with the expected tables and rows.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::sidecar::{self, Verification};
use super::BackupInfo;
use crate::store::backup::{check_copy, CopyCheck};

/// The outcome of verifying one backup file.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub ok: bool,
    /// Why it failed (empty when ok).
    pub problems: Vec<String>,
    /// What the check of the decompressed database found, when it got that far.
    pub check: Option<CopyCheck>,
}

/// SHA-256 (hex) and length of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((crate::fsx::hex(&h.finalize()), len))
}

/// Decompresses a `.sqlite.gz` into `dst` (fsync'd); returns the decompressed size.
pub fn decompress_to(gz: &Path, dst: &Path) -> Result<u64> {
    let input = File::open(gz).with_context(|| format!("{}: cannot read", gz.display()))?;
    let mut dec = GzDecoder::new(BufReader::with_capacity(1 << 20, input));
    let out = File::create(dst).with_context(|| format!("{}: cannot create", dst.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let n = std::io::copy(&mut dec, &mut w)
        .with_context(|| format!("{}: does not decompress (damaged gzip)", gz.display()))?;
    w.flush()?;
    w.into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
        .with_context(|| format!("{}: cannot fsync", dst.display()))?;
    Ok(n)
}

/// Verifies a backup file against its sidecar, without writing anything but a temp file.
pub fn verify_file(backup: &BackupInfo) -> Verdict {
    let mut v = Verdict::default();
    let meta = match &backup.meta {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(format!("sidecar: {e}"));
            return v;
        }
    };
    let (sha, len) = match sha256_file(&backup.path) {
        Ok(x) => x,
        Err(e) => {
            v.problems
                .push(format!("{}: cannot read: {e}", backup.path.display()));
            return v;
        }
    };
    if len != meta.compressed_size {
        v.problems.push(format!(
            "size is {len} bytes, the sidecar says {}",
            meta.compressed_size
        ));
    }
    if sha != meta.sha256 {
        v.problems
            .push("SHA-256 does not match the sidecar: the file was changed or damaged".into());
        return v;
    }
    let Some(dir) = backup.path.parent() else {
        v.problems.push("backup has no folder".into());
        return v;
    };
    let tmp = match tempfile::Builder::new()
        .prefix(".verify-")
        .suffix(".sqlite.tmp")
        .tempfile_in(dir)
    {
        Ok(t) => t,
        Err(e) => {
            v.problems
                .push(format!("{}: cannot create a temp file: {e}", dir.display()));
            return v;
        }
    };
    match decompress_to(&backup.path, tmp.path()) {
        Ok(n) if n != meta.size => v.problems.push(format!(
            "decompresses to {n} bytes, the sidecar says {}",
            meta.size
        )),
        Ok(_) => {}
        Err(e) => {
            v.problems.push(format!("{e:#}"));
            return v;
        }
    }
    let check = check_copy(tmp.path());
    v.problems.extend(check.problems.iter().cloned());
    if check.problems.is_empty() {
        if check.rows != meta.rows {
            v.problems
                .push("row counts differ from the sidecar's".to_string());
        }
        if check.schema_version != meta.schema_version {
            v.problems.push(format!(
                "schema version {} differs from the sidecar's {}",
                check.schema_version, meta.schema_version
            ));
        }
    }
    v.check = Some(check);
    v.ok = v.problems.is_empty();
    v
}

/// Verifies and records the result in the sidecar (when there is a readable one).
pub fn verify_and_record(backup: &BackupInfo, now: DateTime<Utc>) -> Result<Verdict> {
    let verdict = verify_file(backup);
    if let Ok(meta) = &backup.meta {
        let mut meta = meta.clone();
        meta.verified = Some(Verification {
            at: now,
            ok: verdict.ok,
            problems: verdict.problems.clone(),
        });
        sidecar::write(&backup.sidecar_path(), &meta)?;
    }
    Ok(verdict)
}
