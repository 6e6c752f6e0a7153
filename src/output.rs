//! Rendered pages → disk, atomically and incrementally.
//!
//! The output is double-buffered: beside `public/` lives `.public.bloggo-stage/`, which holds
//! the site as it was one build ago, with its own manifest of content hashes. A build brings the
//! stage up to date (files whose bytes already match cost nothing; files unchanged since the
//! live site are hard links to it, keeping their bytes and modification time; only the rest are
//! written), removes what is no longer part of the site, and exchanges the two folders with one
//! `renameat2(RENAME_EXCHANGE)` (a rename dance elsewhere). Readers see the old site or the new
//! one, never a mix. A failed build (a page that does not render, a full disk, a panic) leaves
//! the live folder untouched and removes the stage if it changed it (see [`StageGuard`]): a
//! half-made copy of the site never stays behind taking the disk's space, and the next build
//! makes the stage again. The old site becomes the next build's stage, so nothing is deleted
//! wholesale.
//!
//! Neither folder is walked on an ordinary build: the manifests say what each holds. Entries at
//! the top of the live output that bloggo did not write (a `CNAME`, `.well-known/`) are carried
//! into every new site; anything else added by hand inside bloggo's folders is not kept.

use std::path::{Path, PathBuf};

// foldhash: the manifests are maps of tens of thousands of paths, built and probed on every
// build; SipHash (std's default, made to resist hash flooding) cost more than the lookups.
// The keys are the site's own file names, not input from the network.
use foldhash::{HashMap, HashMapExt, HashSet};

use anyhow::{bail, Context, Result};

/// The manifest of the output's files and their content hashes, inside the output folder (so it
/// is swapped together with the files it describes).
pub const MANIFEST: &str = ".bloggo-manifest";
/// The JSON manifest of earlier versions: still proof that bloggo wrote a folder.
const OLD_MANIFEST: &str = ".bloggo-manifest.json";
const MANIFEST_MAGIC: &[u8] = b"bloggo-output-manifest-2\n";

/// A BLAKE3 digest.
pub type Digest = [u8; 32];

/// Serde for a list of digests as one run of bytes (`#[serde(with = "digest_list")]`): the
/// kept build state holds tens of thousands of them, and a digest read as 32 separate bytes
/// cost more than the rest of the state.
pub mod digest_list {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[super::Digest], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v.as_flattened())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<super::Digest>, D::Error> {
        struct Bytes;
        impl Visitor<'_> for Bytes {
            type Value = Vec<super::Digest>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("digests of 32 bytes each")
            }
            fn visit_bytes<E: Error>(self, b: &[u8]) -> Result<Self::Value, E> {
                let (digests, rest) = b.as_chunks::<32>();
                if !rest.is_empty() {
                    return Err(E::invalid_length(b.len(), &self));
                }
                Ok(digests.to_vec())
            }
        }
        d.deserialize_bytes(Bytes)
    }
}

/// What the manifest knows of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// BLAKE3 of the file's bytes.
    hash: Digest,
    /// Fingerprint of what it was made from (see [`Writer::reuse`]).
    fingerprint: Option<Digest>,
}

#[derive(Debug, Default)]
struct Manifest {
    /// Site-relative file → its entry.
    files: HashMap<String, Entry>,
    /// Top-level entries of the folder that bloggo did not write, carried from the live site.
    foreign: Vec<String>,
}

impl Manifest {
    fn encode(&self) -> Vec<u8> {
        let mut files: Vec<(&String, &Entry)> = self.files.iter().collect();
        files.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::with_capacity(MANIFEST_MAGIC.len() + files.len() * 120);
        out.extend_from_slice(MANIFEST_MAGIC);
        out.extend_from_slice(&(files.len() as u64).to_le_bytes());
        for (f, e) in files {
            encode_entry(&mut out, f, e);
        }
        encode_foreign(&mut out, &self.foreign);
        out
    }

    /// `None` unless `b` is a whole, sound manifest.
    fn decode(b: &[u8]) -> Option<Manifest> {
        let layout = Layout::of(b)?;
        let mut files = HashMap::with_capacity(layout.len());
        for i in 0..layout.len() {
            let (file, e) = layout.entry(b, i);
            files.insert(file.to_string(), e);
        }
        let foreign = layout.foreign(b).map(str::to_string).collect();
        Some(Manifest { files, foreign })
    }
}

/// A name of a manifest [`Layout::of`] checked.
fn utf8(name: &[u8]) -> &str {
    std::str::from_utf8(name).expect("Layout::of checked the names")
}

/// Appends a length-prefixed text to a manifest.
fn encode_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Appends one file's entry to a manifest.
fn encode_entry(out: &mut Vec<u8>, file: &str, e: &Entry) {
    encode_text(out, file);
    out.extend_from_slice(&e.hash);
    match &e.fingerprint {
        Some(fp) => {
            out.push(1);
            out.extend_from_slice(fp);
        }
        None => out.push(0),
    }
}

/// Appends the list of foreign entries, a manifest's last part.
fn encode_foreign(out: &mut Vec<u8>, foreign: &[String]) {
    out.extend_from_slice(&(foreign.len() as u64).to_le_bytes());
    for f in foreign {
        encode_text(out, f);
    }
}

/// Reads a manifest's bytes front to back.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A length-prefixed text, as bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(n)
    }
    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    fn digest(&mut self) -> Option<Digest> {
        self.take(32)?.try_into().ok()
    }
    /// One file's entry; its name as bytes, not yet checked to be UTF-8.
    fn entry(&mut self) -> Option<(&'a [u8], Entry)> {
        let file = self.bytes()?;
        let hash = self.digest()?;
        let fingerprint = match self.take(1)?[0] {
            0 => None,
            1 => Some(self.digest()?),
            _ => return None,
        };
        Some((file, Entry { hash, fingerprint }))
    }
}

/// Where the parts of a sound manifest start in its bytes: enough to read it without
/// decoding it into a map (see [`Patch`]).
struct Layout {
    /// Where each file's entry starts, in file-name order.
    files: Vec<usize>,
    /// Where the list of foreign entries starts (where the last file's entry ends).
    foreign: usize,
}

impl Layout {
    /// `None` unless `b` is a whole, sound manifest with its files in strict name order (as
    /// [`Manifest::encode`] writes them).
    fn of(b: &[u8]) -> Option<Layout> {
        let mut r = Reader {
            b,
            at: MANIFEST_MAGIC.len(),
        };
        if !b.starts_with(MANIFEST_MAGIC) {
            return None;
        }
        let n = usize::try_from(r.u64()?).ok()?;
        // An entry takes at least 37 bytes: a hostile count cannot reserve more than the file.
        let mut files = Vec::with_capacity(n.min(b.len() / 37));
        let mut last: Option<&[u8]> = None;
        for _ in 0..n {
            files.push(r.at);
            let (file, _) = r.entry()?;
            // Bytes sort as the texts they spell do.
            if std::str::from_utf8(file).is_err() || last.is_some_and(|l| l >= file) {
                return None;
            }
            last = Some(file);
        }
        let foreign = r.at;
        for _ in 0..r.u64()? {
            r.text()?;
        }
        (r.at == b.len()).then_some(Layout { files, foreign })
    }

    /// How many files the manifest lists.
    fn len(&self) -> usize {
        self.files.len()
    }

    /// The `i`th file and its entry; `b` is the manifest this layout was made of.
    fn entry<'a>(&self, b: &'a [u8], i: usize) -> (&'a str, Entry) {
        let (file, e) = self.raw(b, i);
        (utf8(file), e)
    }

    /// [`Layout::entry`] with the name as bytes (not checked again).
    fn raw<'a>(&self, b: &'a [u8], i: usize) -> (&'a [u8], Entry) {
        Self::raw_at(b, self.files[i])
    }

    fn raw_at(b: &[u8], at: usize) -> (&[u8], Entry) {
        Reader { b, at }
            .entry()
            .expect("Layout::of checked every entry")
    }

    /// Where the `i`th file's entry ends.
    fn end(&self, i: usize) -> usize {
        self.files.get(i + 1).copied().unwrap_or(self.foreign)
    }

    /// The position of `file` in the manifest, by binary search.
    fn find(&self, b: &[u8], file: &str) -> Option<usize> {
        self.files
            .binary_search_by(|&at| Self::raw_at(b, at).0.cmp(file.as_bytes()))
            .ok()
    }

    /// What the stage, whose manifest is `staged`, lacks of this manifest's site (in `b`): the
    /// files it lacks or holds other bytes of (by position here), and the files it holds that
    /// this site does not have. `None` unless `staged` is a whole, sound manifest with its
    /// files in strict name order. One pass over both, side by side.
    #[allow(clippy::type_complexity)]
    fn behind<'s>(&self, b: &[u8], staged: &'s [u8]) -> Option<(Vec<usize>, Vec<&'s str>)> {
        let mut r = Reader {
            b: staged,
            at: MANIFEST_MAGIC.len(),
        };
        if !staged.starts_with(MANIFEST_MAGIC) {
            return None;
        }
        let n = r.u64()?;
        let (mut behind, mut extra) = (Vec::new(), Vec::new());
        let mut i = 0;
        let mut last: Option<&[u8]> = None;
        for _ in 0..n {
            let (file, e) = r.entry()?;
            if std::str::from_utf8(file).is_err() || last.is_some_and(|l| l >= file) {
                return None;
            }
            last = Some(file);
            // Live files before this staged one are missing from the stage.
            while i < self.len() && self.raw(b, i).0 < file {
                behind.push(i);
                i += 1;
            }
            if i < self.len() && self.raw(b, i).0 == file {
                if e.hash != self.raw(b, i).1.hash {
                    behind.push(i);
                }
                i += 1;
            } else {
                extra.push(utf8(file));
            }
        }
        behind.extend(i..self.len());
        for _ in 0..r.u64()? {
            r.text()?;
        }
        (r.at == staged.len()).then_some((behind, extra))
    }

    /// The foreign entries the manifest lists.
    fn foreign<'a>(&self, b: &'a [u8]) -> impl Iterator<Item = &'a str> {
        let mut r = Reader {
            b,
            at: self.foreign,
        };
        let n = r.u64().expect("Layout::of checked the foreign list");
        (0..n).map(move |_| r.text().expect("Layout::of checked the foreign list"))
    }
}

