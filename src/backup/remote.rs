//! Off-site copies in S3-compatible storage (`[backup.remote]`): after each backup its files
//! and sidecars go to `s3://bucket/prefix/<tier>/`, laid out as the local folder is (with any
//! good local backup whose upload failed before); the same retention is applied there; `backup list --remote` lists them and `backup restore --remote`
//! downloads one, checks it against its sidecar's SHA-256, and restores it as usual.
//!
//! A copy is complete once its sidecar is there (the file goes first). Credentials come from
//! `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN` when set).

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use s3::creds::Credentials;
use s3::{Bucket, Region};

use super::{parse_stamp, retention, sidecar, strip_extension, BackupInfo, Tier, PREFIX};
use crate::config::{RemoteConfig, Settings};

/// Bucket and key prefix of `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl Location {
    pub fn parse(cfg: &RemoteConfig) -> Result<Location> {
        let rest = cfg
            .url
            .strip_prefix("s3://")
            .with_context(|| format!("{:?} is not an s3:// URL (s3://bucket/prefix)", cfg.url))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("{:?} names no bucket (s3://bucket/prefix)", cfg.url);
        }
        Ok(Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

/// One off-site backup file.
#[derive(Debug, Clone)]
pub struct RemoteBackup {
    pub id: String,
    pub tier: Tier,
    pub created: DateTime<Utc>,
    /// The object key of the backup file.
    pub key: String,
    pub size: u64,
    /// The key of its sidecar, when the copy is complete.
    pub sidecar: Option<String>,
}

impl RemoteBackup {
    pub fn tier_id(&self) -> String {
        format!("{}/{}", self.tier, self.id)
    }

    pub fn encrypted(&self) -> bool {
        self.key.ends_with(super::ENCRYPTED_EXTENSION)
    }
}

/// What one backup's off-site copy did.
#[derive(Debug, Clone, Default)]
pub struct OffSite {
    pub url: String,
    /// Object keys uploaded.
    pub uploaded: Vec<String>,
    /// Off-site backups deleted by retention (`tier/ID`).
    pub pruned: Vec<String>,
}

/// The configured bucket.
pub struct Remote {
    bucket: Box<Bucket>,
    prefix: String,
    pub url: String,
}

impl Remote {
    /// The site's `[backup.remote]`, or `None` when it has none.
    pub fn open(settings: &Settings) -> Result<Option<Remote>> {
        let Some(cfg) = &settings.config.backup.remote else {
            return Ok(None);
        };
        Location::parse(cfg).context("[backup.remote] url")?;
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            bail!(
                "[backup.remote] {}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (credentials are never read from bloggo.toml)",
                cfg.url
            );
        };
        let token = var("AWS_SESSION_TOKEN");
        let creds = Credentials::new(Some(&key), Some(&secret), None, token.as_deref(), None)
            .context("[backup.remote] credentials")?;
        Remote::connect(cfg, creds).map(Some)
    }

    /// The bucket of `cfg`, with these credentials.
    pub fn connect(cfg: &RemoteConfig, creds: Credentials) -> Result<Remote> {
        let loc = Location::parse(cfg).context("[backup.remote] url")?;
        let region = match &cfg.endpoint {
            Some(endpoint) => Region::Custom {
                region: cfg.region.clone(),
                endpoint: endpoint.trim_end_matches('/').to_string(),
            },
            None => cfg
                .region
                .parse()
                .with_context(|| format!("[backup.remote] region {:?}", cfg.region))?,
        };
        let mut bucket = Bucket::new(&loc.bucket, region, creds)
            .with_context(|| format!("[backup.remote] {}", cfg.url))?;
        // S3-compatible servers (MinIO, moto, Garage…) are addressed by path, not host name.
        if cfg.endpoint.is_some() {
            bucket = bucket.with_path_style();
        }
        Ok(Remote {
            bucket,
            prefix: loc.prefix,
            url: cfg.url.clone(),
        })
    }

    fn key(&self, tier: Tier, name: &str) -> String {
        if self.prefix.is_empty() {
            format!("{tier}/{name}")
        } else {
            format!("{}/{tier}/{name}", self.prefix)
        }
    }

    /// Uploads a local backup file, then its sidecar; returns their keys.
    pub fn upload(&self, b: &BackupInfo) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        for path in [b.path.clone(), b.sidecar_path()] {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .context("a backup file name")?;
            let key = self.key(b.tier, name);
            let mut file = std::fs::File::open(&path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            self.bucket
                .put_object_stream(&mut file, &key)
                .with_context(|| {
                    format!("{}: cannot upload to {}", path.display(), self.at(&key))
                })?;
            keys.push(key);
        }
        Ok(keys)
    }

    fn at(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket.name())
    }

    /// Every off-site backup file, oldest first (by ID, then tier).
    pub fn list(&self) -> Result<Vec<RemoteBackup>> {
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let pages = self
            .bucket
            .list(prefix.clone(), None)
            .with_context(|| format!("{}: cannot list", self.url))?;
        let objects: Vec<(String, u64)> = pages
            .into_iter()
            .flat_map(|p| p.contents)
            .map(|o| (o.key, o.size))
            .collect();
        let mut out = Vec::new();
        for (key, size) in &objects {
            let Some((tier, name)) = key
                .strip_prefix(&prefix)
                .and_then(|rest| rest.split_once('/'))
            else {
                continue;
            };
            let Some(tier) = Tier::parse(tier) else {
                continue;
            };
            let Some(id) = name.strip_prefix(PREFIX).and_then(strip_extension) else {
                continue;
            };
            let Some(created) = parse_stamp(id) else {
                continue;
            };
            let sidecar = self.key(tier, &format!("{PREFIX}{id}.meta.json"));
            let complete = objects.iter().any(|(k, _)| *k == sidecar);
            out.push(RemoteBackup {
                id: id.to_string(),
                tier,
                created,
                key: key.clone(),
                size: *size,
                sidecar: complete.then_some(sidecar),
            });
        }
        out.sort_by_key(|b| (b.created, b.tier as u8));
        Ok(out)
    }

    /// Deletes off-site backups beyond the retention of `[backup]` (never the newest complete
    /// one, never `pre-restore`); returns them.
    pub fn prune(&self, policy: &retention::Policy, now: DateTime<Utc>) -> Result<Vec<String>> {
        let all = self.list()?;
        let newest: Vec<String> = all
            .iter()
            .rev()
            .find(|b| b.tier != Tier::PreRestore && b.sidecar.is_some())
            .map(|b| vec![b.key.clone()])
            .unwrap_or_default();
        let dated: Vec<retention::Dated<String>> = all
            .iter()
            .map(|b| retention::Dated {
                key: b.key.clone(),
                tier: b.tier,
                created: b.created,
            })
            .collect();
        let plan = retention::plan(&dated, policy, now, &newest);
        let mut deleted = Vec::new();
        for b in all.iter().filter(|b| plan.delete.contains(&b.key)) {
            // The sidecar first: a copy without it is incomplete, never taken for a good one.
            for key in b.sidecar.iter().chain(std::iter::once(&b.key)) {
                self.bucket
                    .delete_object(key)
                    .with_context(|| format!("{}: cannot delete", self.at(key)))?;
            }
            deleted.push(b.tier_id());
        }
        Ok(deleted)
    }

    /// Downloads off-site backup `id` (its daily copy, else the first tier holding it) and its
    /// sidecar into `dir`, and checks the file against the sidecar's size and SHA-256.
    pub fn download(&self, id: &str, dir: &Path) -> Result<BackupInfo> {
        let all = self.list()?;
        let bare = id.rsplit('/').next().unwrap_or(id);
        let bare = bare.strip_prefix(PREFIX).unwrap_or(bare);
        let bare = strip_extension(bare).unwrap_or(bare);
        let found: Vec<&RemoteBackup> = all.iter().filter(|b| b.id == bare).collect();
        let Some(b) = found
            .iter()
            .find(|b| b.tier == Tier::Daily)
            .or(found.first())
        else {
            bail!(
                "no off-site backup {id:?} in {}; `bloggo backup list --remote` shows them",
                self.url
            );
        };
        let Some(sidecar_key) = &b.sidecar else {
            bail!(
                "the off-site copy of {} has no sidecar (its upload did not finish); pick another backup (`bloggo backup list --remote`)",
                b.tier_id()
            );
        };
        let name = b.key.rsplit('/').next().unwrap_or(&b.key);
        let path = dir.join(name);
        let meta_path = sidecar::path_for(&path);
        for (key, to) in [(&b.key, &path), (sidecar_key, &meta_path)] {
            let mut file = std::fs::File::create(to)
                .with_context(|| format!("{}: cannot create", to.display()))?;
            self.bucket
                .get_object_to_writer(key, &mut file)
                .with_context(|| format!("{}: cannot download", self.at(key)))?;
            file.sync_all()?;
        }
        let meta = sidecar::read(&meta_path)?;
        let (sha, len) = super::verify::sha256_file(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if sha != meta.sha256 || len != meta.compressed_size {
            bail!(
                "the off-site copy of {} does not match its sidecar ({len} bytes, SHA-256 {sha}; the sidecar says {} bytes, {}): it was damaged in storage or in transit; nothing was changed",
                b.tier_id(),
                meta.compressed_size,
                meta.sha256
            );
        }
        Ok(BackupInfo {
            id: b.id.clone(),
            tier: b.tier,
            path,
            created: b.created,
            meta: Ok(meta),
        })
    }
}

