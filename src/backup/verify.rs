//! Proving a backup is good: the file and its sidecar agree, it decompresses, and the
//! database inside passes integrity and foreign-key checks with the expected tables and rows.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::crypt::{self, CryptError, Keys};
use super::sidecar::{self, Encryption, Meta, Verification};
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

/// Decompresses (decrypting first, when it is encrypted) a backup into `dst` (fsync'd);
/// returns the decompressed size. A missing or wrong key is a [`CryptError`] naming the backup.
pub fn decompress_to(backup: &BackupInfo, keys: &Keys, dst: &Path) -> Result<u64> {
    let gz = &backup.path;
    let input = File::open(gz).with_context(|| format!("{}: cannot read", gz.display()))?;
    let how = backup
        .meta
        .as_ref()
        .ok()
        .and_then(|m| m.encryption.as_ref());
    let what = format!("backup {}", backup.tier_id());
    let plain = crypt::decrypting(how, keys, &what, BufReader::with_capacity(1 << 20, input))?;
    let mut dec = GzDecoder::new(plain);
    let out = File::create(dst).with_context(|| format!("{}: cannot create", dst.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let n = std::io::copy(&mut dec, &mut w).with_context(|| {
        format!(
            "{}: does not decompress (damaged {})",
            gz.display(),
            if how.is_some() { "age file" } else { "gzip" }
        )
    })?;
    w.flush()?;
    w.into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
        .with_context(|| format!("{}: cannot fsync", dst.display()))?;
    Ok(n)
}

/// Verifies a backup file against its sidecar, without writing anything but a temp file.
/// An encrypted backup whose key is missing or wrong is an error (naming what to supply), not
/// a failed verification: the backup may well be good.
pub fn verify_file(backup: &BackupInfo, keys: &Keys) -> Result<Verdict> {
    let meta = match &backup.meta {
        Ok(m) => m,
        Err(e) => {
            return Ok(Verdict {
                problems: vec![format!("sidecar: {e}")],
                ..Verdict::default()
            })
        }
    };
    let mut v = check_stored(backup, meta);
    if !v.ok {
        return Ok(v);
    }
    v.ok = false;
    let Some(dir) = backup.path.parent() else {
        v.problems.push("backup has no folder".into());
        return Ok(v);
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
            return Ok(v);
        }
    };
    match decompress_to(backup, keys, tmp.path()) {
        Ok(n) if n != meta.size => v.problems.push(format!(
            "decompresses to {n} bytes, the sidecar says {}",
            meta.size
        )),
        Ok(_) => {}
        Err(e) => match e.downcast_ref::<CryptError>() {
            Some(CryptError::Damaged { .. }) | None => {
                v.problems.push(format!("{e:#}"));
                return Ok(v);
            }
            Some(_) => return Err(e),
        },
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
    Ok(v)
}

/// Checks what can be checked without decrypting: the sidecar is readable, the stored file has
/// its size and SHA-256, and (encrypted) it starts as an age file.
fn check_stored(backup: &BackupInfo, meta: &Meta) -> Verdict {
    let mut v = Verdict::default();
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
    }
    if v.problems.is_empty() && meta.encryption.is_some() {
        let header = File::open(&backup.path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                age::Decryptor::new_buffered(BufReader::new(f))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = header {
            v.problems.push(format!("not an age file: {e}"));
        }
    }
    v.ok = v.problems.is_empty();
    v
}

/// Verifies a backup just taken (by `create`, or a restore's safety backup). Encrypted to a
/// recipient whose identity is not at hand (the point of a public key: the site need not hold
/// the secret one), it is checked as far as its stored bytes; `take` checked its database
/// before encrypting it.
pub fn verify_fresh(backup: &BackupInfo, keys: &Keys, now: DateTime<Utc>) -> Result<Verdict> {
    match &backup.meta {
        Ok(
            meta @ Meta {
                encryption: Some(how @ Encryption::Recipient { .. }),
                ..
            },
        ) if !keys.can_decrypt(how) => {
            let verdict = check_stored(backup, meta);
            let limited = format!(
                "encrypted to a recipient without its identity at hand: the stored file was checked, its database before encryption; `bloggo backup verify --identity FILE` checks it whole (or set ${})",
                crypt::IDENTITY_ENV
            );
            record(backup, &verdict, now, Some(limited))?;
            Ok(verdict)
        }
        _ => verify_and_record(backup, keys, now),
    }
}

/// Verifies and records the result in the sidecar (when there is a readable one). A missing
/// or wrong key is an error, recorded nowhere.
pub fn verify_and_record(backup: &BackupInfo, keys: &Keys, now: DateTime<Utc>) -> Result<Verdict> {
    let verdict = verify_file(backup, keys)?;
    record(backup, &verdict, now, None)?;
    Ok(verdict)
}

fn record(
    backup: &BackupInfo,
    verdict: &Verdict,
    now: DateTime<Utc>,
    limited: Option<String>,
) -> Result<()> {
    if let Ok(meta) = &backup.meta {
        let mut meta = meta.clone();
        meta.verified = Some(Verification {
            at: now,
            ok: verdict.ok,
            problems: verdict.problems.clone(),
            limited,
        });
        sidecar::write(&backup.sidecar_path(), &meta)?;
    }
    Ok(())
}
