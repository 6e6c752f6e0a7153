//! What a build keeps for the next one: its snapshot of the store, the digests of what every
//! page is made from, where it stood in the store's change log, and which live site it made.
//!
//! The next build of the same output with the same inputs (bloggo version, settings, base URL,
//! drafts, templates, static files) starts from this instead of reading the whole store: it
//! asks the store which posts changed since (see `store::changes`) and patches the snapshot
//! (see `pipeline::delta`). Anything it cannot vouch for (another version, damaged bytes, a live
//! site some other build made) sends the build down the whole road, so this file only ever
//! saves time.
//!
//! Kept in `.bloggo-cache/`, one file per output folder: the whole state (written whole, a
//! temporary file renamed over the old one), then one record per patching build appended
//! after it (a few posts' rows and digests: rewriting megabytes of state for one changed post
//! would cost more than the rest of such a build). Every record carries a BLAKE3 of its bytes;
//! reading stops at the first record that is cut or damaged, and the state it gives then
//! names a live site that is no longer there, so the build is whole.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::digest::Digest;
use crate::markdown::MarkdownOptions;
use crate::model::Timestamp;
use crate::render::{Digests, DigestsPatch};
use crate::snapshot::{Post, Snapshot};
use crate::templates::{StaticSource, Templates};

const MAGIC: &[u8] = b"bloggo-build-state-6\n";
/// After this many appended records the next patching build writes the whole state again.
pub const MOST_PATCHES: usize = 32;

/// A build's state, as the next build reads it.
#[derive(Debug, Serialize, Deserialize)]
pub struct BuildState {
    /// See [`inputs_digest`].
    pub inputs: Digest,
    /// The manifest digest of the live site this build made (`output::Committed::manifest`).
    pub site: Digest,
    /// The store's change log as of this build's read (`store::changes::ChangeMark`).
    pub seq: i64,
    pub watched: i64,
    /// The instant the build showed the site as of.
    pub now: Timestamp,
    pub snapshot: Snapshot,
    /// Per post (snapshot order): what its rendered markdown is made from, and the digest of
    /// its summary (see `markdown::cache`).
    #[serde(with = "crate::digest::digest_list")]
    pub keys: Vec<[u8; 32]>,
    #[serde(with = "crate::digest::digest_list")]
    pub summaries: Vec<[u8; 32]>,
    pub digests: Digests,
    /// `render::Planner::global`: `None` when every page is made every build.
    pub global: Option<Digest>,
    /// The static files and media the site copied, and what their sources looked like.
    pub assets: Vec<Stamp>,
    /// How many appended records the state was read with.
    #[serde(skip)]
    pub patches: usize,
}

/// What a patching build changed of the state: the posts it changed (snapshot index, post,
/// body key, summary digest), their digests, and where the new live site stands.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatePatch {
    pub site: Digest,
    pub seq: i64,
    pub watched: i64,
    pub now: Timestamp,
    pub posts: Vec<(usize, Post, [u8; 32], [u8; 32])>,
    pub digests: DigestsPatch,
}

/// An output file copied from a source, with what tells a changed source apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub file: String,
    /// `None` for a file embedded in bloggo (it changes only with bloggo's version).
    pub source: Option<PathBuf>,
    /// Length, modification and status-change times (ns) and inode of the source: a file
    /// written again changes its status-change time even when its length and modification
    /// time are put back.
    pub meta: Option<(u64, i128, i128, u64)>,
}

/// The stamps of a build's assets, in order.
pub fn stamps(assets: &[(String, StaticSource)]) -> Vec<Stamp> {
    assets
        .iter()
        .map(|(file, src)| match src {
            StaticSource::Embedded(_) => Stamp {
                file: file.clone(),
                source: None,
                meta: None,
            },
            StaticSource::File(p) => Stamp {
                file: file.clone(),
                source: Some(p.clone()),
                meta: file_meta(p),
            },
        })
        .collect()
}

fn file_meta(p: &Path) -> Option<(u64, i128, i128, u64)> {
    let m = std::fs::metadata(p).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
        Some((
            m.len(),
            ns(m.mtime(), m.mtime_nsec()),
            ns(m.ctime(), m.ctime_nsec()),
            m.ino(),
        ))
    }
    #[cfg(not(unix))]
    {
        let t = m.modified().ok()?;
        let ns = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as i128;
        Some((m.len(), ns, 0, 0))
    }
}