/// Whether a file's bytes had to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
}

/// One file of the new output.
#[derive(Debug, Clone)]
pub struct Record {
    pub file: String,
    pub hash: Digest,
    pub outcome: Outcome,
    /// A digest of the file's inputs, kept in the manifest so the next build can reuse the
    /// file without making it again.
    pub fingerprint: Option<Digest>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Committed {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// BLAKE3 of the manifest the commit wrote: the live site's [`Writer::live_digest`] until
    /// the next commit.
    pub manifest: Digest,
}

/// A build's output in progress. Holds a lock so two builds never share a stage.
pub struct Writer {
    out: PathBuf,
    stage: PathBuf,
    /// The live site's manifest.
    live: Manifest,
    /// BLAKE3 of the live manifest's bytes (zeroes when there is no sound one of this version).
    live_digest: Digest,
    /// The stage's manifest (what it holds now).
    staged: Manifest,
    /// The stage's manifest was read: it holds exactly what that manifest lists.
    stage_known: bool,
    /// Removes the stage when the build ends without swapping it in.
    guard: StageGuard,
    had_output: bool,
    clean: bool,
    _lock: std::fs::File,
}

/// One build's hold on its stage. The stage's manifest is removed before the stage first
/// changes (see [`touch_stage`]); when the build then ends without swapping the stage in (an
/// error, a full disk, a panic), the stage is removed, so a half-made copy of the site never
/// stays behind filling the disk. A stage the build did not change is still the kept one (it
/// has its manifest) and stays.
struct StageGuard {
    stage: PathBuf,
    touched: std::sync::OnceLock<Result<(), String>>,
    /// The first write that found the disk full (its error): later writes are not tried.
    full: std::sync::OnceLock<String>,
    /// Swapped in: the stage folder now holds the previous site, kept for the next build.
    kept: bool,
}

impl StageGuard {
    fn new(stage: &Path) -> StageGuard {
        StageGuard {
            stage: stage.to_path_buf(),
            touched: std::sync::OnceLock::new(),
            full: std::sync::OnceLock::new(),
            kept: false,
        }
    }

    fn touch(&self) -> Result<()> {
        touch_stage(&self.stage, &self.touched)
    }

    /// Removes the stage now when this build changed it and did not swap it in.
    fn discard(&self) {
        if !self.kept && self.touched.get().is_some() {
            let _ = remove_any(&self.stage);
        }
    }

    /// Passes a write's result through, noting a full disk.
    fn note<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            if crate::disk::is_full(e) {
                let _ = self.full.set(format!("{e:#}"));
            }
        }
        r
    }

    /// Fails fast once a write found the disk full.
    fn check_room(&self) -> Result<()> {
        if self.full.get().is_some() {
            bail!(
                "not written: the disk of {} is full",
                self.stage.parent().unwrap_or(&self.stage).display()
            );
        }
        Ok(())
    }

    /// Removes the stage (when this build changed it) and says why the build failed: the
    /// full disk's error when a write found the disk full or `e` is one, else `e`.
    fn fail(&self, out: &Path, e: anyhow::Error) -> anyhow::Error {
        if crate::disk::is_full(&e) {
            let _ = self.full.set(format!("{e:#}"));
        }
        self.abandon(out).unwrap_or(e)
    }

    /// Removes the stage (when this build changed it); the full disk's error when a write
    /// found the disk full.
    fn abandon(&self, out: &Path) -> Option<anyhow::Error> {
        self.discard();
        self.full
            .get()
            .map(|cause| disk_full(out, &self.stage, cause))
    }
}

impl Drop for StageGuard {
    fn drop(&mut self) {
        self.discard();
    }
}

/// The error of a build whose output's disk filled up; said after the stage was removed, so
/// the free space it gives is what the disk has again.
fn disk_full(out: &Path, stage: &Path, cause: &str) -> anyhow::Error {
    let disk = stage.parent().unwrap_or(stage);
    anyhow::anyhow!(
        "{}: the disk is full ({cause}): the new site did not fit beside {} ({} now that the \
         build's unfinished copy {} is removed); {} was not changed. Free some space on that \
         disk, or build onto one with room (`bloggo build --out DIR`), then build again",
        disk.display(),
        out.display(),
        crate::disk::room(disk),
        stage.display(),
        out.display()
    )
}

/// Refuses paths that would escape the output folder.
fn checked(file: &str) -> Result<&str> {
    if file.is_empty()
        || file.starts_with('/')
        || file.contains('\\')
        || file == MANIFEST
        || file == OLD_MANIFEST
        || file
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        bail!("{file:?} is not a plain path inside the output folder");
    }
    Ok(file)
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    Manifest::decode(&std::fs::read(dir.join(MANIFEST)).ok()?)
}

/// The live output's manifest, of this version or an earlier one, and the BLAKE3 of its bytes
/// when it is of this version (zeroes otherwise).
fn read_live_manifest(dir: &Path) -> (Option<Manifest>, Digest) {
    let bytes = std::fs::read(dir.join(MANIFEST)).ok();
    match bytes.as_deref().and_then(Manifest::decode) {
        Some(m) => (Some(m), digest_of(bytes.as_deref().unwrap_or_default())),
        None => (read_old_manifest(dir), Digest::default()),
    }
}

fn digest_of(bytes: &[u8]) -> Digest {
    *blake3::hash(bytes).as_bytes()
}

/// The file list of an earlier version's JSON manifest (`{"files": {path: hex}}`), so the
/// first build of a new version knows which files of the output are bloggo's.
fn read_old_manifest(dir: &Path) -> Option<Manifest> {
    #[derive(serde::Deserialize)]
    struct Old {
        files: std::collections::HashMap<String, String>,
    }
    let old: Old = serde_json::from_slice(&std::fs::read(dir.join(OLD_MANIFEST)).ok()?).ok()?;
    let mut m = Manifest::default();
    for (f, hex) in old.files {
        let hash = blake3::Hash::from_hex(hex).ok()?;
        let e = Entry {
            hash: *hash.as_bytes(),
            fingerprint: None,
        };
        m.files.insert(f, e);
    }
    Some(m)
}

/// The files an output folder's manifest lists, with the BLAKE3 of each (hex); `None` when
/// the folder has no sound manifest. For checks and tests of a built site.
pub fn manifest_files(dir: &Path) -> Option<Vec<(String, String)>> {
    let m = read_manifest(dir)?;
    let mut v: Vec<(String, String)> = m
        .files
        .into_iter()
        .map(|(f, e)| (f, blake3::Hash::from_bytes(e.hash).to_hex().to_string()))
        .collect();
    v.sort();
    Some(v)
}

/// Whether bloggo wrote this folder (it has a manifest, of this version or an earlier one).
fn written_by_bloggo(dir: &Path) -> bool {
    dir.join(MANIFEST).exists() || dir.join(OLD_MANIFEST).exists()
}

/// The first segment of a site-relative path.
fn top(file: &str) -> &str {
    file.split('/').next().unwrap_or(file)
}

/// Whether `p` is a regular file with no other link (so not shared with the live site): it
/// can be overwritten in place, keeping its inode.
fn owned_by_stage(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.nlink() == 1)
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        false
    }
}

/// Writes a file (created, or truncated in place), never through a symlink.
fn write_file(p: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts.open(p)?.write_all(bytes)
}