/// Brings the off-site copy up to date after a backup: uploads every good local backup
/// (daily, weekly, monthly) that has no complete copy there yet (the one just taken, and any
/// whose upload failed before), then applies the retention of `[backup]` there.
pub fn copy_off_site(settings: &Settings, remote: &Remote, now: DateTime<Utc>) -> Result<OffSite> {
    let mut done = OffSite {
        url: remote.url.clone(),
        ..OffSite::default()
    };
    let there: Vec<String> = remote
        .list()?
        .into_iter()
        .filter(|b| b.sidecar.is_some())
        .map(|b| b.tier_id())
        .collect();
    for b in super::list(settings)? {
        if b.tier != Tier::PreRestore && b.is_good() && !there.contains(&b.tier_id()) {
            done.uploaded.extend(remote.upload(&b)?);
        }
    }
    let policy = retention::Policy::from_settings(settings)?;
    done.pruned = remote.prune(&policy, now)?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> RemoteConfig {
        RemoteConfig {
            url: url.into(),
            endpoint: None,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn an_s3_url_gives_bucket_and_prefix() {
        let l = Location::parse(&cfg("s3://b/site/backups/")).unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("b", "site/backups")
        );
        let l = Location::parse(&cfg("s3://b")).unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("b", ""));
        assert!(Location::parse(&cfg("https://b/x")).is_err());
        assert!(Location::parse(&cfg("s3:///x")).is_err());
    }
}