/// A digest of everything but the store that decides what a build makes: bloggo's version,
/// the settings, the base URL, the drafts flag, the markdown options and the templates.
pub fn inputs_digest(
    settings: &Settings,
    base_url: &str,
    drafts: bool,
    md: &MarkdownOptions,
    templates: &Templates,
) -> Digest {
    let mut h = blake3::Hasher::new();
    for part in [
        env!("CARGO_PKG_VERSION"),
        &format!("{settings:?}"),
        base_url,
        &format!("{drafts} {md:?}"),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(templates.digest().as_bytes());
    *h.finalize().as_bytes()
}

/// Where the state of builds into `out` is kept.
pub fn path(cache_dir: &Path, out: &Path) -> PathBuf {
    let abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    let id = blake3::hash(abs.as_os_str().as_encoded_bytes());
    cache_dir.join(format!("build-{}.bin", &id.to_hex()[..16]))
}

/// One record: its length, the BLAKE3 of its bytes, its bytes.
fn record<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(value).context("cannot encode the build state")?;
    let mut out = Vec::with_capacity(40 + body.len());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The next sound record of `b`, and what follows it.
fn next_record(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::try_from(u64::from_le_bytes(b.get(..8)?.try_into().ok()?)).ok()?;
    let sum = b.get(8..40)?;
    let body = b.get(40..40usize.checked_add(len)?)?;
    (blake3::hash(body).as_bytes() == sum).then(|| (body, &b[40 + len..]))
}

impl BuildState {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = MAGIC.to_vec();
        out.extend(record(self)?);
        Ok(out)
    }

    /// `None` unless `b` starts with a whole, sound state of this version; the records after it
    /// are applied up to the first one that is cut, damaged or does not fit.
    pub fn decode(b: &[u8]) -> Option<BuildState> {
        let (body, mut rest) = next_record(b.strip_prefix(MAGIC)?)?;
        let mut s: BuildState = postcard::from_bytes(body).ok()?;
        let n = s.snapshot.posts.len();
        if s.keys.len() != n || s.summaries.len() != n || !s.digests.fit(&s.snapshot) {
            return None;
        }
        while let Some((body, after)) = next_record(rest) {
            let Ok(p) = postcard::from_bytes::<StatePatch>(body) else {
                break;
            };
            if !s.apply(p) {
                break;
            }
            s.patches += 1;
            rest = after;
        }
        Some(s)
    }

    /// Applies one patching build's record; `false` (the state may be half patched: the
    /// caller stops there, and its live-site digest no longer matches) when it does not fit.
    fn apply(&mut self, p: StatePatch) -> bool {
        let n = self.snapshot.posts.len();
        if p.posts.iter().any(|(i, ..)| *i >= n) || !self.digests.apply(p.digests) {
            return false;
        }
        for (i, post, key, summary) in p.posts {
            self.snapshot.posts[i] = post;
            self.keys[i] = key;
            self.summaries[i] = summary;
        }
        self.site = p.site;
        self.seq = p.seq;
        self.watched = p.watched;
        self.now = p.now;
        true
    }

    /// The state kept at `path`, if there is a sound one.
    pub fn read(path: &Path) -> Option<BuildState> {
        BuildState::decode(&std::fs::read(path).ok()?)
    }

    /// Replaces the state at `path` (a reader sees the old one or the new one).
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::fsx::write_atomic(path, &self.encode()?, crate::fsx::Durability::Atomic)
            .with_context(|| format!("{}: cannot write", path.display()))
    }
}

impl StatePatch {
    /// Appends this record to the state at `path` (one write; a cut one is ignored when read).
    pub fn append(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let bytes = record(self)?;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        f.write_all(&bytes)
            .with_context(|| format!("{}: cannot write", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{path, BuildState, Stamp};
    use crate::render::Digests;
    use crate::snapshot::Snapshot;
    use crate::templates::Templates;

    #[test]
    fn damaged_or_foreign_bytes_are_refused() {
        let snapshot = Snapshot::default();
        let templates = Templates::from_sources(Default::default()).unwrap();
        let digests = crate::render::Planner::new(&snapshot, &templates, Vec::new(), &[])
            .digests()
            .clone();
        let s = BuildState {
            inputs: [1; 32],
            site: [2; 32],
            seq: 7,
            watched: 9,
            now: "2026-01-01 00:00:00".parse().unwrap(),
            snapshot: snapshot.clone(),
            keys: Vec::new(),
            summaries: Vec::new(),
            digests,
            global: Some([3; 32]),
            assets: vec![Stamp {
                file: "style.css".into(),
                source: None,
                meta: None,
            }],
            patches: 0,
        };
        let b = s.encode().unwrap();
        let back = BuildState::decode(&b).expect("a sound encoding reads back");
        let mut unfit = BuildState::decode(&b).unwrap();
        unfit.digests = Digests::default();
        assert!(
            BuildState::decode(&unfit.encode().unwrap()).is_none(),
            "digests that do not fit the snapshot are refused"
        );
        assert_eq!((back.seq, back.watched, back.site), (7, 9, [2; 32]));
        assert_eq!(back.assets, s.assets);
        let mut bad = b.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(
            BuildState::decode(&bad).is_none(),
            "a flipped bit is caught"
        );
        assert!(
            BuildState::decode(&b[..b.len() - 1]).is_none(),
            "a cut file"
        );
        assert!(BuildState::decode(b"bloggo-build-state-3\n").is_none());
    }

    #[test]
    fn each_output_folder_has_its_own_state() {
        let dir = Path::new("/site/.bloggo-cache");
        assert_ne!(
            path(dir, Path::new("/site/public")),
            path(dir, Path::new("/site/preview"))
        );
        assert_eq!(
            path(dir, Path::new("/site/public")),
            path(dir, Path::new("/site/public"))
        );
    }
}