/// Removes a file, a symlink or a folder at `p` (nothing there is fine).
fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Writer {
    /// Starts a build of `out`: locks it, reads its manifest and readies the stage beside it.
    /// An existing, non-empty folder that bloggo did not write is refused (never replaced).
    pub fn begin(out: &Path, clean: bool) -> Result<Writer> {
        let (stage, lock_path) = beside(out)?;
        let had_output = out.exists();
        if had_output {
            if !out.is_dir() {
                bail!(
                    "{}: exists and is not a folder; move it away or pass another --out",
                    out.display()
                );
            }
            if !written_by_bloggo(out) {
                let empty = std::fs::read_dir(out)
                    .with_context(|| format!("{}: cannot read", out.display()))?
                    .next()
                    .is_none();
                if !empty {
                    bail!(
                        "{}: this folder was not written by bloggo (it has no {MANIFEST}) and is not empty; \
                         nothing was changed: move it away or pass another --out",
                        out.display()
                    );
                }
            }
        }
        // The live manifest is read under the lock: another build may be swapping in its site.
        let lock = lock(&lock_path)?;
        let (live, live_digest) = if had_output {
            read_live_manifest(out)
        } else {
            (None, Digest::default())
        };
        let live = live.unwrap_or_default();
        // The stage's manifest is removed before the stage changes: a build that stops half-way
        // leaves a stage without one, which the next build starts over.
        let staged = if clean { None } else { read_manifest(&stage) };
        let stage_known = staged.is_some();
        // Without a manifest nothing in the stage is trusted, but its files are kept to be
        // overwritten in place and its extra ones pruned at commit: deleting tens of thousands
        // of files and creating them again costs far more (ext4 avoids reusing recently
        // deleted inodes by scanning past them, which made a clean 10,000-post build 3x slower).
        let staged = staged.unwrap_or_default();
        Ok(Writer {
            out: out.to_path_buf(),
            guard: StageGuard::new(&stage),
            stage,
            live,
            live_digest,
            staged,
            stage_known,
            had_output,
            clean,
            _lock: lock,
        })
    }

    /// Readies the stage before its first change: removes its manifest, so a build that stops
    /// half-way leaves a stage without one, which the next build does not trust, and makes the
    /// folder if there is none. Safe to call from many threads; only the first call does
    /// anything.
    fn touch(&self) -> Result<()> {
        self.guard.touch()
    }

    /// The folder being filled.
    pub fn staging(&self) -> &Path {
        &self.stage
    }

    /// Puts one file into the new output. Bytes the stage already holds cost nothing; bytes
    /// the live site holds become a hard link; others are written. A staged file is never
    /// written in place (it may share its inode with the live site): it is replaced. Safe to
    /// call from many threads (no shared state is written).
    pub fn put(&self, file: &str, bytes: &[u8]) -> Result<Record> {
        self.guard.check_room()?;
        self.guard.note(self.put_file(file, bytes))
    }

    fn put_file(&self, file: &str, bytes: &[u8]) -> Result<Record> {
        let file = checked(file)?;
        let hash = *blake3::hash(bytes).as_bytes();
        let live_same = !self.clean && self.live.files.get(file).map(|e| e.hash) == Some(hash);
        let record = |outcome| Record {
            file: file.to_string(),
            hash,
            outcome,
            fingerprint: None,
        };
        if self.staged.files.get(file).map(|e| e.hash) == Some(hash) {
            return Ok(record(if live_same {
                Outcome::Unchanged
            } else {
                Outcome::Written
            }));
        }
        self.touch()?;
        let dst = self.stage.join(file);
        if let Some(dir) = dst.parent() {
            if let Err(e) = std::fs::create_dir_all(dir) {
                // A file where a folder must now be: replace it.
                let mut at = dir;
                while at.starts_with(&self.stage) && at != self.stage {
                    if at.is_file() {
                        std::fs::remove_file(at)?;
                        break;
                    }
                    at = at.parent().unwrap_or(&self.stage);
                }
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("{}: cannot create ({e})", dir.display()))?;
            }
        }
        let own_file = owned_by_stage(&dst);
        if live_same {
            let prev = self.out.join(file);
            let same_len = std::fs::metadata(&prev)
                .map(|m| m.is_file() && m.len() == bytes.len() as u64)
                .unwrap_or(false);
            if same_len {
                remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
                if std::fs::hard_link(&prev, &dst).is_ok() {
                    return Ok(record(Outcome::Unchanged));
                }
            }
        }
        if !own_file {
            remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        }
        write_file(&dst, bytes).with_context(|| format!("{}: cannot write", dst.display()))?;
        Ok(record(Outcome::Written))
    }

    /// How many files the live site has (by its manifest).
    pub fn live_files(&self) -> usize {
        if self.clean {
            return 0;
        }
        self.live.files.len()
    }

    /// Whether every file the live manifest lists is still in the live folder (someone may
    /// have deleted some by hand).
    pub fn live_files_present(&self) -> bool {
        use rayon::prelude::*;
        let files: Vec<&String> = self.live.files.keys().collect();
        files
            .par_iter()
            .all(|f| std::fs::symlink_metadata(self.out.join(f)).is_ok_and(|m| m.is_file()))
    }

    /// BLAKE3 of the live manifest's bytes as read ([`Committed::manifest`] of the build that
    /// made the live site); zeroes when there is none of this version.
    pub fn live_digest(&self) -> Digest {
        self.live_digest
    }

    /// The hash of a file of the live site (by its manifest).
    pub fn live_hash(&self, file: &str) -> Option<Digest> {
        self.live.files.get(file).map(|e| e.hash)
    }

    /// The live manifest's entry for `file` when it was made from inputs with this
    /// fingerprint.
    fn live_made_from(&self, file: &str, fingerprint: &Digest) -> Option<Entry> {
        let e = self.live.files.get(file)?;
        (!self.clean && e.fingerprint.as_ref() == Some(fingerprint)).then_some(*e)
    }

    /// Whether [`Writer::reuse`] can carry `file` over for this fingerprint: the live
    /// manifest made it from the same inputs and the file is still there.
    pub fn reusable(&self, file: &str, fingerprint: &Digest) -> bool {
        let Some(e) = self.live_made_from(file, fingerprint) else {
            return false;
        };
        self.staged.files.get(file).map(|s| s.hash) == Some(e.hash)
            || std::fs::symlink_metadata(self.out.join(file)).is_ok_and(|m| m.is_file())
    }

    /// Carries a file of the live site over to the new output without making it again, when
    /// the live manifest says it was made from inputs with the same `fingerprint`. `None`
    /// when it cannot (a clean build, another fingerprint, the file is gone): make it and
    /// [`Writer::put`] it.
    pub fn reuse(&self, file: &str, fingerprint: &Digest) -> Result<Option<Record>> {
        self.guard.check_room()?;
        self.guard.note(self.reuse_file(file, fingerprint))
    }

    fn reuse_file(&self, file: &str, fingerprint: &Digest) -> Result<Option<Record>> {
        let Some(live) = self.live_made_from(file, fingerprint) else {
            return Ok(None);
        };
        let file = checked(file)?;
        let record = Record {
            file: file.to_string(),
            hash: live.hash,
            outcome: Outcome::Unchanged,
            fingerprint: Some(*fingerprint),
        };
        if self.staged.files.get(file).map(|e| e.hash) == Some(live.hash) {
            return Ok(Some(record));
        }
        self.touch()?;
        let (src, dst) = (self.out.join(file), self.stage.join(file));
        // The common case is one link(2) into a folder that exists and a name that does not
        // (filling a new stage means 18,000 of them for a 10,000-post site); the rest is
        // handled when that first try fails.
        if std::fs::hard_link(&src, &dst).is_ok() {
            return Ok(Some(record));
        }
        if !std::fs::symlink_metadata(&src).is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        if let Some(dir) = dst.parent() {
            if std::fs::create_dir_all(dir).is_err() {
                return Ok(None);
            }
        }
        link_into(&src, &dst)?;
        Ok(Some(record))
    }

    /// Removes what is no longer part of the site from the stage, keeps files someone else put
    /// in the live output, writes the manifest and swaps the stage in.
    pub fn commit(mut self, records: Vec<Record>) -> Result<Committed> {
        self.swap_in(records)
            .map_err(|e| self.guard.fail(&self.out, e))
    }

    /// Ends a build that failed: removes the stage if the build changed it, and gives the
    /// full disk's error when a write found the disk full (`None` otherwise: the caller
    /// reports its own errors).
    pub fn abandon(self) -> Option<anyhow::Error> {
        self.guard.abandon(&self.out)
    }

    fn swap_in(&mut self, records: Vec<Record>) -> Result<Committed> {
        self.touch()?;
        let mut c = Committed::default();
        let mut manifest = Manifest::default();
        manifest.files.reserve(records.len());
        for r in records {
            match r.outcome {
                Outcome::Written => c.written += 1,
                Outcome::Unchanged => c.unchanged += 1,
            }
            let e = Entry {
                hash: r.hash,
                fingerprint: r.fingerprint,
            };
            manifest.files.insert(r.file, e);
        }
        c.removed = self
            .live
            .files
            .keys()
            .filter(|f| !manifest.files.contains_key(*f))
            .count();
        if self.had_output {
            // Tops of the live site's files are not foreign: the new site drops them.
            let ours: HashSet<&str> = (self.live.files.keys())
                .chain(manifest.files.keys())
                .map(|f| top(f))
                .collect();
            manifest.foreign = foreign_tops(&self.out, |name| ours.contains(name))?;
        }
        self.prune(&manifest)?;
        carry_foreign(&self.out, &self.stage, &manifest.foreign)?;
        let bytes = manifest.encode();
        c.manifest = finish(&self.stage, &self.out, &bytes, self.had_output)?;
        self.guard.kept = true;
        if !self.had_output {
            // The swap left no stage: make one now (see `mirror`). It only saves time later;
            // a copy cut short (a full disk) is removed.
            if mirror(&self.out, &self.stage, &manifest, &bytes).is_err() {
                let _ = remove_any(&self.stage);
            }
        }
        // Freeing tens of thousands of paths takes milliseconds nobody needs to wait for.
        let (live, staged) = (
            std::mem::take(&mut self.live),
            std::mem::take(&mut self.staged),
        );
        std::thread::spawn(move || drop((live, staged, manifest)));
        Ok(c)
    }

    /// Deletes every file and empty folder of the stage that the new site does not have:
    /// from the stage's manifest when it has one, else by walking the stage.
    fn prune(&self, new: &Manifest) -> Result<()> {
        if !self.stage_known {
            return self.prune_by_walking(new);
        }
        // Top-level entries that are neither the new site's nor carried from the live site:
        // foreign entries carried last time, or added by hand while the stage was live.
        let ours: HashSet<&str> = new
            .files
            .keys()
            .map(|f| top(f))
            .chain(new.foreign.iter().map(String::as_str))
            .collect();
        prune_tops(&self.stage, |name| ours.contains(name))?;
        for file in self.staged.files.keys() {
            if new.files.contains_key(file) {
                continue;
            }
            let p = self.stage.join(file);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                // Gone already, a file now stands where its folder was, or a folder of the new
                // site where it was.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound
                            | std::io::ErrorKind::NotADirectory
                            | std::io::ErrorKind::IsADirectory
                    ) => {}
                Err(e) => return Err(e).with_context(|| format!("{}: cannot remove", p.display())),
            }
            remove_emptied_folders(&self.stage, &p);
        }
        Ok(())
    }

    /// [`Writer::prune`] for a stage whose content is not known (a clean build, or one after
    /// a build that stopped half-way).
    fn prune_by_walking(&self, new: &Manifest) -> Result<()> {
        // Folders that lost a file, and their parents, may now be empty.
        let mut dirs = std::collections::BTreeSet::new();
        // A folder is empty when the walk's next entry is not inside it.
        let mut last_dir: Option<PathBuf> = None;
        for e in walkdir::WalkDir::new(&self.stage).min_depth(1) {
            let e = e.with_context(|| format!("{}: cannot read", self.stage.display()))?;
            if let Some(d) = last_dir.take() {
                if !e.path().starts_with(&d) {
                    dirs.insert(d);
                }
            }
            let rel = e.path().strip_prefix(&self.stage).unwrap_or(e.path());
            let rel = rel.to_string_lossy().replace('\\', "/");
            if e.file_type().is_dir() {
                last_dir = Some(e.path().to_path_buf());
            } else if !new.files.contains_key(&rel) {
                std::fs::remove_file(e.path())
                    .with_context(|| format!("{}: cannot remove", e.path().display()))?;
                let mut at = e.path().parent();
                while let Some(d) = at.filter(|d| *d != self.stage) {
                    if !dirs.insert(d.to_path_buf()) {
                        break;
                    }
                    at = d.parent();
                }
            }
        }
        dirs.extend(last_dir);
        // Deepest first; a folder that still has files stays.
        for d in dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
        Ok(())
    }
}

