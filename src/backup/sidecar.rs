//! The `.meta.json` sidecar written beside every backup file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Tier;

/// What a backup holds and how it was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// `YYYYMMDD-HHMMSS` (UTC), the backup's ID.
    pub id: String,
    pub created: DateTime<Utc>,
    pub tier: Tier,
    pub bloggo_version: String,
    pub schema_version: i64,
    /// Bytes of the database before compression.
    pub size: u64,
    /// Bytes of the stored file (compressed, and encrypted when it is).
    pub compressed_size: u64,
    /// SHA-256 of the stored file's bytes (as encrypted, when it is), hex.
    pub sha256: String,
    /// How the file is encrypted (`.sqlite.gz.age`); none for a plain `.sqlite.gz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// Rows of the main tables (`store::check::MAIN_TABLES`).
    pub rows: BTreeMap<String, i64>,
    pub note: Option<String>,
    /// The last verification, when there was one.
    #[serde(default)]
    pub verified: Option<Verification>,
}

/// How a backup file is encrypted (with age).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum Encryption {
    /// With a passphrase (`BLOGGO_BACKUP_PASSPHRASE`).
    Passphrase,
    /// To a public key; decrypting needs its identity file.
    Recipient { recipient: String },
}

/// The result of one verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub at: DateTime<Utc>,
    pub ok: bool,
    #[serde(default)]
    pub problems: Vec<String>,
    /// What could not be checked: an encrypted backup checked without its key is checked
    /// as far as its stored bytes, the database having been checked before encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limited: Option<String>,
}

impl Meta {
    /// Verified, and the last verification passed.
    pub fn verified_ok(&self) -> bool {
        self.verified.as_ref().is_some_and(|v| v.ok)
    }

    pub fn rows_of(&self, table: &str) -> Option<i64> {
        self.rows.get(table).copied()
    }
}

/// `…/bloggo-STAMP.sqlite.gz[.age]` → `…/bloggo-STAMP.meta.json`.
pub fn path_for(backup: &Path) -> PathBuf {
    let name = backup
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = super::strip_extension(name).unwrap_or(name);
    backup.with_file_name(format!("{stem}.meta.json"))
}

/// Reads a sidecar.
pub fn read(path: &Path) -> Result<Meta> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the sidecar", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid backup sidecar", path.display()))
}

/// Writes a sidecar atomically (temp file, fsync, rename).
pub fn write(path: &Path, meta: &Meta) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(meta)?;
    bytes.push(b'\n');
    crate::fsx::write_atomic(path, &bytes, crate::fsx::Durability::Synced)
        .with_context(|| format!("{}: cannot write the sidecar", path.display()))
}