/// A build that replaces a few files of the live site and keeps every other one: the delta
/// counterpart of [`Writer`], with the same guarantees (readers see the old site or the new
/// one; a patch that fails or is dropped leaves the live site untouched and the stage without
/// a manifest, which no later build trusts). Nothing it does grows with the site but reading
/// and writing the manifest: both manifests are read as bytes and walked side by side, and
/// the new one is the live one with the put entries replaced.
pub struct Patch {
    out: PathBuf,
    stage: PathBuf,
    /// The live manifest's bytes, and where its parts are.
    live: Vec<u8>,
    layout: Layout,
    live_digest: Digest,
    /// How the stage is brought to the live site at commit; `None` when it cannot be (see
    /// [`Patch::can_commit`]).
    catch_up: Option<CatchUp>,
    /// The files put, in the order put.
    puts: Vec<Put>,
    /// Removes the stage when the patch ends without swapping it in.
    guard: StageGuard,
    _lock: std::fs::File,
}

/// What the stage lacks of the live site.
struct CatchUp {
    /// The files (by position in the live manifest) whose staged bytes are not the live ones,
    /// or that the stage lacks: what the last build changed, brought into the stage at commit.
    behind: Vec<usize>,
    /// Files of the stage the live site does not have, removed from it at commit.
    extra: Vec<String>,
}

/// A file put into a [`Patch`].
struct Put {
    /// Its position in the live manifest.
    index: usize,
    entry: Entry,
    /// Its bytes differ from the live file's and were written into the stage.
    written: bool,
}

impl Patch {
    /// Starts a patch of the site at `out`: locks it (as [`Writer::begin`] does) and reads
    /// both manifests. `Ok(None)` when the live site cannot be patched and the caller must use
    /// [`Writer`]: a `clean` request, no live manifest of this version, no sound stage manifest
    /// (an unknown or half-built stage), the two manifests listing different files, or a live
    /// file the stage must take missing (removed by hand).
    pub fn begin(out: &Path, clean: bool) -> Result<Option<Patch>> {
        if clean || !out.join(MANIFEST).is_file() {
            return Ok(None);
        }
        let (stage, lock_path) = beside(out)?;
        let lock = lock(&lock_path)?;
        let Some((live, layout)) = read_layout(out) else {
            return Ok(None);
        };
        let catch_up = std::fs::read(stage.join(MANIFEST))
            .ok()
            .and_then(|staged| catch_up(out, &live, &layout, &staged));
        Ok(Some(Patch {
            out: out.to_path_buf(),
            guard: StageGuard::new(&stage),
            stage,
            live_digest: digest_of(&live),
            live,
            layout,
            catch_up,
            puts: Vec::new(),
            _lock: lock,
        }))
    }

    /// Whether the stage can be brought up to date and swapped in: it has a sound manifest,
    /// and every live file it must take is there. Without it, a patch can still tell what the
    /// live site holds (a build with nothing to change needs no more), but not put anything.
    pub fn can_commit(&self) -> bool {
        self.catch_up.is_some()
    }

    /// BLAKE3 of the live manifest's bytes: which build made the live site (its
    /// [`Committed::manifest`]).
    pub fn live_digest(&self) -> Digest {
        self.live_digest
    }

    /// The live manifest's entry for `file`: `None` when it is not a file of the site,
    /// `Some(None)` when it was made without a fingerprint.
    pub fn live_fingerprint(&self, file: &str) -> Option<Option<Digest>> {
        let i = self.layout.find(&self.live, file)?;
        Some(self.layout.entry(&self.live, i).1.fingerprint)
    }

    /// Puts new bytes for a file the live site has, with the fingerprint of what they were made
    /// from; an error for a file it does not have, or one put twice. Bytes equal to the live
    /// file's count as unchanged (only the fingerprint changes in the manifest); others replace
    /// the staged file (never written in place: it may share its inode with the live one).
    pub fn put(&mut self, file: &str, bytes: &[u8], fingerprint: Option<Digest>) -> Result<()> {
        let file = checked(file)?;
        if !self.can_commit() {
            bail!(
                "{}: the stage beside it cannot be patched; only a full build can change the site",
                self.out.display()
            );
        }
        let Some(index) = self.layout.find(&self.live, file) else {
            bail!(
                "{file} is not a file of the site in {}: only a full build can add it",
                self.out.display()
            );
        };
        if self.puts.iter().any(|p| p.index == index) {
            bail!(
                "{file} was put twice into one build of {}",
                self.out.display()
            );
        }
        let hash = digest_of(bytes);
        let written = hash != self.layout.entry(&self.live, index).1.hash;
        if written {
            self.write_staged(file, bytes)
                .map_err(|e| self.guard.fail(&self.out, e))?;
        }
        let entry = Entry { hash, fingerprint };
        self.puts.push(Put {
            index,
            entry,
            written,
        });
        Ok(())
    }

    /// Replaces a file of the stage (never written in place: it may share its inode with the
    /// live one).
    fn write_staged(&self, file: &str, bytes: &[u8]) -> Result<()> {
        self.guard.touch()?;
        let dst = self.stage.join(file);
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
        }
        remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        write_file(&dst, bytes).with_context(|| format!("{}: cannot write", dst.display()))
    }

    /// Brings the stage to the new site (the last build's changes linked from the live site,
    /// the foreign entries carried), writes its manifest and swaps it in.
    pub fn commit(mut self) -> Result<Committed> {
        if !self.can_commit() {
            bail!(
                "{}: the stage beside it cannot be patched; only a full build can change the site",
                self.out.display()
            );
        }
        self.swap_in().map_err(|e| self.guard.fail(&self.out, e))
    }

    fn swap_in(&mut self) -> Result<Committed> {
        self.guard.touch()?;
        let (out, stage) = (self.out.clone(), self.stage.clone());
        let (live, layout) = (&self.live, &self.layout);
        let mut puts = std::mem::take(&mut self.puts);
        let CatchUp { behind, extra } = self.catch_up.take().expect("checked by can_commit");
        puts.sort_unstable_by_key(|p| p.index);
        // The stage holds the site as of the build before last.
        for file in &extra {
            let dst = stage.join(file);
            remove_any(&dst).with_context(|| format!("{}: cannot remove", dst.display()))?;
            remove_emptied_folders(&stage, &dst);
        }
        for i in behind {
            let put = puts.binary_search_by_key(&i, |p| p.index).ok();
            if put.is_some_and(|k| puts[k].written) {
                continue;
            }
            let file = layout.entry(live, i).0;
            let dst = stage.join(file);
            if let Some(dir) = dst.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("{}: cannot create", dir.display()))?;
            }
            link_into(&out.join(file), &dst)?;
        }
        // The site's top-level names: each one's files are side by side in name order.
        let mut tops: Vec<&[u8]> = Vec::new();
        for i in 0..layout.len() {
            let file = layout.raw(live, i).0;
            let t = file.split(|&c| c == b'/').next().unwrap_or(file);
            if tops.last() != Some(&t) {
                tops.push(t);
            }
        }
        tops.sort_unstable();
        tops.dedup();
        let tops: Vec<&str> = tops.into_iter().map(utf8).collect();
        let ours = |name: &str| tops.binary_search(&name).is_ok();
        let foreign = foreign_tops(&out, ours)?;
        prune_tops(&stage, |name| {
            ours(name) || foreign.iter().any(|f| f == name)
        })?;
        carry_foreign(&out, &stage, &foreign)?;

        let mut manifest = Vec::with_capacity(live.len() + puts.len() * 33);
        let mut from = 0;
        for p in &puts {
            manifest.extend_from_slice(&live[from..layout.files[p.index]]);
            encode_entry(&mut manifest, layout.entry(live, p.index).0, &p.entry);
            from = layout.end(p.index);
        }
        manifest.extend_from_slice(&live[from..layout.foreign]);
        encode_foreign(&mut manifest, &foreign);
        let digest = finish(&stage, &out, &manifest, true)?;
        self.guard.kept = true;
        let written = puts.iter().filter(|p| p.written).count();
        Ok(Committed {
            written,
            unchanged: layout.len() - written,
            removed: 0,
            manifest: digest,
        })
    }
}

/// What the stage (whose manifest is `staged`) must take from the live site and drop to hold
/// it; `None` when that cannot be done safely (see [`Patch::can_commit`]).
fn catch_up(out: &Path, live: &[u8], layout: &Layout, staged: &[u8]) -> Option<CatchUp> {
    let (behind, extra) = layout.behind(live, staged)?;
    let extra: Vec<String> = extra.into_iter().map(str::to_string).collect();
    if extra.iter().any(|f| checked(f).is_err()) {
        return None;
    }
    for &i in &behind {
        let file = layout.entry(live, i).0;
        let present = checked(file).is_ok()
            && std::fs::symlink_metadata(out.join(file)).is_ok_and(|m| m.is_file());
        if !present {
            return None;
        }
    }
    Some(CatchUp { behind, extra })
}

/// A folder's manifest of this version, as bytes, and where its parts are.
fn read_layout(dir: &Path) -> Option<(Vec<u8>, Layout)> {
    let bytes = std::fs::read(dir.join(MANIFEST)).ok()?;
    let layout = Layout::of(&bytes)?;
    Some((bytes, layout))
}

/// The stage and the lock file beside `out` (whose parent folder is made if need be).
fn beside(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = out
        .file_name()
        .with_context(|| format!("{}: the output must be a folder name", out.display()))?
        .to_string_lossy()
        .into_owned();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("{}: cannot create the folder", parent.display()))?;
    Ok((
        parent.join(format!(".{name}.bloggo-stage")),
        parent.join(format!(".{name}.bloggo-lock")),
    ))
}

/// Takes the output's lock (waiting for another build to finish): two builds never share a
/// stage. Released when the file is dropped.
fn lock(path: &Path) -> Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    fs4::FileExt::lock(&lock).with_context(|| format!("{}: cannot lock", path.display()))?;
    Ok(lock)
}

/// Readies the stage before its first change: removes its manifest, so a build that stops
/// half-way leaves a stage without one, which the next build does not trust, and makes the
/// folder if there is none. Safe to call from many threads; only the first call with the same
/// `touched` does anything.
fn touch_stage(stage: &Path, touched: &std::sync::OnceLock<Result<(), String>>) -> Result<()> {
    touched
        .get_or_init(|| {
            let m = stage.join(MANIFEST);
            remove_any(&m).map_err(|e| format!("{}: cannot remove ({e})", m.display()))?;
            if !std::fs::symlink_metadata(stage).is_ok_and(|m| m.is_dir()) {
                remove_any(stage)
                    .map_err(|e| format!("{}: cannot clear ({e})", stage.display()))?;
            }
            std::fs::create_dir_all(stage)
                .map_err(|e| format!("{}: cannot create ({e})", stage.display()))
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Replaces `dst` with a hard link to `src` (a copy where links cannot be made).
fn link_into(src: &Path, dst: &Path) -> Result<()> {
    remove_any(dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)
            .with_context(|| format!("{}: cannot copy to {}", src.display(), dst.display()))?;
    }
    Ok(())
}

/// Top-level entries of the live output that bloggo did not write (a CNAME, a verification
/// file, `.well-known/`), sorted: `ours` says which names are the site's. They are kept.
fn foreign_tops(out: &Path, ours: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut foreign = Vec::new();
    for e in std::fs::read_dir(out).with_context(|| format!("{}: cannot read", out.display()))? {
        let e = e.with_context(|| format!("{}: cannot read", out.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != MANIFEST && name != OLD_MANIFEST && !ours(&name) {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// Removes the stage's top-level entries that `keep` does not name: foreign entries carried
/// last time, or added by hand while the stage was live.
fn prune_tops(stage: &Path, keep: impl Fn(&str) -> bool) -> Result<()> {
    for e in
        std::fs::read_dir(stage).with_context(|| format!("{}: cannot read", stage.display()))?
    {
        let e = e.with_context(|| format!("{}: cannot read", stage.display()))?;
        if !keep(&e.file_name().to_string_lossy()) {
            remove_any(&e.path())
                .with_context(|| format!("{}: cannot remove", e.path().display()))?;
        }
    }
    Ok(())
}

/// Carries the live output's foreign top-level entries into the stage (sharing their bytes).
fn carry_foreign(out: &Path, stage: &Path, foreign: &[String]) -> Result<()> {
    for name in foreign {
        let (src, dst) = (out.join(name), stage.join(name));
        remove_any(&dst).with_context(|| format!("{}: cannot replace", dst.display()))?;
        link_tree(&src, &dst).with_context(|| format!("{}: cannot keep", src.display()))?;
    }
    Ok(())
}

/// Writes the stage's manifest and swaps the stage in; the BLAKE3 of the manifest.
fn finish(stage: &Path, out: &Path, manifest: &[u8], had_output: bool) -> Result<Digest> {
    let m = stage.join(MANIFEST);
    write_file(&m, manifest).with_context(|| format!("{}: cannot write", m.display()))?;
    remove_any(&stage.join(OLD_MANIFEST))
        .with_context(|| format!("{}: cannot remove", stage.display()))?;
    swap(stage, out, had_output)?;
    Ok(digest_of(manifest))
}

/// Makes the stage a copy of the site just put in place that shares its files (hard links),
/// with the same manifest. A build into a folder that had no site leaves no stage behind
/// (the stage became the site), and without one the next small change would have to fill a
/// whole new stage (10,000 folders and 18,000 links for a 10,000-post blog) before it could
/// swap: the build into the new folder pays for the copy instead, while the machine is busy
/// with a whole site anyway. The manifest is written last: a copy cut short has none, and the
/// next build fills it as usual.
fn mirror(out: &Path, stage: &Path, manifest: &Manifest, bytes: &[u8]) -> std::io::Result<()> {
    use rayon::prelude::*;
    let mut files: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
    files.sort_unstable();
    let dirs: std::collections::BTreeSet<&str> = files
        .iter()
        .filter_map(|f| f.rsplit_once('/').map(|(d, _)| d))
        .collect();
    remove_any(stage)?;
    std::fs::create_dir(stage)?;
    // Sorted, so every folder comes after its parent.
    let mut made: HashSet<&str> = HashSet::default();
    for d in dirs {
        let ends = d.match_indices('/').map(|(k, _)| k).chain([d.len()]);
        for part in ends.map(|k| &d[..k]) {
            if made.insert(part) {
                std::fs::create_dir(stage.join(part))?;
            }
        }
    }
    files
        .par_iter()
        .try_for_each(|f| std::fs::hard_link(out.join(f), stage.join(f)))?;
    write_file(&stage.join(MANIFEST), bytes)
}

/// After `removed` (a path inside `root`) was removed: its folders that are now empty go too,
/// up to `root` (a folder that still has files stays).
fn remove_emptied_folders(root: &Path, removed: &Path) {
    let mut at = removed.parent();
    while let Some(d) = at.filter(|d| *d != root) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        at = d.parent();
    }
}

/// Puts a copy of `src` at `dst` that shares the files' bytes: hard links (copies where links
/// cannot be made), folders made anew, symlinks made again.
fn link_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    let m = std::fs::symlink_metadata(src)?;
    if m.is_dir() {
        std::fs::create_dir(dst)?;
        for e in std::fs::read_dir(src)? {
            let e = e?;
            link_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        return Ok(());
    }
    #[cfg(unix)]
    if m.file_type().is_symlink() {
        return std::os::unix::fs::symlink(std::fs::read_link(src)?, dst);
    }
    if std::fs::hard_link(src, dst).is_err() {
        std::fs::copy(src, dst)?;
    }
    Ok(())
}

/// Puts the stage at `out`; the old output becomes the stage.
fn swap(stage: &Path, out: &Path, had_output: bool) -> Result<()> {
    if !had_output {
        return std::fs::rename(stage, out)
            .with_context(|| format!("{}: cannot move the new site into place", out.display()));
    }
    if exchange(stage, out).is_ok() {
        return Ok(());
    }
    // No atomic exchange here: move the old folder aside, the new one in, the old one back.
    let aside = stage.with_extension("old");
    let _ = remove_any(&aside);
    std::fs::rename(out, &aside)
        .with_context(|| format!("{}: cannot move the old site aside", out.display()))?;
    if let Err(e) = std::fs::rename(stage, out) {
        let _ = std::fs::rename(&aside, out);
        return Err(e).with_context(|| format!("{}: cannot move the new site in", out.display()));
    }
    let _ = std::fs::rename(&aside, stage);
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "no atomic folder exchange on this system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every file of a folder but the manifest, with its text.
    fn files(dir: &Path) -> BTreeMap<String, String> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                (rel, e.path().to_path_buf())
            })
            .filter(|(k, _)| k != MANIFEST)
            .map(|(k, p)| (k, std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    fn build(out: &Path, pages: &[(&str, &str)]) -> Committed {
        let w = Writer::begin(out, false).unwrap();
        let r: Vec<Record> = pages
            .iter()
            .map(|(f, b)| w.put(f, b.as_bytes()).unwrap())
            .collect();
        w.commit(r).unwrap()
    }

    fn expect(out: &Path, pages: &[(&str, &str)]) {
        let want: BTreeMap<String, String> = pages
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(files(out), want);
    }

    #[test]
    fn every_build_shows_exactly_its_files_and_counts_changes() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let steps: [&[(&str, &str)]; 5] = [
            &[("a/index.html", "a1"), ("b.txt", "b1")],
            &[("a/index.html", "a1"), ("c.txt", "c1")],
            &[("a/index.html", "a2"), ("b.txt", "b1")],
            &[("a/index.html", "a2"), ("b.txt", "b1")],
            &[("a", "now a file"), ("b.txt", "b2")],
        ];
        let mut counts = Vec::new();
        for pages in steps {
            let c = build(&out, pages);
            counts.push((c.written, c.unchanged, c.removed));
            expect(&out, pages);
        }
        assert_eq!(
            counts,
            [(2, 0, 0), (1, 1, 1), (2, 0, 1), (0, 2, 0), (2, 0, 1)]
        );
    }

    #[test]
    fn a_failed_build_removes_the_stage_it_changed_and_keeps_one_it_did_not() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(&out, &[("x.html", "one")]);
        build(&out, &[("x.html", "two")]);
        assert!(read_manifest(&stage).is_some(), "a kept stage");

        // Dropped before it changed the stage: the kept stage stays, manifest and all.
        let w = Writer::begin(&out, false).unwrap();
        assert!(w.abandon().is_none());
        assert!(read_manifest(&stage).is_some());

        // Dropped after writing into it (an error elsewhere, a panic): the stage goes, the
        // live site stays, and the next build makes the stage again.
        let w = Writer::begin(&out, false).unwrap();
        w.put("x.html", b"three").unwrap();
        w.put("y.html", b"new").unwrap();
        drop(w);
        assert!(!stage.exists());
        expect(&out, &[("x.html", "two")]);
        build(&out, &[("x.html", "four")]);
        expect(&out, &[("x.html", "four")]);
        assert_eq!(files(&stage)["x.html"], "two");

        // The same for a patch.
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        assert!(p.can_commit());
        p.put("x.html", b"five", None).unwrap();
        drop(p);
        assert!(!stage.exists());
        expect(&out, &[("x.html", "four")]);
    }

    #[test]
    fn the_previous_site_is_never_written_through_a_shared_link() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("x.html", "one")]);
        build(&out, &[("x.html", "one")]); // the stage now links to the live file
        build(&out, &[("x.html", "two")]);
        expect(&out, &[("x.html", "two")]);
        let stage = d.path().join(".public.bloggo-stage");
        assert_eq!(files(&stage)["x.html"], "one");
    }

    #[test]
    fn foreign_files_in_the_output_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("index.html", "i")]);
        std::fs::write(out.join("CNAME"), "example.com").unwrap();
        build(&out, &[("index.html", "i2")]);
        build(&out, &[("index.html", "i3")]);
        assert_eq!(
            std::fs::read_to_string(out.join("CNAME")).unwrap(),
            "example.com"
        );
    }

    #[test]
    fn foreign_folders_are_kept_and_what_their_owner_removes_goes() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("index.html", "i"), ("posts/a/index.html", "a")]);
        std::fs::create_dir_all(out.join(".well-known/acme")).unwrap();
        std::fs::write(out.join(".well-known/acme/token"), "t").unwrap();
        std::fs::write(out.join("google1.html"), "g").unwrap();
        build(&out, &[("index.html", "i2"), ("posts/a/index.html", "a")]);
        let got = files(&out);
        assert_eq!(got[".well-known/acme/token"], "t");
        assert_eq!(got["google1.html"], "g");
        std::fs::remove_file(out.join("google1.html")).unwrap();
        for step in ["i3", "i4", "i5"] {
            build(&out, &[("index.html", step), ("posts/a/index.html", "a")]);
            let got = files(&out);
            assert!(!got.contains_key("google1.html"), "{step}: {got:?}");
            assert_eq!(got[".well-known/acme/token"], "t", "{step}");
        }
        // Added by hand inside a folder bloggo writes: not part of the site; a clean build
        // removes it.
        std::fs::write(out.join("posts/a/notes.txt"), "n").unwrap();
        let w = Writer::begin(&out, true).unwrap();
        let r = vec![
            w.put("index.html", b"i5").unwrap(),
            w.put("posts/a/index.html", b"a").unwrap(),
        ];
        w.commit(r).unwrap();
        let got = files(&out);
        assert!(!got.contains_key("posts/a/notes.txt"), "{got:?}");
        assert_eq!(got[".well-known/acme/token"], "t");
        // A page that goes takes its folder with it.
        build(&out, &[("index.html", "i6")]);
        build(&out, &[("index.html", "i7")]);
        assert!(!out.join("posts").exists());
        assert!(!d.path().join(".public.bloggo-stage/posts").exists());
    }

    #[test]
    fn an_output_of_an_earlier_version_is_taken_over() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        std::fs::create_dir_all(out.join("posts/a")).unwrap();
        std::fs::write(out.join("posts/a/index.html"), "old").unwrap();
        let hash = blake3::hash(b"old").to_hex();
        let old = format!("{{\"version\":1,\"files\":{{\"posts/a/index.html\":\"{hash}\"}}}}");
        std::fs::write(out.join(OLD_MANIFEST), old).unwrap();
        build(&out, &[("index.html", "i")]);
        build(&out, &[("index.html", "i2")]);
        expect(&out, &[("index.html", "i2")]);
        assert!(!out.join(OLD_MANIFEST).exists());
    }

    #[test]
    fn the_manifest_round_trips_and_a_damaged_one_is_refused() {
        let mut m = Manifest::default();
        m.files.insert(
            "a/index.html".into(),
            Entry {
                hash: [1; 32],
                fingerprint: Some([2; 32]),
            },
        );
        m.files.insert(
            "é.css".into(),
            Entry {
                hash: [3; 32],
                fingerprint: None,
            },
        );
        m.foreign = vec!["CNAME".into()];
        let b = m.encode();
        let back = Manifest::decode(&b).unwrap();
        assert_eq!(back.files, m.files);
        assert_eq!(back.foreign, m.foreign);
        for cut in [1, 10, b.len() / 2, b.len() - 1] {
            assert!(Manifest::decode(&b[..cut]).is_none(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(Manifest::decode(&extra).is_none());
    }

    #[test]
    fn a_dropped_build_leaves_the_old_output_and_the_next_one_recovers() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("index.html", "old")]);
        build(&out, &[("index.html", "old")]);
        let w = Writer::begin(&out, false).unwrap();
        w.put("index.html", b"new").unwrap();
        w.put("stray.html", b"half").unwrap();
        drop(w);
        expect(&out, &[("index.html", "old")]);
        build(&out, &[("index.html", "newer")]);
        expect(&out, &[("index.html", "newer")]);
        build(&out, &[("index.html", "newer"), ("p.html", "p")]);
        expect(&out, &[("index.html", "newer"), ("p.html", "p")]);
        // A dropped clean build as well (it once left the stage's manifest in place).
        let w = Writer::begin(&out, true).unwrap();
        w.put("index.html", b"half").unwrap();
        drop(w);
        build(&out, &[("index.html", "newer"), ("p.html", "p")]);
        expect(&out, &[("index.html", "newer"), ("p.html", "p")]);
        build(&out, &[("index.html", "newer"), ("p.html", "p")]);
        expect(&out, &[("index.html", "newer"), ("p.html", "p")]);
    }

    #[test]
    fn a_foreign_folder_is_refused_and_paths_cannot_escape() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("notes.txt"), "mine").unwrap();
        assert!(Writer::begin(d.path(), false).is_err());
        assert_eq!(
            std::fs::read_to_string(d.path().join("notes.txt")).unwrap(),
            "mine"
        );
        let w = Writer::begin(&d.path().join("out"), false).unwrap();
        assert!(w.put("../x", b"").is_err());
        assert!(w.put("/etc/x", b"").is_err());
        assert!(w.put(MANIFEST, b"").is_err());
    }

    /// A clean build (or one after a dropped build) keeps the stage's own files and overwrites
    /// them in place, never through a symlink or a link shared with the live site, and prunes
    /// what the new site does not have.
    #[cfg(unix)]
    #[test]
    fn a_clean_build_overwrites_the_stage_in_place_and_never_through_links() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(
            &out,
            &[("a.html", "a1"), ("b.html", "b1"), ("old.html", "o")],
        );
        build(
            &out,
            &[("a.html", "a2"), ("b.html", "b1"), ("old.html", "o")],
        );
        // The stage holds the first site: a.html its own file, b.html linked to the live one.
        let inode = std::fs::metadata(stage.join("a.html")).unwrap().ino();
        let outside = d.path().join("outside.txt");
        std::fs::write(&outside, "untouched").unwrap();
        std::fs::remove_file(stage.join("old.html")).unwrap();
        std::os::unix::fs::symlink(&outside, stage.join("old.html")).unwrap();

        let w = Writer::begin(&out, true).unwrap();
        let r: Vec<Record> = [("a.html", "a3"), ("b.html", "b2"), ("old.html", "x")]
            .iter()
            .map(|(f, b)| w.put(f, b.as_bytes()).unwrap())
            .collect();
        w.commit(r).unwrap();
        expect(
            &out,
            &[("a.html", "a3"), ("b.html", "b2"), ("old.html", "x")],
        );
        assert_eq!(std::fs::metadata(out.join("a.html")).unwrap().ino(), inode);
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched");
        // The previous live site (now the stage) kept its bytes: b1 was not written through.
        assert_eq!(files(&stage)["b.html"], "b1");
        build(&out, &[("a.html", "a3")]);
        expect(&out, &[("a.html", "a3")]);
    }

    /// A Writer build whose pages carry fingerprints.
    fn build_fp(out: &Path, pages: &[(&str, &str, Option<Digest>)]) -> Committed {
        let w = Writer::begin(out, false).unwrap();
        let r: Vec<Record> = pages
            .iter()
            .map(|(f, b, fingerprint)| Record {
                fingerprint: *fingerprint,
                ..w.put(f, b.as_bytes()).unwrap()
            })
            .collect();
        w.commit(r).unwrap()
    }

    fn patch(out: &Path, puts: &[(&str, &str, Option<Digest>)]) -> Committed {
        let mut p = Patch::begin(out, false).unwrap().expect("a site to patch");
        for (f, b, fingerprint) in puts {
            p.put(f, b.as_bytes(), *fingerprint).unwrap();
        }
        p.commit().unwrap()
    }

    fn manifest_bytes(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join(MANIFEST)).unwrap()
    }

    fn can_patch(out: &Path) -> bool {
        Patch::begin(out, false)
            .unwrap()
            .is_some_and(|p| p.can_commit())
    }

    #[test]
    fn a_patch_makes_the_same_site_and_manifest_as_a_full_build() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let fp = |n: u8| Some([n; 32]);
        build_fp(
            &out,
            &[
                ("index.html", "i1", fp(1)),
                ("posts/a/index.html", "a1", fp(2)),
                ("posts/b/index.html", "b1", None),
                ("style.css", "s", None),
            ],
        );
        build_fp(
            &out,
            &[
                ("index.html", "i2", fp(3)),
                ("posts/a/index.html", "a1", fp(2)),
                ("posts/b/index.html", "b1", None),
                ("style.css", "s", None),
            ],
        );
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        assert_eq!(p.live_fingerprint("index.html"), Some(fp(3)));
        assert_eq!(p.live_fingerprint("posts/b/index.html"), Some(None));
        assert_eq!(p.live_fingerprint("posts/c/index.html"), None);
        p.put("posts/a/index.html", b"a2", fp(4)).unwrap();
        // The same bytes made from other inputs: only the manifest changes.
        p.put("posts/b/index.html", b"b1", fp(5)).unwrap();
        let c = p.commit().unwrap();
        let site = [
            ("index.html", "i2", fp(3)),
            ("posts/a/index.html", "a2", fp(4)),
            ("posts/b/index.html", "b1", fp(5)),
            ("style.css", "s", None),
        ];
        let texts: Vec<(&str, &str)> = site.iter().map(|(f, b, _)| (*f, *b)).collect();
        expect(&out, &texts);
        assert_eq!((c.written, c.unchanged, c.removed), (1, 3, 0));
        let full = d.path().join("full");
        build_fp(&full, &site);
        assert_eq!(manifest_bytes(&out), manifest_bytes(&full));
        // The previous site is the stage now, and the next builds start from it.
        let c = patch(&out, &[("style.css", "s2", None)]);
        assert_eq!((c.written, c.unchanged), (1, 3));
        expect(
            &out,
            &[
                ("index.html", "i2"),
                ("posts/a/index.html", "a2"),
                ("posts/b/index.html", "b1"),
                ("style.css", "s2"),
            ],
        );
        build(&out, &[("index.html", "i3"), ("style.css", "s2")]);
        expect(&out, &[("index.html", "i3"), ("style.css", "s2")]);
    }

    #[test]
    fn a_patch_brings_the_changes_of_the_build_before_into_the_stage() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(
            &out,
            &[("a.html", "a1"), ("b.html", "b1"), ("c/d.html", "d1")],
        );
        build(
            &out,
            &[("a.html", "a1"), ("b.html", "b1"), ("c/d.html", "d1")],
        );
        // Each patch starts from a stage one build behind the live site.
        patch(&out, &[("a.html", "a2", None)]);
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b1"), ("c/d.html", "d1")],
        );
        patch(&out, &[("b.html", "b2", None)]);
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b2"), ("c/d.html", "d1")],
        );
        patch(&out, &[("c/d.html", "d2", None), ("a.html", "a3", None)]);
        expect(
            &out,
            &[("a.html", "a3"), ("b.html", "b2"), ("c/d.html", "d2")],
        );
        // Back to a version the stage holds.
        patch(&out, &[("a.html", "a2", None)]);
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b2"), ("c/d.html", "d2")],
        );
        assert_eq!(files(&stage)["a.html"], "a3");
        build(
            &out,
            &[("a.html", "a2"), ("b.html", "b3"), ("c/d.html", "d2")],
        );
        expect(
            &out,
            &[("a.html", "a2"), ("b.html", "b3"), ("c/d.html", "d2")],
        );
    }

    #[test]
    fn a_patch_after_a_build_that_added_and_removed_files_catches_the_stage_up() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(&out, &[("a.html", "a1"), ("gone/x.html", "x"), ("f", "f")]);
        assert_eq!(
            files(&stage),
            files(&out),
            "the new folder's stage is its copy"
        );
        // The stage (one build behind) has files the live site dropped, lacks new ones, and
        // has a file where the site now has a folder.
        build(
            &out,
            &[
                ("a.html", "a1"),
                ("b/new.html", "n"),
                ("f/index.html", "f2"),
            ],
        );
        patch(&out, &[("a.html", "a2", None)]);
        let want = [
            ("a.html", "a2"),
            ("b/new.html", "n"),
            ("f/index.html", "f2"),
        ];
        expect(&out, &want);
        assert!(!out.join("gone").exists(), "an emptied folder goes too");
        // And the next patch starts from a stage that is the site before.
        patch(&out, &[("b/new.html", "n2", None)]);
        expect(
            &out,
            &[
                ("a.html", "a2"),
                ("b/new.html", "n2"),
                ("f/index.html", "f2"),
            ],
        );
        expect(&stage, &want);
    }

    #[test]
    fn a_patch_never_writes_the_previous_site_through_a_shared_link() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        build(&out, &[("x.html", "one")]);
        build(&out, &[("x.html", "one")]); // the stage now links to the live file
        patch(&out, &[("x.html", "two", None)]);
        expect(&out, &[("x.html", "two")]);
        let stage = d.path().join(".public.bloggo-stage");
        assert_eq!(files(&stage)["x.html"], "one");
    }

    #[test]
    fn a_put_of_a_file_the_site_does_not_have_fails_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let site = [("index.html", "i1"), ("p/index.html", "p1")];
        build(&out, &site);
        build(&out, &site);
        let before = manifest_bytes(&out);
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        p.put("index.html", b"i2", None).unwrap();
        let e = p.put("new/index.html", b"n", None).unwrap_err();
        assert!(e.to_string().contains("new/index.html"), "{e}");
        assert!(p.put("p", b"a folder", None).is_err());
        assert!(p.put("../index.html", b"x", None).is_err());
        assert!(p.put("index.html", b"i3", None).is_err(), "put twice");
        expect(&out, &site);
        assert_eq!(manifest_bytes(&out), before);
        // What was put before the errors is committed, and nothing else.
        p.commit().unwrap();
        expect(&out, &[("index.html", "i2"), ("p/index.html", "p1")]);
    }

    #[test]
    fn a_dropped_patch_leaves_the_live_site_and_the_next_build_recovers() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        build(&out, &[("a.html", "a1"), ("b.html", "b1")]);
        build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        let before = manifest_bytes(&out);
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        p.put("b.html", b"half", None).unwrap();
        drop(p);
        expect(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        assert_eq!(manifest_bytes(&out), before);
        // The stage changed: it is not trusted any more, by a patch or a full build.
        assert!(!stage.join(MANIFEST).exists());
        assert!(!can_patch(&out));
        build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        expect(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        patch(&out, &[("b.html", "b2", None)]);
        expect(&out, &[("a.html", "a2"), ("b.html", "b2")]);
        // A patch dropped before it changed anything leaves the stage trusted.
        let p = Patch::begin(&out, false).unwrap().unwrap();
        drop(p);
        assert!(can_patch(&out));
    }

    #[test]
    fn a_site_that_cannot_be_patched_is_left_to_a_full_build() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let stage = d.path().join(".public.bloggo-stage");
        assert!(!can_patch(&out), "no site");
        build(&out, &[("a.html", "a")]);
        assert!(can_patch(&out), "a build into a new folder leaves a stage");
        std::fs::remove_dir_all(&stage).unwrap();
        assert!(!can_patch(&out), "no stage");
        // Without a stage the live site can still be read, not changed.
        let mut p = Patch::begin(&out, false)
            .unwrap()
            .expect("a sound live manifest");
        assert_eq!(p.live_fingerprint("a.html"), Some(None));
        assert!(p.put("a.html", b"z", None).is_err());
        assert!(p.commit().is_err());
        expect(&out, &[("a.html", "a")]);
        build(&out, &[("a.html", "a"), ("c.html", "b")]);
        build(&out, &[("a.html", "a"), ("c.html", "b")]);
        assert!(can_patch(&out));
        assert!(Patch::begin(&out, true).unwrap().is_none(), "a clean build");

        let live = manifest_bytes(&out);
        std::fs::write(out.join(MANIFEST), &live[..live.len() - 1]).unwrap();
        assert!(!can_patch(&out), "a damaged live manifest");
        std::fs::write(out.join(MANIFEST), &live).unwrap();
        let staged = manifest_bytes(&stage);
        std::fs::write(stage.join(MANIFEST), &staged[..staged.len() - 1]).unwrap();
        assert!(!can_patch(&out), "a damaged stage manifest");
        std::fs::write(stage.join(MANIFEST), &staged).unwrap();
        assert!(can_patch(&out));

        // A live file the stage must take was removed by hand.
        build(&out, &[("a.html", "a2"), ("c.html", "b")]);
        assert!(can_patch(&out));
        std::fs::remove_file(out.join("a.html")).unwrap();
        assert!(!can_patch(&out), "a live file is missing");
        build(&out, &[("a.html", "a2"), ("c.html", "b")]);
        build(&out, &[("a.html", "a2"), ("c.html", "b")]);
        assert!(can_patch(&out));

        // The manifest of an earlier version.
        std::fs::remove_file(out.join(MANIFEST)).unwrap();
        let hash = |b: &[u8]| blake3::hash(b).to_hex();
        let old = format!(
            "{{\"version\":1,\"files\":{{\"a.html\":\"{}\",\"c.html\":\"{}\"}}}}",
            hash(b"a2"),
            hash(b"b")
        );
        std::fs::write(out.join(OLD_MANIFEST), old).unwrap();
        assert!(!can_patch(&out), "an old JSON manifest");
    }

    #[test]
    fn a_patch_keeps_foreign_entries_and_drops_what_their_owner_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let site = [("index.html", "i"), ("posts/a/index.html", "a")];
        build(&out, &site);
        std::fs::write(out.join("CNAME"), "example.com").unwrap();
        std::fs::create_dir_all(out.join(".well-known/acme")).unwrap();
        std::fs::write(out.join(".well-known/acme/token"), "t").unwrap();
        build(&out, &site);
        // Added after the last build: the stage has never seen it.
        std::fs::write(out.join("google1.html"), "g").unwrap();
        patch(&out, &[("index.html", "i2", None)]);
        let got = files(&out);
        assert_eq!(got["CNAME"], "example.com");
        assert_eq!(got[".well-known/acme/token"], "t");
        assert_eq!(got["google1.html"], "g");
        assert_eq!(got["index.html"], "i2");
        let m = Manifest::decode(&manifest_bytes(&out)).unwrap();
        assert_eq!(m.foreign, [".well-known", "CNAME", "google1.html"]);
        // Removed by its owner: the stage (the site before) still has it, the next site not.
        std::fs::remove_file(out.join("google1.html")).unwrap();
        for step in ["i3", "i4"] {
            patch(&out, &[("index.html", step, None)]);
            let got = files(&out);
            assert!(!got.contains_key("google1.html"), "{step}: {got:?}");
            assert_eq!(got["CNAME"], "example.com", "{step}");
            assert_eq!(got[".well-known/acme/token"], "t", "{step}");
        }
        // The same manifest as a full build of the same site with the same foreign entries.
        let full = d.path().join("full");
        build(&full, &[("index.html", "i4"), ("posts/a/index.html", "a")]);
        std::fs::write(full.join("CNAME"), "example.com").unwrap();
        std::fs::create_dir_all(full.join(".well-known/acme")).unwrap();
        std::fs::write(full.join(".well-known/acme/token"), "t").unwrap();
        build(&full, &[("index.html", "i4"), ("posts/a/index.html", "a")]);
        assert_eq!(manifest_bytes(&out), manifest_bytes(&full));
    }

    #[test]
    fn the_live_digest_names_the_build_that_made_the_live_site() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        assert_eq!(Writer::begin(&out, false).unwrap().live_digest(), [0; 32]);
        let c1 = build(&out, &[("a.html", "a1"), ("b.html", "b1")]);
        assert_eq!(c1.manifest, digest_of(&manifest_bytes(&out)));
        assert_eq!(
            Writer::begin(&out, false).unwrap().live_digest(),
            c1.manifest
        );
        let c2 = build(&out, &[("a.html", "a2"), ("b.html", "b1")]);
        assert_ne!(c2.manifest, c1.manifest);
        let mut p = Patch::begin(&out, false).unwrap().unwrap();
        assert_eq!(p.live_digest(), c2.manifest);
        p.put("b.html", b"b2", None).unwrap();
        let c3 = p.commit().unwrap();
        assert_eq!(c3.manifest, digest_of(&manifest_bytes(&out)));
        assert_ne!(c3.manifest, c2.manifest);
        assert_eq!(
            Writer::begin(&out, false).unwrap().live_digest(),
            c3.manifest
        );
        assert_eq!(
            Patch::begin(&out, false).unwrap().unwrap().live_digest(),
            c3.manifest
        );
    }

    /// Figures for the delta path on a site of 18,000 files (a 10,000-post blog):
    /// `cargo test --release --lib output::tests::patch_timings -- --ignored --nocapture`
    #[test]
    #[ignore = "timings, run by hand in a release build"]
    fn patch_timings() {
        use std::time::Instant;
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("public");
        let mut pages: Vec<String> = Vec::new();
        for i in 0..10_000 {
            pages.push(format!(
                "posts/2024-03-{:02}-a-post-title-{i}/index.html",
                i % 28 + 1
            ));
        }
        for i in 0..5_000 {
            pages.push(format!("tags/tag-{i}/index.html"));
        }
        for i in 0..2_990 {
            pages.push(format!("page/{i}/index.html"));
        }
        for f in [
            "index.html",
            "atom.xml",
            "sitemap.xml",
            "robots.txt",
            "404.html",
        ] {
            pages.push(f.to_string());
        }
        for i in 0..5 {
            pages.push(format!("static/file-{i}.css"));
        }
        let fingerprint = |f: &str| Some(digest_of(f.as_bytes()));
        for _ in 0..2 {
            let w = Writer::begin(&out, false).unwrap();
            let r: Vec<Record> = pages
                .iter()
                .map(|f| Record {
                    fingerprint: fingerprint(f),
                    ..w.put(f, f.as_bytes()).unwrap()
                })
                .collect();
            w.commit(r).unwrap();
        }
        let t = Instant::now();
        drop(Writer::begin(&out, false).unwrap());
        let writer_begin = t.elapsed();
        println!(
            "{} files, manifest {} bytes; Writer::begin {writer_begin:?}",
            pages.len(),
            manifest_bytes(&out).len()
        );
        for round in 0..8 {
            let t = Instant::now();
            let mut p = Patch::begin(&out, false).unwrap().unwrap();
            let begin = t.elapsed();
            let t = Instant::now();
            for k in 0..3 {
                let f = &pages[(round * 3 + k) * 997 % pages.len()];
                p.put(
                    f,
                    format!("{f} {round}").as_bytes(),
                    fingerprint(&format!("{round}")),
                )
                .unwrap();
            }
            let put = t.elapsed();
            let t = Instant::now();
            let c = p.commit().unwrap();
            let commit = t.elapsed();
            assert_eq!(c.written, 3);
            println!(
                "patch {round}: begin {begin:?}, 3 puts {put:?}, commit {commit:?}, \
                 begin + commit {:?}",
                begin + commit
            );
        }
        // Where begin's time goes.
        let stage = d.path().join(".public.bloggo-stage");
        let t = Instant::now();
        let live = std::fs::read(out.join(MANIFEST)).unwrap();
        let read_live = t.elapsed();
        let t = Instant::now();
        let layout = Layout::of(&live).unwrap();
        let lay = t.elapsed();
        let t = Instant::now();
        let staged = std::fs::read(stage.join(MANIFEST)).unwrap();
        let read_staged = t.elapsed();
        let t = Instant::now();
        let behind = layout.behind(&live, &staged).unwrap();
        let lockstep = t.elapsed();
        let t = Instant::now();
        let digest = digest_of(&live);
        let hash = t.elapsed();
        let t = Instant::now();
        std::fs::write(d.path().join("copy"), &live).unwrap();
        let write = t.elapsed();
        println!(
            "begin's parts: read live {read_live:?}, Layout::of {lay:?}, read stage \
             {read_staged:?}, lockstep {lockstep:?} ({} behind), BLAKE3 {hash:?} ({}); \
             writing the manifest {write:?}",
            behind.0.len(),
            digest[0]
        );
    }
}
